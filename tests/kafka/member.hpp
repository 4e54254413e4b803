// A minimal pipeline stand-in for the integration tests: takes a consumer's events on an
// io_context, tracks offsets, marks messages done (or not) and stores the watermark.
#pragma once

#include "kafka/consumer.hpp"
#include "kafka/offset_tracker.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace ib::kafka::test {

struct Member {
  explicit Member(Consumer& consumer) : consumer(consumer) {}

  Consumer& consumer;
  OffsetTracker tracker;
  std::vector<Message> messages;
  std::vector<RebalanceEvent> rebalances;
  std::vector<ConsumerError> errors;
  std::set<TopicPartition> assigned;
  /// Which messages count as done at once (the others stay in flight).
  std::function<bool(const Message&)> done_now = [](const Message&) { return true; };
  int store_refusals = 0;

  void handle(std::vector<ConsumerEvent> events) {
    for (auto& e : events) {
      if (auto* m = std::get_if<Message>(&e)) {
        const auto tp = m->topic_partition();
        tracker.track(tp, m->offset);
        if (done_now(*m)) done(tp, m->offset);
        messages.push_back(std::move(*m));
      } else if (auto* r = std::get_if<RebalanceEvent>(&e)) {
        for (const auto& tp : r->partitions) {
          if (r->kind == RebalanceEvent::Kind::assigned) {
            assigned.insert(tp);
          } else {
            assigned.erase(tp);
            tracker.revoke(tp);
          }
        }
        rebalances.push_back(*r);
      } else {
        errors.push_back(std::get<ConsumerError>(e));
      }
    }
  }

  void done(const TopicPartition& tp, std::int64_t offset) {
    if (const auto w = tracker.mark_done(tp, offset)) {
      if (!consumer.store_offset(tp, *w)) ++store_refusals;
    }
  }

  std::size_t count_of(RebalanceEvent::Kind kind) const {
    std::size_t n = 0;
    for (const auto& r : rebalances) n += r.kind == kind ? 1 : 0;
    return n;
  }

  /// Takes events until `until()` holds or `limit` passes.
  boost::asio::awaitable<void> run(std::function<bool()> until,
                                   std::chrono::seconds limit = std::chrono::seconds(40)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!until() && std::chrono::steady_clock::now() < deadline) {
      handle(co_await consumer.next(256, std::chrono::milliseconds(200)));
    }
  }
};

}  // namespace ib::kafka::test
