// Scheduler dispatch latency with a deep, many-account queue: the real scheduler actor, 100k
// queued jobs spread over 1000 accounts, and 32 one-slot devices. Dispatches go to one actor per
// account, as in the server (whose job router hands them to job actors), which releases the
// slot at once; the latency of a dispatch is the time from the release
// of a device's previous job to the next job's dispatch on that device (one scheduler hop plus
// the fair-share choice). Prints dispatches per second, latency percentiles and resident memory.
//
//   scheduler_bench [--jobs N] [--accounts N] [--devices N]
#include "actors/scheduler_actor.hpp"
#include "base/clock.hpp"
#include "protocol/scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace kiln;
using steady = std::chrono::steady_clock;

namespace {

struct shared_state {
  std::vector<std::atomic<std::int64_t>> last_release;  ///< per device, ns since start
  std::vector<std::int64_t> latencies_ns;               ///< written by one actor at a time
  std::atomic<std::size_t> dispatched{0};
  steady::time_point start = steady::now();
  explicit shared_state(std::size_t devices) : last_release(devices) {}
  std::int64_t now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - start).count();
  }
};

/// Stands for a device: the bench's jobs never run.
device_actor::behavior_type idle_device(device_actor::pointer) {
  return {
    [](run_atom, const run_request&) -> caf::result<run_result> { return run_result{}; },
    [](cancel_atom, const std::string&) {},
    [](run_atom, std::uint64_t, const executor_outcome&) {},
    [](tick_atom, std::uint64_t) {},
    [](write_atom, std::uint64_t, const stored_outputs&) {},
  };
}

dispatch_target_actor::behavior_type bench_account(dispatch_target_actor::pointer self,
                                                   scheduler_actor scheduler,
                                                   shared_state* shared) {
  return {[=](dispatch_atom, const job_ticket& ticket, const std::string& device_id,
              const device_actor&) {
    const auto& id = ticket.job_id;
    auto device = static_cast<std::size_t>(std::stoul(device_id.substr(2)));
    auto now = shared->now();
    auto released = shared->last_release[device].load();
    auto index = shared->dispatched.fetch_add(1);
    if (released > 0 && index < shared->latencies_ns.size())
      shared->latencies_ns[index] = now - released;
    shared->last_release[device].store(shared->now());
    self->send(scheduler, release_atom::value, device_id, id, false);
  }};
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t jobs = 100000, accounts = 1000, devices = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    auto value = static_cast<std::size_t>(std::stoul(argv[i + 1]));
    if (flag == "--jobs") jobs = value;
    else if (flag == "--accounts") accounts = value;
    else if (flag == "--devices") devices = value;
  }
  if (argc % 2 == 0) {
    std::printf(
      "usage: scheduler_bench [--jobs N] [--accounts N] [--devices N]\n"
      "Times the scheduler's dispatches with N jobs queued over N accounts.\n");
    return 2;
  }
  caf::actor_system_config config;
  config.set("scheduler.max-threads", std::size_t{2});
  caf::actor_system system{config};
  system.await_actors_before_shutdown(false);
  auto scheduler = spawn_scheduler(system, scheduler_options{}, std::make_shared<system_clock>());
  shared_state shared(devices);
  shared.latencies_ns.assign(jobs, -1);

  auto rss_before = rss_kib();
  std::fprintf(stderr, "queueing %zu jobs over %zu accounts...\n", jobs, accounts);
  std::vector<dispatch_target_actor> account_actors;
  for (std::size_t a = 0; a < accounts; ++a)
    account_actors.push_back(system.spawn(bench_account, scheduler, &shared));
  for (std::size_t i = 0; i < jobs; ++i) {
    auto id = "job_" + std::to_string(i);
    job_ticket ticket{id, "acct_" + std::to_string(i % accounts), "flux2-turbo",
                      0,  account_actors[i % accounts],           {}};
    caf::anon_send(scheduler, enqueue_atom::value, std::move(ticket));
  }
  {  // wait until every ticket is queued
    caf::scoped_actor self{system};
    for (;;) {
      std::uint64_t queued = 0;
      self->request(scheduler, std::chrono::seconds(60), devices_atom::value)
        .receive([&](devices_report& r) { queued = r.queued; }, [](caf::error&) {});
      if (queued == jobs) break;
    }
  }
  auto rss_queued = rss_kib();
  std::fprintf(stderr, "queued; registering %zu one-slot devices\n", devices);
  auto device = system.spawn(idle_device);
  auto started = steady::now();
  for (std::size_t d = 0; d < devices; ++d) {
    device_view view;
    view.id = "d-" + std::to_string(d);
    view.executor = "bench";
    view.slots = 1;
    view.models = {"*"};
    device_factory restart = [device] { return device; };
    caf::anon_send(scheduler, register_atom::value, std::move(view), device, restart);
  }
  std::size_t last = 0;
  auto last_change = steady::now();
  while (shared.dispatched.load() < jobs) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto done = shared.dispatched.load();
    if (done != last) {
      last = done;
      last_change = steady::now();
    } else if (steady::now() - last_change > std::chrono::seconds(5)) {
      caf::scoped_actor self{system};
      self->request(scheduler, std::chrono::seconds(5), devices_atom::value)
        .receive(
          [&](devices_report& r) {
            std::fprintf(stderr, "stalled at %zu: queued %llu\n", done,
                         static_cast<unsigned long long>(r.queued));
            for (auto& d : r.devices)
              std::fprintf(stderr, "  %s %s busy %u\n", d.id.c_str(),
                           std::string(device_status_name(d.status)).c_str(), d.busy);
          },
          [](caf::error&) {});
      std::_Exit(1);
    }
  }
  auto seconds = std::chrono::duration<double>(steady::now() - started).count();
  std::vector<std::int64_t> latencies;
  for (auto ns : shared.latencies_ns)
    if (ns >= 0) latencies.push_back(ns);
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    if (latencies.empty()) return 0.0;
    return latencies[std::min(latencies.size() - 1,
                              static_cast<std::size_t>(p * latencies.size()))] /
           1e3;
  };
  std::printf(
    "RESULT scheduler jobs=%zu accounts=%zu devices=%zu dispatches_per_s=%.0f "
    "p50_us=%.1f p99_us=%.1f max_us=%.1f rss_queued_kib=%ld bytes_per_queued_job=%ld\n",
    jobs, accounts, devices, jobs / seconds, percentile(0.50), percentile(0.99),
    latencies.empty() ? 0.0 : latencies.back() / 1e3, rss_queued,
    static_cast<long>((rss_queued - rss_before) * 1024 / static_cast<long>(jobs)));
  std::fflush(stdout);
  std::_Exit(0);  // the scheduler holds no state worth tearing down
}
