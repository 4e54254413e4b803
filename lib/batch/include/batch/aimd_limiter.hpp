#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ib::batch {

/// How the number of batches in flight adapts to throttling.
struct AimdConfig {
  /// Batches in flight at start and at most.
  int max_in_flight = 4;
  /// Never fewer than this in flight (while not paused).
  int min_in_flight = 1;
  /// Successful batches needed to add one to the limit (additive increase).
  int increase_every = 8;
  /// The limit is multiplied by this on a throttle (multiplicative decrease), rounded down.
  double decrease_factor = 0.5;
  // No Retry-After default or cap here: the classification of the answer owns both
  // (odata::ClassifyConfig, `d365.classify.*`), so every throttled answer arrives with
  // its wait already defaulted and capped.

  std::vector<std::string> validate() const;
};

/// Additive-increase / multiplicative-decrease limit on batches in flight, plus the pause
/// that a 429's Retry-After imposes on all sending. Microsoft's service protection advice:
/// honour Retry-After and lower parallelism, then let successes bring it back.
/// Pure: the caller supplies the time. Not thread-safe.
class AimdLimiter {
public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit AimdLimiter(AimdConfig config);

  /// May one more batch start now, with `in_flight` already sent?
  bool may_send(int in_flight, TimePoint now) const;
  /// Until when sending is paused (a time in the past when not paused).
  TimePoint paused_until() const { return paused_until_; }
  int limit() const { return limit_; }

  /// A batch succeeded (no throttling in its answer).
  void on_success();
  /// The server throttled at `now`; sending pauses until `now + retry_after`. Callers pass
  /// the classified wait (d365::Answer::retry_after, already defaulted and capped by
  /// odata::classify); nullopt (or a negative wait) pauses nothing and only cuts the limit.
  /// Cuts the limit once per throttle episode: throttles arriving while already paused only
  /// extend the pause.
  void on_throttle(TimePoint now, std::optional<std::chrono::milliseconds> retry_after);

  /// Throttle events so far (one per on_throttle call).
  long throttle_events() const { return throttle_events_; }

private:
  AimdConfig config_;
  int limit_;
  int successes_ = 0;
  long throttle_events_ = 0;
  TimePoint paused_until_{};
};

}  // namespace ib::batch
