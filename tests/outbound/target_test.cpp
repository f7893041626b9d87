// Unit tests for webhook targets: the URL parser, the forbidden-address table range by range
// with the addresses just outside each range, the resolver pool, and the submit-time check
// (IP literals and localhost names are decided without DNS; no test needs the network).
#include <catch2/catch.hpp>

#include "outbound/target.hpp"

#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <utility>
#include <vector>

namespace outbound = kiln::outbound;
using namespace std::chrono_literals;

namespace {

/// Runs check_target and waits for its answer (at most 5 s).
std::optional<std::string> check(outbound::resolver_pool& pool, const std::string& url,
                                 bool allow_private = false,
                                 std::chrono::milliseconds timeout = 2000ms) {
  std::promise<std::optional<std::string>> answer;
  auto future = answer.get_future();
  outbound::check_target(
    pool, url, allow_private,
    [&answer](std::optional<std::string> reason) { answer.set_value(std::move(reason)); }, timeout);
  REQUIRE(future.wait_for(5s) == std::future_status::ready);
  return future.get();
}

outbound::resolve_result resolve(outbound::resolver_pool& pool, const std::string& host,
                                 std::chrono::milliseconds timeout = 2000ms) {
  std::promise<outbound::resolve_result> answer;
  auto future = answer.get_future();
  pool.resolve(host, timeout,
               [&answer](outbound::resolve_result r) { answer.set_value(std::move(r)); });
  REQUIRE(future.wait_for(5s) == std::future_status::ready);
  return future.get();
}

}  // namespace

TEST_CASE("webhook parse_url accepts http and https URLs", "[webhooks]") {
  auto t = outbound::parse_url("https://hooks.example.com/kiln/events?token=abc");
  REQUIRE(t);
  CHECK(t->scheme == "https");
  CHECK(t->host == "hooks.example.com");
  CHECK(t->port == 443);
  CHECK(t->path_and_query == "/kiln/events?token=abc");

  t = outbound::parse_url("http://example.com");
  REQUIRE(t);
  CHECK(t->scheme == "http");
  CHECK(t->port == 80);
  CHECK(t->path_and_query == "/");

  t = outbound::parse_url("HTTP://Example.COM:8080?x=1");
  REQUIRE(t);
  CHECK(t->scheme == "http");
  CHECK(t->host == "example.com");
  CHECK(t->port == 8080);
  CHECK(t->path_and_query == "/?x=1");

  t = outbound::parse_url("https://[2001:DB8::1]:8443/a");
  REQUIRE(t);
  CHECK(t->host == "2001:db8::1");
  CHECK(t->port == 8443);
  CHECK(t->path_and_query == "/a");
  CHECK(outbound::host_header(*t) == "[2001:db8::1]:8443");
  CHECK(outbound::endpoint_key(*t) == "https://[2001:db8::1]:8443");

  t = outbound::parse_url("https://[::1]");
  REQUIRE(t);
  CHECK(t->host == "::1");
  CHECK(t->port == 443);
  CHECK(outbound::host_header(*t) == "[::1]");

  t = outbound::parse_url("http://93.184.216.34:65535/");
  REQUIRE(t);
  CHECK(t->host == "93.184.216.34");
  CHECK(t->port == 65535);
  CHECK(outbound::host_header(*t) == "93.184.216.34:65535");
  CHECK(outbound::endpoint_key(*t) == "http://93.184.216.34:65535");

  t = outbound::parse_url("https://my_host.internal-1.example./x");  // underscore, trailing dot
  REQUIRE(t);
  CHECK(t->host == "my_host.internal-1.example.");

  t = outbound::parse_url("https://example.com:443/");
  REQUIRE(t);
  CHECK(outbound::host_header(*t) == "example.com");  // default port left out
  CHECK(outbound::endpoint_key(*t) == "https://example.com:443");
}

TEST_CASE("webhook parse_url drops fragments and escapes unsafe bytes", "[webhooks]") {
  auto t = outbound::parse_url("https://example.com/a/b?c=d#section");
  REQUIRE(t);
  CHECK(t->path_and_query == "/a/b?c=d");
  t = outbound::parse_url("https://example.com#only-fragment");
  REQUIRE(t);
  CHECK(t->path_and_query == "/");
  t = outbound::parse_url("https://example.com/x?list={1|2}&q=\"a\"&p=%20");
  REQUIRE(t);
  CHECK(t->path_and_query == "/x?list=%7B1%7C2%7D&q=%22a%22&p=%20");
  t = outbound::parse_url("https://example.com/a:b@c;d=e,f~g!$&'()*+");
  REQUIRE(t);
  CHECK(t->path_and_query == "/a:b@c;d=e,f~g!$&'()*+");
}

