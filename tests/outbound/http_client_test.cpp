// Tests of the webhook client against real sockets on 127.0.0.1: a plain and a TLS receiver
// (tests/support/webhook_listener) answering, holding or closing; a CA made at run time
// (tests/support/test_pki); statuses, Retry-After, timeouts, refused connections, redirects,
// the private-address refusal, TLS verification, body caps, and per-endpoint isolation.
#include <catch2/catch.hpp>

#include "outbound/http_client.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/webhook_listener.hpp"

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace outbound = kiln::outbound;
namespace test = kiln::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Options for tests: short timeout, private targets allowed (everything is on 127.0.0.1).
outbound::client_options test_options(std::chrono::milliseconds timeout = 2000ms) {
  outbound::client_options options;
  options.timeout = timeout;
  options.allow_private_targets = true;
  return options;
}

struct timed_result {
  outbound::outbound_result result;
  std::chrono::milliseconds elapsed{};  ///< from post() to done, measured by the test
  std::thread::id thread;
};

/// Posts one request and waits (at most 5 s) for its result.
timed_result post_and_wait(outbound::http_client& client, outbound::outbound_request request) {
  std::promise<timed_result> answer;
  auto future = answer.get_future();
  auto started = steady::now();
  client.post(std::move(request), [&answer, started](outbound::outbound_result result) {
    answer.set_value(
      {std::move(result),
       std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started),
       std::this_thread::get_id()});
  });
  REQUIRE(future.wait_for(5s) == std::future_status::ready);
  return future.get();
}

outbound::outbound_request request_to(const std::string& url, std::string body = R"({"ok":true})") {
  outbound::outbound_request request;
  request.url = url;
  request.body = std::move(body);
  return request;
}

/// Collects results of many posts, with the time each arrived.
class result_log {
public:
  std::function<void(outbound::outbound_result)> callback(std::string tag) {
    return [this, tag = std::move(tag)](outbound::outbound_result result) {
      std::lock_guard lock(mutex_);
      entries_.push_back({tag, std::move(result), steady::now()});
      changed_.notify_all();
    };
  }

  /// Waits until `count` results tagged `tag` arrived; false after `limit`.
  bool wait_for(const std::string& tag, std::size_t count, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return count_locked(tag) >= count; });
  }

  std::size_t count(const std::string& tag) {
    std::lock_guard lock(mutex_);
    return count_locked(tag);
  }

  struct entry {
    std::string tag;
    outbound::outbound_result result;
    steady::time_point at;
  };
  std::vector<entry> entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }

private:
  std::size_t count_locked(const std::string& tag) const {
    std::size_t n = 0;
    for (const auto& e : entries_) n += e.tag == tag;
    return n;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<entry> entries_;
};

}  // namespace

