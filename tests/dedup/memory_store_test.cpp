#include "store_fixtures.hpp"

#include <catch2/catch.hpp>

using namespace ib::dedup;

TEST_CASE("the memory fake injects failures and changes nothing while failing", "[dedup][memory]") {
  ib::core::ManualClock clock;
  MemoryDedupStore store(std::chrono::hours(1), clock);
  store.fail_next(StoreErrc::no_space, 2);
  const std::vector<PendingMark> marks{{"k", "fp", 1}};
  auto first = store.mark_pending(marks);
  REQUIRE_FALSE(first);
  CHECK(first.error().code == StoreErrc::no_space);
  CHECK_FALSE(first.error().message.empty());
  auto second = store.lookup(std::vector<std::string>{"k"});
  REQUIRE_FALSE(second);
  CHECK(store.size() == 0);
  REQUIRE(store.mark_pending(marks));
  CHECK(store.size() == 1);
}

TEST_CASE("the memory fake keeps expired entries until compact", "[dedup][memory]") {
  ib::core::ManualClock clock;
  MemoryDedupStore store(std::chrono::hours(1), clock);
  REQUIRE(store.mark_imported(std::vector<ImportedMark>{{"k", "fp", "id"}}));
  clock.advance(std::chrono::hours(1));
  CHECK(store.size() == 1);
  REQUIRE(store.compact());
  CHECK(store.size() == 0);
}
