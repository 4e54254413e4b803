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
  std::optional<seconds> retry_after;
  ib::core::AnswerClass want;
  std::optional<seconds> want_wait;
};

}  // namespace

TEST_CASE("classify: the outcome table, row by row") {
  const auto none = TransportFailure::none;
  const Row rows[] = {
      {201, "", true, none, {}, ib::core::AnswerClass::created, {}},
      {204, "", true, none, {}, ib::core::AnswerClass::created, {}},
      {200, "", true, none, {}, ib::core::AnswerClass::created, {}},
      // Dataverse's duplicate alternate key, any case of the hex code
      {412, "0x80040237", true, none, {}, ib::core::AnswerClass::duplicate, {}},
      {412, "0X80040237", true, none, {}, ib::core::AnswerClass::duplicate, {}},
      {409, "", true, none, {}, ib::core::AnswerClass::duplicate, {}},
      {409, "0x12345678", true, none, {}, ib::core::AnswerClass::duplicate, {}},
      {400, "0x80040237", true, none, {}, ib::core::AnswerClass::duplicate, {}},
      // 412 without the duplicate code is not a duplicate by default
      {412, "", true, none, {}, ib::core::AnswerClass::permanent, {}},
      {412, "0x80060882", true, none, {}, ib::core::AnswerClass::permanent, {}},
      // throttling: Retry-After kept, defaulted, capped
      {429, "0x80072322", true, none, seconds(17), ib::core::AnswerClass::throttled, seconds(17)},
      {429, "", true, none, {}, ib::core::AnswerClass::throttled, seconds(5)},
      {429, "", true, none, seconds(100000), ib::core::AnswerClass::throttled, seconds(300)},
      // transient
      {500, "", true, none, {}, ib::core::AnswerClass::transient, {}},
      {502, "", true, none, {}, ib::core::AnswerClass::transient, {}},
      {503, "", true, none, seconds(3), ib::core::AnswerClass::transient, {}},
      {504, "", true, none, {}, ib::core::AnswerClass::transient, {}},
      {408, "", true, none, {}, ib::core::AnswerClass::transient, {}},
      {0, "", true, none, {}, ib::core::AnswerClass::transient, {}},
      {302, "", true, none, {}, ib::core::AnswerClass::transient, {}},
      {0, "", true, TransportFailure::timeout, {}, ib::core::AnswerClass::transient, {}},
      {0, "", true, TransportFailure::connection_reset, {}, ib::core::AnswerClass::transient, {}},
      {0, "", false, TransportFailure::connect_failed, {}, ib::core::AnswerClass::transient, {}},
      {201, "", true, TransportFailure::protocol_error, {}, ib::core::AnswerClass::transient, {}},
      // a request without a response part
      {0, "", false, none, {}, ib::core::AnswerClass::not_processed, {}},
      {200, "", false, none, {}, ib::core::AnswerClass::not_processed, {}},
      // 401: the transport (http::AuthorizedTransport) refreshed the token once already
      {401, "", true, none, {}, ib::core::AnswerClass::permanent, {}},
      // permanent
      {400, "0x80044331", true, none, {}, ib::core::AnswerClass::permanent, {}},
      {403, "", true, none, {}, ib::core::AnswerClass::permanent, {}},
      {404, "", true, none, {}, ib::core::AnswerClass::permanent, {}},
      {405, "", true, none, {}, ib::core::AnswerClass::permanent, {}},
      {413, "", true, none, {}, ib::core::AnswerClass::permanent, {}},
      {422, "", true, none, {}, ib::core::AnswerClass::permanent, {}},
  };
  const ClassifyConfig config;
  for (const auto& r : rows) {
    ClassifyInput in;
    in.status = r.status;
    in.error_code = r.code;
    in.part_present = r.part;
    in.transport = r.transport;
    in.retry_after = r.retry_after;
    INFO("status " << r.status << " code '" << r.code << "' part " << r.part << " transport "
                   << to_string(r.transport));
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
  CHECK(classify(in, config).outcome == ib::core::AnswerClass::duplicate);
  in.status = 412;
  in.error_code = "";
  CHECK(classify(in, config).outcome == ib::core::AnswerClass::duplicate);
  // a duplicate code on a 5xx is still a server failure
  in.status = 500;
  in.error_code = "0x80040237";
  CHECK(classify(in, config).outcome == ib::core::AnswerClass::transient);
  // no duplicate statuses at all: 409 is permanent
  config.duplicate_statuses.clear();
  in.status = 409;
  in.error_code = "";
  CHECK(classify(in, config).outcome == ib::core::AnswerClass::permanent);
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

TEST_CASE("classify: duplicate messages (F&O): in error.message or innererror.message, 4xx or 500") {
  const std::string dup =
      "Write failed for table row of type 'VendorInvoiceHeaderEntity'. Infolog: Error: Cannot create a record in "
      "Pending vendor invoice header (VendInvoiceInfoTable). The record already exists.";
  struct MessageRow {
    int status;
    std::string message;
    std::string inner;
    ib::core::AnswerClass want;
  };
  const MessageRow rows[] = {
      {400, "An error has occurred.", dup, ib::core::AnswerClass::duplicate},
      {400, dup, "", ib::core::AnswerClass::duplicate},
      {409, "An error has occurred.", dup, ib::core::AnswerClass::duplicate},
      {412, "", "the RECORD already EXISTS.", ib::core::AnswerClass::duplicate},  // ASCII case-insensitive
      {422, "x", "The record already exists", ib::core::AnswerClass::duplicate},
      // F&O may answer a failed write with 500: with the text, a duplicate; other 5xx are not
      {500, "An error has occurred.", dup, ib::core::AnswerClass::duplicate},
      {500, "An error has occurred.", "Deadlock", ib::core::AnswerClass::transient},
      {502, "", dup, ib::core::AnswerClass::transient},
      {503, dup, dup, ib::core::AnswerClass::transient},
      // earlier rows win
      {429, "", dup, ib::core::AnswerClass::throttled},
      {201, "", dup, ib::core::AnswerClass::created},
      // other refusals
      {400, "An error has occurred.", "Field 'Vendor account' must be filled in.", ib::core::AnswerClass::permanent},
      {400, "The record already exist", "", ib::core::AnswerClass::permanent},  // not the whole text
      {400, "", "", ib::core::AnswerClass::permanent},
  };
  ClassifyConfig config;
  config.duplicate_messages = {"The record already exists"};
  for (const auto& r : rows) {
    ClassifyInput in;
    in.status = r.status;
    in.error_message = r.message;
    in.inner_error_message = r.inner;
    INFO("status " << r.status << " message '" << r.message << "' inner '" << r.inner << "'");
    CHECK(to_string(classify(in, config).outcome) == to_string(r.want));
  }
  // Without duplicate texts (the Dataverse default) a text decides nothing.
  ClassifyInput text_only;
  text_only.status = 400;
  text_only.inner_error_message = dup;
  CHECK(classify(text_only, ClassifyConfig{}).outcome == ib::core::AnswerClass::permanent);
  text_only.status = 500;
  CHECK(classify(text_only, ClassifyConfig{}).outcome == ib::core::AnswerClass::transient);
  // A part that never came is not processed, whatever the texts.
  ClassifyInput missing;
  missing.part_present = false;
  missing.inner_error_message = dup;
  CHECK(classify(missing, config).outcome == ib::core::AnswerClass::not_processed);
}

TEST_CASE("ClassifyConfig::validate refuses empty or blank duplicate messages") {
  ClassifyConfig c;
  c.duplicate_messages = {"The record already exists", "", " \t"};
  CHECK(c.validate() == std::vector<std::string>{
                            "odata.classify.duplicate_messages: empty or blank text (it would match every error)",
                            "odata.classify.duplicate_messages: empty or blank text (it would match every error)"});
}
