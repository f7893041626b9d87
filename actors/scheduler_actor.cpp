// Scheduler actor: FIFO queue of job tickets, slot accounting per device.
#include "actors/scheduler_actor.hpp"

#include "actors/protocol.hpp"

#include <deque>
#include <unordered_map>

namespace kiln {
namespace {

struct device_slots {
  device_view view;
  caf::actor actor;
  bool serves(const std::string& model) const {
    for (const auto& m : view.models)
      if (m == "*" || m == model) return true;
    return false;
  }
};

struct scheduler_state {
  std::deque<job_ticket> queue;
  std::vector<device_slots> devices;
  std::unordered_map<std::string, std::uint32_t> running_by_account;  ///< plan concurrency
  std::unordered_map<std::string, std::string> account_of_running;    ///< job id -> account
  static inline const char* name = "scheduler";
};

using scheduler_self = caf::stateful_actor<scheduler_state>*;

/// How far into the queue a free slot looks for a job its device serves.
constexpr std::size_t dispatch_scan_max = 256;

/// Jobs of an account beyond its plan's max_concurrent_jobs wait in the queue.
bool under_limit(const scheduler_state& st, const job_ticket& ticket) {
  if (ticket.max_concurrent_jobs == 0) return true;
  auto it = st.running_by_account.find(ticket.account_id);
  return it == st.running_by_account.end() || it->second < ticket.max_concurrent_jobs;
}

void dispatch(scheduler_self self) {
  auto& st = self->state;
  for (auto& device : st.devices) {
    while (device.view.busy < device.view.slots && !st.queue.empty()) {
      auto limit = std::min(st.queue.size(), dispatch_scan_max);
      std::size_t index = 0;
      while (index < limit && !(device.serves(st.queue[index].model) && under_limit(st, st.queue[index])))
        ++index;
      if (index == limit) break;
      auto ticket = std::move(st.queue[index]);
      st.queue.erase(st.queue.begin() + static_cast<std::ptrdiff_t>(index));
      device.view.busy += 1;
      device.view.running.push_back(ticket.job_id);
      st.running_by_account[ticket.account_id] += 1;
      st.account_of_running[ticket.job_id] = ticket.account_id;
      self->send(ticket.job, dispatch_atom::value, device.view.id, device.actor);
    }
  }
}

caf::behavior scheduler_actor(scheduler_self self) {
  return {
    [=](register_atom, device_view& view, caf::actor& actor) {
      self->state.devices.push_back(device_slots{std::move(view), std::move(actor)});
      dispatch(self);
    },
    [=](enqueue_atom, job_ticket& ticket) {
      self->state.queue.push_back(std::move(ticket));
      dispatch(self);
    },
    [=](release_atom, const std::string& device_id, const std::string& job_id, bool failed) {
      auto& st = self->state;
      if (auto owner = st.account_of_running.find(job_id); owner != st.account_of_running.end()) {
        auto count = st.running_by_account.find(owner->second);
        if (count != st.running_by_account.end() && --count->second == 0)
          st.running_by_account.erase(count);
        st.account_of_running.erase(owner);
      }
      for (auto& device : st.devices) {
        if (device.view.id != device_id) continue;
        auto& running = device.view.running;
        running.erase(std::remove(running.begin(), running.end(), job_id), running.end());
        if (device.view.busy > 0) device.view.busy -= 1;
        (failed ? device.view.failed : device.view.completed) += 1;
        break;
      }
      dispatch(self);
    },
    [=](withdraw_atom, const std::string& job_id) {
      auto& queue = self->state.queue;
      for (auto it = queue.begin(); it != queue.end(); ++it)
        if (it->job_id == job_id) {
          queue.erase(it);
          return;
        }
    },
    [=](position_atom, const std::string& job_id) -> std::uint64_t {
      const auto& queue = self->state.queue;
      for (std::size_t i = 0; i < queue.size(); ++i)
        if (queue[i].job_id == job_id) return i + 1;
      return 0;
    },
    [=](devices_atom) {
      devices_report report;
      for (const auto& device : self->state.devices) report.devices.push_back(device.view);
      report.queued = self->state.queue.size();
      return report;
    },
  };
}

}  // namespace

caf::actor spawn_scheduler(caf::actor_system& system) { return system.spawn(scheduler_actor); }

}  // namespace kiln
