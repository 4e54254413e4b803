// libFuzzer target: the retry and manual-review Kafka headers (kafka::decode_retry,
// decode_review, replay_count), which a message from the retry or review topic carries and
// anyone who can produce to those topics controls.
//
// Input: NUL-separated entries; each is `name=value`, where a name of one byte below 0x20
// stands for the N-th `ib-` header (so mutations hit real names). Invariants: never throws;
// a refusal names its problem; what decodes is within the documented ranges and survives
// encode -> decode unchanged; replay_count is within [0, 1000000].

#include "fuzz_check.hpp"

#include "kafka/headers.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace ib::kafka;

constexpr std::string_view kNames[] = {
    header::kAttempt,       header::kDueMs,           header::kLastStatus,    header::kLastError,
    header::kOriginTopic,   header::kOriginPartition, header::kOriginOffset,  header::kReviewReason,
    header::kD365Status,    header::kD365Error,       header::kReplayCount,   header::kReplayedFrom,
    header::kReplayedAt,    header::kReplayedReason,
};

Headers to_headers(std::string_view in) {
  Headers out;
  while (!in.empty()) {
    const auto end = in.find('\0');
    std::string_view entry = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view{} : in.substr(end + 1);
    const auto eq = entry.find('=');
    std::string name(entry.substr(0, eq));
    const std::string value(eq == std::string_view::npos ? std::string_view{} : entry.substr(eq + 1));
    if (name.size() == 1 && static_cast<unsigned char>(name[0]) < std::size(kNames)) {
      name = std::string(kNames[static_cast<unsigned char>(name[0])]);
    }
    out.emplace_back(std::move(name), value);
  }
  return out;
}

void check_history(const RetryHistory& h) {
  using ib::fuzz::require;
  require(h.attempt >= 1 && h.attempt <= 1'000'000, "attempt in range");
  require(h.due_ms >= 0, "due time not negative");
  require(h.last_status >= 0 && h.last_status <= 999, "last status in range");
  require(h.origin.partition >= 0 && h.origin.offset >= 0, "origin in range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ib::fuzz::require;
  // Longer texts are cut on encode (header::kMaxTextBytes), so they cannot round-trip.
  if (size > header::kMaxTextBytes) return 0;
  const Headers headers = to_headers(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const int replays = replay_count(headers);
    require(replays >= 0 && replays <= 1'000'000, "replay count in range");

    if (const auto retry = decode_retry(headers)) {
      check_history(*retry);
      Headers again;
      encode_retry(again, *retry);
      const auto round = decode_retry(again);
      require(round.has_value() && *round == *retry, "a retry history survives encode -> decode");
    } else {
      require(!retry.error().message.empty(), "a refused retry history names its problem");
    }

    if (const auto review = decode_review(headers)) {
      require(review->d365_status >= 0 && review->d365_status <= 999, "d365 status in range");
      require(review->replay_count >= 0, "replay count not negative");
      if (review->retry) check_history(*review->retry);
      Headers again;
      encode_review(again, *review);
      const auto round = decode_review(again);
      require(round.has_value() && *round == *review, "review info survives encode -> decode");
    } else {
      require(!review.error().message.empty(), "refused review info names its problem");
    }
  } catch (...) {
    require(false, "a header decoder threw");
  }
  return 0;
}
