// Secrets, ids and hashes, all from OpenSSL: secure random bytes, SHA-256, HMAC-SHA256, base64,
// and a constant-time comparison. Nothing here keeps state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::crypto {

/// `count` bytes from the operating system's secure generator.
std::string random_bytes(std::size_t count);
/// Lowercase hex of SHA-256(data).
std::string sha256_hex(std::string_view data);
/// Raw 32-byte HMAC-SHA256(key, data).
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hex(std::string_view bytes);
std::string base64(std::string_view bytes);
/// Decodes standard base64; returns false on malformed input.
bool base64_decode(std::string_view text, std::string& out);
/// Equal contents, compared in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);
/// `prefix` + 26 characters: 48-bit milliseconds then 80 random bits in Crockford base32, so ids
/// sort by creation time and cannot be guessed ("job_01JD...").
std::string make_id(std::string_view prefix, std::int64_t now_ms);
/// An API key: `prefix` ("kiln_sk_", or "kiln_test_" for a test key) + 43 base62 characters
/// (256 random bits).
std::string make_api_key(std::string_view prefix = "kiln_sk_");
/// A front end's API key: `prefix` (1 to 16 of a-z, 0-9 and '_') + 32 lowercase hex characters
/// (128 random bits), e.g. agent.media's "ma_" keys.
std::string make_prefixed_api_key(std::string_view prefix);
/// Whether `prefix` may start a front end's key (make_prefixed_api_key).
bool valid_key_prefix(std::string_view prefix);
/// A W3C `traceparent` continuing `trace_id` (32 lowercase hex digits, not all zero) with a new
/// random span, for outgoing calls (webhooks, inference servers); "" when it is not a trace id.
std::string traceparent_for(std::string_view trace_id);
/// A webhook secret: "whsec_" + base64 of 32 random bytes.
std::string make_webhook_secret();

}  // namespace kiln::crypto
