#pragma once

// The Pipeline's state, shared by its three stage files (admission.cpp, dispatch.cpp,
// settlement.cpp). Private to lib/pipeline.

#include "pipeline/pipeline.hpp"
#include "pipeline/settlement.hpp"

#include "d365/invoice_codec.hpp"
#include "dedup/dedup_store.hpp"
#include "kafka/producer.hpp"

#include "core/steady_time.hpp"

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace ib::pipeline {

// One message on its way through the pipeline.
struct Item {
  InMessage msg;
  d365::DecodedInvoice decoded;
  bool sent_before = false;
  bool revoked = false;
  // Resends within this attempt after no answer of its own / after throttling.
  int unanswered = 0;
  int throttles = 0;
  // The message is an operator's replay (`ib-replay-count` > 0); read by admission only.
  bool replayed = false;
  // Later copies with the same key and content (dedup::Verdict::follow), completed as
  // duplicates with this one.
  std::vector<std::shared_ptr<Item>> followers;
};
using ItemPtr = std::shared_ptr<Item>;

struct Pipeline::Impl : std::enable_shared_from_this<Impl> {
  // The stages' monotonic time: core::SteadyTime (tests move it), in the steady_clock
  // time points that the pure Batcher and AimdLimiter take.
  struct SteadyClock {
    using time_point = std::chrono::steady_clock::time_point;
    static time_point now() { return time_point(core::SteadyTime::now().time_since_epoch()); }
  };
  static core::SteadyTime::time_point timer_time(SteadyClock::time_point t) {
    return core::SteadyTime::time_point(t.time_since_epoch());
  }

  boost::asio::any_io_executor executor;
  PipelineConfig config;
  PipelineParts parts;
  PipelineEvents events;
  retry::Rng rng;
  std::size_t backlog = 0;  // submitted, not yet done (followers included)
  bool failed = false;
  bool failed_on_configuration = false;  ///< the sender answered Answer::fatal
  core::SteadyTimer idle_timer;  // wakes drain() when work completes

  // --- admission (admission.cpp) ---
  // Keys queued or in flight: the version later copies are judged against after the store.
  std::unordered_map<std::string, ItemPtr> active;
  // Retry-topic messages whose key was active (or had a copy ahead of them in their group)
  // when they arrived, admitted once it is not. A retry message can arrive before its own
  // parent's produce is acknowledged (the parent is still active then): following the
  // parent would finish it with the parent's outcome and lose the retry.
  std::unordered_map<std::string, std::vector<ItemPtr>> parked;

  void submit(std::vector<InMessage> messages);
  void admit_items(std::vector<ItemPtr> decoded);
  void admit_later(std::vector<ItemPtr> items);
  void release(const ItemPtr& item);
  void admit_parked(const std::string& key);
  void revoke(const std::string& topic, std::int32_t partition);

  // --- dispatch (dispatch.cpp) ---
  batch::Batcher<ItemPtr> batcher;
  batch::AimdLimiter aimd;
  batch::PacingLimiter pacing;  // D365's own bound on top of AIMD's
  std::deque<std::vector<ItemPtr>> closed;  // batches waiting for an in-flight slot
  core::SteadyTimer linger_timer;
  core::SteadyTimer pause_timer;
  bool linger_armed = false;
  bool pause_armed = false;
  int in_flight = 0;
  bool stopping = false;  // stop_sending(): no new batches
  int publishing = 0;     // produces not yet acknowledged
  // Unanswered invoices waiting for their resend's due time, and the timer that enqueues them.
  std::multimap<SteadyClock::time_point, ItemPtr> delayed;
  core::SteadyTimer resend_timer;
  bool resend_armed = false;

  void enqueue(const ItemPtr& item);
  void arm_linger();
  void pump();
  void resend_later(const ItemPtr& item, std::chrono::milliseconds delay);
  void arm_resend();
  void stop_sending();
  static boost::asio::awaitable<void> send_batch(std::shared_ptr<Impl> self, std::vector<ItemPtr> batch);
  boost::asio::awaitable<bool> drain(std::chrono::milliseconds limit);

  // --- settlement (settlement.cpp) ---
  void route_answers(const std::vector<ItemPtr>& batch, const std::vector<d365::Answer>& answers);
  void publish(kafka::OutgoingMessage message, std::function<void()> on_acked);
  void to_review(InMessage msg, ReviewRecord record, core::Outcome outcome, const ItemPtr& item = nullptr);
  void complete(const ItemPtr& item, core::Outcome outcome);
  void finish(const InMessage& msg, core::Outcome outcome, bool revoked);
  void fail(const std::string& reason);
  // Produces `message`, then `on_acked` with the broker's report; a failure stops the pipeline.
  void produce_acked(kafka::OutgoingMessage message, std::function<void(const kafka::DeliveryReport&)> on_acked);

  // --- changelog (settlement.cpp) ---
  // One store change: the key whose resulting entry goes to this changelog partition.
  struct Change {
    std::int32_t partition = 0;
    std::string key;
  };
  // Produces the resulting entry of each change to the changelog, then `then` once every
  // record is acknowledged (at once, synchronously, without a changelog).
  void log_changes(std::vector<Change> changes, std::function<void()> then);
  // Duplicate sightings (their count in the store), logged, then `then`.
  void record_duplicates(std::vector<Change> changes, std::function<void()> then);
  void note_checkpoint(std::int32_t partition, std::int64_t next_offset);
  static std::int32_t changelog_partition(const Item& item) { return item.msg.origin().partition; }
  std::set<std::int32_t> owned_partitions;
  std::map<std::int32_t, std::int64_t> acked_checkpoints;
  bool checkpoint_flush_posted = false;

  Impl(boost::asio::any_io_executor ex, PipelineConfig cfg, PipelineParts p, PipelineEvents ev,
       std::optional<std::uint64_t> seed)
      : executor(ex), config(std::move(cfg)), parts(p), events(std::move(ev)),
        rng(seed.value_or(std::random_device{}())), idle_timer(ex), batcher(config.batch),
        aimd(config.aimd), pacing(config.pacing), linger_timer(ex), pause_timer(ex), resend_timer(ex) {}
};

// One line for a store failure: its kind and message.
std::string describe_store_error(const dedup::StoreError& e);

// Counts a throttled / unanswered answer against the item's resend bounds (settlement.cpp);
// past a bound the answer becomes a transient failure whose error says why.
void bounded_resend(Item& item, d365::Answer& answer, const PipelineConfig& config);

}  // namespace ib::pipeline
