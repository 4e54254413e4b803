// Integration: the dedup changelog on the real broker (kafka_broker fixture): the topic as
// the daemon checks it, a pipeline writing its store changes into the input message's
// partition and stopping, nothing done, when the changelog cannot take them, and a
// restore that reads a partition whole the first time and only its tail from the checkpoint.
#include "pipeline/changelog_restorer.hpp"
#include "pipeline/pipeline.hpp"

#include "dedup/changelog_codec.hpp"
#include "dedup/memory_dedup_store.hpp"
#include "kafka/admin.hpp"
#include "kafka/rdkafka_producer.hpp"
#include "kafka/topic_reader.hpp"
#include "testing/fake_d365.hpp"
#include "testing/kafka_env.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <map>

using namespace std::chrono_literals;
using namespace ib;

namespace {

kafka::Properties props(const std::string& bootstrap) { return {{"bootstrap.servers", bootstrap}}; }

void make_changelog(const std::string& bootstrap, const std::string& topic, int partitions) {
  const kafka::TopicSpec spec{topic, partitions, 1, {{"cleanup.policy", "compact"}}};
  auto made = kafka::ensure_topics(props(bootstrap), {spec}, 30s);
  if (!made) FAIL(made.error().message);
}

dedup::Entry imported_entry(const std::string& fp, core::Clock& clock) {
  dedup::Entry e;
  e.state = core::StoreState::imported;
  e.fingerprint = fp;
  e.record_id = "rec";
  e.first_seen = e.state_since = e.last_seen = std::chrono::floor<std::chrono::milliseconds>(clock.now());
  return e;
}

// Produces key -> entry records to one partition and waits for every ack.
void produce_records(kafka::Producer& producer, const std::string& topic, std::int32_t partition,
                     const std::vector<std::pair<std::string, dedup::Entry>>& records) {
  std::atomic<int> acked{0}, failed{0};
  for (const auto& [key, entry] : records) {
    kafka::OutgoingMessage m;
    m.topic = topic;
    m.partition = partition;
    m.key = key;
    m.value = dedup::encode_changelog_value(entry);
    producer.produce(std::move(m), [&](const kafka::DeliveryReport& r) { (r.ok() ? acked : failed)++; });
  }
  REQUIRE(producer.flush(30s));
  REQUIRE(failed == 0);
  REQUIRE(acked == static_cast<int>(records.size()));
}

kafka::ProducerConfig producer_config(const std::string& bootstrap) {
  kafka::ProducerConfig c;
  c.bootstrap_servers = bootstrap;
  c.delivery_timeout = 10s;
  return c;
}

}  // namespace

TEST_CASE("the changelog topic as the daemon checks it: compacted, the input's partition count",
          "[pipeline][changelog][integration]") {
  const auto bootstrap = testing::real_kafka_bootstrap();
  const auto topic = testing::unique_topic("changelog-check");
  auto missing = kafka::describe_topic(props(bootstrap), topic, 10s);
  REQUIRE(missing.has_value());
  CHECK_FALSE(missing->has_value());
  make_changelog(bootstrap, topic, 3);
  auto described = kafka::describe_topic(props(bootstrap), topic, 10s);
  REQUIRE(described.has_value());
  REQUIRE(described->has_value());
  CHECK((*described)->partitions == 3);
  CHECK((*described)->configs.at("cleanup.policy") == "compact");
}

