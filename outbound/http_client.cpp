// Beast client for webhook deliveries and the http executor. The scheduler (per-endpoint FIFOs, a
// round-robin ring of endpoints that may start another attempt, global and per-endpoint counts)
// lives under one mutex in impl; each attempt runs on its own strand: lookup, address check,
// connect, TLS handshake, write, read, all under one steady_timer deadline that closes the socket.
#include "outbound/http_client.hpp"

#include "outbound/detail/http_rules.hpp"
#include "outbound/target.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace kiln::outbound {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

using detail::describe;
using detail::is_reserved_header;
using detail::is_token;
using detail::valid_header;

namespace {

constexpr std::uint32_t response_header_bytes_max = 16 * 1024;

using steady = std::chrono::steady_clock;

/// A post waiting for, or holding, a slot.
struct pending {
  outbound_request request;
  target parsed;
  std::function<void(outbound_result)> done;
};

outbound_result failure(std::string error) {
  outbound_result result;
  result.error = std::move(error);
  return result;
}

void call_done(std::function<void(outbound_result)>& done, outbound_result result) {
  try {
    done(std::move(result));
  } catch (...) {
    // documented: `done` must not throw; an io thread must survive a careless callback
  }
}

}  // namespace

class attempt;

struct http_client::impl {
  struct endpoint_state {
    std::uint32_t active = 0;
    std::deque<pending> waiting;
    bool in_ring = false;
    std::list<std::string>::iterator ring_position;  ///< valid while in_ring
  };

  explicit impl(client_options opts)
    : options(std::move(opts)), resolvers(options.resolver_lanes) {}

  /// Moves waiting posts into free slots, endpoints taking turns. Caller holds `mutex`.
  void fill(std::vector<std::shared_ptr<attempt>>& to_start);
  std::shared_ptr<attempt> launch(const std::string& key, pending job);
  /// An attempt ended: frees its slots, starts what may start, then calls `done`.
  void complete(const std::string& key, attempt* finished, outbound_result result,
                std::function<void(outbound_result)> done);
  /// Calls `done` on a client thread, or on this one once stop() has begun.
  void answer_later(std::function<void(outbound_result)> done, outbound_result result);

  client_options options;
  ssl::context tls{ssl::context::tls_client};
  net::io_context io{static_cast<int>(std::max<std::uint32_t>(options.threads, 1))};
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  resolver_pool resolvers;

  mutable std::mutex mutex;
  bool stopped = false;
  std::size_t running = 0;
  std::size_t waiting = 0;
  std::unordered_map<std::string, endpoint_state> endpoints;
  /// Endpoints with waiting posts and a free endpoint slot, in the order they get the next free
  /// global slot. An endpoint goes to the back when it gets a slot or one of its attempts ends,
  /// so a freed slot goes to another endpoint first.
  std::list<std::string> ring;
  std::unordered_map<attempt*, std::weak_ptr<attempt>> active;
};

class attempt : public std::enable_shared_from_this<attempt> {
public:
  attempt(http_client::impl& owner, std::string key, pending job)
    : owner_(owner),
      key_(std::move(key)),
      job_(std::move(job)),
      strand_(net::make_strand(owner.io)),
      deadline_(strand_) {}

  void start() {
    net::post(strand_, [self = shared_from_this()] { self->begin(); });
  }

