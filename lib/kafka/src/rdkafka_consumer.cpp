#include "kafka/rdkafka_consumer.hpp"

#include "kafka/error.hpp"
#include "kafka/event_queue.hpp"
#include "rdkafka_log.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

namespace ib::kafka {
namespace {

using Clock = std::chrono::steady_clock;

// A librdkafka partition list whose elements are owned here.
struct PartitionList {
  std::vector<std::unique_ptr<RdKafka::TopicPartition>> owned;
  std::vector<RdKafka::TopicPartition*> raw;

  void add(const TopicPartition& tp, std::int64_t offset = RdKafka::Topic::OFFSET_INVALID) {
    owned.emplace_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, offset));
    raw.push_back(owned.back().get());
  }
  static PartitionList of(const std::vector<TopicPartition>& tps) {
    PartitionList l;
    for (const auto& tp : tps) l.add(tp);
    return l;
  }
  static PartitionList of(const std::set<TopicPartition>& tps) {
    PartitionList l;
    for (const auto& tp : tps) l.add(tp);
    return l;
  }
};

std::vector<TopicPartition> to_partitions(const std::vector<RdKafka::TopicPartition*>& parts) {
  std::vector<TopicPartition> out;
  out.reserve(parts.size());
  for (const auto* p : parts) out.push_back({p->topic(), p->partition()});
  return out;
}

// Commit failures worth another try: coordinator moves, timeouts, a rebalance under way.
bool retriable_commit_error(RdKafka::ErrorCode err) {
  switch (err) {
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__WAIT_COORD:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
    case RdKafka::ERR_NETWORK_EXCEPTION:
    case RdKafka::ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RdKafka::ERR_COORDINATOR_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_COORDINATOR:
    case RdKafka::ERR_REBALANCE_IN_PROGRESS:
      return true;
    default:
      return false;
  }
}

Message to_message(RdKafka::Message& m) {
  Message out;
  out.topic = m.topic_name();
  out.partition = m.partition();
  out.offset = m.offset();
  if (const auto* key = m.key_pointer(); key != nullptr) {
    out.key.assign(static_cast<const char*>(key), m.key_len());
    out.has_key = true;
  }
  if (m.payload() != nullptr) out.value.assign(static_cast<const char*>(m.payload()), m.len());
  // Owned by the message: not ours to free.
  if (RdKafka::Headers* headers = m.headers(); headers != nullptr) {
    for (const auto& h : headers->get_all()) {
      std::string value;
      if (h.value() != nullptr) value.assign(static_cast<const char*>(h.value()), h.value_size());
      out.headers.emplace_back(h.key(), std::move(value));
    }
  }
  const auto ts = m.timestamp();
  out.timestamp_ms =
      ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE ? -1 : ts.timestamp;
  return out;
}

void set_property(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf.set(name, value, err) != RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("kafka consumer property " + name + ": " + err);
  }
}

}  // namespace

struct RdKafkaConsumer::Impl final : RdKafka::RebalanceCb {
  explicit Impl(ConsumerConfig c) : config(std::move(c)) {}

  ConsumerConfig config;
  EventQueue queue;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::thread poll_thread;
  std::atomic<bool> stop{false};
  std::atomic<bool> backpressure{false};
  std::atomic<bool> joined{false};

  // Guards the bookkeeping shared by the poll thread (rebalance) and the owner's calls.
  mutable std::mutex mutex;
  std::condition_variable stored_changed;  // with mutex: store_offset() moved an offset
  std::set<TopicPartition> assigned;
  std::map<TopicPartition, std::int64_t> stored;
  std::atomic<bool> closing{false};  // our own close(): its drain already settled the work

