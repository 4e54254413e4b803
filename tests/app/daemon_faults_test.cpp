// Integration: the daemon's invariants under D365 faults, against the real Kafka broker and
// RocksDB, with the scripted D365 of daemon_harness.hpp (behaving like Dataverse).
#include "daemon_harness.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace ib::testing::daemon;

namespace {

std::vector<std::pair<std::string, std::string>> invoices(int n, const std::string& prefix = "V1|INV-") {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i) {
    const auto key = prefix + std::to_string(i);
    out.emplace_back(key, key + "|fp");
  }
  return out;
}

// Every key created exactly once; the group committed input and retry topics to the end.
void check_all_created_once(D365State& d365, int n) {
  std::lock_guard l(d365.mutex);
  REQUIRE(static_cast<int>(d365.creates.size()) == n);
  for (const auto& [key, count] : d365.creates) {
    INFO(key);
    CHECK(count == 1);
  }
}

}  // namespace

TEST_CASE("throttling well below the offered load imports everything and reviews nothing",
          "[app][daemon][faults][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("faults-429");
  ib::testing::TempDir dir;
  produce_all(bootstrap, name, invoices(500));
  D365State d365;
  d365.throttle_every = 2;  // every other request is refused with 429
  d365.retry_after = 100ms;
  auto cfg = config_for(bootstrap, name, dir.path());
  cfg.pipeline.batch.max_items = 20;
  const auto rc = run_until(cfg, d365, [&] {
    return d365.created() == 500 &&
           all_committed(bootstrap, cfg.consumer.group_id, {cfg.topics.input, cfg.topics.retry});
  });
  CHECK(rc == 0);
  check_all_created_once(d365, 500);
  {
    std::lock_guard l(d365.mutex);
    CHECK(d365.throttled >= 10);
  }
  // 429 never spends a retry: nothing on the retry or review topics.
  CHECK(read_topic(bootstrap, cfg.topics.retry, 0).empty());
  CHECK(read_topic(bootstrap, cfg.topics.review, 0).empty());
}

TEST_CASE("when one of two daemons in a group stops, the other takes over without loss",
          "[app][daemon][faults][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("faults-group");
  ib::testing::TempDir dir_a, dir_b;
  produce_all(bootstrap, name, invoices(800));
  D365State d365;
  auto cfg_a = config_for(bootstrap, name, dir_a.path());
  auto cfg_b = config_for(bootstrap, name, dir_b.path());
  cfg_a.pipeline.batch.max_items = 10;
  cfg_b.pipeline.batch.max_items = 10;

  ib::app::Daemon b(cfg_b, scripted(d365));
  int rc_b = -1;
  std::thread tb([&] { rc_b = b.run(false); });
  // A runs until a part of the work is done, then stops mid-run.
  const auto rc_a = run_until(cfg_a, d365, [&] { return d365.created() >= 100; });
  CHECK(rc_a == 0);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline &&
         !(d365.created() == 800 &&
           all_committed(bootstrap, cfg_b.consumer.group_id, {cfg_b.topics.input, cfg_b.topics.retry}))) {
    std::this_thread::sleep_for(100ms);
  }
  b.request_stop();
  tb.join();
  CHECK(rc_b == 0);
  check_all_created_once(d365, 800);
  CHECK(all_committed(bootstrap, cfg_b.consumer.group_id, {cfg_b.topics.input, cfg_b.topics.retry}));
}

TEST_CASE("a permanently failing D365 sends each invoice to review after exactly 3 retries",
          "[app][daemon][faults][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("faults-down");
  ib::testing::TempDir dir;
  constexpr int n = 5;
  produce_all(bootstrap, name, invoices(n));
  D365State d365;
  d365.always_fail = true;
  auto cfg = config_for(bootstrap, name, dir.path());
  cfg.pipeline.backoff.initial = 300ms;
  cfg.pipeline.backoff.multiplier = 2.0;
  cfg.pipeline.backoff.jitter = 0.0;
  cfg.pipeline.backoff.max_delay = 5s;

  ib::app::Daemon daemon(cfg, scripted(d365));
  int rc = -1;
  std::thread t([&] { rc = daemon.run(false); });
  const auto wait_for = [](const std::function<bool()>& cond, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    return cond();
  };
  // 1 attempt + 3 retries per invoice, then review.
  const bool all_sent = wait_for(
      [&] {
        std::lock_guard l(d365.mutex);
        return d365.sends >= 4 * n;
      },
      60s);
  const auto reviews = read_topic(bootstrap, cfg.topics.review, n);
  // The daemon keeps running: once D365 recovers, new invoices are imported.
  {
    std::lock_guard l(d365.mutex);
    d365.always_fail = false;
  }
  produce_all(bootstrap, name, invoices(3, "V2|INV-"));
  const bool recovered = wait_for([&] { return d365.created() == 3; }, 60s);
  daemon.request_stop();
  t.join();

  CHECK(rc == 0);
  REQUIRE(all_sent);
  CHECK(recovered);
  {
    std::lock_guard l(d365.mutex);
    CHECK(d365.sends == 4 * n + 3);  // no fifth attempt
    for (const auto& [key, times] : d365.sent_at) {
      if (key.rfind("V1|", 0) != 0) continue;
      INFO(key);
      REQUIRE(times.size() == 4u);
      // Backoff 300 ms, 600 ms, 1200 ms (no jitter): each retry no earlier than due, and
      // not much later (tolerant bound: consumer poll, linger and batching add a little).
      const std::chrono::milliseconds expected[] = {300ms, 600ms, 1200ms};
      for (int i = 0; i < 3; ++i) {
        const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(times[i + 1] - times[i]);
        INFO("retry " << i + 1 << " after " << gap.count() << " ms");
        CHECK(gap >= expected[i] - 20ms);  // due time is computed from the failure, a bit after the send
        CHECK(gap <= expected[i] + 2500ms);
      }
    }
  }
  REQUIRE(reviews.size() == static_cast<std::size_t>(n));
  for (const auto& [value, headers] : reviews) {
    INFO(value);
    const auto info = ib::kafka::decode_review(headers);
    REQUIRE(info.has_value());
    CHECK(info->reason == ib::kafka::ReviewReason::exhausted);
    CHECK(info->d365_status == 503);
    REQUIRE(info->retry.has_value());
    CHECK(info->retry->attempt == 4);
    CHECK(info->origin.topic == cfg.topics.input);
  }
  CHECK(all_committed(bootstrap, cfg.consumer.group_id, {cfg.topics.input, cfg.topics.retry}));
}
