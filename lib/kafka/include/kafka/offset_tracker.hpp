#pragma once

#include "kafka/message.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

namespace ib::kafka {

/// Per-partition watermark of finished work, for at-least-once commits with out-of-order
/// completion (the idea of modern-cpp-kafka's UnorderedOffsetCommitQueue).
///
/// The pipeline `track()`s every offset it hands out, in consumption order, and
/// `mark_done()`s it once its outcome is durable, in any order. The offset to commit for a
/// partition is the lowest offset still in flight, or, when nothing is in flight, the last
/// done offset + 1: everything below it is done. Offsets need not be contiguous (compacted
/// topics, transaction markers). Memory is bounded by `max_in_flight` entries per
/// partition: `track()` refuses more, and the caller applies backpressure (pause).
///
/// Pure and not thread-safe: use it from one thread (the pipeline's io_context).
class OffsetTracker {
public:
  explicit OffsetTracker(std::size_t max_in_flight_per_partition = 100'000)
      : max_in_flight_(max_in_flight_per_partition) {}

  /// Records that `offset` of `tp` was handed out. False (and nothing recorded) when the
  /// partition already has `max_in_flight` offsets in flight. Tracking an offset that is
  /// already in flight is a no-op returning true. An offset below the current watermark
  /// (a redelivery after seek) is tracked and lowers the watermark until it is done.
  bool track(const TopicPartition& tp, std::int64_t offset);

  /// Marks `offset` of `tp` done. Returns the new offset to commit when the watermark
  /// moved forward, otherwise nullopt (a gap remains below, or the offset is not in
  /// flight: unknown, already done, or its partition was revoked).
  std::optional<std::int64_t> mark_done(const TopicPartition& tp, std::int64_t offset);

  /// The offset to commit for `tp` (highest contiguous done offset + 1, see above);
  /// nullopt when nothing of `tp` was ever done.
  std::optional<std::int64_t> committable(const TopicPartition& tp) const;

  /// Offsets of `tp` handed out and not yet done.
  std::size_t in_flight(const TopicPartition& tp) const;
  /// Offsets in flight over all partitions.
  std::size_t in_flight() const;

  /// Forgets `tp` (revoked or lost): its in-flight offsets can no longer be committed by
  /// this member. A later `track()` starts it afresh (re-assignment).
  void revoke(const TopicPartition& tp);

  /// Forgets every partition.
  void clear() { partitions_.clear(); }

private:
  struct Partition {
    std::map<std::int64_t, bool> in_flight;  // offset -> done
    std::optional<std::int64_t> watermark;   // next offset to commit
  };

  std::size_t max_in_flight_;
  std::map<TopicPartition, Partition> partitions_;
};

}  // namespace ib::kafka