TEST_CASE("a restore reads the whole partition first, then only the tail after its checkpoint",
          "[pipeline][changelog][integration]") {
  const auto bootstrap = testing::real_kafka_bootstrap();
  const auto topic = testing::unique_topic("changelog-restore");
  make_changelog(bootstrap, topic, 2);
  core::ManualClock clock;
  dedup::MemoryDedupStore store(24h, clock);
  kafka::RdKafkaProducer producer(producer_config(bootstrap));
  std::vector<std::pair<std::string, dedup::Entry>> first;
  for (int i = 0; i < 5; ++i) first.emplace_back("ACME|V1|" + std::to_string(i), imported_entry("fp", clock));
  produce_records(producer, topic, 1, first);

  pipeline::ChangelogRestoreConfig config;
  config.topic = topic;
  config.read.properties = props(bootstrap);
  config.read.timeout = 20s;
  config.chunk = 2;  // several atomic chunks
  std::vector<std::int64_t> chunk_ends;  // the checkpoint after each atomic chunk of a restore
  const auto restore = [&] {
    chunk_ends.clear();
    return pipeline::restore_partition(config, store, 1, nullptr, {},
                                       [&](const dedup::RestoreApplied&, std::int64_t next) {
                                         chunk_ends.push_back(next);
                                       });
  };
  auto report = restore();
  REQUIRE(report.has_value());
  CHECK(report->from == 0);
  CHECK(report->to == 5);
  CHECK(report->applied.written == 5);
  CHECK(chunk_ends == std::vector<std::int64_t>{2, 4, 5});
  CHECK(store.changelog_checkpoint(topic, 1).value() == std::optional<std::int64_t>(5));
  for (const auto& [key, entry] : first) CHECK(store.get(key).value() == std::optional<dedup::Entry>(entry));

  // Later records: the next restore reads offsets 5..7 only.
  std::vector<std::pair<std::string, dedup::Entry>> tail{{"ACME|V1|0", imported_entry("fp-new", clock)},
                                                         {"ACME|V1|9", imported_entry("fp", clock)},
                                                         {"ACME|V1|10", imported_entry("fp", clock)}};
  produce_records(producer, topic, 1, tail);
  report = restore();
  REQUIRE(report.has_value());
  CHECK(report->from == 5);
  CHECK(report->to == 8);
  CHECK(report->applied.written == 3);
  CHECK(chunk_ends == std::vector<std::int64_t>{7, 8});
  CHECK(store.get("ACME|V1|0").value()->fingerprint == "fp-new");
  CHECK(store.changelog_checkpoint(topic, 1).value() == std::optional<std::int64_t>(8));

  // An empty partition: nothing read, the checkpoint says so.
  report = pipeline::restore_partition(config, store, 0);
  REQUIRE(report.has_value());
  CHECK(report->from == 0);
  CHECK(report->to == 0);
  CHECK(store.changelog_checkpoint(topic, 0).value() == std::optional<std::int64_t>(0));
}

TEST_CASE("a pipeline on the real broker writes the changelog in the input's partition; a failed write is never done",
          "[pipeline][changelog][integration]") {
  const auto bootstrap = testing::real_kafka_bootstrap();
  const auto topic = testing::unique_topic("changelog-write");
  make_changelog(bootstrap, topic, 2);
  boost::asio::io_context ctx;
  core::ManualClock clock;
  testing::PipeCodec codec;
  dedup::MemoryDedupStore store(24h, clock);
  testing::ScriptedSender sender;
  kafka::RdKafkaProducer producer(producer_config(bootstrap));
  std::vector<std::pair<pipeline::InMessage, core::Outcome>> done;
  std::optional<std::string> fatal;
  pipeline::PipelineEvents events;
  events.done = [&](const pipeline::InMessage& m, core::Outcome o) { done.emplace_back(m, o); };
  events.fatal = [&](const std::string& r) { fatal = r; };
  pipeline::PipelineConfig config;
  config.batch.linger = 1ms;
  config.changelog_topic = topic;
  pipeline::Pipeline pipe(ctx.get_executor(), config, {codec, store, sender, producer, clock}, events);
  auto msg = [](std::string value, std::int32_t partition, std::int64_t offset) {
    pipeline::InMessage m;
    m.topic = "invoices";
    m.partition = partition;
    m.offset = offset;
    m.value = std::move(value);
    return m;
  };
  auto run_until = [&](const std::function<bool()>& cond) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!cond() && std::chrono::steady_clock::now() < deadline) {
      ctx.run_for(10ms);
      ctx.restart();
    }
  };

  pipe.submit({msg("A|f1", 1, 10), msg("B|f1", 1, 11)});
  run_until([&] { return done.size() == 2 || fatal; });
  REQUIRE_FALSE(fatal);
  REQUIRE(done.size() == 2);
  auto read = kafka::read_topic_snapshot(topic, kafka::TopicReadOptions{props(bootstrap), 20s});
  REQUIRE(read.has_value());
  std::map<std::string, std::vector<core::StoreState>> states;
  for (const auto& m : *read) {
    CHECK(m.partition == 1);
    states[m.key].push_back(dedup::decode_changelog_value(m.value)->state);
  }
  const std::vector<core::StoreState> pending_then_imported{core::StoreState::pending, core::StoreState::imported};
  CHECK(states["A"] == pending_then_imported);
  CHECK(states["B"] == pending_then_imported);

  // Partition 7 does not exist in the changelog: its produce fails, the pipeline stops and
  // the message is never done (its offset is never committed), nor sent.
  const auto sent_before = sender.sent().size();
  pipe.submit({msg("C|f1", 7, 12)});
  run_until([&] { return fatal.has_value(); });
  REQUIRE(fatal);
  CHECK(fatal->find("changelog topic") != std::string::npos);
  CHECK(done.size() == 2);
  CHECK(sender.sent().size() == sent_before);
}
