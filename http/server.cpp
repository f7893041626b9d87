// Beast listener and session. The shape follows Beast's async server examples: the listener
// accepts onto a new strand, and a session pairs do_read/on_read and do_write/on_write, staying
// alive through the shared_ptr bound into each pending handler.
//
// Stopping drains: the acceptor closes, idle keep-alive connections close at once, a connection
// with a request under way answers it (with `Connection: close`) and then closes, and stop()
// returns as soon as the last connection is gone, or when the grace period ends. A work guard
// keeps the io threads running meanwhile, so answers that arrive from the actors still run.
#include "http/server.hpp"

#include "config/limits.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/file_body.hpp>

#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace kiln::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class session;

/// The open connections, so that stop() can close the idle ones and wait for the rest. Shared
/// with each session, whose destructor may run as the io_context is torn down.
struct session_registry {
  std::mutex mutex;
  std::list<std::weak_ptr<session>> sessions;
};

struct server::impl {
  server_options options;
  handler on_request;
  net::io_context io{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> accepting{false};
  std::shared_ptr<session_registry> registry = std::make_shared<session_registry>();

  void do_accept();
  void start_session(tcp::socket socket);
  std::size_t open_sessions();
};

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, server::impl& owner)
    : stream_(std::move(socket)), owner_(owner), registry_(owner.registry) {}

  ~session() {
    remove_body_file();
    std::lock_guard lock(registry_->mutex);
    registry_->sessions.erase(registered_);
  }

  void run(std::list<std::weak_ptr<session>>::iterator registered) {
    registered_ = registered;
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

  /// Called once when the server stops: an idle connection closes now, a busy one after its
  /// answer.
  void drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      self->keep_alive_ = false;
      bool idle = !self->busy_ && !(self->header_parser_ && self->header_parser_->got_some()) &&
                  !self->parser_ && !self->file_parser_;
      if (idle) {
        beast::error_code ignored;
        self->stream_.socket().cancel(ignored);
      }
    });
  }

