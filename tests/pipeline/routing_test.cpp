#include "pipeline/routing.hpp"

#include <catch2/catch.hpp>

#include <string_view>

using namespace ib::pipeline;
using A = Route::Action;

namespace {

// One row of an admission table.
struct AdmissionRow {
  StoreState state;
  const char* stored;
  const char* fp;
  Admission expected;
};

}  // namespace

TEST_CASE("admission follows the store's state and the content fingerprint",
          "[pipeline][routing][unit]") {
  const AdmissionRow rows[] = {
      {StoreState::absent, "", "f1", Admission::send},
      {StoreState::absent, "f1", "f1", Admission::send},  // stored fp of an absent entry is ignored
      {StoreState::pending, "f1", "f1", Admission::resend},
      // Another version is still being sent: D365 may already hold it (applied then failed),
      // so a duplicate answer would not tell which content it holds. Both go to review.
      {StoreState::pending, "f0", "f1", Admission::conflict},
      {StoreState::imported, "f1", "f1", Admission::duplicate},
      {StoreState::imported, "f0", "f1", Admission::conflict},
  };
  for (const auto& r : rows) {
    INFO("state " << static_cast<int>(r.state) << " stored " << r.stored << " fp " << r.fp);
    CHECK(admit(r.state, r.stored, r.fp) == r.expected);
  }
}

TEST_CASE("a replay from manual review is sent again whatever the store says",
          "[pipeline][routing][unit]") {
  const AdmissionRow rows[] = {
      {StoreState::absent, "", "f1", Admission::send},
      {StoreState::pending, "f1", "f1", Admission::resend},
      {StoreState::pending, "f0", "f1", Admission::resend},
      // The store's verdict is what the operator asked to override: D365's alternate key
      // still refuses a second create.
      {StoreState::imported, "f1", "f1", Admission::send},
      {StoreState::imported, "f0", "f1", Admission::send},
  };
  for (const auto& r : rows) {
    INFO("state " << static_cast<int>(r.state) << " stored " << r.stored << " fp " << r.fp);
    CHECK(admit(r.state, r.stored, r.fp, true) == r.expected);
    // Without the replay mark the ordinary rule holds.
    if (r.state != StoreState::absent && std::string_view(r.stored) != r.fp) {
      CHECK(admit(r.state, r.stored, r.fp, false) == Admission::conflict);
    } else if (r.state == StoreState::imported) {
      CHECK(admit(r.state, r.stored, r.fp, false) == Admission::duplicate);
    }
  }
}

TEST_CASE("every D365 answer routes as the outcome table says", "[pipeline][routing][unit]") {
  struct Row {
    SendResult result;
    int attempt;
    bool sent_before;
    A action;
    Outcome outcome;
    int next_attempt;
    ReviewReason reason;
  };
  constexpr int kMax = 3;
  const Row rows[] = {
      {SendResult::created, 0, false, A::mark_imported, Outcome::imported, 0, ReviewReason::rejected},
      {SendResult::created, 2, true, A::mark_imported, Outcome::imported, 0, ReviewReason::rejected},
      {SendResult::duplicate, 0, false, A::mark_imported, Outcome::duplicate, 0, ReviewReason::rejected},
      {SendResult::duplicate, 0, true, A::mark_imported, Outcome::recovered, 0, ReviewReason::rejected},
      {SendResult::duplicate, 3, true, A::mark_imported, Outcome::recovered, 0, ReviewReason::rejected},
      // 429 never spends an attempt, even on the last one.
      {SendResult::throttled, 3, false, A::resend, Outcome::throttled, 0, ReviewReason::rejected},
      {SendResult::not_processed, 3, false, A::resend, Outcome::throttled, 0, ReviewReason::rejected},
      {SendResult::transient, 0, false, A::retry_topic, Outcome::retried, 1, ReviewReason::rejected},
      {SendResult::transient, 2, true, A::retry_topic, Outcome::retried, 3, ReviewReason::rejected},
      {SendResult::transient, 3, true, A::review_topic, Outcome::exhausted, 0, ReviewReason::exhausted},
      {SendResult::permanent, 0, false, A::review_topic, Outcome::rejected, 0, ReviewReason::rejected},
  };
  for (const auto& r : rows) {
    INFO("result " << static_cast<int>(r.result) << " attempt " << r.attempt);
    const auto got = route(r.result, r.attempt, kMax, r.sent_before);
    CHECK(got.action == r.action);
    CHECK(got.outcome == r.outcome);
    if (r.action == A::retry_topic) CHECK(got.next_attempt == r.next_attempt);
    if (r.action == A::review_topic) CHECK(got.reason == r.reason);
  }
}

TEST_CASE("with zero retries a transient failure goes straight to review",
          "[pipeline][routing][unit]") {
  const auto r = route(SendResult::transient, 0, 0, false);
  CHECK(r.action == A::review_topic);
  CHECK(r.reason == ReviewReason::exhausted);
}

TEST_CASE("labels are stable strings", "[pipeline][routing][unit]") {
  CHECK(to_string(Outcome::recovered) == "recovered");
  CHECK(to_string(Outcome::exhausted) == "exhausted");
  CHECK(to_string(ReviewReason::conflict) == "conflict");
  CHECK(to_string(ReviewReason::invalid) == "invalid");
}
