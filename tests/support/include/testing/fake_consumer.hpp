#pragma once

#include "kafka/consumer.hpp"
#include "kafka/event_queue.hpp"

#include <map>
#include <mutex>
#include <set>

namespace ib::testing {

/// In-memory kafka::Consumer for unit tests of the pipeline: the test scripts assignments,
/// messages and revokes; the fake records stored and committed offsets, pauses and seeks.
/// store_offset() refuses partitions not assigned, like the real one. Thread-safe.
class FakeConsumer final : public kafka::Consumer {
public:
  /// Queues an `assigned` event and marks the partitions assigned.
  void assign(const std::vector<kafka::TopicPartition>& partitions);
  /// Marks the partitions revoked (store_offset refuses them), drops their queued
  /// messages and queues a `revoked` event (`lost` when `lost`). Stored offsets of them are
  /// committed first unless lost, as the real consumer does.
  void revoke(const std::vector<kafka::TopicPartition>& partitions, bool lost = false);
  /// Queues a message (its partition need not be assigned: tests may check that).
  void deliver(kafka::Message message);
  void push_error(kafka::ConsumerError error);
  /// The next `count` commit() calls fail with `code`.
  void fail_commits(int count, int code);

  std::map<kafka::TopicPartition, std::int64_t> stored() const;
  std::map<kafka::TopicPartition, std::int64_t> committed_offsets() const;
  std::set<kafka::TopicPartition> paused() const;
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> seeks() const;
  bool is_closed() const;

  boost::asio::awaitable<std::vector<kafka::ConsumerEvent>> next(
      std::size_t max, std::chrono::milliseconds max_wait) override;
  std::vector<kafka::ConsumerEvent> try_next(std::size_t max) override;
  void wake() override;
  boost::system::result<void> store_offset(const kafka::TopicPartition& tp,
                                           std::int64_t next_offset) override;
  boost::system::result<void> commit() override;
  boost::system::result<std::vector<kafka::PartitionOffset>> committed(
      const std::vector<kafka::TopicPartition>& partitions, std::chrono::milliseconds timeout) override;
  void pause(const std::vector<kafka::TopicPartition>& partitions) override;
  void resume(const std::vector<kafka::TopicPartition>& partitions) override;
  boost::system::result<void> seek(const kafka::TopicPartition& tp, std::int64_t offset) override;
  std::vector<kafka::TopicPartition> assignment() const override;
  std::vector<kafka::PartitionLag> lag() const override;
  std::size_t queued() const override;
  void close() override;

private:
  kafka::EventQueue queue_;
  mutable std::mutex mutex_;
  std::set<kafka::TopicPartition> assigned_;
  std::set<kafka::TopicPartition> paused_;
  std::map<kafka::TopicPartition, std::int64_t> stored_;
  std::map<kafka::TopicPartition, std::int64_t> committed_;
  std::vector<std::pair<kafka::TopicPartition, std::int64_t>> seeks_;
  int failing_commits_ = 0;
  int failing_code_ = 0;
  bool closed_ = false;
};

}  // namespace ib::testing