private:
  /// Reads the header first; its method and target decide where the body goes (memory or a
  /// temporary file) and under which limit.
  void do_read() {
    if (stopping_) return do_close();
    header_parser_.emplace();
    // The body's parser sets the route's limit (boost::none would refuse every body here).
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    header_parser_->header_limit(static_cast<std::uint32_t>(limits::request_header_bytes_max));
    stream_.expires_after(owner_.options.idle_timeout);
    bhttp::async_read_header(
      stream_, buffer_, *header_parser_,
      beast::bind_front_handler(&session::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read(ec, 0);
    auto& head = header_parser_->get();
    std::uint64_t streamed = 0;
    if (owner_.options.streamed_body_limit)
      streamed = owner_.options.streamed_body_limit(
        std::string_view(head.method_string().data(), head.method_string().size()),
        std::string_view(head.target().data(), head.target().size()));
    std::uint64_t limit = streamed > 0 ? streamed : limits::request_body_bytes_max;
    if (auto length = header_parser_->content_length(); length && *length > limit)
      return on_read(bhttp::error::body_limit, 0);  // refused before a byte of it is read
    if (streamed == 0) {
      parser_.emplace(std::move(*header_parser_));
      parser_->body_limit(limits::request_body_bytes_max);
    } else {
      file_parser_.emplace(std::move(*header_parser_));
      file_parser_->body_limit(streamed);
      body_file_ = owner_.options.streamed_body_dir + "/" + unique_name();
      file_parser_->get().body().open(body_file_.c_str(), beast::file_mode::write_new, ec);
      if (ec) {
        body_file_.clear();
        return on_read(bhttp::error::bad_target, 0);
      }
    }
    header_parser_.reset();
    if (is_expecting_continue()) return send_continue();
    read_body();
  }

  static std::string unique_name() {
    static std::atomic<std::uint64_t> counter{0};
    return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + ".part";
  }

  bool is_expecting_continue() {
    const auto& fields = parser_ ? parser_->get().base() : file_parser_->get().base();
    auto expect = fields[bhttp::field::expect];
    return expect.size() == 12 && strncasecmp(expect.data(), "100-continue", 12) == 0;
  }

  /// RFC 9110 10.1.1: a client that waits for 100 Continue (curl does for large bodies) gets it.
  void send_continue() {
    static const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(interim),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->on_read(ec, 0);
                       self->read_body();
                     });
  }

  void read_body() {
    if (parser_)
      return bhttp::async_read(stream_, buffer_, *parser_,
                               beast::bind_front_handler(&session::on_read, shared_from_this()));
    read_file_body();
  }

  /// A streamed body is read piece by piece, each piece under the idle timeout, so a large file
  /// over a slow link is cut off only when it stalls, not when it takes long.
  void read_file_body() {
    stream_.expires_after(owner_.options.idle_timeout);
    bhttp::async_read_some(stream_, buffer_, *file_parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                             if (ec || self->file_parser_->is_done()) return self->on_read(ec, n);
                             self->read_file_body();
                           });
  }

  /// The target of the request being read, as far as it was read.
  std::string_view target_read() const {
    auto target = header_parser_ ? header_parser_->get().target()
                  : parser_      ? parser_->get().target()
                  : file_parser_ ? file_parser_->get().target()
                                 : beast::string_view();
    return std::string_view(target.data(), target.size());
  }

  void on_read(beast::error_code ec, std::size_t) {
    std::uint64_t streamed_bytes = 0;
    if (file_parser_) {
      file_parser_->get().body().close();
      struct stat written {};
      if (!ec && ::stat(body_file_.c_str(), &written) == 0)
        streamed_bytes = static_cast<std::uint64_t>(written.st_size);
      if (ec) remove_body_file();  // a body cut short or over the limit: nothing kept
    }
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset)
      return do_close();
    if (ec) {
      int status = ec == bhttp::error::body_limit     ? 413
                   : ec == bhttp::error::header_limit ? 431
                                                      : 400;
      keep_alive_ = false;
      // The request line is read before the headers and body that broke the limit.
      return do_write(owner_.options.limit_response(status, target_read()));
    }
    request plain;
    if (parser_) {
      plain = to_request(parser_->get());
      plain.body = std::move(parser_->get().body());
    } else {
      plain = to_request(file_parser_->get());
      plain.body_file = body_file_;
      plain.body_file_bytes = streamed_bytes;
    }
    plain.listener = owner_.options.name;
    head_ = plain.method == "HEAD";
    busy_ = true;
    stream_.expires_never();  // the handler's own timeouts bound the wait
    owner_.in_flight.fetch_add(1);
    auto self = shared_from_this();
    owner_.on_request(std::move(plain), [self](response answer) {
      net::post(self->stream_.get_executor(), [self, answer = std::move(answer)]() mutable {
        self->owner_.in_flight.fetch_sub(1);
        self->do_write(std::move(answer));
      });
    });
  }

  /// The request as a plain value (method, target, lower-case headers), without its body.
  template <class Message>
  request to_request(const Message& message) {
    keep_alive_ = message.keep_alive() && !stopping_;
    request plain;
    plain.method = std::string(message.method_string());
    plain.target = std::string(message.target());
    plain.headers.reserve(8);
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      plain.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    return plain;
  }

  /// A streamed body the handler did not move away is not kept.
  void remove_body_file() {
    if (body_file_.empty()) return;
    ::unlink(body_file_.c_str());
    body_file_.clear();
  }

  void do_write(response answer) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(answer.status));
    response_.set(bhttp::field::content_type, answer.content_type);
    for (auto& [name, value] : answer.headers) response_.set(name, value);
    response_.keep_alive(keep_alive_);
    if (!answer.body_file.empty() && !head_) return write_file(std::move(answer));
    if (head_) {
      // RFC 9110: a HEAD answer has the GET answer's headers and no content.
      response_.content_length(answer.content_length.value_or(answer.body.size()));
    } else {
      response_.body() = std::move(answer.body);
      response_.prepare_payload();
    }
    stream_.expires_after(owner_.options.idle_timeout);
    bhttp::async_write(stream_, response_,
                       beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  /// A file answer is sent from disk piece by piece, each piece under the idle timeout.
  void write_file(response answer) {
    beast::error_code ec;
    file_response_.emplace();
    auto& out = *file_response_;
    out.base() = response_.base();
    out.body().open(answer.body_file.c_str(), beast::file_mode::scan, ec);
    if (ec) {
      file_response_.reset();
      response answer_missing;
      answer_missing.status = 404;
      answer_missing.body = R"({"error":{"code":"not_found","message":"no such file"}})";
      return do_write(std::move(answer_missing));
    }
    out.prepare_payload();
    file_serializer_.emplace(out);
    write_file_piece();
  }

  void write_file_piece() {
    stream_.expires_after(owner_.options.idle_timeout);
    bhttp::async_write_some(stream_, *file_serializer_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec || self->file_serializer_->is_done()) {
                                self->file_serializer_.reset();
                                self->file_response_.reset();
                                return self->on_write(ec, n);
                              }
                              self->write_file_piece();
                            });
  }

  void on_write(beast::error_code ec, std::size_t) {
    remove_body_file();
    parser_.reset();
    file_parser_.reset();
    busy_ = false;
    head_ = false;
    if (ec || !keep_alive_) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::request_parser<bhttp::file_body>> file_parser_;
  std::optional<bhttp::response<bhttp::file_body>> file_response_;  ///< an answer from disk
  std::optional<bhttp::response_serializer<bhttp::file_body>> file_serializer_;
  std::string body_file_;  ///< the streamed body of the request under way, if any
  bhttp::response<bhttp::string_body> response_;
  bool keep_alive_ = true;
  bool head_ = false;      ///< the request being answered is a HEAD
  bool busy_ = false;      ///< a request is read and not yet answered
  bool stopping_ = false;  ///< the server stops: answer what is under way, then close
  server::impl& owner_;
  std::shared_ptr<session_registry> registry_;
  std::list<std::weak_ptr<session>>::iterator registered_;
};

