#include "core/clock.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("ManualClock moves only when told to", "[core][unit]") {
  ib::core::ManualClock clock;
  const auto t0 = clock.now();
  CHECK(clock.now() == t0);
  clock.advance(1500ms);
  CHECK(clock.now() - t0 == 1500ms);
  clock.set(t0);
  CHECK(clock.now() == t0);
}

TEST_CASE("the system clock is close to std::chrono::system_clock", "[core][unit]") {
  const auto a = std::chrono::system_clock::now();
  const auto b = ib::core::system_clock().now();
  CHECK(b >= a);
  CHECK(b - a < 5s);
}
