#include "pipeline/consumer_loop.hpp"

#include "core/log.hpp"
#include "kafka/consumer.hpp"
#include "kafka/headers.hpp"
#include "kafka/offset_tracker.hpp"

#include <deque>
#include <map>
#include <set>

namespace ib::pipeline {

namespace asio = boost::asio;

void ConsumerLoopConfig::load(config::ConfigSource& s) {
  std::uint64_t max = max_backlog, resume = resume_backlog;
  s.read("pipeline.max_backlog", max);
  s.read("pipeline.resume_backlog", resume);
  max_backlog = max;
  resume_backlog = resume;
  s.read("pipeline.drain_timeout", drain_timeout);
}

std::vector<std::string> ConsumerLoopConfig::validate() const {
  std::vector<std::string> problems;
  if (retry_topic.empty()) problems.push_back("kafka.retry_topic must not be empty");
  if (max_poll < 1) problems.push_back("pipeline.max_poll must be at least 1");
  if (poll_wait.count() < 1) problems.push_back("pipeline.poll_wait must be positive");
  if (resume_backlog >= max_backlog) {
    problems.push_back("pipeline.resume_backlog must be below pipeline.max_backlog");
  }
  if (drain_timeout.count() < 0) problems.push_back("pipeline.drain_timeout must not be negative");
  return problems;
}

namespace {

struct Held {
  InMessage message;
  std::int64_t due_ms = 0;
};

std::int64_t epoch_ms(core::Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

InMessage to_in_message(kafka::Message&& record, bool from_retry_topic) {
  InMessage in;
  static_cast<kafka::Message&>(in) = std::move(record);
  // A message from the input topic may carry an old retry history too (an operator's
  // replay of an exhausted invoice): its origin stays the first consumption's.
  if (from_retry_topic || kafka::has_retry_history(in.headers)) {
    if (auto history = kafka::decode_retry(in.headers)) {
      in.retry = std::move(*history);
    } else if (from_retry_topic) {
      log::warn("retry message without valid retry headers; treated as a first attempt",
                {{"offset", std::to_string(in.offset)}, {"error", history.error().message}});
    }
  }
  if (from_retry_topic) {
    if (in.retry) in.attempt = in.retry->attempt;
  } else {
    in.replay_count = kafka::replay_count(in.headers);  // an operator's replay from review
  }
  return in;
}

struct ConsumerLoop::Impl {
  ConsumerLoopConfig config;
  kafka::Consumer& consumer;
  Pipeline& pipeline;
  core::Clock& clock;
  PipelineMetrics* metrics;
  PartitionRestorer* restorer;
  kafka::OffsetTracker tracker;
  std::map<kafka::TopicPartition, std::deque<Held>> held;  // retry partitions paused until due
  std::size_t held_count = 0;
  bool backpressure_paused = false;
  bool stopping = false;
  std::optional<std::string> failure;
  // Input partitions being restored: the restore's number, and their messages held meanwhile.
  struct Restoring {
    std::uint64_t generation = 0;
    std::vector<InMessage> held;
  };
  std::map<kafka::TopicPartition, Restoring> restoring;
  std::uint64_t generation = 0;
  // Restore completions check it: the loop may be gone when they run.
  std::shared_ptr<Impl*> alive = std::make_shared<Impl*>(this);

  Impl(ConsumerLoopConfig c, kafka::Consumer& k, Pipeline& p, core::Clock& clk, PipelineMetrics* m,
       PartitionRestorer* r)
      : config(std::move(c)), consumer(k), pipeline(p), clock(clk), metrics(m), restorer(r),
        tracker(config.max_backlog * 4) {}

  void start_restore(const kafka::TopicPartition& tp) {
    consumer.pause({tp});
    auto& r = restoring[tp];
    r.generation = ++generation;
    r.held.clear();
    std::weak_ptr<Impl*> token = alive;
    restorer->start(tp.partition, [token, tp, gen = r.generation](std::optional<std::string> error) {
      if (auto self = token.lock()) (*self)->on_restored(tp, gen, std::move(error));
    });
  }

  void on_restored(const kafka::TopicPartition& tp, std::uint64_t gen, std::optional<std::string> error) {
    auto it = restoring.find(tp);
    if (it == restoring.end() || it->second.generation != gen || stopping) return;  // revoked meanwhile
    if (error) {
      fail("dedup changelog restore of partition " + std::to_string(tp.partition) + " failed: " + *error);
      return;
    }
    auto ready = std::move(it->second.held);
    restoring.erase(it);
    held_count -= ready.size();
    pipeline.changelog_owned(tp.partition, true);
    if (!ready.empty() && !failure) pipeline.submit(std::move(ready));
    if (!backpressure_paused && !held.count(tp)) consumer.resume({tp});
  }

  void fail(const std::string& reason) {
    if (!failure) failure = reason;
    stopping = true;
    consumer.wake();
  }

  void on_message(kafka::Message&& m, std::vector<InMessage>& ready) {
    const kafka::TopicPartition tp = m.topic_partition();
    const bool from_retry = m.topic == config.retry_topic;
    if (metrics) metrics->consumed(from_retry);
    if (!tracker.track(tp, m.offset)) {
      // Cannot happen while backpressure holds the backlog below the tracker's bound; if
      // it does, the message is not lost: seek back so it is fetched again.
      log::error("offset tracker full; re-reading the partition",
                 {{"topic", tp.topic}, {"partition", std::to_string(tp.partition)}});
      (void)consumer.seek(tp, m.offset);
      return;
    }
    auto in = to_in_message(std::move(m), from_retry);
    if (!from_retry) {
      if (auto r = restoring.find(tp); r != restoring.end()) {
        // Fetched before the pause took hold: admitted after the restore.
        r->second.held.push_back(std::move(in));
        ++held_count;
        return;
      }
      ready.push_back(std::move(in));
      return;
    }
    const std::int64_t due_ms = in.retry ? in.retry->due_ms : 0;
    // Only partitions that really hold a message get an entry (and a pause): resuming a
    // partition that was never paused makes librdkafka 2.0.2 fetch from an older position,
    // delivering messages again.
    auto it = held.find(tp);
    if (it == held.end() && due_ms <= epoch_ms(clock.now())) {
      ready.push_back(std::move(in));
      return;
    }
    if (it == held.end()) {
      consumer.pause({tp});
      it = held.emplace(tp, std::deque<Held>{}).first;
    }
    it->second.push_back({std::move(in), due_ms});
    ++held_count;
  }

  // Releases held retries whose time has come, in partition order; resumes emptied partitions.
  void release_due(std::vector<InMessage>& ready) {
    const auto now = epoch_ms(clock.now());
    for (auto it = held.begin(); it != held.end();) {
      auto& queue = it->second;
      while (!queue.empty() && queue.front().due_ms <= now) {
        ready.push_back(std::move(queue.front().message));
        queue.pop_front();
        --held_count;
      }
      if (queue.empty()) {
        if (!backpressure_paused && !restoring.count(it->first)) consumer.resume({it->first});
        it = held.erase(it);
      } else {
        ++it;
      }
    }
  }

  void on_rebalance(const kafka::RebalanceEvent& ev) {
    const char* kind = ev.kind == kafka::RebalanceEvent::Kind::assigned  ? "assigned"
                       : ev.kind == kafka::RebalanceEvent::Kind::revoked ? "revoked"
                                                                         : "lost";
    for (const auto& tp : ev.partitions) {
      log::info("partition rebalance",
                {{"event", kind}, {"topic", tp.topic}, {"partition", std::to_string(tp.partition)}});
      if (ev.kind == kafka::RebalanceEvent::Kind::assigned) {
        if (restorer != nullptr && tp.topic != config.retry_topic) {
          start_restore(tp);
        } else if (backpressure_paused) {
          consumer.pause({tp});
        }
        continue;
      }
      if (auto r = restoring.find(tp); r != restoring.end()) {
        held_count -= r->second.held.size();
        restoring.erase(r);
        restorer->cancel(tp.partition);
      }
      if (restorer != nullptr && tp.topic != config.retry_topic) pipeline.changelog_owned(tp.partition, false);
      pipeline.revoke(tp.topic, tp.partition);
      tracker.revoke(tp);
      if (metrics) metrics->forget_lag(tp.topic, tp.partition);
      if (auto it = held.find(tp); it != held.end()) {
        held_count -= it->second.size();
        held.erase(it);
      }
    }
  }

  void apply_backpressure() {
    const auto backlog = pipeline.backlog() + held_count;
    if (!backpressure_paused && backlog >= config.max_backlog) {
      backpressure_paused = true;
      consumer.pause(consumer.assignment());
      log::info("backlog full; consumption paused", {{"backlog", std::to_string(backlog)}});
    } else if (backpressure_paused && backlog <= config.resume_backlog) {
      backpressure_paused = false;
      std::vector<kafka::TopicPartition> resume;
      for (auto& tp : consumer.assignment()) {
        if (!held.count(tp) && !restoring.count(tp)) resume.push_back(tp);
      }
      consumer.resume(resume);
      log::info("backlog drained; consumption resumed", {{"backlog", std::to_string(backlog)}});
    }
  }

  void update_gauges() {
    if (!metrics) return;
    metrics->backlog(pipeline.backlog());
    metrics->retry_backlog(held_count);
    metrics->in_flight(pipeline.in_flight(), pipeline.in_flight_limit());
  }
};

ConsumerLoop::ConsumerLoop(ConsumerLoopConfig config, kafka::Consumer& consumer,
                           Pipeline& pipeline, core::Clock& clock, PipelineMetrics* metrics,
                           PartitionRestorer* restorer)
    : impl_(std::make_unique<Impl>(std::move(config), consumer, pipeline, clock, metrics, restorer)) {}

ConsumerLoop::~ConsumerLoop() = default;

asio::awaitable<std::optional<std::string>> ConsumerLoop::run() {
  auto& s = *impl_;
  std::uint64_t ticks = 0;
  while (!s.stopping) {
    auto events = co_await s.consumer.next(s.config.max_poll, s.config.poll_wait);
    std::vector<InMessage> ready;
    for (auto& event : events) {
      if (auto* m = std::get_if<kafka::Message>(&event)) {
        s.on_message(std::move(*m), ready);
      } else if (auto* r = std::get_if<kafka::RebalanceEvent>(&event)) {
        if (!ready.empty()) {
          // Messages before the rebalance go in first: the revoke must see them.
          s.pipeline.submit(std::move(ready));
          ready.clear();
        }
        s.on_rebalance(*r);
      } else if (auto* e = std::get_if<kafka::ConsumerError>(&event)) {
        if (e->fatal) {
          fail("Kafka consumer failed: " + e->message);
        } else {
          log::warn("Kafka consumer error (librdkafka recovers)", {{"error", e->message}});
        }
      }
    }
    s.release_due(ready);
    if (!ready.empty() && !s.failure) s.pipeline.submit(std::move(ready));
    s.apply_backpressure();
    s.update_gauges();
    if (s.metrics && ++ticks % 50 == 0) {
      for (const auto& l : s.consumer.lag()) {
        if (l.lag >= 0) s.metrics->lag(l.partition.topic, l.partition.partition, l.lag);
      }
    }
  }
  if (!s.failure) {
    log::info("draining in-flight work", {{"backlog", std::to_string(s.pipeline.backlog())}});
    const bool drained = co_await s.pipeline.drain(s.config.drain_timeout);
    if (!drained) {
      log::warn("drain deadline passed; unfinished messages will be delivered again",
                {{"backlog", std::to_string(s.pipeline.backlog())}});
    }
  }
  s.update_gauges();
  co_return s.failure;
}

void ConsumerLoop::stop() {
  impl_->stopping = true;
  impl_->consumer.wake();
}

void ConsumerLoop::fail(const std::string& reason) { impl_->fail(reason); }

void ConsumerLoop::on_done(const InMessage& message, core::Outcome outcome) {
  auto& s = *impl_;
  if (s.metrics) s.metrics->outcome(outcome);
  const kafka::TopicPartition tp{message.topic, message.partition};
  if (auto next = s.tracker.mark_done(tp, message.offset)) {
    if (auto stored = s.consumer.store_offset(tp, *next); !stored) {
      // The partition was revoked meanwhile: its new owner reads from the last commit.
      log::debug("offset not stored", {{"topic", tp.topic},
                                        {"partition", std::to_string(tp.partition)},
                                        {"error", stored.error().message()}});
    }
  }
}

std::size_t ConsumerLoop::held() const { return impl_->held_count; }
std::size_t ConsumerLoop::restoring() const { return impl_->restoring.size(); }

}  // namespace ib::pipeline
