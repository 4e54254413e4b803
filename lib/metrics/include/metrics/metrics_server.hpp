#pragma once

#include "metrics/metrics_server_config.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace ib::metrics {

/// A small HTTP/1.1 server for operators and orchestrators:
///   GET /metrics  Prometheus text format of the registry
///   GET /healthz  200 "ok" while `healthy()` is true, else 503 (liveness)
///   GET /readyz   200 "ready" while `ready()` is true, else 503 (readiness)
/// Anything else is 404; methods other than GET/HEAD are 405. Runs on the given executor
/// (the daemon's io_context thread); the checks are called on that thread.
class MetricsServer {
public:
  using Check = std::function<bool()>;

  /// Binds at once; throws boost::system::system_error when the address cannot be bound.
  MetricsServer(boost::asio::any_io_executor executor, MetricsServerConfig config,
                std::shared_ptr<prometheus::Registry> registry, Check healthy, Check ready);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// Starts accepting connections (on the executor).
  void start();
  /// Stops accepting and closes open connections; safe to call more than once.
  void stop();

  std::uint16_t port() const;
  /// `http://ADDRESS:PORT`
  std::string url() const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ib::metrics