TEST_CASE("webhook parse_url refuses malformed or unsafe URLs", "[webhooks]") {
  const std::vector<std::string> refused{
    "",
    "example.com/hook",  // not absolute
    "/hook",
    "ftp://example.com/",  // scheme
    "file:///etc/passwd",
    "javascript:alert(1)",
    "https:/example.com/",
    "https://",  // no host
    "https:///path",
    "https://:443/",
    "https://user@example.com/",  // userinfo
    "https://user:pass@example.com/",
    "https://example.com@evil.com/",
    "https://exa mple.com/",  // whitespace
    "https://example.com/a b",
    " https://example.com/",
    "https://example.com/\t",
    "https://example.com/\r\nX-Injected: 1",
    "https://ex\xc3\xa4mple.com/",  // non-ASCII
    "https://example.com:/",        // empty port
    "https://example.com:0/",
    "https://example.com:65536/",
    "https://example.com:123456/",
    "https://example.com:80a/",
    "https://example.com:-1/",
    "https://a:1:2/",
    "https://[::1/",  // IPv6 literals
    "https://[::1]x/",
    "https://[not-v6]/",
    "https://[fe80::1%25eth0]/",
    "https://::1/",
    "https://127.1/",  // numeric forms resolvers read as IPv4
    "https://0x7f000001/",
    "https://0x7f.0.0.1/",
    "https://2130706433/",
    "https://010.0.0.1/",
    "https://127.0.0.1./",
    "https://256.0.0.1/",
    "https://1.2.3.4.5/",
    "https://exa%6dple.com/",  // escapes and odd characters in the host
    "https://exam!ple.com/",
    "https://a..b/",
    "https://.example.com/",
    "https://" + std::string(64, 'a') + ".com/",      // label over 63 bytes
    "https://example.com/" + std::string(2048, 'a'),  // longer than webhook_url_bytes_max
  };
  for (const auto& url : refused) {
    INFO(url);
    CHECK_FALSE(outbound::parse_url(url));
  }
  CHECK(outbound::parse_url("https://" + std::string(63, 'a') + ".com/"));
  CHECK(outbound::parse_url("https://1.2.3.4.example/"));  // numeric labels but a name
}

TEST_CASE("webhook forbidden IPv4 ranges and the addresses just outside them", "[webhooks]") {
  const std::vector<std::pair<std::string, std::string>> table{
    {"0.0.0.0", "unspecified"},
    {"0.0.0.1", "this network"},
    {"0.255.255.255", "this network"},
    {"1.0.0.0", ""},
    {"9.255.255.255", ""},
    {"10.0.0.0", "private"},
    {"10.255.255.255", "private"},
    {"11.0.0.0", ""},
    {"100.63.255.255", ""},
    {"100.64.0.0", "shared (CGNAT)"},
    {"100.127.255.255", "shared (CGNAT)"},
    {"100.128.0.0", ""},
    {"126.255.255.255", ""},
    {"127.0.0.0", "loopback"},
    {"127.0.0.1", "loopback"},
    {"127.255.255.255", "loopback"},
    {"128.0.0.0", ""},
    {"169.253.255.255", ""},
    {"169.254.0.0", "link-local"},
    {"169.254.169.253", "link-local"},
    {"169.254.169.254", "cloud metadata"},
    {"169.254.169.255", "link-local"},
    {"169.254.255.255", "link-local"},
    {"169.255.0.0", ""},
    {"172.15.255.255", ""},
    {"172.16.0.0", "private"},
    {"172.31.255.255", "private"},
    {"172.32.0.0", ""},
    {"191.255.255.255", ""},
    {"192.0.0.0", "protocol assignments"},
    {"192.0.0.255", "protocol assignments"},
    {"192.0.1.0", ""},
    {"192.167.255.255", ""},
    {"192.168.0.0", "private"},
    {"192.168.255.255", "private"},
    {"192.169.0.0", ""},
    {"198.17.255.255", ""},
    {"198.18.0.0", "benchmarking"},
    {"198.19.255.255", "benchmarking"},
    {"198.20.0.0", ""},
    {"223.255.255.255", ""},
    {"224.0.0.0", "multicast"},
    {"239.255.255.255", "multicast"},
    {"240.0.0.0", "reserved"},
    {"255.255.255.254", "reserved"},
    {"255.255.255.255", "broadcast"},
    {"8.8.8.8", ""},
    {"93.184.216.34", ""},
    {"1.1.1.1", ""},
  };
  for (const auto& [address, reason] : table) {
    INFO(address);
    CHECK(outbound::forbidden_reason(address) == reason);
    CHECK(outbound::is_forbidden_address(address) == !reason.empty());
  }
  CHECK(outbound::forbidden_reason_v4({127, 0, 0, 1}) == "loopback");
  CHECK(outbound::forbidden_reason_v4({93, 184, 216, 34}).empty());
}

