// Tests of the http executor against a real inference server on 127.0.0.1
// (tests/support/inference_server): success with progress and intact PNGs, failed runs, 503s on
// polls, cancels (also before the run's id is known), a dead server, hanging calls, refusals,
// and stop(). Intervals are short so that the whole tag takes about 3 s.
#include <catch2/catch.hpp>

#include "devices/http_executor.hpp"
#include "devices/media/media_render.hpp"
#include "tests/support/inference_server.hpp"
#include "tests/support/webhook_listener.hpp"

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using kiln::http_executor;
using kiln::http_run_request;
using kiln::http_run_result;
namespace test = kiln::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

http_executor::options options_for(const std::string& base_url) {
  http_executor::options o;
  o.base_url = base_url;
  o.poll_interval = 20ms;
  o.call_timeout = 2000ms;
  o.max_backoff = 200ms;
  return o;
}

http_run_request image_request(std::string job_id = "job_1") {
  http_run_request r;
  r.job_id = std::move(job_id);
  r.type = "image";
  r.model = "flux-dev";
  r.prompt = "a \"kiln\" at dusk \xC3\xA9\n";
  r.n = 1;
  r.width = 96;
  r.height = 64;
  r.seed = 42;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  return r;
}

/// What one run reported, with the time `done` came.
struct outcome {
  std::vector<std::uint32_t> progress;
  http_run_result result;
  std::chrono::milliseconds elapsed{};
  std::thread::id done_thread;
  int done_calls = 0;
  bool progress_after_done = false;
};

/// A run in progress: its callbacks fill an outcome; wait() returns it once `done` came. The
/// state is shared with the callbacks, so a run object may go before the executor does.
class watched_run {
public:
  watched_run(http_executor& executor, http_run_request request)
    : state_(std::make_shared<shared>()) {
    state_->started = steady::now();
    future_ = state_->ready.get_future().share();
    executor.run(
      std::move(request),
      [state = state_](std::uint32_t p) {
        std::lock_guard lock(state->mutex);
        if (state->got.done_calls > 0) state->got.progress_after_done = true;
        state->got.progress.push_back(p);
      },
      [state = state_](http_run_result result) {
        std::lock_guard lock(state->mutex);
        if (++state->got.done_calls > 1) return;
        state->got.result = std::move(result);
        state->got.elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - state->started);
        state->got.done_thread = std::this_thread::get_id();
        state->ready.set_value();
      });
  }

  /// The outcome once `done` was called; fails the test after `limit`.
  outcome wait(std::chrono::milliseconds limit = 5000ms) {
    REQUIRE(future_.wait_for(limit) == std::future_status::ready);
    std::lock_guard lock(state_->mutex);
    return state_->got;
  }

  bool finished() const { return future_.wait_for(0ms) == std::future_status::ready; }

  std::size_t progress_reports() {
    std::lock_guard lock(state_->mutex);
    return state_->got.progress.size();
  }

private:
  struct shared {
    std::mutex mutex;
    steady::time_point started;
    std::promise<void> ready;
    outcome got;
  };
  std::shared_ptr<shared> state_;
  std::shared_future<void> future_;
};

std::uint32_t big_endian_u32(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i)
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto until = steady::now() + limit;
  while (!condition()) {
    if (steady::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

}  // namespace

TEST_CASE("http executor runs a job to success with rising progress and intact PNGs",
          "[http_executor]") {
  test::inference_server server;
  http_executor executor(options_for(server.base_url() + "/"));
  auto request = image_request();
  request.n = 2;
  request.seed = 9007199254740993ULL;  // 2^53 + 1: not representable as a double
  request.attempt = 2;
  watched_run run(executor, request);
  auto got = run.wait();

  REQUIRE(got.result.error.empty());
  CHECK(got.done_calls == 1);
  CHECK(got.done_thread != std::this_thread::get_id());
  CHECK_FALSE(got.progress_after_done);
  REQUIRE(got.progress.size() >= 2);
  for (std::size_t i = 1; i < got.progress.size(); ++i)
    CHECK(got.progress[i - 1] < got.progress[i]);
  CHECK(got.progress.front() == 0);
  CHECK(got.progress.back() <= 100);

  REQUIRE(got.result.outputs.size() == 2);
  for (std::uint32_t i = 0; i < 2; ++i) {
    const auto& output = got.result.outputs[i];
    CHECK(output.content_type == "image/png");
    REQUIRE(output.bytes.size() > 33);
    CHECK(output.bytes.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
    CHECK(output.bytes.compare(12, 4, "IHDR") == 0);
    CHECK(big_endian_u32(output.bytes, 16) == 96);
    CHECK(big_endian_u32(output.bytes, 20) == 64);
    // byte for byte what the server rendered
    kiln::media::render_request what{request.prompt, request.seed, 96, 64, i};
    CHECK(output.bytes == kiln::media::render_png(what));
  }

  auto runs = server.runs();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].job_id == "job_1");
  CHECK(runs[0].type == "image");
  CHECK(runs[0].model == "flux-dev");
  CHECK(runs[0].prompt == request.prompt);
  CHECK(runs[0].n == 2);
  CHECK(runs[0].width == 96);
  CHECK(runs[0].height == 64);
  CHECK(runs[0].seed == request.seed);
  CHECK(runs[0].attempt == 2);
  CHECK(runs[0].trace_id == request.trace_id);
  CHECK(runs[0].traceparent.rfind("00-" + request.trace_id + "-", 0) == 0);
  CHECK(runs[0].traceparent.size() == 55);
  for (const auto& r : server.requests()) CHECK(r.target.find("//") == std::string::npos);
  CHECK(executor.running() == 0);
}

