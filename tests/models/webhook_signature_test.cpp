// Unit tests for Standard Webhooks signing: the specification's published example, an
// independent HMAC computed with OpenSSL directly, secret decoding and rotation headers.
#include <catch2/catch.hpp>

#include "models/webhook_signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

namespace webhooks = kiln::webhooks;

namespace {

// The example from the Standard Webhooks reference libraries (shared/notes/webhooks.md).
const std::string example_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string example_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t example_timestamp = 1614265330;
const std::string example_body = R"({"test": 2432232314})";
const std::string example_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/// Decodes base64 and computes the signature with OpenSSL's one-shot calls only, so that the
/// check does not depend on kiln::crypto.
std::string openssl_signature(const std::string& base64_key, const std::string& signed_content) {
  std::string key(base64_key.size(), '\0');
  int key_length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                                   reinterpret_cast<const unsigned char*>(base64_key.data()),
                                   static_cast<int>(base64_key.size()));
  REQUIRE(key_length > 0);
  std::size_t padding = 0;
  for (auto it = base64_key.rbegin(); it != base64_key.rend() && *it == '='; ++it) ++padding;
  key.resize(static_cast<std::size_t>(key_length) - padding);

  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(),
               mac, &mac_length) != nullptr);
  REQUIRE(mac_length == 32);
  unsigned char encoded[64] = {};
  int encoded_length = EVP_EncodeBlock(encoded, mac, static_cast<int>(mac_length));
  return "v1," +
         std::string(reinterpret_cast<char*>(encoded), static_cast<std::size_t>(encoded_length));
}

}  // namespace

TEST_CASE("webhook signature reproduces the published Standard Webhooks example", "[webhooks]") {
  auto key = webhooks::decode_secret(example_secret);
  REQUIRE(key);
  CHECK(key->size() == 24);
  CHECK(webhooks::sign(*key, example_id, example_timestamp, example_body) == example_signature);
  CHECK(webhooks::signature_header({example_secret}, example_id, example_timestamp, example_body) ==
        example_signature);
}

TEST_CASE("webhook signature matches an HMAC computed with OpenSSL directly", "[webhooks]") {
  const std::string base64_key = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  CHECK(openssl_signature(base64_key, example_id + ".1614265330." + example_body) ==
        example_signature);

  // Another key (32 bytes), a body with bytes that need exact handling, and a later timestamp.
  const std::string other_key = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGh8=";
  const std::string body = std::string("{\"a\":\"\xc3\xa9\\n\"}\n") + std::string(1, '\0');
  auto key = webhooks::decode_secret("whsec_" + other_key);
  REQUIRE(key);
  CHECK(key->size() == 32);
  CHECK(webhooks::sign(*key, "evt_01JD", 1732450000, body) ==
        openssl_signature(other_key, "evt_01JD.1732450000." + body));
  // Any change to id, timestamp or body changes the signature.
  auto base = webhooks::sign(*key, "evt_01JD", 1732450000, body);
  CHECK(webhooks::sign(*key, "evt_01JE", 1732450000, body) != base);
  CHECK(webhooks::sign(*key, "evt_01JD", 1732450001, body) != base);
  CHECK(webhooks::sign(*key, "evt_01JD", 1732450000, body + " ") != base);
}

TEST_CASE("webhook signature header signs once per secret for rotation", "[webhooks]") {
  const std::string old_secret = example_secret;
  const std::string new_secret = "whsec_3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGh8=";
  auto header = webhooks::signature_header({new_secret, old_secret}, example_id, example_timestamp,
                                           example_body);
  auto space = header.find(' ');
  REQUIRE(space != std::string::npos);
  CHECK(header.find(' ', space + 1) == std::string::npos);
  CHECK(header.substr(space + 1) == example_signature);
  CHECK(header.substr(0, space) == webhooks::sign(*webhooks::decode_secret(new_secret), example_id,
                                                  example_timestamp, example_body));
  CHECK(header.substr(0, space) != example_signature);

  // A secret that does not decode is skipped; none at all gives "".
  CHECK(webhooks::signature_header({"whsec_not base64", old_secret}, example_id, example_timestamp,
                                   example_body) == example_signature);
  CHECK(webhooks::signature_header({}, example_id, example_timestamp, example_body).empty());
  CHECK(webhooks::signature_header({"bogus"}, example_id, example_timestamp, example_body).empty());
}

TEST_CASE("webhook secrets that are malformed do not decode", "[webhooks]") {
  const std::string base = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  CHECK_FALSE(webhooks::decode_secret(base));                   // no prefix
  CHECK_FALSE(webhooks::decode_secret("WHSEC_" + base));        // prefix is case-sensitive
  CHECK_FALSE(webhooks::decode_secret("whsec_"));               // empty key
  CHECK_FALSE(webhooks::decode_secret("whsec_" + base + "A"));  // length not a multiple of 4
  CHECK_FALSE(webhooks::decode_secret("whsec_" + base.substr(0, 31) + "!"));  // bad character
  CHECK_FALSE(webhooks::decode_secret("whsec_ " + base.substr(1)));           // whitespace
  CHECK_FALSE(webhooks::decode_secret("whsec_" + base + "\n"));
  CHECK_FALSE(webhooks::decode_secret("whsec_MfKQ=r8GKYqrTwjUPD8ILPZIo2LaLaSw"));  // '=' inside
  CHECK_FALSE(webhooks::decode_secret("whsec_" + base.substr(0, 28) + "A==="));    // 3 pads
  // 24 and 64 key bytes are the bounds the specification allows.
  CHECK(webhooks::decode_secret("whsec_" + std::string(32, 'A')));                 // 24 bytes
  CHECK(webhooks::decode_secret("whsec_" + std::string(86, 'A') + "=="));          // 64 bytes
  CHECK_FALSE(webhooks::decode_secret("whsec_" + std::string(28, 'A') + "AA=="));  // 22 bytes
  CHECK_FALSE(webhooks::decode_secret("whsec_" + std::string(88, 'A')));           // 66 bytes
  auto padded = webhooks::decode_secret("whsec_" + std::string(43, 'B') + "=");    // 32 bytes
  REQUIRE(padded);
  CHECK(padded->size() == 32);
}
