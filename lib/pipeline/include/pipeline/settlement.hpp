#pragma once

#include "core/outcome.hpp"
#include "kafka/message.hpp"
#include "pipeline/message.hpp"

#include <chrono>
#include <string>
#include <string_view>

// Settlement: where an invoice goes once D365 (or admission) has decided, written once.
// The Pipeline applies these rules; they are pure and table-tested.
namespace ib::pipeline {

/// Where an invoice goes after its answer.
struct Route {
  enum class Action {
    mark_imported,  ///< write "imported" to the store; outcome imported/duplicate/recovered
    resend,         ///< send again in this process, not an attempt (throttled, not processed)
    retry_topic,    ///< produce to the retry topic with `next_attempt` due after a backoff
    review_topic,   ///< produce to the manual-review topic with `reason`
  };
  Action action;
  core::Outcome outcome;
  int next_attempt = 0;                                ///< retry_topic only
  core::ReviewReason reason = core::ReviewReason::rejected;  ///< review_topic only
};

/// The outcome table (ARCHITECTURE.md). `attempt` counts deliveries so far starting at 0
/// for the first (the retry header's value); `max_retries` is how many times a transient
/// failure is retried through the retry topic before manual review; `sent_before` is true
/// when the store had the key pending (or this process sent it earlier) — it turns a
/// duplicate answer into "recovered".
Route route(core::AnswerClass answer, int attempt, int max_retries, bool sent_before);

/// What a retry-topic message says about the attempt that failed.
struct RetryRecord {
  int next_attempt = 0;
  std::chrono::system_clock::time_point due;
  int last_status = 0;
  std::string last_error;
};

/// What a manual-review message says.
struct ReviewRecord {
  core::ReviewReason reason = core::ReviewReason::rejected;
  int status = 0;
  std::string error;
  std::string body;  ///< D365 error body, or the other version of a conflicting invoice
  int attempts = 0;
};

/// The retry-topic record for `original`: its key and payload bytes, its headers with the
/// retry history (kafka/headers.hpp) replaced; the origin survives from an earlier retry.
kafka::OutgoingMessage retry_message(InMessage original, const RetryRecord& record,
                                     std::string topic);

/// The manual-review record for `original`: key and payload bytes, its headers plus the
/// review headers (reason, D365 status and error/body, origin, the retry history as of
/// the attempt that sent it here, the replay count).
kafka::OutgoingMessage review_message(InMessage original, const ReviewRecord& record,
                                      std::string topic);

}  // namespace ib::pipeline