void server::impl::start_session(tcp::socket socket) {
  auto created = std::make_shared<session>(std::move(socket), *this);
  std::list<std::weak_ptr<session>>::iterator registered;
  {
    std::lock_guard lock(registry->mutex);
    registered = registry->sessions.insert(registry->sessions.end(), created);
  }
  created->run(registered);
  if (!accepting.load()) created->drain();  // stop() began while this one was being accepted
}

std::size_t server::impl::open_sessions() {
  std::lock_guard lock(registry->mutex);
  return registry->sessions.size();
}

void server::impl::do_accept() {
  acceptor->async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (!accepting.load()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      start_session(std::move(socket));
    }
    do_accept();
  });
}

server::server(server_options options, handler on_request) : impl_(new impl) {
  impl_->options = std::move(options);
  impl_->on_request = std::move(on_request);
}

server::~server() { stop(std::chrono::milliseconds(0)); }

std::uint16_t server::start(std::string& error) {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) {
    error = "invalid listen address " + impl_->options.host + ": " + ec.message();
    return 0;
  }
  tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor.emplace(impl_->io);
  if (!acceptor.open(endpoint.protocol(), ec) &&
      !acceptor.set_option(net::socket_base::reuse_address(true), ec) &&
      !acceptor.bind(endpoint, ec) &&
      !acceptor.listen(net::socket_base::max_listen_connections, ec)) {
    impl_->accepting = true;
    impl_->work.emplace(impl_->io.get_executor());
    impl_->do_accept();
    for (std::uint32_t i = 0; i < impl_->options.threads; ++i)
      impl_->threads.emplace_back([this] { impl_->io.run(); });
    return acceptor.local_endpoint().port();
  }
  error = "cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) +
          ": " + ec.message();
  return 0;
}

void server::stop(std::chrono::milliseconds grace) {
  if (impl_->threads.empty()) return;
  impl_->accepting = false;
  net::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor->close(ignored);
  });
  std::vector<std::shared_ptr<session>> open;
  {
    std::lock_guard lock(impl_->registry->mutex);
    for (auto& weak : impl_->registry->sessions)
      if (auto alive = weak.lock()) open.push_back(std::move(alive));
  }
  for (auto& s : open) s->drain();
  open.clear();  // a session's last handler, not this list, decides when it closes
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->open_sessions() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl_->work.reset();
  impl_->io.stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
}

std::size_t server::in_flight() const { return impl_->in_flight.load(); }

}  // namespace kiln::http