TEST_CASE("webhook forbidden IPv6 ranges and the addresses just outside them", "[webhooks]") {
  const std::vector<std::pair<std::string, std::string>> table{
    {"::", "unspecified"},
    {"::1", "loopback"},
    {"::2", "ipv4-compatible"},
    {"::7f00:1", "ipv4-compatible"},
    {"::1:0:0", "reserved"},  // ::/8 outside the forms above
    {"ff::", "reserved"},
    {"::ffff:127.0.0.1", "ipv4-mapped loopback"},
    {"::ffff:10.1.2.3", "ipv4-mapped private"},
    {"::ffff:169.254.169.254", "ipv4-mapped cloud metadata"},
    {"::ffff:0.0.0.0", "ipv4-mapped unspecified"},
    {"::ffff:255.255.255.255", "ipv4-mapped broadcast"},
    {"::ffff:93.184.216.34", ""},
    {"64:ff9b::7f00:1", "nat64 loopback"},
    {"64:ff9b::a9fe:a9fe", "nat64 cloud metadata"},
    {"64:ff9b::5db8:d822", ""},
    {"64:ff9b:1::1", "reserved"},  // local-use NAT64 prefix
    {"2002:7f00:1::", "6to4 loopback"},
    {"2002:c0a8:101::1", "6to4 private"},
    {"2002:5db8:d822::1", ""},
    {"100::", "discard"},
    {"100::ffff:ffff:ffff:ffff", "discard"},
    {"100:0:0:1::", ""},
    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
    {"fc00::", "private"},
    {"fd00:ec2::254", "private"},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"},
    {"fe00::", ""},
    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
    {"fe80::", "link-local"},
    {"fe80::1", "link-local"},
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
    {"fec0::", "site-local"},
    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local"},
    {"ff00::", "multicast"},
    {"ff02::1", "multicast"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"},
    {"2001:4860:4860::8888", ""},
    {"2606:2800:220:1:248:1893:25c8:1946", ""},
    {"fe80::1%eth0", "link-local"},
    {"fe80::1%2", "link-local"},
  };
  for (const auto& [address, reason] : table) {
    INFO(address);
    CHECK(outbound::forbidden_reason(address) == reason);
    CHECK(outbound::is_forbidden_address(address) == !reason.empty());
  }
  std::array<std::uint8_t, 16> loopback{};
  loopback[15] = 1;
  CHECK(outbound::forbidden_reason_v6(loopback) == "loopback");
}

TEST_CASE("webhook forbidden_reason refuses what is not an address", "[webhooks]") {
  for (std::string text : {"", "localhost", "example.com", "127.1", "127.0.0.1 ", " ::1", "[::1]",
                           "1.2.3.4.5", "::g", "0x7f000001"}) {
    INFO(text);
    CHECK(outbound::forbidden_reason(text) == "not an address");
    CHECK(outbound::is_forbidden_address(text));
  }
}

TEST_CASE("webhook host helpers recognise literals and localhost names", "[webhooks]") {
  CHECK(outbound::is_ip_literal("127.0.0.1"));
  CHECK(outbound::is_ip_literal("::1"));
  CHECK(outbound::is_ip_literal("2001:db8::1"));
  CHECK_FALSE(outbound::is_ip_literal("127.1"));
  CHECK_FALSE(outbound::is_ip_literal("[::1]"));
  CHECK_FALSE(outbound::is_ip_literal("localhost"));
  CHECK(outbound::is_localhost_name("localhost"));
  CHECK(outbound::is_localhost_name("LOCALHOST."));
  CHECK(outbound::is_localhost_name("api.localhost"));
  CHECK_FALSE(outbound::is_localhost_name("localhost.example.com"));
  CHECK_FALSE(outbound::is_localhost_name("notlocalhost"));
}

TEST_CASE("webhook resolver_pool answers literals and localhost without DNS", "[webhooks]") {
  outbound::resolver_pool pool(2);
  auto literal = resolve(pool, "93.184.216.34");
  CHECK(literal.error.empty());
  CHECK(literal.addresses == std::vector<std::string>{"93.184.216.34"});
  auto v6 = resolve(pool, "::1");
  CHECK(v6.addresses == std::vector<std::string>{"::1"});
  auto local = resolve(pool, "localhost");
  CHECK(local.error.empty());
  CHECK(local.addresses == std::vector<std::string>{"127.0.0.1", "::1"});

  pool.stop();
  auto late = resolve(pool, "localhost");
  CHECK(late.error == "stopped");
  CHECK(late.addresses.empty());
}

TEST_CASE("webhook check_target refuses loopback literals and localhost", "[webhooks]") {
  outbound::resolver_pool pool(2);
  auto started = std::chrono::steady_clock::now();

  auto v4 = check(pool, "http://127.0.0.1:8080/hook");
  REQUIRE(v4);
  CHECK(v4->find("127.0.0.1 (loopback)") != std::string::npos);

  auto v6 = check(pool, "http://[::1]/hook");
  REQUIRE(v6);
  CHECK(v6->find("::1 (loopback)") != std::string::npos);

  auto name = check(pool, "https://localhost/hook");
  REQUIRE(name);
  CHECK(name->find("loopback") != std::string::npos);
  CHECK(check(pool, "https://api.localhost:9000/"));

  auto metadata = check(pool, "http://169.254.169.254/latest/meta-data/");
  REQUIRE(metadata);
  CHECK(metadata->find("cloud metadata") != std::string::npos);
  auto mapped = check(pool, "http://[::ffff:10.0.0.1]/");
  REQUIRE(mapped);
  CHECK(mapped->find("ipv4-mapped private") != std::string::npos);

  CHECK_FALSE(check(pool, "https://93.184.216.34/hook"));
  CHECK_FALSE(check(pool, "http://[2606:2800:220:1:248:1893:25c8:1946]:8080/"));

  auto invalid = check(pool, "ftp://93.184.216.34/");
  REQUIRE(invalid);
  CHECK(invalid->find("not a valid") != std::string::npos);
  CHECK(check(pool, "https://user@93.184.216.34/"));
  CHECK(check(pool, "https://127.1/"));

  // No DNS was involved: every answer came at once.
  CHECK(std::chrono::steady_clock::now() - started < 1s);
}

TEST_CASE("webhook check_target lets private targets through when allowed", "[webhooks]") {
  outbound::resolver_pool pool(1);
  CHECK_FALSE(check(pool, "http://127.0.0.1:8080/hook", true));
  CHECK_FALSE(check(pool, "http://[::1]/hook", true));
  CHECK_FALSE(check(pool, "http://localhost/hook", true));
  CHECK_FALSE(check(pool, "http://10.1.2.3/hook", true));
  CHECK(check(pool, "gopher://10.1.2.3/hook", true));  // still has to be a valid URL
}

TEST_CASE("webhook check_target resolves names through the system resolver", "[webhooks]") {
  outbound::resolver_pool pool(2);
  // The machine's own name usually resolves from /etc/hosts, without the network.
  char buffer[256] = {};
  REQUIRE(::gethostname(buffer, sizeof buffer - 1) == 0);
  std::string own_name = buffer;
  auto found = resolve(pool, own_name);
  if (!found.error.empty() || !outbound::parse_url("http://" + own_name + "/")) {
    WARN("the host name '" << own_name << "' does not resolve here (" << found.error
                           << "): the DNS path of check_target is not exercised");
  } else {
    bool any_forbidden = false;
    for (const auto& address : found.addresses)
      any_forbidden = any_forbidden || outbound::is_forbidden_address(address);
    auto verdict = check(pool, "http://" + own_name + "/hook");
    CHECK(verdict.has_value() == any_forbidden);
    CHECK_FALSE(check(pool, "http://" + own_name + "/hook", true));
  }
  // A name under the reserved .invalid TLD never resolves (RFC 6761): it may resolve later, so
  // the submit is not refused; delivery resolves it again.
  CHECK_FALSE(check(pool, "https://no-such-host.invalid/hook", false, 1000ms));
}
