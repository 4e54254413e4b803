#include "pipeline/pipeline_metrics.hpp"

#include "d365/bulk_client.hpp"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

using namespace ib::pipeline;
using ib::core::Outcome;

namespace {

std::string scrape(prometheus::Registry& r) {
  return prometheus::TextSerializer().Serialize(r.Collect());
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("outcomes, responses and gauges appear under their documented names",
          "[pipeline][metrics][unit]") {
  prometheus::Registry registry;
  PipelineMetrics m(registry);
  m.outcome(Outcome::imported);
  m.outcome(Outcome::imported);
  m.outcome(Outcome::recovered);
  m.consumed(false, 5);
  m.consumed(true);
  m.response(204);
  m.response(418);
  m.response(0);
  m.batch(100, std::chrono::milliseconds(40));
  m.throttled();
  m.in_flight(3, 4);
  m.lag("invoices", 2, 17);
  m.store_keys(12);
  m.store_disk_bytes(4096);
  const auto text = scrape(registry);
  CHECK(has(text, "ib_invoices_total{outcome=\"imported\"} 2"));
  CHECK(has(text, "ib_invoices_total{outcome=\"recovered\"} 1"));
  CHECK(has(text, "ib_invoices_total{outcome=\"duplicate\"} 0"));
  CHECK(has(text, "ib_messages_consumed_total{topic_kind=\"input\"} 5"));
  CHECK(has(text, "ib_messages_consumed_total{topic_kind=\"retry\"} 1"));
  CHECK(has(text, "ib_d365_responses_total{status=\"204\"} 1"));
  CHECK(has(text, "ib_d365_responses_total{status=\"other\"} 1"));
  CHECK(has(text, "ib_d365_responses_total{status=\"none\"} 1"));
  CHECK(has(text, "ib_batch_size_count 1"));
  CHECK(has(text, "ib_batch_duration_seconds_count 1"));
  CHECK(has(text, "ib_throttle_events_total 1"));
  CHECK(has(text, "ib_batches_in_flight 3"));
  CHECK(has(text, "ib_in_flight_limit 4"));
  CHECK(has(text, "ib_consumer_lag_messages{partition=\"2\",topic=\"invoices\"} 17"));
  CHECK(has(text, "ib_store_keys 12"));
  CHECK(has(text, "ib_store_disk_bytes 4096"));

  // A revoked partition's lag series goes away; the others stay.
  m.lag("invoices", 3, 5);
  m.forget_lag("invoices", 2);
  m.forget_lag("invoices", 9);  // never reported: nothing to remove
  const auto after = scrape(registry);
  CHECK_FALSE(has(after, "ib_consumer_lag_messages{partition=\"2\""));
  CHECK(has(after, "ib_consumer_lag_messages{partition=\"3\",topic=\"invoices\"} 5"));
}

TEST_CASE("bulk metrics follow a sender's monotonic counts by their growth", "[pipeline][metrics][unit]") {
  prometheus::Registry registry;
  PipelineMetrics m(registry);
  auto text = scrape(registry);
  CHECK(has(text, "ib_d365_bulk_messages_total 0"));  // present from the first scrape
  CHECK(has(text, "ib_d365_bulk_refused_share 0"));
  ib::d365::BulkClientStats st;
  st.messages_sent = 3;
  st.records_written = 300;
  st.messages_refused = 1;
  st.fallback_batches = 1;
  m.bulk(st, 0.25);
  m.bulk(st, 0.25);  // nothing new: nothing added
  st.messages_sent = 7;
  st.records_written = 640;
  st.messages_refused = 4;
  st.fallback_batches = 3;
  st.slices_skipped = 2;
  m.bulk(st, 0.82);
  text = scrape(registry);
  CHECK(has(text, "ib_d365_bulk_messages_total 7"));
  CHECK(has(text, "ib_d365_bulk_records_total 640"));
  CHECK(has(text, "ib_d365_bulk_refused_total 4"));
  CHECK(has(text, "ib_d365_bulk_fallback_batches_total 3"));
  CHECK(has(text, "ib_d365_bulk_skipped_total 2"));
  CHECK(has(text, "ib_d365_bulk_refused_share 0.82"));
}
