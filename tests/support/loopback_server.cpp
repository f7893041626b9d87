// Test server sockets: accept loop, a thread per connection, and a clean stop.
#include "tests/support/loopback_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace kiln::test {

struct loopback_server::impl {
  std::function<void(int)> serve;
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::thread acceptor;
  mutable std::mutex mutex;
  bool stopping = false;
  std::vector<std::thread> workers;
  std::set<int> open_fds;
  std::size_t accepted = 0;
  std::size_t concurrent = 0;
  std::size_t max_concurrent = 0;

  void accept_loop() {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      std::lock_guard lock(mutex);
      if (stopping) {
        if (fd >= 0) ::close(fd);
        return;
      }
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      ++accepted;
      ++concurrent;
      max_concurrent = std::max(max_concurrent, concurrent);
      open_fds.insert(fd);
      workers.emplace_back([this, fd] { run(fd); });
    }
  }

  void run(int fd) {
    serve(fd);
    std::lock_guard lock(mutex);
    --concurrent;
    if (open_fds.erase(fd)) {
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
    }
  }
};

loopback_server::loopback_server(std::function<void(int fd)> serve, const std::string& owner)
  : impl_(new impl) {
  impl_->serve = std::move(serve);
  impl_->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (impl_->listen_fd < 0 ||
      ::bind(impl_->listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(impl_->listen_fd, 128) != 0 ||
      ::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error(owner + ": " + std::strerror(errno));
  impl_->port = ntohs(address.sin_port);
  impl_->acceptor = std::thread([state = impl_.get()] { state->accept_loop(); });
}

loopback_server::~loopback_server() { stop(); }

std::uint16_t loopback_server::port() const { return impl_->port; }

std::size_t loopback_server::accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

std::size_t loopback_server::max_concurrent() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->max_concurrent;
}

void loopback_server::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
    ::shutdown(impl_->listen_fd, SHUT_RDWR);                   // wakes accept()
    for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);  // wakes recv()
  }
  impl_->acceptor.join();
  {
    std::lock_guard lock(impl_->mutex);
    workers = std::move(impl_->workers);
  }
  for (auto& worker : workers) worker.join();
  ::close(impl_->listen_fd);
}

const char* http_reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string lowercase(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace kiln::test
