// Device actor and the builtin executor's render workers. A canceled sim run is answered at
// once; a builtin worker checks its cancel flag before each output, so it stops within one
// image (or one whole video) and then frees the slot.
#include "devices/device_actor.hpp"

#include "config/limits.hpp"
#include "devices/http_executor.hpp"
#include "devices/media/media_render.hpp"
#include "persistence/output_files.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <unordered_map>

namespace kiln {
namespace {

/// Stores output `index` of a job and describes it as the job records it.
caf::expected<job_output> store_output(const std::string& files_dir, const std::string& job_id,
                                       std::uint32_t index, const std::string& content_type,
                                       const std::string& bytes) {
  auto name = output_files::name_for(job_id, index, content_type);
  if (!output_files::write(files_dir, name, bytes))
    return make_error(error_code::server_error, "cannot write output " + name);
  return job_output{name, content_type, static_cast<std::uint64_t>(bytes.size())};
}

/// Renders and stores every output of `request`; `small` picks the sim executor's tiny PNG.
caf::expected<run_result> render_outputs(const std::string& files_dir, const run_request& request,
                                         bool small, const std::atomic<bool>* canceled = nullptr,
                                         const std::function<void(std::uint32_t)>& progress = {}) {
  run_result result;
  for (std::uint32_t i = 0; i < request.n; ++i) {
    if (progress && i > 0) progress(i * 100 / request.n);
    if (canceled && canceled->load())
      return make_error(error_code::unavailable, "the run was canceled");
    media::render_request what{request.prompt, request.params.seed, request.params.width,
                               request.params.height, i};
    bool video = request.type == "video";
    std::string bytes;
    if (small) bytes = media::render_small_png(what);
    else if (video) {
      what.width = limits::video_width;
      what.height = limits::video_height;
      bytes = media::render_gif(what, request.params.duration_seconds, limits::video_fps);
    } else bytes = media::render_png(what);
    if (bytes.empty()) return make_error(error_code::server_error, "render failed");
    auto output = store_output(files_dir, request.job_id, i,
                               (video && !small) ? "image/gif" : "image/png", bytes);
    if (!output) return std::move(output.error());
    result.outputs.push_back(std::move(*output));
  }
  return result;
}

using cancel_flag = std::shared_ptr<std::atomic<bool>>;

}  // namespace
}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::cancel_flag)

