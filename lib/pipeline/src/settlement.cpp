// Settlement: where an invoice goes after its answer (the outcome table), the retry and
// review records, and applying them: store writes, produces, `done`.
#include "pipeline/settlement.hpp"

#include "pipeline_impl.hpp"

#include "core/log.hpp"
#include "dedup/changelog_codec.hpp"
#include "kafka/headers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace ib::pipeline {

Route route(core::AnswerClass answer, int attempt, int max_retries, bool sent_before) {
  using A = Route::Action;
  using core::AnswerClass;
  using core::Outcome;
  using core::ReviewReason;
  switch (answer) {
    case AnswerClass::created: return {A::mark_imported, Outcome::imported};
    case AnswerClass::duplicate:
      return {A::mark_imported, sent_before ? Outcome::recovered : Outcome::duplicate};
    case AnswerClass::throttled: return {A::resend, Outcome::throttled};
    case AnswerClass::not_processed: return {A::resend, Outcome::throttled};
    case AnswerClass::transient:
      if (attempt < max_retries) {
        return {A::retry_topic, Outcome::retried, attempt + 1};
      }
      return {A::review_topic, Outcome::exhausted, 0, ReviewReason::exhausted};
    case AnswerClass::permanent:
      return {A::review_topic, Outcome::rejected, 0, ReviewReason::rejected};
  }
  return {A::review_topic, Outcome::rejected, 0, ReviewReason::rejected};
}

// Counts a throttled / unanswered answer against the item's resend bounds; past a bound
// the answer becomes a transient failure (the retry path), its error saying why.
void bounded_resend(Item& item, d365::Answer& answer, const PipelineConfig& config) {
  using core::AnswerClass;
  int count = 0;
  int bound = 0;
  const char* what = "";
  if (answer.outcome == AnswerClass::not_processed) {
    count = ++item.unanswered;
    bound = config.max_resends;
    what = "no answer of its own";
  } else if (answer.outcome == AnswerClass::throttled && config.max_throttled_resends > 0) {
    count = ++item.throttles;
    bound = config.max_throttled_resends;
    what = "throttled";
  } else {
    return;
  }
  if (count <= bound) return;
  answer.outcome = AnswerClass::transient;
  answer.error = std::string(what) + " " + std::to_string(count) + " times in a row" +
                 (answer.error.empty() ? "" : ": " + answer.error);
}

namespace {

// The original record as it travels on: its key and payload bytes, and its headers (the
// caller then replaces the `ib-` ones), to `topic`.
kafka::OutgoingMessage forward(InMessage original, std::string topic) {
  kafka::OutgoingMessage out;
  out.topic = std::move(topic);
  out.key = std::move(original.key);
  out.value = std::move(original.value);
  out.headers = std::move(original.headers);
  return out;
}

}  // namespace

kafka::OutgoingMessage retry_message(InMessage original, const RetryRecord& record,
                                     std::string topic) {
  kafka::RetryHistory history;
  history.attempt = record.next_attempt;
  history.due_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(record.due.time_since_epoch()).count();
  history.last_status = record.last_status;
  history.last_error = record.last_error;
  history.origin = original.origin();
  auto out = forward(std::move(original), std::move(topic));
  kafka::encode_retry(out.headers, history);
  return out;
}

kafka::OutgoingMessage review_message(InMessage original, const ReviewRecord& record,
                                      std::string topic) {
  kafka::ReviewInfo info;
  info.reason = record.reason;
  info.d365_status = record.status;
  info.d365_error = record.body.empty() ? record.error
                                        : record.error.empty() ? record.body
                                                               : record.error + "\n" + record.body;
  info.origin = original.origin();
  if (original.retry) {
    // The history as of the attempt that sent it here: every attempt made, and the last
    // attempt's answer (the retry headers still describe the one before).
    info.retry = *original.retry;
    info.retry->attempt = std::max(record.attempts, original.retry->attempt);
    if (record.status != 0 || !record.error.empty()) {
      info.retry->last_status = record.status;
      info.retry->last_error = record.error;
    }
  }
  // A replayed message keeps its count (its review headers were stripped by the replay).
  info.replay_count = kafka::replay_count(original.headers);
  auto out = forward(std::move(original), std::move(topic));
  kafka::encode_review(out.headers, info);
  return out;
}

std::string describe_store_error(const dedup::StoreError& e) {
  return std::string(dedup::to_string(e.code)) + ": " + e.message;
}

namespace asio = boost::asio;
using core::Outcome;

void Pipeline::Impl::fail(const std::string& reason) {
  if (failed) return;
  failed = true;
  log::error("pipeline stopped", {{"reason", reason}});
  linger_timer.cancel();
  pause_timer.cancel();
  idle_timer.cancel();
  resend_timer.cancel();
  if (events.fatal) events.fatal(reason);
}

void Pipeline::Impl::finish(const InMessage& msg, Outcome outcome, bool revoked) {
  --backlog;
  if (!revoked && !failed && events.done) events.done(msg, outcome);
  if (backlog == 0) idle_timer.cancel();
}

