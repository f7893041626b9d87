// Webhook targets: parsing a webhook_url, the table of addresses a webhook must never reach
// (server-side request forgery defence), an asynchronous resolver with timeouts, and the
// submit-time check built from them. Asio stays inside webhook_target.cpp.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::outbound {

/// A parsed absolute http(s) URL.
struct target {
  std::string scheme;          ///< "http" or "https", lower case
  std::string host;            ///< lower case; an IPv6 literal without its brackets
  std::uint16_t port = 0;      ///< the scheme's default (80 / 443) when the URL names none
  std::string path_and_query;  ///< the request target: starts with '/', fragment removed
};

/// Parses `url`. Refused (nullopt): schemes other than http/https, relative URLs, a missing host,
/// userinfo ("user@host"), whitespace, control or non-ASCII bytes, a port outside 1..65535 or an
/// empty one, IPv6 zone ids, a numeric host that is not a canonical dotted quad ("127.1",
/// "0x7f.0.0.1", "010.0.0.1", "2130706433": resolvers read those as IPv4 in surprising ways),
/// and URLs longer than limits::webhook_url_bytes_max. The fragment is dropped, an empty path
/// becomes "/", and bytes not allowed in a request target ('"', '<', '{', '|', ...) are
/// percent-encoded; existing %XX escapes are kept as they are.
std::optional<target> parse_url(std::string_view url);

/// The Host header value: host (IPv6 in brackets) plus ":port" when it is not the default.
std::string host_header(const target& t);
/// "scheme://host:port" (IPv6 in brackets): what the webhook client queues and limits by.
std::string endpoint_key(const target& t);
/// Whether `url` may receive a test key's webhooks (webhooks.test_targets): an entry of `allowed`
/// names its host, "host" for any port or "host:port" for that port only (the URL's port, or its
/// scheme's default), an IPv6 host in brackets ("[::1]:9000"); hosts compare without case. A URL
/// that does not parse is never allowed, and an empty list allows none.
bool is_test_target(const std::vector<std::string>& allowed, std::string_view url);
/// "localhost", "localhost." and names under ".localhost", which RFC 6761 reserves for loopback.
bool is_localhost_name(std::string_view host);
/// True when `host` is an IPv4 or IPv6 literal (without brackets).
bool is_ip_literal(std::string_view host);

/// Why a webhook must not reach an address: "loopback", "private", "link-local",
/// "cloud metadata", "unspecified", "multicast", "shared (CGNAT)", "this network", "broadcast",
/// "reserved", "benchmarking", "protocol assignments", "site-local", "discard", "ipv4-compatible",
/// "ipv4-mapped <v4 reason>", "nat64 <v4 reason>", "6to4 <v4 reason>"; "" when it may.
/// IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::) addresses
/// are judged by the IPv4 address inside them.
std::string forbidden_reason_v4(const std::array<std::uint8_t, 4>& address);
std::string forbidden_reason_v6(const std::array<std::uint8_t, 16>& address);
/// The same for a textual literal ("10.1.2.3", "::1", "fe80::1%eth0"); a string that is not an
/// address at all gives "not an address", which is forbidden too.
std::string forbidden_reason(std::string_view ip);
inline bool is_forbidden_address(std::string_view ip) { return !forbidden_reason(ip).empty(); }

/// What resolver_pool::resolve found.
struct resolve_result {
  std::vector<std::string> addresses;  ///< textual, without duplicates, in resolver order
  std::string error;  ///< "timeout", "host not found", "stopped", ... ; empty on success
};

/// Asynchronous name resolution with a timeout per lookup. Asio runs getaddrinfo for one
/// io_context on a single background thread, so one slow lookup would hold up every other;
/// the pool spreads lookups over `lanes` io_contexts, each picked by fewest lookups in progress.
/// IP literals and localhost names are answered without DNS (localhost: 127.0.0.1 and ::1).
class resolver_pool {
public:
  explicit resolver_pool(std::uint32_t lanes = 2);
  /// Calls stop().
  ~resolver_pool();
  resolver_pool(const resolver_pool&) = delete;
  resolver_pool& operator=(const resolver_pool&) = delete;

  /// Calls `done` exactly once, on a pool thread. After stop() has begun it is called with
  /// error "stopped" (on the calling thread if the pool threads are gone).
  void resolve(const std::string& host, std::chrono::milliseconds timeout,
               std::function<void(resolve_result)> done);
  /// Runs `fn` on a pool thread (on the calling thread after stop()).
  void post(std::function<void()> fn);
  /// Completes lookups in progress with "stopped" and joins the threads. A getaddrinfo call
  /// that is already running cannot be interrupted: stop() waits for it to return. Must not be
  /// called from a pool thread (a `done` callback).
  void stop();

  struct impl;  ///< asio state, defined in webhook_target.cpp

private:
  std::unique_ptr<impl> impl_;
};

/// The submit-time check of a webhook_url: parses it, resolves its host (IP literals and
/// localhost names without DNS) and calls `done` once, on a pool thread, with nullopt when the
/// URL may be used or with the reason to refuse it: not a valid http(s) URL, or (unless
/// allow_private) ANY resolved address that is forbidden_reason(). A host that does not resolve
/// within `timeout` is let through. Delivery must check again after its own lookup: DNS may
/// change between, and a name may only resolve later.
void check_target(resolver_pool& pool, const std::string& url, bool allow_private,
                  std::function<void(std::optional<std::string> refusal_reason)> done,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

}  // namespace kiln::outbound
