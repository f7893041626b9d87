// MercaDream's /v2 API (seed 003) as pure translations: generate (video on merca-video), speech
// (merca-speech) and music (merca-music) bodies into Kiln's core jobs; a stored job into
// MercaDream's job, list and Vault views; its webhook body with the in-body `sha256=`
// signature; core errors into its {error: {code, message}} envelope.
// http/mercadream_routes.cpp applies them.
#pragma once

#include "models/error.hpp"
#include "models/job.hpp"
#include "models/job_json.hpp"
#include "models/webhook.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::mercadream {

inline constexpr std::string_view video_model = "merca-video";
inline constexpr std::string_view speech_model = "merca-speech";
inline constexpr std::string_view music_model = "merca-music";

/// The voices `voice_id` may name (narration and speech).
bool is_voice(std::string_view voice_id);
/// Pixels of a resolution name ("4k": 3840 x 2160); 0 for an unknown name.
std::uint32_t pixels_of(std::string_view resolution);

/// A request translated: the core body, and the resolution asked (for the plan gate).
struct translated {
  std::string core_body;
  std::string input;       ///< the body as taken (JSON), kept with the job
  std::string resolution;  ///< generate only
};

/// POST /v2/generate, /v2/speech and /v2/music. A refusal is invalid_request (or invalid_json)
/// whose field names the body field.
caf::expected<translated> translate_generate(std::string_view body);
caf::expected<translated> translate_speech(std::string_view body);
caf::expected<translated> translate_music(std::string_view body);

/// MercaDream's word for a status: "completed" for succeeded.
std::string_view status_word(job_status status);

/// When the job is expected to end: its start (or now, while queued behind `queue_position`
/// others) plus the model's estimate per job ahead and its own; its end once it ended.
std::int64_t estimated_completion_ms(const job& value, std::uint32_t estimated_seconds,
                                     std::int64_t now_ms);

/// The 201 answer of a create.
std::string render_created(const job& value, std::uint32_t estimated_seconds, std::int64_t now_ms);
/// GET /v2/jobs/{id}.
std::string render_job(const job& value, const url_context& urls, std::uint32_t estimated_seconds);
/// GET /v2/jobs: {jobs: [...], has_more, next_before}.
std::string render_page(const job_page& page, const url_context& urls);
/// GET /v2/vault: {assets: [...], has_more, next_before}, one asset per output of a completed
/// job: `expires_at` its completion + `retention_days` (null: kept forever), or, once its files
/// were deleted, `expired: true`, the time they were, and no download_url.
std::string render_vault(const job_page& page, const url_context& urls,
                         std::uint32_t retention_days);

/// The webhook body of delivery `d` (its event: job.processing, job.completed, job.failed,
/// job.canceled) without its signature: {event, job_id, status, download_url, timestamp}.
std::string render_webhook(const delivery& d, const job& value, const url_context& urls);
/// `body` (a JSON object as render_webhook writes it) with `"signature": "sha256=<hex>"` added
/// as its last member: HMAC-SHA256 over `body` itself, keyed with `key_bytes` (the account's
/// whsec_ secret, decoded). docs/frontends.md has a worked example.
std::string signed_webhook(std::string_view body, std::string_view key_bytes);

/// {error: {code, message}} from a core error body (its field, if any, as `param`).
std::string render_error(std::string_view core_body);
std::string render_error(std::string_view code, std::string_view message,
                         std::string_view param = {});

}  // namespace kiln::mercadream
