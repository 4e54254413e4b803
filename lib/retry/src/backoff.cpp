#include "retry/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace ib::retry {

std::vector<std::string> BackoffConfig::validate() const {
  using namespace std::chrono_literals;
  std::vector<std::string> problems;
  if (initial < 0ms) problems.push_back("initial: must not be negative");
  if (!(multiplier >= 1.0) || multiplier > 100.0) {
    problems.push_back("multiplier: must be between 1 and 100");
  }
  if (max_delay < initial) problems.push_back("max_delay: must be at least initial");
  if (!(jitter >= 0.0 && jitter <= 1.0)) problems.push_back("jitter: must be between 0 and 1");
  if (max_attempts < 1 || max_attempts > 1000) {
    problems.push_back("max_attempts: must be between 1 and 1000");
  }
  return problems;
}

std::chrono::milliseconds delay_for(const BackoffConfig& config, int attempt, Rng& rng) {
  const int n = std::max(attempt, 1);
  const double cap = static_cast<double>(config.max_delay.count());
  // Grow in floating point and clamp before converting, so large attempts never overflow.
  double base = static_cast<double>(config.initial.count()) *
                std::pow(config.multiplier, static_cast<double>(std::min(n - 1, 1000)));
  if (!std::isfinite(base) || base > cap) base = cap;
  double delay = base;
  if (config.jitter > 0.0) {
    std::uniform_real_distribution<double> dist(-config.jitter, config.jitter);
    delay = base * (1.0 + dist(rng));
  }
  delay = std::clamp(delay, 0.0, cap);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(delay)));
}

}  // namespace ib::retry
