#pragma once

#include "core/clock.hpp"
#include "kafka/producer.hpp"
#include "pipeline/ports.hpp"

#include <string>

namespace ib::app {

/// The pipeline's PublishPort over the idempotent Kafka producer: the original payload as
/// value, the original key, the history in `ib-` headers (kafka/headers.hpp). A message
/// that came from the retry topic keeps its origin (input topic/partition/offset).
/// Completes when the broker acknowledged (acks=all) or with the delivery error.
class KafkaPublishPort final : public pipeline::PublishPort {
public:
  KafkaPublishPort(kafka::Producer& producer, std::string retry_topic, std::string review_topic)
      : producer_(producer), retry_topic_(std::move(retry_topic)),
        review_topic_(std::move(review_topic)) {}

  boost::asio::awaitable<std::optional<std::string>> to_retry(pipeline::InMessage original,
                                                              pipeline::RetryRecord record) override;
  boost::asio::awaitable<std::optional<std::string>> to_review(
      pipeline::InMessage original, pipeline::ReviewRecord record) override;

private:
  kafka::Producer& producer_;
  std::string retry_topic_;
  std::string review_topic_;
};

}  // namespace ib::app
