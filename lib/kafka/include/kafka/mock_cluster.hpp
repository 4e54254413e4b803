#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace ib::kafka {

/// An in-process Kafka cluster: librdkafka's mock cluster (rdkafka_mock.h). Real
/// librdkafka clients connect to it over loopback TCP as to any broker. Used by tests
/// to inject broker errors and outages, and by `invoice-bridge demo` as its embedded
/// Kafka. Unknown topics are auto-created. Not thread-safe; create and destroy it on
/// one thread, and destroy it after every client connected to it.
class MockCluster {
public:
  /// Starts `brokers` mock brokers on 127.0.0.1 random ports. Throws on failure.
  explicit MockCluster(int brokers = 1);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  /// The bootstrap.servers string for clients.
  std::string bootstrap_servers() const;

  /// Creates `topic` with `partitions` partitions (replication factor 1). Throws on failure.
  void create_topic(const std::string& topic, int partitions);

  /// The next `count` requests with Kafka API key `api_key` (e.g. 0 = Produce,
  /// 1 = Fetch, 8 = OffsetCommit) fail with broker error code `error` (the numeric Kafka
  /// protocol error, e.g. 6 = NOT_LEADER_OR_FOLLOWER, 7 = REQUEST_TIMED_OUT).
  void push_request_errors(std::int16_t api_key, int count, int error);

  /// Takes broker `broker_id` (1-based) down (connections closed, new ones refused)
  /// or brings it back up.
  void set_broker_down(int broker_id);
  void set_broker_up(int broker_id);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ib::kafka
