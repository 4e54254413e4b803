#pragma once

#include <chrono>
#include <mutex>

namespace ib::core {

/// Wall-clock time source, injected wherever time decides behaviour (TTL, backoff, due
/// times) so that tests control it and never sleep. Implementations are thread-safe.
class Clock {
public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

/// The real clock (std::chrono::system_clock).
class SystemClock final : public Clock {
public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

/// The process-wide real clock.
Clock& system_clock();

/// A clock that moves only when told to. For tests.
class ManualClock final : public Clock {
public:
  explicit ManualClock(TimePoint start = TimePoint{std::chrono::seconds(1'700'000'000)})
      : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void set(TimePoint t) {
    std::lock_guard lock(mutex_);
    now_ = t;
  }
  void advance(std::chrono::system_clock::duration d) {
    std::lock_guard lock(mutex_);
    now_ += d;
  }

private:
  mutable std::mutex mutex_;
  TimePoint now_;
};

}  // namespace ib::core
