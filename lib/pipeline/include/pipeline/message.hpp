#pragma once

#include "kafka/headers.hpp"
#include "kafka/message.hpp"

#include <optional>

namespace ib::pipeline {

/// A consumed Kafka record as the pipeline sees it: the record itself plus what its
/// headers say, decoded once when it was consumed (ConsumerLoop::to_in_message).
struct InMessage : kafka::Message {
  /// Deliveries so far: 0 for a message from the input topic, the retry history's attempt
  /// for one from the retry topic.
  int attempt = 0;
  /// How many times an operator replayed it from manual review (`ib-replay-count`). Filled
  /// for messages from the input topic only (0 for the retry topic: a retry of a replay is
  /// an ordinary retry); > 0 makes admission send it again.
  int replay_count = 0;
  /// The retry history of a retry-topic message (its origin on the input topic, the last
  /// answer); nullopt for input-topic messages and retries whose headers were unreadable.
  std::optional<kafka::RetryHistory> retry;

  /// Where the message was first consumed: the retry history's origin, else its own place.
  kafka::Origin origin() const {
    return retry ? retry->origin : kafka::Origin{topic, partition, offset};
  }
};

}  // namespace ib::pipeline
