#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ib::testing {

/// One scripted answer: raw bytes written as given (status line, headers, body: whatever a
/// hostile or broken server might send), optionally trickled.
struct RawReply {
  std::string bytes;
  /// Non-zero: write `drip_bytes` bytes, wait this long, and so on (a slow server).
  std::chrono::milliseconds drip_interval{0};
  std::size_t drip_bytes = 1;
  /// After writing: false closes the connection (the client sees EOF), true reads the next
  /// request on it (the bytes must then frame the response exactly).
  bool keep_alive = false;
};

/// `HTTP/1.1 STATUS REASON` + headers + `Content-Length` of `body` + body, closing.
RawReply http_reply(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::string& body);

/// A request as the server read it.
struct RecordedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int connection = 0;  ///< 1-based id of the connection it came on
};

/// A plain-HTTP/1.1 server on 127.0.0.1:0 (Asio + Beast's request parser) on its own
/// thread that answers the Nth request it reads with script[N-1] (a request beyond the
/// script gets `500 script exhausted`) and records every request and connection.
/// For tests of clients against servers that misbehave.
/// Thread: the accessors are safe from any thread.
class ScriptedHttpServer {
public:
  explicit ScriptedHttpServer(std::vector<RawReply> script);
  ~ScriptedHttpServer();
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  std::uint16_t port() const;
  /// `http://127.0.0.1:PORT`.
  std::string url() const;
  std::vector<RecordedRequest> requests() const;
  int connections() const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ib::testing
