// Integration: librdkafka clients against the in-process mock cluster, with injected
// broker errors and a broker outage; the clients must recover without loss or duplicates.
#include "kafka/mock_cluster.hpp"
#include "kafka/topic_reader.hpp"
#include "testing/kafka_env.hpp"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace {

constexpr std::int16_t kProduceApi = 0;
constexpr int kNotLeaderOrFollower = 6;  // retriable broker error

class CountingDr : public RdKafka::DeliveryReportCb {
public:
  void dr_cb(RdKafka::Message& msg) override {
    if (msg.err() == RdKafka::ERR_NO_ERROR) ++delivered; else ++failed;
  }
  int delivered = 0;
  int failed = 0;
};

std::unique_ptr<RdKafka::Producer> make_producer(const std::string& bootstrap, CountingDr& dr) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("enable.idempotence", "true", err);
  conf->set("acks", "all", err);
  conf->set("retry.backoff.ms", "50", err);
  conf->set("dr_cb", &dr, err);
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  if (!p) FAIL("producer: " << err);
  return p;
}

void produce(RdKafka::Producer& p, const std::string& topic, const std::string& value) {
  REQUIRE(p.produce(topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                    value.size(), nullptr, 0, 0, nullptr) == RdKafka::ERR_NO_ERROR);
}

std::map<std::string, int> consume_all(const std::string& bootstrap, const std::string& topic,
                                       std::size_t expected) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", topic + "-g", err);
  conf->set("auto.offset.reset", "earliest", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  REQUIRE(c);
  REQUIRE(c->subscribe({topic}) == RdKafka::ERR_NO_ERROR);
  std::map<std::string, int> seen;
  std::size_t total = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (total < expected && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      ++total;
      seen[std::string(static_cast<const char*>(m->payload()), m->len())]++;
    }
  }
  // A short extra poll: a duplicate would show up here.
  for (int i = 0; i < 3; ++i) {
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      seen[std::string(static_cast<const char*>(m->payload()), m->len())]++;
    }
  }
  c->close();
  return seen;
}

}  // namespace

TEST_CASE("the idempotent producer recovers from injected retriable produce errors",
          "[kafka][mock][integration]") {
  ib::kafka::MockCluster cluster(1);
  const auto topic = ib::testing::unique_topic("mock-errors");
  cluster.create_topic(topic, 1);
  CountingDr dr;
  auto producer = make_producer(cluster.bootstrap_servers(), dr);

  cluster.push_request_errors(kProduceApi, 3, kNotLeaderOrFollower);
  for (int i = 0; i < 20; ++i) produce(*producer, topic, "m" + std::to_string(i));
  REQUIRE(producer->flush(20000) == RdKafka::ERR_NO_ERROR);

  CHECK(dr.failed == 0);
  CHECK(dr.delivered == 20);
  const auto seen = consume_all(cluster.bootstrap_servers(), topic, 20);
  REQUIRE(seen.size() == 20);
  for (const auto& [v, n] : seen) CHECK(n == 1);
}

TEST_CASE("messages produced while the broker is down are delivered once it is back",
          "[kafka][mock][integration]") {
  ib::kafka::MockCluster cluster(1);
  const auto topic = ib::testing::unique_topic("mock-down");
  cluster.create_topic(topic, 1);
  CountingDr dr;
  auto producer = make_producer(cluster.bootstrap_servers(), dr);
  produce(*producer, topic, "before");
  REQUIRE(producer->flush(10000) == RdKafka::ERR_NO_ERROR);

  cluster.set_broker_down(1);
  for (int i = 0; i < 10; ++i) produce(*producer, topic, "during-" + std::to_string(i));
  producer->poll(1000);
  CHECK(dr.delivered == 1);  // nothing got through while down
  cluster.set_broker_up(1);
  REQUIRE(producer->flush(30000) == RdKafka::ERR_NO_ERROR);

  CHECK(dr.failed == 0);
  CHECK(dr.delivered == 11);
  const auto seen = consume_all(cluster.bootstrap_servers(), topic, 11);
  CHECK(seen.size() == 11);
}

TEST_CASE("a partition without a leader for a moment is read once it has one",
          "[kafka][mock][integration]") {
  // A changelog partition just created, or whose leader moves, answers NOT_LEADER to the
  // offsets request for a moment. The restore of that partition must wait, not fail.
  constexpr std::int16_t kListOffsetsApi = 2;
  ib::kafka::MockCluster cluster(1);
  const auto topic = ib::testing::unique_topic("mock-no-leader");
  cluster.create_topic(topic, 1);
  CountingDr dr;
  auto producer = make_producer(cluster.bootstrap_servers(), dr);
  for (int i = 0; i < 5; ++i) produce(*producer, topic, "m" + std::to_string(i));
  REQUIRE(producer->flush(10000) == RdKafka::ERR_NO_ERROR);

  ib::kafka::TopicReadOptions options;
  options.properties["bootstrap.servers"] = cluster.bootstrap_servers();
  options.timeout = std::chrono::seconds(20);

  SECTION("read_partition") {
    cluster.push_request_errors(kListOffsetsApi, 4, kNotLeaderOrFollower);
    std::vector<std::string> values;
    auto range = ib::kafka::read_partition(
        topic, 0, std::nullopt, options, 100, nullptr,
        [&](std::vector<ib::kafka::Message>& messages, std::int64_t) {
          for (auto& m : messages) values.push_back(m.value);
          return true;
        });
    REQUIRE(range.has_value());
    CHECK(range->from == 0);
    CHECK(range->to == 5);
    CHECK(values == std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"});
  }
  SECTION("read_topic_snapshot") {
    cluster.push_request_errors(kListOffsetsApi, 4, kNotLeaderOrFollower);
    auto messages = ib::kafka::read_topic_snapshot(topic, options);
    REQUIRE(messages.has_value());
    CHECK(messages->size() == 5);
  }
  SECTION("an error that is not transient still fails at once, naming it") {
    constexpr int kTopicAuthorizationFailed = 29;
    cluster.push_request_errors(kListOffsetsApi, 100, kTopicAuthorizationFailed);
    auto range = ib::kafka::read_partition(topic, 0, std::nullopt, options, 100, nullptr,
                                           [](std::vector<ib::kafka::Message>&, std::int64_t) { return true; });
    REQUIRE_FALSE(range.has_value());
    CHECK_THAT(range.error().message, Catch::Contains("cannot read the offsets") &&
                                          Catch::Contains("uthoriz"));
  }
}
