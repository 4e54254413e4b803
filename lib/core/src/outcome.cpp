#include "core/outcome.hpp"

namespace ib::core {

std::string_view to_string(AnswerClass c) {
  switch (c) {
    case AnswerClass::created: return "created";
    case AnswerClass::duplicate: return "duplicate";
    case AnswerClass::throttled: return "throttled";
    case AnswerClass::not_processed: return "not_processed";
    case AnswerClass::transient: return "transient";
    case AnswerClass::permanent: return "permanent";
  }
  return "transient";
}

std::string_view to_string(StoreState s) {
  switch (s) {
    case StoreState::absent: return "absent";
    case StoreState::pending: return "pending";
    case StoreState::imported: return "imported";
  }
  return "absent";
}

std::string_view to_string(ReviewReason r) {
  switch (r) {
    case ReviewReason::invalid: return "invalid";
    case ReviewReason::conflict: return "conflict";
    case ReviewReason::rejected: return "rejected";
    case ReviewReason::exhausted: return "exhausted";
  }
  return "invalid";
}

std::optional<ReviewReason> parse_review_reason(std::string_view text) {
  for (const auto r : {ReviewReason::invalid, ReviewReason::conflict, ReviewReason::rejected,
                       ReviewReason::exhausted}) {
    if (to_string(r) == text) return r;
  }
  return std::nullopt;
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
  return "imported";
}

}  // namespace ib::core
