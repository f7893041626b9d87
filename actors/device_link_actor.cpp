// The device-link actor: pending links by device code and user code, their expiry, and the one
// hand-over of each approved key.
#include "actors/device_link_actor.hpp"

#include "models/crypto.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <iterator>
#include <optional>
#include <unordered_map>

namespace kiln {
namespace {

/// Letters no one confuses with another or a digit, and that spell no vowels (so no words).
constexpr std::string_view user_code_alphabet = "BCDFGHJKLMNPQRSTVWXZ";
constexpr std::size_t user_code_letters = 8;

struct link {
  std::string user_code;  ///< 8 letters, without the dash
  std::string key_label;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  device_link_status status = device_link_status::pending;  ///< never not_found
  std::optional<device_link_key> key;                       ///< from approval to the claim
};

struct device_link_state {
  clock_ptr clock;
  directory_actor directory;
  device_link_options options;
  /// By SHA-256 hex of the device code: the actor never keeps a device code itself.
  std::unordered_map<std::string, link> links;
  std::unordered_map<std::string, std::string> by_user_code;  ///< user code -> links' key
  std::int64_t last_sweep_ms = 0;
  static inline const char* name = "device_links";
};

using device_link_self = device_link_actor::stateful_pointer<device_link_state>;

std::string new_user_code() {
  std::string code;
  while (code.size() < user_code_letters)
    for (unsigned char byte : crypto::random_bytes(user_code_letters))
      // 240 is the largest multiple of 20 in a byte: every letter equally likely.
      if (byte < 240 && code.size() < user_code_letters)
        code += user_code_alphabet[byte % user_code_alphabet.size()];
  return code;
}

/// "ABCD-EFGH" for display.
std::string shown(const std::string& user_code) {
  return user_code.substr(0, 4) + "-" + user_code.substr(4);
}

/// A user code as typed ("abcd-efgh", "ABCD EFGH", "ABCDEFGH") in its stored form, or "" when it
/// cannot be one.
std::string normalized(std::string_view typed) {
  std::string code;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (user_code_alphabet.find(c) == std::string_view::npos) return {};
    code += c;
  }
  return code.size() == user_code_letters ? code : std::string();
}

std::int64_t seconds_left(const link& l, std::int64_t now) {
  return std::max<std::int64_t>(0, (l.expires_ms - now + 999) / 1000);
}

/// A pending or approved link whose time is up expires; a key approved but never claimed is
/// revoked, so that no key nobody holds stays active.
void expire_if_due(device_link_self self, link& l, std::int64_t now) {
  if (now < l.expires_ms ||
      (l.status != device_link_status::pending && l.status != device_link_status::approved))
    return;
  if (l.key && self->state.directory)
    caf::anon_send(self->state.directory, revoke_key_atom::value, l.key->account_id, l.key->key_id);
  l.key.reset();
  l.status = device_link_status::expired;
}

void forget(device_link_state& st, std::unordered_map<std::string, link>::iterator at) {
  st.by_user_code.erase(at->second.user_code);
  st.links.erase(at);
}

/// Expires what is due and forgets expired and claimed links past their retention; with
/// `make_room`, forgets every expired or claimed link.
void sweep(device_link_self self, std::int64_t now, bool make_room = false) {
  auto& st = self->state;
  st.last_sweep_ms = now;
  auto retention = st.options.retention.count();
  for (auto it = st.links.begin(); it != st.links.end();) {
    auto& l = it->second;
    expire_if_due(self, l, now);
    bool done = l.status == device_link_status::expired || l.status == device_link_status::claimed;
    if (done && (make_room || now >= l.expires_ms + retention)) {
      auto next = std::next(it);
      forget(st, it);
      it = next;
    } else {
      ++it;
    }
  }
}

/// Each message reads the clock once; a sweep is due every sweep_interval of the node's clock.
std::int64_t now_swept(device_link_self self) {
  auto now = self->state.clock->now_ms();
  if (now - self->state.last_sweep_ms >= self->state.options.sweep_interval.count())
    sweep(self, now);
  return now;
}

/// The link of a typed user code, expired if due; nullptr when none.
link* by_user_code(device_link_self self, const std::string& typed, std::int64_t now) {
  auto& st = self->state;
  auto code = st.by_user_code.find(normalized(typed));
  if (code == st.by_user_code.end()) return nullptr;
  auto& l = st.links.at(code->second);
  expire_if_due(self, l, now);
  return &l;
}

caf::result<device_link_started> on_start(device_link_self self, std::string& label) {
  auto& st = self->state;
  auto now = now_swept(self);
  if (st.links.size() >= st.options.max_links) sweep(self, now, true);
  if (st.links.size() >= st.options.max_links)
    return make_error(error_code::unavailable,
                      "too many device links are waiting for approval; try again in a few minutes");
  auto device_code = "ktd_" + crypto::hex(crypto::random_bytes(16));
  auto user_code = new_user_code();
  while (st.by_user_code.contains(user_code)) user_code = new_user_code();
  auto hash = crypto::sha256_hex(device_code);
  st.by_user_code[user_code] = hash;
  link& l = st.links[hash];
  l.user_code = user_code;
  l.key_label = label;
  l.created_ms = now;
  l.expires_ms = now + st.options.ttl.count();
  return device_link_started{std::move(device_code), shown(user_code), std::move(label),
                             seconds_left(l, now), st.options.interval.count()};
}

device_link_view on_status(device_link_self self, const std::string& user_code) {
  auto now = now_swept(self);
  auto* l = by_user_code(self, user_code, now);
  if (!l) return {};
  return device_link_view{l->status, shown(l->user_code), l->key_label, seconds_left(*l, now)};
}

device_link_approval on_approve(device_link_self self, const std::string& user_code,
                                device_link_key& key) {
  auto now = now_swept(self);
  auto* l = by_user_code(self, user_code, now);
  if (!l) return {};
  if (l->status != device_link_status::pending) return device_link_approval{false, l->status};
  l->status = device_link_status::approved;
  l->key = std::move(key);
  return device_link_approval{true, l->status};
}

device_link_poll on_poll(device_link_self self, const std::string& device_code) {
  auto& st = self->state;
  auto now = now_swept(self);
  auto found = st.links.find(crypto::sha256_hex(device_code));
  if (found == st.links.end()) return {};
  auto& l = found->second;
  expire_if_due(self, l, now);
  device_link_poll answer;
  answer.status = l.status;
  answer.key_label = l.key ? l.key->key_label : l.key_label;
  answer.expires_in_s = seconds_left(l, now);
  answer.interval_s = st.options.interval.count();
  if (l.status == device_link_status::approved) {
    // The one hand-over: the key leaves the actor with this answer.
    answer.plain_key = std::move(l.key->plain_key);
    answer.key_prefix = std::move(l.key->key_prefix);
    l.key.reset();
    l.status = device_link_status::claimed;
  }
  return answer;
}

device_link_actor::behavior_type device_links(device_link_self self, clock_ptr clock,
                                              directory_actor directory,
                                              device_link_options options) {
  auto& st = self->state;
  st.clock = std::move(clock);
  st.directory = std::move(directory);
  st.options = options;
  st.last_sweep_ms = st.clock->now_ms();
  self->delayed_send(self, st.options.sweep_interval, tick_atom::value);
  return {
    [=](link_start_atom, std::string& label) { return on_start(self, label); },
    [=](link_status_atom, const std::string& user_code) { return on_status(self, user_code); },
    [=](link_approve_atom, const std::string& user_code, device_link_key& key) {
      return on_approve(self, user_code, key);
    },
    [=](link_poll_atom, const std::string& device_code) { return on_poll(self, device_code); },
    [=](tick_atom) {
      sweep(self, self->state.clock->now_ms());
      self->delayed_send(self, self->state.options.sweep_interval, tick_atom::value);
    },
  };
}

}  // namespace

device_link_actor spawn_device_links(caf::actor_system& system, clock_ptr clock,
                                     directory_actor directory, device_link_options options) {
  return system.spawn(device_links, std::move(clock), std::move(directory), options);
}

}  // namespace kiln