TEST_CASE("http executor reports the error of a failed run", "[http_executor]") {
  test::inference_options o;
  o.run_time = 100ms;
  o.fail_with = "CUDA out of memory";
  test::inference_server server(o);
  http_executor executor(options_for(server.base_url()));
  watched_run run(executor, image_request());
  auto got = run.wait();
  CHECK(got.result.error == "inference server failed the run: CUDA out of memory");
  CHECK(got.result.outputs.empty());
}

TEST_CASE("http executor fails a run whose answer is over max_response_bytes", "[http_executor]") {
  test::inference_options o;
  o.run_time = 50ms;
  test::inference_server server(o);
  auto options = options_for(server.base_url());
  options.max_response_bytes = 2048;  // a 96 x 64 PNG in base64 is larger
  http_executor executor(options);
  watched_run run(executor, image_request());
  auto got = run.wait();
  CHECK(got.result.error ==
        "GET " + server.base_url() + "/v1/runs/run-1: HTTP 200 with a body over 2048 bytes");
}

TEST_CASE("http executor survives 503 answers to a few polls", "[http_executor]") {
  test::inference_options o;
  o.run_time = 150ms;
  o.poll_503s = 3;
  test::inference_server server(o);
  http_executor executor(options_for(server.base_url()));
  watched_run run(executor, image_request());
  auto got = run.wait();
  REQUIRE(got.result.error.empty());
  REQUIRE(got.result.outputs.size() == 1);
  CHECK(kiln::media::read_png_info(got.result.outputs[0].bytes).ok);
  std::size_t unavailable = 0;
  for (const auto& r : server.requests()) unavailable += r.status == 503;
  CHECK(unavailable == 3);
}

TEST_CASE("http executor fails a run after too many failed polls", "[http_executor]") {
  test::inference_options o;
  o.poll_503s = 1000;
  test::inference_server server(o);
  auto options = options_for(server.base_url());
  options.max_retries = 2;
  http_executor executor(options);
  watched_run run(executor, image_request());
  auto got = run.wait();
  CHECK(got.result.error ==
        "GET " + server.base_url() + "/v1/runs/run-1: HTTP 503: busy, try again (3 tries)");
}

TEST_CASE("http executor cancel reaches the server and answers at once", "[http_executor]") {
  test::inference_options o;
  o.run_time = 10s;
  test::inference_server server(o);
  http_executor executor(options_for(server.base_url()));
  watched_run run(executor, image_request("job_c"));
  REQUIRE(wait_until([&] { return run.progress_reports() > 0; }, 2000ms));  // created, polled
  auto asked = steady::now();
  executor.cancel("job_c");
  auto got = run.wait(1000ms);
  CHECK(steady::now() - asked < 200ms);
  CHECK(got.result.error == "canceled");
  REQUIRE(server.wait_for_cancels(1, 2000ms));
  CHECK(server.cancels() == std::vector<std::string>{"run-1"});
  CHECK(server.runs().at(0).canceled);
  CHECK(executor.running() == 0);
  executor.cancel("job_c");  // no longer running: nothing happens
  executor.cancel("job_unknown");
  executor.stop();  // joins the callback thread: every callback that will ever come has come
  CHECK(run.wait().done_calls == 1);  // no second `done`
  CHECK_FALSE(run.wait().progress_after_done);
}

