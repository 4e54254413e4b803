#include "batch/pacing_limiter.hpp"

#include <catch2/catch.hpp>

using namespace ib::batch;
using namespace std::chrono_literals;

namespace {

const PacingLimiter::TimePoint t0{std::chrono::seconds(1000)};

PacingSignal hint(int dop) {
  PacingSignal s;
  s.dop_hint = dop;
  return s;
}

}  // namespace

TEST_CASE("pacing: no headers leave the configured / AIMD cap alone", "[batch][unit]") {
  PacingLimiter p{PacingConfig{}};
  CHECK(p.limit(8, t0) == 8);
  p.on_answer(PacingSignal{}, t0);
  CHECK(p.limit(8, t0) == 8);
  CHECK(p.limit(3, t0) == 3);
  CHECK_FALSE(p.signal(t0));
}

TEST_CASE("pacing: the dop hint caps the limit, never raises it", "[batch][unit]") {
  PacingLimiter p{PacingConfig{}};
  p.on_answer(hint(5), t0);
  CHECK(p.limit(8, t0) == 5);
  CHECK(p.limit(3, t0) == 3);
  p.on_answer(hint(12), t0 + 1s);  // the latest hint rules
  CHECK(p.limit(8, t0 + 1s) == 8);
}

TEST_CASE("pacing: members sharing the user split the hint, at least 1 each", "[batch][unit]") {
  PacingConfig c;
  c.members_sharing_user = 3;
  PacingLimiter p{c};
  CHECK(p.limit(8, t0) == 1);  // start probe: one batch until the first answer
  p.on_answer(hint(7), t0);
  CHECK(p.limit(8, t0) == 2);  // floor(7 / 3): three members send at most 6 <= 7
  p.on_answer(hint(2), t0);
  CHECK(p.limit(8, t0) == 1);
}

TEST_CASE("pacing: a single member does not probe; an answer without headers ends the probe", "[batch][unit]") {
  PacingConfig c;
  CHECK(PacingLimiter{c}.limit(4, t0) == 4);
  c.members_sharing_user = 2;
  PacingLimiter p{c};
  CHECK(p.limit(4, t0) == 1);
  p.on_answer(PacingSignal{}, t0);  // e.g. a transport failure or a server without headers
  CHECK(p.limit(4, t0) == 4);
}

TEST_CASE("pacing: honour_dop_hint false ignores the hint", "[batch][unit]") {
  PacingConfig c;
  c.honour_dop_hint = false;
  PacingLimiter p{c};
  p.on_answer(hint(2), t0);
  CHECK(p.limit(8, t0) == 8);
}

TEST_CASE("pacing: low remaining requests cut the limit in proportion, to 1 at 0", "[batch][unit]") {
  PacingConfig c;
  c.low_requests_remaining = 100;
  PacingLimiter p{c};
  PacingSignal s;
  s.dop_hint = 10;
  s.requests_remaining = 100;
  p.on_answer(s, t0);
  CHECK(p.limit(20, t0) == 10);  // at the mark: no cut
  s.requests_remaining = 50;
  p.on_answer(s, t0);
  CHECK(p.limit(20, t0) == 5);
  s.requests_remaining = 5;
  p.on_answer(s, t0);
  CHECK(p.limit(20, t0) == 1);
  s.requests_remaining = 0;
  p.on_answer(s, t0);
  CHECK(p.limit(20, t0) == 1);  // never 0: the next answer (or the 429's Retry-After) decides
}

TEST_CASE("pacing: low remaining execution time cuts too; the lower share wins", "[batch][unit]") {
  PacingConfig c;
  c.low_requests_remaining = 100;
  c.low_time_remaining_s = 60;
  PacingLimiter p{c};
  PacingSignal s;
  s.requests_remaining = 75;  // 3/4
  s.time_remaining_s = 30.0;  // 1/2
  p.on_answer(s, t0);
  CHECK(p.limit(8, t0) == 4);
  s.time_remaining_s = 600.0;
  p.on_answer(s, t0);
  CHECK(p.limit(8, t0) == 6);
}

TEST_CASE("pacing: a low mark of 0 ignores that header", "[batch][unit]") {
  PacingConfig c;
  c.low_requests_remaining = 0;
  c.low_time_remaining_s = 0;
  PacingLimiter p{c};
  PacingSignal s;
  s.requests_remaining = 0;
  s.time_remaining_s = 0.0;
  p.on_answer(s, t0);
  CHECK(p.limit(8, t0) == 8);
}

TEST_CASE("pacing: a signal older than signal_ttl is forgotten", "[batch][unit]") {
  PacingConfig c;
  c.signal_ttl = 10s;
  PacingLimiter p{c};
  p.on_answer(hint(2), t0);
  CHECK(p.limit(8, t0 + 9s) == 2);
  REQUIRE(p.signal(t0 + 9s));
  CHECK(p.signal(t0 + 9s)->dop_hint == 2);
  CHECK(p.limit(8, t0 + 10s) == 8);
  CHECK_FALSE(p.signal(t0 + 10s));
  // An answer without headers keeps the last signal until it expires.
  p.on_answer(hint(3), t0 + 20s);
  p.on_answer(PacingSignal{}, t0 + 21s);
  CHECK(p.limit(8, t0 + 21s) == 3);
}

TEST_CASE("pacing config: every problem at once", "[batch][unit]") {
  PacingConfig c;
  CHECK(c.validate().empty());
  c.members_sharing_user = 0;
  c.low_time_remaining_s = -1;
  c.signal_ttl = 0ms;
  CHECK(c.validate().size() == 3);
}
