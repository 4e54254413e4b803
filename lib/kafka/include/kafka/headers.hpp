#pragma once

#include "kafka/message.hpp"

#include "core/error.hpp"
#include "core/outcome.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ib::kafka {

/// The history a retry or manual-review message carries in its Kafka headers. Every name
/// starts with `ib-`; values are decimal numbers or UTF-8 text (see docs/kafka.md).
namespace header {
inline constexpr std::string_view kAttempt = "ib-attempt";              // attempts made, >= 1
inline constexpr std::string_view kDueMs = "ib-due-ms";                 // epoch ms
inline constexpr std::string_view kLastStatus = "ib-last-status";       // HTTP status, 0 = none
inline constexpr std::string_view kLastError = "ib-last-error";         // text
inline constexpr std::string_view kOriginTopic = "ib-origin-topic";
inline constexpr std::string_view kOriginPartition = "ib-origin-partition";
inline constexpr std::string_view kOriginOffset = "ib-origin-offset";
inline constexpr std::string_view kReviewReason = "ib-review-reason";   // invalid|conflict|...
inline constexpr std::string_view kD365Status = "ib-d365-status";       // HTTP status, 0 = none
inline constexpr std::string_view kD365Error = "ib-d365-error";         // error body
inline constexpr std::string_view kReplayCount = "ib-replay-count";     // replays from review
// Written by `invoice-bridge review replay` on the message it puts back on the input topic.
inline constexpr std::string_view kReplayedFrom = "ib-replayed-from";     // review topic:partition:offset
inline constexpr std::string_view kReplayedAt = "ib-replayed-at";         // ISO-8601 UTC
inline constexpr std::string_view kReplayedReason = "ib-replayed-reason"; // the review reason
/// Text values longer than this are cut (with a "...[truncated]" mark) so a huge error body
/// cannot push the record over the broker's message.max.bytes.
inline constexpr std::size_t kMaxTextBytes = 16 * 1024;
}  // namespace header

/// Where a message was first consumed (the input topic), kept across retries.
struct Origin {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;

  friend bool operator==(const Origin&, const Origin&) = default;
};

/// History of a message on the retry topic.
struct RetryHistory {
  /// Attempts made so far (1 after the first failed try).
  int attempt = 1;
  /// When the next attempt is due, milliseconds since the Unix epoch.
  std::int64_t due_ms = 0;
  /// HTTP status of the last attempt; 0 when there was no response (timeout, reset).
  int last_status = 0;
  /// What went wrong last time, for people (e.g. "timeout after 30s").
  std::string last_error;
  Origin origin;

  friend bool operator==(const RetryHistory&, const RetryHistory&) = default;
};

using core::ReviewReason;

/// Headers of a message on the manual-review topic.
struct ReviewInfo {
  ReviewReason reason = ReviewReason::invalid;
  /// D365's HTTP status; 0 when D365 was never asked (invalid input).
  int d365_status = 0;
  /// D365's error body (or the validation problem for `invalid`).
  std::string d365_error;
  /// How many times an operator replayed this message from review (0 the first time).
  int replay_count = 0;
  Origin origin;
  /// The retry history when the message had been retried (exhausted); nullopt otherwise.
  std::optional<RetryHistory> retry;

  friend bool operator==(const ReviewInfo&, const ReviewInfo&) = default;
};


/// Writes `history` into `headers`: replaces every `ib-` retry header already there and
/// keeps all other headers (a message's trace headers travel along).
void encode_retry(Headers& headers, const RetryHistory& history);

/// Writes `info` into `headers` (and its retry history when set); replaces every `ib-`
/// header already there, keeps the others.
void encode_review(Headers& headers, const ReviewInfo& info);

/// True when `headers` carry a retry history (an `ib-attempt` header).
bool has_retry_history(const Headers& headers);

/// Reads a retry history. Missing or malformed headers are errors naming every problem
/// (the header and the bad value).
/// When a name repeats, the last one wins (Kafka's convention for "current value").
core::Result<RetryHistory> decode_retry(const Headers& headers);

/// Reads review info (and the retry history when an `ib-attempt` header is present).
core::Result<ReviewInfo> decode_review(const Headers& headers);

/// The value of `ib-replay-count`: how many times an operator replayed the message from
/// manual review; 0 when the header is missing or not a number in [0, 1000000].
int replay_count(const Headers& headers);


}  // namespace ib::kafka
