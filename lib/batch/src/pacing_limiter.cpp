#include "batch/pacing_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace ib::batch {

std::vector<std::string> PacingConfig::validate() const {
  std::vector<std::string> problems;
  if (members_sharing_user < 1) problems.push_back("members_sharing_user must be at least 1");
  if (!(low_time_remaining_s >= 0)) problems.push_back("low_time_remaining must not be negative");
  if (signal_ttl.count() <= 0) problems.push_back("pacing_signal_ttl must be positive");
  return problems;
}

PacingLimiter::PacingLimiter(PacingConfig config) : config_(std::move(config)) {}

void PacingLimiter::on_answer(const PacingSignal& signal, TimePoint now) {
  answered_ = true;
  if (!signal.dop_hint && !signal.requests_remaining && !signal.time_remaining_s) return;
  last_ = signal;
  last_at_ = now;
}

std::optional<PacingSignal> PacingLimiter::signal(TimePoint now) const {
  if (!last_ || now - last_at_ >= config_.signal_ttl) return std::nullopt;
  return last_;
}

namespace {

// The share of `cap` left while `remaining` is below `low` (1 at or above it).
double share_left(double remaining, double low) {
  if (low <= 0 || remaining >= low) return 1.0;
  return std::max(0.0, remaining) / low;
}

}  // namespace

int PacingLimiter::limit(int cap, TimePoint now) const {
  cap = std::max(1, cap);
  if (!answered_ && config_.members_sharing_user > 1) return 1;
  const auto s = signal(now);
  if (!s) return cap;
  if (config_.honour_dop_hint && s->dop_hint && *s->dop_hint > 0) {
    cap = std::min(cap, std::max(1, *s->dop_hint / config_.members_sharing_user));
  }
  double share = 1.0;
  if (s->requests_remaining) {
    share = std::min(share, share_left(static_cast<double>(*s->requests_remaining),
                                       static_cast<double>(config_.low_requests_remaining)));
  }
  if (s->time_remaining_s) share = std::min(share, share_left(*s->time_remaining_s, config_.low_time_remaining_s));
  return std::max(1, static_cast<int>(std::floor(cap * share)));
}

}  // namespace ib::batch
