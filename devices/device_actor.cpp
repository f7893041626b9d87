// The device actor: a device's slots and its executor. Outputs are made and stored by its output
// threads (devices/output_pool.hpp), one per slot, off the shared scheduler. A canceled sim run
// is answered at once; the output threads check a run's cancel flag before each output, so a
// builtin run stops within one image (or one whole video) and then frees the slot.
#include "devices/device_actor.hpp"

#include "devices/http_executor.hpp"
#include "devices/output_pool.hpp"
#include "models/json_writer.hpp"
#include "models/upload.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <unordered_map>

namespace kiln {
namespace {

struct device_state {
  device_settings settings;
  device_context context;
  std::shared_ptr<output_pool> outputs;  ///< shared with its restarts; owned by the spawner
  /// Runs at the output threads: whom to answer, and how to stop them before their next output.
  struct storing_run {
    caf::typed_response_promise<run_result> promise;
    std::string job_id;
    cancel_flag canceled;
  };
  std::unordered_map<std::uint64_t, storing_run> storing;
  struct sleeper {
    caf::typed_response_promise<run_result> promise;
    run_request request;
    std::uint32_t step = 0;  ///< quarters of the latency passed
  };
  std::unordered_map<std::uint64_t, sleeper> sleeping;  ///< sim: runs waiting for their latency
  std::uint64_t next_token = 0;
  std::unique_ptr<http_executor> http;  ///< http: the inference server behind this device
  std::unordered_map<std::uint64_t, std::pair<caf::typed_response_promise<run_result>, run_request>>
    remote;  ///< http: runs out on the inference server
  std::mt19937_64 faults;
  static inline const char* name = "device";
  device_state() = default;
  device_state(const device_state&) = delete;
  device_state& operator=(const device_state&) = delete;
  /// The output threads outlive a device that dies: its runs there stop before their next
  /// output instead of holding the threads its restart needs.
  ~device_state() {
    for (auto& [token, run] : storing) run.canceled->store(true);
  }
};

using device_self = device_actor::stateful_pointer<device_state>;

bool draw(device_self self, double rate) {
  if (rate <= 0.0) return false;
  return std::uniform_real_distribution<double>(0.0, 1.0)(self->state.faults) < rate;
}

/// Hands the run's outputs to the output threads; `promise` is answered when they are stored
/// (or with why not). The job bounds the wait.
void store_outputs(device_self self, run_request request, render_kind kind,
                   std::vector<executor_outcome::file> files,
                   caf::typed_response_promise<run_result> promise,
                   std::int64_t credits_used = -1) {
  auto& st = self->state;
  auto token = st.next_token++;
  auto canceled = std::make_shared<std::atomic<bool>>(false);
  st.storing.emplace(token,
                     device_state::storing_run{std::move(promise), request.job_id, canceled});
  auto device = caf::actor_cast<device_actor>(self);
  st.outputs->submit(
    output_pool::task{std::move(request), kind, std::move(files), canceled, credits_used},
    [device, token](caf::expected<run_result> outcome) {
      stored_outputs stored;
      if (outcome) stored.result = std::move(*outcome);
      else stored.error = std::move(outcome.error());
      caf::anon_send(device, write_atom::value, token, std::move(stored));
    });
}

void on_stored(device_self self, std::uint64_t token, stored_outputs& stored) {
  auto& st = self->state;
  auto it = st.storing.find(token);
  if (it == st.storing.end()) return;
  if (stored.error) it->second.promise.deliver(std::move(stored.error));
  else it->second.promise.deliver(std::move(stored.result));
  st.storing.erase(it);
}

caf::result<run_result> run_builtin(device_self self, run_request& request) {
  auto promise = self->make_response_promise<run_result>();
  if (self->state.context.config)
    request.uploads_dir = self->state.context.config->data_dir + "/uploads";
  store_outputs(self, std::move(request), render_kind::full, {}, promise);
  return promise;
}

caf::result<run_result> run_sim(device_self self, run_request& request) {
  auto& st = self->state;
  auto promise = self->make_response_promise<run_result>();
  if (st.settings.latency_ms == 0) {
    store_outputs(self, std::move(request), render_kind::small, {}, promise);
    return promise;
  }
  // Runs of 100 ms or more report progress at each quarter of their latency.
  auto token = st.next_token++;
  bool steps = st.settings.latency_ms >= 100;
  st.sleeping.emplace(token, device_state::sleeper{promise, std::move(request), steps ? 0u : 3u});
  self->delayed_send(self, std::chrono::milliseconds(st.settings.latency_ms / (steps ? 4 : 1)),
                     tick_atom::value, token);
  return promise;  // delivered at the last tick
}

/// The job's inputs as the run request carries them (docs/http-executor.md): each with a signed
/// URL on the node's listener that the inference server can GET, its content type and probe.
std::string inputs_json(const device_context& context, const std::vector<job_input>& inputs) {
  if (inputs.empty()) return {};
  auto base = context.base ? context.base->get() : std::string();
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  json_writer w;
  w.begin_array();
  for (const auto& i : inputs) {
    w.begin_object()
      .field("role", i.role)
      .field("url",
             base + signed_upload_file_path(i.upload_id, i.file, context.url_signing_key, now))
      .field("content_type", i.content_type)
      .field("bytes", i.bytes);
    if (i.width != 0) w.field("width", i.width).field("height", i.height);
    if (i.duration_us != 0) w.field("duration_seconds", static_cast<double>(i.duration_us) / 1e6);
    w.end_object();
  }
  return w.end_array().take();
}

/// Forwards the run to the device's inference server (docs/http-executor.md); progress goes
/// straight to the job, the outcome comes back here as a message, and outputs are stored like
/// those of the other executors.
caf::result<run_result> run_http(device_self self, run_request& request) {
  auto& st = self->state;
  auto progress = request.progress;
  auto promise = self->make_response_promise<run_result>();
  auto token = st.next_token++;
  http_run_request call{request.job_id,
                        request.type,
                        request.model,
                        request.prompt,
                        request.n,
                        request.params.width,
                        request.params.height,
                        request.params.duration_seconds,
                        request.params.seed,
                        request.attempt,
                        request.trace_id,
                        request.options,
                        inputs_json(st.context, request.inputs)};
  st.remote.emplace(token, std::make_pair(promise, std::move(request)));
  auto device = caf::actor_cast<device_actor>(self);
  st.http->run(
    std::move(call),
    [progress](std::uint32_t percent) {
      if (progress) caf::anon_send(progress, progress_atom::value, percent);
    },
    [device, token](http_run_result result) {
      executor_outcome outcome{std::move(result.error), {}, result.credits_used};
      for (auto& o : result.outputs)
        outcome.outputs.push_back({std::move(o.content_type), std::move(o.bytes)});
      caf::anon_send(device, run_atom::value, token, std::move(outcome));
    });
  return promise;
}

void on_http_done(device_self self, std::uint64_t token, executor_outcome& result) {
  auto& st = self->state;
  auto it = st.remote.find(token);
  if (it == st.remote.end()) return;
  auto [promise, request] = std::move(it->second);
  st.remote.erase(it);
  if (!result.error.empty()) {
    promise.deliver(
      make_error(error_code::unavailable, "device " + st.settings.id + ": " + result.error));
    return;
  }
  store_outputs(self, std::move(request), render_kind::given, std::move(result.outputs),
                std::move(promise), result.credits_used);
}

device_actor::behavior_type device(device_self self, device_context context,
                                   device_settings settings, std::shared_ptr<output_pool> outputs,
                                   std::uint64_t generation) {
  auto& st = self->state;
  st.context = std::move(context);
  st.settings = std::move(settings);
  st.outputs = std::move(outputs);
  // Faults are reproducible from faults.seed; a restarted device draws a new sequence.
  st.faults.seed(st.context.config->faults.seed ^ std::hash<std::string>{}(st.settings.id) ^
                 (generation * 0x9E3779B97F4A7C15ull));
  if (st.settings.executor == "http") {
    http_executor::options options;
    options.base_url = st.settings.url;
    options.ca_file = st.context.config->webhooks.ca_file;
    st.http = std::make_unique<http_executor>(options);
  }
  return {
    [=](run_atom, run_request& request) -> caf::result<run_result> {
      const auto& faults = *self->state.context.faults;
      if (draw(self, faults.device_crash_rate.load())) {  // as if the device process died
        self->quit(make_error(error_code::unavailable, "injected device crash"));
        return make_error(error_code::unavailable, "injected device crash");
      }
      if (draw(self, faults.device_fail_rate.load()))
        return make_error(error_code::unavailable, "injected device failure");
      if (self->state.settings.executor == "builtin") return run_builtin(self, request);
      if (self->state.http) return run_http(self, request);
      return run_sim(self, request);
    },
    [=](cancel_atom, const std::string& job_id) {
      auto& st = self->state;
      for (auto& [token, run] : st.storing)  // stopped before its next output; it then answers
        if (run.job_id == job_id) run.canceled->store(true);
      if (st.http) st.http->cancel(job_id);  // answers "canceled" at once; DELETE to the server
      for (auto it = st.sleeping.begin(); it != st.sleeping.end(); ++it) {
        if (it->second.request.job_id != job_id) continue;
        it->second.promise.deliver(make_error(error_code::unavailable, "the run was canceled"));
        st.sleeping.erase(it);  // the slot is free at once
        return;
      }
    },
    [=](run_atom, std::uint64_t token, executor_outcome& result) {
      on_http_done(self, token, result);
    },
    [=](write_atom, std::uint64_t token, stored_outputs& stored) {
      on_stored(self, token, stored);
    },
    [=](tick_atom, std::uint64_t token) {
      auto& st = self->state;
      auto it = st.sleeping.find(token);
      if (it == st.sleeping.end()) return;
      if (it->second.step < 3) {
        it->second.step += 1;
        if (it->second.request.progress)
          self->send(it->second.request.progress, progress_atom::value, it->second.step * 25);
        self->delayed_send(self, std::chrono::milliseconds(st.settings.latency_ms / 4),
                           tick_atom::value, token);
        return;
      }
      auto sleeper = std::move(it->second);
      st.sleeping.erase(it);
      store_outputs(self, std::move(sleeper.request), render_kind::small, {}, sleeper.promise);
    },
  };
}

}  // namespace

device_handles spawn_device(caf::actor_system& system, const device_context& context,
                            const device_settings& device) {
  // The output threads outlive a device actor that dies: its restart gets the same ones.
  auto outputs = std::make_shared<output_pool>(
    device.slots, context.files_dir, context.config->durability == durability_mode::fsync);
  auto actor = system.spawn(kiln::device, context, device, outputs, std::uint64_t{0});
  device_view view;
  view.id = device.id;
  view.executor = device.executor;
  view.slots = device.slots;
  view.models = device.models;
  // The scheduler supervises the device: when the actor dies it starts a new one from this.
  auto generation = std::make_shared<std::uint64_t>(0);
  device_factory restart = [&system, context, device, outputs, generation] {
    return system.spawn(kiln::device, context, device, outputs, ++*generation);
  };
  caf::anon_send(context.scheduler, register_atom::value, std::move(view), actor,
                 std::move(restart));
  return {actor, std::move(outputs)};
}

void stop_device(const device_handles& handles) {
  caf::anon_send_exit(handles.device, caf::exit_reason::user_shutdown);
  handles.outputs->stop();
}

}  // namespace kiln
