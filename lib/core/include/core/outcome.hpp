#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

// The product's one vocabulary for what happens to an invoice (ARCHITECTURE.md, "Outcomes
// and where they go"). Every module speaks these types: the OData reader classifies an
// answer into an AnswerClass once, the dedup store keeps a StoreState, the pipeline
// settles an Outcome, the review topic carries a ReviewReason. Nothing converts between
// copies of them.
namespace ib::core {

/// The class of one D365 answer to one request, decided once where the answer is read
/// (odata::classify).
enum class AnswerClass {
  created,        ///< 2xx: the record was written
  duplicate,      ///< the record exists: 412 + 0x80040237, 409, configured codes/statuses
  throttled,      ///< 429: send again after Retry-After, not an attempt
  not_processed,  ///< no response part: the server stopped before it; send again
  transient,      ///< 5xx, 408, timeout, reset, unreadable answer: retry (an attempt)
  permanent,      ///< other 4xx (401 after the transport's one token refresh): manual review
};
std::string_view to_string(AnswerClass c);

/// What the dedup store knows about an invoice key. The values are the store's on-disk
/// encoding (docs/dedup-store.md): do not renumber.
enum class StoreState : std::uint8_t {
  absent = 0,    ///< never seen, or older than the TTL window (never stored)
  pending = 1,   ///< we sent it before and do not know whether it landed
  imported = 2,  ///< confirmed created in D365
};
std::string_view to_string(StoreState s);

/// Why a message goes to manual review (Kafka header `ib-review-reason`).
enum class ReviewReason { invalid, conflict, rejected, exhausted };
std::string_view to_string(ReviewReason r);
std::optional<ReviewReason> parse_review_reason(std::string_view text);

/// The settled outcome of one consumed message (metric label `outcome`).
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

}  // namespace ib::core
