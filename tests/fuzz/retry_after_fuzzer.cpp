// libFuzzer target: odata::parse_retry_after (a 429's Retry-After header value, whole batch
// or per part). Invariants: never throws; a value is accepted only as delta-seconds (digits,
// optional surrounding blanks), is never negative and equals the digits' value; anything
// else (HTTP-date, sign, fraction, garbage) is nullopt. The classified wait is then always
// within [0, max_retry_after].

#include "fuzz_check.hpp"

#include "odata/batch_reader.hpp"
#include "odata/classify.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ib::odata;
  using ib::fuzz::require;
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  try {
    const auto parsed = parse_retry_after(value);
    if (parsed) {
      require(parsed->count() >= 0, "never negative");
      std::int64_t digits = 0;
      std::size_t seen = 0;
      for (char c : value) {
        if (c >= '0' && c <= '9') {
          digits = digits * 10 + (c - '0');
          ++seen;
        } else {
          require(c == ' ' || c == '\t' || c == '\r' || c == '\n', "only digits and blanks are accepted");
        }
      }
      require(seen > 0 && seen <= 9, "one short run of digits");
      require(parsed->count() == digits, "the value the digits say");
    }
    ClassifyInput in;
    in.status = 429;
    in.part_present = true;
    in.retry_after = parsed;
    ClassifyConfig cfg;
    const auto c = classify(in, cfg);
    require(c.outcome == ib::core::AnswerClass::throttled, "429 is throttled");
    require(c.retry_after && c.retry_after->count() >= 0 && *c.retry_after <= cfg.max_retry_after,
            "the wait is capped");
  } catch (...) {
    require(false, "parse_retry_after threw");
  }
  return 0;
}
