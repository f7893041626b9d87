// Input media on jobs: reading `inputs`, the model's capabilities and the upload each names.
#include "models/job_inputs.hpp"

#include "config/limits.hpp"

#include <algorithm>

namespace kiln {
namespace {

caf::error bad(std::string field, std::string message) {
  return make_error(error_code::invalid_request, std::move(message), std::move(field));
}

std::string field_of(std::size_t index, std::string_view name = {}) {
  auto field = "inputs[" + std::to_string(index) + "]";
  if (!name.empty()) field += "." + std::string(name);
  return field;
}

struct role_kind {
  std::string_view role;
  std::string_view kind;
};

constexpr role_kind roles[] = {
  {"source_image", "image"}, {"reference_image", "image"}, {"start_frame", "image"},
  {"end_frame", "image"},    {"mask_image", "image"},      {"reference_audio", "audio"},
  {"source_audio", "audio"}, {"source_video", "video"},    {"reference_video", "video"},
};

constexpr std::size_t inputs_max = 16;

}  // namespace

std::string_view input_role_kind(std::string_view role) {
  for (const auto& r : roles)
    if (r.role == role) return r.kind;
  return {};
}

caf::error read_job_inputs(simdjson::dom::element value, job_spec& spec) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS)
    return bad("inputs", "inputs must be an array of {role, upload_id, file}");
  if (array.size() > inputs_max)
    return bad("inputs", "inputs holds at most " + std::to_string(inputs_max) + " files");
  std::size_t index = 0;
  for (auto item : array) {
    simdjson::dom::object object;
    if (item.get_object().get(object) != simdjson::SUCCESS)
      return bad(field_of(index), field_of(index) + " must be an object");
    job_input input;
    bool has_upload = false;
    for (auto field : object) {
      std::string_view key = field.key;
      std::string name = field_of(index, key);
      std::string_view text;
      if (key == "role" || key == "upload_id") {
        if (field.value.get_string().get(text) != simdjson::SUCCESS || text.empty() ||
            text.size() > 64)
          return bad(name, name + " must be a non-empty string");
        (key == "role" ? input.role : input.upload_id).assign(text);
        has_upload = has_upload || key == "upload_id";
      } else if (key == "file") {
        std::uint64_t file = 0;
        if (field.value.get_uint64().get(file) != simdjson::SUCCESS ||
            file >= limits::upload_session_files_max)
          return bad(name, name + " must be a file number from 0 to " +
                             std::to_string(limits::upload_session_files_max - 1));
        input.file = static_cast<std::uint32_t>(file);
      } else {
        return bad(name, "unknown field " + name + " (an input is {role, upload_id, file})");
      }
    }
    if (input.role.empty())
      return bad(field_of(index, "role"), field_of(index, "role") + " is required");
    if (input_role_kind(input.role).empty())
      return bad(field_of(index, "role"),
                 "unknown role '" + input.role +
                   "': source_image, reference_image, start_frame, end_frame, mask_image, "
                   "reference_audio, source_audio, source_video or reference_video");
    if (!has_upload)
      return bad(field_of(index, "upload_id"),
                 field_of(index, "upload_id") + " is required (an upload session's id)");
    spec.inputs.push_back(std::move(input));
    ++index;
  }
  return {};
}

caf::error check_input_capabilities(const model_entry& model, const job_spec& spec) {
  bool takes_media = model.requires_input_media || model.max_input_images > 0;
  if (!takes_media && !spec.inputs.empty())
    return bad("inputs", "model " + model.id + " takes no input media");
  if (model.requires_input_media && spec.inputs.empty())
    return bad("inputs", "model " + model.id + " needs input media: give inputs");
  auto images = std::count_if(spec.inputs.begin(), spec.inputs.end(), [](const job_input& i) {
    return input_role_kind(i.role) == "image";
  });
  if (static_cast<std::uint64_t>(images) > model.max_input_images)
    return bad("inputs", "model " + model.id + " takes at most " +
                           std::to_string(model.max_input_images) + " input image" +
                           (model.max_input_images == 1 ? "" : "s"));
  return {};
}

caf::error resolve_job_input(job_input& input, std::size_t index, const upload_session& session) {
  if (session.files_deleted_at_ms != 0)
    return bad(field_of(index, "upload_id"),
               "the files of upload session " + session.id + " were deleted");
  auto found = std::find_if(session.files.begin(), session.files.end(),
                            [&](const upload_file& f) { return f.index == input.file; });
  if (found == session.files.end())
    return bad(field_of(index, "file"),
               "upload session " + session.id + " has no file " + std::to_string(input.file));
  auto kind = input_role_kind(input.role);
  auto type = std::string_view(found->content_type);
  if (type.substr(0, type.find('/')) != kind)
    return bad(field_of(index, "role"), "role " + input.role + " takes " + std::string(kind) +
                                          ", and file " + std::to_string(input.file) + " is " +
                                          found->content_type);
  input.content_type = found->content_type;
  input.bytes = found->bytes;
  input.width = found->width;
  input.height = found->height;
  input.duration_us = found->duration_us;
  return {};
}

caf::error size_from_source(job_spec& spec) {
  if (spec.type != "image" || spec.params.width != 0 || spec.params.height != 0) return {};
  spec.params.width = spec.params.height = limits::image_side_default;
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
    const auto& input = spec.inputs[i];
    if (input_role_kind(input.role) != "image" || input.width == 0 || input.height == 0) continue;
    if (std::uint64_t{input.width} * input.height > limits::image_pixels_max)
      return bad(field_of(i), "the source image is over 4 MP: ask params.width and params.height");
    spec.params.width = input.width;
    spec.params.height = input.height;
    break;
  }
  return {};
}

}  // namespace kiln
