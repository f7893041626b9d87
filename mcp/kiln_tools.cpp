// Tool set `kiln` (POST /mcp): one tool per REST route a client of Kiln's own API uses. The names
// are Kiln's (the seed product names none): they mirror the routes. Each tool is a row: its
// arguments, the schema of its result, and the REST request it makes.
#include "mcp/tools.hpp"

#include "models/json_read.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

// The rows below name the fields they set and leave the rest at their defaults; g++ 12 warns
// about designated initializers that leave fields out (later versions do not).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::mcp {
namespace dom = simdjson::dom;

namespace {

// -- result schemas: the REST bodies of api.md, nullable where the contract writes null ---------

#define KILN_NULLABLE(type) R"({"type":[")" type R"(","null"]})"
#define KILN_JOB_SCHEMA \
  R"({"type":"object","required":["id","object","status","type","model","prompt","n",)"          \
  R"("credits_held","credits_used","credits_refunded","progress","output","error","created_at"],)" \
  R"("properties":{"id":{"type":"string"},"object":{"const":"job"},)"                             \
  R"("status":{"enum":["queued","processing","succeeded","failed","canceled"]},)"                 \
  R"("type":{"type":"string"},"model":{"type":"string"},"prompt":{"type":"string"},)"             \
  R"("n":{"type":"integer"},"params":{"type":"object"},"options":{"type":"object"},)"             \
  R"("metadata":{"type":"object"},)"                                                              \
  R"("webhook_url":)" KILN_NULLABLE("string") R"(,"credits_held":{"type":"integer"},)"            \
  R"("credits_used":{"type":"integer"},"credits_refunded":{"type":"integer"},)"                   \
  R"("progress":{"type":"integer"},"queue_position":{"type":"integer"},)"                         \
  R"("device":)" KILN_NULLABLE("string") R"(,"attempts":{"type":"integer"},)"                     \
  R"("output":{"type":["array","null"],"items":{"type":"object",)"                                \
  R"("required":["url","content_type","bytes"],"properties":{"url":{"type":"string"},)"           \
  R"("content_type":{"type":"string"},"bytes":{"type":"integer"},"role":{"type":"string"}}}},)"   \
  R"("error":{"type":["object","null"],"properties":{"code":{"type":"string"},)"                  \
  R"("message":{"type":"string"}}},"trace_id":{"type":"string"},)"                                \
  R"("created_at":)" KILN_NULLABLE("string") R"(,"started_at":)" KILN_NULLABLE("string")          \
  R"(,"completed_at":)" KILN_NULLABLE("string") R"(,"canceled_at":)" KILN_NULLABLE("string") R"(}})"

constexpr std::string_view job_schema = KILN_JOB_SCHEMA;

constexpr std::string_view job_list_schema =
  R"({"type":"object","required":["data","has_more","next_cursor"],"properties":{)"
  R"("data":{"type":"array","items":)" KILN_JOB_SCHEMA R"(},"has_more":{"type":"boolean"},)"
  R"("next_cursor":)" KILN_NULLABLE("string") R"(,"total":{"type":"integer","minimum":0}}})";

constexpr std::string_view models_schema =
  R"({"type":"object","required":["models"],"properties":{"models":{"type":"array","items":)"
  R"({"type":"object","required":["id","type","credits","unit","min_plan","estimated_seconds",)"
  R"("description"],"properties":{"id":{"type":"string"},"type":{"type":"string"},)"
  R"("credits":{"type":"integer"},"unit":{"type":"string"},"min_plan":{"type":"string"},)"
  R"("cost_per_generation":{"type":"integer"},"options":{"type":"array"},)"
  R"("estimated_seconds":{"type":"integer"},"description":{"type":"string"},)"
  R"("durations_s":{"type":"array","items":{"type":"integer"}}}}}}})";

constexpr std::string_view cancel_schema =
  R"({"type":"object","required":["id","status","credits_refunded","refund_pending"],)"
  R"("properties":{"id":{"type":"string"},"status":{"const":"canceled"},)"
  R"("credits_refunded":{"type":"integer"},"refund_pending":{"type":"boolean"}}})";

constexpr std::string_view estimate_schema =
  R"({"type":"object","required":["credits","available","sufficient"],"properties":{)"
  R"("credits":{"type":"integer"},"available":{"type":"integer"},)"
  R"("sufficient":{"type":"boolean"}}})";

constexpr std::string_view balance_schema =
  R"({"type":"object","required":["available","held","used","granted"],"properties":{)"
  R"("available":{"type":"integer"},"held":{"type":"integer"},"used":{"type":"integer"},)"
  R"("granted":{"type":"integer"}}})";

#undef KILN_JOB_SCHEMA
#undef KILN_NULLABLE

// -- arguments --------------------------------------------------------------------------------

constexpr std::string_view params_schema =
  R"({"type":"object","description":"width and height (multiples of 32, at most 4 megapixels) )"
  R"(for images; duration_seconds (one of the model's durations_s) for video and timed audio; )"
  R"(seed","properties":{"width":{"type":"integer"},)"
  R"("height":{"type":"integer"},"duration_seconds":{"type":"integer"},)"
  R"("seed":{"type":"integer"}},"additionalProperties":false})";

