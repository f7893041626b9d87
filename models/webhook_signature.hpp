// Standard Webhooks signing: the `webhook-signature` header value for one delivery attempt, from
// the account's `whsec_` secrets. Pure functions over crypto.hpp; nothing here keeps state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::webhooks {

/// The HMAC key bytes of a `whsec_<base64>` secret. Empty when the prefix is missing, the base64
/// is malformed (wrong length, characters outside the standard alphabet, misplaced padding) or
/// the key is not 24 to 64 bytes long, the range the specification allows.
std::optional<std::string> decode_secret(std::string_view whsec);

/// `v1,` + base64(HMAC-SHA256(key_bytes, "{msg_id}.{timestamp}.{body}")). `body` must be the
/// exact bytes sent.
std::string sign(std::string_view key_bytes, std::string_view msg_id, std::int64_t timestamp,
                 std::string_view body);

/// One `v1,` signature per secret, in the order given, joined by single spaces (during a
/// rotation: the new secret and the old one). Secrets that do not decode are skipped, so the
/// result is "" when none does; the caller decides whether to send unsigned.
std::string signature_header(const std::vector<std::string>& whsec_secrets, std::string_view msg_id,
                             std::int64_t timestamp, std::string_view body);

}  // namespace kiln::webhooks
