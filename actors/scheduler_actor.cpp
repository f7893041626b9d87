// Scheduler actor: fair share across accounts, plan concurrency, device slots, retries on other
// devices, device supervision and a circuit breaker per device.
//
// Queued jobs wait in one FIFO per account; the accounts with queued jobs form a ring. A free slot
// goes to the next account in the ring that is under its plan's max_concurrent_jobs and has a job
// the device serves (its oldest such job), and that account moves to the back of the ring. So an
// account with a backlog of thousands and an account with one job alternate: the one job starts
// within one dispatch per device, not after the backlog.
//
// A job whose attempt failed on a device prefers any other device that serves its model; it goes
// back to the same device only when no other is up. A device whose runs fail `breaker_failures`
// times in a row is marked down for `breaker_cooldown_ms` (doubling up to a minute while its probe
// jobs keep failing); then one probe job is let through, and its success brings the device back.
// A device actor that dies is restarted at once; its jobs see it die and are queued again.
//
// A test job (made with a test key; its ticket is `sim_only`) runs only on `sim` devices: with no
// simulator serving its model it waits queued, and never falls back to a builtin or http device.
#include "actors/scheduler_actor.hpp"

#include "base/assert.hpp"
#include "base/logging.hpp"
#include "config/limits.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace kiln {
namespace {

struct device_slots {
  device_view view;
  device_actor actor;
  device_factory restart;
  std::chrono::milliseconds cooldown{0};  ///< the current down period
  bool serves(const std::string& model) const {
    for (const auto& m : view.models)
      if (m == "*" || m == model) return true;
    return false;
  }
  /// Serves the ticket's model, and is a simulator if the ticket is a test job's.
  bool serves(const job_ticket& ticket) const {
    return (!ticket.sim_only || view.executor == "sim") && serves(ticket.model);
  }
  bool usable() const {
    return view.status == device_status::up ||
           (view.status == device_status::probing && view.busy == 0);
  }
  /// Every change of the breaker's state goes through here.
  void move_to(device_status next) {
    KILN_ASSERT_MSG(device_status_allows(view.status, next), "device status transition");
    view.status = next;
  }
};

struct account_queue {
  std::deque<job_ticket> jobs;
  std::uint32_t running = 0;
  bool in_ring = false;
};

struct scheduler_state {
  std::unordered_map<std::string, account_queue> accounts;
  std::deque<std::string> ring;  ///< accounts with queued jobs, next first
  std::size_t queued = 0;
  std::vector<device_slots> devices;
  std::unordered_map<std::string, std::string> account_of_running;  ///< job id -> account
  scheduler_options options;
  clock_ptr clock;
  static inline const char* name = "scheduler";
};

using scheduler_self = scheduler_actor::stateful_pointer<scheduler_state>;

bool failed_on(const job_ticket& ticket, const std::string& device_id) {
  return std::find(ticket.failed_on.begin(), ticket.failed_on.end(), device_id) !=
         ticket.failed_on.end();
}

/// Whether `device` may run `ticket`: it serves the model, and either the job has not failed on
/// it or no other usable device serving the model is free of that failure.
bool may_run(const scheduler_state& st, const device_slots& device, const job_ticket& ticket) {
  if (!device.serves(ticket)) return false;  // a test job runs on simulators only
  if (!failed_on(ticket, device.view.id)) return true;
  for (const auto& other : st.devices)
    if (&other != &device && other.view.status != device_status::down && other.serves(ticket) &&
        !failed_on(ticket, other.view.id))
      return false;
  return true;
}

/// The next job for `device` in fair-share order; the ring is rotated past the account it came
/// from. nullopt when no account has a job it may run.
std::optional<job_ticket> next_for(scheduler_state& st, const device_slots& device) {
  for (std::size_t visited = 0, n = st.ring.size(); visited < n; ++visited) {
    auto account_id = std::move(st.ring.front());
    st.ring.pop_front();
    auto it = st.accounts.find(account_id);
    if (it == st.accounts.end() || it->second.jobs.empty()) {
      if (it != st.accounts.end()) {
        it->second.in_ring = false;
        if (it->second.running == 0) st.accounts.erase(it);
      }
      continue;
    }
    auto& queue = it->second;
    const auto& first = queue.jobs.front();
    bool under_limit = first.max_concurrent_jobs == 0 || queue.running < first.max_concurrent_jobs;
    if (under_limit) {
      auto limit = std::min(queue.jobs.size(), limits::scheduler_account_scan_max);
      for (std::size_t i = 0; i < limit; ++i) {
        if (!may_run(st, device, queue.jobs[i])) continue;
        auto ticket = std::move(queue.jobs[i]);
        queue.jobs.erase(queue.jobs.begin() + static_cast<std::ptrdiff_t>(i));
        KILN_ASSERT(st.queued > 0);
        st.queued -= 1;
        queue.running += 1;
        if (queue.jobs.empty()) queue.in_ring = false;
        else st.ring.push_back(std::move(account_id));
        return ticket;
      }
    }
    st.ring.push_back(std::move(account_id));
  }
  return std::nullopt;
}

void dispatch(scheduler_self self) {
  auto& st = self->state;
  for (auto& device : st.devices) {
    while (st.queued > 0 && device.usable() && device.view.busy < device.view.slots) {
      auto ticket = next_for(st, device);
      if (!ticket) break;
      KILN_ASSERT_MSG(!ticket->sim_only || device.view.executor == "sim",
                      "a test job is dispatched to a simulator only");
      device.view.busy += 1;
      device.view.running.push_back(ticket->job_id);
      st.account_of_running[ticket->job_id] = ticket->account_id;
      // Ahead of reads and cancels waiting at the target: a slot waits for nothing else.
      auto target = ticket->target;
      self->send<caf::message_priority::high>(target, dispatch_atom::value, std::move(*ticket),
                                              device.view.id, device.actor);
    }
  }
}

void enqueue(scheduler_self self, job_ticket ticket) {
  auto& st = self->state;
  auto& queue = st.accounts[ticket.account_id];
  if (!queue.in_ring) {
    queue.in_ring = true;
    st.ring.push_back(ticket.account_id);
  }
  queue.jobs.push_back(std::move(ticket));
  st.queued += 1;
  dispatch(self);
}

/// The circuit breaker's view of one finished run.
void record_outcome(scheduler_self self, device_slots& device, bool failed) {
  auto& st = self->state;
  auto& view = device.view;
  (failed ? view.failed : view.completed) += 1;
  if (!failed) {
    if (view.status != device_status::up)
      logs::get("actors")->info(R"("event":"device.up","device":"{}")", view.id);
    view.consecutive_failures = 0;
    device.move_to(device_status::up);
    view.down_until_ms = 0;
    device.cooldown = std::chrono::milliseconds(0);
    return;
  }
  view.consecutive_failures += 1;
  bool trips =
    view.status == device_status::probing ||
    (view.status == device_status::up && view.consecutive_failures >= st.options.breaker_failures);
  if (!trips) return;
  device.cooldown = device.cooldown.count() == 0
                      ? st.options.breaker_cooldown
                      : std::min(device.cooldown * 2, limits::breaker_cooldown_max);
  device.move_to(device_status::down);
  view.down_until_ms = st.clock->now_ms() + device.cooldown.count();
  logs::get("actors")->warn(
    R"("event":"device.down","device":"{}","consecutive_failures":{},"probe_in_ms":{})", view.id,
    view.consecutive_failures, device.cooldown.count());
  self->delayed_send(self, device.cooldown, tick_atom::value, view.id);
}

void on_release(scheduler_self self, const std::string& device_id, const std::string& job_id,
                bool failed) {
  auto& st = self->state;
  if (auto owner = st.account_of_running.find(job_id); owner != st.account_of_running.end()) {
    auto queue = st.accounts.find(owner->second);
    if (queue != st.accounts.end()) {
      KILN_ASSERT_MSG(queue->second.running > 0, "a running job's account counts it");
      queue->second.running -= 1;
      if (queue->second.running == 0 && !queue->second.in_ring) st.accounts.erase(queue);
    }
    st.account_of_running.erase(owner);
  }
  for (auto& device : st.devices) {
    if (device.view.id != device_id) continue;
    auto& running = device.view.running;
    auto it = std::find(running.begin(), running.end(), job_id);
    if (it == running.end()) break;  // released before (a job may release only once)
    running.erase(it);
    KILN_ASSERT_MSG(device.view.busy > 0, "a released slot was busy");
    device.view.busy -= 1;
    record_outcome(self, device, failed);
    break;
  }
  dispatch(self);
}

void on_device_down(scheduler_self self, const caf::down_msg& down) {
  auto& st = self->state;
  for (auto& device : st.devices) {
    if (device.actor.address() != down.source) continue;
    device.view.crashes += 1;
    logs::get("actors")->error(
      R"("event":"device.crashed","device":"{}","reason":"{}","running":{})", device.view.id,
      logs::json_text(caf::to_string(down.reason)), device.view.running.size());
    // Its jobs see it die (they monitor it) and release their slots; the new actor starts empty.
    device.actor = device.restart();
    self->monitor(device.actor);
    dispatch(self);
    return;
  }
}

/// The ticket of `job_id` in `jobs`, or jobs.end().
std::deque<job_ticket>::const_iterator find_ticket(const std::deque<job_ticket>& jobs,
                                                   const std::string& job_id) {
  return std::find_if(jobs.begin(), jobs.end(),
                      [&](const job_ticket& t) { return t.job_id == job_id; });
}

/// Where `job_id` stands in fair-share order: the jobs of other accounts dispatched before it
/// (one per account per round, in ring order) plus its own account's jobs ahead of it.
std::uint64_t position_of(const scheduler_state& st, const std::string& owner,
                          const std::string& job_id) {
  auto queue = st.accounts.find(owner);
  if (queue == st.accounts.end()) return 0;
  const auto& jobs = queue->second.jobs;
  auto it = find_ticket(jobs, job_id);
  if (it == jobs.end()) return 0;
  auto index = static_cast<std::size_t>(it - jobs.begin());
  std::uint64_t ahead = index;
  bool before = true;  // accounts before the owner in the ring get one more round
  for (const auto& account_id : st.ring) {
    if (account_id == owner) {
      before = false;
      continue;
    }
    auto other = st.accounts.find(account_id);
    if (other == st.accounts.end()) continue;
    ahead += std::min<std::uint64_t>(other->second.jobs.size(), index + (before ? 1 : 0));
  }
  return ahead + 1;
}

/// A device's cooldown ended: it may take one probe job.
void on_cooldown_over(scheduler_self self, const std::string& device_id) {
  for (auto& device : self->state.devices)
    if (device.view.id == device_id && device.view.status == device_status::down) {
      device.move_to(device_status::probing);
      logs::get("actors")->info(R"("event":"device.probing","device":"{}")", device_id);
    }
  dispatch(self);
}

void on_withdraw(scheduler_self self, const std::string& account_id, const std::string& job_id) {
  auto& st = self->state;
  auto queue = st.accounts.find(account_id);
  if (queue == st.accounts.end()) return;
  auto& jobs = queue->second.jobs;
  auto it = find_ticket(jobs, job_id);
  if (it == jobs.end()) return;
  jobs.erase(it);
  KILN_ASSERT(st.queued > 0);
  st.queued -= 1;
}

void on_telemetry(scheduler_self self, const device_view& telemetry) {
  for (auto& device : self->state.devices)
    if (device.view.id == telemetry.id) {
      device.view.gpu_name = telemetry.gpu_name;
      device.view.gpu_uuid = telemetry.gpu_uuid;
      device.view.memory_total_bytes = telemetry.memory_total_bytes;
      device.view.memory_used_bytes = telemetry.memory_used_bytes;
      device.view.utilization_percent = telemetry.utilization_percent;
    }
}

devices_report on_devices(scheduler_self self) {
  devices_report report;
  for (const auto& device : self->state.devices) report.devices.push_back(device.view);
  report.queued = self->state.queued;
  return report;
}

scheduler_actor::behavior_type scheduler(scheduler_self self, scheduler_options options,
                                         clock_ptr clock) {
  self->state.options = options;
  self->state.clock = std::move(clock);
  self->set_down_handler([=](caf::down_msg& down) { on_device_down(self, down); });
  return {
    [=](register_atom, device_view& view, device_actor& actor, device_factory& restart) {
      self->monitor(actor);
      self->state.devices.push_back(
        device_slots{std::move(view), std::move(actor), std::move(restart)});
      dispatch(self);
    },
    [=](enqueue_atom, job_ticket& ticket) { enqueue(self, std::move(ticket)); },
    [=](release_atom, const std::string& device_id, const std::string& job_id, bool failed) {
      on_release(self, device_id, job_id, failed);
    },
    [=](withdraw_atom, const std::string& account_id, const std::string& job_id) {
      on_withdraw(self, account_id, job_id);
    },
    [=](position_atom, const std::string& account_id, const std::string& job_id) {
      return position_of(self->state, account_id, job_id);
    },
    [=](devices_atom) { return on_devices(self); },
    [=](devices_atom, const device_view& telemetry) { on_telemetry(self, telemetry); },
    [=](tick_atom, const std::string& device_id) { on_cooldown_over(self, device_id); },
  };
}

}  // namespace

scheduler_actor spawn_scheduler(caf::actor_system& system, scheduler_options options,
                                clock_ptr clock) {
  return system.spawn(scheduler, options, std::move(clock));
}

}  // namespace kiln
