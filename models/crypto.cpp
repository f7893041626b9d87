// OpenSSL-backed implementations of the helpers in crypto.hpp.
#include "models/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>

namespace kiln::crypto {

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1)
    std::abort();  // no secure randomness: refusing to make guessable secrets
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  out.assign(3 * text.size() / 4 + 1, '\0');
  int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (written < 0) return false;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(written) - padding);
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string make_id(std::string_view prefix, std::int64_t now_ms) {
  static constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string out(prefix);
  auto time = static_cast<std::uint64_t>(now_ms);
  for (int shift = 45; shift >= 0; shift -= 5) out.push_back(alphabet[(time >> shift) & 31]);
  std::string random = random_bytes(10);
  std::uint64_t bits = 0;
  int available = 0;
  std::size_t next = 0;
  for (int i = 0; i < 16; ++i) {
    if (available < 5) {
      bits = (bits << 8) | static_cast<unsigned char>(random[next++]);
      available += 8;
    }
    out.push_back(alphabet[(bits >> (available - 5)) & 31]);
    available -= 5;
  }
  return out;
}

std::string make_api_key(std::string_view prefix) {
  static constexpr char alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  constexpr std::size_t key_chars = 43;
  std::string out(prefix);
  while (out.size() < prefix.size() + key_chars) {
    for (unsigned char c : random_bytes(64)) {
      if (c >= 248) continue;  // 248 = 4 * 62: keeps the choice uniform
      out.push_back(alphabet[c % 62]);
      if (out.size() == prefix.size() + key_chars) break;
    }
  }
  return out;
}

bool valid_key_prefix(std::string_view prefix) {
  return !prefix.empty() && prefix.size() <= 16 &&
         prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
           std::string_view::npos;
}

std::string make_prefixed_api_key(std::string_view prefix) {
  return std::string(prefix) + hex(random_bytes(16));
}

std::string traceparent_for(std::string_view trace_id) {
  bool valid = trace_id.size() == 32 && trace_id != std::string(32, '0') &&
               trace_id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (!valid) return {};
  return "00-" + std::string(trace_id) + "-" + hex(random_bytes(8)) + "-01";
}

std::string make_webhook_secret() { return "whsec_" + base64(random_bytes(32)); }

}  // namespace kiln::crypto
