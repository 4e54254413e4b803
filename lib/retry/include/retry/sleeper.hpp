#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <vector>

namespace ib::retry {

/// Waits for a duration inside a coroutine. Injected into retry loops so that unit tests
/// never sleep.
class Sleeper {
public:
  virtual ~Sleeper() = default;
  /// Completes after `delay` (at once for delay <= 0). Never throws.
  virtual boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay) = 0;
};

/// Sleeps on a steady_timer of the calling coroutine's executor.
class AsioSleeper final : public Sleeper {
public:
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay) override;
};

/// Records every requested delay and returns at once. For tests.
class RecordingSleeper final : public Sleeper {
public:
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds delay) override;
  const std::vector<std::chrono::milliseconds>& delays() const { return delays_; }

private:
  std::vector<std::chrono::milliseconds> delays_;
};

}  // namespace ib::retry
