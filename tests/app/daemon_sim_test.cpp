// Integration: the daemon with the real D365 side (make_d365_factory: EntityInvoiceCodec +
// BatchClient + BeastTransport over real sockets) against the in-process simulator,
// consuming from the real Kafka broker. Each scenario produces a few thousand invoices and
// checks the simulator's records (every key created exactly once), the review topic, the
// daemon's metrics and the group's committed offsets afterwards (ARCHITECTURE.md invariants).
#include "app/daemon.hpp"
#include "d365/batch_client.hpp"
#include "d365/d365_transport.hpp"
#include "app/daemon.hpp"
#include "daemon_harness.hpp"
#include "kafka/headers.hpp"
#include "sim/simulator.hpp"
#include "sim_checks.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <memory>
#include <thread>

using namespace std::chrono_literals;
using namespace ib;
using ib::testing::daemon::all_imported_and_committed;
using ib::testing::daemon::check_created_once;
using ib::testing::daemon::metric;
using ib::testing::daemon::produce_all;
using ib::testing::daemon::read_topic;

namespace {

using Records = std::vector<std::pair<std::string, std::string>>;

std::string invoice_json(int i, const std::string& amount) {
  return R"({"vendor_account":"V1","invoice_number":"INV-)" + std::to_string(i) +
         R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" + amount + "}";
}

std::string key_of(int i) { return "ACME|V1|INV-" + std::to_string(i); }

Records unique_invoices(int n) {
  Records out;
  for (int i = 0; i < n; ++i) out.emplace_back(key_of(i), invoice_json(i, "100.50"));
  return out;
}

app::DaemonConfig config_for(const std::string& bootstrap, const std::string& name,
                             const std::filesystem::path& dir, const sim::Simulator& sim) {
  auto c = ib::testing::daemon::config_for(bootstrap, name, dir);
  c.d365.base_url = sim.base_url();
  c.d365.request_deadline = 20s;
  return c;
}

struct Run {
  int rc = -1;
  std::string metrics;  // the /metrics text just before the stop
  bool finished = false;
};

// Runs the daemon until the simulator holds `unique` records and the group has committed
// the input and retry topics to their end (every outcome durable), or 90 s pass.
Run run_daemon(const app::DaemonConfig& c, sim::Simulator& sim, std::uint64_t unique) {
  REQUIRE(c.validate().empty());
  app::Daemon daemon(c, app::make_d365_factory(c));
  Run run;
  std::thread t([&] { run.rc = daemon.run(false); });
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (all_imported_and_committed(sim, unique, c.producer.bootstrap_servers, c.consumer.group_id,
                                   c.topics.input, c.topics.retry)) {
      run.finished = true;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  run.metrics = ib::testing::daemon::http_get(daemon.metrics_url() + "/metrics");
  daemon.request_stop();
  t.join();
  return run;
}

std::map<std::string, int> review_reasons(const std::vector<std::pair<std::string, kafka::Headers>>& review) {
  std::map<std::string, int> reasons;
  for (const auto& [value, headers] : review) {
    ++reasons[std::string(ib::core::find_last_header(headers, kafka::header::kReviewReason).value_or(""))];
  }
  return reasons;
}

}  // namespace

TEST_CASE("daemon + simulator: 20% duplicates and 2% poison pills: each invoice created once",
          "[app][daemon][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-sim");
  ib::testing::TempDir dir;
  sim::Simulator sim(sim::SimOptions{});

  // 2000 unique; 20% more copies: 300 with the same content (amount spelt differently),
  // 100 with a changed amount (conflicts); 2% poison pills. Each conflict comes right before
  // an exact copy of its invoice (same key, same partition, most often one consumed group):
  // the copy is still a duplicate of the imported version, not a second conflict.
  constexpr int kUnique = 2000;
  auto records = unique_invoices(kUnique);
  for (int i = 0; i < 300; ++i) {
    if (i < 100) records.emplace_back(key_of(i * 6), invoice_json(i * 6, "123.45"));
    records.emplace_back(key_of(i * 6), invoice_json(i * 6, "100.5"));
  }
  for (int i = 0; i < 48; ++i) records.emplace_back("poison", i % 2 ? "\xff\xfe not utf-8" : "{\"amount\":");
  produce_all(bootstrap, name, records);

  const auto c = config_for(bootstrap, name, dir.path(), sim);
  const auto run = run_daemon(c, sim, kUnique);
  CHECK(run.finished);
  CHECK(run.rc == 0);
  check_created_once(sim, kUnique);

  const auto review = read_topic(bootstrap, c.topics.review, 148);
  CHECK(review.size() == 148);
  auto reasons = review_reasons(review);
  CHECK(reasons["invalid"] == 48);
  CHECK(reasons["conflict"] == 100);
  for (const auto& [value, headers] : review) {
    if (ib::core::find_last_header(headers, kafka::header::kReviewReason) == "conflict") {
      CHECK(value.find("123.45") != std::string::npos);
    }
  }
  // The duplicate metric counts the 300 upstream copies, nothing else; no API call for them.
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="duplicate"})") == 300);
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="imported"})") == kUnique);
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="recovered"})") == 0);
  CHECK(sim.stats().duplicate_rejections == 0);
}

