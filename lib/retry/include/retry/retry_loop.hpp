#pragma once

#include "retry/backoff.hpp"
#include "retry/sleeper.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <type_traits>
#include <utility>

namespace ib::retry {

/// What a retry loop's classifier says about one attempt's result.
enum class Verdict {
  done,       ///< success or a permanent failure: return this result
  retry,      ///< transient failure: back off, then try again (counts as an attempt)
};

/// The classifier may also ask for a specific wait (e.g. a Retry-After header); nullopt
/// uses the backoff policy.
struct Decision {
  Verdict verdict = Verdict::done;
  std::optional<std::chrono::milliseconds> wait;
};

/// Runs `op()` (returns boost::asio::awaitable<T>) up to `config.max_attempts` times.
/// After each attempt `classify(const T&, int attempt)` returns a Verdict or a Decision;
/// on `retry` the loop sleeps `delay_for(config, attempt, rng)` (or the decision's wait)
/// through `sleeper` and tries again. Returns the last result: the first `done` one, or
/// the last attempt's result when attempts are used up. Bounded by max_attempts; never
/// sleeps after the last attempt. `attempts_out`, when given, receives the attempts made.
///
/// Arguments are taken by value (coroutine); `rng` and `sleeper` must outlive the call.
template <typename Op, typename Classify>
auto retry_loop(BackoffConfig config, Rng& rng, Sleeper& sleeper, Op op, Classify classify,
                int* attempts_out = nullptr)
    -> std::invoke_result_t<Op&> {
  using Awaitable = std::invoke_result_t<Op&>;
  using T = typename Awaitable::value_type;
  const int max_attempts = config.max_attempts < 1 ? 1 : config.max_attempts;
  for (int attempt = 1;; ++attempt) {
    T result = co_await op();
    Decision decision;
    if constexpr (std::is_same_v<std::invoke_result_t<Classify&, const T&, int>, Verdict>) {
      decision.verdict = classify(std::as_const(result), attempt);
    } else {
      decision = classify(std::as_const(result), attempt);
    }
    if (attempts_out) *attempts_out = attempt;
    if (decision.verdict == Verdict::done || attempt >= max_attempts) co_return result;
    co_await sleeper.sleep(decision.wait ? *decision.wait : delay_for(config, attempt, rng));
  }
}

}  // namespace ib::retry
