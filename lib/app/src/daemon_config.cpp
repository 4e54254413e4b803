#include "app/daemon_config.hpp"

#include <algorithm>

namespace ib::app {

DaemonConfig::DaemonConfig() {
  dedup.path = "/var/lib/invoice-bridge/dedup";
  metrics.address = "0.0.0.0";
  consumer.topics = {topics.input, topics.retry};
}

void DaemonConfig::load(config::ConfigSource& s) {
  // log
  std::string level = "info", format = log.format == log::Format::json ? "json" : "text";
  s.read_enum("log.level", level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
  s.read_enum("log.format", format, {"json", "text"});
  log::parse_level(level, log.level);
  log::parse_format(format, log.format);

  // kafka: one broker list and one property map for consumer and producer alike.
  std::string bootstrap = "127.0.0.1:9092";
  kafka::Properties properties;
  s.read("kafka.bootstrap_servers", bootstrap);
  s.read("kafka.properties", properties);
  consumer.bootstrap_servers = producer.bootstrap_servers = bootstrap;
  s.read("kafka.group_id", consumer.group_id);
  s.read("kafka.topics.input", topics.input);
  s.read("kafka.topics.retry", topics.retry);
  s.read("kafka.topics.review", topics.review);
  s.read("kafka.topics.create", topics.create);
  s.read("kafka.topics.partitions", topics.partitions);
  s.read("kafka.topics.replication_factor", topics.replication_factor);
  s.read_enum("kafka.consumer.assignment_strategy", consumer.assignment_strategy,
              {"cooperative-sticky", "range", "roundrobin"});
  s.read_enum("kafka.consumer.auto_offset_reset", consumer.auto_offset_reset, {"earliest", "latest"});
  s.read("kafka.consumer.session_timeout", consumer.session_timeout);
  s.read("kafka.consumer.auto_commit_interval", consumer.auto_commit_interval);
  s.read("kafka.consumer.close_timeout", consumer.close_timeout);
  kafka::Properties consumer_props, producer_props;
  s.read("kafka.consumer.properties", consumer_props);
  s.read("kafka.producer.delivery_timeout", producer.delivery_timeout);
  s.read("kafka.producer.linger", producer.linger);
  s.read("kafka.producer.properties", producer_props);
  consumer.properties = properties;
  producer.properties = properties;
  for (auto& [k, v] : consumer_props) consumer.properties[k] = v;
  for (auto& [k, v] : producer_props) producer.properties[k] = v;
  consumer.topics = {topics.input, topics.retry};
  loop.retry_topic = topics.retry;

  // dedup
  std::string path = dedup.path.string();
  s.read("dedup.path", path);
  dedup.path = path;
  s.read("dedup.ttl", dedup.ttl);
  s.read_bytes("dedup.block_cache", dedup.block_cache_bytes);
  s.read_bytes("dedup.write_buffer", dedup.write_buffer_bytes);
  s.read("dedup.bloom_bits_per_key", dedup.bloom_bits_per_key);
  std::string fsync(dedup::to_string(dedup.fsync));
  s.read_enum("dedup.fsync", fsync, dedup::fsync_policy_names());
  if (auto p = dedup::parse_fsync_policy(fsync)) dedup.fsync = *p;
  s.read("dedup.fsync_interval", dedup.fsync_interval);

  // batch, send, retry
  std::uint64_t max_items = pipeline.batch.max_items, max_bytes = pipeline.batch.max_bytes;
  s.read("batch.max_items", max_items);
  s.read_bytes("batch.max_bytes", max_bytes);
  pipeline.batch.max_items = max_items;
  pipeline.batch.max_bytes = max_bytes;
  s.read("batch.linger", pipeline.batch.linger);
  s.read("send.max_in_flight", pipeline.aimd.max_in_flight);
  s.read("send.min_in_flight", pipeline.aimd.min_in_flight);
  s.read("send.increase_every", pipeline.aimd.increase_every);
  s.read("send.decrease_factor", pipeline.aimd.decrease_factor);
  // Retry-After is defaulted and capped where answers are classified (d365.classify.*).
  s.reject_removed("send.default_retry_after", "d365.classify.default_retry_after");
  s.reject_removed("send.max_retry_after", "d365.classify.max_retry_after");
  s.read("retry.max_attempts", pipeline.backoff.max_attempts);
  s.read("retry.initial", pipeline.backoff.initial);
  s.read("retry.multiplier", pipeline.backoff.multiplier);
  s.read("retry.max_delay", pipeline.backoff.max_delay);
  s.read("retry.jitter", pipeline.backoff.jitter);
  s.read("retry.max_resends", pipeline.max_resends);

  // pipeline loop
  std::uint64_t max_backlog = loop.max_backlog, resume_backlog = loop.resume_backlog;
  s.read("pipeline.max_backlog", max_backlog);
  s.read("pipeline.resume_backlog", resume_backlog);
  loop.max_backlog = max_backlog;
  loop.resume_backlog = resume_backlog;
  s.read("pipeline.drain_timeout", loop.drain_timeout);

  // metrics
  int port = metrics.port;
  s.read("metrics.address", metrics.address);
  s.read("metrics.port", port);
  if (port < 0 || port > 65535) {
    s.add_problem("metrics.port: must be between 0 and 65535, got " + std::to_string(port));
  } else {
    metrics.port = static_cast<std::uint16_t>(port);
  }
  d365.load(s);
}

std::vector<std::string> DaemonConfig::validate() const {
  std::vector<std::string> problems;
  auto add = [&](const std::string& prefix, const std::vector<std::string>& more) {
    for (const auto& p : more) problems.push_back(p.rfind(prefix, 0) == 0 ? p : prefix + p);
  };
  add("kafka.consumer: ", consumer.validate());
  add("kafka.producer: ", producer.validate());
  add("", dedup.validate());
  add("", pipeline.validate());
  add("", loop.validate());
  add("", d365.validate());
  const std::vector<std::string> names{topics.input, topics.retry, topics.review};
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) problems.push_back("kafka.topics: topic names must not be empty");
    for (std::size_t j = i + 1; j < names.size(); ++j) {
      if (!names[i].empty() && names[i] == names[j]) {
        problems.push_back("kafka.topics: input, retry and review must be three different topics ('" +
                           names[i] + "' is used twice)");
      }
    }
  }
  if (topics.partitions < 1) problems.push_back("kafka.topics.partitions: must be at least 1");
  if (topics.replication_factor < 1) {
    problems.push_back("kafka.topics.replication_factor: must be at least 1");
  }
  return problems;
}

LoadedConfig load_daemon_config(const std::string& path, const config::Environment& env,
                                const std::function<std::vector<std::string>(const DaemonConfig&)>& check) {
  auto source = config::ConfigSource::from_file(path, env);
  LoadedConfig out;
  out.config.load(source);
  out.problems = source.problems();
  for (const auto& key : source.unknown_keys()) {
    out.problems.push_back(key + ": unknown key (misspelt, or not supported by this version)");
  }
  for (auto& p : check(out.config)) out.problems.push_back(std::move(p));
  return out;
}

LoadedConfig load_daemon_config(const std::string& path, const config::Environment& env) {
  return load_daemon_config(path, env, [](const DaemonConfig& c) { return c.validate(); });
}

}  // namespace ib::app