// The item's own outcome, then its followers as upstream duplicates.
void Pipeline::Impl::complete(const ItemPtr& item, Outcome outcome) {
  release(item);
  finish(item->msg, outcome, item->revoked);
  if (!item->followers.empty()) {
    std::vector<Change> changes;
    for (const auto& f : item->followers) changes.push_back({changelog_partition(*f), item->decoded.dedup_key});
    record_duplicates(std::move(changes), [self = shared_from_this(), followers = item->followers] {
      for (const auto& f : followers) self->finish(f->msg, Outcome::duplicate, f->revoked);
    });
  }
}

void Pipeline::Impl::record_duplicates(std::vector<Change> changes, std::function<void()> then) {
  std::vector<std::string> keys;
  keys.reserve(changes.size());
  for (const auto& c : changes) keys.push_back(c.key);
  if (auto r = parts.store.record_duplicates(keys); !r) {
    // A lost sighting count changes no outcome: log, go on.
    log::warn("dedup store: duplicate count not recorded", {{"error", describe_store_error(r.error())}});
    then();
    return;
  }
  log_changes(std::move(changes), std::move(then));
}

void Pipeline::Impl::log_changes(std::vector<Change> changes, std::function<void()> then) {
  if (config.changelog_topic.empty() || changes.empty()) {
    then();
    return;
  }
  std::vector<std::string> keys;
  keys.reserve(changes.size());
  for (const auto& c : changes) keys.push_back(c.key);
  auto entries = parts.store.lookup(keys);
  if (!entries) {
    fail("dedup store lookup failed: " + describe_store_error(entries.error()));
    return;
  }
  // Every record acknowledged, then `then` (at most once: a failure stops the pipeline).
  auto remaining = std::make_shared<std::size_t>(changes.size());
  auto next = std::make_shared<std::function<void()>>(std::move(then));
  for (std::size_t i = 0; i < changes.size(); ++i) {
    kafka::OutgoingMessage record;
    record.topic = config.changelog_topic;
    record.key = std::move(changes[i].key);
    record.partition = changes[i].partition;
    // Absent right after a write only with a TTL shorter than the write: a tombstone.
    if (const auto& entry = (*entries)[i]) record.value = dedup::encode_changelog_value(*entry);
    produce_acked(std::move(record),
                  [self = shared_from_this(), remaining, next](const kafka::DeliveryReport& report) {
                    self->note_checkpoint(report.partition, report.offset + 1);
                    if (--*remaining == 0) (*next)();
                  });
  }
}

// An acknowledged changelog record of an owned, restored partition: every record before it
// is in this store, so the checkpoint may move past it. Coalesced into one write per turn.
void Pipeline::Impl::note_checkpoint(std::int32_t partition, std::int64_t next_offset) {
  if (partition < 0 || !owned_partitions.count(partition)) return;
  auto& cp = acked_checkpoints[partition];
  cp = std::max(cp, next_offset);
  if (checkpoint_flush_posted) return;
  checkpoint_flush_posted = true;
  asio::post(executor, [self = shared_from_this()] {
    self->checkpoint_flush_posted = false;
    if (self->failed) return;
    auto due = std::move(self->acked_checkpoints);
    self->acked_checkpoints.clear();
    for (const auto& [p, offset] : due) {
      if (auto w = self->parts.store.apply_changelog(self->config.changelog_topic, p, {}, offset); !w) {
        // Only costs a longer restore next time.
        log::warn("dedup store: changelog checkpoint not written",
                  {{"partition", std::to_string(p)}, {"error", describe_store_error(w.error())}});
      }
    }
  });
}

// Produces `message`; `on_acked` once the broker acknowledged it. A failed produce stops
// the pipeline: the source offset is not committed, so nothing is lost.
void Pipeline::Impl::publish(kafka::OutgoingMessage message, std::function<void()> on_acked) {
  produce_acked(std::move(message), [on_acked = std::move(on_acked)](const kafka::DeliveryReport&) { on_acked(); });
}

void Pipeline::Impl::produce_acked(kafka::OutgoingMessage message,
                                   std::function<void(const kafka::DeliveryReport&)> on_acked) {
  auto self = shared_from_this();
  auto produce = [](std::shared_ptr<Impl> self, kafka::OutgoingMessage m) -> asio::awaitable<kafka::DeliveryReport> {
    co_return co_await self->parts.producer.produce(std::move(m));
  };
  const std::string topic = message.topic;
  ++publishing;
  asio::co_spawn(executor, produce(self, std::move(message)),
                 [self, topic, on_acked = std::move(on_acked)](std::exception_ptr e,
                                                               kafka::DeliveryReport report) {
                   --self->publishing;
                   std::optional<std::string> error;
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       error = std::string("produce threw: ") + ex.what();
                     }
                   } else if (!report.ok()) {
                     error = "produce to " + topic + " failed: " + report.error.message();
                   }
                   if (error) {
                     const bool changelog = topic == self->config.changelog_topic;
                     if (changelog && self->events.changelog_error) self->events.changelog_error();
                     self->fail("cannot produce to the " +
                                std::string(changelog                             ? "changelog"
                                            : topic == self->config.retry_topic ? "retry"
                                                                                : "review") +
                                " topic: " + *error);
                     return;
                   }
                   if (!self->failed) on_acked(report);
                 });
}

