#pragma once

// Dataverse's service protection limits (`limits` in the config, docs/simulator.md
// "Service protection limits"): one sliding window of requests and execution time for the
// whole simulator, a concurrency limit, and the 429 + Retry-After throttle that grows while
// a throttled client keeps sending. Time comes in as an argument. Not thread-safe: the
// Router calls it under its mutex.

#include "message.hpp"
#include "sim/options.hpp"
#include "sim/simulator.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace ib::sim {

class ServiceLimits {
public:
  using Clock = std::chrono::steady_clock;

  /// `limits` is the Router's current limit set (replaced in place by set_limits, which
  /// then calls restart()).
  /// Its 429 answers are shaped by `style`.
  ServiceLimits(const LimitOptions& limits, ErrorStyle style, SimStats& stats);

  /// Before a data request is processed at `now`: a 429 answer (counted in `throttled`),
  /// or nullopt after taking a concurrency slot that release() gives back. Takes the slot
  /// also when limits are disabled.
  std::optional<Response> admit(Clock::time_point now);
  void release();

  /// After a request ran `operations` operations (a $batch: its inner requests): counts
  /// it in the window as 1 or as `operations` requests, and its execution time.
  /// The cost is added to SimStats::execution_ms also when limits are disabled.
  void charge(std::size_t operations, bool is_batch);
  /// After a CreateMultiple/UpsertMultiple that processed `records` records: counts one
  /// request and bulk_message_cost_ms + records * bulk_record_cost_ms of execution time.
  void charge_bulk(std::size_t records);
  /// The x-ms-ratelimit-* headers (and x-ms-dop-hint) of a processed answer.
  void add_headers(Response& response) const;
  /// Empties the window and ends a throttle (new limits, or reset); in-flight requests stay.
  void restart();

private:
  std::optional<Response> check(Clock::time_point now);
  void record_usage(std::uint64_t requests, double exec_ms);
  void prune(Clock::time_point now);
  // x-ms-dop-hint when configured: on processed answers and on 429s alike.
  void add_dop_hint(Response& response) const;
  Response throttle(std::string_view code, std::string message, double retry_seconds);
  // Starts a throttle until the oldest counted request leaves the window.
  Response start_throttle(Clock::time_point now, std::string code, std::string message);

  struct Usage {
    Clock::time_point t;
    std::uint64_t requests;
    double exec_ms;
  };

  const LimitOptions& limits_;
  ErrorStyle style_;
  SimStats& st_;
  std::deque<Usage> window_;
  std::uint64_t window_requests_ = 0;
  double window_exec_ms_ = 0;
  Clock::time_point throttled_until_{};
  std::string throttle_code_;
  std::string throttle_message_;
  std::uint32_t in_flight_ = 0;
};

}  // namespace ib::sim
