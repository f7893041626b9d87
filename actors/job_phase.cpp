// The job actor's allowed phase changes, as a table.
#include "actors/job_phase.hpp"

#include <array>

namespace kiln {
namespace {

constexpr std::size_t phase_count = 7;
constexpr auto at(job_phase p) { return static_cast<std::size_t>(p); }

/// allowed[from][to]
constexpr std::array<std::array<bool, phase_count>, phase_count> allowed = [] {
  std::array<std::array<bool, phase_count>, phase_count> t{};
  using p = job_phase;
  auto allow = [&](p from, p to) { t[at(from)][at(to)] = true; };
  allow(p::queued, p::starting);
  allow(p::queued, p::canceling);
  allow(p::starting, p::running);
  allow(p::starting, p::canceling);
  allow(p::running, p::settling);
  allow(p::running, p::requeueing);
  allow(p::running, p::canceling);
  allow(p::requeueing, p::queued);
  allow(p::requeueing, p::canceling);
  // A cancel that lands ends the job; one whose write failed goes back to what the job was
  // doing, or to where that got meanwhile (a run that ended during the write).
  for (auto to : {p::settling, p::queued, p::starting, p::running, p::requeueing})
    allow(p::canceling, to);
  allow(p::settling, p::finished);
  return t;
}();

}  // namespace

std::string_view job_phase_name(job_phase phase) {
  constexpr std::string_view names[phase_count] = {"queued",    "starting", "running", "requeueing",
                                                   "canceling", "settling", "finished"};
  return names[at(phase)];
}

bool job_phase_allows(job_phase from, job_phase to) {
  return at(from) < phase_count && at(to) < phase_count && allowed[at(from)][at(to)];
}

}  // namespace kiln
