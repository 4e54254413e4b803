#pragma once

#include "kafka/config.hpp"
#include "kafka/consumer.hpp"

#include <cstdint>
#include <memory>

namespace ib::kafka {

/// Consumer on librdkafka's KafkaConsumer (see Consumer for the contract).
///
/// librdkafka settings it imposes: `enable.auto.offset.store=false` (only store_offset()
/// stores), `enable.auto.commit` on with `auto.commit.interval.ms` = auto_commit_interval
/// (off when 0), `enable.partition.eof=false`, `partition.assignment.strategy` from the
/// config. Its own poll thread calls consume() (one message at a time; never the batch
/// API, unsafe with pause/resume/rebalance in librdkafka 2.0.2), serves the rebalance
/// callback, and stops taking messages from librdkafka while queue_capacity events wait for
/// the owner (until it has drained them to queue_resume_at).
class RdKafkaConsumer final : public Consumer {
public:
  /// Creates the client, subscribes to config.topics and starts the poll thread.
  /// Throws std::invalid_argument listing every problem when the config is invalid, and
  /// std::runtime_error when librdkafka refuses a property or the subscription.
  explicit RdKafkaConsumer(ConsumerConfig config);
  ~RdKafkaConsumer() override;
  RdKafkaConsumer(const RdKafkaConsumer&) = delete;
  RdKafkaConsumer& operator=(const RdKafkaConsumer&) = delete;

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

  /// True once the group has given this member an assignment (its first one, possibly
  /// empty when the group has more members than partitions) and the consumer applied it:
  /// the member has joined and fetches what it was given. Stays true (later rebalances do
  /// not reset it). Thread-safe, non-blocking.
  bool joined() const;
  /// True while the poll thread takes no messages because the queue is full.
  bool backpressured() const;
  /// Commit tries repeated after a retriable failure, since construction (for metrics).
  std::uint64_t commit_retries() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ib::kafka