namespace kiln {
namespace {

/// A builtin device's render worker: a detached actor (its own thread) per slot, so rendering
/// never runs on the shared scheduler.
using render_worker_actor =
  caf::typed_actor<caf::replies_to<run_atom, run_request, cancel_flag>::with<run_result>>;

render_worker_actor::behavior_type render_worker(render_worker_actor::pointer self,
                                                 std::string files_dir) {
  return {[=](run_atom, const run_request& request,
              const cancel_flag& canceled) -> caf::result<run_result> {
    auto result =
      render_outputs(files_dir, request, false, canceled.get(), [&](std::uint32_t percent) {
        if (request.progress) self->send(request.progress, progress_atom::value, percent);
      });
    if (!result) return std::move(result.error());
    return std::move(*result);
  }};
}

struct device_state {
  device_settings settings;
  device_context context;
  std::vector<render_worker_actor> workers;  ///< builtin: one detached render worker per slot
  std::vector<bool> worker_busy;
  struct sleeper {
    caf::typed_response_promise<run_result> promise;
    run_request request;
    std::uint32_t step = 0;  ///< quarters of the latency passed
  };
  std::unordered_map<std::uint64_t, sleeper> sleeping;  ///< sim: runs waiting for their latency
  std::uint64_t next_token = 0;
  std::unordered_map<std::string, cancel_flag> cancel_flags;  ///< builtin: runs in progress
  std::unique_ptr<http_executor> http;  ///< http: the inference server behind this device
  std::unordered_map<std::uint64_t, std::pair<caf::typed_response_promise<run_result>, run_request>>
    remote;  ///< http: runs out on the inference server
  std::mt19937_64 faults;
  static inline const char* name = "device";
};

using device_self = device_actor::stateful_pointer<device_state>;

bool draw(device_self self, double rate) {
  if (rate <= 0.0) return false;
  return std::uniform_real_distribution<double>(0.0, 1.0)(self->state.faults) < rate;
}

caf::result<run_result> run_builtin(device_self self, run_request& request) {
  auto& st = self->state;
  for (std::size_t i = 0; i < st.workers.size(); ++i) {
    if (st.worker_busy[i]) continue;
    st.worker_busy[i] = true;
    auto promise = self->make_response_promise<run_result>();
    auto canceled = std::make_shared<std::atomic<bool>>(false);
    auto job_id = request.job_id;
    st.cancel_flags[job_id] = canceled;
    // The worker is a supervised local actor that always answers; the job bounds the wait.
    self->request(st.workers[i], caf::infinite, run_atom::value, std::move(request), canceled)
      .then(
        [=](run_result& result) mutable {
          self->state.worker_busy[i] = false;
          self->state.cancel_flags.erase(job_id);
          promise.deliver(std::move(result));
        },
        [=](caf::error& error) mutable {
          self->state.worker_busy[i] = false;
          self->state.cancel_flags.erase(job_id);
          promise.deliver(std::move(error));
        });
    return promise;
  }
  return make_error(error_code::unavailable, "no free slot on device " + st.settings.id);
}

caf::result<run_result> run_sim(device_self self, run_request& request) {
  auto& st = self->state;
  if (st.settings.latency_ms == 0) {
    auto result = render_outputs(st.context.files_dir, request, true);
    if (!result) return std::move(result.error());
    return std::move(*result);
  }
  // Runs of 100 ms or more report progress at each quarter of their latency.
  auto token = st.next_token++;
  auto promise = self->make_response_promise<run_result>();
  bool steps = st.settings.latency_ms >= 100;
  st.sleeping.emplace(token, device_state::sleeper{promise, std::move(request), steps ? 0u : 3u});
  self->delayed_send(self, std::chrono::milliseconds(st.settings.latency_ms / (steps ? 4 : 1)),
                     tick_atom::value, token);
  return promise;  // delivered at the last tick
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
                        request.trace_id};
  st.remote.emplace(token, std::make_pair(promise, std::move(request)));
  auto device = caf::actor_cast<device_actor>(self);
  st.http->run(
    std::move(call),
    [progress](std::uint32_t percent) {
      if (progress) caf::anon_send(progress, progress_atom::value, percent);
    },
    [device, token](http_run_result result) {
      executor_outcome outcome{std::move(result.error), {}};
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
  run_result stored;
  for (std::size_t i = 0; i < result.outputs.size(); ++i) {
    auto output = store_output(st.context.files_dir, request.job_id, static_cast<std::uint32_t>(i),
                               result.outputs[i].content_type, result.outputs[i].bytes);
    if (!output) {
      promise.deliver(std::move(output.error()));
      return;
    }
    stored.outputs.push_back(std::move(*output));
  }
  promise.deliver(std::move(stored));
}

device_actor::behavior_type device(device_self self, device_context context,
                                   device_settings settings, std::uint64_t generation) {
  auto& st = self->state;
  st.context = std::move(context);
  st.settings = std::move(settings);
  // Faults are reproducible from faults.seed; a restarted device draws a new sequence.
  st.faults.seed(st.context.config->faults.seed ^ std::hash<std::string>{}(st.settings.id) ^
                 (generation * 0x9E3779B97F4A7C15ull));
  if (st.settings.executor == "http") {
    http_executor::options options;
    options.base_url = st.settings.url;
    options.ca_file = st.context.config->webhooks.ca_file;
    st.http = std::make_unique<http_executor>(options);
  }
  if (st.settings.executor == "builtin")
    for (std::uint32_t i = 0; i < st.settings.slots; ++i) {
      st.workers.push_back(
        self->spawn<caf::detached + caf::linked>(render_worker, st.context.files_dir));
      st.worker_busy.push_back(false);
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
      if (auto flag = st.cancel_flags.find(job_id); flag != st.cancel_flags.end())
        flag->second->store(true);           // the worker stops before its next output and answers
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
      auto result = render_outputs(st.context.files_dir, sleeper.request, true);
      if (result) sleeper.promise.deliver(std::move(*result));
      else sleeper.promise.deliver(std::move(result.error()));
    },
  };
}

}  // namespace

device_actor spawn_device(caf::actor_system& system, const device_context& context,
                          const device_settings& device) {
  auto actor = system.spawn(kiln::device, context, device, std::uint64_t{0});
  device_view view;
  view.id = device.id;
  view.executor = device.executor;
  view.slots = device.slots;
  view.models = device.models;
  // The scheduler supervises the device: when the actor dies it starts a new one from this.
  auto generation = std::make_shared<std::uint64_t>(0);
  device_factory restart = [&system, context, device, generation] {
    return system.spawn(kiln::device, context, device, ++*generation);
  };
  caf::anon_send(context.scheduler, register_atom::value, std::move(view), actor,
                 std::move(restart));
  return actor;
}

}  // namespace kiln