  std::mutex close_mutex;
  bool closed = false;

  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& parts) override {
    // Runs on the poll thread inside consume() (or in close()); must not throw.
    try {
      const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
      if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
        on_assign(*c, parts, cooperative);
      } else {
        on_revoke(*c, parts, cooperative);
      }
    } catch (const std::exception& e) {
      queue.push(ConsumerError{RdKafka::ERR__FAIL, std::string("rebalance: ") + e.what(), false});
    }
  }

  void on_assign(RdKafka::KafkaConsumer& c, std::vector<RdKafka::TopicPartition*>& parts,
                 bool cooperative) {
    const auto tps = to_partitions(parts);
    RdKafka::ErrorCode code = RdKafka::ERR_NO_ERROR;
    std::string what;
    if (cooperative) {
      std::unique_ptr<RdKafka::Error> e(c.incremental_assign(parts));
      if (e) {
        code = e->code();
        what = e->str();
      }
    } else {
      code = c.assign(parts);
      what = RdKafka::err2str(code);
    }
    if (code != RdKafka::ERR_NO_ERROR) {
      queue.push(ConsumerError{code, "assign failed: " + what, false});
      return;
    }
    {
      std::lock_guard lock(mutex);
      if (!cooperative) assigned.clear();
      assigned.insert(tps.begin(), tps.end());
    }
    joined = true;
    if (!tps.empty()) queue.push(RebalanceEvent{RebalanceEvent::Kind::assigned, tps});
  }

  void on_revoke(RdKafka::KafkaConsumer& c, std::vector<RdKafka::TopicPartition*>& parts,
                 bool cooperative) {
    const auto tps = to_partitions(parts);
    const bool lost = c.assignment_lost();
    std::set<TopicPartition> gone(tps.begin(), tps.end());
    // Messages the owner has not taken yet go to the new owner unprocessed.
    queue.drop_messages(gone);
    PartitionList to_commit;
    {
      std::unique_lock lock(mutex);
      if (!lost && !closing.load() && config.revoke_grace.count() > 0) {
        // What the owner has taken may become durable in a moment: wait for it (bounded),
        // so the new owner does not process it a second time.
        std::map<TopicPartition, std::int64_t> want;
        for (const auto& tp : tps) {
          if (const auto end = queue.taken_end(tp); end > 0) want[tp] = end;
        }
        const auto settled = [&] {
          for (const auto& [tp, end] : want) {
            const auto it = stored.find(tp);
            if (it == stored.end() || it->second < end) return false;
          }
          return true;
        };
        stored_changed.wait_for(lock, config.revoke_grace, settled);
      }
      // From here store_offset() refuses these partitions.
      for (const auto& tp : tps) {
        assigned.erase(tp);
        if (const auto it = stored.find(tp); it != stored.end()) {
          to_commit.add(tp, it->second);
          stored.erase(it);
        }
      }
    }
    queue.forget_taken(gone);
    if (!lost && !to_commit.raw.empty()) {
      // What is durable is committed before the partitions go to another member.
      const auto r = commit_with_retry([&] { return c.commitSync(to_commit.raw); });
      if (!r) {
        queue.push(ConsumerError{r.error().value(),
                                 "commit on revoke failed: " + r.error().message(), false});
      }
    }
    if (cooperative) {
      std::unique_ptr<RdKafka::Error> e(c.incremental_unassign(parts));
      if (e) queue.push(ConsumerError{e->code(), "unassign failed: " + e->str(), false});
    } else {
      const auto code = c.unassign();
      if (code != RdKafka::ERR_NO_ERROR) {
        queue.push(ConsumerError{code, "unassign failed: " + RdKafka::err2str(code), false});
      }
    }
    if (!tps.empty()) {
      queue.push(RebalanceEvent{
          lost ? RebalanceEvent::Kind::lost : RebalanceEvent::Kind::revoked, tps});
    }
  }

  template <typename Op>
  boost::system::result<void> commit_with_retry(Op op) {
    for (int attempt = 1;; ++attempt) {
      const auto code = op();
      if (code == RdKafka::ERR_NO_ERROR || code == RdKafka::ERR__NO_OFFSET) return {};
      if (!retriable_commit_error(code) || attempt >= config.commit_attempts) {
        return make_error_code(code);
      }
      commit_retries.fetch_add(1);
      std::this_thread::sleep_for(config.commit_backoff);
    }
  }
  std::atomic<std::uint64_t> commit_retries{0};

  // The owner's queue is full: stop taking messages from librdkafka until it has drained
  // to queue_resume_at. librdkafka keeps what it prefetched (bounded by its own
  // queued.max.messages.kbytes) and stops fetching when that is full. No pause: pausing
  // makes librdkafka 2.0.2 drop its prefetched messages, and after the resume its broker
  // thread fetches again only on its next wake-up, 0.5-1 s later: consumption came in
  // bursts with such gaps, ~3,000 messages/s instead of ~68,000 (docs/benchmarks.md).
  // The owner drains the queue all the time (ConsumerLoop takes events every turn, also
  // while it has paused partitions itself), so consume() is called again long before
  // max.poll.interval.ms.
  bool queue_full() {
    const auto size = queue.size();
    if (!backpressure.load() && size >= config.queue_capacity) {
      backpressure = true;
    } else if (backpressure.load() && size <= config.queue_resume_at) {
      backpressure = false;
    }
    return backpressure.load();
  }

  void poll_loop() {
    const auto timeout = static_cast<int>(config.poll_timeout.count());
    while (!stop.load()) {
      if (queue_full()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      std::unique_ptr<RdKafka::Message> msg(consumer->consume(timeout));
      if (!msg) continue;
      switch (msg->err()) {
        case RdKafka::ERR_NO_ERROR:
          queue.push(to_message(*msg));
          break;
        case RdKafka::ERR__TIMED_OUT:
        case RdKafka::ERR__PARTITION_EOF:
          break;
        default:
          queue.push(ConsumerError{msg->err(), msg->errstr(), msg->err() == RdKafka::ERR__FATAL});
          break;
      }
    }
  }
};

