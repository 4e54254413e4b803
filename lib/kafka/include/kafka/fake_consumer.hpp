#pragma once

#include "kafka/consumer.hpp"
#include "kafka/event_queue.hpp"

#include <map>
#include <mutex>
#include <set>

namespace ib::kafka {

/// In-memory Consumer for unit tests of the pipeline: the test scripts assignments,
/// messages and revokes; the fake records stored and committed offsets, pauses and seeks.
/// store_offset() refuses partitions not assigned, like the real one. Thread-safe.
class FakeConsumer final : public Consumer {
public:
  /// Queues an `assigned` event and marks the partitions assigned.
  void assign(const std::vector<TopicPartition>& partitions);
  /// Marks the partitions revoked (store_offset refuses them), drops their queued
  /// messages and queues a `revoked` event (`lost` when `lost`). Stored offsets of them are
  /// committed first unless lost, as the real consumer does.
  void revoke(const std::vector<TopicPartition>& partitions, bool lost = false);
  /// Queues a message (its partition need not be assigned: tests may check that).
  void deliver(Message message);
  void push_error(ConsumerError error);
  /// The next `count` commit() calls fail with `code`.
  void fail_commits(int count, int code);

  std::map<TopicPartition, std::int64_t> stored() const;
  std::map<TopicPartition, std::int64_t> committed_offsets() const;
  std::set<TopicPartition> paused() const;
  std::vector<std::pair<TopicPartition, std::int64_t>> seeks() const;
  bool is_closed() const;

  boost::asio::awaitable<std::vector<ConsumerEvent>> next(
      std::size_t max, std::chrono::milliseconds max_wait) override;
  std::vector<ConsumerEvent> try_next(std::size_t max) override;
  void wake() override;
  boost::system::result<void> store_offset(const TopicPartition& tp,
                                           std::int64_t next_offset) override;
  boost::system::result<void> commit() override;
  boost::system::result<std::vector<PartitionOffset>> committed(
      const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) override;
  void pause(const std::vector<TopicPartition>& partitions) override;
  void resume(const std::vector<TopicPartition>& partitions) override;
  boost::system::result<void> seek(const TopicPartition& tp, std::int64_t offset) override;
  std::vector<TopicPartition> assignment() const override;
  std::vector<PartitionLag> lag() const override;
  std::size_t queued() const override;
  void close() override;

private:
  EventQueue queue_;
  mutable std::mutex mutex_;
  std::set<TopicPartition> assigned_;
  std::set<TopicPartition> paused_;
  std::map<TopicPartition, std::int64_t> stored_;
  std::map<TopicPartition, std::int64_t> committed_;
  std::vector<std::pair<TopicPartition, std::int64_t>> seeks_;
  int failing_commits_ = 0;
  int failing_code_ = 0;
  bool closed_ = false;
};

}  // namespace ib::kafka
