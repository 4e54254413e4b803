#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ib::retry {

/// The random source of every backoff computation: seed it in tests for repeatable delays,
/// from std::random_device in production.
using Rng = std::mt19937_64;

/// Exponential backoff with jitter: the one retry schedule of the retry topic and of
/// `import` (config keys `retry.*`, docs/configuration.md).
///
/// Attempt n (1-based: the first retry is attempt 1) waits
///   base(n)  = min(initial * multiplier^(n-1), max_delay)
///   delay(n) = base(n) * (1 + u),  u uniform in [-jitter, +jitter]
/// then clamped to [0, max_delay]. With the defaults: ~1 s, ~2 s, ~4 s: 4 attempts, 3 retries.
struct BackoffConfig {
  /// Delay before the first retry.
  std::chrono::milliseconds initial{1000};
  /// Growth factor from one attempt to the next (>= 1).
  double multiplier = 2.0;
  /// Upper bound of any single delay, jitter included.
  std::chrono::milliseconds max_delay{60'000};
  /// Fraction of each delay drawn at random either way, in [0, 1]; 0 disables jitter.
  double jitter = 0.2;
  /// Total attempts including the first one (1 = never retry).
  int max_attempts = 4;

  /// Every problem, each naming its field (`initial: ...`; the owner prefixes its section,
/// `retry.`); empty when valid.
  std::vector<std::string> validate() const;
};

/// The delay before retry number `attempt` (1-based). Pure apart from the draws from `rng`.
/// `attempt` < 1 is treated as 1. Never throws.
std::chrono::milliseconds delay_for(const BackoffConfig& config, int attempt, Rng& rng);

/// Whether another attempt is allowed after `attempts_made` attempts.
inline bool may_retry(const BackoffConfig& config, int attempts_made) {
  return attempts_made < config.max_attempts;
}

}  // namespace ib::retry
