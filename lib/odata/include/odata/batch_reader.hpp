#pragma once

#include "odata/result.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ib::odata {

/// One response inside a batch response.
struct ResponsePart {
  /// Content-ID (multipart, MIME or inner header) / id (JSON batch); empty when not echoed.
  std::string content_id;
  /// Status of the inner response; 0 when the part had no readable status line.
  int status = 0;
  /// Inner response headers.
  Headers headers;
  /// Inner response body (JSON text; for a JSON batch the `body` member re-serialised).
  std::string body;
  /// From a `{"error":{"code","message","innererror":{"message"}}}` body; empty otherwise.
  std::string error_code;
  std::string error_message;
  /// `error.innererror.message`: where Finance and Operations puts the specific text (its
  /// `error.message` is the generic "An error has occurred.").
  std::string error_inner_message;
  /// OData-EntityId (else Location) header value: the created record's URL.
  std::string entity_id;
  /// The key inside the last parentheses of `entity_id` (Dataverse: the record's GUID).
  std::string record_id;
  /// Retry-After in seconds (delta-seconds form only), when present.
  std::optional<std::chrono::seconds> retry_after;
  /// true when the part came from inside a change set (nested multipart / atomicityGroup).
  bool in_change_set = false;
};

/// What a batch response body held.
struct ParsedBatch {
  /// Every response, in body order, change sets flattened in place.
  std::vector<ResponsePart> parts;
  /// Empty when the whole body was understood; else why not (the parts before the problem
  /// are still in `parts`, e.g. a body cut off before its closing delimiter).
  std::string error;
  /// true when the body was a batch body at all (multipart or JSON batch).
  bool is_batch = false;
};

/// Bounds on what the reader accepts, so a hostile body cannot grow memory without bound.
struct ReaderLimits {
  std::size_t max_parts = 10000;
  std::size_t max_headers_per_part = 200;
  std::size_t max_nesting = 2;  ///< batch + change set
};

/// Parses a batch response body. `content_type` is the outer Content-Type header (may be
/// empty: the format is then sniffed: `--boundary` first line or `{`). Multipart: quoted
/// or unquoted boundary, CRLF or LF line ends, header names in any case with any blanks,
/// folded header lines, preamble/epilogue, transport padding after delimiters, nested
/// change sets; a final part without the closing delimiter is dropped (its answer may be
/// cut off), and `error` says so. JSON batch: `{"responses":[{"id","status","headers","body"}]}`.
/// Never throws on bad input. Pure; any thread.
ParsedBatch parse_batch_response(std::string_view content_type, std::string_view body,
                                 const ReaderLimits& limits = {});

/// What an OData error body says.
struct ErrorBody {
  std::string code;           ///< `error.code`
  std::string message;        ///< `error.message`
  std::string inner_message;  ///< `error.innererror.message` (F&O's specific text)
  friend bool operator==(const ErrorBody&, const ErrorBody&) = default;
};

/// `{"error":{"code":"...","message":"...","innererror":{"message":"..."}}}` -> its parts;
/// each empty when absent (all empty when the body is not such an object). Scalars other
/// than strings are kept as their JSON text.
ErrorBody parse_error_body(std::string_view body);

/// The `boundary` parameter of a multipart/mixed Content-Type (quoted or not, parameter
/// name in any case), or nullopt when it is not multipart/mixed or has no valid boundary.
std::optional<std::string> multipart_boundary(std::string_view content_type);

/// Retry-After as delta-seconds (`120`); nullopt for an HTTP-date or garbage.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

}  // namespace ib::odata
