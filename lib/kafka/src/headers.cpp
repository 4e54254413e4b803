#include "kafka/headers.hpp"

#include <algorithm>
#include <cstdint>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace ib::kafka {
namespace {

constexpr std::string_view kTruncated = "...[truncated]";

std::string cut(std::string_view text) {
  if (text.size() <= header::kMaxTextBytes) return std::string(text);
  auto keep = header::kMaxTextBytes - kTruncated.size();
  // Never cut a UTF-8 sequence in half: back up over continuation bytes.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  return std::string(text.substr(0, keep)) + std::string(kTruncated);
}

void erase_names(Headers& headers, std::initializer_list<std::string_view> names) {
  std::erase_if(headers, [&](const auto& h) {
    return std::find(names.begin(), names.end(), h.first) != names.end();
  });
}

void erase_retry(Headers& headers) {
  erase_names(headers, {header::kAttempt, header::kDueMs, header::kLastStatus,
                        header::kLastError, header::kOriginTopic, header::kOriginPartition,
                        header::kOriginOffset});
}

void put(Headers& headers, std::string_view name, std::string value) {
  headers.emplace_back(std::string(name), std::move(value));
}

// Collects every problem so one decode reports them all.
class Reader {
public:
  explicit Reader(const Headers& headers) : headers_(headers) {}

  template <typename Int>
  Int integer(std::string_view name, Int min, Int max) {
    const auto v = core::find_last_header(headers_, name);
    if (!v) {
      problems_.push_back("missing header " + std::string(name));
      return Int{};
    }
    Int out{};
    const auto* end = v->data() + v->size();
    const auto [ptr, ec] = std::from_chars(v->data(), end, out);
    if (v->empty() || ec != std::errc{} || ptr != end || out < min || out > max) {
      problems_.push_back("header " + std::string(name) + " is not an integer in [" +
                          std::to_string(min) + ", " + std::to_string(max) + "]: '" +
                          printable(*v) + "'");
      return Int{};
    }
    return out;
  }

  std::string text(std::string_view name, bool required) {
    const auto v = core::find_last_header(headers_, name);
    if (!v) {
      if (required) problems_.push_back("missing header " + std::string(name));
      return {};
    }
    return std::string(*v);
  }

  std::optional<core::Error> error() const {
    if (problems_.empty()) return std::nullopt;
    std::string msg;
    for (const auto& p : problems_) {
      if (!msg.empty()) msg += "; ";
      msg += p;
    }
    return core::Error{std::move(msg)};
  }

  void problem(std::string p) { problems_.push_back(std::move(p)); }

private:
  static std::string printable(std::string_view v) {
    std::string out;
    for (const char c : v.substr(0, 64)) {
      out += (c >= 0x20 && c < 0x7F) ? c : '?';
    }
    if (v.size() > 64) out += "...";
    return out;
  }

  const Headers& headers_;
  std::vector<std::string> problems_;
};

constexpr std::int64_t kMaxOffset = INT64_MAX;

Origin read_origin(Reader& r) {
  Origin o;
  o.topic = r.text(header::kOriginTopic, true);
  o.partition = r.integer<std::int32_t>(header::kOriginPartition, 0, INT32_MAX);
  o.offset = r.integer<std::int64_t>(header::kOriginOffset, 0, kMaxOffset);
  return o;
}

RetryHistory read_retry(Reader& r) {
  RetryHistory h;
  h.attempt = r.integer<int>(header::kAttempt, 1, 1'000'000);
  h.due_ms = r.integer<std::int64_t>(header::kDueMs, 0, kMaxOffset);
  h.last_status = r.integer<int>(header::kLastStatus, 0, 999);
  h.last_error = r.text(header::kLastError, false);
  h.origin = read_origin(r);
  return h;
}

void write_origin(Headers& headers, const Origin& o) {
  put(headers, header::kOriginTopic, o.topic);
  put(headers, header::kOriginPartition, std::to_string(o.partition));
  put(headers, header::kOriginOffset, std::to_string(o.offset));
}

}  // namespace

int replay_count(const Headers& headers) {
  const auto v = core::find_last_header(headers, header::kReplayCount);
  if (!v || v->empty()) return 0;
  int out = 0;
  const auto* end = v->data() + v->size();
  const auto [ptr, ec] = std::from_chars(v->data(), end, out);
  if (ec != std::errc{} || ptr != end || out < 0 || out > 1'000'000) return 0;
  return out;
}

bool has_retry_history(const Headers& headers) {
  return core::find_last_header(headers, header::kAttempt).has_value();
}

void encode_retry(Headers& headers, const RetryHistory& history) {
  erase_retry(headers);
  put(headers, header::kAttempt, std::to_string(history.attempt));
  put(headers, header::kDueMs, std::to_string(history.due_ms));
  put(headers, header::kLastStatus, std::to_string(history.last_status));
  put(headers, header::kLastError, cut(history.last_error));
  write_origin(headers, history.origin);
}

void encode_review(Headers& headers, const ReviewInfo& info) {
  erase_retry(headers);
  erase_names(headers, {header::kReviewReason, header::kD365Status, header::kD365Error,
                        header::kReplayCount});
  if (info.retry) {
    RetryHistory h = *info.retry;
    h.origin = info.origin;
    encode_retry(headers, h);
  } else {
    write_origin(headers, info.origin);
  }
  put(headers, header::kReviewReason, std::string(to_string(info.reason)));
  put(headers, header::kD365Status, std::to_string(info.d365_status));
  put(headers, header::kD365Error, cut(info.d365_error));
  put(headers, header::kReplayCount, std::to_string(info.replay_count));
}

core::Result<RetryHistory> decode_retry(const Headers& headers) {
  Reader r(headers);
  auto h = read_retry(r);
  if (auto e = r.error()) return *e;
  return h;
}

core::Result<ReviewInfo> decode_review(const Headers& headers) {
  Reader r(headers);
  ReviewInfo info;
  const auto reason = r.text(header::kReviewReason, true);
  if (const auto parsed = core::parse_review_reason(reason)) {
    info.reason = *parsed;
  } else if (core::find_last_header(headers, header::kReviewReason)) {
    r.problem("header " + std::string(header::kReviewReason) +
              " is not one of invalid, conflict, rejected, exhausted");
  }
  info.d365_status = r.integer<int>(header::kD365Status, 0, 999);
  info.d365_error = r.text(header::kD365Error, false);
  info.replay_count = r.integer<int>(header::kReplayCount, 0, 1'000'000);
  if (has_retry_history(headers)) {
    info.retry = read_retry(r);
    info.origin = info.retry->origin;
  } else {
    info.origin = read_origin(r);
  }
  if (auto e = r.error()) return *e;
  return info;
}

}  // namespace ib::kafka
