#include "odata/classify.hpp"

#include <catch2/catch.hpp>

using namespace ib::odata;
using std::chrono::seconds;

namespace {

struct Row {
  int status;
  const char* code;
  bool part;
  TransportFailure transport;
  bool refreshed;
  std::optional<seconds> retry_after;
  Outcome want;
  std::optional<seconds> want_wait;
};

}  // namespace

TEST_CASE("classify: the outcome table, row by row") {
  const auto none = TransportFailure::none;
  const Row rows[] = {
      {201, "", true, none, false, {}, Outcome::created, {}},
      {204, "", true, none, false, {}, Outcome::created, {}},
      {200, "", true, none, false, {}, Outcome::created, {}},
      // Dataverse's duplicate alternate key, any case of the hex code
      {412, "0x80040237", true, none, false, {}, Outcome::duplicate, {}},
      {412, "0X80040237", true, none, false, {}, Outcome::duplicate, {}},
      {409, "", true, none, false, {}, Outcome::duplicate, {}},
      {409, "0x12345678", true, none, false, {}, Outcome::duplicate, {}},
      {400, "0x80040237", true, none, false, {}, Outcome::duplicate, {}},
      // 412 without the duplicate code is not a duplicate by default
      {412, "", true, none, false, {}, Outcome::permanent, {}},
      {412, "0x80060882", true, none, false, {}, Outcome::permanent, {}},
      // throttling: Retry-After kept, defaulted, capped
      {429, "0x80072322", true, none, false, seconds(17), Outcome::throttled, seconds(17)},
      {429, "", true, none, false, {}, Outcome::throttled, seconds(5)},
      {429, "", true, none, false, seconds(100000), Outcome::throttled, seconds(300)},
      // transient
      {500, "", true, none, false, {}, Outcome::transient, {}},
      {502, "", true, none, false, {}, Outcome::transient, {}},
      {503, "", true, none, false, seconds(3), Outcome::transient, {}},
      {504, "", true, none, false, {}, Outcome::transient, {}},
      {408, "", true, none, false, {}, Outcome::transient, {}},
      {0, "", true, none, false, {}, Outcome::transient, {}},
      {302, "", true, none, false, {}, Outcome::transient, {}},
      {0, "", true, TransportFailure::timeout, false, {}, Outcome::transient, {}},
      {0, "", true, TransportFailure::connection_reset, false, {}, Outcome::transient, {}},
      {0, "", false, TransportFailure::connect_failed, false, {}, Outcome::transient, {}},
      {201, "", true, TransportFailure::protocol_error, false, {}, Outcome::transient, {}},
      // a request without a response part
      {0, "", false, none, false, {}, Outcome::not_processed, {}},
      {200, "", false, none, false, {}, Outcome::not_processed, {}},
      // 401: refresh once, then permanent
      {401, "", true, none, false, {}, Outcome::unauthorized, {}},
      {401, "", true, none, true, {}, Outcome::permanent, {}},
      // permanent
      {400, "0x80044331", true, none, false, {}, Outcome::permanent, {}},
      {403, "", true, none, false, {}, Outcome::permanent, {}},
      {404, "", true, none, false, {}, Outcome::permanent, {}},
      {405, "", true, none, false, {}, Outcome::permanent, {}},
      {413, "", true, none, false, {}, Outcome::permanent, {}},
      {422, "", true, none, false, {}, Outcome::permanent, {}},
  };
  const ClassifyConfig config;
  for (const auto& r : rows) {
    ClassifyInput in;
    in.status = r.status;
    in.error_code = r.code;
    in.part_present = r.part;
    in.transport = r.transport;
    in.after_token_refresh = r.refreshed;
    in.retry_after = r.retry_after;
    INFO("status " << r.status << " code '" << r.code << "' part " << r.part << " transport "
                   << to_string(r.transport) << " refreshed " << r.refreshed);
    const auto c = classify(in, config);
    CHECK(to_string(c.outcome) == to_string(r.want));
    CHECK(c.retry_after == r.want_wait);
  }
}

TEST_CASE("classify: configured duplicate codes and statuses") {
  ClassifyConfig config;
  config.duplicate_codes.push_back("0x80060892");
  config.duplicate_statuses = {409, 412};
  ClassifyInput in;
  in.status = 400;
  in.error_code = "0x80060892";
  CHECK(classify(in, config).outcome == Outcome::duplicate);
  in.status = 412;
  in.error_code = "";
  CHECK(classify(in, config).outcome == Outcome::duplicate);
  // a duplicate code on a 5xx is still a server failure
  in.status = 500;
  in.error_code = "0x80040237";
  CHECK(classify(in, config).outcome == Outcome::transient);
  // no duplicate statuses at all: 409 is permanent
  config.duplicate_statuses.clear();
  in.status = 409;
  in.error_code = "";
  CHECK(classify(in, config).outcome == Outcome::permanent);
}

TEST_CASE("ClassifyConfig::validate reports every problem") {
  ClassifyConfig c;
  CHECK(c.validate().empty());
  c.duplicate_codes = {""};
  c.duplicate_statuses = {200, 429};
  c.max_retry_after = seconds(1);
  const auto p = c.validate();
  CHECK(p.size() == 4);
}
