// The credit ledger of one account as a value: its balance, its open holds, and the decisions
// that move credits (hold, capture, release, grant). Every movement returns the ledger entry that
// records it and can be undone exactly, so a caller can apply a group of movements, try to
// commit them, and roll them back if the write fails. Pure: no actors, no storage.
#pragma once

#include "models/balance.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kiln {

enum class ledger_kind : std::uint8_t { grant, hold, capture, release };

std::string_view ledger_kind_name(ledger_kind kind);
std::optional<ledger_kind> parse_ledger_kind(std::string_view name);

struct ledger_entry {
  std::string id;         ///< "led_..."
  std::uint64_t seq = 0;  ///< per-account order; the storage key
  std::int64_t at_ms = 0;
  ledger_kind kind = ledger_kind::grant;
  std::int64_t amount = 0;  ///< positive: credits moved
  std::string job_id;       ///< empty for grants
  std::string model;        ///< the job's model (usage reports); empty for grants
  std::string reason;       ///< grants only
  std::int64_t available_after = 0;
  /// The monthly credits in this movement: a hold's part drawn from them, the part a capture
  /// used or a release gave back to them, a monthly grant's amount; 0 for purchased credits.
  std::int64_t monthly = 0;
};

/// Monthly credits: a plan's allowance is granted at each period's start as a top-up (the grant
/// brings the monthly credits left, counting those held by unfinished jobs, up to the
/// allowance; unused ones do not pile up). A hold draws on the monthly credits first and
/// remembers how many; its capture uses those first, and its release gives them back.
class credit_ledger {
public:
  credit_ledger() = default;
  /// `holds` maps job ids to the credits held for them; their sum must equal `b.held`.
  /// `monthly_holds`: of those, the monthly credits each drew (absent: none).
  credit_ledger(kiln::balance b, std::unordered_map<std::string, std::int64_t> holds,
                std::uint64_t last_seq,
                std::unordered_map<std::string, std::int64_t> monthly_holds = {});

  /// Holds `amount` for `job_id` if `available` covers it; nullopt (and nothing changed) if not.
  std::optional<ledger_entry> hold(const std::string& job_id, const std::string& model,
                                   std::int64_t amount, std::int64_t now_ms);
  /// Captures the hold of `job_id` as used; nullopt if it has no open hold (already settled).
  std::optional<ledger_entry> capture(const std::string& job_id, const std::string& model,
                                      std::int64_t now_ms);
  /// Captures `used` credits of the hold of `job_id` and releases the rest, for a run that used
  /// less than was held: a capture entry and then a release entry (only the capture when `used`
  /// covers the hold, only the release when it is 0 or less); none when it has no open hold.
  std::vector<ledger_entry> capture_partial(const std::string& job_id, const std::string& model,
                                            std::int64_t used, std::int64_t now_ms);
  /// Returns the hold of `job_id` to available; nullopt if it has no open hold.
  std::optional<ledger_entry> release(const std::string& job_id, const std::string& model,
                                      std::int64_t now_ms);
  /// Adds `amount` to granted and available.
  ledger_entry grant(std::int64_t amount, const std::string& reason, std::int64_t now_ms);
  /// The period's top-up to `allowance` monthly credits (counting those open holds drew); nullopt
  /// when nothing is missing (a grant of 0 is never written).
  std::optional<ledger_entry> top_up_monthly(std::int64_t allowance, const std::string& reason,
                                             std::int64_t now_ms);
  /// Reverts `entry`, which must be the latest movement not yet undone (asserted).
  void undo(const ledger_entry& entry);

  const kiln::balance& balance() const { return balance_; }
  bool has_hold(const std::string& job_id) const { return holds_.count(job_id) != 0; }
  std::int64_t hold_of(const std::string& job_id) const;
  /// The monthly credits the hold of `job_id` drew (0 when none or no hold).
  std::int64_t monthly_hold_of(const std::string& job_id) const;
  std::size_t open_holds() const { return holds_.size(); }
  std::uint64_t last_seq() const { return last_seq_; }
  /// granted = available + held + used, held = sum of open holds, nothing negative, and the
  /// monthly credits within what is available.
  bool consistent() const;

private:
  /// Closes the hold of `job_id` as used (capture) or back to available (release).
  std::optional<ledger_entry> settle(ledger_kind kind, const std::string& job_id,
                                     const std::string& model, std::int64_t now_ms);
  ledger_entry make_entry(ledger_kind kind, std::int64_t amount, const std::string& job_id,
                          const std::string& model, std::int64_t now_ms);
  kiln::balance balance_;
  std::unordered_map<std::string, std::int64_t> holds_;
  std::unordered_map<std::string, std::int64_t> monthly_holds_;  ///< nonzero parts only
  std::int64_t holds_total_ = 0;          ///< the sum of holds_, kept as they change
  std::int64_t monthly_holds_total_ = 0;  ///< the sum of monthly_holds_
  std::uint64_t last_seq_ = 0;
};

/// One page of ledger entries, newest first.
struct ledger_page {
  std::vector<ledger_entry> data;
  bool has_more = false;
  std::string next_cursor;
};

/// Replays entries from an empty balance; the result must equal the stored balance.
kiln::balance replay(const std::vector<ledger_entry>& entries);

}  // namespace kiln
