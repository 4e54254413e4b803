// Integration: librdkafka against the real Apache Kafka broker of the kafka_broker fixture.
#include "testing/kafka_env.hpp"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace {

std::unique_ptr<RdKafka::Conf> make_conf(const std::map<std::string, std::string>& props) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : props) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) FAIL("config " << k << ": " << err);
  }
  return conf;
}

}  // namespace

TEST_CASE("a message produced to the real broker is consumed back by a consumer group",
          "[kafka][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto topic = ib::testing::unique_topic("foundation");
  constexpr int kMessages = 200;

  std::string err;
  auto pconf = make_conf({{"bootstrap.servers", bootstrap},
                          {"enable.idempotence", "true"},
                          {"acks", "all"}});
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(pconf.get(), err));
  REQUIRE(producer);
  for (int i = 0; i < kMessages; ++i) {
    const std::string key = "key-" + std::to_string(i % 7);
    const std::string value = "invoice-" + std::to_string(i);
    const auto rc = producer->produce(topic, RdKafka::Topic::PARTITION_UA,
                                      RdKafka::Producer::RK_MSG_COPY,
                                      const_cast<char*>(value.data()), value.size(), key.data(),
                                      key.size(), 0, nullptr);
    REQUIRE(rc == RdKafka::ERR_NO_ERROR);
  }
  REQUIRE(producer->flush(30000) == RdKafka::ERR_NO_ERROR);
  REQUIRE(producer->outq_len() == 0);

  auto cconf = make_conf({{"bootstrap.servers", bootstrap},
                          {"group.id", topic + "-group"},
                          {"auto.offset.reset", "earliest"},
                          {"enable.auto.commit", "false"},
                          {"partition.assignment.strategy", "cooperative-sticky"}});
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(cconf.get(), err));
  REQUIRE(consumer);
  REQUIRE(consumer->subscribe({topic}) == RdKafka::ERR_NO_ERROR);

  std::map<std::string, int> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (static_cast<int>(seen.size()) < kMessages && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> msg(consumer->consume(500));
    if (msg->err() == RdKafka::ERR_NO_ERROR) {
      seen[std::string(static_cast<const char*>(msg->payload()), msg->len())]++;
    }
  }
  consumer->close();

  REQUIRE(seen.size() == kMessages);
  for (const auto& [value, count] : seen) REQUIRE(count == 1);
  REQUIRE(seen.count("invoice-0") == 1);
  REQUIRE(seen.count("invoice-199") == 1);
}
