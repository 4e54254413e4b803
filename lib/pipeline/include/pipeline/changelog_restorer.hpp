#pragma once

#include "dedup/dedup_store.hpp"
#include "kafka/topic_reader.hpp"
#include "pipeline/consumer_loop.hpp"
#include "pipeline/pipeline_metrics.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ib::pipeline {

struct ChangelogRestoreConfig {
  /// The dedup changelog topic (`kafka.topics.changelog`).
  std::string topic;
  /// Client properties (bootstrap.servers, SASL/SSL); `timeout` bounds the wait for any
  /// progress of one restore (a stalled broker fails it), not its whole length.
  kafka::TopicReadOptions read;
  /// Records per atomic store write (records + checkpoint).
  std::size_t chunk = 2000;
};

/// What one partition's restore did.
struct RestoreReport {
  std::int32_t partition = 0;
  /// Changelog offsets read: [from, to), `to` the high watermark at the start.
  std::int64_t from = 0;
  std::int64_t to = 0;
  dedup::RestoreApplied applied;
  std::chrono::steady_clock::duration took{};
};

/// Restores `partition`'s dedup state: reads the changelog partition from the store's
/// checkpoint (from the start without one) to its high watermark at the start, applying
/// each chunk of records with the new checkpoint in one atomic store write (a crash
/// resumes from the checkpoint). `on_start` gets the range, `on_chunk` the keys written
/// so far (progress). Blocking; the caller's thread.
boost::system::result<RestoreReport, std::string> restore_partition(
    const ChangelogRestoreConfig& config, dedup::DedupStore& store, std::int32_t partition,
    const std::atomic<bool>* cancel = nullptr,
    const std::function<void(const kafka::PartitionRange&)>& on_start = {},
    const std::function<void(const dedup::RestoreApplied& so_far, std::int64_t next_offset)>& on_chunk = {});

/// The daemon's PartitionRestorer: restore_partition() on one worker thread (partitions
/// one after the other, in assignment order), so the consumer's poll loop never waits
/// (max.poll.interval.ms); completions are posted to `executor`. Logs each restore's
/// start (partition, from, to) and end (keys, seconds) and records the restore metrics.
class ChangelogRestorer final : public PartitionRestorer {
public:
  ChangelogRestorer(boost::asio::any_io_executor executor, ChangelogRestoreConfig config,
                    dedup::DedupStore& store, PipelineMetrics* metrics = nullptr);
  /// Cancels what is queued or running and joins the worker; no completion runs after.
  ~ChangelogRestorer() override;
  ChangelogRestorer(const ChangelogRestorer&) = delete;
  ChangelogRestorer& operator=(const ChangelogRestorer&) = delete;

  void start(std::int32_t partition, std::function<void(std::optional<std::string> error)> done) override;
  void cancel(std::int32_t partition) override;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ib::pipeline
