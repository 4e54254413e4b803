#pragma once

#include "odata/batch_reader.hpp"
#include "odata/batch_writer.hpp"
#include "odata/classify.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ib::odata {

/// The HTTP answer to one `$batch` POST, as the transport read it.
struct BatchHttpResponse {
  int status = 0;
  Headers headers;   ///< outer headers (Content-Type, Retry-After...)
  std::string body;
};

/// One request's result, in request order.
struct RequestResult {
  std::size_t index = 0;      ///< position in the batch
  std::string content_id;     ///< as sent
  bool has_part = false;      ///< a response part was matched to it
  ResponsePart part;          ///< the matched part (or, for a whole-batch failure, the batch's answer)
  Classification classification;
  /// One line for logs and the review/retry headers: `412 0x80040237: A record with ...`,
  /// `not processed: no response part`, `batch 503`, `timeout`; for a request with lines
  /// whose change set failed on a line: `line 2: 400 code: message`.
  std::string error;
  /// 1-based number of the line whose answer decided this result (0: the request itself).
  std::size_t failed_line = 0;
};

/// Matches the response to the requests of `sent` and classifies each:
/// - a part is credited only to the request its Content-ID/id names; parts with an unknown
///   or repeated id, or without one when others carry ids, are ignored; a body without any
///   ids matches by position only with one part per request, or with fewer parts whose
///   last one failed (Dataverse stopping at its first error);
/// - a request without a part is not_processed (never created);
/// - a body with no parts at all is a whole-batch failure: its status (and Retry-After, and
///   error code) classify every request (a whole-batch 409/412 is never a duplicate:
///   transient); a 2xx without a readable batch body is transient (outcome unknown), a
///   readable batch body without parts is not_processed;
/// - atomic batches: when some part failed, every request without its own (id-matched)
///   failure was rolled back: transient;
/// - a request with lines (its own change set) has one result: created when it and every
///   line answered 2xx; else the first failure among its answers, preferring any status
///   other than 424 (Failed Dependency: rolled back because of another): the request's
///   own failure classifies as usual (a duplicate header is duplicate); a line's failure
///   names the line (`line 2: ...`, failed_line = 2) and a duplicate answer on a line is
///   permanent (the invoice's key decides duplicates, not a line's); a failed change set
///   answered with one part (OData 4.0) without a Content-ID is matched by position like
///   any id-less part; a 2xx header with a line left unanswered is transient (unknown).
/// Pure; any thread.
std::vector<RequestResult> read_batch_response(const EncodedBatch& sent, const BatchHttpResponse& response,
                                               const ClassifyConfig& config);

/// Every request of `sent` failed the same way without an HTTP answer: transient.
std::vector<RequestResult> results_for_transport_failure(const EncodedBatch& sent, TransportFailure failure,
                                                         std::string_view detail);

/// The same classification for `count` requests: a whole-batch answer without a per-request
/// body (429 for the batch, 503 from a gateway...). `part` is copied into each result.
std::vector<RequestResult> classify_whole_batch(const std::vector<std::string>& content_ids,
                                                const ClassifyInput& input, const ResponsePart& part,
                                                const ClassifyConfig& config);

}  // namespace ib::odata
