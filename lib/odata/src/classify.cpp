#include "odata/classify.hpp"

#include <algorithm>

namespace ib::odata {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::created: return "created";
    case Outcome::duplicate: return "duplicate";
    case Outcome::throttled: return "throttled";
    case Outcome::transient: return "transient";
    case Outcome::not_processed: return "not_processed";
    case Outcome::unauthorized: return "unauthorized";
    case Outcome::permanent: return "permanent";
  }
  return "?";
}

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

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

Classification classify(const ClassifyInput& in, const ClassifyConfig& config) {
  if (in.transport != TransportFailure::none) return {Outcome::transient, std::nullopt};
  if (!in.part_present) return {Outcome::not_processed, std::nullopt};
  const int s = in.status;
  if (s >= 200 && s <= 299) return {Outcome::created, std::nullopt};
  if (s == 429) {
    auto wait = in.retry_after.value_or(config.default_retry_after);
    wait = std::clamp(wait, std::chrono::seconds(0), config.max_retry_after);
    return {Outcome::throttled, wait};
  }
  if (s >= 400 && s <= 499) {
    const bool dup_code = !in.error_code.empty() &&
                          std::any_of(config.duplicate_codes.begin(), config.duplicate_codes.end(),
                                      [&](const std::string& c) { return iequals(c, in.error_code); });
    const bool dup_status = std::find(config.duplicate_statuses.begin(), config.duplicate_statuses.end(), s) !=
                            config.duplicate_statuses.end();
    if (dup_code || dup_status) return {Outcome::duplicate, std::nullopt};
    if (s == 401) return {in.after_token_refresh ? Outcome::permanent : Outcome::unauthorized, std::nullopt};
    if (s == 408) return {Outcome::transient, std::nullopt};
    return {Outcome::permanent, std::nullopt};
  }
  // 5xx, or nothing readable (0, 1xx, 3xx): the outcome is unknown.
  return {Outcome::transient, std::nullopt};
}

}  // namespace ib::odata
