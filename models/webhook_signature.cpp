// Standard Webhooks signatures over crypto.hpp's HMAC-SHA256 and base64.
#include "models/webhook_signature.hpp"

#include "models/crypto.hpp"

namespace kiln::webhooks {

namespace {

constexpr std::string_view secret_prefix = "whsec_";
constexpr std::size_t key_bytes_min = 24;
constexpr std::size_t key_bytes_max = 64;

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

/// Padded standard base64 only: crypto::base64_decode (EVP_DecodeBlock) tolerates surrounding
/// whitespace and '=' in odd places, which a stored secret must never contain.
bool is_canonical_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text[text.size() - 2] == '=') ++padding;
  for (std::size_t i = 0; i < text.size() - padding; ++i)
    if (!is_base64_char(text[i])) return false;
  return true;
}

}  // namespace

std::optional<std::string> decode_secret(std::string_view whsec) {
  if (!whsec.starts_with(secret_prefix)) return std::nullopt;
  whsec.remove_prefix(secret_prefix.size());
  if (!is_canonical_base64(whsec)) return std::nullopt;
  std::string key;
  if (!crypto::base64_decode(whsec, key)) return std::nullopt;
  if (key.size() < key_bytes_min || key.size() > key_bytes_max) return std::nullopt;
  return key;
}

std::string sign(std::string_view key_bytes, std::string_view msg_id, std::int64_t timestamp,
                 std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + body.size() + 24);
  content.append(msg_id).push_back('.');
  content.append(std::to_string(timestamp)).push_back('.');
  content.append(body);
  return "v1," + crypto::base64(crypto::hmac_sha256(key_bytes, content));
}

std::string signature_header(const std::vector<std::string>& whsec_secrets, std::string_view msg_id,
                             std::int64_t timestamp, std::string_view body) {
  std::string out;
  for (const auto& secret : whsec_secrets) {
    auto key = decode_secret(secret);
    if (!key) continue;
    if (!out.empty()) out.push_back(' ');
    out += sign(*key, msg_id, timestamp, body);
  }
  return out;
}

}  // namespace kiln::webhooks
