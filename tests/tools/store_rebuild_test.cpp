// Integration: `invoice-bridge store rebuild` on the real broker: a damaged store is moved
// aside untouched, every changelog partition is read into a new store, with progress, and
// the checkpoints say where the daemon's next restore starts.
#include "tools/store_command.hpp"

#include "dedup/changelog_codec.hpp"
#include "dedup/rocksdb_dedup_store.hpp"
#include "kafka/admin.hpp"
#include "kafka/rdkafka_producer.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <sstream>

using namespace std::chrono_literals;
using namespace ib;

TEST_CASE("store rebuild moves a refused store aside and reads every changelog partition",
          "[tools][store][changelog][integration]") {
  const auto bootstrap = testing::real_kafka_bootstrap();
  const auto input = testing::unique_topic("rebuild");
  testing::TempDir dir;
  app::DaemonConfig config;
  config.topics.input = input;
  config.consumer.bootstrap_servers = bootstrap;
  config.dedup.path = dir.path() / "dedup";
  const auto topic = config.topics.changelog_topic();
  REQUIRE(kafka::ensure_topics({{"bootstrap.servers", bootstrap}},
                               {{topic, 2, 1, {{"cleanup.policy", "compact"}}}}, 30s)
              .has_value());

  core::ManualClock clock;
  kafka::ProducerConfig pc;
  pc.bootstrap_servers = bootstrap;
  kafka::RdKafkaProducer producer(pc);
  std::atomic<int> acked{0};
  dedup::Entry e;
  e.state = core::StoreState::imported;
  e.fingerprint = "fp";
  e.first_seen = e.state_since = e.last_seen = std::chrono::floor<std::chrono::milliseconds>(clock.now());
  for (int i = 0; i < 30; ++i) {
    kafka::OutgoingMessage m;
    m.topic = topic;
    m.partition = i % 2;
    m.key = "ACME|V|" + std::to_string(i);
    m.value = dedup::encode_changelog_value(e);
    producer.produce(std::move(m), [&](const kafka::DeliveryReport& r) {
      if (r.ok()) ++acked;
    });
  }
  REQUIRE(producer.flush(30s));
  REQUIRE(acked == 30);

  // A directory that is not a healthy store (what a refused store looks like to us).
  std::filesystem::create_directories(config.dedup.path);
  std::ofstream(config.dedup.path / "MANIFEST-000001") << "damaged";

  std::ostringstream out, err;
  CHECK(tools::run_store_rebuild(config, clock, out, err) == tools::kToolOk);
  INFO(err.str());
  CHECK(out.str().find("2 partitions, 30 keys") != std::string::npos);
  CHECK(err.str().find("partition 0: offsets 0 to 15") != std::string::npos);
  CHECK(err.str().find("partition 1: 15 keys, at offset 15") != std::string::npos);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  auto aside = config.dedup.path;
  aside += ".before-rebuild-" + std::to_string(seconds);
  std::ifstream kept(aside / "MANIFEST-000001");
  std::string text;
  kept >> text;
  CHECK(text == "damaged");

  auto store = dedup::RocksDbDedupStore::open(config.dedup, clock);
  REQUIRE(store.has_value());
  for (int i = 0; i < 30; ++i) {
    auto got = (*store)->get("ACME|V|" + std::to_string(i));
    REQUIRE(got.has_value());
    CHECK(got->has_value());
  }
  CHECK((*store)->changelog_checkpoint(topic, 0).value() == std::optional<std::int64_t>(15));
  CHECK((*store)->changelog_checkpoint(topic, 1).value() == std::optional<std::int64_t>(15));
}
