#pragma once

// Injected faults (`faults` in the config, docs/simulator.md "Faults"): error statuses such
// as 503 instead of processing, connection resets, latency, applied-then-failed writes and
// slow answers, per request and per $batch operation. Each decision draws from the one
// SeededRandom only when its probability is set, so a seed and a request order give one run.
// Not thread-safe: the Router calls it under its mutex.

#include "message.hpp"
#include "sim/options.hpp"
#include "sim/simulator.hpp"

#include <optional>
#include <string_view>

namespace ib::sim {

class SeededRandom;

class FaultInjector {
public:
  /// `faults` is the Router's current fault set (replaced in place by set_faults); its
  /// error answers are shaped by `style`.
  FaultInjector(const FaultOptions& faults, ErrorStyle style, SeededRandom& random, SimStats& stats);

  // ---- per top-level request, in this order ----
  /// True: close with a TCP RST instead of processing (counted in injected_resets).
  bool reset_connection();
  /// An error status from error_statuses instead of processing (counted in injected_errors).
  std::optional<Response> request_error();
  /// How long to wait before processing, in milliseconds.
  double request_latency_ms();
  /// After processing: a successful write is answered 500, or its connection is dropped
  /// (`applied_then_failed_drop`); the write stays applied.
  void applied_then_failed(std::string_view method, Outcome& out);
  /// After processing: adds `slow_response_ms` to the wait before the answer is written.
  void slow_response(Outcome& out);

  // ---- per $batch operation ----
  /// How long this operation adds to the wait before the batch answer, in milliseconds.
  double operation_latency_ms();
  /// An error status instead of running the operation (counted in injected_errors).
  std::optional<Response> operation_error();
  /// After running: a successful write's part says 500; the write stays applied.
  void operation_applied_then_failed(std::string_view method, Response& response);

private:
  Response injected_error();

  const FaultOptions& faults_;
  ErrorStyle style_;
  SeededRandom& random_;
  SimStats& st_;
};

}  // namespace ib::sim
