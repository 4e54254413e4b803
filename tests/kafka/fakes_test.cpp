#include "kafka/error.hpp"
#include "kafka/offset_tracker.hpp"
#include "testing/fake_consumer.hpp"
#include "testing/fake_producer.hpp"
#include "testing/run_coro.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

using namespace ib::kafka;
using ib::testing::FakeConsumer;
using ib::testing::FakeProducer;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

Message msg(std::int32_t partition, std::int64_t offset) {
  Message m;
  m.topic = "invoices";
  m.partition = partition;
  m.offset = offset;
  return m;
}

}  // namespace

TEST_CASE("the fake consumer scripts a rebalance like the real one", "[kafka][unit]") {
  FakeConsumer c;
  const TopicPartition p0{"invoices", 0};
  const TopicPartition p1{"invoices", 1};
  c.assign({p0, p1});
  c.deliver(msg(0, 0));
  c.deliver(msg(1, 0));
  auto events = c.try_next(10);
  REQUIRE(events.size() == 3);
  CHECK(std::get<RebalanceEvent>(events[0]).partitions.size() == 2);

  REQUIRE(c.store_offset(p0, 1).has_value());
  c.deliver(msg(0, 1));
  c.revoke({p0});
  // Revoke committed what was stored, dropped the queued message and refuses new stores.
  CHECK(c.committed_offsets().at(p0) == 1);
  events = c.try_next(10);
  REQUIRE(events.size() == 1);
  CHECK(std::get<RebalanceEvent>(events[0]).kind == RebalanceEvent::Kind::revoked);
  const auto refused = c.store_offset(p0, 2);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error() == make_error_code(errc::kState));

  c.fail_commits(1, 27);
  REQUIRE(c.store_offset(p1, 1).has_value());
  CHECK_FALSE(c.commit().has_value());
  CHECK(c.commit().has_value());
  CHECK(c.committed({p1}, 1s)->front().offset == 1);
  c.close();
  CHECK(c.is_closed());
  const auto after = ib::testing::run_coro(
      [&](asio::io_context&) -> asio::awaitable<std::vector<ConsumerEvent>> {
        co_return co_await c.next(10, 60s);
      },
      30s);
  CHECK(after.empty());
}

TEST_CASE("the fake producer completes awaited produces when the test says so", "[kafka][unit]") {
  FakeProducer p;
  using namespace asio::experimental::awaitable_operators;
  const auto reports = ib::testing::run_coro(
      [&](asio::io_context& ctx) -> asio::awaitable<std::vector<DeliveryReport>> {
        auto produce_two = [&]() -> asio::awaitable<std::vector<DeliveryReport>> {
          std::vector<DeliveryReport> out;
          // Named, not temporaries: g++ 12 mishandles aggregate temporaries inside co_await.
          OutgoingMessage first{"retry", "k", "v1", {}, -1};
          out.push_back(co_await p.produce(std::move(first)));
          OutgoingMessage second{"retry", "k", "v2", {}, -1};
          out.push_back(co_await p.produce(std::move(second)));
          co_return out;
        };
        auto broker = [&]() -> asio::awaitable<void> {
          for (int done = 0; done < 2;) {
            co_await asio::post(ctx, asio::use_awaitable);
            if (p.in_flight() == 0) continue;
            CHECK(p.complete_next(done == 0 ? 0 : errc::kMsgTimedOut, true));
            ++done;
          }
        };
        co_return co_await (produce_two() && broker());
      },
      30s);
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].ok());
  CHECK(reports[0].offset == 0);
  CHECK_FALSE(reports[1].ok());
  CHECK(reports[1].retriable);
  CHECK(p.produced().size() == 2);
  CHECK(p.flush(0ms));
}
