#pragma once

#include "batch/pacing_limiter.hpp"
#include "core/outcome.hpp"
#include "odata/batch_writer.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ib::d365 {

/// One invoice's classified answer (ARCHITECTURE.md outcome table).
struct Answer {
  core::AnswerClass outcome = core::AnswerClass::transient;
  /// HTTP status of its response part, or of the whole batch when the answer applied to
  /// every request (429, 503 without a batch body); 0 when no HTTP answer came.
  int status = 0;
  /// One line: `412 0x80040237: A record with ...`, `not processed: no response part`,
  /// `timeout: ...`.
  std::string error;
  /// The error body of its part (kept for manual review); empty for successes.
  std::string body;
  /// The created record's id (Dataverse: its GUID) when the server said.
  std::string record_id;
  /// throttled only: how long to wait before sending it again (Retry-After, defaulted and
  /// capped by the classification).
  std::optional<std::chrono::milliseconds> retry_after;
  /// Non-empty: the call failed for a reason no resend can fix, a configuration problem
  /// (D365's or its token endpoint's TLS certificate failed verification); it says what and
  /// for which host. The invoice was not sent (outcome not_processed). Whoever drives the
  /// sender stops instead of settling it: nothing is marked done, nothing goes to retry
  /// or review.
  std::string fatal;
  /// What the HTTP answer that carried this one said about pacing (`x-ms-dop-hint`,
  /// `x-ms-ratelimit-*`); all absent when no HTTP answer came or it had none of them.
  /// Senders that do not read headers leave it empty.
  batch::PacingSignal pacing;
};

/// Sends invoices to D365 and answers each one: the seam between the pipeline and D365.
/// d365::BatchClient (`$batch` over an http::Transport) is the production implementation.
class Sender {
public:
  virtual ~Sender() = default;

  /// Sends `writes` and returns exactly one Answer per write, in order. Never throws for
  /// remote failures: a call that failed as a whole answers every write (transient,
  /// throttled...; Answer::fatal set when the driver must stop). Thread: the implementation's executor; calls may overlap.
  virtual boost::asio::awaitable<std::vector<Answer>> send(std::vector<odata::EntityWrite> writes) = 0;
};

}  // namespace ib::d365
