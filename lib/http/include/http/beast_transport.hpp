#pragma once

#include "http/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ib::http {

/// Configuration of one BeastTransport (config keys under `http.`; `auth.token_url`'s
/// transport takes its TLS settings from here).
struct BeastTransportConfig {
  /// Base URL: `https://ORG.crm.dynamics.com/api/data/v9.2` (or `http://127.0.0.1:8080/...`
  /// for local use). Scheme http or https, host, optional port, optional path prefix that
  /// every Request::target is appended to. No query, fragment or user info.
  std::string base_url;
  /// Most TCP connections open at once (idle + busy). Callers wait for a free one.
  std::size_t max_connections = 8;
  /// Deadline of a request whose Request::deadline is zero (pool wait + connect + TLS +
  /// write + read).
  std::chrono::milliseconds default_deadline{30'000};
  /// An idle keep-alive connection older than this is closed instead of reused (servers
  /// and load balancers drop idle connections; Azure's front ends after ~4 minutes).
  std::chrono::milliseconds idle_timeout{50'000};
  /// Largest response body accepted; a larger one fails with body_too_large.
  std::uint64_t max_response_body_bytes = 64ull << 20;
  /// User-Agent header value.
  std::string user_agent = "invoice-bridge";
  /// Verify the server's certificate chain and host name (https only). Turning it off is
  /// for tests against self-signed servers only, and logs a warning at construction.
  bool tls_verify_peer = true;
  /// PEM file of trusted CA certificates; empty uses the system trust store.
  std::string tls_ca_file;

  /// Every problem, each naming its key (`http.base_url: ...`); empty when valid.
  std::vector<std::string> validate() const;
};

/// Counters of one transport's pool, for tests and metrics.
struct PoolStats {
  std::size_t open = 0;     ///< connections open now (idle + busy + connecting)
  std::size_t idle = 0;     ///< open and waiting in the pool
  std::size_t waiting = 0;  ///< callers waiting for a connection
  std::uint64_t connections_opened = 0;  ///< TCP connections made since construction
  std::uint64_t stale_resends = 0;       ///< idempotent requests resent after a stale reuse
};

/// HTTP/1.1 client over Boost.Beast (TLS via OpenSSL) for one base URL, with a bounded
/// keep-alive connection pool.
///
/// Resend rule: a request that fails on a reused keep-alive connection with EOF/reset
/// before any response byte arrived is sent once more on a fresh connection if it is
/// idempotent and its deadline allows. A non-idempotent request is never resent: the
/// failure comes back as connection_reset with request_sent = true (outcome unknown).
/// Idle pooled connections that the peer already closed are dropped before reuse.
///
/// Thread: all calls on the thread running `executor` (one io_context thread). Many
/// send() coroutines may run at once. Destroying the transport while requests are in
/// flight is safe: they finish on the shared state.
class BeastTransport final : public Transport {
public:
  /// Throws std::invalid_argument listing every problem of `config`, or when the CA file
  /// cannot be loaded.
  BeastTransport(boost::asio::any_io_executor executor, BeastTransportConfig config);
  ~BeastTransport() override;
  BeastTransport(const BeastTransport&) = delete;
  BeastTransport& operator=(const BeastTransport&) = delete;

  boost::asio::awaitable<Result> send(Request request) override;

  /// Closes idle connections and wakes waiting callers with `shutdown`; later sends fail
  /// with `shutdown`. Requests in flight finish. Idempotent.
  void close();

  PoolStats stats() const;
  const BeastTransportConfig& config() const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ib::http