void Pipeline::Impl::to_review(InMessage msg, ReviewRecord record, Outcome outcome, const ItemPtr& item) {
  auto self = shared_from_this();
  const bool revoked = item && item->revoked;
  InMessage copy = msg;
  publish(review_message(std::move(msg), record, config.review_topic),
          [self, copy = std::move(copy), outcome, item, revoked] {
            if (item) {
              self->complete(item, outcome);
            } else {
              self->finish(copy, outcome, revoked);
            }
          });
}

void Pipeline::Impl::route_answers(const std::vector<ItemPtr>& batch, const std::vector<d365::Answer>& answers) {
  std::optional<std::chrono::milliseconds> retry_after;
  bool throttled = false;
  std::vector<dedup::ImportedMark> imported;
  std::vector<std::pair<ItemPtr, Outcome>> imported_items;
  std::vector<ItemPtr> resend;
  std::vector<ItemPtr> unanswered;
  const auto now = SteadyClock::now();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& item = batch[i];
    if (answers[i].outcome == core::AnswerClass::throttled) {
      // A throttle paces all sending, even for an invoice past its resend bound.
      throttled = true;
      if (const auto& wait = answers[i].retry_after) retry_after = std::max(retry_after.value_or(*wait), *wait);
    }
    d365::Answer answer = answers[i];
    bounded_resend(*item, answer, config);
    const auto r = route(answer.outcome, item->msg.attempt, config.max_retries(), item->sent_before);
    const auto& key = item->decoded.dedup_key;
    switch (r.action) {
      case Route::Action::mark_imported:
        imported.push_back({key, item->decoded.fingerprint, answer.record_id});
        imported_items.emplace_back(item, r.outcome);
        break;
      case Route::Action::resend:
        if (answer.outcome == core::AnswerClass::throttled) {
          resend.push_back(item);  // sent again once the AIMD pause (the Retry-After) is over
        } else {
          unanswered.push_back(item);  // sent again after the retry schedule's delay
        }
        break;
      case Route::Action::retry_topic: {
        const auto delay = retry::delay_for(config.backoff, r.next_attempt, rng);
        log::info("transient failure; to the retry topic",
                  {{"dedup_key", key}, {"status", std::to_string(answer.status)},
                   {"attempt", std::to_string(r.next_attempt)}, {"error", answer.error}});
        publish(retry_message(item->msg,
                              RetryRecord{r.next_attempt, parts.clock.now() + delay, answer.status, answer.error},
                              config.retry_topic),
                [self = shared_from_this(), item] { self->complete(item, Outcome::retried); });
        break;
      }
      case Route::Action::review_topic:
        log::warn("invoice sent to manual review",
                  {{"dedup_key", key}, {"reason", std::string(core::to_string(r.reason))},
                   {"status", std::to_string(answer.status)}, {"error", answer.error}});
        to_review(item->msg, ReviewRecord{r.reason, answer.status, answer.error, answer.body, item->msg.attempt + 1},
                  r.outcome, item);
        break;
    }
  }
  // Every answer of one HTTP answer carries its headers; the last chunk's are the newest.
  batch::PacingSignal signal;
  for (const auto& a : answers) {
    if (a.pacing.dop_hint || a.pacing.requests_remaining || a.pacing.time_remaining_s) signal = a.pacing;
  }
  pacing.on_answer(signal, now);
  if (throttled) {
    aimd.on_throttle(now, retry_after);
    log::warn("throttled by D365",
              {{"retry_after_ms", std::to_string(retry_after ? retry_after->count() : -1)},
               {"in_flight_limit", std::to_string(aimd.limit())}});
  } else {
    aimd.on_success();
  }
  if (!imported.empty()) {
    if (auto written = parts.store.mark_imported(imported); !written) {
      fail("dedup store write failed: " + describe_store_error(written.error()));
      return;
    }
    // Done once the changelog has the imported entries (invariant 1 includes it).
    std::vector<Change> changes;
    for (const auto& [item, outcome] : imported_items) {
      changes.push_back({changelog_partition(*item), item->decoded.dedup_key});
    }
    log_changes(std::move(changes), [self = shared_from_this(), imported_items = std::move(imported_items)] {
      for (const auto& [item, outcome] : imported_items) self->complete(item, outcome);
    });
  }
  // Resent ahead of new work, as one batch (never more than the batch it came from).
  if (!resend.empty()) closed.push_front(std::move(resend));
  // Unanswered invoices of this batch go back together, in their order, after one delay
  // (for the most resends any of them has had).
  if (!unanswered.empty()) {
    int n = 0;
    for (const auto& item : unanswered) n = std::max(n, item->unanswered);
    const auto delay = retry::delay_for(config.backoff, n, rng);
    log::debug("invoices without an answer of their own; sending them again later",
               {{"count", std::to_string(unanswered.size())}, {"resend", std::to_string(n)},
                {"delay_ms", std::to_string(delay.count())}});
    for (const auto& item : unanswered) resend_later(item, delay);
  }
  pump();
}

}  // namespace ib::pipeline
