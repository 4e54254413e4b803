#pragma once

#include "kafka/config.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ib::kafka {

/// Why ensure_topics() failed: every topic that could not be created, and why.
struct AdminError {
  std::string message;
};
[[noreturn]] void throw_exception_from_error(const AdminError& e,
                                             const boost::source_location& loc);

/// Creates the topics in `topics` that do not exist yet (an existing topic is left as it
/// is, whatever its partition count). `properties` are librdkafka client properties
/// (bootstrap.servers, SASL/SSL...). Blocking, bounded by `timeout`.
boost::system::result<void, AdminError> ensure_topics(const Properties& properties,
                                                      const std::vector<TopicSpec>& topics,
                                                      std::chrono::milliseconds timeout);

/// What the broker says about one topic.
struct TopicDescription {
  int partitions = 0;
  /// The topic's configuration as the broker reports it (defaults included), e.g.
  /// `cleanup.policy`.
  std::map<std::string, std::string> configs;
};

/// Describes `topic` (partition count and configuration); nullopt when it does not
/// exist. Blocking, bounded by `timeout`.
boost::system::result<std::optional<TopicDescription>, AdminError> describe_topic(
    const Properties& properties, const std::string& topic, std::chrono::milliseconds timeout);

/// Every problem of `spec` at once (empty name, partitions or replication < 1).
std::vector<std::string> validate(const TopicSpec& spec);

}  // namespace ib::kafka
