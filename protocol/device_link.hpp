// Device links: Killa Tamata's device-link key flow (seed 001), a self-hosted way to mint a key
// without an admin. A local tool starts a link without a key and shows its user code; the user,
// signed in with a key of their own, approves it (the HTTP route mints a new key for the
// approver's account and hands it over here); the tool polls with its device code and receives
// that key exactly once. One actor per node holds the links, in memory only: a link is short-lived
// (10 minutes) and holds no credits, so a restart drops the pending ones.
#pragma once

#include "protocol/common.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

/// Where a link is. `expired` once its time is up unless it was claimed; `not_found` for a code
/// no link has (never issued, mistyped, or forgotten a while after it expired).
enum class device_link_status : std::uint8_t { pending, approved, claimed, expired, not_found };

/// "pending", "approved", "claimed", "expired", "not_found".
constexpr std::string_view device_link_status_name(device_link_status status) {
  switch (status) {
    case device_link_status::pending:
      return "pending";
    case device_link_status::approved:
      return "approved";
    case device_link_status::claimed:
      return "claimed";
    case device_link_status::expired:
      return "expired";
    case device_link_status::not_found:
      break;
  }
  return "not_found";
}

/// A link just started: what the tool keeps (the device code, secret) and what it shows (the
/// user code), how long the link lives and how often the tool should poll.
struct device_link_started {
  std::string device_code;  ///< "ktd_" + 32 hex digits
  std::string user_code;    ///< "ABCD-EFGH"
  std::string key_label;
  std::int64_t expires_in_s = 0;
  std::int64_t interval_s = 0;
};

/// A link as its user code shows it: never its key.
struct device_link_view {
  device_link_status status = device_link_status::not_found;
  std::string user_code;  ///< "ABCD-EFGH"
  std::string key_label;  ///< the label asked for at start
  std::int64_t expires_in_s = 0;
};

/// The key minted for the approver, handed to the link on approval. The account and key ids let
/// the actor revoke the key when the link expires before the tool claimed it.
struct device_link_key {
  std::string plain_key;
  std::string key_id;
  std::string key_prefix;
  std::string key_label;
  std::string account_id;
};

/// The answer to an approval: `accepted`, or the status that refused it (not_found, expired,
/// approved or claimed); a refused key is not kept, and the caller revokes it.
struct device_link_approval {
  bool accepted = false;
  device_link_status status = device_link_status::not_found;
};

/// The answer to a poll. `approved` comes once, with the key; every later poll says `claimed`.
struct device_link_poll {
  device_link_status status = device_link_status::not_found;
  std::string plain_key;   ///< only with `approved`
  std::string key_prefix;  ///< only with `approved`
  std::string key_label;
  std::int64_t expires_in_s = 0;
  std::int64_t interval_s = 0;
};

using device_link_actor = caf::typed_actor<
  /// (key label): a new pending link; unavailable while the node holds its maximum of links.
  caf::replies_to<link_start_atom, std::string>::with<device_link_started>,
  /// (user code, any case, with or without the dash): the link's status and label.
  caf::replies_to<link_status_atom, std::string>::with<device_link_view>,
  /// (user code, the key minted for the approver): approves a pending link.
  caf::replies_to<link_approve_atom, std::string, device_link_key>::with<device_link_approval>,
  /// (device code): pending, the key once (approved), claimed, expired or not_found.
  caf::replies_to<link_poll_atom, std::string>::with<device_link_poll>,
  /// The actor's own timer: forgets old links and revokes keys nobody claimed in time.
  caf::reacts_to<tick_atom>>;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::device_link_started)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::device_link_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::device_link_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::device_link_approval)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::device_link_poll)
