// Loads Kiln's settings: defaults, then the JSON file, then KILN_* environment variables, then
// flags. One table per object (settings, device, plan) lists every key with its kind, range and
// field; the file, environment and flag paths all go through it (see config/detail/fields.hpp).
#include "config/settings.hpp"

#include <unistd.h>  // environ

#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>

#include "config/detail/fields.hpp"

namespace kiln {
namespace {

using namespace config_detail;

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();
// 1 TiB: more than any disk's worth keeping back, and far enough from 2^64 that the store's
// resume margin (the reserve and a quarter more) cannot wrap.
constexpr std::uint64_t reserve_bytes_max = 1ull << 40;
constexpr std::size_t retry_schedule_max_entries = 20;
constexpr std::uint64_t retry_delay_ms_max =
  31'536'000'000;  // one year: keeps time arithmetic safe

constexpr std::string_view durability_names[] = {"fsync", "none"};  // order of durability_mode
constexpr std::string_view executor_names[] = {"builtin", "sim", "http"};

struct host_port {
  std::string_view host;  // without the brackets of an IPv6 literal
  std::uint16_t port = 0;
};

/// Splits "HOST:PORT" (or "[v6]:PORT"); nullopt when it is not of that form or the port is > 65535.
std::optional<host_port> split_listen(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon), port_text = text.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos) return std::nullopt;
  if (host.empty() || host.find_first_of(" \t\r\n[]") != std::string_view::npos)
    return std::nullopt;
  std::uint64_t port = 0;
  if (port_text.empty() || port_text.size() > 5 || !read(port_text, port) || port > 65535)
    return std::nullopt;
  return host_port{host, static_cast<std::uint16_t>(port)};
}

std::string_view check_listen(std::string_view text) {
  return split_listen(text) ? "" : "HOST:PORT with a port from 0 to 65535";
}

std::string_view check_non_empty(std::string_view text) {
  return text.empty() ? "a non-empty string" : "";
}

std::string_view check_optional_listen(std::string_view text) {
  return text.empty() ? std::string_view() : check_listen(text);
}

std::string_view check_public_url(std::string_view text) {
  bool ok =
    text.empty() || ((text.starts_with("http://") || text.starts_with("https://")) &&
                     text.find_first_of(" ?#") == std::string_view::npos && !text.ends_with("/"));
  return ok ? "" : "an http(s) base URL without a trailing slash, query or fragment";
}

problem apply_models(dom::element value, device_settings& device, const location& at) {
  dom::array array;
  if (value.get_array().get(array)) return at.must_be("an array of model ids");
  std::vector<std::string> models;
  for (dom::element element : array) {
    std::string_view model;
    if (!read(element, model) || model.empty())
      return at.item(models.size()).must_be("a non-empty string");
    models.emplace_back(model);
  }
  device.models = std::move(models);
  return {};
}

using device_text = text_field<device_settings>;
using device_u32 = int_field<device_settings, std::uint32_t>;

constexpr key_spec<device_settings> device_keys[] = {
  {"id", device_text{&member<&device_settings::id>, {}, &check_non_empty}},
  {"executor", device_text{&member<&device_settings::executor>, executor_names}},
  {"slots", device_u32{&member<&device_settings::slots>, 1, 256}},
  {"latency_ms", device_u32{&member<&device_settings::latency_ms>, 0, 3'600'000}},
  {"models", json_field<device_settings>{&apply_models}},
  {"url", device_text{&member<&device_settings::url>}},
};

using plan_u32 = int_field<plan_settings, std::uint32_t>;

