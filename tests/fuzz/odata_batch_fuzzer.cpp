// libFuzzer target: the `$batch` response reader (odata::parse_batch_response +
// read_batch_response), shared by the libFuzzer builds (clang, tests/fuzz/) and the bounded
// mutation driver of the unit suite (g++, tests/odata/fuzz_driver_test.cpp).
//
// Input: byte 0 picks the Content-Type and the outer status, byte 1 the number of requests
// sent (1..8) and atomic mode, the rest is the response body. IB_FUZZ_BATCH_FORMAT=1 keeps
// only the multipart (and not-a-batch) Content-Types, =2 only the JSON ones; unset, all.
// Besides crashes and sanitizer reports it aborts when an invariant breaks:
// - one result per request, in request order, with its own Content-ID;
// - an answer is credited only to the request its Content-ID/id names: an answer whose id
//   names no request, or that repeats an id already answered, is credited to nobody;
// - a request without its own answer is not_processed (transient when an atomic change
//   set was rolled back), never created, duplicate or permanent;
// - created/duplicate only from an own 2xx/4xx answer (duplicate also from a 500 naming a
//   duplicate text, F&O); throttled always has a wait.

#include "odata/batch_reader.hpp"
#include "odata/batch_result.hpp"

#include "fuzz_check.hpp"

#include <cstdint>
#include <map>
#include <string>

#ifndef IB_FUZZ_BATCH_FORMAT
#define IB_FUZZ_BATCH_FORMAT 0
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ib::odata;
  using ib::core::AnswerClass;
  using ib::fuzz::require;
  if (size < 2) return 0;
  static const char* const kContentTypes[] = {
      "",
      "multipart/mixed; boundary=batchresponse_x",
      "multipart/mixed; boundary=\"batchresponse_x\"",
      "application/json",
      "multipart/mixed; boundary=b",
      "text/plain",
      "multipart/mixed",
      "application/json; odata.metadata=minimal",
  };
  static const int kStatuses[] = {200, 400, 412, 429, 500, 401, 409, 204};
  const unsigned type = data[0] & 7;
  const bool json_type = type == 3 || type == 7;
  if (IB_FUZZ_BATCH_FORMAT == 1 && json_type) return 0;
  if (IB_FUZZ_BATCH_FORMAT == 2 && !json_type) return 0;
  const std::string content_type = kContentTypes[type];
  const int status = kStatuses[(data[0] >> 3) & 7];
  const std::size_t n = 1 + (data[1] & 7);
  const bool atomic = (data[1] & 8) != 0;
  const std::string body(reinterpret_cast<const char*>(data + 2), size - 2);

  ReaderLimits limits;
  limits.max_parts = 64;
  const auto bounded = parse_batch_response(content_type, body, limits);
  require(bounded.parts.size() <= limits.max_parts, "part limit");
  for (const auto& p : bounded.parts) require(p.status == 0 || (p.status >= 100 && p.status <= 999), "status range");

  EncodedBatch sent;
  sent.atomic = atomic;
  for (std::size_t i = 0; i < n; ++i) sent.content_ids.push_back(std::to_string(i + 1));
  BatchHttpResponse response{status, {{"Content-Type", content_type}, {"Retry-After", "7"}}, body};
  ClassifyConfig config;
  config.duplicate_messages = {"already exists"};  // F&O's duplicate text (classify rule 5b)
  const auto results = read_batch_response(sent, response, config);

  // The oracle: what the reader itself saw (same default limits as read_batch_response).
  const auto parsed = parse_batch_response(content_type, body);
  std::map<std::string, const ResponsePart*> first_with_id;
  bool ids_outside = false;
  for (const auto& p : parsed.parts) {
    if (p.content_id.empty()) continue;
    first_with_id.emplace(p.content_id, &p);
    ids_outside = ids_outside || !p.in_change_set;
  }

  require(results.size() == n, "one result per request");
  for (std::size_t i = 0; i < n; ++i) {
    const auto& r = results[i];
    require(r.index == i, "results in request order");
    require(r.content_id == sent.content_ids[i], "content id kept");
    const auto o = r.classification.outcome;
    if (o == AnswerClass::created || o == AnswerClass::duplicate) {
      require(r.has_part, "created/duplicate only with an own response part");
      require((r.part.status >= 200 && r.part.status <= 499) || (o == AnswerClass::duplicate && r.part.status == 500),
              "created/duplicate from a 2xx/4xx part, duplicate also from a 500");
    }
    if (o == AnswerClass::throttled) require(r.classification.retry_after.has_value(), "throttled has a wait");
    if (parsed.parts.empty()) {
      require(!r.has_part, "a whole-batch answer is no request's own answer");
      continue;
    }
    if (r.has_part) {
      if (!r.part.content_id.empty()) {
        require(r.part.content_id == r.content_id, "an answer is credited only to the request it names");
        const ResponsePart* first = first_with_id.at(r.part.content_id);
        require(r.part.status == first->status && r.part.body == first->body &&
                    r.part.headers == first->headers,
                "a repeated id's later answers are credited to nobody");
      } else {
        require(!ids_outside, "id-less answers match by position only when no answer carries an id");
      }
    } else {
      require(o == AnswerClass::not_processed || (atomic && o == AnswerClass::transient),
              "a request without its own answer is not processed");
    }
  }
  return 0;
}
