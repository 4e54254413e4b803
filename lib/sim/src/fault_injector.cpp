#include "fault_injector.hpp"

#include "seeded_random.hpp"

namespace ib::sim {

namespace {

constexpr std::string_view kFaultCode = "0x80040216";

}  // namespace

FaultInjector::FaultInjector(const FaultOptions& faults, ErrorStyle style, SeededRandom& random,
                             SimStats& stats)
    : faults_(faults), style_(style), random_(random), st_(stats) {}

Response FaultInjector::injected_error() {
  ++st_.injected_errors;
  const auto& statuses = faults_.error_statuses;
  return error_response(style_, statuses[random_.index(statuses.size())], kFaultCode,
                        "Simulated fault: an unexpected error occurred.");
}

bool FaultInjector::reset_connection() {
  if (!random_.chance(faults_.reset_probability)) return false;
  ++st_.injected_resets;
  return true;
}

std::optional<Response> FaultInjector::request_error() {
  if (!random_.chance(faults_.request_error_probability)) return std::nullopt;
  return injected_error();
}

double FaultInjector::request_latency_ms() {
  return random_.latency(faults_.request_latency_ms, faults_.request_latency_jitter_ms);
}

void FaultInjector::applied_then_failed(std::string_view method, Outcome& out) {
  if (out.response.status >= 400 || method == "GET" ||
      !random_.chance(faults_.applied_then_failed_probability))
    return;
  ++st_.applied_then_failed;
  if (faults_.applied_then_failed_drop) out.drop = true;
  else out.response = error_response(style_, 500, kFaultCode, "Simulated fault: the request failed after it was applied.");
}

void FaultInjector::slow_response(Outcome& out) {
  if (!random_.chance(faults_.slow_response_probability)) return;
  ++st_.slow_responses;
  out.delay_ms += faults_.slow_response_ms;
}

double FaultInjector::operation_latency_ms() {
  return random_.latency(faults_.operation_latency_ms, faults_.operation_latency_jitter_ms);
}

std::optional<Response> FaultInjector::operation_error() {
  if (!random_.chance(faults_.operation_error_probability)) return std::nullopt;
  return injected_error();
}

void FaultInjector::operation_applied_then_failed(std::string_view method, Response& response) {
  if (response.status >= 400 || method == "GET" ||
      !random_.chance(faults_.operation_applied_then_failed_probability))
    return;
  ++st_.applied_then_failed;
  response = error_response(style_, 500, kFaultCode, "Simulated fault: the operation failed after it was applied.");
}

}  // namespace ib::sim
