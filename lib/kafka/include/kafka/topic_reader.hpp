#pragma once

#include "kafka/config.hpp"
#include "kafka/message.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
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

/// The range read_partition() reads: [from, to), `to` being the high watermark at its start.
struct PartitionRange {
  std::int64_t from = 0;
  std::int64_t to = 0;
};

/// Reads one partition of `topic` from `from` (nullopt, or an offset below the oldest
/// retained one: from the oldest) up to the high watermark taken when the call starts,
/// joining no group (assigned by hand, nothing committed). `on_start` gets the range
/// first; `on_chunk` gets the messages in offset order, at most `chunk` at a time, with
/// the offset to continue from after them (the range's end after the last chunk, so
/// offsets left out by compaction are passed too); it returns false to stop. `cancel`
/// (may be null) stops the read between messages. options.timeout bounds the wait for
/// any progress (metadata, watermarks, each fetch), not the whole read. Blocking; for
/// the daemon's restore worker and `store rebuild`.
boost::system::result<PartitionRange, TopicReadError> read_partition(
    const std::string& topic, std::int32_t partition, std::optional<std::int64_t> from,
    const TopicReadOptions& options, std::size_t chunk,
    const std::function<void(const PartitionRange&)>& on_start,
    const std::function<bool(std::vector<Message>& messages, std::int64_t next_offset)>& on_chunk,
    const std::atomic<bool>* cancel = nullptr);

/// The partition count of `topic` (metadata), or an error naming it (missing included).
boost::system::result<int, TopicReadError> topic_partition_count(const std::string& topic,
                                                                 const TopicReadOptions& options);

/// One partition of a topic: its end and a group's committed offset there.
struct GroupPartitionOffsets {
  std::int32_t partition = -1;
  /// High watermark: the offset the next message will get.
  std::int64_t end = 0;
  /// The group's committed offset (the next offset it will consume); -1 when none.
  std::int64_t committed = -1;
};

/// The end offset of every partition of `topic` and `group`'s committed offset for it,
/// ordered by partition. For operator tools and checks: asks the group coordinator
/// without joining the group (no rebalance, nothing committed). Blocking, bounded by
/// options.timeout.
boost::system::result<std::vector<GroupPartitionOffsets>, TopicReadError> read_group_offsets(
    const std::string& topic, const std::string& group, const TopicReadOptions& options);

}  // namespace ib::kafka
