// Integration: the module's producer and consumer against librdkafka's mock cluster with
// injected broker errors and outages: every produce ends in exactly one callback, and a
// failing commit is retried a bounded number of times.
#include "kafka/error.hpp"
#include "kafka/mock_cluster.hpp"
#include "kafka/rdkafka_consumer.hpp"
#include "kafka/rdkafka_producer.hpp"
#include "member.hpp"
#include "test_util.hpp"
#include "testing/kafka_env.hpp"
#include "testing/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

using namespace ib::kafka;
using namespace ib::kafka::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

constexpr std::int16_t kProduceApi = 0;
constexpr std::int16_t kOffsetCommitApi = 8;
constexpr int kNotLeaderOrFollower = 6;
// librdkafka retries REQUEST_TIMED_OUT commits by itself; REBALANCE_IN_PROGRESS it hands
// back to the application, which is where the module's bounded retry acts.
constexpr int kRebalanceInProgress = 27;

ProducerConfig mock_producer(const MockCluster& cluster) {
  ProducerConfig c;
  c.bootstrap_servers = cluster.bootstrap_servers();
  c.properties = {{"retry.backoff.ms", "50"}, {"log_level", "2"}};
  return c;
}

void produce_ids(Producer& p, const std::string& topic, const std::string& prefix, int n,
                 Deliveries& d) {
  for (int i = 0; i < n; ++i) {
    const auto id = prefix + std::to_string(i);
    p.produce(OutgoingMessage{topic, "", id, {}, 0}, d.callback(id));
  }
}

void check_exactly_once(Deliveries& d, std::size_t expected, bool expect_ok) {
  std::lock_guard lock(d.mutex);
  REQUIRE(d.by_id.size() == expected);
  for (const auto& [id, reports] : d.by_id) {
    INFO(id);
    REQUIRE(reports.size() == 1);
    CHECK(reports.front().ok() == expect_ok);
    if (!expect_ok) CHECK(reports.front().retriable);
  }
}

}  // namespace

TEST_CASE("retriable produce errors are absorbed: one successful callback per message",
          "[kafka][mock][integration]") {
  MockCluster cluster(1);
  const auto topic = ib::testing::unique_topic("faults-retry");
  cluster.create_topic(topic, 1);
  RdKafkaProducer producer(mock_producer(cluster));
  Deliveries d;
  cluster.push_request_errors(kProduceApi, 4, kNotLeaderOrFollower);
  produce_ids(producer, topic, "m", 30, d);
  REQUIRE(producer.flush(30s));
  check_exactly_once(d, 30, true);
}

TEST_CASE("a broker that stays down fails every message once, within the delivery timeout",
          "[kafka][mock][integration]") {
  MockCluster cluster(1);
  const auto topic = ib::testing::unique_topic("faults-down");
  cluster.create_topic(topic, 1);
  auto config = mock_producer(cluster);
  config.delivery_timeout = 1500ms;
  Deliveries d;
  {
    RdKafkaProducer producer(config);
    Deliveries warm;
    produce_ids(producer, topic, "warm", 1, warm);
    REQUIRE(producer.flush(20s));
    check_exactly_once(warm, 1, true);

    cluster.set_broker_down(1);
    produce_ids(producer, topic, "m", 25, d);
    REQUIRE(producer.flush(30s));
    check_exactly_once(d, 25, false);
    std::lock_guard lock(d.mutex);
    for (const auto& [id, reports] : d.by_id) {
      CHECK(reports.front().error == make_error_code(errc::kMsgTimedOut));
      CHECK(reports.front().partition == -1);
    }
  }
  // Destroyed: still exactly one report each.
  check_exactly_once(d, 25, false);
}

TEST_CASE("closing with messages stuck purges them: each still gets its one callback",
          "[kafka][mock][integration]") {
  MockCluster cluster(1);
  const auto topic = ib::testing::unique_topic("faults-close");
  cluster.create_topic(topic, 1);
  auto config = mock_producer(cluster);
  config.delivery_timeout = 120s;
  config.close_timeout = 300ms;
  Deliveries d;
  Deliveries late;
  {
    RdKafkaProducer producer(config);
    cluster.set_broker_down(1);
    produce_ids(producer, topic, "m", 15, d);
    CHECK_FALSE(producer.flush(200ms));
    CHECK(producer.in_flight() == 15);
    producer.close();
    check_exactly_once(d, 15, false);
    // After close: refused, but through the callback, not silently.
    produce_ids(producer, topic, "late", 3, late);
    REQUIRE(producer.flush(10s));
    check_exactly_once(late, 3, false);
  }
  check_exactly_once(d, 15, false);
  cluster.set_broker_up(1);
}

TEST_CASE("a failing commit is retried, and gives up after commit_attempts",
          "[kafka][mock][integration]") {
  MockCluster cluster(1);
  const auto topic = ib::testing::unique_topic("faults-commit");
  cluster.create_topic(topic, 1);
  {
    RdKafkaProducer producer(mock_producer(cluster));
    Deliveries d;
    produce_ids(producer, topic, "m", 10, d);
    REQUIRE(producer.flush(20s));
  }
  auto config = consumer_config(cluster.bootstrap_servers(), topic + "-g", {topic});
  config.auto_commit_interval = 0ms;  // explicit commits only
  config.commit_attempts = 3;
  config.commit_backoff = 20ms;
  RdKafkaConsumer consumer(config);
  Member member(consumer);
  member.done_now = [](const Message& m) { return m.offset < 5; };
  ib::testing::run_coro([&](asio::io_context&) -> asio::awaitable<void> {
    co_await member.run([&] { return member.messages.size() >= 10; });
  });
  REQUIRE(member.messages.size() == 10);
  const TopicPartition tp{topic, 0};
  REQUIRE(member.tracker.committable(tp) == 5);

  // Two failures, then success: retried within the bound.
  cluster.push_request_errors(kOffsetCommitApi, 2, kRebalanceInProgress);
  const auto before = consumer.commit_retries();
  const auto ok = consumer.commit();
  INFO((ok.has_value() ? std::string() : ok.error().message()));
  CHECK(ok.has_value());
  CHECK(consumer.commit_retries() - before == 2);
  const auto committed = consumer.committed({tp}, 10s);
  REQUIRE(committed.has_value());
  CHECK(committed->front().offset == 5);

  // Failing for good: the commit returns an error after commit_attempts tries.
  for (std::int64_t o = 5; o < 10; ++o) member.done(tp, o);
  REQUIRE(member.tracker.committable(tp) == 10);
  REQUIRE(member.store_refusals == 0);
  cluster.push_request_errors(kOffsetCommitApi, 50, kRebalanceInProgress);
  const auto retries_before_failure = consumer.commit_retries();
  const auto failed = consumer.commit();
  CHECK_FALSE(failed.has_value());
  CHECK(consumer.commit_retries() - retries_before_failure == 2);
  CHECK(failed.error() == make_error_code(kRebalanceInProgress));
}
