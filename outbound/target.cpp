// webhook_url parsing, the forbidden-address table, the resolver pool (asio async_resolve plus a
// steady_timer per lookup) and the submit-time check.
#include "outbound/target.hpp"

#include "config/limits.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

namespace kiln::outbound {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------------------------------------
// URL parsing

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string lowered(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = lower(c);
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool parse_ipv4(std::string_view text, std::array<std::uint8_t, 4>& out) {
  if (text.size() > 15) return false;
  std::string copy(text);
  return ::inet_pton(AF_INET, copy.c_str(), out.data()) == 1;  // strict: no "127.1", no "010"
}

bool parse_ipv6(std::string_view text, std::array<std::uint8_t, 16>& out) {
  if (text.size() > 45) return false;
  std::string copy(text);
  return ::inet_pton(AF_INET6, copy.c_str(), out.data()) == 1;
}

/// Characters RFC 3986 allows in a path or query as they are (unreserved, sub-delims, ':', '@',
/// '/', '?') plus '%', kept so that existing escapes pass through.
bool is_target_char(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::strchr("-._~!$&'()*+,;=:@/?%", c) != nullptr && c != '\0';
}

/// A DNS name: letters, digits, '-', '_' and dots; labels of 1..63 bytes, 253 in all, one
/// trailing dot allowed. A name whose last label is numeric must be a canonical dotted quad.
bool valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 254) return false;
  std::string_view name = host;
  if (name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  std::string_view last;
  while (true) {
    auto dot = name.find('.', start);
    auto label =
      name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    for (char c : label)
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return false;
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  bool numeric_last = std::all_of(last.begin(), last.end(), is_digit) ||
                      (last.size() >= 2 && last[0] == '0' && lower(last[1]) == 'x');
  if (numeric_last) {
    std::array<std::uint8_t, 4> ignored{};
    return host.back() != '.' && parse_ipv4(host, ignored);
  }
  return true;
}

}  // namespace

std::optional<target> parse_url(std::string_view url) {
  if (url.empty() || url.size() > limits::webhook_url_bytes_max) return std::nullopt;
  for (char c : url) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return std::nullopt;  // whitespace, controls, non-ASCII
  }
  if (auto hash = url.find('#'); hash != std::string_view::npos) url = url.substr(0, hash);

  auto separator = url.find("://");
  if (separator == std::string_view::npos) return std::nullopt;
  target out;
  out.scheme = lowered(url.substr(0, separator));
  if (out.scheme == "http") out.port = 80;
  else if (out.scheme == "https") out.port = 443;
  else return std::nullopt;

  auto rest = url.substr(separator + 3);
  auto authority_end = rest.find_first_of("/?");
  auto authority = rest.substr(0, authority_end);
  auto path =
    authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view port_text;
  bool has_port = false;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto literal = authority.substr(1, close - 1);
    std::array<std::uint8_t, 16> ignored{};
    if (!parse_ipv6(literal, ignored)) return std::nullopt;  // also refuses "%zone"
    out.host = lowered(literal);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    auto host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (!valid_host_name(host)) return std::nullopt;
    out.host = lowered(host);
  }
  if (has_port) {
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(), is_digit))
      return std::nullopt;
    unsigned long port = std::stoul(std::string(port_text));
    if (port == 0 || port > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(port);
  }

  static constexpr char hex_digits[] = "0123456789ABCDEF";
  out.path_and_query.reserve(path.size() + 1);
  if (path.empty() || path.front() == '?') out.path_and_query.push_back('/');
  for (char c : path) {
    if (is_target_char(c)) {
      out.path_and_query.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      out.path_and_query.push_back('%');
      out.path_and_query.push_back(hex_digits[byte >> 4]);
      out.path_and_query.push_back(hex_digits[byte & 15]);
    }
  }
  return out;
}

std::string host_header(const target& t) {
  bool v6 = t.host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + t.host + "]" : t.host;
  bool default_port =
    (t.scheme == "http" && t.port == 80) || (t.scheme == "https" && t.port == 443);
  if (!default_port) out += ":" + std::to_string(t.port);
  return out;
}

