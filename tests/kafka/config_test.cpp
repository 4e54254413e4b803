#include "kafka/admin.hpp"
#include "kafka/config.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
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
