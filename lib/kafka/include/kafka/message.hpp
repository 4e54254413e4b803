#pragma once

#include "core/headers.hpp"

#include <compare>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ib::kafka {

/// One partition of one topic.
struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;

  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
};

/// Kafka record headers in wire order; names may repeat (core::find_last_header reads the
/// current value). Values are raw bytes.
using core::Headers;

/// A consumed record, copied out of librdkafka (no librdkafka types, owns its bytes).
struct Message {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  /// Raw key bytes; empty when the record has no key (`has_key` tells them apart).
  std::string key;
  bool has_key = false;
  /// Raw value bytes (not necessarily UTF-8); empty for a null value.
  std::string value;
  Headers headers;
  /// Record timestamp, milliseconds since the Unix epoch; -1 when the record has none.
  std::int64_t timestamp_ms = -1;

  TopicPartition topic_partition() const { return {topic, partition}; }
};

/// A record to produce. `partition` < 0 lets the partitioner choose (by key hash).
struct OutgoingMessage {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
  std::int32_t partition = -1;
};

}  // namespace ib::kafka
