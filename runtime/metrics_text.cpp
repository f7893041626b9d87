// Prometheus text for GET /metrics.
#include "runtime/metrics_text.hpp"

#include "base/metrics.hpp"
#include "persistence/store.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace kiln {
namespace {

/// Resident set size from /proc/self/statm: one small read, no allocator locks (mallinfo2 walks
/// every arena's free lists under its lock, which stalled allocating threads at 10 scrapes/s).
std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

std::string metrics_text(const store& db, std::size_t http_in_flight) {
  auto stats = db.stats();
  std::ostringstream out;
  out << "# TYPE kiln_store_batches_total counter\nkiln_store_batches_total " << stats.batches
      << "\n# TYPE kiln_store_syncs_total counter\nkiln_store_syncs_total " << stats.groups
      << "\n# TYPE kiln_store_failures_total counter\nkiln_store_failures_total " << stats.failures
      << "\n# TYPE kiln_http_in_flight gauge\nkiln_http_in_flight " << http_in_flight
      << "\n# TYPE kiln_rocksdb_memtable_bytes gauge\n"
      << "kiln_rocksdb_memtable_bytes " << stats.memtable_bytes
      << "\n# TYPE kiln_rocksdb_block_cache_bytes gauge\nkiln_rocksdb_block_cache_bytes "
      << stats.block_cache_bytes << "\n# TYPE process_resident_memory_bytes gauge\n"
      << "process_resident_memory_bytes " << resident_bytes() << "\n";
  const auto& jobs = metrics::global();
  out << "# TYPE kiln_jobs_created_total counter\nkiln_jobs_created_total " << jobs.jobs_created
      << "\n# TYPE kiln_jobs_succeeded_total counter\nkiln_jobs_succeeded_total "
      << jobs.jobs_succeeded << "\n# TYPE kiln_jobs_failed_total counter\nkiln_jobs_failed_total "
      << jobs.jobs_failed << "\n# TYPE kiln_job_attempts_failed_total counter\n"
      << "kiln_job_attempts_failed_total " << jobs.job_attempts_failed
      << "\n# TYPE kiln_idempotent_replays_total counter\nkiln_idempotent_replays_total "
      << jobs.idempotent_replays << "\n# TYPE kiln_idempotency_keys_expired_total counter\n"
      << "kiln_idempotency_keys_expired_total " << jobs.idempotency_keys_expired
      << "\n# TYPE kiln_webhook_attempts_total counter\nkiln_webhook_attempts_total "
      << jobs.webhook_attempts
      << "\n# TYPE kiln_webhooks_delivered_total counter\nkiln_webhooks_delivered_total "
      << jobs.webhooks_delivered
      << "\n# TYPE kiln_webhooks_failed_total counter\nkiln_webhooks_failed_total "
      << jobs.webhooks_failed << "\n# TYPE kiln_job_actors gauge\nkiln_job_actors "
      << jobs.job_actors << "\n";
  return out.str();
}

}  // namespace kiln
