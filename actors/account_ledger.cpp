// Group commit of one account's credit movements; see the header.
#include "actors/account_ledger.hpp"

#include "base/assert.hpp"
#include "config/limits.hpp"
#include "models/crypto.hpp"
#include "persistence/records.hpp"

namespace kiln {

idempotency_record binding_of(const movement& m, const ledger_entry* entry,
                              std::int64_t expires_at_ms) {
  idempotency_record binding;
  binding.fingerprint = m.claim.fingerprint;
  binding.expires_at_ms = expires_at_ms;
  if (m.what == movement::kind::submit) binding.created = m.record;
  else binding.granted = *entry;
  return binding;
}

account_ledger::account_ledger(account record, credit_ledger ledger, std::uint64_t last_job_seq,
                               options opts)
  : record_(std::move(record)),
    durable_(record_.balance),
    ledger_(std::move(ledger)),
    options_(opts),
    next_seq_(last_job_seq + 1) {
  KILN_ASSERT_MSG(ledger_.balance() == record_.balance, "the ledger starts at the stored balance");
}

void account_ledger::add(movement m) { waiting_.push_back(std::move(m)); }

bool account_ledger::can_start() const {
  return !waiting_.empty() && in_flight_.size() < limits::ledger_groups_in_flight_max;
}

void account_ledger::bind_key(const movement& m, write_batch& batch, const ledger_entry* entry,
                              std::int64_t now_ms) const {
  if (m.claim.key.empty()) return;
  records::bind_idempotency_key(batch, record_.id, m.claim.key,
                                binding_of(m, entry, now_ms + options_.idempotency_ttl_ms));
}

caf::error account_ledger::apply(movement& m, write_batch& batch,
                                 std::optional<ledger_entry>& entry,
                                 std::optional<ledger_entry>& remainder, std::int64_t now_ms) {
  switch (m.what) {
    case movement::kind::submit: {
      // A test job moves no credits: no hold (so no ledger entry, and never refused for
      // credits); its settlement then finds no hold and writes only the job's own records.
      if (!m.record.spec.livemode) {
        KILN_ASSERT_MSG(m.record.credits_held == 0, "a test job holds nothing");
      } else {
        entry = ledger_.hold(m.record.id, m.record.spec.model, m.record.spec.cost, now_ms);
        if (!entry)
          return make_error(error_code::insufficient_credits,
                            "the job costs " + std::to_string(m.record.spec.cost) + " credits; " +
                              std::to_string(ledger_.balance().available) + " are available");
      }
      m.record.seq = next_seq_++;
      m.record.credits_held_monthly = entry ? entry->monthly : 0;
      records::put_job(batch, m.record, nullptr);
      break;
    }
    case movement::kind::settle: {
      auto& s = m.settlement;
      if (!s.capture) entry = ledger_.release(s.job_id, s.model, now_ms);
      else if (s.used < 0) entry = ledger_.capture(s.job_id, s.model, now_ms);
      else {  // the run used less than was held: capture that, release the rest
        auto entries = ledger_.capture_partial(s.job_id, s.model, s.used, now_ms);
        if (!entries.empty()) entry = entries.front();
        if (entries.size() > 1) remainder = entries.back();
      }
      // No entry: the hold was settled before, and is never settled twice. The job's own
      // writes (its terminal record, events, delivery) go in either way.
      for (auto& op : m.settlement.writes.ops) batch.ops.push_back(std::move(op));
      break;
    }
    case movement::kind::grant:
      entry = ledger_.grant(m.amount, m.reason, now_ms);
      break;
    case movement::kind::monthly:
      if (!record_.monthly_period.empty() && m.reason <= record_.monthly_period)
        return make_error(error_code::invalid_request,
                          "the monthly credits of " + m.reason + " were granted already");
      // Nothing may be missing (the allowance is left over, or held by unfinished jobs): the
      // period is still recorded as granted, with no entry.
      entry = ledger_.top_up_monthly(m.amount, "monthly credits " + m.reason, now_ms);
      record_.monthly_period = m.reason;
      break;
    case movement::kind::rotate:
      record_.previous_webhook_secret = record_.webhook_secret;
      record_.previous_secret_until_ms = now_ms + options_.secret_rotation_window_ms;
      record_.webhook_secret = crypto::make_webhook_secret();
      return {};  // the account record is written with every group
  }
  for (const auto* written : {&entry, &remainder})
    if (*written)
      batch.put(column::ledger, records::ledger_key(record_.id, (*written)->seq),
                records::encode(**written));
  bind_key(m, batch, entry ? &*entry : nullptr, now_ms);
  return {};
}

std::optional<group_batch> account_ledger::start_group(std::int64_t now_ms,
                                                       std::vector<refused_movement>& refused) {
  if (!can_start()) return std::nullopt;
  auto waiting = std::move(waiting_);
  waiting_.clear();
  group g;
  g.id = next_group_id_++;
  g.seq_before = next_seq_;
  g.record_before = record_;
  write_batch batch;
  for (auto& m : waiting) {
    std::optional<ledger_entry> entry, remainder;
    if (auto why = apply(m, batch, entry, remainder, now_ms)) {
      refused.push_back({std::move(m), std::move(why)});
      continue;
    }
    g.movements.push_back(std::move(m));
    g.entries.push_back(std::move(entry));
    g.remainders.push_back(std::move(remainder));
  }
  if (g.movements.empty()) return std::nullopt;
  KILN_ASSERT_MSG(ledger_.consistent(), "granted = available + held + used after every group");
  record_.balance = g.balance_after = ledger_.balance();
  record_.last_job_seq = next_seq_ - 1;
  batch.put(column::accounts, record_.id, records::encode(record_));
  batch.after = last_token_;
  batch.token = last_token_ = std::make_shared<commit_token>();
  auto id = g.id;
  in_flight_.push_back(std::move(g));
  return group_batch{id, std::move(batch)};
}

std::vector<landed_movement> account_ledger::written(std::uint64_t id) {
  // The store writes an account's groups in order and drops every group after a failed one, so
  // a group reported written is always the oldest in flight.
  KILN_ASSERT_MSG(!in_flight_.empty() && in_flight_.front().id == id,
                  "groups land in the order they were sent");
  auto g = std::move(in_flight_.front());
  in_flight_.pop_front();
  durable_ = g.balance_after;
  std::vector<landed_movement> landed;
  for (std::size_t i = 0; i < g.movements.size(); ++i)
    landed.push_back({std::move(g.movements[i]), std::move(g.entries[i])});
  return landed;
}

std::vector<movement> account_ledger::failed(std::uint64_t id) {
  bool known = false;
  for (const auto& g : in_flight_) known = known || g.id == id;
  if (!known) return {};  // undone with an earlier group
  // Newest first: each movement's remainder before its entry.
  for (auto g = in_flight_.rbegin(); g != in_flight_.rend(); ++g)
    for (auto i = g->entries.size(); i-- > 0;) {
      if (g->remainders[i]) ledger_.undo(*g->remainders[i]);
      if (g->entries[i]) ledger_.undo(*g->entries[i]);
    }
  next_seq_ = in_flight_.front().seq_before;
  auto balance = ledger_.balance();
  record_ = in_flight_.front().record_before;  // undoes rotations too
  KILN_ASSERT_MSG(balance == record_.balance, "undoing every group restores the durable balance");
  KILN_ASSERT(ledger_.consistent());
  std::vector<movement> undone;
  for (auto& g : in_flight_)
    for (auto& m : g.movements) undone.push_back(std::move(m));
  in_flight_.clear();
  last_token_ = nullptr;
  return undone;
}

account account_ledger::shown() const {
  auto shown = record_;
  shown.balance = durable_;
  return shown;
}

}  // namespace kiln
