#include "pipeline/pipeline.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <random>
#include <set>
#include <unordered_map>

namespace ib::pipeline {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

std::vector<std::string> PipelineConfig::validate() const {
  std::vector<std::string> problems = batch.validate();
  for (auto& p : aimd.validate()) problems.push_back("send." + p);
  for (auto& p : backoff.validate()) problems.push_back("retry." + p);
  return problems;
}

namespace {

// One message on its way through the pipeline.
struct Item {
  InMessage msg;
  Decoded decoded;
  bool sent_before = false;
  bool revoked = false;
  // The message, or a copy collapsed onto it before admission, is an operator's replay.
  bool replayed = false;
  // Later copies with the same key and content, completed as duplicates with this one.
  std::vector<std::shared_ptr<Item>> followers;
};
using ItemPtr = std::shared_ptr<Item>;

}  // namespace

struct Pipeline::Impl : std::enable_shared_from_this<Impl> {
  asio::any_io_executor executor;
  PipelineConfig config;
  InvoiceCodec& codec;
  StorePort& store;
  SendPort& sender;
  PublishPort& publisher;
  core::Clock& clock;
  PipelineEvents events;
  retry::Rng rng;

  batch::Batcher<ItemPtr> batcher;
  batch::AimdLimiter aimd;
  std::deque<std::vector<ItemPtr>> closed;  // batches waiting for an in-flight slot
  asio::steady_timer linger_timer;
  asio::steady_timer pause_timer;
  asio::steady_timer idle_timer;  // wakes drain() when work completes
  bool linger_armed = false;
  bool pause_armed = false;
  int in_flight = 0;
  std::size_t backlog = 0;  // submitted, not yet done (followers included)
  bool failed = false;
  // Keys queued or in flight, to collapse later copies onto the first.
  std::unordered_map<std::string, ItemPtr> active;
  // Retry-topic messages whose key was active when they arrived, admitted once it is not.
  // A retry message can arrive before its own parent's produce is acknowledged (the
  // parent is still active then): collapsing it onto the parent would finish it with the
  // parent's outcome and lose the retry.
  std::unordered_map<std::string, std::vector<ItemPtr>> parked;

  Impl(asio::any_io_executor ex, PipelineConfig cfg, InvoiceCodec& c, StorePort& s, SendPort& snd,
       PublishPort& p, core::Clock& clk, PipelineEvents ev, std::optional<std::uint64_t> seed)
      : executor(ex), config(std::move(cfg)), codec(c), store(s), sender(snd), publisher(p),
        clock(clk), events(std::move(ev)), rng(seed.value_or(std::random_device{}())),
        batcher(config.batch), aimd(config.aimd), linger_timer(ex), pause_timer(ex),
        idle_timer(ex) {}

  void fail(const std::string& reason) {
    if (failed) return;
    failed = true;
    log::error("pipeline stopped", {{"reason", reason}});
    linger_timer.cancel();
    pause_timer.cancel();
    idle_timer.cancel();
    if (events.fatal) events.fatal(reason);
  }

  void finish(const InMessage& msg, Outcome outcome, bool revoked) {
    --backlog;
    if (!revoked && !failed && events.done) events.done(msg, outcome);
    if (backlog == 0) idle_timer.cancel();
  }

  // The item's own outcome, then its followers as upstream duplicates.
  void complete(const ItemPtr& item, Outcome outcome) {
    release(item);
    finish(item->msg, outcome, item->revoked);
    if (!item->followers.empty()) {
      std::vector<std::string> keys(item->followers.size(), item->decoded.dedup_key);
      store.record_duplicates(keys);
      for (const auto& f : item->followers) finish(f->msg, Outcome::duplicate, f->revoked);
    }
  }

