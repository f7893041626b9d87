// Credit movements, their undo, and replay from zero.
#include "models/ledger.hpp"

#include "base/assert.hpp"
#include "models/crypto.hpp"

#include <algorithm>
#include <vector>

namespace kiln {
namespace {
constexpr std::string_view kind_names[] = {"grant", "hold", "capture", "release"};
}

std::string_view ledger_kind_name(ledger_kind kind) {
  return kind_names[static_cast<std::size_t>(kind)];
}

std::optional<ledger_kind> parse_ledger_kind(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kind_names); ++i)
    if (kind_names[i] == name) return static_cast<ledger_kind>(i);
  return std::nullopt;
}

credit_ledger::credit_ledger(kiln::balance b, std::unordered_map<std::string, std::int64_t> holds,
                             std::uint64_t last_seq,
                             std::unordered_map<std::string, std::int64_t> monthly_holds)
  : balance_(b), holds_(std::move(holds)), last_seq_(last_seq) {
  for (const auto& [job, amount] : holds_) holds_total_ += amount;
  for (auto& [job, part] : monthly_holds)
    if (part > 0 && holds_.count(job)) {
      monthly_holds_total_ += part;
      monthly_holds_.emplace(job, part);
    }
}

namespace {
/// Takes the monthly part of a hold out of `parts`: the part, or 0.
std::int64_t take_part(std::unordered_map<std::string, std::int64_t>& parts, std::int64_t& total,
                       const std::string& job_id) {
  auto it = parts.find(job_id);
  if (it == parts.end()) return 0;
  auto part = it->second;
  parts.erase(it);
  total -= part;
  return part;
}
/// Gives a hold back its monthly part (undo).
void give_part(std::unordered_map<std::string, std::int64_t>& parts, std::int64_t& total,
               const std::string& job_id, std::int64_t part) {
  if (part <= 0) return;
  parts[job_id] += part;
  total += part;
}
}  // namespace

ledger_entry credit_ledger::make_entry(ledger_kind kind, std::int64_t amount,
                                       const std::string& job_id, const std::string& model,
                                       std::int64_t now_ms) {
  ledger_entry entry;
  entry.id = crypto::make_id("led_", now_ms);
  entry.seq = ++last_seq_;
  entry.at_ms = now_ms;
  entry.kind = kind;
  entry.amount = amount;
  entry.job_id = job_id;
  entry.model = model;
  entry.available_after = balance_.available;
  return entry;
}

std::optional<ledger_entry> credit_ledger::hold(const std::string& job_id, const std::string& model,
                                                std::int64_t amount, std::int64_t now_ms) {
  if (amount <= 0 || balance_.available < amount || holds_.count(job_id)) return std::nullopt;
  auto part = std::min(amount, balance_.monthly);  // monthly credits are spent first
  balance_.available -= amount;
  balance_.held += amount;
  balance_.monthly -= part;
  holds_.emplace(job_id, amount);
  holds_total_ += amount;
  give_part(monthly_holds_, monthly_holds_total_, job_id, part);
  auto entry = make_entry(ledger_kind::hold, amount, job_id, model, now_ms);
  entry.monthly = part;
  return entry;
}

std::optional<ledger_entry> credit_ledger::capture(const std::string& job_id,
                                                   const std::string& model, std::int64_t now_ms) {
  return settle(ledger_kind::capture, job_id, model, now_ms);
}

std::vector<ledger_entry> credit_ledger::capture_partial(const std::string& job_id,
                                                         const std::string& model,
                                                         std::int64_t used, std::int64_t now_ms) {
  std::vector<ledger_entry> entries;
  auto it = holds_.find(job_id);
  if (it == holds_.end()) return entries;
  auto held = it->second;
  if (used >= held) entries.push_back(*settle(ledger_kind::capture, job_id, model, now_ms));
  else if (used <= 0) entries.push_back(*settle(ledger_kind::release, job_id, model, now_ms));
  else {
    // The used part is captured, then the rest released: two entries, each with the balance
    // after it, which undo reverses one at a time.
    // The monthly credits the hold drew are used first; the rest of them go back.
    holds_.erase(it);
    holds_total_ -= held;
    auto part = take_part(monthly_holds_, monthly_holds_total_, job_id);
    auto consumed = std::min(used, part);
    balance_.held -= used;
    balance_.used += used;
    entries.push_back(make_entry(ledger_kind::capture, used, job_id, model, now_ms));
    entries.back().monthly = consumed;
    balance_.held -= held - used;
    balance_.available += held - used;
    balance_.monthly += part - consumed;
    entries.push_back(make_entry(ledger_kind::release, held - used, job_id, model, now_ms));
    entries.back().monthly = part - consumed;
  }
  return entries;
}

std::optional<ledger_entry> credit_ledger::release(const std::string& job_id,
                                                   const std::string& model, std::int64_t now_ms) {
  return settle(ledger_kind::release, job_id, model, now_ms);
}