TEST_CASE("http executor cancel before the run id is known deletes the run later",
          "[http_executor]") {
  test::inference_options o;
  o.create_delay = 500ms;
  o.run_time = 10s;
  test::inference_server server(o);
  http_executor executor(options_for(server.base_url()));
  watched_run run(executor, image_request("job_d"));
  REQUIRE(wait_until([&] { return !server.requests().empty(); }, 2000ms));  // POST is out
  auto asked = steady::now();
  executor.cancel("job_d");
  auto got = run.wait(1000ms);
  CHECK(steady::now() - asked < 250ms);  // not waiting for the create
  CHECK(got.result.error == "canceled");
  CHECK(server.cancels().empty());
  REQUIRE(server.wait_for_cancels(1, 2000ms));
  CHECK(server.cancels() == std::vector<std::string>{"run-1"});
}

TEST_CASE("http executor fails a run when the server is not listening", "[http_executor]") {
  auto url = "http://127.0.0.1:" + std::to_string(test::closed_port());
  auto options = options_for(url);
  options.max_retries = 2;
  http_executor executor(options);
  watched_run run(executor, image_request());
  auto got = run.wait();
  CHECK(got.result.error == "POST " + url + "/v1/runs: connection refused (3 tries)");
  CHECK(got.elapsed < 1000ms);
}

TEST_CASE("http executor fails a hanging create within call_timeout", "[http_executor]") {
  test::inference_options o;
  o.hang_creates = true;
  test::inference_server server(o);
  auto options = options_for(server.base_url());
  options.call_timeout = 300ms;
  http_executor executor(options);
  watched_run run(executor, image_request());
  auto got = run.wait();
  CHECK(got.result.error == "POST " + server.base_url() + "/v1/runs: timeout");
  CHECK(got.elapsed >= 250ms);
  CHECK(got.elapsed < 800ms);
  CHECK(server.requests().size() == 1);  // a create that may have arrived is not repeated
}

TEST_CASE("http executor retries hanging polls and then fails", "[http_executor]") {
  test::inference_options o;
  o.hang_polls = true;
  test::inference_server server(o);
  auto options = options_for(server.base_url());
  options.call_timeout = 200ms;
  options.max_retries = 1;
  http_executor executor(options);
  watched_run run(executor, image_request());
  auto got = run.wait();
  CHECK(got.result.error == "GET " + server.base_url() + "/v1/runs/run-1: timeout (2 tries)");
  CHECK(got.elapsed >= 400ms);
  CHECK(got.elapsed < 1200ms);
}

TEST_CASE("http executor reports a refused create with the server's message", "[http_executor]") {
  test::inference_options o;
  o.create_status = 400;
  test::inference_server server(o);
  http_executor executor(options_for(server.base_url()));
  watched_run run(executor, image_request());
  auto got = run.wait();
  CHECK(got.result.error ==
        "POST " + server.base_url() + "/v1/runs: HTTP 400: refused by the test");
}

TEST_CASE("http executor refuses a second run of a job in progress", "[http_executor]") {
  test::inference_options o;
  o.run_time = 150ms;
  test::inference_server server(o);
  http_executor executor(options_for(server.base_url()));
  watched_run first(executor, image_request("job_same"));
  watched_run second(executor, image_request("job_same"));
  CHECK(second.wait(1000ms).result.error == "a run of job job_same is already in progress");
  CHECK(first.wait().result.error.empty());
  CHECK(server.runs().size() == 1);
}

TEST_CASE("http executor stop ends runs in progress and later runs with stopped",
          "[http_executor]") {
  test::inference_options o;
  o.run_time = 10s;
  test::inference_server server(o);
  http_executor executor(options_for(server.base_url()));
  watched_run run(executor, image_request("job_s"));
  REQUIRE(wait_until([&] { return run.progress_reports() > 0; }, 2000ms));
  executor.stop();
  CHECK(run.finished());
  CHECK(run.wait(0ms).result.error == "stopped");
  watched_run late(executor, image_request("job_late"));
  CHECK(late.finished());
  CHECK(late.wait(0ms).result.error == "stopped");
  CHECK(server.cancels().empty());
}

TEST_CASE("http executor refuses a base_url that is not an http URL", "[http_executor]") {
  auto make = [](std::string url) {
    http_executor::options o;
    o.base_url = std::move(url);
    http_executor executor(o);
  };
  CHECK_THROWS_AS(make("ftp://127.0.0.1/"), std::invalid_argument);
  CHECK_THROWS_AS(make("127.0.0.1:8000"), std::invalid_argument);
  CHECK_THROWS_AS(make("http://127.0.0.1:8000/?x=1"), std::invalid_argument);
  CHECK_NOTHROW(make("http://127.0.0.1:8000/models/flux/"));
}
