#include "batch/aimd_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace ib::batch {

std::vector<std::string> AimdConfig::validate() const {
  std::vector<std::string> problems;
  if (max_in_flight < 1) problems.push_back("max_in_flight must be at least 1");
  if (min_in_flight < 1) problems.push_back("min_in_flight must be at least 1");
  if (min_in_flight > max_in_flight) problems.push_back("min_in_flight must not exceed max_in_flight");
  if (increase_every < 1) problems.push_back("increase_every must be at least 1");
  if (!(decrease_factor > 0.0 && decrease_factor < 1.0)) {
    problems.push_back("decrease_factor must be between 0 and 1 (exclusive)");
  }
  return problems;
}

AimdLimiter::AimdLimiter(AimdConfig config)
    : config_(std::move(config)), limit_(config_.max_in_flight) {}

bool AimdLimiter::may_send(int in_flight, TimePoint now) const {
  return now >= paused_until_ && in_flight < limit_;
}

void AimdLimiter::on_success() {
  if (limit_ >= config_.max_in_flight) return;
  if (++successes_ >= config_.increase_every) {
    successes_ = 0;
    ++limit_;
  }
}

void AimdLimiter::on_throttle(TimePoint now, std::optional<std::chrono::milliseconds> retry_after) {
  ++throttle_events_;
  successes_ = 0;
  const bool already_paused = now < paused_until_;
  if (!already_paused) {
    limit_ = std::max(config_.min_in_flight,
                      static_cast<int>(std::floor(limit_ * config_.decrease_factor)));
  }
  if (retry_after && retry_after->count() > 0) paused_until_ = std::max(paused_until_, now + *retry_after);
}

}  // namespace ib::batch
