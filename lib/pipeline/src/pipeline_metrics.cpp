#include "pipeline/pipeline_metrics.hpp"

#include "d365/bulk_client.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace ib::pipeline {

namespace {

constexpr core::Outcome kOutcomes[] = {core::Outcome::imported, core::Outcome::duplicate, core::Outcome::recovered,
                                 core::Outcome::conflict, core::Outcome::invalid,   core::Outcome::rejected,
                                 core::Outcome::retried,  core::Outcome::exhausted, core::Outcome::throttled};

// Statuses D365 answers that get their own series; anything else is "other".
constexpr int kStatuses[] = {200, 201, 204, 400, 401, 403, 404, 409, 412, 413, 422, 429, 500, 502, 503, 504};

}  // namespace

PipelineMetrics::PipelineMetrics(prometheus::Registry& registry) {
  auto& consumed = prometheus::BuildCounter()
                       .Name("ib_messages_consumed_total")
                       .Help("Kafka messages consumed, by the kind of topic they came from")
                       .Register(registry);
  consumed_input_ = &consumed.Add({{"topic_kind", "input"}});
  consumed_retry_ = &consumed.Add({{"topic_kind", "retry"}});

  auto& outcomes = prometheus::BuildCounter()
                       .Name("ib_invoices_total")
                       .Help("Invoices by outcome (duplicate counts upstream duplicates only; "
                             "recovered: our own earlier attempt had landed)")
                       .Register(registry);
  for (auto o : kOutcomes) {
    outcomes_[static_cast<std::size_t>(o)] = &outcomes.Add({{"outcome", std::string(to_string(o))}});
  }

  batch_size_ = &prometheus::BuildHistogram()
                     .Name("ib_batch_size")
                     .Help("Invoices per $batch request")
                     .Register(registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1, 5, 10, 25, 50, 100, 250, 500, 1000});
  batch_seconds_ = &prometheus::BuildHistogram()
                        .Name("ib_batch_duration_seconds")
                        .Help("Time from sending a $batch request to its classified answer")
                        .Register(registry)
                        .Add({}, prometheus::Histogram::BucketBoundaries{
                                     0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  responses_family_ = &prometheus::BuildCounter()
                           .Name("ib_d365_responses_total")
                           .Help("Per-invoice answers from D365 by HTTP status (none: no response part)")
                           .Register(registry);
  for (int s : kStatuses) responses_family_->Add({{"status", std::to_string(s)}});
  responses_family_->Add({{"status", "other"}});
  responses_family_->Add({{"status", "none"}});
  throttle_events_ = &prometheus::BuildCounter()
                          .Name("ib_throttle_events_total")
                          .Help("Batches answered with 429 (service protection limits)")
                          .Register(registry)
                          .Add({});
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
  };
  in_flight_ = gauge("ib_batches_in_flight", "$batch requests sent and not yet answered");
  in_flight_limit_ = gauge("ib_in_flight_limit", "Current AIMD limit on batches in flight");
  backlog_ = gauge("ib_backlog_messages", "Messages consumed whose outcome is not durable yet");
  retry_backlog_ = gauge("ib_retry_backlog_messages",
                         "Retry-topic messages held until their due time");
  store_keys_ = gauge("ib_store_keys", "Estimated keys in the dedup store");
  store_disk_bytes_ = gauge("ib_store_disk_bytes", "Bytes of the dedup store's live table files on disk");
  lag_family_ = &prometheus::BuildGauge()
                     .Name("ib_consumer_lag_messages")
                     .Help("High watermark minus position, per assigned partition")
                     .Register(registry);
  restoring_family_ = &prometheus::BuildGauge()
                           .Name("ib_changelog_restoring")
                           .Help("1 while an input partition's dedup state is restored from the changelog")
                           .Register(registry);
  restored_keys_ = &prometheus::BuildCounter()
                        .Name("ib_changelog_restored_keys_total")
                        .Help("Dedup entries written into the store by changelog restores")
                        .Register(registry)
                        .Add({});
  restore_seconds_ = &prometheus::BuildHistogram()
                          .Name("ib_changelog_restore_duration_seconds")
                          .Help("Time to restore one partition's dedup state from the changelog")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                                                           30, 60, 120, 300, 600});
  changelog_errors_ = &prometheus::BuildCounter()
                           .Name("ib_changelog_produce_errors_total")
                           .Help("Changelog records the broker did not acknowledge (the daemon stops)")
                           .Register(registry)
                           .Add({});
  auto counter = [&](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
  };
  bulk_counters_ = {
      counter("ib_d365_bulk_messages_total", "CreateMultiple/UpsertMultiple requests sent"),
      counter("ib_d365_bulk_records_total", "Records inside the bulk messages sent"),
      counter("ib_d365_bulk_refused_total", "Bulk messages refused as a whole because of a record (nothing written)"),
      counter("ib_d365_bulk_fallback_batches_total",
              "Slices written through a continue-on-error $batch after their bulk message was refused"),
      counter("ib_d365_bulk_skipped_total",
              "Slices sent straight as a $batch because most recent bulk messages were refused")};
  bulk_refused_share_ = gauge("ib_d365_bulk_refused_share",
                              "Weighted share of recent slices whose bulk message was refused (0..1; skip above d365.odata.bulk_skip_above)");
}

