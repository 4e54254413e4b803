#include "kafka/rdkafka_producer.hpp"

#include "kafka/error.hpp"
#include "rdkafka_log.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace ib::kafka {
namespace {

using Clock = std::chrono::steady_clock;

// What rides along with a message through librdkafka (as its opaque).
struct Pending {
  DeliveryCallback callback;
};

bool retriable_delivery_error(int code) {
  switch (code) {
    case RdKafka::ERR__MSG_TIMED_OUT:
    case RdKafka::ERR__QUEUE_FULL:
    case RdKafka::ERR__PURGE_QUEUE:
    case RdKafka::ERR__PURGE_INFLIGHT:
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__DESTROY:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
    case RdKafka::ERR_NETWORK_EXCEPTION:
      return true;
    default:
      return false;
  }
}

void set_property(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf.set(name, value, err) != RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("kafka producer property " + name + ": " + err);
  }
}

void invoke(const DeliveryCallback& callback, const DeliveryReport& report) noexcept {
  try {
    if (callback) callback(report);
  } catch (...) {
    // Nothing throws out of a librdkafka callback.
  }
}

}  // namespace

struct RdKafkaProducer::Impl final : RdKafka::DeliveryReportCb {
  explicit Impl(ProducerConfig c) : config(std::move(c)) {}

  ProducerConfig config;
  std::unique_ptr<RdKafka::Producer> producer;
  std::thread poll_thread;
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> in_flight{0};

  std::mutex mutex;
  std::condition_variable done_cv;  // in_flight reached 0
  std::deque<std::pair<DeliveryCallback, DeliveryReport>> refused;  // served by poll thread
  bool closed = false;

  std::mutex close_mutex;

  void finished() {
    if (in_flight.fetch_sub(1) == 1) {
      std::lock_guard lock(mutex);
      done_cv.notify_all();
    }
  }

  // Delivery-report thread (inside producer->poll()).
  void dr_cb(RdKafka::Message& m) override {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(m.msg_opaque()));
    DeliveryReport report;
    report.topic = m.topic_name();
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      report.partition = m.partition();
      report.offset = m.offset();
    } else {
      report.error = make_error_code(m.err());
      report.retriable = retriable_delivery_error(m.err());
    }
    if (pending) invoke(pending->callback, report);
    finished();
  }

  void serve_refused() {
    std::deque<std::pair<DeliveryCallback, DeliveryReport>> batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(refused);
    }
    for (const auto& [cb, report] : batch) {
      invoke(cb, report);
      finished();
    }
  }

  void poll_loop() {
    const auto timeout = static_cast<int>(config.poll_timeout.count());
    while (!stop.load()) {
      producer->poll(timeout);
      serve_refused();
    }
  }

  void refuse(std::string topic, int code, DeliveryCallback cb) {
    DeliveryReport report;
    report.topic = std::move(topic);
    report.error = make_error_code(code);
    report.retriable = retriable_delivery_error(code);
    std::lock_guard lock(mutex);
    refused.emplace_back(std::move(cb), std::move(report));
  }

  bool wait_idle(Clock::time_point deadline) {
    std::unique_lock lock(mutex);
    return done_cv.wait_until(lock, deadline, [&] { return in_flight.load() == 0; });
  }
};

RdKafkaProducer::RdKafkaProducer(ProducerConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {
  const auto& c = impl_->config;
  if (const auto problems = c.validate(); !problems.empty()) {
    std::string msg = "invalid kafka producer config:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw std::invalid_argument(msg);
  }
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  detail::route_logs(conf->c_ptr_global());
  if (!c.bootstrap_servers.empty()) set_property(*conf, "bootstrap.servers", c.bootstrap_servers);
  set_property(*conf, "enable.idempotence", "true");
  set_property(*conf, "acks", "all");
  set_property(*conf, "message.timeout.ms", std::to_string(c.delivery_timeout.count()));
  set_property(*conf, "linger.ms", std::to_string(c.linger.count()));
  set_property(*conf, "queue.buffering.max.messages", std::to_string(c.max_queued_messages));
  for (const auto& [k, v] : c.properties) set_property(*conf, k, v);
  std::string err;
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(impl_.get()), err) !=
      RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("kafka producer dr_cb: " + err);
  }
  impl_->producer.reset(RdKafka::Producer::create(conf.get(), err));
  if (!impl_->producer) throw std::runtime_error("kafka producer: " + err);
  impl_->poll_thread = std::thread([impl = impl_.get()] { impl->poll_loop(); });
}

RdKafkaProducer::~RdKafkaProducer() {
  try {
    close();
  } catch (...) {
    // Nothing throws out of a destructor.
  }
  impl_->stop = true;
  if (impl_->poll_thread.joinable()) impl_->poll_thread.join();
  // Reports that arrived after the thread's last round, and anything produced while
  // close() ran: purge it so that its callback fires too.
  impl_->serve_refused();
  if (impl_->in_flight.load() > 0) {
    impl_->producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  }
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (impl_->in_flight.load() > 0 && Clock::now() < deadline) {
    impl_->producer->poll(50);
    impl_->serve_refused();
  }
  impl_->producer.reset();
}

void RdKafkaProducer::produce(OutgoingMessage message, DeliveryCallback on_delivery) {
  impl_->in_flight.fetch_add(1);
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->closed) {
      impl_->refused.emplace_back(
          std::move(on_delivery),
          DeliveryReport{message.topic, -1, -1, make_error_code(errc::kDestroy),
                         retriable_delivery_error(errc::kDestroy)});
      return;
    }
  }
  std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
  for (const auto& [name, value] : message.headers) {
    headers->add(name, value.data(), value.size());
  }
  auto pending = std::make_unique<Pending>(Pending{std::move(on_delivery)});
  const auto code = impl_->producer->produce(
      message.topic, message.partition < 0 ? RdKafka::Topic::PARTITION_UA : message.partition,
      RdKafka::Producer::RK_MSG_COPY, message.value.data(), message.value.size(),
      message.key.empty() ? nullptr : message.key.data(), message.key.size(), 0, headers.get(),
      pending.get());
  if (code == RdKafka::ERR_NO_ERROR) {
    // librdkafka owns both now; the opaque comes back in dr_cb.
    headers.release();
    pending.release();
    return;
  }
  impl_->refuse(std::move(message.topic), code, std::move(pending->callback));
}

bool RdKafkaProducer::flush(std::chrono::milliseconds timeout) {
  return impl_->wait_idle(Clock::now() + timeout);
}

std::int64_t RdKafkaProducer::in_flight() const { return impl_->in_flight.load(); }

void RdKafkaProducer::close() {
  std::lock_guard close_lock(impl_->close_mutex);
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->closed) return;
    impl_->closed = true;
  }
  if (flush(impl_->config.close_timeout)) return;
  // What is left fails with a purge error through the delivery-report thread.
  impl_->producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT |
                         RdKafka::Producer::PURGE_NON_BLOCKING);
  flush(std::chrono::seconds(5));
}

}  // namespace ib::kafka
