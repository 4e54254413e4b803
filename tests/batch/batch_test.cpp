#include "batch/aimd_limiter.hpp"
#include "batch/batcher.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using ib::batch::AimdConfig;
using ib::batch::AimdLimiter;
using ib::batch::Batcher;
using ib::batch::BatcherConfig;
using Tp = std::chrono::steady_clock::time_point;

TEST_CASE("a batch closes when it reaches max_items", "[batch][unit]") {
  Batcher<int> b({.max_items = 3, .max_bytes = 1000, .linger = 50ms});
  const Tp t0{};
  CHECK_FALSE(b.add(1, 10, t0));
  CHECK_FALSE(b.add(2, 10, t0));
  const auto closed = b.add(3, 10, t0);
  REQUIRE(closed);
  CHECK(*closed == std::vector<int>{1, 2, 3});
  CHECK(b.empty());
  CHECK(b.bytes() == 0);
}

TEST_CASE("an item that would overflow max_bytes starts the next batch", "[batch][unit]") {
  Batcher<int> b({.max_items = 100, .max_bytes = 1024, .linger = 50ms});
  const Tp t0{};
  CHECK_FALSE(b.add(1, 600, t0));
  const auto closed = b.add(2, 600, t0);
  REQUIRE(closed);
  CHECK(*closed == std::vector<int>{1});
  CHECK(b.size() == 1);
  CHECK(b.bytes() == 600);
  // Exactly reaching max_bytes closes the batch with the item in it.
  const auto full = b.add(3, 424, t0);
  REQUIRE(full);
  CHECK(*full == std::vector<int>{2, 3});
}

TEST_CASE("an oversize item travels alone", "[batch][unit]") {
  Batcher<int> b({.max_items = 100, .max_bytes = 1024, .linger = 50ms});
  const Tp t0{};
  CHECK_FALSE(b.add(1, 10, t0));
  auto first = b.add(2, 5000, t0);
  REQUIRE(first);
  CHECK(*first == std::vector<int>{1});
  auto second = b.add(3, 10, t0);
  REQUIRE(second);
  CHECK(*second == std::vector<int>{2});
  CHECK(b.flush() == std::vector<int>{3});
}

TEST_CASE("the linger deadline runs from the first item of a batch", "[batch][unit]") {
  Batcher<int> b({.max_items = 100, .max_bytes = 1000, .linger = 50ms});
  const Tp t0{};
  CHECK_FALSE(b.deadline());
  b.add(1, 1, t0);
  b.add(2, 1, t0 + 30ms);
  REQUIRE(b.deadline());
  CHECK(*b.deadline() == t0 + 50ms);
  CHECK_FALSE(b.poll(t0 + 49ms));
  const auto closed = b.poll(t0 + 50ms);
  REQUIRE(closed);
  CHECK(closed->size() == 2);
  CHECK_FALSE(b.deadline());
  b.add(3, 1, t0 + 100ms);
  CHECK(*b.deadline() == t0 + 150ms);
}

TEST_CASE("batcher config validation reports every problem", "[batch][unit]") {
  BatcherConfig c{.max_items = 0, .max_bytes = 10, .linger = -1ms};
  CHECK(c.validate(1000).size() == 3);
  CHECK(BatcherConfig{.max_items = 1001}.validate(1000).size() == 1);
  CHECK(BatcherConfig{}.validate(1000).empty());
}

TEST_CASE("a throttle halves the limit and pauses for Retry-After", "[batch][aimd][unit]") {
  AimdLimiter l({.max_in_flight = 8, .min_in_flight = 1, .increase_every = 2});
  const Tp t0{};
  CHECK(l.may_send(7, t0));
  CHECK_FALSE(l.may_send(8, t0));
  l.on_throttle(t0, 3000ms);
  CHECK(l.limit() == 4);
  CHECK(l.paused_until() == t0 + 3000ms);
  CHECK_FALSE(l.may_send(0, t0 + 2999ms));
  CHECK(l.may_send(3, t0 + 3000ms));
  CHECK_FALSE(l.may_send(4, t0 + 3000ms));
}

TEST_CASE("throttles during a pause extend it without cutting the limit again",
          "[batch][aimd][unit]") {
  AimdLimiter l({.max_in_flight = 8});
  const Tp t0{};
  l.on_throttle(t0, 1000ms);
  l.on_throttle(t0 + 10ms, 5000ms);
  l.on_throttle(t0 + 20ms, 100ms);
  CHECK(l.limit() == 4);
  CHECK(l.paused_until() == t0 + 5010ms);
  CHECK(l.throttle_events() == 3);
  // A new episode after the pause cuts again, never below the minimum. Without a wait
  // (the classification always gives one to a throttled answer) it only cuts.
  l.on_throttle(t0 + 6000ms, std::nullopt);
  CHECK(l.limit() == 2);
  CHECK(l.paused_until() == t0 + 5010ms);
  CHECK(l.may_send(1, t0 + 6000ms));
  l.on_throttle(t0 + 20000ms, 1ms);
  l.on_throttle(t0 + 30000ms, 1ms);
  CHECK(l.limit() == 1);
}

TEST_CASE("successes grow the limit back one step at a time", "[batch][aimd][unit]") {
  AimdLimiter l({.max_in_flight = 4, .increase_every = 3});
  l.on_throttle(Tp{}, 1ms);
  REQUIRE(l.limit() == 2);
  for (int i = 0; i < 2; ++i) l.on_success();
  CHECK(l.limit() == 2);
  l.on_success();
  CHECK(l.limit() == 3);
  for (int i = 0; i < 30; ++i) l.on_success();
  CHECK(l.limit() == 4);  // capped at max_in_flight
}

// The default and the cap of Retry-After belong to the classification
// (tests/odata/classify_test.cpp); the limiter honours the wait it is given.
TEST_CASE("the pause is exactly the given wait, however long", "[batch][aimd][unit]") {
  AimdLimiter l({});
  l.on_throttle(Tp{}, std::chrono::milliseconds(3600000));
  CHECK(l.paused_until() == Tp{} + 3600000ms);
  l.on_throttle(Tp{} + 1ms, -5ms);  // a negative wait never shortens the pause
  CHECK(l.paused_until() == Tp{} + 3600000ms);
  CHECK(AimdConfig{.max_in_flight = 0, .increase_every = 0, .decrease_factor = 1.5}.validate().size() == 4);
}
