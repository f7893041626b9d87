// A webhook receiver for benchmarks: answers every POST with 204 as fast as it can, on 127.0.0.1.
// Prints "listening on PORT" and, at SIGINT/SIGTERM, how many requests it answered.
//
//   webhook_sink [--port N] [--threads N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<unsigned long> answered{0};

/// Reads one request (headers, then Content-Length bytes of body) and answers 204.
void serve(int fd) {
  std::string data;
  char buffer[16384];
  std::size_t need = std::string::npos;
  for (;;) {
    auto n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return;
    data.append(buffer, static_cast<std::size_t>(n));
    auto end = data.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    if (need == std::string::npos) {
      std::size_t length = 0;
      auto at = data.find("Content-Length: ");
      if (at == std::string::npos) at = data.find("content-length: ");
      if (at != std::string::npos) length = std::strtoul(data.c_str() + at + 16, nullptr, 10);
      need = end + 4 + length;
    }
    if (data.size() >= need) break;
  }
  static const char response[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
  if (::write(fd, response, sizeof response - 1) > 0) answered.fetch_add(1);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, threads = 4;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--port" && i + 1 < argc) port = std::atoi(argv[++i]);
    else if (arg == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else {
      std::printf(
        "usage: webhook_sink [--port N] [--threads N]\n"
        "Answers every request with 204 on 127.0.0.1; prints the count at exit.\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::listen(listener, 4096) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    std::perror("webhook_sink");
    return 1;
  }
  std::printf("listening on %u\n", ntohs(address.sin_port));
  std::fflush(stdout);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([listener] {
      for (;;) {
        int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        serve(fd);
        ::close(fd);
      }
    });
  int received = 0;
  sigwait(&signals, &received);
  std::printf("answered %lu\n", answered.load());
  std::fflush(stdout);
  std::_Exit(0);
}