TEST_CASE("webhook client POSTs the body and headers exactly", "[webhooks]") {
  test::webhook_listener listener({});
  outbound::http_client client(test_options());
  auto request = request_to(listener.base_url() + "/hooks/kiln?account=a1",
                            R"({"id":"evt_1","event":"job.succeeded","job":{"id":"job_1"}})");
  request.headers = {{"webhook-id", "evt_1"},
                     {"webhook-timestamp", "1614265330"},
                     {"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}};
  const auto sent_body = request.body;
  auto outcome = post_and_wait(client, request);

  CHECK(outcome.result.status == 200);
  CHECK(outcome.result.error.empty());
  CHECK(outcome.result.retry_after.empty());
  CHECK(outcome.result.duration_ms >= 0);
  CHECK(outcome.result.duration_ms < 1000);
  CHECK(outcome.thread != std::this_thread::get_id());

  auto received = listener.requests();
  REQUIRE(received.size() == 1);
  const auto& got = received.front();
  CHECK(got.method == "POST");
  CHECK(got.target == "/hooks/kiln?account=a1");
  CHECK(got.body == sent_body);
  CHECK(got.header("content-type") == "application/json");
  CHECK(got.count("content-type") == 1);
  CHECK(got.header("user-agent") == "kiln-webhooks/1");
  CHECK(got.header("host") == "127.0.0.1:" + std::to_string(listener.port()));
  CHECK(got.header("content-length") == std::to_string(sent_body.size()));
  CHECK(got.header("webhook-id") == "evt_1");
  CHECK(got.header("webhook-timestamp") == "1614265330");
  CHECK(got.header("webhook-signature") == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  CHECK(client.in_flight() == 0);
  CHECK(client.queued() == 0);
}

TEST_CASE("webhook client ignores framing headers from the caller", "[webhooks]") {
  test::webhook_listener listener({});
  outbound::http_client client(test_options());
  auto request = request_to(listener.base_url() + "/", "{}");
  request.headers = {{"Host", "evil.example"},
                     {"Content-Length", "999"},
                     {"Transfer-Encoding", "chunked"},
                     {"Content-Type", "application/cloudevents+json"}};
  auto outcome = post_and_wait(client, request);
  CHECK(outcome.result.status == 200);
  auto received = listener.requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].header("host") == "127.0.0.1:" + std::to_string(listener.port()));
  CHECK(received[0].header("content-length") == "2");
  CHECK(received[0].count("transfer-encoding") == 0);
  CHECK(received[0].header("content-type") == "application/cloudevents+json");
  CHECK(received[0].body == "{}");
}

TEST_CASE("webhook client reports 503 and its Retry-After", "[webhooks]") {
  test::listener_options options;
  options.status = 503;
  options.headers = {{"Retry-After", "120"}};
  options.body = "busy";
  test::webhook_listener listener(options);
  outbound::http_client client(test_options());
  auto outcome = post_and_wait(client, request_to(listener.base_url() + "/hook"));
  CHECK(outcome.result.status == 503);
  CHECK(outcome.result.error.empty());
  CHECK(outcome.result.retry_after == "120");
}

TEST_CASE("webhook client times out a receiver that never answers", "[webhooks]") {
  test::listener_options options;
  options.mode = test::listener_mode::never_answer;
  test::webhook_listener listener(options);
  outbound::http_client client(test_options(300ms));
  auto outcome = post_and_wait(client, request_to(listener.base_url() + "/hook"));
  CHECK(outcome.result.status == 0);
  CHECK(outcome.result.error == "timeout");
  CHECK(outcome.elapsed >= 300ms);
  CHECK(outcome.elapsed < 600ms);
  CHECK(outcome.result.duration_ms >= 300);
  CHECK(outcome.result.duration_ms < 600);
  CHECK(listener.requests().size() == 1);  // the request was sent; the answer never came
}

TEST_CASE("webhook client reports a refused connection", "[webhooks]") {
  outbound::http_client client(test_options());
  auto port = test::closed_port();
  auto outcome =
    post_and_wait(client, request_to("http://127.0.0.1:" + std::to_string(port) + "/"));
  CHECK(outcome.result.status == 0);
  CHECK(outcome.result.error == "connection refused");
  CHECK(outcome.elapsed < 1000ms);
}

TEST_CASE("webhook client reports a receiver that closes without answering", "[webhooks]") {
  test::listener_options options;
  options.mode = test::listener_mode::close_at_once;
  test::webhook_listener listener(options);
  outbound::http_client client(test_options());
  auto outcome = post_and_wait(client, request_to(listener.base_url() + "/"));
  CHECK(outcome.result.status == 0);
  INFO(outcome.result.error);
  CHECK((outcome.result.error == "connection closed before a response" ||
         outcome.result.error == "connection reset"));
}

TEST_CASE("webhook client returns a 302 without following it", "[webhooks]") {
  test::webhook_listener elsewhere({});
  test::listener_options options;
  options.status = 302;
  options.headers = {{"Location", elsewhere.base_url() + "/stolen"}};
  test::webhook_listener listener(options);
  outbound::http_client client(test_options());
  auto outcome = post_and_wait(client, request_to(listener.base_url() + "/hook"));
  CHECK(outcome.result.status == 302);
  CHECK(outcome.result.error.empty());
  CHECK(listener.requests().size() == 1);
  CHECK(elsewhere.connections() == 0);
}

TEST_CASE("webhook client refuses private addresses unless allowed", "[webhooks]") {
  test::webhook_listener listener({});
  auto options = test_options();
  options.allow_private_targets = false;
  outbound::http_client client(options);
  auto port = std::to_string(listener.port());
  const std::vector<std::string> urls{
    "http://127.0.0.1:" + port + "/",           "http://localhost:" + port + "/",
    "http://[::ffff:127.0.0.1]:" + port + "/",  "http://[::1]:" + port + "/",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"};
  for (const auto& url : urls) {
    INFO(url);
    auto outcome = post_and_wait(client, request_to(url));
    CHECK(outcome.result.status == 0);
    CHECK(outcome.result.error == "forbidden address");
    CHECK(outcome.elapsed < 500ms);
  }
  CHECK(listener.connections() == 0);

  outbound::http_client allowed(test_options());
  CHECK(post_and_wait(allowed, request_to("http://localhost:" + port + "/")).result.status == 200);
  CHECK(listener.connections() == 1);
}

TEST_CASE("webhook client refuses bad URLs and headers before connecting", "[webhooks]") {
  test::webhook_listener listener({});
  outbound::http_client client(test_options());
  auto invalid = post_and_wait(client, request_to("ftp://127.0.0.1/"));
  CHECK(invalid.result.error == "invalid url");
  CHECK(invalid.thread != std::this_thread::get_id());
  auto injected = request_to(listener.base_url() + "/");
  injected.headers = {{"webhook-id", "evt_1\r\nX-Injected: yes"}};
  CHECK(post_and_wait(client, injected).result.error == "invalid header");
  auto bad_name = request_to(listener.base_url() + "/");
  bad_name.headers = {{"bad name", "x"}};
  CHECK(post_and_wait(client, bad_name).result.error == "invalid header");
  CHECK(listener.connections() == 0);
}

TEST_CASE("webhook client reads at most max_response_body and still reports the status",
          "[webhooks]") {
  test::listener_options options;
  options.status = 200;
  options.body = std::string(100 * 1024, 'x');
  test::webhook_listener listener(options);
  auto client_options = test_options();
  client_options.max_response_body = 1024;
  outbound::http_client client(client_options);
  auto outcome = post_and_wait(client, request_to(listener.base_url() + "/"));
  CHECK(outcome.result.status == 200);
  CHECK(outcome.result.error.empty());
  CHECK(outcome.result.body_too_large);

  test::listener_options small;
  small.status = 204;
  test::webhook_listener other(small);
  CHECK(post_and_wait(client, request_to(other.base_url() + "/")).result.status == 204);
}

TEST_CASE("webhook client sends other methods and returns the body when asked", "[webhooks]") {
  test::listener_options options;
  options.body = R"({"status":"running","progress":40})";
  test::webhook_listener listener(options);
  outbound::http_client client(test_options());

  auto get = request_to(listener.base_url() + "/v1/runs/r1", "");
  get.method = "GET";
  get.keep_body = true;
  auto got = post_and_wait(client, get);
  CHECK(got.result.status == 200);
  CHECK(got.result.body == options.body);
  CHECK_FALSE(got.result.body_too_large);

  auto remove = request_to(listener.base_url() + "/v1/runs/r1", "");
  remove.method = "DELETE";
  CHECK(post_and_wait(client, remove).result.status == 200);
  auto posted = post_and_wait(client, request_to(listener.base_url() + "/v1/runs"));
  CHECK(posted.result.status == 200);
  CHECK(posted.result.body.empty());  // not asked for

  auto received = listener.requests();
  REQUIRE(received.size() == 3);
  CHECK(received[0].method == "GET");
  CHECK(received[0].target == "/v1/runs/r1");
  CHECK(received[0].count("content-type") == 0);
  CHECK(received[0].count("content-length") == 0);
  CHECK(received[0].body.empty());
  CHECK(received[1].method == "DELETE");
  CHECK(received[1].count("content-type") == 0);
  CHECK(received[2].method == "POST");
  CHECK(received[2].header("content-type") == "application/json");

  auto bad = request_to(listener.base_url() + "/", "");
  bad.method = "GET /x HTTP/1.1\r\n";
  CHECK(post_and_wait(client, bad).result.error == "invalid method");
  bad.method = "";
  CHECK(post_and_wait(client, bad).result.error == "invalid method");
  CHECK(listener.connections() == 3);
}

TEST_CASE("webhook client flags a kept body over max_response_body", "[webhooks]") {
  test::listener_options options;
  options.body = std::string(100 * 1024, 'x');
  test::webhook_listener listener(options);
  auto client_options = test_options();
  client_options.max_response_body = 1024;
  outbound::http_client client(client_options);
  auto request = request_to(listener.base_url() + "/");
  request.keep_body = true;
  auto outcome = post_and_wait(client, request);
  CHECK(outcome.result.status == 200);
  CHECK(outcome.result.error.empty());
  CHECK(outcome.result.body_too_large);
  CHECK(outcome.result.body.empty());
}

TEST_CASE("webhook client verifies TLS against an extra CA", "[webhooks]") {
  test::test_pki pki;
  auto cert = pki.issue("server", "IP:127.0.0.1,DNS:localhost");
  test::listener_options options;
  options.tls_cert_file = cert.cert_file;
  options.tls_key_file = cert.key_file;
  test::webhook_listener listener(options);
  REQUIRE(listener.base_url().starts_with("https://"));

  auto client_options = test_options();
  client_options.extra_ca_file = pki.ca_file();
  outbound::http_client client(client_options);
  auto by_address = post_and_wait(client, request_to(listener.base_url() + "/tls", R"({"n":1})"));
  INFO(by_address.result.error);
  CHECK(by_address.result.status == 200);
  CHECK(by_address.result.error.empty());
  auto by_name = post_and_wait(
    client,
    request_to("https://localhost:" + std::to_string(listener.port()) + "/tls", R"({"n":2})"));
  INFO(by_name.result.error);
  CHECK(by_name.result.status == 200);

  auto received = listener.requests();
  REQUIRE(received.size() == 2);
  CHECK(received[0].body == R"({"n":1})");
  CHECK(received[1].body == R"({"n":2})");
  CHECK(received[1].header("host") == "localhost:" + std::to_string(listener.port()));
}

TEST_CASE("webhook client refuses TLS certificates it cannot verify", "[webhooks]") {
  test::test_pki pki;
  auto cert = pki.issue("server", "IP:127.0.0.1,DNS:localhost");
  test::listener_options options;
  options.tls_cert_file = cert.cert_file;
  options.tls_key_file = cert.key_file;
  test::webhook_listener listener(options);

  SECTION("unknown CA") {
    outbound::http_client client(test_options());  // system store only
    auto outcome = post_and_wait(client, request_to(listener.base_url() + "/"));
    CHECK(outcome.result.status == 0);
    CHECK(outcome.result.error.starts_with("tls: "));
    CHECK(outcome.result.error.find("verify") != std::string::npos);
    CHECK(listener.requests().empty());
  }
  SECTION("certificate for another name") {
    auto other = pki.issue("other", "DNS:other.example");
    test::listener_options wrong = options;
    wrong.tls_cert_file = other.cert_file;
    wrong.tls_key_file = other.key_file;
    test::webhook_listener impostor(wrong);
    auto client_options = test_options();
    client_options.extra_ca_file = pki.ca_file();
    outbound::http_client client(client_options);
    auto by_address = post_and_wait(client, request_to(impostor.base_url() + "/"));
    CHECK(by_address.result.error == "tls: certificate verify failed: IP address mismatch");
    auto by_name = post_and_wait(
      client, request_to("https://localhost:" + std::to_string(impostor.port()) + "/"));
    CHECK(by_name.result.error == "tls: certificate verify failed: hostname mismatch");
    CHECK(impostor.requests().empty());
  }
  SECTION("receiver that closes during the handshake") {
    test::listener_options closing;
    closing.mode = test::listener_mode::close_at_once;
    test::webhook_listener closer(closing);
    auto client_options = test_options();
    client_options.extra_ca_file = pki.ca_file();
    outbound::http_client client(client_options);
    auto outcome =
      post_and_wait(client, request_to("https://127.0.0.1:" + std::to_string(closer.port()) + "/"));
    CHECK(outcome.result.status == 0);
    INFO(outcome.result.error);
    CHECK(outcome.result.error.starts_with("tls: "));
  }
}

TEST_CASE("webhook client refuses an extra CA file it cannot load", "[webhooks]") {
  auto options = test_options();
  options.extra_ca_file = "/nonexistent/ca.pem";
  CHECK_THROWS_AS(outbound::http_client(options), std::invalid_argument);
}

TEST_CASE("webhook client keeps a slow endpoint from delaying the others", "[webhooks]") {
  test::listener_options hold;
  hold.mode = test::listener_mode::never_answer;
  test::webhook_listener slow(hold);
  test::webhook_listener fast({});
  auto options = test_options(1000ms);
  options.threads = 2;
  options.max_in_flight = 4;
  options.max_per_endpoint = 2;
  outbound::http_client client(options);
  result_log log;

  auto started = steady::now();
  for (int i = 0; i < 20; ++i)
    client.post(request_to(slow.base_url() + "/slow/" + std::to_string(i)), log.callback("slow"));
  for (int i = 0; i < 20; ++i)
    client.post(request_to(fast.base_url() + "/fast/" + std::to_string(i)), log.callback("fast"));

  REQUIRE(log.wait_for("fast", 20, 900ms));
  auto fast_done = steady::now() - started;
  CHECK(fast_done < 500ms);
  CHECK(log.count("slow") == 0);  // none has even timed out yet
  for (const auto& e : log.entries())
    if (e.tag == "fast") CHECK(e.result.status == 200);
  CHECK(fast.requests().size() == 20);
  CHECK(client.in_flight() == 2);
  CHECK(client.queued() == 18);

  // stop() ends the two held attempts and the eighteen queued ones with "stopped".
  client.stop();
  CHECK(log.count("slow") == 20);
  for (const auto& e : log.entries())
    if (e.tag == "slow") CHECK(e.result.error == "stopped");
  CHECK(steady::now() - started < 1000ms);
  CHECK(slow.max_concurrent() <= 2);
  CHECK(slow.connections() == 2);
  CHECK(client.in_flight() == 0);
  CHECK(client.queued() == 0);

  // A post after stop() is answered at once, on the calling thread.
  std::thread::id answered_on;
  std::string error;
  client.post(request_to(fast.base_url() + "/late"), [&](outbound::outbound_result r) {
    answered_on = std::this_thread::get_id();
    error = r.error;
  });
  CHECK(answered_on == std::this_thread::get_id());
  CHECK(error == "stopped");
}

TEST_CASE("webhook client gives a freed global slot to the next endpoint in turn", "[webhooks]") {
  test::listener_options hold;
  hold.mode = test::listener_mode::never_answer;
  test::webhook_listener slow(hold);
  test::webhook_listener fast({});
  auto options = test_options(200ms);
  options.max_in_flight = 1;
  outbound::http_client client(options);
  result_log log;

  for (int i = 0; i < 3; ++i) client.post(request_to(slow.base_url() + "/"), log.callback("slow"));
  client.post(request_to(fast.base_url() + "/"), log.callback("fast"));
  CHECK(client.in_flight() == 1);
  CHECK(client.queued() == 3);

  REQUIRE(log.wait_for("fast", 1, 1000ms));
  auto order = log.entries();
  REQUIRE(order.size() == 2);  // the first slow one timed out, then the fast one went next
  CHECK(order[0].tag == "slow");
  CHECK(order[0].result.error == "timeout");
  CHECK(order[1].tag == "fast");
  CHECK(order[1].result.status == 200);
  client.stop();
  CHECK(log.count("slow") == 3);
}
