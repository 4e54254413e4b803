#include "kafka/config.hpp"

namespace ib::kafka {
namespace {

void check_property(const Properties& props, const std::string& name, const std::string& want,
                    const std::string& why, std::vector<std::string>& problems) {
  const auto it = props.find(name);
  if (it != props.end() && it->second != want && !(want == "all" && it->second == "-1")) {
    problems.push_back("kafka property " + name + "=" + it->second + " is not allowed (must be " +
                       want + ": " + why + ")");
  }
}

void check_reserved(const Properties& props, const std::vector<std::string>& names,
                    std::vector<std::string>& problems) {
  for (const auto& n : names) {
    if (props.count(n) != 0) {
      problems.push_back("kafka property " + n + " is set by the module (use the config field)");
    }
  }
}

}  // namespace

std::vector<std::string> ConsumerConfig::validate() const {
  std::vector<std::string> p;
  if (bootstrap_servers.empty() && properties.count("bootstrap.servers") == 0) {
    p.push_back("consumer bootstrap_servers is empty");
  }
  if (group_id.empty()) p.push_back("consumer group_id is empty");
  if (topics.empty()) p.push_back("consumer topics is empty");
  for (const auto& t : topics) {
    if (t.empty()) p.push_back("consumer topics has an empty name");
  }
  if (assignment_strategy.empty()) p.push_back("consumer assignment_strategy is empty");
  if (auto_offset_reset != "earliest" && auto_offset_reset != "latest") {
    p.push_back("consumer auto_offset_reset must be earliest or latest, not '" +
                auto_offset_reset + "'");
  }
  if (auto_commit_interval.count() < 0) p.push_back("consumer auto_commit_interval is negative");
  if (session_timeout.count() <= 0) p.push_back("consumer session_timeout must be > 0");
  if (max_poll_interval < session_timeout) {
    p.push_back("consumer max_poll_interval must be >= session_timeout");
  }
  if (queue_capacity == 0) p.push_back("consumer queue_capacity must be > 0");
  if (queue_resume_at >= queue_capacity) {
    p.push_back("consumer queue_resume_at must be < queue_capacity");
  }
  if (poll_timeout.count() <= 0 || poll_timeout > std::chrono::seconds(5)) {
    p.push_back("consumer poll_timeout must be in (0, 5s]");
  }
  if (commit_attempts < 1) p.push_back("consumer commit_attempts must be >= 1");
  if (commit_backoff.count() < 0) p.push_back("consumer commit_backoff is negative");
  if (close_timeout.count() <= 0) p.push_back("consumer close_timeout must be > 0");
  if (revoke_grace.count() < 0) p.push_back("consumer revoke_grace must be >= 0");
  if (revoke_grace >= max_poll_interval) {
    p.push_back("consumer revoke_grace must be below max_poll_interval (the poll thread waits)");
  }
  check_property(properties, "enable.auto.offset.store", "false",
                 "offsets are stored only when their outcome is durable", p);
  check_reserved(properties,
                 {"group.id", "partition.assignment.strategy", "enable.auto.commit",
                  "auto.commit.interval.ms", "auto.offset.reset"},
                 p);
  return p;
}

std::vector<std::string> ProducerConfig::validate() const {
  std::vector<std::string> p;
  if (bootstrap_servers.empty() && properties.count("bootstrap.servers") == 0) {
    p.push_back("producer bootstrap_servers is empty");
  }
  if (delivery_timeout.count() <= 0) {
    p.push_back("producer delivery_timeout must be > 0 (every produce must end in a callback)");
  }
  if (linger.count() < 0) p.push_back("producer linger is negative");
  if (max_queued_messages < 1) p.push_back("producer max_queued_messages must be >= 1");
  if (close_timeout.count() <= 0) p.push_back("producer close_timeout must be > 0");
  if (poll_timeout.count() <= 0 || poll_timeout > std::chrono::seconds(5)) {
    p.push_back("producer poll_timeout must be in (0, 5s]");
  }
  check_property(properties, "enable.idempotence", "true",
                 "no duplicates or reordering on retries", p);
  check_property(properties, "acks", "all", "a delivered message survives a broker loss", p);
  check_property(properties, "request.required.acks", "all",
                 "a delivered message survives a broker loss", p);
  check_reserved(properties, {"message.timeout.ms", "delivery.timeout.ms"}, p);
  return p;
}

}  // namespace ib::kafka
