// The test receiver over POSIX sockets and OpenSSL's SSL_* calls (no Asio, to keep this TU
// cheap to compile). stop() unblocks accept() and recv() with shutdown(2).
#include "tests/support/webhook_listener.hpp"

#include "tests/support/loopback_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace kiln::test {

namespace {

/// One accepted connection, plain or TLS.
class connection {
public:
  connection(int fd, SSL* tls) : fd_(fd), tls_(tls) {}
  ~connection() {
    if (tls_) SSL_free(tls_);
  }

  bool handshake() { return !tls_ || SSL_accept(tls_) == 1; }

  /// Appends what arrives to `buffer`; false at end of stream or on error.
  bool read_more(std::string& buffer) {
    char chunk[16384];
    for (;;) {
      int n = tls_ ? SSL_read(tls_, chunk, sizeof chunk)
                   : static_cast<int>(::recv(fd_, chunk, sizeof chunk, 0));
      if (n < 0 && !tls_ && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  }

  void write_all(std::string_view bytes) {
    while (!bytes.empty()) {
      int n = tls_ ? SSL_write(tls_, bytes.data(), static_cast<int>(bytes.size()))
                   : static_cast<int>(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL));
      if (n < 0 && !tls_ && errno == EINTR) continue;
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

private:
  int fd_;
  SSL* tls_;
};

bool parse_request(connection& conn, received_request& out) {
  std::string buffer;
  std::size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos)
    if (buffer.size() > 65536 || !conn.read_more(buffer)) return false;
  std::string head = buffer.substr(0, head_end);
  auto line_end = head.find("\r\n");
  std::string request_line = head.substr(0, line_end);
  auto first_space = request_line.find(' ');
  auto second_space = request_line.find(' ', first_space + 1);
  if (first_space == std::string::npos || second_space == std::string::npos) return false;
  out.method = request_line.substr(0, first_space);
  out.target = request_line.substr(first_space + 1, second_space - first_space - 1);
  std::size_t content_length = 0;
  std::size_t position = line_end == std::string::npos ? head.size() : line_end + 2;
  while (position < head.size()) {
    auto end = head.find("\r\n", position);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(position, end - position);
    position = end + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) return false;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    while (!value.empty() && value.back() == ' ') value.pop_back();
    if (lowercase(name) == "content-length") content_length = std::stoul(value);
    out.headers.emplace_back(std::move(name), std::move(value));
  }
  out.body = buffer.substr(head_end + 4);
  while (out.body.size() < content_length)
    if (!conn.read_more(out.body)) return false;
  out.at = std::chrono::steady_clock::now();
  return true;
}

}  // namespace

std::string received_request::header(const std::string& name) const {
  auto wanted = lowercase(name);
  for (const auto& [key, value] : headers)
    if (lowercase(key) == wanted) return value;
  return {};
}

std::size_t received_request::count(const std::string& name) const {
  auto wanted = lowercase(name);
  return static_cast<std::size_t>(
    std::count_if(headers.begin(), headers.end(),
                  [&](const auto& entry) { return lowercase(entry.first) == wanted; }));
}

struct webhook_listener::impl {
  listener_options options;
  SSL_CTX* tls = nullptr;
  std::unique_ptr<loopback_server> sockets;

  mutable std::mutex mutex;
  std::vector<received_request> requests;

  void serve(int fd) {
    SSL* ssl = nullptr;
    if (tls) {
      ssl = SSL_new(tls);
      SSL_set_fd(ssl, fd);
    }
    {
      connection conn(fd, ssl);
      if (options.mode != listener_mode::close_at_once && conn.handshake()) {
        received_request request;
        if (parse_request(conn, request)) {
          int status = options.status;
          {
            std::lock_guard lock(mutex);
            if (requests.size() < options.script.size()) status = options.script[requests.size()];
            requests.push_back(request);
          }
          if (options.mode == listener_mode::respond && status >= 0) {
            std::string response =
              "HTTP/1.1 " + std::to_string(status) + " " + http_reason_phrase(status) + "\r\n";
            for (const auto& [name, value] : options.headers)
              response += name + ": " + value + "\r\n";
            response += "Content-Length: " + std::to_string(options.body.size()) +
                        "\r\nConnection: close\r\n\r\n" + options.body;
            conn.write_all(response);
          } else {
            std::string ignored;
            while (conn.read_more(ignored)) ignored.clear();  // until the client gives up
          }
        }
      }
    }
  }
};

webhook_listener::webhook_listener(listener_options options) : impl_(new impl) {
  impl_->options = std::move(options);
  // SSL_write to a peer that left raises SIGPIPE (OpenSSL writes without MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  if (!impl_->options.tls_cert_file.empty()) {
    impl_->tls = SSL_CTX_new(TLS_server_method());
    if (!impl_->tls ||
        SSL_CTX_use_certificate_chain_file(impl_->tls, impl_->options.tls_cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(impl_->tls, impl_->options.tls_key_file.c_str(),
                                    SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("webhook_listener: cannot load the TLS certificate or key");
  }
  impl_->sockets = std::make_unique<loopback_server>(
    [state = impl_.get()](int fd) { state->serve(fd); }, "webhook_listener");
}

webhook_listener::~webhook_listener() {
  stop();
  if (impl_->tls) SSL_CTX_free(impl_->tls);
}

std::uint16_t webhook_listener::port() const { return impl_->sockets->port(); }

std::string webhook_listener::base_url() const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

std::vector<received_request> webhook_listener::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::size_t webhook_listener::connections() const { return impl_->sockets->accepted(); }

std::size_t webhook_listener::max_concurrent() const { return impl_->sockets->max_concurrent(); }

void webhook_listener::stop() { impl_->sockets->stop(); }

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("closed_port: cannot bind");
  ::close(fd);  // bound but never listening: a SYN to it gets a RST
  return ntohs(address.sin_port);
}

}  // namespace kiln::test
