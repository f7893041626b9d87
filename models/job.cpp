// Status names for jobs, in both directions.
#include "models/job.hpp"

namespace kiln {
namespace {
constexpr std::string_view status_names[] = {"queued", "processing", "succeeded", "failed",
                                             "canceled"};
}

std::string_view status_name(job_status status) {
  return status_names[static_cast<std::size_t>(status)];
}

std::optional<job_status> parse_status(std::string_view name) {
  for (std::size_t i = 0; i < std::size(status_names); ++i)
    if (status_names[i] == name) return static_cast<job_status>(i);
  return std::nullopt;
}

std::optional<job_status> parse_status_filter(std::string_view name) {
  // Clients of other APIs spell it with two l's (Killa's "canceled/cancelled").
  if (name == "cancelled") return job_status::canceled;
  if (name == "completed") return job_status::succeeded;
  return parse_status(name);
}

}  // namespace kiln
