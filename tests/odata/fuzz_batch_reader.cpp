// Fuzz entry point of the batch response reader, shared by the libFuzzer build (clang,
// tests/odata/fuzz/) and the bounded mutation driver of the unit suite (g++).
//
// Input: byte 0 picks the Content-Type and the outer status, byte 1 the number of requests
// sent (1..8) and atomic mode, the rest is the response body. Besides crashes and
// sanitizer reports, it aborts when an invariant of the reader breaks: one result per
// request, in order, and no request without its own response part is ever reported as
// created or duplicate (that would mark an invoice imported that D365 never answered for).

#include "odata/batch_reader.hpp"
#include "odata/batch_result.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ib::odata;
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
  const std::string content_type = kContentTypes[data[0] & 7];
  const int status = kStatuses[(data[0] >> 3) & 7];
  const std::size_t n = 1 + (data[1] & 7);
  const bool atomic = (data[1] & 8) != 0;
  const std::string body(reinterpret_cast<const char*>(data + 2), size - 2);

  ReaderLimits limits;
  limits.max_parts = 64;
  const auto parsed = parse_batch_response(content_type, body, limits);
  require(parsed.parts.size() <= limits.max_parts, "part limit");
  for (const auto& p : parsed.parts) require(p.status == 0 || (p.status >= 100 && p.status <= 999), "status range");

  EncodedBatch sent;
  sent.atomic = atomic;
  for (std::size_t i = 0; i < n; ++i) sent.content_ids.push_back(std::to_string(i + 1));
  BatchHttpResponse response{status, {{"Content-Type", content_type}, {"Retry-After", "7"}}, body};
  const auto results = read_batch_response(sent, response, ClassifyConfig{});
  require(results.size() == n, "one result per request");
  for (std::size_t i = 0; i < n; ++i) {
    const auto& r = results[i];
    require(r.index == i, "results in request order");
    require(r.content_id == sent.content_ids[i], "content id kept");
    const auto o = r.classification.outcome;
    if (o == ib::core::AnswerClass::created || o == ib::core::AnswerClass::duplicate) {
      require(r.has_part, "created/duplicate only with an own response part");
      require(r.part.status >= 200 && r.part.status <= 499, "created/duplicate from a 2xx/4xx part");
    }
    if (o == ib::core::AnswerClass::throttled) require(r.classification.retry_after.has_value(), "throttled has a wait");
  }
  return 0;
}
