// Killa Tamata's API (seed 001) as pure translations: a `task` + `input` submit into Kiln's core
// job body, a stored job into Killa's job view, money into USD, core errors into Killa's
// envelope. No I/O and no state: http/killa_routes.cpp applies them around the core routes.
#pragma once

#include "models/catalog.hpp"
#include "models/error.hpp"
#include "models/job.hpp"
#include "models/job_json.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::killa {

/// The deployment's settings for the dialect (config `frontends.killa`).
struct dialect_settings {
  /// The value of one credit in micro-USD (10,000: 1 credit = $0.01).
  std::int64_t credit_usd_micros = 10000;
  /// Task name -> catalog model id.
  std::map<std::string, std::string> tasks;
};

/// The tasks Kiln runs and the models they map to by default.
std::map<std::string, std::string> default_tasks();

/// Killa's word for a status: "completed" for succeeded, the core word otherwise.
std::string_view status_word(job_status status);

/// credits x micro-USD per credit: exact.
std::int64_t usd_micros(std::int64_t credits, const dialect_settings& settings);
/// Micro-USD as Killa writes dollars: at least two decimals, no trailing zeros beyond
/// ("0.04", "1.5" -> "1.50", "0.000123").
std::string usd_text(std::int64_t micros);

/// A submit translated: the core body (POST /v1/jobs), the task, Killa's effective input and the
/// adjustments Kiln made to it, and the idempotency key of the body, if any.
struct translated_submit {
  std::string core_body;
  std::string task;
  std::string effective_input;  ///< JSON object
  std::string adjustments;      ///< JSON array of strings
  std::string body_key;         ///< "idempotencyKey", "" when absent
  std::string fingerprint;      ///< canonical (task, input): what idempotency compares
};

/// Translates a POST /api/v1/media/jobs body; invalid_request naming the Killa field
/// (`task`, `input.width`...) or invalid_json when it is wrong.
caf::expected<translated_submit> translate_submit(std::string_view body,
                                                  const dialect_settings& settings,
                                                  const catalog& models);

/// The job as Killa shows it: {ok, task, externalJobId, jobId, status, effectiveInput,
/// inputAdjustments, billing, downloadableOutputUrls} and, with `details`, device, attempts,
/// error, billing finalization and detailsIncluded.
std::string render_job(const job& value, const url_context& urls, const dialect_settings& settings,
                       bool details);

/// The body of a Killa job's terminal callback: the detailed view plus
/// callbackType "media_job_terminal", its money at the job's own rate.
std::string render_callback(const job& value, const url_context& urls);

/// Killa's error envelope {ok: false, error: <message>, details: {code, field?}} from a core
/// error body ({"error": {code, message, details}}).
std::string render_error(std::string_view core_body);
/// The same from parts.
std::string render_error(std::string_view code, std::string_view message,
                         std::string_view field = {});

}  // namespace kiln::killa
