#pragma once

#include "kafka/consumer.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

namespace ib::kafka {

/// The hand-off between a consumer's poll thread and its owner's io_context: a
/// mutex-guarded FIFO of ConsumerEvent with one awaiting reader. Capacity is enforced by
/// the producer side (it pauses fetching when size() reaches its limit), so push() never
/// blocks and never drops. Thread-safe. Usable by fake consumers in tests of the pipeline.
class EventQueue {
public:
  /// Appends `event` and wakes the reader.
  void push(ConsumerEvent event);

  /// Up to `max` events, oldest first, without waiting.
  std::vector<ConsumerEvent> take(std::size_t max);

  /// Awaits up to `max` events (see Consumer::next()). The reader's executor must be a
  /// single-threaded io_context or a strand; one reader at a time.
  boost::asio::awaitable<std::vector<ConsumerEvent>> next(std::size_t max,
                                                          std::chrono::milliseconds max_wait);

  /// Removes queued messages of `partitions` (revoked: they will be redelivered to the
  /// new owner). Rebalance events and errors stay. Returns how many were removed.
  std::size_t drop_messages(const std::set<TopicPartition>& partitions);

  /// One past the highest offset of `tp` taken by the reader so far (0: none). Recorded
  /// under the same lock as take() and drop_messages(): after a drop, every message of
  /// the partition the reader has is below it.
  std::int64_t taken_end(const TopicPartition& tp) const;
  /// Forgets taken_end() of `partitions` (revoked: a new assignment starts afresh).
  void forget_taken(const std::set<TopicPartition>& partitions);

  /// Wakes the reader once (its next() returns what is queued, possibly nothing).
  void wake();

  /// From now on next() returns at once; queued events can still be taken.
  void close();
  bool closed() const;

  std::size_t size() const;

private:
  void notify(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  std::deque<ConsumerEvent> events_;
  std::map<TopicPartition, std::int64_t> taken_end_;
  std::function<void()> waiter_;
  bool woken_ = false;
  bool closed_ = false;
};

}  // namespace ib::kafka
