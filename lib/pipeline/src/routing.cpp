#include "pipeline/routing.hpp"

namespace ib::pipeline {

Admission admit(StoreState state, std::string_view stored_fingerprint,
                std::string_view fingerprint, bool replayed) {
  if (replayed && state == StoreState::imported) return Admission::send;
  switch (state) {
    case StoreState::absent: return Admission::send;
    case StoreState::pending:
      // Other content while a version is still being sent (retry topic, or a crash before
      // its answer): a conflict, not a resend. Resending would let a duplicate answer
      // count it as "recovered" although D365 holds the other version (invariant 6).
      return replayed || stored_fingerprint == fingerprint ? Admission::resend : Admission::conflict;
    case StoreState::imported:
      return stored_fingerprint == fingerprint ? Admission::duplicate : Admission::conflict;
  }
  return Admission::send;
}

std::string_view to_string(ReviewReason r) {
  switch (r) {
    case ReviewReason::invalid: return "invalid";
    case ReviewReason::conflict: return "conflict";
    case ReviewReason::rejected: return "rejected";
    case ReviewReason::exhausted: return "exhausted";
  }
  return "unknown";
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::imported: return "imported";
    case Outcome::duplicate: return "duplicate";
    case Outcome::recovered: return "recovered";
    case Outcome::conflict: return "conflict";
    case Outcome::invalid: return "invalid";
    case Outcome::rejected: return "rejected";
    case Outcome::retried: return "retried";
    case Outcome::exhausted: return "exhausted";
    case Outcome::throttled: return "throttled";
  }
  return "unknown";
}

Route route(SendResult result, int attempt, int max_retries, bool sent_before) {
  using A = Route::Action;
  switch (result) {
    case SendResult::created: return {A::mark_imported, Outcome::imported};
    case SendResult::duplicate:
      return {A::mark_imported, sent_before ? Outcome::recovered : Outcome::duplicate};
    case SendResult::throttled: return {A::resend, Outcome::throttled};
    case SendResult::not_processed: return {A::resend, Outcome::throttled};
    case SendResult::transient:
      if (attempt < max_retries) {
        return {A::retry_topic, Outcome::retried, attempt + 1};
      }
      return {A::review_topic, Outcome::exhausted, 0, ReviewReason::exhausted};
    case SendResult::permanent:
      return {A::review_topic, Outcome::rejected, 0, ReviewReason::rejected};
  }
  return {A::review_topic, Outcome::rejected, 0, ReviewReason::rejected};
}

}  // namespace ib::pipeline
