#pragma once

#include <boost/asio/basic_waitable_timer.hpp>

#include <atomic>
#include <chrono>

// The monotonic time the pipeline's stages read and wait on (batch linger, the AIMD pause,
// resend delays, drain limits). It is std::chrono::steady_clock plus an offset that only
// tests move (advance()), so that a test of a 60 s backoff or a 30 s Retry-After runs in
// microseconds and asserts what happens before and after the wait. Production never calls
// advance(): the offset stays 0 and timers wait exactly as steady_timer does.
namespace ib::core {

struct SteadyTime {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<SteadyTime, duration>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    return time_point(std::chrono::steady_clock::now().time_since_epoch() + duration(offset().load()));
  }

  /// Tests only, before any timer is armed: from now on timers re-check the time every
  /// millisecond, so that a later advance() is seen (a wait computed for the real clock
  /// would otherwise oversleep it).
  static void allow_advance() noexcept { skewed().store(true); }
  /// Moves this clock forward by `d` (tests only; allow_advance() first). Timers waiting
  /// on it fire once due.
  static void advance(duration d) noexcept {
    skewed().store(true);
    offset().fetch_add(d.count());
  }
  /// Whether allow_advance() or advance() was called.
  static bool is_skewed() noexcept { return skewed().load(); }

private:
  static std::atomic<rep>& offset() noexcept {
    static std::atomic<rep> value{0};
    return value;
  }
  static std::atomic<bool>& skewed() noexcept {
    static std::atomic<bool> value{false};
    return value;
  }
};

/// Asio's wait traits for SteadyTime: real waits, or 1 ms re-checks once a test moved time.
struct SteadyTimeWaitTraits {
  static SteadyTime::duration to_wait_duration(const SteadyTime::duration& d) {
    if (SteadyTime::is_skewed() && d > std::chrono::milliseconds(1)) return std::chrono::milliseconds(1);
    return d;
  }
  static SteadyTime::duration to_wait_duration(const SteadyTime::time_point& t) {
    return to_wait_duration(t - SteadyTime::now());
  }
};

/// A timer on SteadyTime.
using SteadyTimer = boost::asio::basic_waitable_timer<SteadyTime, SteadyTimeWaitTraits>;

}  // namespace ib::core
