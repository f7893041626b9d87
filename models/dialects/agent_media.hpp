// agent.media's video API (seed 002) as pure translations: a create body (script or prompt,
// actor, duration bucket by word pacing, subtitle style and the rest) into Kiln's core job on
// model ugc-basic; a stored job into agent.media's views; core errors into its
// {error: {code, message, type}} envelope. http/agent_media_routes.cpp applies them.
#pragma once

#include "models/dialects/agent_media_actors.hpp"
#include "models/error.hpp"
#include "models/job.hpp"
#include "models/job_json.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::agent_media {

/// The model agent.media's videos run on.
inline constexpr std::string_view model_id = "ugc-basic";

/// A create translated: the core body and what the 201 answer reports about pacing.
struct translated_create {
  std::string core_body;
  std::string effective_input;  ///< the body as taken (JSON), kept with the job
  std::uint32_t duration = 0;   ///< the bucket: 5, 10 or 15 s
  std::uint32_t word_count = 0;
  std::uint32_t max_words = 0;
  std::string pacing_warning;  ///< when the duration was raised to fit the script
  bool generated_script = false;
  std::string selected_voice;  ///< the chosen actor's voice_id; empty without an actor
};

/// Validates and translates a POST /api/v1/videos body. A refusal is invalid_request (or
/// invalid_json) whose field is agent.media's error code (`missing_script`, `cta_too_long`,
/// `invalid_<field>`, `actor_not_found` for an actor_slug not active in `actors`, ...),
/// rendered by the route as a validation_error.
caf::expected<translated_create> translate_create(
  std::string_view body, const actor_catalog& actors = actor_catalog::builtin());

/// agent.media's word for a status: "completed" for succeeded.
std::string_view status_word(job_status status);

/// GET /api/v1/videos's query as given (empty: absent): limit 1..100 (20), offset
/// 0..limits::page_offset_max (0), status (submitted, queued, processing, completed, failed,
/// canceled), sort newest | oldest. The core listing's target ("/v1/jobs?..."), or a refusal
/// whose field is agent.media's code (invalid_limit, invalid_offset, invalid_status, invalid_sort).
caf::expected<std::string> core_list_target(std::string_view limit, std::string_view offset,
                                            std::string_view status, std::string_view sort);
/// GET /api/v1/videos: {jobs: [the GET view of each], total}.
std::string render_video_page(const job_page& page, const url_context& urls);

/// The 201 answer of a create; with an actor, its voice as selected_voice
/// (voice_auto_detected: false).
std::string render_created(const job& value, const translated_create& create);
/// GET /api/v1/videos/{id}.
std::string render_video(const job& value, const url_context& urls);

/// The webhook of an agent.media job (the seed gives no shape; Kiln's choice):
/// {event: "video.completed" | "video.failed" | "video.canceled", job: <the GET view>}.
std::string render_webhook(const job& value, const url_context& urls);

/// {error: {code, message, type}} from a core error body.
std::string render_error(std::string_view core_body);
std::string render_error(std::string_view code, std::string_view message, std::string_view type);

}  // namespace kiln::agent_media
