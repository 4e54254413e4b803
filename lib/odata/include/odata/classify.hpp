#pragma once

#include "core/outcome.hpp"
#include "odata/batch_config.hpp"

#include <chrono>
#include <optional>
#include <string_view>

namespace ib::odata {

/// Why no HTTP answer arrived at all.
enum class TransportFailure {
  none,            ///< an HTTP response was read
  timeout,         ///< deadline passed (the request may have been applied)
  connection_reset,
  connect_failed,  ///< DNS / TCP connect / refused
  tls_failed,
  protocol_error,  ///< unreadable HTTP response
};
std::string_view to_string(TransportFailure f);

/// Everything classify() looks at for one request.
struct ClassifyInput {
  int status = 0;                   ///< HTTP status of its part (or of the whole batch)
  std::string_view error_code;      ///< D365 `error.code`, may be empty
  std::string_view error_message;   ///< `error.message`, may be empty
  std::string_view inner_error_message;  ///< `error.innererror.message` (F&O), may be empty
  bool part_present = true;         ///< false: the batch response had no part for it
  TransportFailure transport = TransportFailure::none;
  std::optional<std::chrono::seconds> retry_after;  ///< from its Retry-After header
};

struct Classification {
  core::AnswerClass outcome = core::AnswerClass::transient;
  /// throttled only: how long to wait (Retry-After, else config.default_retry_after, capped).
  std::optional<std::chrono::seconds> retry_after;
  friend bool operator==(const Classification&, const Classification&) = default;
};

/// The one classification rule, first match wins:
///  1. transport failure                          -> transient
///  2. no part                                    -> not_processed
///  3. 2xx                                        -> created
///  4. 429                                        -> throttled (retry_after)
///  5. 4xx with a duplicate code, or a duplicate status -> duplicate
///  6. 4xx or 500 whose error.message or error.innererror.message contains one of the
///     duplicate messages (ASCII case-insensitive)   -> duplicate (F&O names a duplicate
///                                                   key only in its text, and may answer
///                                                   a failed write with 500)
///  7. 401                                        -> permanent (the transport already
///                                                   refreshed the token once: http::AuthorizedTransport)
///  8. 408, 5xx, or no readable status (0, 1xx, 3xx) -> transient
///  9. any other 4xx                              -> permanent
/// Pure; table-tested.
Classification classify(const ClassifyInput& in, const ClassifyConfig& config);

}  // namespace ib::odata
