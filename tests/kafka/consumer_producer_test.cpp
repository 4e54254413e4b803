// Integration: the module's consumer and producer against the real broker fixture.
#include "kafka/admin.hpp"
#include "kafka/headers.hpp"
#include "kafka/rdkafka_consumer.hpp"
#include "kafka/rdkafka_producer.hpp"
#include "member.hpp"
#include "test_util.hpp"
#include "testing/kafka_env.hpp"
#include "testing/run_coro.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace ib::kafka;
using namespace ib::kafka::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using ib::testing::run_coro;

namespace {

std::set<std::string> values(const std::vector<Message>& messages) {
  std::set<std::string> out;
  for (const auto& m : messages) out.insert(m.value);
  return out;
}

}  // namespace

TEST_CASE("messages produced with headers come back with headers, keys and bytes intact",
          "[kafka][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto topic = ib::testing::unique_topic("roundtrip");
  create_topic(bootstrap, topic, 2);
  RdKafkaProducer producer(producer_config(bootstrap));

  constexpr int kMessages = 40;
  RetryHistory history{2, 1'700'000'000'000, 503, "Service Unavailable", {"invoices", 3, 77}};
  std::vector<DeliveryReport> awaited;
  Deliveries by_callback;
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    for (int i = 0; i < kMessages; ++i) {
      OutgoingMessage m{topic, "key-" + std::to_string(i),
                        std::string("value-") + std::to_string(i) + std::string("\0\xff", 2),
                        {{"trace", "t-" + std::to_string(i)}, {"bin", std::string("\0\x01", 2)}}};
      encode_retry(m.headers, history);
      if (i % 2 == 0) {
        awaited.push_back(co_await producer.produce(std::move(m)));
      } else {
        const auto id = m.value;
        producer.produce(std::move(m), by_callback.callback(id));
      }
    }
  });
  REQUIRE(producer.flush(30s));
  REQUIRE(awaited.size() == kMessages / 2);
  for (const auto& r : awaited) {
    CHECK(r.ok());
    CHECK(r.topic == topic);
    CHECK(r.partition >= 0);
    CHECK(r.offset >= 0);
  }
  CHECK(by_callback.total() == kMessages / 2);
  for (const auto& [id, reports] : by_callback.by_id) {
    REQUIRE(reports.size() == 1);
    CHECK(reports.front().ok());
  }
  CHECK(producer.in_flight() == 0);

  RdKafkaConsumer consumer(consumer_config(bootstrap, topic + "-g", {topic}));
  Member member(consumer);
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await member.run([&] { return member.messages.size() >= kMessages; });
  });
  REQUIRE(member.messages.size() == kMessages);
  std::set<std::string> keys;
  for (const auto& m : member.messages) {
    INFO(m.value);
    CHECK(m.topic == topic);
    CHECK(m.has_key);
    keys.insert(m.key);
    CHECK(m.value.substr(m.value.size() - 2) == std::string("\0\xff", 2));
    CHECK(m.timestamp_ms > 0);
    const auto decoded = decode_retry(m.headers);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == history);
    const auto i = m.value.substr(6, m.value.size() - 8);
    CHECK(ib::core::find_last_header(m.headers, "trace") == "t-" + i);
    CHECK(ib::core::find_last_header(m.headers, "bin") == std::string("\0\x01", 2));
  }
  CHECK(keys.size() == kMessages);
  CHECK(member.count_of(RebalanceEvent::Kind::assigned) >= 1);
  CHECK(member.errors.empty());
}

TEST_CASE("only the contiguous watermark is committed: a restart resumes at the gap",
          "[kafka][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto topic = ib::testing::unique_topic("watermark");
  const auto group = topic + "-g";
  create_topic(bootstrap, topic, 1);
  {
    RdKafkaProducer producer(producer_config(bootstrap));
    produce_n(producer, topic, "m", 20);
  }
  constexpr std::int64_t kGap = 7;
  const TopicPartition tp{topic, 0};
  {
    RdKafkaConsumer consumer(consumer_config(bootstrap, group, {topic}));
    Member member(consumer);
    member.done_now = [](const Message&) { return false; };
    run_coro([&](asio::io_context&) -> asio::awaitable<void> {
      co_await member.run([&] { return member.messages.size() >= 20; });
    });
    REQUIRE(member.messages.size() == 20);
    // Finish in reverse order, all but the gap.
    for (std::int64_t o = 19; o >= 0; --o) {
      if (o != kGap) member.done(tp, o);
    }
    CHECK(member.tracker.committable(tp) == kGap);
    CHECK(member.store_refusals == 0);
    consumer.close();
  }
  RdKafkaConsumer again(consumer_config(bootstrap, group, {topic}));
  const auto committed = again.committed({tp}, 10s);
  REQUIRE(committed.has_value());
  CHECK(committed->front().offset == kGap);

  Member member(again);
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await member.run([&] { return member.messages.size() >= 20 - kGap; });
  });
  REQUIRE(member.messages.size() == 20 - kGap);
  CHECK(member.messages.front().offset == kGap);
  CHECK(member.messages.back().offset == 19);
}

