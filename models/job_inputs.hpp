// Input media on jobs (docs/decisions.md, "Job inputs"): `inputs: [{role, upload_id, file?}]` in
// a create body, checked against the model's capabilities, then against the upload session each
// names (the caller's, the file there, its content type fitting the role).
#pragma once

#include "models/catalog.hpp"
#include "models/error.hpp"
#include "models/job.hpp"
#include "models/upload.hpp"

#include <simdjson.h>

#include <cstddef>
#include <string_view>

namespace kiln {

/// "image", "audio" or "video": what a role takes; empty for a role Kiln does not know.
std::string_view input_role_kind(std::string_view role);

/// Reads the body's `inputs` array into spec.inputs (role, upload_id, file), or the error naming
/// the field ("inputs[1].role").
caf::error read_job_inputs(simdjson::dom::element value, job_spec& spec);

/// The model's capabilities: a model that takes no media refuses inputs, one with
/// `requires_input_media` needs one, `max_input_images` caps the image inputs.
caf::error check_input_capabilities(const model_entry& model, const job_spec& spec);

/// Fills input `index` from its session (already known to be the caller's): the file must be
/// there, not swept, and of the role's kind; or the error naming `inputs[index]....`.
caf::error resolve_job_input(job_input& input, std::size_t index, const upload_session& session);

/// An image job asked for no size (an edit model's, job_request.cpp) takes its first image
/// input's probed size, or the default side when it was not probed; a source over 4 MP is
/// refused, naming its input.
caf::error size_from_source(job_spec& spec);

}  // namespace kiln
