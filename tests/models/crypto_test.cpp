// Unit tests for the crypto helpers: published test vectors for SHA-256, HMAC-SHA256, base64 and
// Standard Webhooks signatures, and the shape and ordering of generated ids and keys.
#include <catch2/catch.hpp>

#include "models/crypto.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace crypto = kiln::crypto;

namespace {

bool all_of_alphabet(const std::string& text, const std::string& alphabet) {
  return std::all_of(text.begin(), text.end(),
                     [&](char c) { return alphabet.find(c) != std::string::npos; });
}

const std::string crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const std::string base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

}  // namespace

TEST_CASE("sha256_hex matches the FIPS 180-2 vectors", "[models]") {
  CHECK(crypto::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(crypto::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(crypto::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("hmac_sha256 matches RFC 4231 test case 2", "[models]") {
  auto mac = crypto::hmac_sha256("Jefe", "what do ya want for nothing?");
  CHECK(mac.size() == 32);
  CHECK(crypto::hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("hex renders bytes as lowercase pairs", "[models]") {
  CHECK(crypto::hex(std::string("\x00\x0f\xa0\xff", 4)) == "000fa0ff");
  CHECK(crypto::hex("") == "");
}

TEST_CASE("base64 matches the RFC 4648 vectors both ways", "[models]") {
  const std::vector<std::pair<std::string, std::string>> vectors{{"", ""},
                                                                 {"f", "Zg=="},
                                                                 {"fo", "Zm8="},
                                                                 {"foo", "Zm9v"},
                                                                 {"foob", "Zm9vYg=="},
                                                                 {"fooba", "Zm9vYmE="},
                                                                 {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    INFO("plain '" << plain << "'");
    CHECK(crypto::base64(plain) == encoded);
    std::string decoded = "garbage";
    REQUIRE(crypto::base64_decode(encoded, decoded));
    CHECK(decoded == plain);
  }
}

TEST_CASE("base64 round-trips binary data of every length up to 64 bytes", "[models]") {
  for (std::size_t length = 0; length <= 64; ++length) {
    std::string bytes;
    for (std::size_t i = 0; i < length; ++i)
      bytes.push_back(static_cast<char>((i * 37 + 251) & 0xFF));
    if (length > 0) bytes[0] = '\0';
    std::string decoded;
    INFO("length " << length);
    REQUIRE(crypto::base64_decode(crypto::base64(bytes), decoded));
    CHECK(decoded == bytes);
  }
}

TEST_CASE("base64_decode refuses malformed text", "[models]") {
  std::string out;
  CHECK_FALSE(crypto::base64_decode("abc", out));
  CHECK_FALSE(crypto::base64_decode("Zm9v!A==", out));
  CHECK_FALSE(crypto::base64_decode("@@@@", out));
}

TEST_CASE("the Standard Webhooks published example signature is reproduced", "[models]") {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const std::string timestamp = "1614265330";
  const std::string body = R"({"test": 2432232314})";
  std::string key;
  REQUIRE(crypto::base64_decode(secret.substr(6), key));
  CHECK(key.size() == 24);
  auto signature = crypto::base64(crypto::hmac_sha256(key, id + "." + timestamp + "." + body));
  CHECK(signature == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("make_id is the prefix and 26 Crockford base32 characters", "[models]") {
  auto id = crypto::make_id("job_", 1700000000000);
  REQUIRE(id.size() == 4 + 26);
  CHECK(id.substr(0, 4) == "job_");
  CHECK(all_of_alphabet(id.substr(4), crockford));
  auto account = crypto::make_id("acct_", 1700000000000);
  CHECK(account.size() == 5 + 26);
  CHECK(account.substr(0, 5) == "acct_");
}

TEST_CASE("ids made at increasing times sort in time order", "[models]") {
  const std::vector<std::int64_t> times{0,
                                        1,
                                        31,
                                        32,
                                        1000,
                                        999999,
                                        1614265330000,
                                        1700000000000,
                                        1700000000001,
                                        1700000000032,
                                        (std::int64_t{1} << 47) - 1};
  std::vector<std::string> ids;
  for (auto t : times) ids.push_back(crypto::make_id("job_", t));
  for (std::size_t i = 1; i < ids.size(); ++i) {
    INFO(ids[i - 1] << " (" << times[i - 1] << ") vs " << ids[i] << " (" << times[i] << ")");
    CHECK(ids[i - 1] < ids[i]);
  }
}

TEST_CASE("ids made at the same millisecond are distinct", "[models]") {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(crypto::make_id("evt_", 1700000000000));
  CHECK(ids.size() == 1000);
}

TEST_CASE("make_api_key is kiln_sk_ and 43 base62 characters, never repeated", "[models]") {
  auto first = crypto::make_api_key();
  auto second = crypto::make_api_key();
  for (const auto& key : {first, second}) {
    INFO("key " << key);
    REQUIRE(key.size() == 8 + 43);
    CHECK(key.substr(0, 8) == "kiln_sk_");
    CHECK(all_of_alphabet(key.substr(8), base62));
  }
  CHECK(first != second);
}

TEST_CASE("make_webhook_secret is whsec_ and base64 of 32 bytes", "[models]") {
  auto secret = crypto::make_webhook_secret();
  REQUIRE(secret.substr(0, 6) == "whsec_");
  std::string key;
  REQUIRE(crypto::base64_decode(secret.substr(6), key));
  CHECK(key.size() == 32);
  CHECK(secret != crypto::make_webhook_secret());
}

TEST_CASE("random_bytes returns the requested count and differs between calls", "[models]") {
  CHECK(crypto::random_bytes(0).empty());
  CHECK(crypto::random_bytes(32).size() == 32);
  CHECK(crypto::random_bytes(32) != crypto::random_bytes(32));
}

TEST_CASE("constant_time_equal is true only for identical contents", "[models]") {
  CHECK(crypto::constant_time_equal("", ""));
  CHECK(crypto::constant_time_equal("secret", "secret"));
  CHECK_FALSE(crypto::constant_time_equal("secret", "secreT"));
  CHECK_FALSE(crypto::constant_time_equal("secret", "Secret"));
  CHECK_FALSE(crypto::constant_time_equal("secret", "secret2"));
  CHECK_FALSE(crypto::constant_time_equal("secret", ""));
  CHECK(crypto::constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK_FALSE(crypto::constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}