constexpr key_spec<plan_settings> plan_keys[] = {
  {"name", text_field<plan_settings>{&member<&plan_settings::name>, {}, &check_non_empty}},
  {"rank", plan_u32{&member<&plan_settings::rank>, 0, 1000}},
  {"requests_per_minute", plan_u32{&member<&plan_settings::requests_per_minute>, 1, 10'000'000}},
  {"max_concurrent_jobs", plan_u32{&member<&plan_settings::max_concurrent_jobs>, 1, 100'000}},
  {"monthly_credits", plan_u32{&member<&plan_settings::monthly_credits>, 0, 1'000'000'000}},
  {"max_duration_s", plan_u32{&member<&plan_settings::max_duration_s>, 0, 86'400}},
  {"api_access", bool_field<plan_settings>{&member<&plan_settings::api_access>}},
  {"max_pixels", plan_u32{&member<&plan_settings::max_pixels>, 0, 1'000'000'000}},
};

problem check_device(const device_settings& device, const location& at) {
  bool is_http = device.executor == "http";
  if (is_http && device.url.empty())
    return at.child("url").quoted() + " is required when executor is http";
  if (is_http && device.url.rfind("http://", 0) != 0 && device.url.rfind("https://", 0) != 0)
    return at.child("url").must_be("an http:// or https:// base URL");
  if (!is_http && !device.url.empty())
    return at.child("url").quoted() + " is only allowed when executor is http";
  return {};
}

problem apply_devices(dom::element value, settings& s, const location& at) {
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    if (text != "auto") return at.must_be("\"auto\" or an array of devices");
    s.devices_auto = true;
    return {};
  }
  s.devices_auto = false;
  return read_named_list<device_settings>(value, at, device_keys, &device_settings::id, "id",
                                          &check_device, s.devices);
}

problem apply_plans(dom::element value, settings& s, const location& at) {
  return read_named_list<plan_settings>(value, at, plan_keys, &plan_settings::name, "name", nullptr,
                                        s.plans);
}

problem apply_retry_schedule(dom::element value, settings& s, const location& at) {
  dom::array array;
  if (value.get_array().get(array) || array.size() == 0 ||
      array.size() > retry_schedule_max_entries)
    return at.must_be("an array of 1 to 20 delays in milliseconds");
  std::vector<std::uint64_t> delays;
  for (dom::element element : array) {
    std::uint64_t delay = 0;
    if (!read(element, delay) || delay > retry_delay_ms_max)
      return at.item(delays.size())
        .must_be("an integer from 0 to " + std::to_string(retry_delay_ms_max));
    delays.push_back(delay);
  }
  s.webhooks.retry_schedule_ms = std::move(delays);
  return {};
}

/// webhooks.test_targets: at most 64 "host" or "host:port" entries ("[v6]" or "[v6]:port"), the
/// port 1..65535 without leading zeros.
problem apply_test_targets(dom::element value, settings& s, const location& at) {
  constexpr std::size_t test_targets_max = 64;
  dom::array array;
  if (value.get_array().get(array) || array.size() > test_targets_max)
    return at.must_be("an array of at most 64 \"host\" or \"host:port\" strings");
  std::vector<std::string> targets;
  for (dom::element element : array) {
    std::string_view entry, host, port;
    bool ok = read(element, entry) && !entry.empty() && entry.size() <= 255 &&
              entry.find_first_of("/@ ") == std::string_view::npos;
    if (ok && entry.front() == '[') {
      auto close = entry.find(']');
      ok = close != std::string_view::npos && close > 1 &&
           (close + 1 == entry.size() || entry[close + 1] == ':');
      if (ok) host = entry.substr(1, close - 1);
      if (ok && close + 1 < entry.size()) port = entry.substr(close + 2);
      ok = ok && (close + 1 == entry.size() || !port.empty());
    } else if (ok) {
      auto colon = entry.find(':');
      host = entry.substr(0, colon);
      if (colon != std::string_view::npos) {
        port = entry.substr(colon + 1);
        ok = !port.empty();
      }
    }
    std::uint32_t number = 0;
    if (ok && !port.empty()) {
      auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
      ok = ec == std::errc{} && end == port.data() + port.size() && port.front() != '0' &&
           number >= 1 && number <= 65535;
    }
    if (!ok || host.empty()) return at.item(targets.size()).must_be("\"host\" or \"host:port\"");
    targets.emplace_back(entry);
  }
  s.webhooks.test_targets = std::move(targets);
  return {};
}

problem apply_allowed_origins(dom::element value, settings& s, const location& at) {
  dom::array array;
  if (value.get_array().get(array)) return at.must_be("an array of origins");
  std::vector<std::string> origins;
  for (dom::element element : array) {
    std::string_view origin;
    bool ok = read(element, origin) &&
              (origin.starts_with("http://") || origin.starts_with("https://")) &&
              origin.find('/', origin.find("//") + 2) == std::string_view::npos;
    if (!ok) return at.item(origins.size()).must_be("an origin like \"https://app.example.com\"");
    origins.emplace_back(origin);
  }
  s.mcp.allowed_origins = std::move(origins);
  return {};
}

problem apply_killa_tasks(dom::element value, settings& s, const location& at) {
  dom::object object;
  if (value.get_object().get(object)) return at.must_be("an object of task -> model id");
  std::map<std::string, std::string> tasks;
  for (auto [task, model] : object) {
    std::string_view id;
    if (!read(model, id) || id.empty())
      return at.child(std::string(task)).must_be("a non-empty model id");
    tasks.emplace(std::string(task), std::string(id));
  }
  s.frontends.killa.tasks = std::move(tasks);
  return {};
}

problem apply_killa_packages(dom::element value, settings& s, const location& at) {
  dom::array array;
  if (value.get_array().get(array)) return at.must_be("an array of packages");
  std::vector<killa_package> packages;
  for (dom::element item : array) {
    auto here = at.item(packages.size());
    killa_package p;
    std::string_view code, label;
    if (item["code"].get_string().get(code) || code.empty() ||
        item["label"].get_string().get(label) || item["usd_cents"].get_uint64().get(p.usd_cents) ||
        item["credits"].get_uint64().get(p.credits))
      return here.must_be("{\"code\", \"label\", \"usd_cents\", \"credits\"}");
    p.code = std::string(code);
    p.label = std::string(label);
    packages.push_back(std::move(p));
  }
  s.frontends.killa.packages = std::move(packages);
  return {};
}

using text = text_field<settings>;
using u32 = int_field<settings, std::uint32_t>;
using u64 = int_field<settings, std::uint64_t>;
using rate = number_field<settings>;
using flag = bool_field<settings>;
using json = json_field<settings>;

/// Every key of the file. Its environment variable and flag names are derived from the path.
constexpr key_spec<settings> settings_keys[] = {
  {"listen", text{&member<&settings::listen>, {}, &check_listen}},
  {"data_dir", text{&member<&settings::data_dir>, {}, &check_non_empty}},
  {"admin_token", text{&member<&settings::admin_token>, {}, &check_non_empty}},
  {"durability",
   enum_field<settings, durability_mode>{&member<&settings::durability>, durability_names}},
  {"actor_threads", u32{&member<&settings::actor_threads>, 1, 64}},
  {"catalog_file", text{&member<&settings::catalog_file>}},
  {"public_url", text{&member<&settings::public_url>, {}, &check_public_url}},
  {"demo_account", flag{&member<&settings::demo_account>}},
  {"http.threads", u32{&member<&settings::http, &http_settings::threads>, 1, 64}},
  {"http.idle_timeout_ms",
   u32{&member<&settings::http, &http_settings::idle_timeout_ms>, 100, 3'600'000}},
  {"storage.reserve_bytes",
   u64{&member<&settings::storage, &storage_settings::reserve_bytes>, 0, reserve_bytes_max}},
  {"storage.resume_interval_ms",
   u32{&member<&settings::storage, &storage_settings::resume_interval_ms>, 10, 600'000}},
  {"webhooks.timeout_ms",
   u32{&member<&settings::webhooks, &webhook_settings::timeout_ms>, 1, 600'000}},
  {"webhooks.retry_schedule_ms", json{&apply_retry_schedule}},
  {"webhooks.allow_private_targets",
   flag{&member<&settings::webhooks, &webhook_settings::allow_private_targets>}},
  {"webhooks.secret_rotation_window_s",
   u64{&member<&settings::webhooks, &webhook_settings::secret_rotation_window_s>, 0, 31'536'000}},
  {"webhooks.max_in_flight",
   u32{&member<&settings::webhooks, &webhook_settings::max_in_flight>, 1, 65'536}},
  {"webhooks.max_per_endpoint",
   u32{&member<&settings::webhooks, &webhook_settings::max_per_endpoint>, 1, 1024}},
  {"webhooks.ca_file", text{&member<&settings::webhooks, &webhook_settings::ca_file>}},
  {"webhooks.test_targets", json{&apply_test_targets}},
  {"jobs.max_attempts", u32{&member<&settings::jobs, &job_settings::max_attempts>, 1, 100}},
  {"scheduler.breaker_failures",
   u32{&member<&settings::scheduler, &scheduler_settings::breaker_failures>, 1, 1000}},
  {"scheduler.breaker_cooldown_ms",
   u32{&member<&settings::scheduler, &scheduler_settings::breaker_cooldown_ms>, 1, 3'600'000}},
  {"jobs.idempotency_ttl_s",
   u64{&member<&settings::jobs, &job_settings::idempotency_ttl_s>, 1, 31'536'000}},
  {"outputs.retention_days",
   u32{&member<&settings::outputs, &output_settings::retention_days>, 0, 3650}},
  {"uploads.max_bytes",
   u64{&member<&settings::uploads, &upload_settings::max_bytes>, 1024, 64ull << 30}},
  {"mcp.allowed_origins", json{&apply_allowed_origins}},
  {"frontends.killa.enabled",
   flag{&member<&settings::frontends, &frontend_settings::killa, &killa_settings::enabled>}},
  {"frontends.killa.credit_usd_micros",
   u64{&member<&settings::frontends, &frontend_settings::killa, &killa_settings::credit_usd_micros>,
       1, 1'000'000'000}},
  {"frontends.killa.tasks", json{&apply_killa_tasks}},
  {"frontends.killa.packages", json{&apply_killa_packages}},
  {"frontends.mercadream.enabled",
   flag{
     &member<&settings::frontends, &frontend_settings::mercadream, &mercadream_settings::enabled>}},
  {"frontends.mercadream.progress_webhooks",
   flag{&member<&settings::frontends, &frontend_settings::mercadream,
                &mercadream_settings::progress_webhooks>}},
  {"frontends.agent_media.enabled",
   flag{&member<&settings::frontends, &frontend_settings::agent_media,
                &agent_media_settings::enabled>}},
  {"frontends.killa.listen",
   text{&member<&settings::frontends, &frontend_settings::killa, &killa_settings::listen>,
        {},
        &check_optional_listen}},
  {"devices", json{&apply_devices}},
  {"plans", json{&apply_plans}},
  {"faults.seed", u64{&member<&settings::faults, &fault_settings::seed>, 0, max_u64}},
  {"faults.clock_offset_ms",
   u64{&member<&settings::faults, &fault_settings::clock_offset_ms>, 0, 10ull * 365 * 86'400'000}},
  {"faults.device_fail_rate",
   rate{&member<&settings::faults, &fault_settings::device_fail_rate>, 0, 1}},
  {"faults.device_crash_rate",
   rate{&member<&settings::faults, &fault_settings::device_crash_rate>, 0, 1}},
  {"faults.webhook_drop_rate",
   rate{&member<&settings::faults, &fault_settings::webhook_drop_rate>, 0, 1}},
};
constexpr std::span<const key_spec<settings>> settings_table{settings_keys};

/// "webhooks.timeout_ms" -> "KILN_WEBHOOKS_TIMEOUT_MS"
std::string environment_name(std::string_view path) {
  std::string name = "KILN_";
  for (char c : path)
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

const key_spec<settings>* find_environment_key(std::string_view variable) {
  for (const auto& spec : settings_table)
    if (environment_name(spec.path) == variable) return &spec;
  return nullptr;
}

problem apply_file(const std::string& path, settings& s) {
  errno = 0;
  simdjson::padded_string text;
  if (auto error = simdjson::padded_string::load(path).get(text))
    return "cannot read " + path + ": " +
           (errno ? std::strerror(errno) : simdjson::error_message(error));
  dom::parser parser;
  dom::element root;
  if (auto error = parser.parse(text).get(root))
    return "invalid JSON in " + path + ": " + simdjson::error_message(error);
  if (!root.is_object()) return path + " must hold a JSON object";
  return apply_object(settings_table, root, s, location{});
}

problem apply_layers(const std::string& file_path,
                     const std::map<std::string, std::string>& environment,
                     const std::map<std::string, std::string>& flags, settings& s) {
  if (!file_path.empty())
    if (problem trouble = apply_file(file_path, s); !trouble.empty()) return trouble;
  for (const auto& [variable, value] : environment) {
    if (!variable.starts_with("KILN_")) continue;
    const key_spec<settings>* spec = find_environment_key(variable);
    if (!spec) return "unknown environment variable '" + variable + "'";
    if (problem trouble = apply(spec->value, std::string_view(value), s, location{variable});
        !trouble.empty())
      return trouble;
  }
  for (const auto& [key, value] : flags) {
    const key_spec<settings>* spec = find_key(settings_table, key);
    if (!spec) return "unknown flag '" + key + "'";
    if (problem trouble = apply(spec->value, std::string_view(value), s, location{key});
        !trouble.empty())
      return trouble;
  }
  return {};
}

}  // namespace

std::string settings::listen_host() const {
  auto parts = split_listen(listen);
  return parts ? std::string(parts->host) : std::string();
}

std::uint16_t settings::listen_port() const {
  auto parts = split_listen(listen);
  return parts ? parts->port : 0;
}

const plan_settings* settings::find_plan(const std::string& name) const {
  for (const auto& plan : plans)
    if (plan.name == name) return &plan;
  return nullptr;
}

settings default_settings() {
  settings s;
  s.devices = {
    device_settings{.id = "gpu-0",
                    .executor = "builtin",
                    .slots = 1,
                    .latency_ms = 0,
                    .models = {"*"},
                    .url = ""},
    device_settings{
      .id = "gpu-1", .executor = "sim", .slots = 4, .latency_ms = 50, .models = {"*"}, .url = ""},
  };
  s.plans = {
    plan_settings{.name = "free",
                  .rank = 0,
                  .requests_per_minute = 60,
                  .max_concurrent_jobs = 1,
                  .monthly_credits = 0,
                  .max_duration_s = 0,
                  .api_access = true,
                  .max_pixels = 0},
    plan_settings{.name = "starter",
                  .rank = 1,
                  .requests_per_minute = 300,
                  .max_concurrent_jobs = 2,
                  .monthly_credits = 0,
                  .max_duration_s = 0,
                  .api_access = true,
                  .max_pixels = 0},
    plan_settings{.name = "pro",
                  .rank = 2,
                  .requests_per_minute = 1200,
                  .max_concurrent_jobs = 8,
                  .monthly_credits = 0,
                  .max_duration_s = 0,
                  .api_access = true,
                  .max_pixels = 0},
    plan_settings{.name = "enterprise",
                  .rank = 3,
                  .requests_per_minute = 6000,
                  .max_concurrent_jobs = 32,
                  .monthly_credits = 0,
                  .max_duration_s = 0,
                  .api_access = true,
                  .max_pixels = 0},
  };
  return s;
}

settings_result load_settings(const std::string& file_path,
                              const std::map<std::string, std::string>& environment,
                              const std::map<std::string, std::string>& flags) {
  try {
    settings s = default_settings();
    if (problem trouble = apply_layers(file_path, environment, flags, s); !trouble.empty())
      return {std::nullopt, "config: " + trouble};
    return {std::move(s), {}};
  } catch (const std::exception& e) {  // allocation failure; nothing else here throws
    return {std::nullopt, std::string("config: ") + e.what()};
  }
}

std::map<std::string, std::string> kiln_environment() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    std::size_t equals = text.find('=');
    if (!text.starts_with("KILN_") || equals == std::string_view::npos) continue;
    auto name = text.substr(0, equals);
    // Read elsewhere, not settings: the NVML loader's library path, the switch of the
    // expensive assertion checks (base/assert.hpp), and `kiln mcp`'s API key.
    if (name == "KILN_NVML_LIBRARY" || name == "KILN_VERIFY" || name == "KILN_API_KEY") continue;
    variables.emplace(name, text.substr(equals + 1));
  }
  return variables;
}

}  // namespace kiln