TEST_CASE("a second member joins: partitions move, revokes are reported, nothing is lost",
          "[kafka][integration]") {
  const auto strategy = GENERATE(as<std::string>{}, "cooperative-sticky", "range");
  INFO(strategy);
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto topic = ib::testing::unique_topic("two-members");
  const auto group = topic + "-g";
  create_topic(bootstrap, topic, 4);
  RdKafkaProducer producer(producer_config(bootstrap));
  auto ends = produce_n(producer, topic, "a", 200);

  RdKafkaConsumer first(consumer_config(bootstrap, group, {topic}, strategy));
  Member a(first);
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await a.run([&] { return a.messages.size() >= 200; });
  });
  REQUIRE(a.messages.size() == 200);
  REQUIRE(a.assigned.size() == 4);

  RdKafkaConsumer second(consumer_config(bootstrap, group, {topic}, strategy));
  Member b(second);
  using namespace asio::experimental::awaitable_operators;
  auto settled = [&] {
    return !a.assigned.empty() && !b.assigned.empty() &&
           a.assigned.size() + b.assigned.size() == 4;
  };
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await (a.run(settled) && b.run(settled));
  });
  REQUIRE(settled());
  CHECK(a.count_of(RebalanceEvent::Kind::revoked) >= 1);
  CHECK(b.count_of(RebalanceEvent::Kind::assigned) >= 1);
  CHECK(a.count_of(RebalanceEvent::Kind::lost) == 0);
  for (const auto& tp : b.assigned) CHECK(a.assigned.count(tp) == 0);
  if (strategy == "cooperative-sticky") {
    // Incremental: A gives up only what B takes and is never without partitions.
    std::set<TopicPartition> revoked;
    for (const auto& r : a.rebalances) {
      if (r.kind == RebalanceEvent::Kind::revoked) revoked.insert(r.partitions.begin(), r.partitions.end());
    }
    CHECK(revoked == b.assigned);
  }

  // Work after the move lands on both members.
  for (const auto& [p, end] : produce_n(producer, topic, "b", 200)) ends[p] = end;
  auto all_seen = [&] {
    auto seen = values(a.messages);
    const auto more = values(b.messages);
    seen.insert(more.begin(), more.end());
    return seen.size() >= 400;
  };
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await (a.run(all_seen) && b.run(all_seen));
  });
  REQUIRE(all_seen());
  CHECK_FALSE(b.messages.empty());
  CHECK(a.errors.empty());
  CHECK(b.errors.empty());
  CHECK(a.store_refusals == 0);
  CHECK(b.store_refusals == 0);

  // Everything was marked done: after close, the group's commits reach every partition's end.
  first.close();
  second.close();
  RdKafkaConsumer probe(consumer_config(bootstrap, group, {topic}, strategy));
  std::vector<TopicPartition> all;
  for (int p = 0; p < 4; ++p) all.push_back({topic, p});
  const auto committed = probe.committed(all, 10s);
  REQUIRE(committed.has_value());
  for (const auto& c : *committed) {
    INFO("partition " << c.partition.partition);
    CHECK(c.offset == ends[c.partition.partition]);
  }
}

TEST_CASE("a paused partition is not fetched until resumed", "[kafka][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto topic = ib::testing::unique_topic("pause");
  create_topic(bootstrap, topic, 2);
  RdKafkaConsumer consumer(consumer_config(bootstrap, topic + "-g", {topic}));
  Member member(consumer);
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await member.run([&] { return member.assigned.size() == 2; });
  });
  REQUIRE(member.assigned.size() == 2);
  const TopicPartition p0{topic, 0};
  consumer.pause({p0});

  RdKafkaProducer producer(producer_config(bootstrap));
  produce_n(producer, topic, "p0", 20, 0);
  produce_n(producer, topic, "p1", 20, 1);
  auto count = [&](std::int32_t p) {
    return std::count_if(member.messages.begin(), member.messages.end(),
                         [&](const Message& m) { return m.partition == p; });
  };
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await member.run([&] { return count(1) >= 20; });
    // A few more rounds: a paused partition's messages would show up here.
    co_await member.run([] { return false; }, 2s);
  });
  CHECK(count(1) == 20);
  CHECK(count(0) == 0);
  // p1 is read to its end; p0 was never fetched (position unknown).
  const auto lag = consumer.lag();
  REQUIRE(lag.size() == 2);
  for (const auto& l : lag) {
    INFO("partition " << l.partition.partition);
    if (l.partition.partition == 1) {
      CHECK(l.position == 20);
      CHECK(l.lag == 0);
    } else {
      CHECK(l.position == -1);
      CHECK(l.lag == -1);
    }
  }

  consumer.resume({p0});
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await member.run([&] { return count(0) >= 20; });
  });
  CHECK(count(0) == 20);
  CHECK(member.messages.size() == 40);
}

TEST_CASE("a full queue stops consuming; draining it resumes with nothing lost or repeated",
          "[kafka][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto topic = ib::testing::unique_topic("backpressure");
  create_topic(bootstrap, topic, 1);
  RdKafkaProducer producer(producer_config(bootstrap));
  produce_n(producer, topic, "m", 300);

  auto config = consumer_config(bootstrap, topic + "-g", {topic});
  config.queue_capacity = 20;
  config.queue_resume_at = 5;
  config.properties["max.partition.fetch.bytes"] = "1024";
  RdKafkaConsumer consumer(config);
  // Nobody drains: the poll thread must stop taking messages at the capacity.
  REQUIRE(eventually([&] { return consumer.backpressured(); }));
  const auto held = consumer.queued();
  CHECK(held >= 20);
  CHECK(held < 300);

  Member member(consumer);
  run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await member.run([&] { return member.messages.size() >= 300; });
  });
  REQUIRE(member.messages.size() == 300);
  for (std::size_t i = 0; i < member.messages.size(); ++i) {
    CHECK(member.messages[i].offset == static_cast<std::int64_t>(i));
  }
  // The poll thread resumes on its next round once the queue is drained.
  CHECK(eventually([&] { return !consumer.backpressured(); }));
}
