#pragma once

#include "core/headers.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ib::http {

/// Header fields in order; names compare case-insensitively (core::find_header()).
using core::Headers;
using core::find_header;

/// One HTTP request, relative to the transport's base URL.
struct Request {
  /// `GET`, `POST`, `PATCH`, ... (upper case).
  std::string method = "GET";
  /// Path (and query) relative to the base URL's path: the request line carries
  /// base path + "/" + target (leading '/' of the target ignored; empty = the base path itself).
  std::string target;
  /// Extra header fields. Host, Content-Length and User-Agent are set by the transport.
  Headers headers;
  std::string body;
  /// Whole-request deadline (waiting for a pooled connection + connect + TLS + write + read).
  /// Zero uses the transport's default.
  std::chrono::milliseconds deadline{0};
  /// True when sending the request twice is harmless (GET, PUT, DELETE, token requests).
  /// Only idempotent requests are ever resent by the transport (once, on a stale
  /// keep-alive connection). A non-idempotent request (a $batch POST) is never resent.
  bool idempotent = false;
};

/// One HTTP response (any status: 4xx/5xx are responses, not transport errors).
struct Response {
  int status = 0;
  Headers headers;
  std::string body;

  /// The first header named `name`, case-insensitively.
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

/// Why no response came back.
enum class TransportError {
  invalid_request,   ///< the request could not be sent as given (bad method/target); permanent
  resolve_failed,    ///< the host name did not resolve; request not sent
  connect_failed,    ///< TCP connect refused/unreachable; request not sent
  tls_failed,        ///< TLS handshake failed (not the certificate check); request not sent
  /// The server's certificate failed verification (untrusted CA, expired, host name not in
  /// it); request not sent. A configuration problem: message = `TLS certificate verification
  /// failed for HOST:PORT: REASON` (REASON: OpenSSL's X509_verify_cert_error_string()).
  tls_verify_failed,
  timeout,           ///< the deadline passed (maybe while waiting for a pooled connection)
  connection_reset,  ///< the peer closed or reset the connection before a full response
  protocol_error,    ///< the response was not valid HTTP/1.1
  body_too_large,    ///< the response body exceeded the configured limit
  auth_unavailable,  ///< no token: the token endpoint failed transiently (5xx, 429, network)
  auth_rejected,     ///< no token: the token endpoint refused us (4xx, bad answer); check config
  shutdown,          ///< the transport is closing or the operation was cancelled
};

/// `timeout`, `connection_reset`, ... (the enum's name).
std::string_view to_string(TransportError error);

/// True for errors that a later attempt may not see (network trouble, timeouts, resets,
/// the token endpoint being down). False for invalid_request, tls_failed, tls_verify_failed, protocol_error,
/// body_too_large, auth_rejected, shutdown. Pure; table-tested.
bool is_transient(TransportError error);

/// A transport failure as a value.
struct Failure {
  TransportError code = TransportError::protocol_error;
  /// Human-readable detail for logs and review messages (never holds secrets).
  std::string message;
  /// False when the server certainly never received the request (resolve, connect, TLS,
  /// pool-wait timeout, no token): resending it cannot create anything twice. True when
  /// the request may have reached the server: its outcome is unknown.
  bool request_sent = false;
};

/// `code: message` for logs.
std::string to_string(const Failure& failure);

/// For diagnostics (test output, boost::system::result's operator<<): status and body size /
/// `code: message`.
std::ostream& operator<<(std::ostream& out, const Response& response);
std::ostream& operator<<(std::ostream& out, const Failure& failure);

/// Throws std::runtime_error(to_string(failure)); lets Result::value() throw.
[[noreturn]] void throw_exception_from_error(const Failure& failure,
                                             const boost::source_location& location);

/// A response or a failure. Errors are values: `if (!r) use(r.error()); else use(*r);`
using Result = boost::system::result<Response, Failure>;

/// Sends HTTP requests to one base URL. Implementations: BeastTransport (network),
/// AuthorizedTransport (adds a bearer token), and scripted fakes in tests.
///
/// Thread: call from the thread that runs the transport's executor. send() may run many
/// times concurrently (as separate coroutines) on that executor. Never throws for remote
/// failures: they come back as Failure values.
class Transport {
public:
  virtual ~Transport() = default;
  virtual boost::asio::awaitable<Result> send(Request request) = 0;
};

}  // namespace ib::http
