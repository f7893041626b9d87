// A small blocking HTTP/1.1 client over POSIX sockets, for the end-to-end tests.
// One connection per client, kept alive between requests and reopened when the server closed it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kiln::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  int status = 0;
  header_list headers;  ///< names lower-cased, in the order received
  std::string body;

  /// The first value of header `name` (any case), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

class http_client {
public:
  explicit http_client(std::uint16_t port,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends one request and reads its response. A request on a kept-alive connection that the
  /// server closed in the meantime is retried once on a fresh connection. Throws on a
  /// connection failure or a timeout.
  http_response request(const std::string& method, const std::string& target,
                        const std::string& body = {}, const header_list& headers = {});

  /// GET with `Authorization: Bearer key` when key is not empty.
  http_response get(const std::string& target, const std::string& key = {});
  /// POST of a JSON body with `Content-Type: application/json` and the bearer key if any.
  http_response post(const std::string& target, const std::string& json,
                     const std::string& key = {});
  http_response del(const std::string& target, const std::string& key = {});

  std::uint16_t port() const { return port_; }

private:
  void connect_socket();
  void close_socket();

  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
};

/// Opens a fresh connection, writes `bytes` as they are (errors while writing are ignored: the
/// server may answer and close early) and reads one response. Throws when nothing parsable came.
http_response send_raw(std::uint16_t port, const std::string& bytes,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// One connection driven byte by byte, for what http_client hides: pipelined requests, HEAD
/// answers (which have no body to read), and when the server closes the connection.
class raw_connection {
public:
  explicit raw_connection(std::uint16_t port,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  /// Writes `bytes` as they are; false when the server is gone.
  bool send(const std::string& bytes);
  /// Reads one response (its body by Content-Length, as for a GET). Throws on a timeout.
  http_response read_response();
  /// Reads everything until the server closes the connection. Throws on a timeout.
  std::string read_until_closed();

private:
  int fd_ = -1;
  std::string buffer_;  ///< read but not yet returned
};

/// "Authorization: Bearer <key>" as a header list entry.
std::pair<std::string, std::string> bearer(const std::string& key);

}  // namespace kiln::test
