// HMAC-SHA256 as a webhook receiver computes it, with OpenSSL alone (not Kiln's crypto code):
// the key is a whsec_ secret's base64-decoded bytes (Standard Webhooks).
#pragma once

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

namespace kiln::test {

/// The raw HMAC-SHA256 bytes of `message` keyed with the bytes of `whsec`.
inline std::string independent_hmac(const std::string& whsec, const std::string& message) {
  std::string encoded = whsec.substr(6);
  std::string key(encoded.size(), '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                               reinterpret_cast<const unsigned char*>(encoded.data()),
                               static_cast<int>(encoded.size()));
  REQUIRE(length > 0);
  key.resize(static_cast<std::size_t>(length) -
             (encoded.size() - encoded.find_last_not_of('=') - 1));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_length);
  return std::string(reinterpret_cast<const char*>(mac), mac_length);
}

}  // namespace kiln::test
