#include "service_limits.hpp"

#include <algorithm>
#include <cmath>

namespace ib::sim {

namespace {

ServiceLimits::Clock::duration seconds(double s) {
  return std::chrono::duration_cast<ServiceLimits::Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

ServiceLimits::ServiceLimits(const LimitOptions& limits, ErrorStyle style, SimStats& stats)
    : limits_(limits), style_(style), st_(stats) {}

void ServiceLimits::prune(Clock::time_point now) {
  const auto span = seconds(limits_.window_seconds);
  while (!window_.empty() && window_.front().t + span <= now) {
    window_requests_ -= window_.front().requests;
    window_exec_ms_ -= window_.front().exec_ms;
    window_.pop_front();
  }
  if (window_.empty()) window_exec_ms_ = 0;
}

Response ServiceLimits::throttle(std::string_view code, std::string message, double retry_seconds) {
  ++st_.throttled;
  auto r = error_response(style_, 429, code, message);
  const auto secs = std::max<long long>(1, static_cast<long long>(std::ceil(retry_seconds)));
  r.headers.emplace_back("Retry-After", std::to_string(secs));
  add_dop_hint(r);
  return r;
}

Response ServiceLimits::start_throttle(Clock::time_point now, std::string code, std::string message) {
  throttled_until_ = window_.empty() ? now + std::chrono::seconds(limits_.retry_after_seconds)
                                     : window_.front().t + seconds(limits_.window_seconds);
  throttle_code_ = std::move(code);
  throttle_message_ = std::move(message);
  return throttle(throttle_code_, throttle_message_,
                  std::chrono::duration<double>(throttled_until_ - now).count());
}

std::optional<Response> ServiceLimits::check(Clock::time_point now) {
  const auto& l = limits_;
  if (!l.enabled) return std::nullopt;
  prune(now);
  if (now < throttled_until_) {
    // Sending while throttled extends the penalty.
    throttled_until_ += std::chrono::seconds(l.retry_after_extension_seconds);
    return throttle(throttle_code_, throttle_message_,
                    std::chrono::duration<double>(throttled_until_ - now).count());
  }
  if (l.max_concurrent && in_flight_ >= l.max_concurrent)
    return throttle("0x80072326",
                    "Number of concurrent requests exceeded the limit of " +
                        std::to_string(l.max_concurrent) + ".",
                    l.retry_after_seconds);
  const auto window_text = std::to_string(static_cast<long long>(l.window_seconds));
  if (l.max_requests && window_requests_ >= l.max_requests)
    return start_throttle(now, "0x80072322",
                          "Number of requests exceeded the limit of " +
                              std::to_string(l.max_requests) + " over time window of " +
                              window_text + " seconds.");
  if (l.max_execution_ms > 0 && window_exec_ms_ >= l.max_execution_ms)
    return start_throttle(
        now, "0x80072321",
        "Combined execution time of incoming requests exceeded limit of " +
            std::to_string(static_cast<long long>(l.max_execution_ms)) +
            " milliseconds over time window of " + window_text +
            " seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.");
  return std::nullopt;
}

std::optional<Response> ServiceLimits::admit(Clock::time_point now) {
  st_.max_concurrent_requests = std::max<std::uint64_t>(st_.max_concurrent_requests, in_flight_ + 1ULL);
  if (auto r = check(now)) return r;
  ++in_flight_;
  return std::nullopt;
}

void ServiceLimits::release() {
  if (in_flight_) --in_flight_;
}

void ServiceLimits::record_usage(std::uint64_t requests, double exec_ms) {
  st_.execution_ms += exec_ms;
  if (!limits_.enabled) return;
  window_.push_back(Usage{Clock::now(), requests, exec_ms});
  window_requests_ += requests;
  window_exec_ms_ += exec_ms;
}

void ServiceLimits::charge(std::size_t operations, bool is_batch) {
  // A $batch runs its operations one by one: its cost is the sum of theirs.
  const std::uint64_t n =
      (is_batch && limits_.batch_counts_as_one) ? 1 : std::max<std::size_t>(1, operations);
  record_usage(n, static_cast<double>(std::max<std::size_t>(1, operations)) * limits_.operation_cost_ms);
}

void ServiceLimits::charge_bulk(std::size_t records) {
  record_usage(1, limits_.bulk_message_cost_ms +
                      static_cast<double>(records) * limits_.bulk_record_cost_ms);
}

void ServiceLimits::add_dop_hint(Response& r) const {
  if (limits_.enabled && limits_.dop_hint)
    r.headers.emplace_back("x-ms-dop-hint", std::to_string(limits_.dop_hint));
}

void ServiceLimits::add_headers(Response& r) const {
  if (!limits_.enabled) return;
  add_dop_hint(r);
  if (limits_.max_requests)
    r.headers.emplace_back("x-ms-ratelimit-burst-remaining-xrm-requests",
                           std::to_string(limits_.max_requests > window_requests_
                                              ? limits_.max_requests - window_requests_
                                              : 0));
  // 0 = no execution-time budget: nothing remains to report (a 0 here would read as "none
  // left" and make a pacing client slow down for a budget that does not exist).
  if (limits_.max_execution_ms > 0)
    r.headers.emplace_back(
        "x-ms-ratelimit-time-remaining-xrm-requests",
        std::to_string(std::max(0.0, limits_.max_execution_ms - window_exec_ms_) / 1000.0));
}

void ServiceLimits::restart() {
  window_.clear();
  window_requests_ = 0;
  window_exec_ms_ = 0;
  throttled_until_ = {};
}

}  // namespace ib::sim