  /// Ends the attempt at once with `error` (stop()).
  void abort(std::string error) {
    net::post(strand_,
              [self = shared_from_this(), error = std::move(error)] { self->fail(error); });
  }

private:
  void begin() {
    if (finished_) return;
    started_ = steady::now();
    deadline_.expires_at(started_ + owner_.options.timeout);
    deadline_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
      if (!ec) self->fail("timeout");
    });
    const auto& host = job_.parsed.host;
    if (is_ip_literal(host)) return on_resolve({{host}, {}});
    owner_.resolvers.resolve(
      host, owner_.options.timeout, [self = shared_from_this()](resolve_result found) {
        net::post(self->strand_, [self, found = std::move(found)] { self->on_resolve(found); });
      });
  }

  void on_resolve(const resolve_result& found) {
    if (finished_) return;
    if (!found.error.empty()) return fail(found.error);
    std::vector<tcp::endpoint> endpoints;
    for (const auto& text : found.addresses) {
      beast::error_code ec;
      auto address = net::ip::make_address(text, ec);
      if (ec) continue;
      // DNS-rebinding defence: only addresses that pass the check here are connected to, and a
      // name with any forbidden address is refused as a whole, as check_target() does.
      if (!owner_.options.allow_private_targets) {
        auto reason = address.is_v4() ? forbidden_reason_v4(address.to_v4().to_bytes())
                                      : forbidden_reason_v6(address.to_v6().to_bytes());
        if (!reason.empty()) return fail("forbidden address");
      }
      endpoints.emplace_back(address, job_.parsed.port);
    }
    if (endpoints.empty()) return fail("host has no address");

    if (job_.parsed.scheme == "https") {
      tls_.emplace(strand_, owner_.tls);
      if (!configure_tls()) return fail("tls: cannot set the expected host name");
    } else {
      plain_.emplace(strand_);
    }
    lowest().async_connect(
      endpoints, [self = shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
        self->on_connect(ec);
      });
  }

  /// SNI for names (never for IP literals, RFC 6066), and the name or IP address the
  /// certificate must carry, checked by OpenSSL during chain verification.
  bool configure_tls() {
    SSL* handle = tls_->native_handle();
    const auto& host = job_.parsed.host;
    if (is_ip_literal(host))
      return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), host.c_str()) == 1;
    if (SSL_set_tlsext_host_name(handle, host.c_str()) != 1) return false;
    X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(handle), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(handle, host.c_str()) == 1;
  }

  void on_connect(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) return fail(describe(ec));
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return write();
    tls_->async_handshake(
      ssl::stream_base::client,
      [self = shared_from_this()](const beast::error_code& ec) { self->on_handshake(ec); });
  }

  void on_handshake(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) {
      long verify = SSL_get_verify_result(tls_->native_handle());
      if (verify != X509_V_OK)
        return fail(std::string("tls: certificate verify failed: ") +
                    X509_verify_cert_error_string(verify));
      if (ec.category() == net::error::get_ssl_category()) return fail(describe(ec));
      if (ec == net::error::eof || ec == ssl::error::stream_truncated)
        return fail("tls: connection closed during the handshake");
      return fail("tls: handshake failed: " + describe(ec));
    }
    write();
  }

  void write() {
    auto verb = bhttp::string_to_verb(job_.request.method);
    if (verb == bhttp::verb::unknown) request_.method_string(job_.request.method);
    else request_.method(verb);
    request_.target(job_.parsed.path_and_query);
    request_.version(11);
    request_.set(bhttp::field::host, host_header(job_.parsed));
    request_.set(bhttp::field::user_agent, "kiln-webhooks/1");
    if (!job_.request.body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put ||
        verb == bhttp::verb::patch)
      request_.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : job_.request.headers)
      if (!is_reserved_header(name)) request_.set(name, value);
    request_.set(bhttp::field::connection, "close");
    request_.body() = std::move(job_.request.body);
    request_.prepare_payload();
    auto on_write = [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
      self->on_write(ec);
    };
    if (tls_) bhttp::async_write(*tls_, request_, std::move(on_write));
    else bhttp::async_write(*plain_, request_, std::move(on_write));
  }

  void on_write(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) return fail(describe(ec));
    read();
  }

  /// The header first, then the body: Beast 1.74's eager read (async_read) skips the
  /// Content-Length check against body_limit when the body arrives in the same segment as the
  /// header (the error is overwritten by the body's start), so that check is made here.
  void read() {
    parser_.emplace();
    parser_->body_limit(owner_.options.max_response_body);
    parser_->header_limit(response_header_bytes_max);
    if (request_.method() == bhttp::verb::head) parser_->skip(true);  // no body follows
    auto on_header = [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
      self->on_header(ec);
    };
    if (tls_) bhttp::async_read_header(*tls_, buffer_, *parser_, std::move(on_header));
    else bhttp::async_read_header(*plain_, buffer_, *parser_, std::move(on_header));
  }

  void on_header(const beast::error_code& ec) {
    if (finished_) return;
    if (ec || parser_->is_done()) return on_read(ec);
    if (auto length = parser_->content_length();
        length && *length > owner_.options.max_response_body)
      return on_read(bhttp::error::body_limit);
    auto on_read = [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
      self->on_read(ec);
    };
    if (tls_) bhttp::async_read(*tls_, buffer_, *parser_, std::move(on_read));
    else bhttp::async_read(*plain_, buffer_, *parser_, std::move(on_read));
  }

  void on_read(const beast::error_code& ec) {
    if (finished_) return;
    // Over the body cap: the status line and headers are complete, which is all a delivery needs.
    bool too_large = ec == bhttp::error::body_limit && parser_->is_header_done();
    if (ec && !too_large) return fail(describe(ec));
    auto& message = parser_->get();
    int status = static_cast<int>(message.result_int());
    if (status >= 100 && status < 200 && status != 101) return read();  // interim: read on
    outbound_result result;
    result.status = status;
    if (auto it = message.find(bhttp::field::retry_after); it != message.end())
      result.retry_after = std::string(it->value());
    result.body_too_large = too_large;
    if (job_.request.keep_body && !too_large) result.body = std::move(message.body());
    finish(std::move(result));
  }

  void fail(std::string error) { finish(failure(std::move(error))); }

  void finish(outbound_result result) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    if (tls_ || plain_) lowest().close();  // aborts any operation still pending
    if (started_ != steady::time_point{})
      result.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_).count();
    owner_.complete(key_, this, std::move(result), std::move(job_.done));
  }

  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  http_client::impl& owner_;
  std::string key_;
  pending job_;
  net::strand<net::io_context::executor_type> strand_;
  net::steady_timer deadline_;
  steady::time_point started_{};
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  bhttp::request<bhttp::string_body> request_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  bool finished_ = false;
};