std::vector<argument> job_arguments(bool keyed) {
  std::vector<argument> list{
    {.name = "type",
     .type = argument_type::string,
     .required = true,
     .description = "image, video, audio, json or 3d; must match the model's type",
     .one_of = {"image", "video", "audio", "json", "3d"}},
    {.name = "model",
     .type = argument_type::string,
     .required = true,
     .description = "a model id from list_models"},
    {.name = "prompt",
     .type = argument_type::string,
     .required = true,
     .description = "what to generate (for speech: the text to say), 1 to the model's "
                    "max_text_chars (4000 unless list_models says more)",
     .max_length = 10000},
    {.name = "n",
     .type = argument_type::integer,
     .description = "how many outputs, 1 to 4 (default 1)",
     .minimum = 1,
     .maximum = 4},
    {.name = "webhook_url",
     .type = argument_type::string,
     .description = "an absolute http(s) URL that receives the signed job.* event when the job "
                    "ends",
     .max_length = 2048},
    {.name = "metadata",
     .type = argument_type::object,
     .description = "up to 16 keys of any JSON, echoed back on the job (4 KiB in all)"},
    {.name = "params", .type = argument_type::object, .schema = params_schema},
    {.name = "options",
     .type = argument_type::object,
     .description = "the model's options (list_models shows each model's names, values, "
                    "defaults and surcharges), e.g. {\"output_format\": \"webp\"}"},
  };
  if (keyed)
    list.push_back({.name = "idempotency_key",
                    .type = argument_type::string,
                    .description = "makes the call safe to retry: the same key and arguments give "
                                   "back the first job (nothing new is created or held); the same "
                                   "key with other arguments fails with idempotency_key_reused",
                    .max_length = 255});
  return list;
}

argument job_id_argument() {
  return {.name = "id",
          .type = argument_type::string,
          .required = true,
          .description = "the job id (job_...)"};
}

// -- REST requests ----------------------------------------------------------------------------

std::string_view text_of(const dom::object& arguments, std::string_view name) {
  return json_read::text_or(arguments[name]);
}

/// The arguments as a REST body, without the ones that travel as headers.
std::string body_without(const dom::object& arguments, std::string_view left_out) {
  json_writer w;
  w.begin_object();
  for (auto [key, value] : arguments)
    if (key != left_out) w.key(key).raw(simdjson::minify(value));
  w.end_object();
  return w.take();
}

rest_call list_models_call(const dom::object&) { return {"GET", "/v1/models", {}, {}}; }

rest_call create_job_call(const dom::object& arguments) {
  rest_call call{"POST", "/v1/jobs", body_without(arguments, "idempotency_key"), {}};
  std::string_view key;
  if (!arguments["idempotency_key"].get_string().get(key))
    call.headers.emplace_back("idempotency-key", std::string(key));
  return call;
}

rest_call get_job_call(const dom::object& arguments) {
  rest_call call{"GET", "/v1/jobs/" + url_encoded(text_of(arguments, "id")), {}, {}};
  std::int64_t wait = 0;
  if (!arguments["wait_seconds"].get_int64().get(wait) && wait > 0)
    call.headers.emplace_back("prefer", "wait=" + std::to_string(wait));
  return call;
}

rest_call list_jobs_call(const dom::object& arguments) {
  std::string query;
  for (auto [key, value] : arguments) {
    std::string text;
    if (value.is_string()) text = url_encoded(std::string_view(value.get_string().value_unsafe()));
    else text = simdjson::minify(value);
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + text;
  }
  return {"GET", "/v1/jobs" + query, {}, {}};
}

