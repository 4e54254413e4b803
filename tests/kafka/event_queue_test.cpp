#include "kafka/event_queue.hpp"
#include "testing/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <thread>

using namespace ib::kafka;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

Message msg(std::string topic, std::int32_t partition, std::int64_t offset) {
  Message m;
  m.topic = std::move(topic);
  m.partition = partition;
  m.offset = offset;
  return m;
}

}  // namespace

TEST_CASE("queued events come out in order, up to max", "[kafka][unit]") {
  EventQueue q;
  q.push(msg("t", 0, 1));
  q.push(RebalanceEvent{RebalanceEvent::Kind::assigned, {{"t", 1}}});
  q.push(msg("t", 0, 2));
  const auto got = ib::testing::run_coro(
      [&](asio::io_context&) -> asio::awaitable<std::vector<ConsumerEvent>> {
        co_return co_await q.next(2, 60s);
      });
  REQUIRE(got.size() == 2);
  CHECK(std::get<Message>(got[0]).offset == 1);
  CHECK(std::holds_alternative<RebalanceEvent>(got[1]));
  CHECK(q.size() == 1);
}

TEST_CASE("an awaiting reader is woken by a push from another thread", "[kafka][unit]") {
  EventQueue q;
  std::thread pusher;
  const auto got = ib::testing::run_coro(
      [&](asio::io_context&) -> asio::awaitable<std::vector<ConsumerEvent>> {
        // Starts pushing only once the reader is about to wait.
        pusher = std::thread([&] { q.push(msg("t", 3, 9)); });
        co_return co_await q.next(10, 60s);
      },
      30s);
  pusher.join();
  // Either the push landed before the wait began or it woke the wait: one event either way.
  REQUIRE(got.size() == 1);
  CHECK(std::get<Message>(got[0]).partition == 3);
}

TEST_CASE("wake and close end a wait with nothing", "[kafka][unit]") {
  EventQueue q;
  q.wake();  // no reader yet: the next wait returns at once
  auto got = ib::testing::run_coro(
      [&](asio::io_context&) -> asio::awaitable<std::vector<ConsumerEvent>> {
        co_return co_await q.next(10, 60s);
      },
      30s);
  CHECK(got.empty());

  std::thread closer;
  got = ib::testing::run_coro(
      [&](asio::io_context&) -> asio::awaitable<std::vector<ConsumerEvent>> {
        closer = std::thread([&] { q.close(); });
        co_return co_await q.next(10, 60s);
      },
      30s);
  closer.join();
  CHECK(got.empty());
  CHECK(q.closed());
}

TEST_CASE("a zero wait on an empty queue returns nothing", "[kafka][unit]") {
  EventQueue q;
  const auto got = ib::testing::run_coro(
      [&](asio::io_context&) -> asio::awaitable<std::vector<ConsumerEvent>> {
        co_return co_await q.next(10, 0ms);
      });
  CHECK(got.empty());
}

TEST_CASE("revoked partitions' queued messages are dropped, events stay", "[kafka][unit]") {
  EventQueue q;
  q.push(msg("t", 0, 1));
  q.push(msg("t", 1, 1));
  q.push(RebalanceEvent{RebalanceEvent::Kind::revoked, {{"t", 0}}});
  q.push(msg("t", 0, 2));
  q.push(ConsumerError{1, "x", false});
  CHECK(q.drop_messages({{"t", 0}}) == 2);
  const auto left = q.take(10);
  REQUIRE(left.size() == 3);
  CHECK(std::get<Message>(left[0]).partition == 1);
  CHECK(std::holds_alternative<RebalanceEvent>(left[1]));
  CHECK(std::holds_alternative<ConsumerError>(left[2]));
}

TEST_CASE("taken_end is one past the highest offset the reader took, per partition", "[kafka][unit]") {
  EventQueue q;
  q.push(msg("t", 0, 5));
  q.push(msg("t", 1, 9));
  q.push(msg("t", 0, 7));
  CHECK(q.taken_end({"t", 0}) == 0);  // queued is not taken
  (void)q.take(2);
  CHECK(q.taken_end({"t", 0}) == 6);
  CHECK(q.taken_end({"t", 1}) == 10);
  // A dropped message was never taken: the revoke does not wait for it.
  CHECK(q.drop_messages({{"t", 0}}) == 1);
  CHECK(q.taken_end({"t", 0}) == 6);
  q.forget_taken({{"t", 0}});
  CHECK(q.taken_end({"t", 0}) == 0);
  CHECK(q.taken_end({"t", 1}) == 10);
}
