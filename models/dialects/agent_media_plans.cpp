// agent.media's account and usage views; see the header.
#include "models/dialects/agent_media_plans.hpp"

#include "models/dialects/agent_media.hpp"
#include "models/json_read.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <utility>

namespace kiln::agent_media {
namespace dom = simdjson::dom;
using json_read::integer_or;
using json_read::text_or;

namespace {

constexpr std::pair<std::string_view, std::string_view> tiers[] = {
  {"free", "Free"},   {"payg", "Pay As You Go"}, {"starter", "Creator"},
  {"creator", "Pro"}, {"pro_plus", "Pro Plus"},
};

/// The longest video agent.media offers (its 15 s bucket): a plan without its own limit.
constexpr std::int64_t longest_video_s = 15;

}  // namespace

std::string_view tier_of(std::string_view plan) {
  for (const auto& [tier, name] : tiers)
    if (tier == plan) return tier;
  if (plan == "pro") return "creator";
  if (plan == "enterprise") return "pro_plus";
  return "payg";
}

std::string_view tier_name(std::string_view tier) {
  for (const auto& [id, name] : tiers)
    if (id == tier) return name;
  return "Pay As You Go";
}

std::string render_account(std::string_view core_account) {
  dom::parser parser;
  dom::element root;
  json_writer w;
  if (parser.parse(core_account.data(), core_account.size()).get(root))
    return render_error("server_error", "the account could not be read", "server_error");
  auto tier = tier_of(text_or(root["plan"]));
  auto credits = root["credits"];
  w.begin_object()
    .field("user_id", text_or(root["id"]))
    .key("plan")
    .begin_object()
    .field("tier", tier)
    .field("name", tier_name(tier))
    .field("status", "active")
    .field("trial_active", false)
    .key("trial_ends_at")
    .null()
    .field("current_period_end", text_or(credits["current_period_end"]))
    .end_object();
  w.key("credits")
    .begin_object()
    .field("monthly_remaining", integer_or(credits["monthly_remaining"]))
    .field("monthly_allowance", integer_or(credits["monthly_allowance"]))
    .field("purchased", integer_or(credits["purchased"]))
    .field("total", integer_or(credits["total"]))
    .end_object();
  w.key("limits")
    .begin_object()
    .field("max_concurrent_jobs", integer_or(root["limits"]["max_concurrent_jobs"]))
    .field("max_video_duration", integer_or(root["limits"]["max_duration_s"], longest_video_s))
    .key("models_available")
    .begin_array();
  dom::array models;
  if (!root["models"].get_array().get(models))
    for (dom::element m : models)
      if (text_or(m) == model_id) w.value(model_id);
  w.end_array().end_object().end_object();
  return w.take();
}

std::string render_usage(std::string_view core_usage) {
  dom::parser parser;
  dom::element root;
  if (parser.parse(core_usage.data(), core_usage.size()).get(root))
    return render_error("server_error", "the usage could not be read", "server_error");
  json_writer w;
  auto made = root["jobs_created"];
  w.begin_object()
    .field("period", text_or(root["period"]))
    .field("period_start", text_or(root["from"]))
    .field("period_end", text_or(root["to"]))
    .key("summary")
    .begin_object()
    .field("total_jobs", integer_or(made["total"]))
    .field("completed_jobs", integer_or(made["succeeded"]))
    .field("failed_jobs", integer_or(made["failed"]))
    .field("credits_used", integer_or(root["total"]["credits"]))
    .end_object();
  auto rows = [&](const char* core_name, const char* name, auto write_row) {
    w.key(name).begin_array();
    dom::array array;
    if (!root[core_name].get_array().get(array))
      for (dom::element row : array) {
        w.begin_object();
        write_row(row);
        w.end_object();
      }
    w.end_array();
  };
  rows("by_model", "by_model", [&](dom::element row) {
    auto videos = integer_or(row["videos"]);
    double average =
      videos > 0 ? static_cast<double>(integer_or(row["video_seconds"])) / videos : 0.0;
    w.field("model_slug", text_or(row["model"]))
      .field("job_count", integer_or(row["jobs_created"]))
      .field("credits_used", integer_or(row["credits"]))
      .field("avg_duration_seconds", average);
  });
  rows("by_day", "daily", [&](dom::element row) {
    w.field("date", text_or(row["date"]))
      .field("job_count", integer_or(row["jobs_created"]))
      .field("credits_used", integer_or(row["credits"]));
  });
  rows("by_operation", "by_operation", [&](dom::element row) {
    w.field("operation", text_or(row["operation"]))
      .field("job_count", integer_or(row["jobs_created"]));
  });
  return w.end_object().take();
}

}  // namespace kiln::agent_media
