#pragma once

#include "pipeline/routing.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ib::pipeline {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// A consumed Kafka message as the pipeline sees it. The driver fills `attempt` from the
/// retry headers (0 for a message from the input topic).
struct InMessage {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  Headers headers;
  int attempt = 0;
  /// How many times an operator replayed it from manual review (`ib-replay-count`). The
  /// driver fills it for messages from the input topic only (0 for the retry topic: a
  /// retry of a replay is an ordinary retry); > 0 makes admit() send it again.
  int replay_count = 0;
};

/// A message that passed decoding and validation.
struct Decoded {
  std::string dedup_key;
  std::string fingerprint;
  /// The decoded invoice, type-erased: only the codec and the sender of one deployment
  /// know its type (ib::invoice::Invoice in production, anything in tests).
  std::shared_ptr<const void> invoice;
  /// Approximate request size, for the batcher's byte limit.
  std::size_t bytes = 0;
};

/// Decode + validate + key + fingerprint. Pure; called on the pipeline thread.
class InvoiceCodec {
public:
  virtual ~InvoiceCodec() = default;
  /// The decoded invoice, or the reason it is invalid (for the review message).
  virtual std::variant<Decoded, std::string> decode(const InMessage& message) = 0;
};

/// A dedup store entry as the pipeline needs it.
struct StoreEntry {
  StoreState state = StoreState::absent;
  std::string fingerprint;
};

/// The dedup store, as far as the pipeline uses it. Every call is one batch (one
/// MultiGet / one WriteBatch). An error string means the store failed: the pipeline
/// stops (nothing is marked done), so the messages are delivered again after a restart.
class StorePort {
public:
  virtual ~StorePort() = default;
  virtual std::variant<std::vector<StoreEntry>, std::string> lookup(
      const std::vector<std::string>& keys) = 0;
  struct Pending {
    std::string key;
    std::string fingerprint;
    int attempt = 0;
  };
  virtual std::optional<std::string> mark_pending(const std::vector<Pending>& items) = 0;
  struct Imported {
    std::string key;
    std::string fingerprint;
    std::string record_id;  ///< empty when unknown (duplicate answers)
  };
  virtual std::optional<std::string> mark_imported(const std::vector<Imported>& items) = 0;
  /// Counts upstream duplicate sightings; failures here are logged, not fatal.
  virtual void record_duplicates(const std::vector<std::string>& keys) = 0;
};

/// One invoice's answer from D365.
struct SendAnswer {
  SendResult result = SendResult::transient;
  int status = 0;                                   ///< HTTP status of its part (0: none)
  std::string error;                                ///< D365 error code + message, or transport error
  std::string body;                                 ///< error body kept for manual review
  std::string record_id;                            ///< created record id when known
  std::optional<std::chrono::milliseconds> retry_after;  ///< from a 429
};

/// Sends one batch to D365 and classifies each invoice's answer. Never throws for
/// remote failures: a batch that failed as a whole answers every invoice (transient,
/// throttled...). Answers are in the order of `invoices`.
class SendPort {
public:
  virtual ~SendPort() = default;
  virtual boost::asio::awaitable<std::vector<SendAnswer>> send(
      std::vector<std::shared_ptr<const void>> invoices) = 0;
};

/// Where a message goes when D365 is not its end.
struct RetryRecord {
  int next_attempt = 0;
  std::chrono::system_clock::time_point due;
  int last_status = 0;
  std::string last_error;
};
struct ReviewRecord {
  ReviewReason reason = ReviewReason::rejected;
  int status = 0;
  std::string error;
  std::string body;  ///< D365 error body, or the other version of a conflicting invoice
  int attempts = 0;
};

/// Produces to the retry and manual-review topics. Completes once the broker has
/// acknowledged the message (acks=all), or with an error string; an error stops the
/// pipeline (the source offset is not committed, so nothing is lost).
class PublishPort {
public:
  virtual ~PublishPort() = default;
  virtual boost::asio::awaitable<std::optional<std::string>> to_retry(InMessage original,
                                                                      RetryRecord record) = 0;
  virtual boost::asio::awaitable<std::optional<std::string>> to_review(InMessage original,
                                                                       ReviewRecord record) = 0;
};

}  // namespace ib::pipeline
