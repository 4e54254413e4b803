#include "kafka/offset_tracker.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <vector>

using ib::kafka::OffsetTracker;
using ib::kafka::TopicPartition;

namespace {

const TopicPartition kP0{"invoices", 0};
const TopicPartition kP1{"invoices", 1};

struct Step {
  enum { track, done } op;
  std::int64_t offset;
  std::optional<std::int64_t> returned;     // mark_done's result (track: unused)
  std::optional<std::int64_t> committable;  // after the step
};

void run(OffsetTracker& t, const TopicPartition& tp, const std::vector<Step>& steps) {
  int i = 0;
  for (const auto& s : steps) {
    INFO("step " << i++ << " offset " << s.offset);
    if (s.op == Step::track) {
      CHECK(t.track(tp, s.offset));
    } else {
      CHECK(t.mark_done(tp, s.offset) == s.returned);
    }
    CHECK(t.committable(tp) == s.committable);
  }
}

constexpr auto kNone = std::nullopt;

}  // namespace

TEST_CASE("the watermark follows contiguous completion in any order", "[kafka][unit]") {
  OffsetTracker t;
  run(t, kP0,
      {
          {Step::track, 0, kNone, kNone},
          {Step::track, 1, kNone, kNone},
          {Step::track, 2, kNone, kNone},
          {Step::track, 3, kNone, kNone},
          {Step::done, 2, kNone, kNone},  // gap at 0 and 1
          {Step::done, 1, kNone, kNone},  // gap at 0
          {Step::done, 0, 3, 3},          // 0,1,2 done: commit 3
          {Step::done, 3, 4, 4},
          {Step::done, 3, kNone, 4},      // twice: ignored
          {Step::done, 9, kNone, 4},      // never tracked: ignored
      });
  CHECK(t.in_flight(kP0) == 0);
}

TEST_CASE("a gap in the middle holds the watermark until it is done", "[kafka][unit]") {
  OffsetTracker t;
  for (std::int64_t o = 100; o < 110; ++o) REQUIRE(t.track(kP0, o));
  for (std::int64_t o = 100; o < 110; ++o) {
    if (o != 104) t.mark_done(kP0, o);
  }
  CHECK(t.committable(kP0) == 104);
  CHECK(t.in_flight(kP0) == 6);  // 104..109 (105.. done but above the gap)
  CHECK(t.mark_done(kP0, 104) == 110);
  CHECK(t.in_flight(kP0) == 0);
}

TEST_CASE("offsets need not be contiguous (compaction, transaction markers)", "[kafka][unit]") {
  OffsetTracker t;
  run(t, kP0,
      {
          {Step::track, 5, kNone, kNone},
          {Step::track, 9, kNone, kNone},
          {Step::track, 20, kNone, kNone},
          {Step::done, 9, kNone, kNone},
          {Step::done, 5, 10, 10},
          {Step::done, 20, 21, 21},
      });
}

TEST_CASE("partitions are independent", "[kafka][unit]") {
  OffsetTracker t;
  REQUIRE(t.track(kP0, 0));
  REQUIRE(t.track(kP1, 0));
  REQUIRE(t.track(kP1, 1));
  CHECK(t.mark_done(kP1, 1) == std::nullopt);
  CHECK(t.mark_done(kP0, 0) == 1);
  CHECK(t.committable(kP1) == std::nullopt);
  CHECK(t.mark_done(kP1, 0) == 2);
  CHECK(t.in_flight() == 0);
}

TEST_CASE("revoke drops a partition's state and re-assignment starts afresh", "[kafka][unit]") {
  OffsetTracker t;
  REQUIRE(t.track(kP0, 0));
  REQUIRE(t.track(kP0, 1));
  REQUIRE(t.track(kP1, 7));
  CHECK(t.mark_done(kP0, 0) == 1);
  t.revoke(kP0);
  CHECK(t.committable(kP0) == std::nullopt);
  CHECK(t.in_flight(kP0) == 0);
  CHECK(t.in_flight(kP1) == 1);
  // In-flight work of the revoked partition finishing late changes nothing.
  CHECK(t.mark_done(kP0, 1) == std::nullopt);
  CHECK(t.committable(kP0) == std::nullopt);
  // Re-assigned: redelivery from the committed offset 1.
  REQUIRE(t.track(kP0, 1));
  REQUIRE(t.track(kP0, 2));
  CHECK(t.mark_done(kP0, 2) == std::nullopt);
  CHECK(t.mark_done(kP0, 1) == 3);
}

TEST_CASE("a redelivered offset below the watermark holds it back until done", "[kafka][unit]") {
  OffsetTracker t;
  run(t, kP0,
      {
          {Step::track, 0, kNone, kNone},
          {Step::track, 1, kNone, kNone},
          {Step::done, 0, 1, 1},
          {Step::done, 1, 2, 2},
          {Step::track, 1, kNone, 1},  // seek back: 1 is in flight again
          {Step::done, 1, 2, 2},
      });
}

TEST_CASE("memory is bounded: track refuses beyond max_in_flight per partition",
          "[kafka][unit]") {
  OffsetTracker t(3);
  CHECK(t.track(kP0, 0));
  CHECK(t.track(kP0, 1));
  CHECK(t.track(kP0, 2));
  CHECK_FALSE(t.track(kP0, 3));
  CHECK(t.track(kP0, 2));  // already in flight: fine
  CHECK(t.track(kP1, 0));  // other partitions have their own bound
  CHECK(t.mark_done(kP0, 0) == 1);
  CHECK(t.track(kP0, 3));
  CHECK(t.in_flight(kP0) == 3);
  t.clear();
  CHECK(t.in_flight() == 0);
}
