#pragma once

#include "batch/aimd_limiter.hpp"
#include "batch/batcher.hpp"
#include "core/clock.hpp"
#include "pipeline/ports.hpp"
#include "retry/backoff.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ib::pipeline {

/// The pipeline's settings; see docs/configuration.md for the YAML keys.
struct PipelineConfig {
  batch::BatcherConfig batch;
  batch::AimdConfig aimd;
  /// Due times of the retry topic (1 s, 2 s, 4 s with jitter by default). A transient
  /// failure is retried through the retry topic `max_attempts - 1` times (3 by default),
  /// then goes to manual review.
  retry::BackoffConfig backoff{.initial = std::chrono::milliseconds(1000),
                               .multiplier = 2.0,
                               .max_delay = std::chrono::milliseconds(60000),
                               .jitter = 0.2,
                               .max_attempts = 4};

  int max_retries() const { return backoff.max_attempts - 1; }

  std::vector<std::string> validate() const;
};

/// Notifications from the pipeline to its driver, on the pipeline's executor.
struct PipelineEvents {
  /// `message`'s outcome is durable (store written or produce acknowledged): its offset
  /// may be committed. Called exactly once per submitted message that was not revoked.
  std::function<void(const InMessage& message, Outcome outcome)> done;
  /// A batch came back: its size, how long it took, and the answers.
  std::function<void(std::size_t size, std::chrono::steady_clock::duration took,
                     const std::vector<SendAnswer>& answers)>
      batch_answered;
  /// The pipeline cannot go on without risking loss (store or producer failed). It has
  /// stopped; nothing more will be marked done. Called at most once.
  std::function<void(const std::string& reason)> fatal;
};

/// Decode → dedup gate → batch → send → route, for messages handed in by a driver (the
/// Kafka consumer in the daemon, tests otherwise). Runs on one executor (one thread);
/// every public member must be called on it. The driver owns offsets: it stores a
/// message's offset only after `events.done` for it.
///
/// Guarantees (ARCHITECTURE.md invariants): each submitted message ends in exactly one
/// `done` (or in none, if its partition is revoked or the pipeline stops: it is then
/// delivered again); a key is never in two batches in flight at once (later copies are
/// collapsed onto the first); throttled and not-processed invoices are resent without
/// spending a retry.
class Pipeline {
public:
  Pipeline(boost::asio::any_io_executor executor, PipelineConfig config, InvoiceCodec& codec,
           StorePort& store, SendPort& sender, PublishPort& publisher, core::Clock& clock,
           PipelineEvents events, std::optional<std::uint64_t> seed = std::nullopt);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// Hands in one polled group of messages (due retries included).
  void submit(std::vector<InMessage> messages);

  /// Forgets queued work of a revoked partition (nothing of it will be `done`); batches
  /// already in flight finish, but their messages are not reported.
  void revoke(const std::string& topic, std::int32_t partition);

  /// Messages submitted and not yet done: the driver pauses consumption above a bound.
  std::size_t backlog() const;
  /// Batches in flight now, and the current AIMD limit.
  int in_flight() const;
  int in_flight_limit() const;

  /// Sends what is batched now (without waiting for linger) and waits until nothing is
  /// in flight or `limit` has passed. True if everything submitted is done.
  boost::asio::awaitable<bool> drain(std::chrono::milliseconds limit);

  /// The delay before retry `attempt` (>= 1), jitter included.
  std::chrono::milliseconds retry_delay(int attempt);

  bool failed() const;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ib::pipeline
