#pragma once

#include "kafka/config.hpp"
#include "kafka/producer.hpp"

#include <cstdint>
#include <memory>

namespace ib::kafka {

/// Producer on librdkafka (see Producer for the contract). Imposes
/// `enable.idempotence=true`, `acks=all`, `message.timeout.ms` = delivery_timeout, and
/// serves delivery reports on its own poll thread.
class RdKafkaProducer final : public Producer {
public:
  /// Creates the client and starts the poll thread. Throws std::invalid_argument listing
  /// every problem of an invalid config, std::runtime_error when librdkafka refuses it.
  explicit RdKafkaProducer(ProducerConfig config);
  /// close().
  ~RdKafkaProducer() override;
  RdKafkaProducer(const RdKafkaProducer&) = delete;
  RdKafkaProducer& operator=(const RdKafkaProducer&) = delete;

  using Producer::produce;
  void produce(OutgoingMessage message, DeliveryCallback on_delivery) override;
  bool flush(std::chrono::milliseconds timeout) override;
  std::int64_t in_flight() const override;

  /// Flushes for up to close_timeout, then purges what is left (each purged message gets
  /// its failure callback), and stops the poll thread. Later produce() calls fail at once
  /// (their callback still runs). Idempotent. Blocking.
  void close();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ib::kafka