rest_call cancel_job_call(const dom::object& arguments) {
  return {"POST", "/v1/jobs/" + url_encoded(text_of(arguments, "id")) + "/cancel", {}, {}};
}

rest_call estimate_job_call(const dom::object& arguments) {
  return {"POST", "/v1/jobs/estimate", body_without(arguments, {}), {}};
}

rest_call get_balance_call(const dom::object&) { return {"GET", "/v1/balance", {}, {}}; }

/// GET /v1/models answers {"data": [...]}; the tool answers {"models": [...]}.
std::string models_result(std::string_view body) {
  dom::parser parser;
  dom::array models;
  if (parser.parse(body.data(), body.size())["data"].get_array().get(models))
    return R"({"models":[]})";
  return R"({"models":)" + simdjson::minify(models) + "}";
}

tool_set make_kiln_tools() {
  auto estimate_arguments = job_arguments(false);
  return tool_set{
    .name = "kiln",
    .instructions =
      "Kiln generates images, videos, audio (speech, music, effects), JSON documents and 3D "
      "models as asynchronous jobs paid in prepaid credits. Call "
      "list_models first, estimate_job to quote a price, create_job to start (pass an "
      "idempotency_key so a retry never pays twice), then get_job with wait_seconds (up to 60) "
      "until status is succeeded, failed or canceled; each output file comes as a resource_link "
      "whose signed URL needs no key. Poll no faster than the model's estimated_seconds.",
    .tools = {
      {.name = "list_models",
       .title = "List models",
       .description = "The models Kiln runs: id, type, price in credits per unit and the cost "
                      "of a default job (cost_per_generation), options, the plan each needs, "
                      "and typical seconds per job.",
       .arguments = {},
       .success_schema = models_schema,
       .to_rest = &list_models_call,
       .to_result = &models_result},
      {.name = "create_job",
       .title = "Create a job",
       .description = "Starts a generation job and holds its price in credits; returns the job "
                      "(status queued). The hold is captured when it succeeds and refunded if "
                      "it fails or is canceled.",
       .arguments = job_arguments(true),
       .success_schema = job_schema,
       .to_rest = &create_job_call,
       .to_result = nullptr},
      {.name = "get_job",
       .title = "Get a job",
       .description = "A job's status, progress and, once succeeded, its output files. With "
                      "wait_seconds the answer waits until the job ends or the time runs out.",
       .arguments = {job_id_argument(),
                     {.name = "wait_seconds",
                      .type = argument_type::integer,
                      .description = "hold the answer until the job ends, at most this long",
                      .minimum = 0,
                      .maximum = 60}},
       .success_schema = job_schema,
       .to_rest = &get_job_call,
       .to_result = nullptr},
      {.name = "list_jobs",
       .title = "List jobs",
       .description = "The account's jobs, newest first, a page at a time.",
       .arguments = {{.name = "limit",
                      .type = argument_type::integer,
                      .description = "jobs per page, 1 to 100 (default 20)",
                      .minimum = 1,
                      .maximum = 100},
                     {.name = "status",
                      .type = argument_type::string,
                      .description = "only jobs in this status",
                      .one_of = {"queued", "processing", "succeeded", "failed", "canceled"}},
                     {.name = "cursor",
                      .type = argument_type::string,
                      .description = "next_cursor of the previous page"}},
       .success_schema = job_list_schema,
       .to_rest = &list_jobs_call,
       .to_result = nullptr},
      {.name = "cancel_job",
       .title = "Cancel a job",
       .description = "Cancels a queued or running job and refunds its hold in full. A job that "
                      "already ended fails with cannot_cancel.",
       .arguments = {job_id_argument()},
       .success_schema = cancel_schema,
       .to_rest = &cancel_job_call,
       .to_result = nullptr},
      {.name = "estimate_job",
       .title = "Estimate a job",
       .description = "What create_job with these arguments would cost, and whether the balance "
                      "covers it. Holds nothing.",
       .arguments = estimate_arguments,
       .success_schema = estimate_schema,
       .to_rest = &estimate_job_call,
       .to_result = nullptr},
      {.name = "get_balance",
       .title = "Get the balance",
       .description = "The account's credits: available, held by running jobs, used, and "
                      "granted (always available + held + used).",
       .arguments = {},
       .success_schema = balance_schema,
       .to_rest = &get_balance_call,
       .to_result = nullptr},
    }};
}

}  // namespace

const tool_set& kiln_tools() {
  static const tool_set tools = make_kiln_tools();
  return tools;
}

}  // namespace kiln::mcp
