// The output threads; see the header.
#include "devices/output_pool.hpp"

#include "base/logging.hpp"
#include "config/limits.hpp"
#include "devices/media/media_render.hpp"
#include "persistence/output_files.hpp"

#include <caf/send.hpp>

#include <spdlog/spdlog.h>

namespace kiln {
namespace {

/// Stores output `index` of a job durably and describes it as the job records it.
caf::expected<job_output> store_output(const std::string& files_dir, const std::string& job_id,
                                       std::uint32_t index, const std::string& content_type,
                                       const std::string& bytes) {
  auto name = output_files::name_for(job_id, index, content_type);
  if (auto error = output_files::write(files_dir, name, bytes)) {
    // The reason names server paths: it goes to the log, and the job says only what failed.
    logs::get("devices")->error(R"("event":"device.output_failed","job":"{}","reason":"{}")",
                                job_id, logs::json_text(describe(error)));
    return make_error(error_code::server_error,
                      "output " + std::to_string(index) + " could not be stored");
  }
  return job_output{name, content_type, static_cast<std::uint64_t>(bytes.size())};
}

std::string render(const run_request& request, render_kind kind, std::uint32_t index) {
  media::render_request what{request.prompt, request.params.seed, request.params.width,
                             request.params.height, index};
  if (kind == render_kind::small) return media::render_small_png(what);
  if (request.type != "video") return media::render_png(what);
  what.width = limits::video_width;
  what.height = limits::video_height;
  return media::render_gif(what, request.params.duration_seconds, limits::video_fps);
}

/// Renders (or takes) and stores every output of the task, reporting progress before each after
/// the first and stopping before the next output once the task is canceled.
caf::expected<run_result> make_outputs(const std::string& files_dir, const output_pool::task& t) {
  const auto& request = t.request;
  run_result result;
  bool given = t.kind == render_kind::given;
  bool video = request.type == "video" && t.kind == render_kind::full;
  auto count = given ? static_cast<std::uint32_t>(t.files.size()) : request.n;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (i > 0 && request.progress)
      caf::anon_send(request.progress, progress_atom::value, i * 100 / count);
    if (t.canceled && t.canceled->load())
      return make_error(error_code::unavailable, "the run was canceled");
    auto bytes = given ? t.files[i].bytes : render(request, t.kind, i);
    if (bytes.empty()) return make_error(error_code::server_error, "render failed");
    auto type = given ? t.files[i].content_type : video ? "image/gif" : "image/png";
    auto output = store_output(files_dir, request.job_id, i, type, bytes);
    if (!output) return std::move(output.error());
    result.outputs.push_back(std::move(*output));
  }
  return result;
}

}  // namespace

output_pool::output_pool(std::size_t threads, std::string files_dir)
  : files_dir_(std::move(files_dir)) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

output_pool::~output_pool() { stop(); }

void output_pool::submit(task work, done_function done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.emplace_back(std::move(work), std::move(done));
      wake_.notify_one();
      return;
    }
  }
  done(make_error(error_code::unavailable, "the device is stopping"));
}

void output_pool::stop() {
  std::deque<std::pair<task, done_function>> left;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(queue_);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  for (auto& [work, done] : left) done(make_error(error_code::unavailable, "the device stopped"));
}

void output_pool::run() {
  for (;;) {
    std::pair<task, done_function> next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    next.second(make_outputs(files_dir_, next.first));
  }
}

}  // namespace kiln
