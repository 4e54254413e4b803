#pragma once

#include "kafka/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace ib::kafka {

/// A change of this member's partition assignment.
struct RebalanceEvent {
  enum class Kind {
    /// Partitions added to this member (eager: the whole new assignment).
    assigned,
    /// Partitions taken away in an orderly rebalance. Stored offsets of these partitions
    /// were committed before the revoke completed; messages of them still queued for the
    /// owner were dropped; offsets stored from now on are refused. The owner drops its
    /// in-flight work of them (it will be redelivered to the new owner).
    revoked,
    /// Partitions lost (session timeout, fenced): nothing could be committed. Same handling.
    lost,
  };
  Kind kind = Kind::assigned;
  std::vector<TopicPartition> partitions;
};

/// A consumer error the owner may log or act on. Transient errors are informational
/// (librdkafka recovers by itself); `fatal` means the consumer is unusable: shut down.
struct ConsumerError {
  int code = 0;  ///< librdkafka error code (see kafka/error.hpp)
  std::string message;
  bool fatal = false;
};

/// What the poll thread hands to the owner, in order: messages and rebalance events of one
/// partition keep their relative order.
using ConsumerEvent = std::variant<Message, RebalanceEvent, ConsumerError>;

/// Lag of one assigned partition, for metrics.
struct PartitionLag {
  TopicPartition partition;
  /// Next offset this member will read; -1 when not known yet.
  std::int64_t position = -1;
  /// Broker's high watermark as of the last fetch; -1 when not known yet.
  std::int64_t high_watermark = -1;
  /// high_watermark - position, or -1 when either is unknown.
  std::int64_t lag = -1;
};

/// A committed offset of a partition (-1 = none committed).
struct PartitionOffset {
  TopicPartition partition;
  std::int64_t offset = -1;
};

/// Consumer-group consumer with at-least-once offset handling. A poll thread inside the
/// implementation calls librdkafka; the owner (the pipeline on its io_context) receives
/// messages and rebalance events through next() and reports finished work with
/// store_offset() (a contiguous watermark, see OffsetTracker).
///
/// Threading: every method is safe to call from any thread. Methods marked "blocking"
/// wait on the network and must not run on the io_context thread; the rest return at once.
class Consumer {
public:
  virtual ~Consumer() = default;

  /// Awaits the next events: returns up to `max` (> 0) queued events as soon as there is
  /// at least one, or an empty vector when `max_wait` passed without any, after wake(), or
  /// once the consumer is closed. Run it from one coroutine at a time, on an executor
  /// that is a single-threaded io_context or a strand.
  virtual boost::asio::awaitable<std::vector<ConsumerEvent>> next(
      std::size_t max, std::chrono::milliseconds max_wait) = 0;

  /// Up to `max` queued events without waiting (maybe none).
  virtual std::vector<ConsumerEvent> try_next(std::size_t max) = 0;

  /// Makes the pending (or the next) next() return at once, empty. For shutdown.
  virtual void wake() = 0;

  /// Stores `next_offset` (the offset of the next message to read: last done + 1) as the
  /// offset to commit for `tp`. librdkafka commits it with the next periodic commit,
  /// commit(), the revoke path or close(). Refused (error kState) when `tp` is not
  /// assigned to this member any more. Never blocks.
  virtual boost::system::result<void> store_offset(const TopicPartition& tp,
                                                   std::int64_t next_offset) = 0;

  /// Commits the stored offsets of the current assignment now, retrying retriable
  /// failures up to commit_attempts times. Success when there was nothing to commit.
  /// Blocking (up to attempts x (broker round trip + commit_backoff)).
  virtual boost::system::result<void> commit() = 0;

  /// Committed offsets of `partitions` as the group coordinator has them. Blocking.
  virtual boost::system::result<std::vector<PartitionOffset>> committed(
      const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) = 0;

  /// Stops fetching `partitions` until resume(). Messages of them already queued for the
  /// owner stay queued. Independent of the internal backpressure.
  virtual void pause(const std::vector<TopicPartition>& partitions) = 0;
  virtual void resume(const std::vector<TopicPartition>& partitions) = 0;

  /// Makes the next fetch of `tp` start at `offset` (e.g. to re-read after a failure).
  virtual boost::system::result<void> seek(const TopicPartition& tp, std::int64_t offset) = 0;

  /// Partitions currently assigned to this member.
  virtual std::vector<TopicPartition> assignment() const = 0;

  /// Lag of every assigned partition, from librdkafka's cached watermarks (no network).
  virtual std::vector<PartitionLag> lag() const = 0;

  /// Events queued for the owner right now.
  virtual std::size_t queued() const = 0;

  /// Stops the poll thread, commits the stored offsets, leaves the group (revoking the
  /// assignment, reported as an event) and wakes next(). Bounded by close_timeout;
  /// idempotent; the destructor calls it. Blocking.
  virtual void close() = 0;
};

}  // namespace ib::kafka
