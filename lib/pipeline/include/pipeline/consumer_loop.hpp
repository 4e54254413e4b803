#pragma once

#include "core/clock.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/pipeline_metrics.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ib::kafka {
class Consumer;
}

namespace ib::pipeline {

struct ConsumerLoopConfig {
  /// The retry topic: its messages carry retry headers and wait until they are due.
  std::string retry_topic = "invoices.retry";
  /// Most consumer events taken per wake-up.
  std::size_t max_poll = 500;
  /// Longest wait for events; also how often due retries and backpressure are checked.
  std::chrono::milliseconds poll_wait{100};
  /// Messages not yet done (pipeline backlog + held retries) at which every partition is
  /// paused; consumption resumes at `resume_backlog`.
  std::size_t max_backlog = 5000;
  std::size_t resume_backlog = 2500;
  /// How long shutdown waits for in-flight work before leaving it to redelivery.
  std::chrono::milliseconds drain_timeout{20000};

  /// Reads the `pipeline.` keys from `source` (problems land in the source). The retry
  /// topic is `kafka.topics.retry`, set by the caller.
  void load(config::ConfigSource& source);
  std::vector<std::string> validate() const;
};

/// A consumed record as the pipeline takes it, its headers decoded once: the retry
/// history (attempt, due time, origin) of a retry-topic message, the replay count of an
/// input-topic message. A retry message with unreadable headers is logged and treated as
/// a first attempt.
InMessage to_in_message(kafka::Message&& record, bool from_retry_topic);

/// Restores the dedup state of an input partition (from the changelog) before the loop
/// hands in its messages. Implemented by ChangelogRestorer (pipeline/changelog_restorer.hpp).
class PartitionRestorer {
public:
  virtual ~PartitionRestorer() = default;
  /// Starts restoring `partition` off the loop's thread; `done` is called once, on the
  /// loop's executor, with nullopt (restored) or why not.
  virtual void start(std::int32_t partition, std::function<void(std::optional<std::string> error)> done) = 0;
  /// `partition` was revoked: its restore may stop early (`done` still comes; the loop
  /// ignores it).
  virtual void cancel(std::int32_t partition) = 0;
};

/// Drives a Pipeline from a Kafka consumer on one io_context thread: hands messages in,
/// holds retry-topic messages until their due time (pausing that partition, never
/// sleeping), pauses all partitions when the backlog is too big, drops the work of revoked
/// partitions, and stores each partition's offset as the contiguous watermark of messages
/// whose outcome is durable (never past one that is not).
///
/// With a PartitionRestorer, each input partition assigned is paused and restored first;
/// its messages (any already fetched are held) reach the pipeline only after the restore,
/// and a failed restore stops the loop.
///
/// Wire the pipeline's `events.done` to `on_done()` and `events.fatal` to `fail()`.
class ConsumerLoop {
public:
  ConsumerLoop(ConsumerLoopConfig config, kafka::Consumer& consumer, Pipeline& pipeline,
               core::Clock& clock, PipelineMetrics* metrics = nullptr,
               PartitionRestorer* restorer = nullptr);
  ~ConsumerLoop();
  ConsumerLoop(const ConsumerLoop&) = delete;
  ConsumerLoop& operator=(const ConsumerLoop&) = delete;

  /// Consumes until stop() or fail(), then drains the pipeline (bounded). Completes with
  /// the failure reason, or nullopt after an orderly stop. The caller then commits and
  /// closes the consumer (blocking calls, off the io_context thread).
  boost::asio::awaitable<std::optional<std::string>> run();

  /// Asks run() to finish (orderly shutdown). Safe from the io_context thread only.
  void stop();
  /// Stops with a failure (pipeline fatal, consumer fatal).
  void fail(const std::string& reason);

  /// The pipeline reports a message whose outcome is durable.
  void on_done(const InMessage& message, core::Outcome outcome);

  /// Retry-topic messages held until due, and input messages held until their partition's
  /// restore is done.
  std::size_t held() const;
  /// Input partitions whose restore has not finished.
  std::size_t restoring() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ib::pipeline