TEST_CASE("daemon + simulator: 10% 503s and applied-then-failed: nothing lost, nothing twice",
          "[app][daemon][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-sim-503");
  ib::testing::TempDir dir;
  sim::SimOptions o;
  o.faults.operation_error_probability = 0.05;            // 503, not applied
  o.faults.operation_applied_then_failed_probability = 0.03;  // created, answered 500
  o.faults.request_error_probability = 0.02;              // the whole batch 503
  o.faults.error_statuses = {503};
  sim::Simulator sim(o);

  constexpr int kUnique = 2000;
  produce_all(bootstrap, name, unique_invoices(kUnique));
  auto c = config_for(bootstrap, name, dir.path(), sim);
  c.pipeline.backoff.max_attempts = 10;  // ~10% faults per try: none may run out of retries
  const auto run = run_daemon(c, sim, kUnique);
  CHECK(run.finished);
  CHECK(run.rc == 0);
  check_created_once(sim, kUnique);
  const auto stats = sim.stats();
  CHECK(stats.injected_errors > 0);
  CHECK(stats.applied_then_failed > 0);
  // Applied-then-failed invoices were sent again and answered "duplicate": recovered, not
  // counted as upstream duplicates, not reviewed.
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="recovered"})") > 0);
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="duplicate"})") == 0);
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="retried"})") > 0);
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="imported"})") +
            metric(run.metrics, R"(ib_invoices_total{outcome="recovered"})") == kUnique);
  CHECK(read_topic(bootstrap, c.topics.review, 0).empty());
}

TEST_CASE("daemon + simulator that stops at the first error in a batch: nothing lost",
          "[app][daemon][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-sim-stop");
  ib::testing::TempDir dir;
  sim::SimOptions o;
  o.faults.operation_error_probability = 0.03;
  o.faults.error_statuses = {503};
  sim::Simulator sim(o);

  constexpr int kUnique = 2000;
  auto records = unique_invoices(kUnique);
  // Copies that reach D365 as duplicates also stop a batch (the 412 is an error there).
  for (int i = 0; i < 100; ++i) records.emplace_back(key_of(i * 20), invoice_json(i * 20, "100.50"));
  produce_all(bootstrap, name, records);
  auto c = config_for(bootstrap, name, dir.path(), sim);
  c.d365.odata.continue_on_error = false;  // Dataverse's default: no parts after a failure
  c.pipeline.backoff.max_attempts = 10;
  const auto run = run_daemon(c, sim, kUnique);
  CHECK(run.finished);
  CHECK(run.rc == 0);
  check_created_once(sim, kUnique);
  CHECK(read_topic(bootstrap, c.topics.review, 0).empty());
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="duplicate"})") == 100);
}

TEST_CASE("daemon + simulator with CreateMultiple: invoices D365 already holds are found by the "
          "$batch fallback, each invoice is created once, the bulk metrics count it",
          "[app][daemon][integration][bulk]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-sim-bulk");
  ib::testing::TempDir dir;
  sim::Simulator sim(sim::SimOptions{});
  // D365 holds every 10th invoice already (as after a lost dedup store): every bulk message
  // of 100 holds about ten of them and is refused whole.
  constexpr int kUnique = 2000;
  std::string held = R"({"VendorInvoices":[)";
  int held_count = 0;
  for (int i = 3; i < kUnique; i += 10, ++held_count) {
    held += std::string(held_count ? "," : "") + R"({"VendorAccount":"V1","InvoiceNumber":"INV-)" +
            std::to_string(i) + R"(","Company":"ACME","InvoiceDate":"2026-11-01","Currency":"EUR","Amount":100.5})";
  }
  held += "]}";
  sim.load_records_json(held);
  REQUIRE(sim.stats().records == 200);
  produce_all(bootstrap, name, unique_invoices(kUnique));

  auto c = config_for(bootstrap, name, dir.path(), sim);
  c.d365.bulk = d365::BulkMessage::create_multiple;
  c.d365.entity_type = "vendorinvoice";
  const auto run = run_daemon(c, sim, kUnique);
  CHECK(run.finished);
  CHECK(run.rc == 0);
  const auto stats = sim.stats();
  CHECK(stats.records == kUnique);
  CHECK(stats.creates == kUnique - 200);
  CHECK(stats.keys_created_more_than_once.empty());
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="imported"})") == kUnique - 200);
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="duplicate"})") == 200);
  CHECK(metric(run.metrics, R"(ib_invoices_total{outcome="recovered"})") == 0);
  CHECK(read_topic(bootstrap, c.topics.review, 0).empty());
  // The metrics follow the simulator's own count of bulk messages and refusals; once most
  // messages were refused, slices skipped the bulk message (the refusal memory).
  CHECK(stats.bulk_messages > 0);
  CHECK(stats.bulk_rolled_back > 0);
  CHECK(metric(run.metrics, "ib_d365_bulk_messages_total") == static_cast<double>(stats.bulk_messages));
  CHECK(metric(run.metrics, "ib_d365_bulk_refused_total") == static_cast<double>(stats.bulk_rolled_back));
  CHECK(metric(run.metrics, "ib_d365_bulk_fallback_batches_total") > 0);
  CHECK(metric(run.metrics, "ib_d365_bulk_fallback_batches_total") <= metric(run.metrics, "ib_d365_bulk_refused_total"));
  CHECK(metric(run.metrics, "ib_d365_bulk_skipped_total") > 0);
  CHECK(metric(run.metrics, "ib_d365_bulk_refused_share") > 0);
  // Every record went into a bulk message once at most; the skipped slices never did.
  CHECK(metric(run.metrics, "ib_d365_bulk_records_total") < kUnique);
}
