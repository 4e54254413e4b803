#include "kafka/admin.hpp"
#include "kafka/config.hpp"
#include "kafka/kafka_config.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <string>

using namespace ib::kafka;
using namespace std::chrono_literals;

namespace {

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const auto& p) { return p.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("a complete consumer config is valid", "[kafka][unit]") {
  ConsumerConfig c;
  c.bootstrap_servers = "127.0.0.1:9092";
  c.topics = {"invoices", "invoices-retry"};
  CHECK(c.validate().empty());
  c.assignment_strategy = "range";
  c.properties = {{"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "PLAIN"}};
  CHECK(c.validate().empty());
}

TEST_CASE("consumer validate reports every problem at once", "[kafka][unit]") {
  ConsumerConfig c;
  c.group_id = "";
  c.auto_offset_reset = "smallest";
  c.queue_capacity = 10;
  c.queue_resume_at = 10;
  c.commit_attempts = 0;
  c.properties = {{"enable.auto.offset.store", "true"}, {"group.id", "x"}};
  const auto p = c.validate();
  CHECK(mentions(p, "bootstrap_servers"));
  CHECK(mentions(p, "group_id"));
  CHECK(mentions(p, "topics"));
  CHECK(mentions(p, "auto_offset_reset"));
  CHECK(mentions(p, "queue_resume_at"));
  CHECK(mentions(p, "commit_attempts"));
  CHECK(mentions(p, "enable.auto.offset.store"));
  CHECK(mentions(p, "group.id"));
  CHECK(p.size() == 8);
}

TEST_CASE("producer validate refuses settings that weaken delivery", "[kafka][unit]") {
  ProducerConfig c;
  c.bootstrap_servers = "b:9092";
  CHECK(c.validate().empty());
  c.properties = {{"acks", "-1"}};
  CHECK(c.validate().empty());
  c.properties = {{"acks", "1"}, {"enable.idempotence", "false"}, {"message.timeout.ms", "0"}};
  c.delivery_timeout = 0ms;
  const auto p = c.validate();
  CHECK(mentions(p, "acks"));
  CHECK(mentions(p, "enable.idempotence"));
  CHECK(mentions(p, "message.timeout.ms"));
  CHECK(mentions(p, "delivery_timeout"));
  CHECK(p.size() == 4);
}

TEST_CASE("topic specs are validated", "[kafka][unit]") {
  CHECK(validate(TopicSpec{"t", 1, 1, {}}).empty());
  CHECK(validate(TopicSpec{"", 0, 0, {}}).size() == 3);
}

TEST_CASE("the kafka section: one broker list and property map, each client's own keys win",
          "[kafka][unit][config]") {
  ib::config::ConfigSource s(R"(
kafka:
  bootstrap_servers: broker-1:9093,broker-2:9093
  group_id: ap-import
  properties: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}
  consumer: {properties: {fetch.max.bytes: "1048576"}, auto_offset_reset: latest}
  producer: {linger: 20ms, properties: {sasl.mechanism: SCRAM-SHA-512}}
  topics: {input: ap.invoices, retry: ap.invoices.retry, review: ap.invoices.review, partitions: 12}
)",
                             "ib.yaml", {{"IB_KAFKA__GROUP_ID", "from-env"}});
  ConsumerConfig consumer;
  ProducerConfig producer;
  TopicsConfig topics;
  load_section(s, consumer, producer, topics);
  CHECK(s.problems().empty());
  CHECK(s.unknown_keys().empty());
  CHECK(consumer.bootstrap_servers == "broker-1:9093,broker-2:9093");
  CHECK(producer.bootstrap_servers == "broker-1:9093,broker-2:9093");
  CHECK(consumer.group_id == "from-env");
  CHECK(consumer.auto_offset_reset == "latest");
  CHECK(consumer.properties.at("sasl.mechanism") == "PLAIN");
  CHECK(consumer.properties.at("fetch.max.bytes") == "1048576");
  CHECK(producer.properties.at("sasl.mechanism") == "SCRAM-SHA-512");
  CHECK(producer.properties.at("security.protocol") == "SASL_SSL");
  CHECK(producer.properties.count("fetch.max.bytes") == 0);
  CHECK(producer.linger == 20ms);
  CHECK(consumer.topics == std::vector<std::string>{"ap.invoices", "ap.invoices.retry"});
  CHECK(topics.review == "ap.invoices.review");
  CHECK(topics.partitions == 12);
  CHECK(validate_section(consumer, producer, topics).empty());

  ib::config::ConfigSource bad("kafka: {consumer: {auto_offset_reset: middle}}\n", "ib.yaml");
  load_section(bad, consumer, producer, topics);
  CHECK(mentions(bad.problems(), "kafka.consumer.auto_offset_reset: 'middle'"));
}

TEST_CASE("topic names follow Kafka's rules; three different topics", "[kafka][unit][config]") {
  TopicsConfig t;
  CHECK(t.validate().empty());
  t.input = "in voices";
  t.retry = std::string(250, 'r');
  t.review = "..";
  CHECK(t.validate() ==
        std::vector<std::string>{
            "kafka.topics.input: 'in voices' is not a valid topic name (letters, digits, '.', '_', '-'; at most 249)",
            "kafka.topics.retry: '" + std::string(250, 'r') +
                "' is not a valid topic name (letters, digits, '.', '_', '-'; at most 249)",
            "kafka.topics.review: '..' is not a valid topic name (letters, digits, '.', '_', '-'; at most 249)"});
  t = TopicsConfig{};
  t.input = t.retry = "same";
  t.review = "";
  t.partitions = 0;
  CHECK(t.validate() == std::vector<std::string>{
                            "kafka.topics: topic names must not be empty",
                            "kafka.topics: input, retry and review must be three different topics ('same' is used twice)",
                            "kafka.topics.partitions: must be at least 1"});
}

TEST_CASE("files named by librdkafka properties are checked, each once, with its key's line",
          "[kafka][unit][config]") {
  ib::testing::TempDir dir;
  const auto ca = (dir.path() / "ca.pem").string();
  const auto key = (dir.path() / "client.key").string();
  std::ofstream(ca) << "pem";
  std::ofstream(key) << "key";
  ::chmod(key.c_str(), 0640);
  const auto yaml = "kafka:\n"
                    "  properties:\n"
                    "    ssl.ca.location: " + ca + "\n" +
                    "    ssl.certificate.location: " + (dir.path() / "missing.pem").string() + "\n" +
                    "  producer:\n"
                    "    properties:\n"
                    "      ssl.key.location: " + key + "\n";
  ib::config::ConfigSource s(yaml, "ib.yaml");
  ConsumerConfig consumer;
  ProducerConfig producer;
  TopicsConfig topics;
  load_section(s, consumer, producer, topics);
  const auto found = check_section_files(s, consumer, producer);
  CHECK(found.problems == std::vector<std::string>{"kafka.properties.ssl.certificate.location (ib.yaml:4): " +
                                                   (dir.path() / "missing.pem").string() + ": no such file"});
  CHECK(found.warnings == std::vector<std::string>{"kafka.producer.properties.ssl.key.location (ib.yaml:7): " + key +
                                                   " is readable by group or others (mode 0640); make it 0600 or 0400"});
  // A CA directory and librdkafka's `probe` are fine too.
  consumer.properties["ssl.ca.location"] = dir.path().string();
  producer.properties["ssl.ca.location"] = "probe";
  consumer.properties.erase("ssl.certificate.location");
  producer.properties.erase("ssl.certificate.location");
  producer.properties.erase("ssl.key.location");
  CHECK(check_section_files(s, consumer, producer).problems.empty());
}

TEST_CASE("revoke_grace must be below max_poll_interval and not negative", "[kafka][unit]") {
  ConsumerConfig c;
  c.bootstrap_servers = "127.0.0.1:9092";
  c.topics = {"t"};
  CHECK(c.validate().empty());
  c.revoke_grace = c.max_poll_interval;
  CHECK(mentions(c.validate(), "revoke_grace must be below max_poll_interval"));
  c.revoke_grace = std::chrono::milliseconds(-1);
  CHECK(mentions(c.validate(), "revoke_grace must be >= 0"));
  c.revoke_grace = std::chrono::milliseconds(0);
  CHECK(c.validate().empty());
}