std::string endpoint_key(const target& t) {
  bool v6 = t.host.find(':') != std::string::npos;
  return t.scheme + "://" + (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
}

bool is_localhost_name(std::string_view host) {
  std::string name = lowered(host);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name == "localhost" || name.ends_with(".localhost");
}

bool is_ip_literal(std::string_view host) {
  std::array<std::uint8_t, 4> v4{};
  std::array<std::uint8_t, 16> v6{};
  return parse_ipv4(host, v4) || parse_ipv6(host, v6);
}

// ---------------------------------------------------------------------------------------------
// Forbidden addresses

namespace {

struct v4_range {
  std::uint32_t base;
  int prefix;
  const char* reason;
};

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// Checked in order: the first match names the reason, so narrower ranges come first.
constexpr v4_range forbidden_v4[] = {
  {v4(0, 0, 0, 0), 32, "unspecified"},
  {v4(0, 0, 0, 0), 8, "this network"},
  {v4(10, 0, 0, 0), 8, "private"},
  {v4(100, 64, 0, 0), 10, "shared (CGNAT)"},
  {v4(127, 0, 0, 0), 8, "loopback"},
  {v4(169, 254, 169, 254), 32, "cloud metadata"},
  {v4(169, 254, 0, 0), 16, "link-local"},
  {v4(172, 16, 0, 0), 12, "private"},
  {v4(192, 0, 0, 0), 24, "protocol assignments"},
  {v4(192, 168, 0, 0), 16, "private"},
  {v4(198, 18, 0, 0), 15, "benchmarking"},
  {v4(224, 0, 0, 0), 4, "multicast"},
  {v4(255, 255, 255, 255), 32, "broadcast"},
  {v4(240, 0, 0, 0), 4, "reserved"},
};

bool in_v4_range(std::uint32_t address, const v4_range& range) {
  std::uint32_t mask = range.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - range.prefix);
  return (address & mask) == (range.base & mask);
}

/// The first `bits` bits of `address` equal those of `prefix`.
bool has_prefix(const std::array<std::uint8_t, 16>& address,
                std::initializer_list<std::uint8_t> prefix, int bits) {
  int index = 0;
  for (std::uint8_t byte : prefix) {
    int take = std::min(8, bits - index * 8);
    if (take <= 0) break;
    auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
    if ((address[static_cast<std::size_t>(index)] & mask) != (byte & mask)) return false;
    ++index;
  }
  return true;
}

std::array<std::uint8_t, 4> embedded_v4(const std::array<std::uint8_t, 16>& address,
                                        std::size_t offset) {
  return {address[offset], address[offset + 1], address[offset + 2], address[offset + 3]};
}

std::string prefixed(const char* kind, const std::string& v4_reason) {
  return v4_reason.empty() ? std::string() : std::string(kind) + " " + v4_reason;
}

}  // namespace

std::string forbidden_reason_v4(const std::array<std::uint8_t, 4>& address) {
  std::uint32_t value = v4(address[0], address[1], address[2], address[3]);
  for (const auto& range : forbidden_v4)
    if (in_v4_range(value, range)) return range.reason;
  return {};
}

std::string forbidden_reason_v6(const std::array<std::uint8_t, 16>& a) {
  static const std::array<std::uint8_t, 16> unspecified{};
  static const std::array<std::uint8_t, 16> loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
  if (a == unspecified) return "unspecified";
  if (a == loopback) return "loopback";
  // ::ffff:0:0/96, IPv4-mapped: the IPv4 address decides.
  if (has_prefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96))
    return prefixed("ipv4-mapped", forbidden_reason_v4(embedded_v4(a, 12)));
  // ::/96, the deprecated IPv4-compatible form: nothing legitimate lives there.
  if (has_prefix(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) return "ipv4-compatible";
  // 64:ff9b::/96, NAT64 well-known prefix: a translator would forward to the IPv4 inside.
  if (has_prefix(a, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96))
    return prefixed("nat64", forbidden_reason_v4(embedded_v4(a, 12)));
  // ::/8, reserved by the IETF (the rest of it, local-use NAT64 64:ff9b:1::/48 included).
  if (has_prefix(a, {0}, 8)) return "reserved";
  // 2002::/16, 6to4: the relay's IPv4 address follows the prefix.
  if (has_prefix(a, {0x20, 0x02}, 16))
    return prefixed("6to4", forbidden_reason_v4(embedded_v4(a, 2)));
  if (has_prefix(a, {0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64)) return "discard";
  if (has_prefix(a, {0xfc}, 7)) return "private";
  if (has_prefix(a, {0xfe, 0x80}, 10)) return "link-local";
  if (has_prefix(a, {0xfe, 0xc0}, 10)) return "site-local";
  if (has_prefix(a, {0xff}, 8)) return "multicast";
  return {};
}

std::string forbidden_reason(std::string_view ip) {
  std::array<std::uint8_t, 4> address4{};
  if (parse_ipv4(ip, address4)) return forbidden_reason_v4(address4);
  // A zone id ("fe80::1%eth0") only ever comes with link-local or multicast scopes; the
  // address before it decides.
  std::array<std::uint8_t, 16> address6{};
  if (parse_ipv6(ip.substr(0, ip.find('%')), address6)) return forbidden_reason_v6(address6);
  return "not an address";
}

// ---------------------------------------------------------------------------------------------
// Resolver pool

namespace {

struct lane;

/// One lookup in progress; lives on its lane's thread only.
struct lookup : std::enable_shared_from_this<lookup> {
  lookup(lane& owner, net::io_context& io, std::function<void(resolve_result)> done)
    : owner(owner), resolver(io), timer(io), done(std::move(done)) {}

  void finish(resolve_result result);

  lane& owner;
  tcp::resolver resolver;
  net::steady_timer timer;
  std::function<void(resolve_result)> done;
  std::list<std::shared_ptr<lookup>>::iterator position;
  bool finished = false;
};

struct lane {
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
  std::atomic<std::uint32_t> pending{0};
  std::list<std::shared_ptr<lookup>> active;  ///< touched on the lane thread only
};

void lookup::finish(resolve_result result) {
  if (finished) return;
  finished = true;
  timer.cancel();
  resolver.cancel();
  auto keep = shared_from_this();
  owner.active.erase(position);
  owner.pending.fetch_sub(1);
  auto callback = std::move(done);
  callback(std::move(result));
}

std::string resolve_error(const boost::system::error_code& ec) {
  if (ec == net::error::host_not_found) return "host not found";
  if (ec == net::error::host_not_found_try_again) return "host not found (temporary failure)";
  if (ec == net::error::no_data) return "host has no address";
  if (ec == net::error::operation_aborted) return "stopped";
  return ec.message();
}

}  // namespace

struct resolver_pool::impl {
  std::vector<std::unique_ptr<lane>> lanes;
  std::mutex mutex;
  bool stopped = false;

  /// The lane with the fewest lookups in progress.
  lane& pick() {
    lane* best = lanes.front().get();
    for (auto& candidate : lanes)
      if (candidate->pending.load() < best->pending.load()) best = candidate.get();
    return *best;
  }
};

resolver_pool::resolver_pool(std::uint32_t lanes) : impl_(new impl) {
  for (std::uint32_t i = 0; i < std::max<std::uint32_t>(lanes, 1); ++i) {
    auto& added = impl_->lanes.emplace_back(std::make_unique<lane>());
    added->thread = std::thread([io = &added->io] { io->run(); });
  }
}

resolver_pool::~resolver_pool() { stop(); }

void resolver_pool::post(std::function<void()> fn) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopped) {
      net::post(impl_->pick().io, std::move(fn));
      return;
    }
  }
  fn();
}

