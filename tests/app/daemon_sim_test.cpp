// Integration: the daemon with the real D365 side (make_d365_factory: InvoiceCodecPort +
// BatchSendPort + BeastTransport) against the in-process simulator, consuming from the real
// Kafka broker: duplicates, conflicts with changed amounts and poison pills. (Injected 503s
// come back once the retry-partition stall of issue 6 is fixed.)
#include "app/d365_ports.hpp"
#include "app/daemon.hpp"
#include "daemon_harness.hpp"
#include "kafka/headers.hpp"
#include "sim/simulator.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <thread>

using namespace std::chrono_literals;
using namespace ib;
using ib::testing::daemon::produce_all;

namespace {

std::string invoice_json(int i, const std::string& amount) {
  return R"({"vendor_account":"V1","invoice_number":"INV-)" + std::to_string(i) +
         R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" + amount + "}";
}

}  // namespace

TEST_CASE("daemon + simulator: every unique valid invoice created once; conflicts and poison pills reviewed",
          "[app][daemon][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-sim");
  ib::testing::TempDir dir;

  sim::SimOptions o;
  sim::Simulator sim(o);

  // 300 unique; 20% more copies: 40 with the same content (amount spelt differently), 20 with
  // a changed amount (conflicts); 2% poison pills.
  constexpr int kUnique = 300;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < kUnique; ++i) records.emplace_back("ACME|V1|INV-" + std::to_string(i), invoice_json(i, "100.50"));
  for (int i = 0; i < 40; ++i) records.emplace_back("ACME|V1|INV-" + std::to_string(i * 7), invoice_json(i * 7, "100.5"));
  for (int i = 0; i < 20; ++i) {
    records.emplace_back("ACME|V1|INV-" + std::to_string(i * 11 + 1), invoice_json(i * 11 + 1, "123.45"));
  }
  for (int i = 0; i < 7; ++i) records.emplace_back("poison", i % 2 ? "\xff\xfe not utf-8" : "{\"amount\":");
  produce_all(bootstrap, name, records);

  app::DaemonConfig c;
  c.consumer.bootstrap_servers = c.producer.bootstrap_servers = bootstrap;
  c.consumer.group_id = name + "-group";
  c.topics.input = name;
  c.topics.retry = name + ".retry";
  c.topics.review = name + ".review";
  c.consumer.topics = {c.topics.input, c.topics.retry};
  c.consumer.session_timeout = 10s;
  c.loop.retry_topic = c.topics.retry;
  c.loop.drain_timeout = 10s;
  c.dedup.path = dir.path();
  c.metrics.address = "127.0.0.1";
  c.metrics.port = 0;
  c.pipeline.batch.linger = 10ms;
  c.pipeline.backoff.initial = 200ms;
  c.pipeline.backoff.max_delay = 1s;
  c.d365.base_url = sim.base_url();
  c.d365.request_deadline = 20s;
  REQUIRE(c.validate().empty());

  app::Daemon daemon(c, app::make_d365_factory(c.d365));
  int rc = -1;
  std::thread t([&] { rc = daemon.run(false); });
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (sim.stats().creates < kUnique && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  const auto review = ib::testing::daemon::read_topic(bootstrap, c.topics.review, 27);
  daemon.request_stop();
  t.join();
  CHECK(rc == 0);

  const auto stats = sim.stats();
  CHECK(stats.creates == kUnique);
  CHECK(stats.records == kUnique);
  REQUIRE_FALSE(stats.creates_per_key_histogram.empty());
  CHECK(stats.creates_per_key_histogram.rbegin()->first == 1);
  CHECK(stats.keys_created_more_than_once.empty());

  std::map<std::string, int> reasons;
  for (const auto& [value, headers] : review) {
    const std::string reason(kafka::find_header(headers, kafka::header::kReviewReason).value_or(""));
    ++reasons[reason];
    if (reason == "conflict") CHECK(value.find("123.45") != std::string::npos);
  }
  CHECK(review.size() == 27);
  CHECK(reasons["invalid"] == 7);
  CHECK(reasons["conflict"] == 20);
}
