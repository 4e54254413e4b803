#pragma once

#include "batch/aimd_limiter.hpp"
#include "batch/pacing_limiter.hpp"
#include "batch/batcher.hpp"
#include "config/config_source.hpp"
#include "core/clock.hpp"
#include "core/outcome.hpp"
#include "d365/sender.hpp"
#include "pipeline/message.hpp"
#include "retry/backoff.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ib::d365 {
class InvoiceCodec;
}
namespace ib::dedup {
class DedupStore;
}
namespace ib::kafka {
class Producer;
}

namespace ib::pipeline {

/// The pipeline's settings; see docs/configuration.md for the YAML keys.
struct PipelineConfig {
  batch::BatcherConfig batch;
  batch::AimdConfig aimd;
  /// The bound D365's answers put on top of AIMD (`x-ms-dop-hint` / members sharing the
  /// application user, the `x-ms-ratelimit-*` budget); docs/runbook.md "Several members
  /// share one application user".
  batch::PacingConfig pacing;
  /// Due times of the retry topic (1 s, 2 s, 4 s with jitter by default). A transient
  /// failure is retried through the retry topic `max_attempts - 1` times (3 by default),
  /// then goes to manual review.
  retry::BackoffConfig backoff;
  /// Where transient failures and manual-review cases are produced.
  std::string retry_topic = "invoices.retry";
  std::string review_topic = "invoices.review";
  /// The dedup changelog (`kafka.topics.changelog`): every store change is produced there,
  /// in the partition of the message it came from (its origin for a retry), and a message
  /// is `done` only once its changelog records are acknowledged. Empty: no changelog (one
  /// member, `import`).
  std::string changelog_topic;
  /// Resends of one invoice, within one attempt, after D365 gave it no answer of its own
  /// (`retry.max_resends`). Resend n waits the retry schedule's delay for n (1 s, 2 s, 4 s
  /// ... by default); past the bound the invoice takes the transient path (the retry
  /// topic, an attempt). A server that keeps answering short never sees a tight loop.
  int max_resends = 5;
  /// Resends of one invoice, within one attempt, after throttling (429): each waits the
  /// answer's Retry-After (defaulted and capped by `d365.classify.*`) through the AIMD
  /// pause. 0 = no bound: the daemon waits out D365's service protection however long it
  /// lasts. `import` bounds it; past the bound the invoice takes the transient path.
  int max_throttled_resends = 0;

  int max_retries() const { return backoff.max_attempts - 1; }

  /// Reads the `batch.`, `send.` and `retry.` keys from `source` (problems land in the
  /// source; the removed `send.*_retry_after` keys name their replacements). The topics
  /// are the `kafka.topics.` ones, set by the caller.
  void load(config::ConfigSource& source);
  std::vector<std::string> validate() const;
};

/// Notifications from the pipeline to its driver, on the pipeline's executor.
struct PipelineEvents {
  /// `message`'s outcome is durable (store written or produce acknowledged): its offset
  /// may be committed. Called exactly once per submitted message that was not revoked.
  std::function<void(const InMessage& message, core::Outcome outcome)> done;
  /// A batch came back: its size, how long it took, and the answers.
  std::function<void(std::size_t size, std::chrono::steady_clock::duration took,
                     const std::vector<d365::Answer>& answers)>
      batch_answered;
  /// The pipeline cannot go on without risking loss (store or producer failed, or the sender
  /// answered Answer::fatal: a configuration problem, failed_on_configuration()). It has
  /// stopped; nothing more will be marked done. Called at most once.
  std::function<void(const std::string& reason)> fatal;
  /// A changelog produce failed (for metrics); `fatal` follows.
  std::function<void()> changelog_error;
};

/// The parts a pipeline runs on: the real interfaces, implemented by RocksDB, librdkafka
/// and the `$batch` client in production and by the fakes of tests/support in unit tests.
struct PipelineParts {
  const d365::InvoiceCodec& codec;  ///< decode + key + fingerprint + entity write
  dedup::DedupStore& store;         ///< dedup decisions and their durable state
  d365::Sender& sender;             ///< batches to D365, one answer per invoice
  kafka::Producer& producer;        ///< retry and manual-review topics (acks=all)
  core::Clock& clock;               ///< wall time of retry due dates
};

/// Decode → dedup admission → batch → send → settle, for messages handed in by a driver
/// (the Kafka consumer loop in the daemon, tests otherwise). Its three stages are in files
/// named after them: admission.cpp (decode, the dedup decision for every copy),
/// dispatch.cpp (batching, AIMD pacing, sending), settlement.cpp (routing answers,
/// publishing, store writes, `done`). Runs on one executor (one thread); every public
/// member must be called on it. The driver owns offsets: it stores a message's offset only
/// after `events.done` for it.
///
/// Guarantees (ARCHITECTURE.md invariants): each submitted message ends in exactly one
/// `done` (or in none, if its partition is revoked or the pipeline stops: it is then
/// delivered again); a key is never in two batches in flight at once (every copy is
/// judged against the stored version, then the one in flight: dedup::judge_copies); throttled and not-processed invoices are resent without
/// spending a retry, paced (Retry-After, the retry schedule) and bounded (max_resends,
/// max_throttled_resends).
class Pipeline {
public:
  Pipeline(boost::asio::any_io_executor executor, PipelineConfig config, PipelineParts parts,
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

  /// Starts no more batches (queued and delayed work stays queued, not `done`); batches
  /// already in flight are answered and settled. For a driver that stops early (`import`
  /// on a signal or its deadline): wait until in_flight() is 0.
  void stop_sending();

  /// Sends what is batched now (without waiting for linger) and waits until nothing is
  /// in flight or `limit` has passed. True if everything submitted is done (after
  /// stop_sending(): if nothing is in flight or being published any more).
  boost::asio::awaitable<bool> drain(std::chrono::milliseconds limit);

  /// Whether this member owns `partition` of the input and has restored its changelog:
  /// only then do acknowledged changelog writes move the store's changelog checkpoint (a
  /// retry of another member's partition must not move it past records it never read).
  void changelog_owned(std::int32_t partition, bool owned);

  bool failed() const;
  /// True when it stopped because the sender answered Answer::fatal (a configuration
  /// problem such as D365's TLS certificate failing verification): that batch was not
  /// settled, so its messages are delivered again after the fix.
  bool failed_on_configuration() const;

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ib::pipeline
