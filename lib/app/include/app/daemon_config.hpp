#pragma once

#include "d365/d365_config.hpp"
#include "config/config_source.hpp"
#include "config/host_checks.hpp"
#include "core/log.hpp"
#include "dedup/dedup_config.hpp"
#include "kafka/kafka_config.hpp"
#include "metrics/metrics_server.hpp"
#include "pipeline/consumer_loop.hpp"
#include "pipeline/pipeline.hpp"

#include <functional>
#include <string>
#include <vector>

namespace ib::app {

/// Logging (keys under `log.`).
struct LogConfig {
  log::Level level = log::Level::info;
  log::Format format = log::Format::json;

  /// Reads the `log.` keys (the daemon's own section: lib/core, which logs, knows no config).
  void load(config::ConfigSource& source);
};

/// Everything `invoice-bridge run` needs except the D365 side. Defaults are the
/// documented ones (docs/configuration.md); `load()` overlays the file and environment.
struct DaemonConfig {
  LogConfig log;
  kafka::ConsumerConfig consumer;
  kafka::ProducerConfig producer;
  kafka::TopicsConfig topics;
  dedup::DedupConfig dedup;
  pipeline::PipelineConfig pipeline;
  pipeline::ConsumerLoopConfig loop;
  metrics::MetricsServerConfig metrics;
  d365::D365Config d365;

  DaemonConfig();

  /// Reads every section from `source`, each through its module's loader (problems land
  /// in the source), and sets what one section gives another (the retry topic).
  void load(config::ConfigSource& source);
  /// Every module's checks, every problem at once.
  std::vector<std::string> validate() const;
  /// Every module's checks against this host, without the network and without changing
  /// anything: the files the config names (secrets, CAs, keys), the secret variables, the
  /// dedup store directory. Messages name the key and where it is set (`source.describe`).
  config::HostFindings check_host(const config::ConfigSource& source, const config::Environment& env) const;
};

/// Loads `path` with environment overrides: the config and every problem (parse errors,
/// wrong types, unknown keys, failed validation). Startup refuses to run with any.
struct LoadedConfig {
  DaemonConfig config;
  std::vector<std::string> problems;
  /// Only from check_daemon_config(): things that work but should not be so.
  std::vector<std::string> warnings;
};
LoadedConfig load_daemon_config(const std::string& path, const config::Environment& env);

/// What `check-config` reports and `run` refuses to start with: load_daemon_config(), each
/// problem with the line (or variable) that sets its key, then (unless `host_checks` is
/// false: a config meant for another machine) DaemonConfig::check_host().
LoadedConfig check_daemon_config(const std::string& path, const config::Environment& env, bool host_checks = true);

/// The same for a command that uses only some sections (import, store, review): reads
/// every key the daemon knows (so none is "unknown"), reports parse errors and unknown
/// keys, and instead of DaemonConfig::validate() the problems `check` finds.
LoadedConfig load_daemon_config(const std::string& path, const config::Environment& env,
                                const std::function<std::vector<std::string>(const DaemonConfig&)>& check);

}  // namespace ib::app