  // The item no longer holds its key: messages parked behind it are admitted (later, so
  // that callers iterating over items are not re-entered).
  void release(const ItemPtr& item) {
    const auto& key = item->decoded.dedup_key;
    if (auto it = active.find(key); it != active.end() && it->second == item) active.erase(it);
    if (active.count(key) != 0) return;
    auto p = parked.find(key);
    if (p == parked.end()) return;
    auto items = std::move(p->second);
    parked.erase(p);
    admit_later(std::move(items));
  }

  // Admits decoded items on the executor's next turn, not re-entering the caller.
  void admit_later(std::vector<ItemPtr> items) {
    asio::post(executor, [self = shared_from_this(), items = std::move(items)]() mutable {
      if (!self->failed) self->admit_items(std::move(items));
    });
  }

  std::chrono::milliseconds retry_delay(int attempt) {
    return retry::delay_for(config.backoff, attempt, rng);
  }

  // Sends `msg` to the retry or review topic; done once acknowledged.
  void publish(InMessage msg, std::variant<RetryRecord, ReviewRecord> record, Outcome outcome,
               std::function<void()> on_acked) {
    auto self = shared_from_this();
    asio::co_spawn(executor, publish_one(self, std::move(msg), std::move(record)),
                   [self, outcome, on_acked = std::move(on_acked)](
                       std::exception_ptr e, std::optional<std::string> error) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                         error = std::string("publish threw: ") + ex.what();
                       }
                     }
                     if (error) {
                       self->fail("cannot produce to the " +
                                  std::string(outcome == Outcome::retried ? "retry" : "review") +
                                  " topic: " + *error);
                       return;
                     }
                     if (!self->failed) on_acked();
                   });
  }

  // A coroutine with its inputs by value: nothing it uses dies before it runs.
  static asio::awaitable<std::optional<std::string>> publish_one(
      std::shared_ptr<Impl> self, InMessage msg, std::variant<RetryRecord, ReviewRecord> record) {
    if (auto* r = std::get_if<RetryRecord>(&record)) {
      co_return co_await self->publisher.to_retry(std::move(msg), std::move(*r));
    }
    co_return co_await self->publisher.to_review(std::move(msg),
                                                 std::move(std::get<ReviewRecord>(record)));
  }

  void review_message(InMessage msg, ReviewRecord record, Outcome outcome,
                      const ItemPtr& item = nullptr) {
    auto self = shared_from_this();
    const bool revoked = item && item->revoked;
    InMessage copy = msg;
    publish(std::move(msg), std::move(record), outcome, [self, copy, outcome, item, revoked] {
      if (item) {
        self->complete(item, outcome);
      } else {
        self->finish(copy, outcome, revoked);
      }
    });
  }

  void submit(std::vector<InMessage> messages) {
    if (failed) return;
    backlog += messages.size();
    std::vector<ItemPtr> decoded;
    decoded.reserve(messages.size());
    for (auto& m : messages) {
      auto result = codec.decode(m);
      if (auto* reason = std::get_if<std::string>(&result)) {
        log::warn("invalid invoice sent to review",
                  {{"topic", m.topic}, {"offset", std::to_string(m.offset)}, {"reason", *reason}});
        ReviewRecord record{ReviewReason::invalid, 0, *reason, {}, m.attempt};
        review_message(std::move(m), std::move(record), Outcome::invalid);
        continue;
      }
      auto item = std::make_shared<Item>();
      item->replayed = m.replay_count > 0;
      item->msg = std::move(m);
      item->decoded = std::move(std::get<Decoded>(result));
      decoded.push_back(std::move(item));
    }
    admit_items(std::move(decoded));
  }

  // Decoded items (counted in the backlog) from collapse to the batcher.
  void admit_items(std::vector<ItemPtr> decoded) {
    // Collapse copies of a key already active (queued or in flight) or earlier in this group.
    std::vector<ItemPtr> leaders;
    for (auto& item : decoded) {
      if (item->revoked) {  // parked while its partition was revoked: not ours any more
        if (--backlog == 0) idle_timer.cancel();
        continue;
      }
      const auto& key = item->decoded.dedup_key;
      auto it = active.find(key);
      if (it == active.end()) {
        active.emplace(key, item);
        leaders.push_back(item);
        continue;
      }
      if (item->msg.attempt > 0) {
        parked[key].push_back(std::move(item));
        continue;
      }
      const auto& leader = it->second;
      if (leader->decoded.fingerprint == item->decoded.fingerprint) {
        // A replay must not vanish behind an upstream copy admitted in this same group
        // (a leader from an earlier group is already being sent).
        leader->replayed = leader->replayed || item->replayed;
        leader->followers.push_back(std::move(item));
      } else {
        log::warn("conflicting copy sent to review", {{"dedup_key", key}});
        ReviewRecord record{ReviewReason::conflict, 0,
                            "same key as an invoice in flight, different content",
                            leader->msg.value, item->msg.attempt};
        review_message(std::move(item->msg), std::move(record), Outcome::conflict);
      }
    }
    if (leaders.empty()) return;

    std::vector<std::string> keys;
    keys.reserve(leaders.size());
    for (const auto& l : leaders) keys.push_back(l->decoded.dedup_key);
    auto found = store.lookup(keys);
    if (auto* error = std::get_if<std::string>(&found)) {
      fail("dedup store lookup failed: " + *error);
      return;
    }
    const auto& entries = std::get<std::vector<StoreEntry>>(found);

    std::vector<StorePort::Pending> pending;
    std::vector<ItemPtr> to_send;
    std::vector<std::string> dup_keys;
    for (std::size_t i = 0; i < leaders.size(); ++i) {
      const auto& item = leaders[i];
      const auto& entry = entries.at(i);
      switch (admit(entry.state, entry.fingerprint, item->decoded.fingerprint, item->replayed)) {
        case Admission::send:
        case Admission::resend:
          item->sent_before = entry.state == StoreState::pending;
          pending.push_back({item->decoded.dedup_key, item->decoded.fingerprint, item->msg.attempt});
          to_send.push_back(item);
          break;
        case Admission::duplicate:
          dup_keys.push_back(item->decoded.dedup_key);
          complete(item, Outcome::duplicate);
          break;
        case Admission::conflict: {
          const bool imported = entry.state == StoreState::imported;
          const std::string why = imported ? "differs from the invoice already imported with this key"
                                           : "differs from the version of this invoice still being sent";
          const std::string versions = (imported ? "imported fingerprint " : "pending fingerprint ") +
                                       entry.fingerprint + ", this fingerprint " + item->decoded.fingerprint;
          log::warn("invoice differs from the stored version; sent to review",
                    {{"dedup_key", item->decoded.dedup_key},
                     {"stored_state", imported ? "imported" : "pending"}});
          release(item);
          // Followers of a conflicting leader are copies of the same conflicting content.
          auto followers = std::move(item->followers);
          item->followers.clear();
          review_message(item->msg, ReviewRecord{ReviewReason::conflict, 0, why, versions, item->msg.attempt},
                         Outcome::conflict);
          for (auto& f : followers) {
            review_message(std::move(f->msg), ReviewRecord{ReviewReason::conflict, 0, why, versions, 0},
                           Outcome::conflict);
          }
        }
          break;
      }
    }
    if (!dup_keys.empty()) store.record_duplicates(dup_keys);
    if (!pending.empty()) {
      if (auto error = store.mark_pending(pending)) {
        fail("dedup store write failed: " + *error);
        return;
      }
    }
    for (auto& item : to_send) enqueue(item);
    pump();
  }

  void enqueue(const ItemPtr& item) {
    const auto bytes = item->decoded.bytes;
    if (auto batch = batcher.add(item, bytes, SteadyClock::now())) closed.push_back(std::move(*batch));
    arm_linger();
  }

  void arm_linger() {
    const auto deadline = batcher.deadline();
    if (!deadline || linger_armed) return;
    linger_armed = true;
    linger_timer.expires_at(*deadline);
    linger_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->linger_armed = false;
      if (ec || self->failed) return;
      if (auto batch = self->batcher.poll(SteadyClock::now())) {
        self->closed.push_back(std::move(*batch));
      }
      self->arm_linger();
      self->pump();
    });
  }

  void pump() {
    if (failed) return;
    while (!closed.empty()) {
      const auto now = SteadyClock::now();
      if (!aimd.may_send(in_flight, now)) {
        if (now < aimd.paused_until() && !pause_armed) {
          pause_armed = true;
          pause_timer.expires_at(aimd.paused_until());
          pause_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            self->pause_armed = false;
            if (!ec) self->pump();
          });
        }
        return;
      }
      auto batch = std::move(closed.front());
      closed.pop_front();
      // Revoked items are dropped here: not sent, not reported. Their followers from
      // partitions still ours take their place (copies may come from other partitions).
      std::vector<ItemPtr> orphans;
      std::erase_if(batch, [this, &orphans](const ItemPtr& i) {
        if (!i->revoked) return false;
        release(i);
        --backlog;
        for (auto& f : i->followers) {
          if (f->revoked) {
            --backlog;
          } else {
            orphans.push_back(std::move(f));
          }
        }
        i->followers.clear();
        return true;
      });
      if (!orphans.empty()) admit_later(std::move(orphans));
      if (backlog == 0) idle_timer.cancel();
      if (batch.empty()) continue;
      ++in_flight;
      auto self = shared_from_this();
      asio::co_spawn(executor, send_batch(self, std::move(batch)), [self](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          self->fail(std::string("batch send threw: ") + ex.what());
        }
      });
    }
  }

  static asio::awaitable<void> send_batch(std::shared_ptr<Impl> self, std::vector<ItemPtr> batch) {
    std::vector<std::shared_ptr<const void>> invoices;
    invoices.reserve(batch.size());
    for (const auto& i : batch) invoices.push_back(i->decoded.invoice);
    const auto started = SteadyClock::now();
    auto answers = co_await self->sender.send(std::move(invoices));
    --self->in_flight;
    if (self->failed) co_return;
    if (answers.size() != batch.size()) {
      // A sender bug must not lose invoices: treat every invoice as not answered.
      log::error("sender returned the wrong number of answers",
                 {{"expected", std::to_string(batch.size())},
                  {"got", std::to_string(answers.size())}});
      SendAnswer missing;
      missing.result = SendResult::transient;
      missing.error = "no answer from sender";
      answers.assign(batch.size(), missing);
    }
    if (self->events.batch_answered) {
      self->events.batch_answered(batch.size(), SteadyClock::now() - started, answers);
    }
    self->route_answers(batch, answers);
  }

  void route_answers(const std::vector<ItemPtr>& batch, const std::vector<SendAnswer>& answers) {
    std::optional<std::chrono::milliseconds> retry_after;
    bool throttled = false;
    std::vector<StorePort::Imported> imported;
    std::vector<std::pair<ItemPtr, Outcome>> imported_items;
    std::vector<ItemPtr> resend;
    const auto now = SteadyClock::now();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& item = batch[i];
      const auto& answer = answers[i];
      const auto r = route(answer.result, item->msg.attempt, config.max_retries(), item->sent_before);
      const auto& key = item->decoded.dedup_key;
      switch (r.action) {
        case Route::Action::mark_imported:
          imported.push_back({key, item->decoded.fingerprint, answer.record_id});
          imported_items.emplace_back(item, r.outcome);
          break;
        case Route::Action::resend:
          if (answer.result == SendResult::throttled) {
            throttled = true;
            if (answer.retry_after) retry_after = std::max(retry_after.value_or(*answer.retry_after), *answer.retry_after);
          }
          resend.push_back(item);
          break;
        case Route::Action::retry_topic: {
          const auto delay = retry_delay(r.next_attempt);
          log::info("transient failure; to the retry topic",
                    {{"dedup_key", key}, {"status", std::to_string(answer.status)},
                     {"attempt", std::to_string(r.next_attempt)}, {"error", answer.error}});
          publish(item->msg,
                  RetryRecord{r.next_attempt, clock.now() + delay, answer.status, answer.error},
                  Outcome::retried, [self = shared_from_this(), item] {
                    self->complete(item, Outcome::retried);
                  });
          break;
        }
        case Route::Action::review_topic:
          log::warn("invoice sent to manual review",
                    {{"dedup_key", key}, {"reason", std::string(to_string(r.reason))},
                     {"status", std::to_string(answer.status)}, {"error", answer.error}});
          review_message(item->msg,
                         ReviewRecord{r.reason, answer.status, answer.error, answer.body,
                                      item->msg.attempt + 1},
                         r.outcome, item);
          break;
      }
    }
    if (throttled) {
      aimd.on_throttle(now, retry_after);
      log::warn("throttled by D365",
                {{"retry_after_ms", std::to_string(retry_after ? retry_after->count() : -1)},
                 {"in_flight_limit", std::to_string(aimd.limit())}});
    } else {
      aimd.on_success();
    }
    if (!imported.empty()) {
      if (auto error = store.mark_imported(imported)) {
        fail("dedup store write failed: " + *error);
        return;
      }
      for (const auto& [item, outcome] : imported_items) complete(item, outcome);
    }
    // Resent ahead of new work, as one batch (never more than the batch it came from).
    if (!resend.empty()) closed.push_front(std::move(resend));
    pump();
  }

  void revoke(const std::string& topic, std::int32_t partition) {
    auto mark = [&](const ItemPtr& i) {
      if (i->msg.topic == topic && i->msg.partition == partition) i->revoked = true;
      for (const auto& f : i->followers) {
        if (f->msg.topic == topic && f->msg.partition == partition) f->revoked = true;
      }
    };
    for (auto& [key, item] : active) mark(item);
    for (auto& [key, items] : parked) {
      for (auto& item : items) mark(item);
    }
  }
};

