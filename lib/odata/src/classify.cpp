#include "odata/classify.hpp"

#include "core/text.hpp"

#include <algorithm>

namespace ib::odata {

std::string_view to_string(TransportFailure f) {
  switch (f) {
    case TransportFailure::none: return "none";
    case TransportFailure::timeout: return "timeout";
    case TransportFailure::connection_reset: return "connection_reset";
    case TransportFailure::connect_failed: return "connect_failed";
    case TransportFailure::tls_failed: return "tls_failed";
    case TransportFailure::protocol_error: return "protocol_error";
  }
  return "?";
}

Classification classify(const ClassifyInput& in, const ClassifyConfig& config) {
  if (in.transport != TransportFailure::none) return {core::AnswerClass::transient, std::nullopt};
  if (!in.part_present) return {core::AnswerClass::not_processed, std::nullopt};
  const int s = in.status;
  if (s >= 200 && s <= 299) return {core::AnswerClass::created, std::nullopt};
  if (s == 429) {
    auto wait = in.retry_after.value_or(config.default_retry_after);
    wait = std::clamp(wait, std::chrono::seconds(0), config.max_retry_after);
    return {core::AnswerClass::throttled, wait};
  }
  if ((s >= 400 && s <= 499) || s == 500) {
    // F&O names a duplicate key only in its text (no code), and may answer it with 500.
    const auto names_duplicate = [&](std::string_view text) {
      for (const auto& m : config.duplicate_messages)
        if (!m.empty() && core::icontains(text, m)) return true;
      return false;
    };
    if (names_duplicate(in.error_message) || names_duplicate(in.inner_error_message))
      return {core::AnswerClass::duplicate, std::nullopt};
  }
  if (s >= 400 && s <= 499) {
    const bool dup_code = !in.error_code.empty() &&
                          std::any_of(config.duplicate_codes.begin(), config.duplicate_codes.end(),
                                      [&](const std::string& c) { return core::iequals(c, in.error_code); });
    const bool dup_status = std::find(config.duplicate_statuses.begin(), config.duplicate_statuses.end(), s) !=
                            config.duplicate_statuses.end();
    if (dup_code || dup_status) return {core::AnswerClass::duplicate, std::nullopt};
    if (s == 408) return {core::AnswerClass::transient, std::nullopt};
    return {core::AnswerClass::permanent, std::nullopt};
  }
  // 5xx, or nothing readable (0, 1xx, 3xx): the outcome is unknown.
  return {core::AnswerClass::transient, std::nullopt};
}

}  // namespace ib::odata