void resolver_pool::resolve(const std::string& host, std::chrono::milliseconds timeout,
                            std::function<void(resolve_result)> done) {
  std::unique_lock lock(impl_->mutex);
  if (impl_->stopped) {
    lock.unlock();
    done({{}, "stopped"});
    return;
  }
  if (is_ip_literal(host) || is_localhost_name(host)) {
    resolve_result answer;
    if (is_ip_literal(host)) answer.addresses = {host};
    else answer.addresses = {"127.0.0.1", "::1"};
    net::post(impl_->pick().io, [done = std::move(done), answer = std::move(answer)]() mutable {
      done(std::move(answer));
    });
    return;
  }
  lane& chosen = impl_->pick();
  chosen.pending.fetch_add(1);
  net::post(chosen.io, [&chosen, host, timeout, done = std::move(done)]() mutable {
    auto op = std::make_shared<lookup>(chosen, chosen.io, std::move(done));
    op->position = chosen.active.insert(chosen.active.end(), op);
    op->timer.expires_after(timeout);
    op->timer.async_wait([op](const boost::system::error_code& ec) {
      if (!ec) op->finish({{}, "timeout"});
    });
    // No AI_ADDRCONFIG: every address the name has is judged, not only the usable families.
    op->resolver.async_resolve(
      host, "", tcp::resolver::flags{},
      [op](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
        if (ec) return op->finish({{}, resolve_error(ec)});
        resolve_result answer;
        for (const auto& entry : results) {
          auto text = entry.endpoint().address().to_string();
          if (std::find(answer.addresses.begin(), answer.addresses.end(), text) ==
              answer.addresses.end())
            answer.addresses.push_back(std::move(text));
        }
        if (answer.addresses.empty()) answer.error = "host has no address";
        op->finish(std::move(answer));
      });
  });
}

void resolver_pool::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  for (auto& each : impl_->lanes) {
    lane* target_lane = each.get();
    net::post(target_lane->io, [target_lane] {
      while (!target_lane->active.empty()) target_lane->active.front()->finish({{}, "stopped"});
    });
    target_lane->work.reset();
  }
  for (auto& each : impl_->lanes)
    if (each->thread.joinable()) each->thread.join();
}

// ---------------------------------------------------------------------------------------------
// Submit-time check

void check_target(resolver_pool& pool, const std::string& url, bool allow_private,
                  std::function<void(std::optional<std::string> refusal_reason)> done,
                  std::chrono::milliseconds timeout) {
  auto parsed = parse_url(url);
  if (!parsed) {
    pool.post([done = std::move(done)] {
      done(std::string("webhook_url is not a valid absolute http or https URL"));
    });
    return;
  }
  auto host = parsed->host;
  pool.resolve(host, timeout, [done = std::move(done), host, allow_private](resolve_result found) {
    // A name that does not resolve yet (a DNS hiccup, a receiver published later) is no reason
    // to fail a paid submit: delivery resolves again, checks what it finds, and records why it
    // could not connect.
    if (!found.error.empty()) return done(std::nullopt);
    if (!allow_private) {
      for (const auto& address : found.addresses) {
        auto reason = forbidden_reason(address);
        if (!reason.empty())
          return done("webhook_url host " + host + " resolves to a forbidden address: " + address +
                      " (" + reason + ")");
      }
    }
    done(std::nullopt);
  });
}

}  // namespace kiln::outbound
