#pragma once

#include "kafka/producer.hpp"

#include <deque>
#include <map>
#include <mutex>
#include <vector>

namespace ib::testing {

/// In-memory kafka::Producer for unit tests of the pipeline. produce() records the message and
/// holds its callback; the test decides each outcome with complete_next() /
/// complete_all(), on the test's thread (never inside produce(), like the real one).
/// Thread-safe.
class FakeProducer final : public kafka::Producer {
public:
  using kafka::Producer::produce;
  void produce(kafka::OutgoingMessage message, kafka::DeliveryCallback on_delivery) override;
  /// True when nothing is pending (the fake never completes by itself).
  bool flush(std::chrono::milliseconds timeout) override;
  std::int64_t in_flight() const override;

  /// Completes the oldest pending message: delivered (partition 0, the next offset of its
  /// topic) when `error` is 0, otherwise failed with that librdkafka code. False if none.
  bool complete_next(int error = 0, bool retriable = false);
  /// Completes every pending message the same way; returns how many.
  std::size_t complete_all(int error = 0, bool retriable = false);

  /// Every message produced so far, in order (completed or not).
  std::vector<kafka::OutgoingMessage> produced() const;

private:
  struct Pending {
    kafka::OutgoingMessage message;
    kafka::DeliveryCallback callback;
  };
  mutable std::mutex mutex_;
  std::deque<Pending> pending_;
  std::vector<kafka::OutgoingMessage> produced_;
  std::map<std::string, std::int64_t> next_offset_;
};

}  // namespace ib::testing
