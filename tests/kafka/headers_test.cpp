#include "kafka/headers.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ib::kafka;

namespace {

RetryHistory sample_retry() {
  RetryHistory h;
  h.attempt = 3;
  h.due_ms = 1'700'000'123'456;
  h.last_status = 503;
  h.last_error = "Service Unavailable: upstream é timeout";
  h.origin = {"invoices", 7, 123456789012};
  return h;
}

}  // namespace

TEST_CASE("a retry history round-trips and keeps foreign headers", "[kafka][unit]") {
  Headers headers{{"traceparent", "00-abc-def-01"}};
  const auto h = sample_retry();
  encode_retry(headers, h);
  CHECK(has_retry_history(headers));
  const auto decoded = decode_retry(headers);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == h);
  CHECK(ib::core::find_last_header(headers, "traceparent") == "00-abc-def-01");
  CHECK(ib::core::find_last_header(headers, "ib-attempt") == "3");
  CHECK(ib::core::find_last_header(headers, "ib-due-ms") == "1700000123456");
  CHECK(ib::core::find_last_header(headers, "ib-origin-topic") == "invoices");
}

TEST_CASE("encoding again replaces the history instead of repeating it", "[kafka][unit]") {
  Headers headers;
  auto h = sample_retry();
  encode_retry(headers, h);
  const auto size = headers.size();
  h.attempt = 4;
  h.last_status = 0;
  h.last_error = "connection reset";
  encode_retry(headers, h);
  CHECK(headers.size() == size);
  const auto decoded = decode_retry(headers);
  REQUIRE(decoded.has_value());
  CHECK(decoded->attempt == 4);
  CHECK(decoded->last_status == 0);
  CHECK(decoded->last_error == "connection reset");
}

TEST_CASE("review info round-trips for every reason, with and without retry history",
          "[kafka][unit]") {
  for (const auto reason : {ReviewReason::invalid, ReviewReason::conflict,
                            ReviewReason::rejected, ReviewReason::exhausted}) {
    INFO(to_string(reason));
    ReviewInfo info;
    info.reason = reason;
    info.d365_status = reason == ReviewReason::invalid ? 0 : 400;
    info.d365_error = R"({"error":{"code":"0x80040237","message":"dup"}})";
    info.replay_count = 2;
    info.origin = {"invoices", 1, 42};
    if (reason == ReviewReason::exhausted) {
      info.retry = sample_retry();
      info.retry->origin = info.origin;
    }
    Headers headers{{"x-other", "1"}};
    encode_review(headers, info);
    const auto decoded = decode_review(headers);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == info);
    CHECK(ib::core::find_last_header(headers, "ib-review-reason") == to_string(reason));
    CHECK(ib::core::find_last_header(headers, "x-other") == "1");
  }
}

TEST_CASE("a retry message moved to review keeps its history", "[kafka][unit]") {
  Headers headers;
  encode_retry(headers, sample_retry());
  ReviewInfo info;
  info.reason = ReviewReason::exhausted;
  info.d365_status = 503;
  info.origin = sample_retry().origin;
  info.retry = sample_retry();
  encode_review(headers, info);
  const auto decoded = decode_review(headers);
  REQUIRE(decoded.has_value());
  REQUIRE(decoded->retry);
  CHECK(decoded->retry->attempt == 3);
  // Exactly one of each header.
  CHECK(std::count_if(headers.begin(), headers.end(),
                      [](const auto& h) { return h.first == "ib-attempt"; }) == 1);
}

TEST_CASE("huge error text is cut to the bound", "[kafka][unit]") {
  Headers headers;
  ReviewInfo info;
  info.reason = ReviewReason::rejected;
  info.d365_error = std::string(100'000, 'x');
  encode_review(headers, info);
  const auto value = ib::core::find_last_header(headers, "ib-d365-error");
  REQUIRE(value);
  CHECK(value->size() <= header::kMaxTextBytes);
  CHECK(value->ends_with("...[truncated]"));
}

TEST_CASE("decoding names every missing or garbage header", "[kafka][unit]") {
  struct Row {
    Headers headers;
    std::vector<std::string> mentions;
  };
  const std::vector<Row> rows{
      {{}, {"missing header ib-attempt", "missing header ib-due-ms", "missing header ib-origin-topic"}},
      {{{"ib-attempt", "two"}, {"ib-due-ms", "1"}, {"ib-last-status", "500"},
        {"ib-origin-topic", "t"}, {"ib-origin-partition", "0"}, {"ib-origin-offset", "1"}},
       {"ib-attempt is not an integer", "'two'"}},
      {{{"ib-attempt", "0"}, {"ib-due-ms", "-5"}, {"ib-last-status", "5000"},
        {"ib-origin-topic", "t"}, {"ib-origin-partition", "0"}, {"ib-origin-offset", "1"}},
       {"ib-attempt", "ib-due-ms", "ib-last-status"}},
      {{{"ib-attempt", "1 "}, {"ib-due-ms", "99999999999999999999999"}, {"ib-last-status", ""},
        {"ib-origin-topic", "t"}, {"ib-origin-partition", "\x01\xff"}, {"ib-origin-offset", "1"}},
       {"ib-attempt", "ib-due-ms", "ib-last-status", "ib-origin-partition", "'?" "?'"}},
  };
  for (const auto& row : rows) {
    const auto decoded = decode_retry(row.headers);
    REQUIRE_FALSE(decoded.has_value());
    for (const auto& m : row.mentions) {
      INFO(decoded.error().message);
      CHECK(decoded.error().message.find(m) != std::string::npos);
    }
  }
}

TEST_CASE("review decoding rejects an unknown reason and a missing origin", "[kafka][unit]") {
  const Headers headers{{"ib-review-reason", "bored"}, {"ib-d365-status", "400"},
                        {"ib-replay-count", "0"}};
  const auto decoded = decode_review(headers);
  REQUIRE_FALSE(decoded.has_value());
  const auto& msg = decoded.error().message;
  CHECK(msg.find("ib-review-reason") != std::string::npos);
  CHECK(msg.find("missing header ib-origin-topic") != std::string::npos);
  CHECK_THROWS_AS(decoded.value(), std::invalid_argument);
}

TEST_CASE("the last header of a repeated name wins", "[kafka][unit]") {
  const Headers headers{{"ib-attempt", "1"}, {"ib-attempt", "2"}};
  CHECK(ib::core::find_last_header(headers, "ib-attempt") == "2");
  CHECK_FALSE(ib::core::find_last_header(headers, "ib-nothing"));
  CHECK_FALSE(has_retry_history({{"x", "y"}}));
}

TEST_CASE("the replay count reads as 0 when missing or malformed", "[kafka][unit]") {
  CHECK(replay_count({}) == 0);
  CHECK(replay_count({{"ib-replay-count", "2"}}) == 2);
  CHECK(replay_count({{"ib-replay-count", "1"}, {"ib-replay-count", "3"}}) == 3);  // last wins
  CHECK(replay_count({{"ib-replay-count", ""}}) == 0);
  CHECK(replay_count({{"ib-replay-count", "x1"}}) == 0);
  CHECK(replay_count({{"ib-replay-count", "-4"}}) == 0);
  CHECK(replay_count({{"ib-replay-count", "99999999999"}}) == 0);
}
