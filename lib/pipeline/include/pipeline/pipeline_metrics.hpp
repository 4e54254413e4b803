#pragma once

#include "core/outcome.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace ib::d365 {
struct BulkClientStats;
}  // namespace ib::d365

namespace ib::pipeline {

/// The daemon's metrics (docs/metrics.md), registered once at startup; every series used
/// on the hot path is resolved here, so recording is a pointer increment. Label values
/// come from enums and fixed tables, never from ids. Not thread-safe for registration;
/// recording is (prometheus-cpp metrics are atomic).
class PipelineMetrics {
public:
  explicit PipelineMetrics(prometheus::Registry& registry);

  /// `ib_messages_consumed_total{topic_kind="input|retry"}`
  void consumed(bool from_retry_topic, std::uint64_t n = 1);
  /// `ib_invoices_total{outcome=...}`
  void outcome(core::Outcome o);
  /// `ib_batch_size` and `ib_batch_duration_seconds` histograms.
  void batch(std::size_t size, std::chrono::steady_clock::duration took);
  /// `ib_d365_responses_total{status="204|412|...|other|none"}`; 0 = no response part.
  void response(int status);
  /// `ib_throttle_events_total`
  void throttled();
  /// Gauges: `ib_batches_in_flight`, `ib_in_flight_limit`, `ib_backlog_messages`,
  /// `ib_retry_backlog_messages`, `ib_store_keys`, `ib_store_disk_bytes`.
  void in_flight(int batches, int limit);
  void backlog(std::size_t messages);
  void retry_backlog(std::size_t messages);
  void store_keys(std::uint64_t keys);
  void store_disk_bytes(std::uint64_t bytes);
  /// `ib_consumer_lag_messages{topic,partition}`; partitions are few and bounded per member.
  void lag(const std::string& topic, std::int32_t partition, std::int64_t lag);
  /// Removes a partition's lag series (its partition moved to another member): a stale
  /// value here would be counted twice when lag is summed across members.
  void forget_lag(const std::string& topic, std::int32_t partition);

  /// `ib_changelog_restoring{partition}`: 1 while the partition's dedup state is restored
  /// from the changelog, then 0.
  void restoring(std::int32_t partition, bool active);
  /// `ib_changelog_restored_keys_total`: keys written into the store by restores.
  void restored_keys(std::uint64_t keys);
  /// `ib_changelog_restore_duration_seconds` histogram: one observation per finished restore.
  void restore_duration(std::chrono::steady_clock::duration took);
  /// `ib_changelog_produce_errors_total`: changelog produces that failed (the daemon stops).
  void changelog_produce_error();
  /// `ib_d365_bulk_*`: follows a d365::BulkClient's monotonic counts (only the growth since
  /// the last call is added) and sets `ib_d365_bulk_refused_share` to its refusal memory.
  /// Same thread as its sender.
  void bulk(const d365::BulkClientStats& now, double refused_share);

private:
  // messages, records, refused, fallback batches, skipped slices: the counters and the
  // counts they were last brought to.
  std::array<prometheus::Counter*, 5> bulk_counters_{};
  std::array<std::uint64_t, 5> bulk_seen_{};
  prometheus::Gauge* bulk_refused_share_;
  prometheus::Family<prometheus::Gauge>* lag_family_;
  prometheus::Family<prometheus::Gauge>* restoring_family_;
  prometheus::Counter* restored_keys_;
  prometheus::Histogram* restore_seconds_;
  prometheus::Counter* changelog_errors_;
  prometheus::Counter* consumed_input_;
  prometheus::Counter* consumed_retry_;
  std::array<prometheus::Counter*, 9> outcomes_{};
  prometheus::Histogram* batch_size_;
  prometheus::Histogram* batch_seconds_;
  prometheus::Family<prometheus::Counter>* responses_family_;
  prometheus::Counter* throttle_events_;
  prometheus::Gauge* in_flight_;
  prometheus::Gauge* in_flight_limit_;
  prometheus::Gauge* backlog_;
  prometheus::Gauge* retry_backlog_;
  prometheus::Gauge* store_keys_;
  prometheus::Gauge* store_disk_bytes_;
};

}  // namespace ib::pipeline
