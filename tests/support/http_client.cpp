// Blocking HTTP/1.1 over POSIX sockets: enough of the protocol for Kiln's responses
// (status line, headers, Content-Length bodies, or a body that ends at close).
#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kiln::test {
namespace {

/// The server closed the connection before sending a single byte of the response.
struct closed_before_response : std::runtime_error {
  closed_before_response() : std::runtime_error("connection closed before a response") {}
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int open_connection(std::uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    ::close(fd);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(error));
  }
  return fd;
}

/// Writes everything; false when the peer is gone (EPIPE, ECONNRESET) or the write timed out.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads more bytes into `buffer`; 0 at end of stream. Throws on a timeout or an error.
std::size_t read_some(int fd, std::string& buffer) {
  char chunk[16384];
  for (;;) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      throw std::runtime_error("timed out waiting for the response");
    if (n < 0 && errno == ECONNRESET) return 0;
    if (n < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
    buffer.append(chunk, static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n);
  }
}

/// Reads one response, starting with the bytes already in `buffer`, which keeps what follows it
/// (a pipelined next response); `closes` is set when the connection cannot be reused.
http_response read_response(int fd, std::string& buffer, bool& closes) {
  std::size_t header_end;
  while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (read_some(fd, buffer) == 0) {
      if (buffer.empty()) throw closed_before_response();
      throw std::runtime_error("connection closed inside the response head: " + buffer);
    }
  }
  http_response response;
  std::string_view head(buffer.data(), header_end);
  auto line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.substr(0, 9) != "HTTP/1.1 " && status_line.substr(0, 9) != "HTTP/1.0 ")
    throw std::runtime_error("malformed status line: " + std::string(status_line));
  response.status = std::stoi(std::string(status_line.substr(9, 3)));
  closes = status_line.substr(0, 9) == "HTTP/1.0 ";
  std::size_t content_length = std::string::npos;
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    auto end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) throw std::runtime_error("malformed header line");
    std::string name = lower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "content-length") content_length = std::stoull(std::string(value));
    if (name == "connection" && lower(value) == "close") closes = true;
    if (name == "transfer-encoding") throw std::runtime_error("chunked bodies are not supported");
    response.headers.emplace_back(std::move(name), std::string(value));
  }
  if (response.status / 100 == 1) content_length = 0;  // RFC 9110 15.2: 1xx has no content
  std::string body = buffer.substr(header_end + 4);
  buffer.clear();
  if (content_length == std::string::npos) {  // the body ends when the server closes
    closes = true;
    while (read_some(fd, body) > 0) {
    }
  } else {
    while (body.size() < content_length)
      if (read_some(fd, body) == 0) throw std::runtime_error("connection closed inside the body");
    buffer = body.substr(content_length);
    body.resize(content_length);
  }
  response.body = std::move(body);
  return response;
}

/// Reads one response, which must be the last bytes the server sent.
http_response read_response(int fd, bool& closes) {
  std::string buffer;
  auto response = read_response(fd, buffer, closes);
  if (!buffer.empty()) throw std::runtime_error("bytes after the response body");
  return response;
}

std::string serialize(const std::string& method, const std::string& target, const std::string& body,
                      const header_list& headers, std::uint16_t port) {
  std::string text =
    method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  text += "\r\n";
  text += body;
  return text;
}

}  // namespace

std::string http_response::header(std::string_view name) const {
  auto wanted = lower(name);
  for (const auto& [key, value] : headers)
    if (key == wanted) return value;
  return {};
}

bool http_response::has_header(std::string_view name) const {
  auto wanted = lower(name);
  for (const auto& entry : headers)
    if (entry.first == wanted) return true;
  return false;
}

http_client::http_client(std::uint16_t port, std::chrono::milliseconds timeout)
  : port_(port), timeout_(timeout) {}

http_client::~http_client() { close_socket(); }

void http_client::connect_socket() { fd_ = open_connection(port_, timeout_); }

void http_client::close_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

http_response http_client::request(const std::string& method, const std::string& target,
                                   const std::string& body, const header_list& headers) {
  std::string bytes = serialize(method, target, body, headers, port_);
  for (int attempt = 0;; ++attempt) {
    bool reused = fd_ >= 0;
    if (!reused) connect_socket();
    bool written = write_all(fd_, bytes);
    try {
      bool closes = false;
      auto response = read_response(fd_, closes);
      if (closes) close_socket();
      return response;
    } catch (const closed_before_response&) {
      close_socket();
      // A kept-alive connection the server had closed: send again on a new one.
      if (reused && attempt == 0) continue;
      throw std::runtime_error(method + " " + target + ": connection closed without a response" +
                               (written ? "" : " (write failed)"));
    } catch (...) {
      close_socket();
      throw;
    }
  }
}

http_response http_client::get(const std::string& target, const std::string& key) {
  header_list headers;
  if (!key.empty()) headers.push_back(bearer(key));
  return request("GET", target, {}, headers);
}

http_response http_client::post(const std::string& target, const std::string& json,
                                const std::string& key) {
  header_list headers{{"Content-Type", "application/json"}};
  if (!key.empty()) headers.push_back(bearer(key));
  return request("POST", target, json, headers);
}

http_response http_client::del(const std::string& target, const std::string& key) {
  header_list headers;
  if (!key.empty()) headers.push_back(bearer(key));
  return request("DELETE", target, {}, headers);
}

http_response send_raw(std::uint16_t port, const std::string& bytes,
                       std::chrono::milliseconds timeout) {
  int fd = open_connection(port, timeout);
  write_all(fd, bytes);
  try {
    bool closes = false;
    auto response = read_response(fd, closes);
    ::close(fd);
    return response;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

raw_connection::raw_connection(std::uint16_t port, std::chrono::milliseconds timeout)
  : fd_(open_connection(port, timeout)) {}

raw_connection::~raw_connection() { ::close(fd_); }

bool raw_connection::send(const std::string& bytes) { return write_all(fd_, bytes); }

http_response raw_connection::read_response() {
  bool closes = false;
  return kiln::test::read_response(fd_, buffer_, closes);
}

std::string raw_connection::read_until_closed() {
  std::string all = std::move(buffer_);
  buffer_.clear();
  while (read_some(fd_, all) > 0) {
  }
  return all;
}

std::pair<std::string, std::string> bearer(const std::string& key) {
  return {"Authorization", "Bearer " + key};
}

}  // namespace kiln::test
