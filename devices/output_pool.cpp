// The output threads; see the header.
#include "devices/output_pool.hpp"

#include "base/logging.hpp"
#include "config/limits.hpp"
#include "devices/output_render.hpp"
#include "persistence/output_files.hpp"

#include <caf/send.hpp>

#include <spdlog/spdlog.h>

namespace kiln {
namespace {

/// Why a job's outputs could not be stored, as the job says it: the reason names server paths,
/// so it goes to the log only.
caf::error storage_failed(const std::string& job_id, const std::string& what,
                          const caf::error& reason) {
  logs::get("devices")->error(R"("event":"device.output_failed","job":"{}","reason":"{}")", job_id,
                              logs::json_text(describe(reason)));
  return make_error(error_code::server_error, what + " could not be stored");
}

/// Stores one file of a run; the job's output record, or why not.
caf::expected<job_output> store(const std::string& files_dir, bool durable,
                                const std::string& job_id, std::uint32_t index,
                                const rendered_file& file) {
  if (file.bytes.empty()) return make_error(error_code::server_error, "render failed");
  auto name = output_files::name_for(job_id, index, file.content_type, file.role);
  if (auto error = output_files::write(files_dir, name, file.bytes, durable))
    return storage_failed(job_id, "output " + std::to_string(index), error);
  return job_output{name,
                    file.content_type,
                    static_cast<std::uint64_t>(file.bytes.size()),
                    file.role,
                    file.width,
                    file.height,
                    file.duration_ms};
}

/// Renders (or takes) and stores every output of the task, stopping before the next output once
/// the task is canceled. Only the builtin renders report progress (before each output after the
/// first): a sim run reported its own while it waited, and an http run's server did.
caf::expected<run_result> make_outputs(const std::string& files_dir, bool durable,
                                       const output_pool::task& t) {
  const auto& request = t.request;
  run_result result;
  result.credits_used = t.credits_used;
  bool given = t.kind == render_kind::given;
  auto count = given ? static_cast<std::uint32_t>(t.files.size()) : request.n;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (i > 0 && t.kind == render_kind::full && request.progress)
      caf::anon_send(request.progress, progress_atom::value, i * 100 / count);
    if (t.canceled && t.canceled->load())
      return make_error(error_code::unavailable, "the run was canceled");
    std::vector<rendered_file> files;
    if (given) {
      rendered_file file;
      file.bytes = t.files[i].bytes;
      file.content_type = t.files[i].content_type;
      files.push_back(std::move(file));
    } else {
      files = render_output(request, i, t.kind == render_kind::small);
    }
    for (const auto& file : files) {
      auto stored = store(files_dir, durable, request.job_id, i, file);
      if (!stored) return stored.error();
      result.outputs.push_back(std::move(*stored));
    }
  }
  // One fsync of their shard makes all the job's outputs durable by name, before its success.
  if (durable && !result.outputs.empty())
    if (auto error = output_files::sync(files_dir, result.outputs.front().file))
      return storage_failed(request.job_id, "the outputs", error);
  return result;
}

}  // namespace

output_pool::output_pool(std::size_t threads, std::string files_dir, bool durable)
  : files_dir_(std::move(files_dir)), durable_(durable) {
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
    next.second(make_outputs(files_dir_, durable_, next.first));
  }
}

}  // namespace kiln
