// Helpers shared by the kafka integration tests.
#pragma once

#include "kafka/admin.hpp"
#include "kafka/consumer.hpp"
#include "kafka/rdkafka_consumer.hpp"
#include "kafka/rdkafka_producer.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ib::kafka::test {

using namespace std::chrono_literals;

inline void create_topic(const std::string& bootstrap, const std::string& topic, int partitions) {
  const auto r = ensure_topics({{"bootstrap.servers", bootstrap}},
                               {TopicSpec{topic, partitions, 1, {}}}, 30s);
  INFO((r.has_value() ? std::string() : r.error().message));
  REQUIRE(r.has_value());
}

inline ConsumerConfig consumer_config(const std::string& bootstrap, const std::string& group,
                                      std::vector<std::string> topics,
                                      std::string strategy = "cooperative-sticky") {
  ConsumerConfig c;
  c.bootstrap_servers = bootstrap;
  c.group_id = group;
  c.topics = std::move(topics);
  c.assignment_strategy = std::move(strategy);
  c.session_timeout = 10s;
  c.max_poll_interval = 30s;
  c.properties = {{"heartbeat.interval.ms", "300"}, {"topic.metadata.refresh.interval.ms", "1000"}};
  return c;
}

inline ProducerConfig producer_config(const std::string& bootstrap) {
  ProducerConfig c;
  c.bootstrap_servers = bootstrap;
  return c;
}

/// Thread-safe record of delivery reports by message id.
struct Deliveries {
  std::mutex mutex;
  std::map<std::string, std::vector<DeliveryReport>> by_id;

  DeliveryCallback callback(std::string id) {
    return [this, id](const DeliveryReport& r) {
      std::lock_guard lock(mutex);
      by_id[id].push_back(r);
    };
  }
  std::size_t total() {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& [id, v] : by_id) n += v.size();
    return n;
  }
};

/// Produces `count` messages `prefix-i` (key `k-i`) to `topic` and waits for every report.
/// Returns the end offset of each partition (max delivered offset + 1).
inline std::map<std::int32_t, std::int64_t> produce_n(Producer& producer, const std::string& topic,
                                                      const std::string& prefix, int count,
                                                      std::int32_t partition = -1) {
  Deliveries d;
  for (int i = 0; i < count; ++i) {
    const auto id = prefix + "-" + std::to_string(i);
    producer.produce(OutgoingMessage{topic, "k-" + std::to_string(i), id, {}, partition},
                     d.callback(id));
  }
  REQUIRE(producer.flush(60s));
  std::map<std::int32_t, std::int64_t> ends;
  std::lock_guard lock(d.mutex);
  REQUIRE(d.by_id.size() == static_cast<std::size_t>(count));
  for (const auto& [id, reports] : d.by_id) {
    REQUIRE(reports.size() == 1);
    INFO(id << ": " << reports.front().error.message());
    REQUIRE(reports.front().ok());
    auto& end = ends[reports.front().partition];
    end = std::max(end, reports.front().offset + 1);
  }
  return ends;
}

/// Polls `pred` (with short sleeps) until true or `limit` passes; returns its last value.
template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

}  // namespace ib::kafka::test