std::shared_ptr<attempt> http_client::impl::launch(const std::string& key, pending job) {
  auto started = std::make_shared<attempt>(*this, key, std::move(job));
  active.emplace(started.get(), started);
  ++running;
  ++endpoints[key].active;
  return started;
}

void http_client::impl::fill(std::vector<std::shared_ptr<attempt>>& to_start) {
  while (!stopped && running < options.max_in_flight && !ring.empty()) {
    std::string key = std::move(ring.front());
    ring.pop_front();
    auto found = endpoints.find(key);
    if (found == endpoints.end()) continue;
    auto& state = found->second;
    state.in_ring = false;
    if (state.waiting.empty() || state.active >= options.max_per_endpoint) continue;
    pending job = std::move(state.waiting.front());
    state.waiting.pop_front();
    --waiting;
    to_start.push_back(launch(key, std::move(job)));
    if (!state.waiting.empty() && state.active < options.max_per_endpoint) {
      state.in_ring = true;
      state.ring_position = ring.insert(ring.end(), std::move(key));
    }
  }
}

void http_client::impl::complete(const std::string& key, attempt* finished, outbound_result result,
                                 std::function<void(outbound_result)> done) {
  std::vector<std::shared_ptr<attempt>> to_start;
  {
    std::lock_guard lock(mutex);
    active.erase(finished);
    --running;
    auto it = endpoints.find(key);
    auto& state = it->second;
    --state.active;
    if (!state.waiting.empty()) {  // to the back: the slot just freed goes to others first
      if (state.in_ring) ring.erase(state.ring_position);
      state.in_ring = true;
      state.ring_position = ring.insert(ring.end(), key);
    }
    if (state.active == 0 && state.waiting.empty()) endpoints.erase(it);
    fill(to_start);
  }
  for (auto& next : to_start) next->start();
  call_done(done, std::move(result));
}

