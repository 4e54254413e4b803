#include "retry/backoff.hpp"

#include <catch2/catch.hpp>


#include <string>
#include <vector>

using namespace std::chrono_literals;
using ib::retry::BackoffConfig;
using ib::retry::delay_for;
using ib::retry::Rng;

namespace {
bool mentions(const std::vector<std::string>& problems, const std::string& key) {
  for (const auto& p : problems) {
    if (p.rfind(key, 0) == 0) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("retry_backoff: without jitter the delays double from initial up to the cap") {
  BackoffConfig c;
  c.jitter = 0;
  c.max_delay = 10s;
  struct Row {
    int attempt;
    std::chrono::milliseconds expected;
  };
  const Row rows[] = {{0, 1s}, {1, 1s}, {2, 2s}, {3, 4s}, {4, 8s}, {5, 10s}, {6, 10s}, {100000, 10s}};
  Rng rng(1);
  for (const auto& row : rows) {
    INFO("attempt " << row.attempt);
    CHECK(delay_for(c, row.attempt, rng) == row.expected);
  }
}

TEST_CASE("retry_backoff: other multipliers and initial delays") {
  struct Row {
    std::chrono::milliseconds initial;
    double multiplier;
    int attempt;
    std::chrono::milliseconds expected;
  };
  const Row rows[] = {
      {100ms, 3.0, 1, 100ms}, {100ms, 3.0, 2, 300ms}, {100ms, 3.0, 3, 900ms},
      {250ms, 1.0, 5, 250ms}, {0ms, 2.0, 4, 0ms},     {500ms, 1.5, 3, 1125ms},
  };
  Rng rng(1);
  for (const auto& row : rows) {
    BackoffConfig c;
    c.jitter = 0;
    c.initial = row.initial;
    c.multiplier = row.multiplier;
    INFO("initial " << row.initial.count() << " multiplier " << row.multiplier << " attempt "
                    << row.attempt);
    CHECK(delay_for(c, row.attempt, rng) == row.expected);
  }
}

TEST_CASE("retry_backoff: jitter stays within its band and the cap, and varies") {
  BackoffConfig c;  // defaults: 1s, x2, jitter 0.2
  c.max_delay = 30s;
  Rng rng(42);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const double base = std::min(1000.0 * (1 << (attempt - 1)), 30000.0);
    std::vector<long> seen;
    for (int i = 0; i < 200; ++i) {
      const auto d = delay_for(c, attempt, rng).count();
      INFO("attempt " << attempt << " delay " << d);
      REQUIRE(d >= static_cast<long>(base * 0.8) - 1);
      REQUIRE(d <= static_cast<long>(std::min(base * 1.2, 30000.0)) + 1);
      seen.push_back(d);
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen.front() != seen.back());  // jitter actually spreads callers
  }
}

TEST_CASE("retry_backoff: the same seed gives the same delays") {
  BackoffConfig c;
  Rng a(7), b(7), other(8);
  std::vector<long> da, db, dother;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    da.push_back(delay_for(c, attempt, a).count());
    db.push_back(delay_for(c, attempt, b).count());
    dother.push_back(delay_for(c, attempt, other).count());
  }
  CHECK(da == db);
  CHECK(da != dother);
}

TEST_CASE("retry_backoff: defaults are valid and mean 1s, 2s, 4s: 4 attempts, 3 retries") {
  BackoffConfig c;
  CHECK(c.validate().empty());
  CHECK(c.initial == 1s);
  CHECK(c.max_attempts == 4);
  CHECK(c.max_delay == 60s);
  c.jitter = 0;
  Rng rng(1);
  CHECK(delay_for(c, 1, rng) == 1s);
  CHECK(delay_for(c, 2, rng) == 2s);
  CHECK(delay_for(c, 3, rng) == 4s);
  CHECK(ib::retry::may_retry(c, 3));
  CHECK_FALSE(ib::retry::may_retry(c, 4));
}

TEST_CASE("retry_backoff: validate names every bad field at once") {
  BackoffConfig c;
  c.initial = -1ms;
  c.multiplier = 0.5;
  c.jitter = 1.5;
  c.max_attempts = 0;
  const auto problems = c.validate();
  CHECK(mentions(problems, "initial:"));
  CHECK(mentions(problems, "multiplier:"));
  CHECK(mentions(problems, "jitter:"));
  CHECK(mentions(problems, "max_attempts:"));
  BackoffConfig d;
  d.max_delay = 10ms;
  CHECK(mentions(d.validate(), "max_delay:"));
}
