#pragma once

#include "config/config_source.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ib::metrics {

/// Where the metrics endpoint listens (keys under `metrics.`).
struct MetricsServerConfig {
  /// IP address to bind (a literal, no host name); `0.0.0.0` to be scraped from outside
  /// the host/pod.
  std::string address = "127.0.0.1";
  /// TCP port; 0 lets the OS pick (tests), `MetricsServer::port()` tells which.
  std::uint16_t port = 9464;

  /// Reads every `metrics.` key from `source` (problems land in the source, a port
  /// outside 0..65535 among them).
  void load(config::ConfigSource& source);
  /// Every problem, each naming its key: the address must be an IPv4 or IPv6 literal.
  std::vector<std::string> validate() const;
};

}  // namespace ib::metrics
