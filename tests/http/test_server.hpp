#pragma once

#include "http/transport.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ib::http::testing {

/// A request as the test server saw it.
struct SeenRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
  int connection = 0;           ///< 1-based id of the connection it came on
  int index_on_connection = 0;  ///< 1 for the first request of a connection
  std::string sni;              ///< server name the TLS client sent ("" for plain/none)
};

/// What the server does with one request.
struct Reply {
  int status = 200;
  std::string body = "ok";
  Headers headers;
  /// Wait this long before answering (to outlive a client's deadline).
  std::chrono::milliseconds delay{0};
  /// Read the request, count it, then close the connection without any answer.
  bool close_without_answer = false;
};

using Handler = std::function<Reply(const SeenRequest&)>;

/// PEM files of a test PKI made with the `openssl` CLI in a directory.
struct TestPki {
  std::filesystem::path ca_cert;      ///< the CA that signed the server certificate
  std::filesystem::path other_ca;     ///< an unrelated CA (verification must fail with it)
  std::filesystem::path server_cert;  ///< subjectAltName DNS:localhost only
  std::filesystem::path server_key;
};

/// Creates a CA, an unrelated CA and a server certificate for `localhost` in `dir`.
/// Throws when the openssl command fails.
TestPki make_test_pki(const std::filesystem::path& dir);

/// A small Beast HTTP/1.1 server on 127.0.0.1:0 running on its own thread, for transport
/// tests: keep-alive, scripted replies (delay, close before answering), closing idle
/// keep-alive connections after N requests, optional TLS. Counts what it sees.
class TestServer {
public:
  /// TLS when `pki` is given (serves its server certificate).
  explicit TestServer(Handler handler, std::optional<TestPki> pki = std::nullopt);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::uint16_t port() const;
  /// `http://127.0.0.1:PORT` or `https://HOST:PORT`.
  std::string url(const std::string& host = "127.0.0.1") const;

  /// After answering the Nth request of a connection, close it silently (no
  /// `Connection: close`), so the client's pooled connection goes stale. 0 = never.
  void close_after(int n);

  int connections_accepted() const;
  int max_concurrent_connections() const;
  int count(const std::string& method) const;
  std::vector<SeenRequest> seen() const;
  /// Connections open right now (server side).
  int open_connections() const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ib::http::testing
