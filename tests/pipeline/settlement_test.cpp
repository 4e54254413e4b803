// Settlement's rules: the outcome table, and the retry and review records it produces.
#include "pipeline/settlement.hpp"

#include "kafka/headers.hpp"

#include <catch2/catch.hpp>

using namespace ib::pipeline;
using ib::core::AnswerClass;
using ib::core::Outcome;
using ib::core::ReviewReason;
using A = Route::Action;

namespace {

InMessage input(std::string topic = "invoices", std::int64_t offset = 42) {
  InMessage m;
  m.topic = std::move(topic);
  m.partition = 3;
  m.offset = offset;
  m.key = "ACME|V1|INV-1";
  m.value = R"({"invoice_number":"INV-1"})";
  m.headers = {{"traceparent", "00-abc-def-01"}};
  return m;
}

}  // namespace

TEST_CASE("every D365 answer routes as the outcome table says", "[pipeline][settlement][unit]") {
  struct Row {
    AnswerClass result;
    int attempt;
    bool sent_before;
    A action;
    Outcome outcome;
    int next_attempt;
    ReviewReason reason;
  };
  constexpr int kMax = 3;
  const Row rows[] = {
      {AnswerClass::created, 0, false, A::mark_imported, Outcome::imported, 0, ReviewReason::rejected},
      {AnswerClass::created, 2, true, A::mark_imported, Outcome::imported, 0, ReviewReason::rejected},
      {AnswerClass::duplicate, 0, false, A::mark_imported, Outcome::duplicate, 0, ReviewReason::rejected},
      {AnswerClass::duplicate, 0, true, A::mark_imported, Outcome::recovered, 0, ReviewReason::rejected},
      {AnswerClass::duplicate, 3, true, A::mark_imported, Outcome::recovered, 0, ReviewReason::rejected},
      // 429 never spends an attempt, even on the last one.
      {AnswerClass::throttled, 3, false, A::resend, Outcome::throttled, 0, ReviewReason::rejected},
      {AnswerClass::not_processed, 3, false, A::resend, Outcome::throttled, 0, ReviewReason::rejected},
      {AnswerClass::transient, 0, false, A::retry_topic, Outcome::retried, 1, ReviewReason::rejected},
      {AnswerClass::transient, 2, true, A::retry_topic, Outcome::retried, 3, ReviewReason::rejected},
      {AnswerClass::transient, 3, true, A::review_topic, Outcome::exhausted, 0, ReviewReason::exhausted},
      {AnswerClass::permanent, 0, false, A::review_topic, Outcome::rejected, 0, ReviewReason::rejected},
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
          "[pipeline][settlement][unit]") {
  const auto r = route(AnswerClass::transient, 0, 0, false);
  CHECK(r.action == A::review_topic);
  CHECK(r.reason == ReviewReason::exhausted);
}

TEST_CASE("labels are stable strings", "[pipeline][settlement][unit]") {
  CHECK(to_string(Outcome::recovered) == "recovered");
  CHECK(to_string(Outcome::exhausted) == "exhausted");
  CHECK(to_string(ReviewReason::conflict) == "conflict");
  CHECK(to_string(ReviewReason::invalid) == "invalid");
}

TEST_CASE("a retry message keeps payload, key and other headers, and carries its history",
          "[pipeline][settlement][unit]") {
  const auto due = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'004'000));
  const auto m = retry_message(input(), {1, due, 503, "Service Unavailable"}, "invoices.retry");
  CHECK(m.topic == "invoices.retry");
  CHECK(m.key == "ACME|V1|INV-1");
  CHECK(m.value == R"({"invoice_number":"INV-1"})");
  CHECK(ib::core::find_last_header(m.headers, "traceparent") == "00-abc-def-01");
  const auto h = ib::kafka::decode_retry(m.headers);
  REQUIRE(h.has_value());
  CHECK(h->attempt == 1);
  CHECK(h->due_ms == 1'700'000'004'000);
  CHECK(h->last_status == 503);
  CHECK(h->origin == ib::kafka::Origin{"invoices", 3, 42});

  // Second retry from the retry topic: the origin stays the input topic's.
  auto again = input("invoices.retry", 7);
  again.headers = m.headers;
  again.retry = *h;
  const auto m2 = retry_message(again, {2, due, 500, "boom"}, "invoices.retry");
  const auto h2 = ib::kafka::decode_retry(m2.headers);
  REQUIRE(h2.has_value());
  CHECK(h2->attempt == 2);
  CHECK(h2->origin == ib::kafka::Origin{"invoices", 3, 42});
}

TEST_CASE("a review message carries reason, D365 answer and retry history",
          "[pipeline][settlement][unit]") {
  auto retried = input("invoices.retry", 9);
  ib::kafka::RetryHistory history;
  history.attempt = 3;
  history.origin = {"invoices", 3, 42};
  ib::kafka::encode_retry(retried.headers, history);
  retried.retry = history;
  const auto m = review_message(retried,
                                {ReviewReason::exhausted, 503, "Service Unavailable", R"({"error":{"code":"0x0"}})", 4},
                                "invoices.review");
  CHECK(m.topic == "invoices.review");
  const auto info = ib::kafka::decode_review(m.headers);
  REQUIRE(info.has_value());
  CHECK(info->reason == ReviewReason::exhausted);
  CHECK(info->d365_status == 503);
  CHECK(info->d365_error.find("0x0") != std::string::npos);
  CHECK(info->origin == ib::kafka::Origin{"invoices", 3, 42});
  REQUIRE(info->retry);
  // Every attempt made, the last one included, and that attempt's answer.
  CHECK(info->retry->attempt == 4);
  CHECK(info->retry->last_status == 503);
  CHECK(info->retry->last_error == "Service Unavailable");
}

TEST_CASE("the origin of a message from the input topic is its own place", "[pipeline][settlement][unit]") {
  const auto m = review_message(input(), {ReviewReason::invalid, 0, "not JSON", "", 0}, "v");
  const auto info = ib::kafka::decode_review(m.headers);
  REQUIRE(info.has_value());
  CHECK(info->origin == ib::kafka::Origin{"invoices", 3, 42});
  CHECK_FALSE(info->retry);
  CHECK(info->d365_error == "not JSON");
}
