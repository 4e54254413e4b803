#include "app/daemon_config.hpp"

namespace ib::app {

void LogConfig::load(config::ConfigSource& s) {
  std::string level_name = "info", format_name = format == log::Format::json ? "json" : "text";
  s.read_enum("log.level", level_name, {"trace", "debug", "info", "warn", "error", "critical", "off"});
  s.read_enum("log.format", format_name, {"json", "text"});
  log::parse_level(level_name, level);
  log::parse_format(format_name, format);
}

DaemonConfig::DaemonConfig() {
  dedup.path = "/var/lib/invoice-bridge/dedup";
  metrics.address = "0.0.0.0";
  consumer.topics = {topics.input, topics.retry};
}

void DaemonConfig::load(config::ConfigSource& s) {
  log.load(s);
  kafka::load_section(s, consumer, producer, topics);
  loop.retry_topic = topics.retry;
  dedup.load(s);
  pipeline.load(s);
  loop.load(s);
  metrics.load(s);
  d365.load(s);
}

std::vector<std::string> DaemonConfig::validate() const {
  std::vector<std::string> problems;
  auto add = [&](std::vector<std::string> more) {
    for (auto& p : more) problems.push_back(std::move(p));
  };
  add(kafka::validate_section(consumer, producer, topics));
  add(dedup.validate());
  add(pipeline.validate());
  add(loop.validate());
  add(metrics.validate());
  add(d365.validate());
  return problems;
}

config::HostFindings DaemonConfig::check_host(const config::ConfigSource& source,
                                              const config::Environment& env) const {
  config::HostFindings out;
  out.add(kafka::check_section_files(source, consumer, producer));
  out.add(dedup.check_host(source));
  out.add(d365.check_host(source, env));
  return out;
}

namespace {

LoadedConfig load(config::ConfigSource& source,
                  const std::function<std::vector<std::string>(const DaemonConfig&)>& check) {
  LoadedConfig out;
  out.config.load(source);
  out.problems = source.problems();
  for (const auto& key : source.unknown_keys()) {
    out.problems.push_back(key + ": unknown key (misspelt, or not supported by this version)");
  }
  for (auto& p : check(out.config)) out.problems.push_back(std::move(p));
  return out;
}

}  // namespace

LoadedConfig load_daemon_config(const std::string& path, const config::Environment& env,
                                const std::function<std::vector<std::string>(const DaemonConfig&)>& check) {
  auto source = config::ConfigSource::from_file(path, env);
  return load(source, check);
}

LoadedConfig load_daemon_config(const std::string& path, const config::Environment& env) {
  return load_daemon_config(path, env, [](const DaemonConfig& c) { return c.validate(); });
}

LoadedConfig check_daemon_config(const std::string& path, const config::Environment& env, bool host_checks) {
  auto source = config::ConfigSource::from_file(path, env);
  // Without the file (unreadable, not YAML) the defaults' paths would only add noise.
  const bool parsed = source.problems().empty();
  auto out = load(source, [](const DaemonConfig& c) { return c.validate(); });
  for (auto& p : out.problems) p = source.locate(std::move(p));
  if (host_checks && parsed) {
    auto host = out.config.check_host(source, env);
    for (auto& p : host.problems) out.problems.push_back(std::move(p));
    out.warnings = std::move(host.warnings);
  }
  return out;
}

}  // namespace ib::app
