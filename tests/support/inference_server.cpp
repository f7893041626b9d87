// The test inference server over POSIX sockets and one thread per connection (no Asio, to keep
// this TU cheap to compile), in the style of webhook_listener.cpp. A run's state is a function of
// the time since its POST: running with stepped progress, then succeeded (PNGs rendered on the
// first poll that sees it done) or failed; a DELETE makes it canceled.
#include "tests/support/inference_server.hpp"

#include "tests/support/loopback_server.hpp"

#include "devices/media/media_render.hpp"
#include "models/crypto.hpp"
#include "models/json_writer.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace kiln::test {

namespace {

using steady = std::chrono::steady_clock;

struct http_request {
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string header(const std::string& name) const {
    auto wanted = lowercase(name);
    for (const auto& [key, value] : headers)
      if (lowercase(key) == wanted) return value;
    return {};
  }
};

bool read_more(int fd, std::string& buffer) {
  char chunk[16384];
  for (;;) {
    auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool read_request(int fd, http_request& out) {
  std::string buffer;
  std::size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos)
    if (buffer.size() > 65536 || !read_more(fd, buffer)) return false;
  std::string head = buffer.substr(0, head_end);
  auto line_end = std::min(head.find("\r\n"), head.size());
  std::string line = head.substr(0, line_end);
  auto first = line.find(' ');
  auto second = line.find(' ', first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  out.method = line.substr(0, first);
  out.target = line.substr(first + 1, second - first - 1);
  std::size_t content_length = 0;
  std::size_t position = line_end + 2;
  while (position < head.size()) {
    auto end = std::min(head.find("\r\n", position), head.size());
    std::string header = head.substr(position, end - position);
    position = end + 2;
    auto colon = header.find(':');
    if (colon == std::string::npos) return false;
    std::string name = header.substr(0, colon);
    std::string value = header.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (lowercase(name) == "content-length") content_length = std::stoul(value);
    out.headers.emplace_back(std::move(name), std::move(value));
  }
  out.body = buffer.substr(head_end + 4);
  while (out.body.size() < content_length)
    if (!read_more(fd, out.body)) return false;
  return true;
}

std::string error_body(const std::string& message) {
  json_writer w;
  w.begin_object().field("error", message).end_object();
  return w.take();
}

/// GETs an "http://127.0.0.1:PORT/path" URL: the body, or "HTTP <status>".
std::string download(const std::string& url) {
  auto rest = url.substr(url.find("://") + 3);
  auto slash = rest.find('/');
  auto port = static_cast<std::uint16_t>(std::stoul(rest.substr(rest.find(':') + 1)));
  http_client client(port);
  auto answer = client.request("GET", rest.substr(slash));
  return answer.status == 200 ? answer.body : "HTTP " + std::to_string(answer.status);
}

}  // namespace

struct inference_server::impl {
  struct run_entry {
    inference_run record;
    steady::time_point created;
    std::string result;  ///< the terminal JSON, rendered once
  };

  inference_options options;
  std::unique_ptr<loopback_server> sockets;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::map<std::string, run_entry> runs;
  std::vector<std::string> run_order;
  std::vector<inference_request> requests;
  std::vector<std::string> cancels;
  std::uint32_t polls = 0;
  std::uint64_t next_id = 1;

  void serve(int fd) {
    http_request request;
    if (read_request(fd, request)) {
      std::size_t index;
      {
        std::lock_guard lock(mutex);
        index = requests.size();
        requests.push_back({request.method, request.target, 0});
      }
      std::string body;
      int status = handle(request, body);
      if (status > 0) {
        {
          std::lock_guard lock(mutex);
          requests[index].status = status;
        }
        std::string response =
          "HTTP/1.1 " + std::to_string(status) + " " + http_reason_phrase(status) + "\r\n";
        if (!body.empty()) response += "Content-Type: application/json\r\n";
        response +=
          "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        write_all(fd, response);
      } else {
        std::string ignored;
        while (read_more(fd, ignored)) ignored.clear();  // hang until the client gives up
      }
    }
  }

  /// The answer's status and body; 0 to hang.
  int handle(const http_request& request, std::string& body) {
    const std::string prefix = "/v1/runs";
    if (request.target == prefix) {
      if (request.method != "POST") return body = error_body("method not allowed"), 405;
      return create(request, body);
    }
    if (request.target.rfind(prefix + "/", 0) != 0) return body = error_body("no such route"), 404;
    std::string id = request.target.substr(prefix.size() + 1);
    if (request.method == "GET") return poll(id, body);
    if (request.method == "DELETE") return cancel(id, body);
    return body = error_body("method not allowed"), 405;
  }

  int create(const http_request& request, std::string& body) {
    if (options.hang_creates) return 0;
    if (options.create_status != 202)
      return body = error_body("refused by the test"), options.create_status;
    inference_run run;
    try {
      auto doc = json::parse(request.body);
      run.job_id = doc["job_id"].str();
      run.type = doc["type"].str();
      run.model = doc["model"].str();
      run.prompt = doc["prompt"].str();
      run.n = static_cast<std::uint32_t>(doc["n"].integer());
      run.width = static_cast<std::uint32_t>(doc["/params/width"].integer());
      run.height = static_cast<std::uint32_t>(doc["/params/height"].integer());
      run.duration_seconds = static_cast<std::uint32_t>(doc["/params/duration_seconds"].integer());
      run.seed = static_cast<std::uint64_t>(doc["/params/seed"].integer());
      run.attempt = static_cast<std::uint32_t>(doc["attempt"].integer());
      run.trace_id = doc["trace_id"].str();
      run.options = doc["options"].dump();
      if (doc.has("inputs")) {
        run.inputs = doc["inputs"].dump();
        for (std::size_t i = 0; i < doc["inputs"].size(); ++i)
          run.input_bytes.push_back(download(doc["inputs"][i]["url"].str()));
      }
    } catch (const std::exception& e) {
      return body = error_body(std::string("bad run: ") + e.what()), 400;
    }
    run.traceparent = request.header("traceparent");
    if (options.create_delay.count() > 0) std::this_thread::sleep_for(options.create_delay);
    std::lock_guard lock(mutex);
    run.id = "run-" + std::to_string(next_id++);
    body = R"({"id":")" + run.id + R"("})";
    run_order.push_back(run.id);
    auto id = run.id;
    runs[id] = {std::move(run), steady::now(), {}};
    return 202;
  }

  int poll(const std::string& id, std::string& body) {
    std::unique_lock lock(mutex);
    if (polls++ < options.poll_503s) return body = error_body("busy, try again"), 503;
    if (options.hang_polls) return 0;
    auto it = runs.find(id);
    if (it == runs.end()) return body = error_body("no such run"), 404;
    auto& entry = it->second;
    if (entry.record.canceled) return body = R"({"status":"canceled"})", 200;
    auto elapsed = steady::now() - entry.created;
    if (elapsed < options.run_time) {
      auto steps = std::max<std::uint32_t>(options.progress_steps, 1);
      auto step = static_cast<std::uint32_t>(elapsed * steps / options.run_time);
      body = R"({"status":"running","progress":)" + std::to_string(step * 100 / steps) + "}";
      return 200;
    }
    if (entry.result.empty()) entry.result = finished(entry.record);
    body = entry.result;
    return 200;
  }

  std::string finished(const inference_run& run) const {
    json_writer w;
    w.begin_object();
    if (!options.fail_with.empty()) {
      w.field("status", "failed").field("error", options.fail_with);
    } else {
      w.field("status", "succeeded").key("outputs").begin_array();
      for (std::uint32_t i = 0; i < run.n; ++i) {
        media::render_request what{run.prompt, run.seed, run.width ? run.width : 64,
                                   run.height ? run.height : 64, i};
        w.begin_object()
          .field("content_type", "image/png")
          .field("data_base64", crypto::base64(media::render_png(what)))
          .end_object();
      }
      w.end_array();
      if (options.credits_used >= 0) w.field("credits_used", options.credits_used);
    }
    return w.end_object().take();
  }

  int cancel(const std::string& id, std::string& body) {
    std::lock_guard lock(mutex);
    cancels.push_back(id);
    changed.notify_all();
    auto it = runs.find(id);
    if (it == runs.end()) return body = error_body("no such run"), 404;
    it->second.record.canceled = true;
    return 204;
  }
};

inference_server::inference_server(inference_options options) : impl_(new impl) {
  impl_->options = std::move(options);
  impl_->sockets = std::make_unique<loopback_server>(
    [state = impl_.get()](int fd) { state->serve(fd); }, "inference_server");
}

inference_server::~inference_server() { stop(); }

std::uint16_t inference_server::port() const { return impl_->sockets->port(); }

std::string inference_server::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

std::vector<inference_run> inference_server::runs() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<inference_run> result;
  for (const auto& id : impl_->run_order) result.push_back(impl_->runs.at(id).record);
  return result;
}

std::vector<inference_request> inference_server::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::vector<std::string> inference_server::cancels() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->cancels;
}

bool inference_server::wait_for_cancels(std::size_t count, std::chrono::milliseconds limit) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, limit, [&] { return impl_->cancels.size() >= count; });
}

void inference_server::stop() { impl_->sockets->stop(); }

}  // namespace kiln::test
