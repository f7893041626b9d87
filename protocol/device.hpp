// Devices: one actor per GPU (or simulated one) that runs jobs with its executor. A job sends
// `run` and gets the outputs (already stored under files/) or an error; `cancel` stops a run,
// which then answers with an error. Progress goes to the run's progress sink as it happens.
#pragma once

#include "models/catalog.hpp"
#include "protocol/common.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// Who hears a run's progress (the job actor).
using progress_sink_actor = caf::typed_actor<caf::reacts_to<progress_atom, std::uint32_t>>;

/// What a device needs to run a job.
struct run_request {
  std::string job_id;
  std::string type;
  std::string model;
  std::string prompt;
  std::uint32_t n = 1;
  job_params params;
  std::string options;    ///< the model's options as the job runs with them (JSON), or empty
  std::uint32_t fps = 0;  ///< video: the model's frames per second
  std::vector<std::string> fields;  ///< json: the fields each document has
  std::vector<job_input> inputs;    ///< the job's input media (docs/decisions.md, "Job inputs")
  /// builtin: the directory of upload sessions' files, where it reads the inputs; empty for the
  /// others (the sim ignores inputs; the http executor hands them over by URL)
  std::string uploads_dir;
  std::uint32_t attempt = 1;
  std::string trace_id;
  progress_sink_actor progress;  ///< told 0..99 while the run goes on; may be null
};

/// The run of job `j`'s current attempt; `model` (its catalog entry, if known) gives the frame
/// rate and document fields. The progress sink is the caller's to set.
inline run_request run_request_for(const job& j, const model_entry* model) {
  run_request r;
  r.job_id = j.id;
  r.type = j.spec.type;
  r.model = j.spec.model;
  r.prompt = j.spec.prompt;
  r.n = j.spec.n;
  r.params = j.spec.params;
  r.options = j.spec.options;
  r.inputs = j.spec.inputs;
  if (model) {
    r.fps = model->fps;
    r.fields = model->fields;
  }
  r.attempt = j.attempts;
  r.trace_id = j.trace_id;
  return r;
}

struct run_result {
  std::vector<job_output> outputs;
  /// What the run reports it actually used, in credits, when it knows (an http executor's
  /// server may say so); -1: the whole hold.
  std::int64_t credits_used = -1;
};

/// What an executor running outside the actor system hands back for one run: files not yet
/// stored, or why it failed.
struct executor_outcome {
  std::string error;  ///< empty on success
  struct file {
    std::string content_type;
    std::string bytes;
  };
  std::vector<file> outputs;
  std::int64_t credits_used = -1;  ///< see run_result
};

/// What a device's output threads hand back for one run: the stored outputs, or why not.
struct stored_outputs {
  caf::error error;  ///< none on success
  run_result result;
};

using device_actor = caf::typed_actor<
  /// Runs the job; answers with its outputs, stored, or why not.
  caf::replies_to<run_atom, run_request>::with<run_result>,
  /// Stops the job's run, if it has one here; its `run` then answers with an error.
  caf::reacts_to<cancel_atom, std::string>,
  /// Internal: an executor's outcome for run `token` (http executor).
  caf::reacts_to<run_atom, std::uint64_t, executor_outcome>,
  /// Internal: run `token`'s next quarter of latency passed (sim executor).
  caf::reacts_to<tick_atom, std::uint64_t>,
  /// Internal: the output threads stored (or failed to store) run `token`'s outputs.
  caf::reacts_to<write_atom, std::uint64_t, stored_outputs>>;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::run_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::run_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::executor_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::stored_outputs)
