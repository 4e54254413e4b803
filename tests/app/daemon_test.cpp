// Integration: the daemon against the real Kafka broker and a real RocksDB store, with a
// scripted D365 (answers like Dataverse: 204 on create, 412 on a second create of a key).
#include "daemon_harness.hpp"
#include "testing/temp_dir.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace ib::pipeline;

using namespace ib::testing::daemon;


TEST_CASE("the daemon imports every unique invoice once, reviews poison pills, commits offsets",
          "[app][daemon][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-e2e");
  ib::testing::TempDir dir;

  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 300; ++i) {
    const auto key = "V1|INV-" + std::to_string(i);
    records.emplace_back(key, key + "|fp");
    if (i % 5 == 0) records.emplace_back(key, key + "|fp");  // upstream duplicate, same content
  }
  for (int i = 0; i < 6; ++i) records.emplace_back("poison", "garbage without separator");
  produce_all(bootstrap, name, records);

  D365State d365;
  d365.fail_first_n = 20;  // some transient failures go through the retry topic
  const auto rc = run_until(config_for(bootstrap, name, dir.path()), d365,
                            [&] { return d365.created() == 300; });
  CHECK(rc == 0);
  {
    std::lock_guard l(d365.mutex);
    REQUIRE(d365.creates.size() == 300);
    for (const auto& [key, n] : d365.creates) CHECK(n == 1);
  }
  const auto review = read_topic(bootstrap, name + ".review", 6);
  REQUIRE(review.size() == 6);
  for (const auto& [value, headers] : review) {
    CHECK(value == "garbage without separator");
    CHECK(ib::core::find_last_header(headers, "ib-review-reason") == "invalid");
  }

  // A restart with the same group and store consumes nothing again: offsets were committed.
  const int decoded_before = [&] {
    std::lock_guard l(d365.mutex);
    return d365.decoded.load();
  }();
  const auto started = std::chrono::steady_clock::now();
  const auto rc2 = run_until(config_for(bootstrap, name, dir.path()), d365,
                             [&] { return std::chrono::steady_clock::now() - started > 8s; });
  CHECK(rc2 == 0);
  std::lock_guard l(d365.mutex);
  CHECK(d365.decoded == decoded_before);
}

TEST_CASE("a second daemon on the same dedup store refuses to start", "[app][daemon][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-lock");
  ib::testing::TempDir dir;
  D365State d365;
  ib::app::Daemon first(config_for(bootstrap, name, dir.path()), [&](asio::any_io_executor) {
    return ib::app::D365Parts{make_codec(d365), make_sender(d365)};
  });
  int rc1 = -1;
  std::thread t([&] { rc1 = first.run(false); });
  while (first.metrics_url().empty()) std::this_thread::sleep_for(20ms);

  ib::app::Daemon second(config_for(bootstrap, name, dir.path()), [&](asio::any_io_executor) {
    return ib::app::D365Parts{make_codec(d365), make_sender(d365)};
  });
  CHECK(second.run(false) == 2);
  first.request_stop();
  t.join();
  CHECK(rc1 == 0);
}
