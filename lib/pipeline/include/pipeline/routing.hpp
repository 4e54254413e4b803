#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ib::pipeline {

/// What the dedup store knows about an invoice key when a message arrives.
enum class StoreState {
  absent,    ///< never seen, or older than the TTL window
  pending,   ///< we sent it before and do not know whether it landed
  imported,  ///< confirmed created in D365
};

/// What to do with a decoded invoice before any API call.
enum class Admission {
  send,       ///< absent: mark pending, then send
  resend,     ///< pending with the same content (an earlier attempt): send again; a duplicate answer means it had landed
  duplicate,  ///< imported with the same content: an upstream duplicate, no API call
  conflict,   ///< imported or pending with different content: manual review with both versions
};

/// The admission rule (ARCHITECTURE.md, "Dedup, batch, send"). `stored_fingerprint` is
/// the fingerprint kept with the entry (ignored when absent).
///
/// `replayed`: an operator put this message back on the input topic from manual review
/// (`invoice-bridge review replay`, header `ib-replay-count` > 0) after fixing its cause.
/// The store's `imported` verdict is then ignored and the invoice is sent again: the
/// replay tool forgets the store entry itself when it can open the store, but while a
/// daemon holds the store only the daemon can honour the replay. Nothing is created
/// twice: D365's alternate key refuses a second create, and that answer counts as a
/// duplicate. A pending entry stays `resend` (it already means "send again").
Admission admit(StoreState state, std::string_view stored_fingerprint,
                std::string_view fingerprint, bool replayed = false);

/// One invoice's answer from D365, as the OData layer classified it.
enum class SendResult {
  created,        ///< 201/204
  duplicate,      ///< 412 + 0x80040237, 409, or a configured duplicate code
  throttled,      ///< 429 (alone or the whole batch)
  not_processed,  ///< no response part: the server stopped before it
  transient,      ///< 500/502/503/504, timeout, reset, unknown outcome
  permanent,      ///< other 4xx (after one token refresh for 401)
};

/// Why a message goes to manual review (header `ib-reason`).
enum class ReviewReason { invalid, conflict, rejected, exhausted };
std::string_view to_string(ReviewReason r);

/// The outcome label of an invoice (metric label `outcome`).
enum class Outcome {
  imported,
  duplicate,  ///< upstream duplicate (store hit, or D365 conflict for a key we never sent)
  recovered,  ///< D365 said duplicate for a key we had sent ourselves: our earlier attempt landed
  conflict,
  invalid,
  rejected,
  retried,
  exhausted,
  throttled,  ///< not final: resent later without using an attempt
};
std::string_view to_string(Outcome o);

/// Where an invoice goes after its answer.
struct Route {
  enum class Action {
    mark_imported,  ///< write "imported" to the store; outcome imported/duplicate/recovered
    resend,         ///< send again in this process, not an attempt (throttled, not processed)
    retry_topic,    ///< produce to the retry topic with `next_attempt` due at `delay`
    review_topic,   ///< produce to the manual-review topic with `reason`
  };
  Action action;
  Outcome outcome;
  int next_attempt = 0;                    ///< retry_topic only
  ReviewReason reason = ReviewReason::rejected;  ///< review_topic only
};

/// The outcome table (ARCHITECTURE.md). `attempt` counts deliveries so far starting at 0
/// for the first (the retry header's value); `max_retries` is how many times a transient
/// failure is retried through the retry topic before manual review; `sent_before` is true
/// when the store had the key pending (or this process sent it earlier) — it turns a
/// duplicate answer into "recovered".
Route route(SendResult result, int attempt, int max_retries, bool sent_before);

}  // namespace ib::pipeline