void http_client::impl::answer_later(std::function<void(outbound_result)> done,
                                     outbound_result result) {
  {
    std::lock_guard lock(mutex);
    if (!stopped) {  // queued before stop() releases the io threads, so it runs
      net::post(io, [done = std::move(done), result = std::move(result)]() mutable {
        call_done(done, std::move(result));
      });
      return;
    }
  }
  call_done(done, std::move(result));
}

http_client::http_client(client_options options) : impl_(new impl(std::move(options))) {
  auto& tls = impl_->tls;
  beast::error_code ec;
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  tls.set_default_verify_paths(ec);  // a machine without a CA store still gets extra_ca_file
  if (!impl_->options.extra_ca_file.empty()) {
    tls.load_verify_file(impl_->options.extra_ca_file, ec);
    if (ec)
      throw std::invalid_argument("outbound client: cannot load extra_ca_file " +
                                  impl_->options.extra_ca_file + ": " + ec.message());
  }
  tls.set_verify_mode(ssl::verify_peer);
  auto count = std::max<std::uint32_t>(impl_->options.threads, 1);
  for (std::uint32_t i = 0; i < count; ++i)
    impl_->threads.emplace_back([io = &impl_->io] { io->run(); });
}

http_client::~http_client() { stop(); }

void http_client::post(outbound_request request, std::function<void(outbound_result)> done) {
  auto& state = *impl_;
  auto parsed = parse_url(request.url);
  if (!parsed) return state.answer_later(std::move(done), failure("invalid url"));
  if (!is_token(request.method))
    return state.answer_later(std::move(done), failure("invalid method"));
  for (const auto& [name, value] : request.headers)
    if (!valid_header(name, value))
      return state.answer_later(std::move(done), failure("invalid header"));

  auto key = endpoint_key(*parsed);
  pending job{std::move(request), std::move(*parsed), std::move(done)};
  std::vector<std::shared_ptr<attempt>> to_start;
  {
    std::unique_lock lock(state.mutex);
    if (state.stopped) {
      lock.unlock();
      call_done(job.done, failure("stopped"));
      return;
    }
    auto& endpoint = state.endpoints[key];
    if (state.running < state.options.max_in_flight &&
        endpoint.active < state.options.max_per_endpoint && endpoint.waiting.empty()) {
      to_start.push_back(state.launch(key, std::move(job)));
    } else {
      endpoint.waiting.push_back(std::move(job));
      ++state.waiting;
      if (endpoint.active < state.options.max_per_endpoint && !endpoint.in_ring) {
        endpoint.in_ring = true;
        endpoint.ring_position = state.ring.insert(state.ring.end(), key);
      }
      state.fill(to_start);
    }
  }
  for (auto& next : to_start) next->start();
}

void http_client::stop() {
  auto& state = *impl_;
  std::vector<pending> dropped;
  std::vector<std::shared_ptr<attempt>> running;
  {
    std::lock_guard lock(state.mutex);
    if (state.stopped) return;
    state.stopped = true;
    for (auto& [key, endpoint] : state.endpoints)
      for (auto& job : endpoint.waiting) dropped.push_back(std::move(job));
    for (auto& [key, endpoint] : state.endpoints) {
      endpoint.waiting.clear();
      endpoint.in_ring = false;
    }
    state.ring.clear();
    state.waiting = 0;
    for (auto& [pointer, weak] : state.active)
      if (auto strong = weak.lock()) running.push_back(std::move(strong));
  }
  // Everything below is queued while the work guard still holds the io threads, so it runs.
  for (auto& job : dropped)
    net::post(state.io,
              [done = std::move(job.done)]() mutable { call_done(done, failure("stopped")); });
  for (auto& each : running) each->abort("stopped");
  running.clear();
  state.resolvers.stop();  // lookups in progress answer "stopped"; their attempts already ended
  state.work.reset();
  for (auto& thread : state.threads) thread.join();
}

std::size_t http_client::in_flight() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->running;
}

std::size_t http_client::queued() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->waiting;
}

}  // namespace kiln::outbound