Pipeline::Pipeline(asio::any_io_executor executor, PipelineConfig config, InvoiceCodec& codec,
                   StorePort& store, SendPort& sender, PublishPort& publisher, core::Clock& clock,
                   PipelineEvents events, std::optional<std::uint64_t> seed)
    : impl_(std::make_shared<Impl>(executor, std::move(config), codec, store, sender, publisher,
                                   clock, std::move(events), seed)) {}

Pipeline::~Pipeline() {
  impl_->failed = true;  // no more callbacks into a driver that is going away
  impl_->linger_timer.cancel();
  impl_->pause_timer.cancel();
  impl_->idle_timer.cancel();
}

void Pipeline::submit(std::vector<InMessage> messages) { impl_->submit(std::move(messages)); }
void Pipeline::revoke(const std::string& topic, std::int32_t partition) {
  impl_->revoke(topic, partition);
}
std::size_t Pipeline::backlog() const { return impl_->backlog; }
int Pipeline::in_flight() const { return impl_->in_flight; }
int Pipeline::in_flight_limit() const { return impl_->aimd.limit(); }
bool Pipeline::failed() const { return impl_->failed; }
std::chrono::milliseconds Pipeline::retry_delay(int attempt) { return impl_->retry_delay(attempt); }

asio::awaitable<bool> Pipeline::drain(std::chrono::milliseconds limit) {
  auto self = impl_;
  if (!self->batcher.empty()) {
    self->closed.push_back(self->batcher.flush());
  }
  self->pump();
  const auto deadline = SteadyClock::now() + limit;
  while (self->backlog > 0 && !self->failed && SteadyClock::now() < deadline) {
    self->idle_timer.expires_at(std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(50)));
    co_await self->idle_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!self->batcher.empty()) self->closed.push_back(self->batcher.flush());
    self->pump();
  }
  co_return self->backlog == 0 && !self->failed;
}

}  // namespace ib::pipeline