void PipelineMetrics::bulk(const d365::BulkClientStats& now, double refused_share) {
  const std::array<std::uint64_t, 5> counts = {now.messages_sent, now.records_written, now.messages_refused,
                                               now.fallback_batches, now.slices_skipped};
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > bulk_seen_[i]) bulk_counters_[i]->Increment(static_cast<double>(counts[i] - bulk_seen_[i]));
  }
  bulk_seen_ = counts;
  bulk_refused_share_->Set(refused_share);
}

void PipelineMetrics::restoring(std::int32_t partition, bool active) {
  restoring_family_->Add({{"partition", std::to_string(partition)}}).Set(active ? 1 : 0);
}
void PipelineMetrics::restored_keys(std::uint64_t keys) { restored_keys_->Increment(static_cast<double>(keys)); }
void PipelineMetrics::restore_duration(std::chrono::steady_clock::duration took) {
  restore_seconds_->Observe(std::chrono::duration<double>(took).count());
}
void PipelineMetrics::changelog_produce_error() { changelog_errors_->Increment(); }

void PipelineMetrics::consumed(bool from_retry_topic, std::uint64_t n) {
  (from_retry_topic ? consumed_retry_ : consumed_input_)->Increment(static_cast<double>(n));
}

void PipelineMetrics::outcome(core::Outcome o) { outcomes_[static_cast<std::size_t>(o)]->Increment(); }

void PipelineMetrics::batch(std::size_t size, std::chrono::steady_clock::duration took) {
  batch_size_->Observe(static_cast<double>(size));
  batch_seconds_->Observe(std::chrono::duration<double>(took).count());
}

void PipelineMetrics::response(int status) {
  std::string label = "other";
  if (status == 0) {
    label = "none";
  } else {
    for (int s : kStatuses) {
      if (s == status) label = std::to_string(s);
    }
  }
  // Add() returns the existing series: every label value was created in the constructor.
  responses_family_->Add({{"status", label}}).Increment();
}

void PipelineMetrics::throttled() { throttle_events_->Increment(); }

void PipelineMetrics::in_flight(int batches, int limit) {
  in_flight_->Set(batches);
  in_flight_limit_->Set(limit);
}

void PipelineMetrics::backlog(std::size_t messages) { backlog_->Set(static_cast<double>(messages)); }
void PipelineMetrics::retry_backlog(std::size_t messages) {
  retry_backlog_->Set(static_cast<double>(messages));
}
void PipelineMetrics::store_keys(std::uint64_t keys) { store_keys_->Set(static_cast<double>(keys)); }
void PipelineMetrics::store_disk_bytes(std::uint64_t bytes) {
  store_disk_bytes_->Set(static_cast<double>(bytes));
}

void PipelineMetrics::forget_lag(const std::string& topic, std::int32_t partition) {
  const prometheus::Labels labels{{"topic", topic}, {"partition", std::to_string(partition)}};
  if (lag_family_->Has(labels)) lag_family_->Remove(&lag_family_->Add(labels));
}

void PipelineMetrics::lag(const std::string& topic, std::int32_t partition, std::int64_t lag) {
  lag_family_->Add({{"topic", topic}, {"partition", std::to_string(partition)}})
      .Set(static_cast<double>(lag));
}

}  // namespace ib::pipeline