std::optional<ledger_entry> credit_ledger::settle(ledger_kind kind, const std::string& job_id,
                                                  const std::string& model, std::int64_t now_ms) {
  auto it = holds_.find(job_id);
  if (it == holds_.end()) return std::nullopt;
  auto amount = it->second;
  holds_.erase(it);
  holds_total_ -= amount;
  auto part = take_part(monthly_holds_, monthly_holds_total_, job_id);
  balance_.held -= amount;
  (kind == ledger_kind::capture ? balance_.used : balance_.available) += amount;
  if (kind == ledger_kind::release) balance_.monthly += part;
  auto entry = make_entry(kind, amount, job_id, model, now_ms);
  entry.monthly = part;
  return entry;
}

ledger_entry credit_ledger::grant(std::int64_t amount, const std::string& reason,
                                  std::int64_t now_ms) {
  balance_.granted += amount;
  balance_.available += amount;
  auto entry = make_entry(ledger_kind::grant, amount, {}, {}, now_ms);
  entry.reason = reason;
  return entry;
}

std::optional<ledger_entry> credit_ledger::top_up_monthly(std::int64_t allowance,
                                                          const std::string& reason,
                                                          std::int64_t now_ms) {
  auto missing = allowance - balance_.monthly - monthly_holds_total_;
  if (missing <= 0) return std::nullopt;
  balance_.monthly += missing;
  auto entry = grant(missing, reason, now_ms);
  entry.monthly = missing;
  return entry;
}

void credit_ledger::undo(const ledger_entry& entry) {
  KILN_ASSERT_MSG(entry.seq == last_seq_, "movements are undone newest first");
  switch (entry.kind) {
    case ledger_kind::grant:
      balance_.granted -= entry.amount;
      balance_.available -= entry.amount;
      balance_.monthly -= entry.monthly;
      break;
    case ledger_kind::hold: {
      auto it = holds_.find(entry.job_id);
      KILN_ASSERT_MSG(it != holds_.end() && it->second == entry.amount, "an undone hold is open");
      holds_.erase(it);
      holds_total_ -= entry.amount;
      take_part(monthly_holds_, monthly_holds_total_, entry.job_id);
      balance_.held -= entry.amount;
      balance_.available += entry.amount;
      balance_.monthly += entry.monthly;
      break;
    }
    case ledger_kind::capture:
    case ledger_kind::release: {
      // A partial capture's two entries reopen one hold between them (release first).
      holds_[entry.job_id] += entry.amount;
      holds_total_ += entry.amount;
      give_part(monthly_holds_, monthly_holds_total_, entry.job_id, entry.monthly);
      (entry.kind == ledger_kind::capture ? balance_.used : balance_.available) -= entry.amount;
      if (entry.kind == ledger_kind::release) balance_.monthly -= entry.monthly;
      balance_.held += entry.amount;
      break;
    }
  }
  --last_seq_;
}

std::int64_t credit_ledger::hold_of(const std::string& job_id) const {
  auto it = holds_.find(job_id);
  return it == holds_.end() ? 0 : it->second;
}

std::int64_t credit_ledger::monthly_hold_of(const std::string& job_id) const {
  auto it = monthly_holds_.find(job_id);
  return it == monthly_holds_.end() ? 0 : it->second;
}

bool credit_ledger::consistent() const {
  // The open holds are summed as they change (O(1) here); under verification they are summed
  // again from scratch.
  KILN_VERIFY(holds_total_ == [&] {
    std::int64_t sum = 0;
    for (const auto& [job, amount] : holds_) sum += amount;
    return sum;
  }());
  KILN_VERIFY(monthly_holds_total_ == [&] {
    std::int64_t sum = 0;
    for (const auto& [job, part] : monthly_holds_) sum += part;
    return sum;
  }());
  return balance_.granted == balance_.available + balance_.held + balance_.used &&
         balance_.held == holds_total_ && balance_.available >= 0 && balance_.held >= 0 &&
         balance_.used >= 0 && balance_.monthly >= 0 && balance_.monthly <= balance_.available &&
         monthly_holds_total_ <= holds_total_;
}

kiln::balance replay(const std::vector<ledger_entry>& entries) {
  kiln::balance b;
  for (const auto& e : entries) {
    switch (e.kind) {
      case ledger_kind::grant:
        b.granted += e.amount;
        b.available += e.amount;
        b.monthly += e.monthly;
        break;
      case ledger_kind::hold:
        b.available -= e.amount;
        b.held += e.amount;
        b.monthly -= e.monthly;
        break;
      case ledger_kind::capture:
        b.held -= e.amount;
        b.used += e.amount;
        break;
      case ledger_kind::release:
        b.held -= e.amount;
        b.available += e.amount;
        b.monthly += e.monthly;
        break;
    }
  }
  return b;
}

}  // namespace kiln
