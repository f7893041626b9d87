// The job actor's state machine as a table: every move the design names is allowed, and every
// other is refused. (The actor's `enter` asserts the table on each move; it is internal to
// actors/job_actor.cpp, so it is not tested here.)
#include <catch2/catch.hpp>

#include "actors/job_phase.hpp"

#include <set>
#include <utility>

using kiln::job_phase;

namespace {

const job_phase all_phases[] = {job_phase::queued,     job_phase::starting,  job_phase::running,
                                job_phase::requeueing, job_phase::canceling, job_phase::settling,
                                job_phase::finished};

/// The machine of actors/job_phase.hpp, written out again by hand.
const std::set<std::pair<job_phase, job_phase>> designed = {
  {job_phase::queued, job_phase::starting},      {job_phase::queued, job_phase::canceling},
  {job_phase::starting, job_phase::running},     {job_phase::starting, job_phase::canceling},
  {job_phase::running, job_phase::settling},     {job_phase::running, job_phase::requeueing},
  {job_phase::running, job_phase::canceling},    {job_phase::requeueing, job_phase::queued},
  {job_phase::requeueing, job_phase::canceling}, {job_phase::canceling, job_phase::settling},
  {job_phase::canceling, job_phase::queued},     {job_phase::canceling, job_phase::starting},
  {job_phase::canceling, job_phase::running},    {job_phase::canceling, job_phase::requeueing},
  {job_phase::settling, job_phase::finished},
};

}  // namespace

TEST_CASE("the job phase table allows exactly the designed moves", "[actors]") {
  for (auto from : all_phases)
    for (auto to : all_phases) {
      INFO(kiln::job_phase_name(from) << " -> " << kiln::job_phase_name(to));
      CHECK(kiln::job_phase_allows(from, to) == (designed.count({from, to}) == 1));
    }
}

// Two rules of the design, stated apart from `designed`: a change made to both the table and
// `designed` still has to keep them.
TEST_CASE("a finished job moves nowhere, and nothing moves back to starting but a failed cancel",
          "[actors]") {
  for (auto to : all_phases) CHECK_FALSE(kiln::job_phase_allows(job_phase::finished, to));
  for (auto from : all_phases)
    if (from != job_phase::queued && from != job_phase::canceling)
      CHECK_FALSE(kiln::job_phase_allows(from, job_phase::starting));
  CHECK(kiln::job_phase_name(job_phase::requeueing) == "requeueing");
}
