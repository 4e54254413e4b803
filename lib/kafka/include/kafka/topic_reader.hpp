#pragma once

#include "kafka/config.hpp"
#include "kafka/message.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace ib::kafka {

/// Why read_topic_snapshot() failed (topic missing, broker unreachable, timeout...).
struct TopicReadError {
  std::string message;
};
[[noreturn]] void throw_exception_from_error(const TopicReadError& e,
                                             const boost::source_location& loc);

struct TopicReadOptions {
  /// librdkafka client properties: `bootstrap.servers` and any SASL/SSL settings.
  Properties properties;
  /// Bound on the whole read (metadata, watermarks, fetching).
  std::chrono::milliseconds timeout{30000};
};

/// Reads every message of every partition of `topic`, from the oldest retained offset up
/// to the high watermark taken when the call starts (messages produced later are not
/// read). For operator tools: assigns the partitions by hand, so it joins no consumer
/// group and commits nothing; the daemon's group is never disturbed. Messages come back
/// ordered by partition, then offset. Blocking.
boost::system::result<std::vector<Message>, TopicReadError> read_topic_snapshot(
    const std::string& topic, const TopicReadOptions& options);

}  // namespace ib::kafka
