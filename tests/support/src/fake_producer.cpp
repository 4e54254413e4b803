#include "testing/fake_producer.hpp"

#include "kafka/error.hpp"

namespace ib::testing {

void FakeProducer::produce(kafka::OutgoingMessage message, kafka::DeliveryCallback on_delivery) {
  std::lock_guard lock(mutex_);
  produced_.push_back(message);
  pending_.push_back({std::move(message), std::move(on_delivery)});
}

bool FakeProducer::flush(std::chrono::milliseconds) { return in_flight() == 0; }

std::int64_t FakeProducer::in_flight() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(pending_.size());
}

bool FakeProducer::complete_next(int error, bool retriable) {
  Pending p;
  kafka::DeliveryReport report;
  {
    std::lock_guard lock(mutex_);
    if (pending_.empty()) return false;
    p = std::move(pending_.front());
    pending_.pop_front();
    report.topic = p.message.topic;
    if (error == 0) {
      report.partition = p.message.partition < 0 ? 0 : p.message.partition;
      report.offset = next_offset_[p.message.topic]++;
    } else {
      report.error = kafka::make_error_code(error);
      report.retriable = retriable;
    }
  }
  if (p.callback) p.callback(report);
  return true;
}

std::size_t FakeProducer::complete_all(int error, bool retriable) {
  std::size_t n = 0;
  while (complete_next(error, retriable)) ++n;
  return n;
}

std::vector<kafka::OutgoingMessage> FakeProducer::produced() const {
  std::lock_guard lock(mutex_);
  return produced_;
}

}  // namespace ib::testing