RdKafkaConsumer::RdKafkaConsumer(ConsumerConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {
  const auto& c = impl_->config;
  if (const auto problems = c.validate(); !problems.empty()) {
    std::string msg = "invalid kafka consumer config:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw std::invalid_argument(msg);
  }
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  detail::route_logs(conf->c_ptr_global());
  if (!c.bootstrap_servers.empty()) set_property(*conf, "bootstrap.servers", c.bootstrap_servers);
  set_property(*conf, "group.id", c.group_id);
  if (!c.group_instance_id.empty()) set_property(*conf, "group.instance.id", c.group_instance_id);
  set_property(*conf, "partition.assignment.strategy", c.assignment_strategy);
  set_property(*conf, "enable.auto.offset.store", "false");
  set_property(*conf, "enable.auto.commit", c.auto_commit_interval.count() > 0 ? "true" : "false");
  if (c.auto_commit_interval.count() > 0) {
    set_property(*conf, "auto.commit.interval.ms", std::to_string(c.auto_commit_interval.count()));
  }
  set_property(*conf, "auto.offset.reset", c.auto_offset_reset);
  set_property(*conf, "session.timeout.ms", std::to_string(c.session_timeout.count()));
  set_property(*conf, "max.poll.interval.ms", std::to_string(c.max_poll_interval.count()));
  set_property(*conf, "enable.partition.eof", "false");
  for (const auto& [k, v] : c.properties) set_property(*conf, k, v);
  std::string err;
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(impl_.get()), err) !=
      RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("kafka consumer rebalance_cb: " + err);
  }
  impl_->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!impl_->consumer) throw std::runtime_error("kafka consumer: " + err);
  if (const auto code = impl_->consumer->subscribe(c.topics); code != RdKafka::ERR_NO_ERROR) {
    throw std::runtime_error("kafka consumer subscribe: " + RdKafka::err2str(code));
  }
  impl_->poll_thread = std::thread([impl = impl_.get()] { impl->poll_loop(); });
}

RdKafkaConsumer::~RdKafkaConsumer() {
  try {
    close();
  } catch (...) {
    // Nothing throws out of a destructor.
  }
  // Destroy the client while the queue and mutex its callbacks use still exist.
  impl_->consumer.reset();
}

boost::asio::awaitable<std::vector<ConsumerEvent>> RdKafkaConsumer::next(
    std::size_t max, std::chrono::milliseconds max_wait) {
  return impl_->queue.next(max, max_wait);
}

std::vector<ConsumerEvent> RdKafkaConsumer::try_next(std::size_t max) {
  return impl_->queue.take(max);
}

void RdKafkaConsumer::wake() { impl_->queue.wake(); }

boost::system::result<void> RdKafkaConsumer::store_offset(const TopicPartition& tp,
                                                          std::int64_t next_offset) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->assigned.count(tp) == 0) return make_error_code(errc::kState);
  PartitionList list;
  list.add(tp, next_offset);
  if (const auto code = impl_->consumer->offsets_store(list.raw); code != RdKafka::ERR_NO_ERROR) {
    return make_error_code(code);
  }
  if (const auto code = list.raw.front()->err(); code != RdKafka::ERR_NO_ERROR) {
    return make_error_code(code);
  }
  impl_->stored[tp] = next_offset;
  impl_->stored_changed.notify_all();
  return {};
}

