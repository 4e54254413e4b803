#pragma once

#include "kafka/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace ib::kafka {

/// The outcome of one produce: delivered (acknowledged by all in-sync replicas) or failed.
struct DeliveryReport {
  std::string topic;
  /// Partition and offset the broker assigned; -1 when not delivered.
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  /// Empty on success; otherwise a kafka/error.hpp code (e.g. message timed out, purged
  /// at shutdown, queue full, topic unknown, message too large).
  boost::system::error_code error;
  /// Whether producing the same message again may succeed (timeouts, queue full, outages).
  bool retriable = false;

  bool ok() const { return !error; }
};

/// Called exactly once per produce() with its outcome.
using DeliveryCallback = std::function<void(const DeliveryReport&)>;

/// Producer for the retry and manual-review topics: idempotent, acks=all, bounded delivery
/// time, so that a message's outcome (and with it its input offset) is never left open.
///
/// Threading: produce() and flush() are safe from any thread. produce() never blocks.
/// Callbacks run on the producer's delivery-report thread (never inside produce()); they
/// must be quick and must not throw (a throwing callback is caught and ignored).
class Producer {
public:
  virtual ~Producer() = default;

  /// Queues `message`. `on_delivery` is called exactly once: when the broker acknowledged
  /// it, when it failed for good (after librdkafka's own retries, within delivery_timeout),
  /// when librdkafka refused it at once, or when it was purged at shutdown.
  virtual void produce(OutgoingMessage message, DeliveryCallback on_delivery) = 0;

  /// produce() as a coroutine: resumes on the awaiting coroutine's executor with the report.
  /// Pass a named message (`co_await p.produce(std::move(m))`), not a braced temporary
  /// inside the co_await expression: g++ 12 destroys such aggregate temporaries wrongly.
  boost::asio::awaitable<DeliveryReport> produce(OutgoingMessage message);

  /// Waits until every queued message has its callback, up to `timeout`. True when all
  /// did. Blocking: not on the io_context thread.
  virtual bool flush(std::chrono::milliseconds timeout) = 0;

  /// Messages produced whose callback has not run yet.
  virtual std::int64_t in_flight() const = 0;
};

}  // namespace ib::kafka
