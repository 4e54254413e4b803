#pragma once

#include "d365/d365_config.hpp"
#include "config/config_source.hpp"
#include "core/log.hpp"
#include "dedup/dedup_config.hpp"
#include "kafka/config.hpp"
#include "metrics/metrics_server.hpp"
#include "pipeline/consumer_loop.hpp"
#include "pipeline/pipeline.hpp"

#include <functional>
#include <string>
#include <vector>

namespace ib::app {

/// Topics the daemon reads and writes (keys under `kafka.`).
struct TopicsConfig {
  /// The input topic upstream systems publish invoices to.
  std::string input = "invoices";
  /// Where transient failures wait for their next attempt.
  std::string retry = "invoices.retry";
  /// Where invoices that need a person go.
  std::string review = "invoices.review";
  /// Create the retry and review topics at startup when missing.
  bool create = true;
  /// Partitions and replication factor of topics created at startup.
  int partitions = 4;
  int replication_factor = 1;
};

/// Logging (keys under `log.`).
struct LogConfig {
  log::Level level = log::Level::info;
  log::Format format = log::Format::json;
};

/// Everything `invoice-bridge run` needs except the D365 side. Defaults are the
/// documented ones (docs/configuration.md); `load()` overlays the file and environment.
struct DaemonConfig {
  LogConfig log;
  kafka::ConsumerConfig consumer;
  kafka::ProducerConfig producer;
  TopicsConfig topics;
  dedup::DedupConfig dedup;
  pipeline::PipelineConfig pipeline;
  pipeline::ConsumerLoopConfig loop;
  metrics::MetricsServerConfig metrics;
  d365::D365Config d365;

  DaemonConfig();

  /// Reads every key this struct knows from `source` (problems land in the source).
  void load(config::ConfigSource& source);
  /// Cross-field and per-module checks, every problem at once.
  std::vector<std::string> validate() const;
};

/// Loads `path` with environment overrides: the config and every problem (parse errors,
/// wrong types, unknown keys, failed validation). Startup refuses to run with any.
struct LoadedConfig {
  DaemonConfig config;
  std::vector<std::string> problems;
};
LoadedConfig load_daemon_config(const std::string& path, const config::Environment& env);

/// The same for a command that uses only some sections (import, store, review): reads
/// every key the daemon knows (so none is "unknown"), reports parse errors and unknown
/// keys, and instead of DaemonConfig::validate() the problems `check` finds.
LoadedConfig load_daemon_config(const std::string& path, const config::Environment& env,
                                const std::function<std::vector<std::string>(const DaemonConfig&)>& check);

}  // namespace ib::app