boost::system::result<void> RdKafkaConsumer::commit() {
  return impl_->commit_with_retry([&] { return impl_->consumer->commitSync(); });
}

boost::system::result<std::vector<PartitionOffset>> RdKafkaConsumer::committed(
    const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) {
  auto list = PartitionList::of(partitions);
  const auto code =
      impl_->consumer->committed(list.raw, static_cast<int>(timeout.count()));
  if (code != RdKafka::ERR_NO_ERROR) return make_error_code(code);
  std::vector<PartitionOffset> out;
  for (const auto* p : list.raw) {
    out.push_back({{p->topic(), p->partition()}, p->offset() < 0 ? -1 : p->offset()});
  }
  return out;
}

void RdKafkaConsumer::pause(const std::vector<TopicPartition>& partitions) {
  auto list = PartitionList::of(partitions);
  impl_->consumer->pause(list.raw);
}

void RdKafkaConsumer::resume(const std::vector<TopicPartition>& partitions) {
  auto list = PartitionList::of(partitions);
  impl_->consumer->resume(list.raw);
}

boost::system::result<void> RdKafkaConsumer::seek(const TopicPartition& tp, std::int64_t offset) {
  std::unique_ptr<RdKafka::TopicPartition> p(
      RdKafka::TopicPartition::create(tp.topic, tp.partition, offset));
  // Queued messages of tp would arrive again after the seek: drop them.
  impl_->queue.drop_messages({tp});
  if (const auto code = impl_->consumer->seek(*p, 0); code != RdKafka::ERR_NO_ERROR) {
    return make_error_code(code);
  }
  return {};
}

std::vector<TopicPartition> RdKafkaConsumer::assignment() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->assigned.begin(), impl_->assigned.end()};
}

std::vector<PartitionLag> RdKafkaConsumer::lag() const {
  const auto parts = assignment();
  auto list = PartitionList::of(parts);
  impl_->consumer->position(list.raw);
  std::vector<PartitionLag> out;
  for (const auto* p : list.raw) {
    PartitionLag l;
    l.partition = {p->topic(), p->partition()};
    l.position = p->offset() < 0 ? -1 : p->offset();
    std::int64_t low = -1;
    std::int64_t high = -1;
    if (impl_->consumer->get_watermark_offsets(p->topic(), p->partition(), &low, &high) ==
            RdKafka::ERR_NO_ERROR &&
        high >= 0) {
      l.high_watermark = high;
    }
    if (l.position >= 0 && l.high_watermark >= 0) {
      l.lag = std::max<std::int64_t>(0, l.high_watermark - l.position);
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::size_t RdKafkaConsumer::queued() const { return impl_->queue.size(); }

bool RdKafkaConsumer::joined() const { return impl_->joined.load(); }

bool RdKafkaConsumer::backpressured() const { return impl_->backpressure.load(); }

void RdKafkaConsumer::close() {
  std::lock_guard close_lock(impl_->close_mutex);
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->closing = true;
  impl_->stop = true;
  if (impl_->poll_thread.joinable()) impl_->poll_thread.join();
  const auto deadline = Clock::now() + impl_->config.close_timeout;
  if (const auto r = commit(); !r) {
    impl_->queue.push(
        ConsumerError{r.error().value(), "final commit failed: " + r.error().message(), false});
  }
  // Close through a queue so the wait is bounded; the rebalance callback (revoke) runs
  // here, on this thread, while the queue is polled.
  std::unique_ptr<RdKafka::Queue> q(RdKafka::Queue::create(impl_->consumer.get()));
  std::unique_ptr<RdKafka::Error> e(impl_->consumer->close(q.get()));
  if (e) {
    impl_->queue.push(ConsumerError{e->code(), "close: " + e->str(), false});
  } else {
    // Served with consume(), not poll(): messages still prefetched for the partitions are
    // forwarded to this queue too, and poll() (callback mode) aborts librdkafka 2.0.2 on
    // one (rd_kafka_q_serve: assert res != RD_KAFKA_OP_RES_PASS). consume() hands them
    // back (dropped here: uncommitted, they are delivered again) and runs the callbacks.
    while (!impl_->consumer->closed() && Clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> dropped(q->consume(100));
    }
  }
  impl_->queue.close();
}

std::uint64_t RdKafkaConsumer::commit_retries() const { return impl_->commit_retries.load(); }

}  // namespace ib::kafka
