// Unit: what the operator commands write as JSON (rejects file lines, `review --json`)
// stays valid JSON whatever bytes came in, and keeps the exact bytes.
#include "core/utf8.hpp"
#include "kafka/headers.hpp"
#include "tools/import_command.hpp"
#include "tools/review_command.hpp"
#include "json_output.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace ib;

namespace {

// Ill-formed UTF-8 of every kind, each inside otherwise valid text.
const std::pair<const char*, std::string> kBad[] = {
    {"lone continuation", "INV-\x80-1"},
    {"overlong", "INV-\xC0\xAF-1"},
    {"overlong 3 bytes", "INV-\xE0\x80\xAF-1"},
    {"surrogate", "INV-\xED\xA0\x80-1"},
    {"truncated", "INV-1-\xE2\x82"},
    {"0xFF", "INV-\xFF-1"},
    {"Latin-1", "Caf\xE9 M\xFCller"},
};

boost::json::object parse_object(const std::string& text) {
  INFO(text);
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  return v.as_object();
}

std::string decode64(const boost::json::value& v) {
  std::string out;
  REQUIRE(core::base64_decode(std::string(v.as_string()), out));
  return out;
}

}  // namespace

TEST_CASE("reject: an input line that is not UTF-8 is text with U+FFFD plus invoice_base64",
          "[tools][import][utf8][unit]") {
  for (const auto& [what, bytes] : kBad) {
    INFO(what);
    // Not JSON either way: Boost.JSON's parser refuses the bytes (it validates UTF-8).
    const std::string line = R"({"vendor_account":"V","invoice_number":")" + bytes + R"(","amount":3908.35})";
    const tools::ImportReject r{7, "invalid", 0, "not UTF-8: " + bytes, line};
    const auto o = parse_object(r.to_json());
    CHECK(o.at("line").as_int64() == 7);
    CHECK(o.at("invoice").as_string() == core::to_valid_utf8(line));
    CHECK(decode64(o.at("invoice_base64")) == line);
    CHECK(o.at("error").as_string() == core::to_valid_utf8("not UTF-8: " + bytes));
    CHECK(decode64(o.at("error_base64")) == "not UTF-8: " + bytes);
  }
}

TEST_CASE("reject: valid lines carry no _base64 siblings; JSON stays embedded as it is",
          "[tools][import][utf8][unit]") {
  const tools::ImportReject text{1, "invalid", 0, "not an invoice", "M\xC3\xBCller, no JSON"};
  CHECK(text.to_json() ==
        R"({"line":1,"reason":"invalid","status":0,"error":"not an invoice","invoice":"M)"
        "\xC3\xBC"
        R"(ller, no JSON"})");
  const std::string huge = R"({"amount":123456789012345678901234567890.123456789012345678,"v":"\u00e9"})";
  const tools::ImportReject json{2, "rejected", 400, "bad", huge};
  CHECK(json.to_json() == R"({"line":2,"reason":"rejected","status":400,"error":"bad","invoice":)" + huge + "}");
  // A JSON line with a trailing CR (a CRLF file) is JSON: embedded, still one line.
  const tools::ImportReject crlf{3, "rejected", 400, "bad", "{\"a\": 1.10}\r"};
  CHECK(crlf.to_json() == R"({"line":3,"reason":"rejected","status":400,"error":"bad","invoice":{"a":1.10}})");
}

TEST_CASE("review --json: key, errors, headers and payload that are not UTF-8 keep their bytes",
          "[tools][review][utf8][unit]") {
  for (const auto& [what, bytes] : kBad) {
    INFO(what);
    kafka::Message m;
    m.topic = "invoices.review";
    m.partition = 2;
    m.offset = 17;
    m.key = "V1|" + bytes;
    m.has_key = true;
    m.value = R"({"invoice_number":")" + bytes + R"("})";
    kafka::ReviewInfo info;
    info.reason = kafka::ReviewReason::invalid;
    info.d365_error = "invalid UTF-8 in invoice_number: " + bytes;
    info.origin = {"invoices", 1, 40};
    kafka::encode_review(m.headers, info);
    m.headers.emplace_back("trace-" + bytes, bytes);

    const auto listed = parse_object(tools::review_entry_json(m, false));
    CHECK(listed.at("id").as_string() == "2:17");
    CHECK(listed.at("key").as_string() == core::to_valid_utf8(m.key));
    CHECK(decode64(listed.at("key_base64")) == m.key);
    CHECK(decode64(listed.at("d365_error_base64")) == info.d365_error);
    CHECK_FALSE(listed.contains("payload"));

    const auto shown = parse_object(tools::review_entry_json(m, true));
    CHECK(shown.at("payload").as_string() == core::to_valid_utf8(m.value));
    CHECK(decode64(shown.at("payload_base64")) == m.value);
    const auto& headers = shown.at("headers").as_array();
    const auto& headers64 = shown.at("headers_base64").as_array();
    REQUIRE(headers.size() == m.headers.size());
    REQUIRE(headers64.size() == m.headers.size());
    for (std::size_t i = 0; i < m.headers.size(); ++i) {
      CHECK(headers[i].as_array()[0].as_string() == core::to_valid_utf8(m.headers[i].first));
      CHECK(headers[i].as_array()[1].as_string() == core::to_valid_utf8(m.headers[i].second));
      CHECK(decode64(headers64[i].as_array()[0]) == m.headers[i].first);
      CHECK(decode64(headers64[i].as_array()[1]) == m.headers[i].second);
    }
  }
}

TEST_CASE("review --json: a JSON payload is embedded as it is, on one line", "[tools][review][unit]") {
  kafka::Message m;
  m.key = "V1|INV-1";
  m.has_key = true;
  m.value = "{\n  \"amount\": 12345678901234567890.12345678,\n  \"note\": \"a  b\"\n}\n";
  kafka::ReviewInfo info;
  info.reason = kafka::ReviewReason::rejected;
  info.d365_status = 400;
  info.d365_error = R"({"error":{"code":"0x80040203"}})";
  kafka::encode_review(m.headers, info);
  const auto text = tools::review_entry_json(m, true);
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find(R"("payload":{"amount":12345678901234567890.12345678,"note":"a  b"}})") != std::string::npos);
  const auto o = parse_object(text);
  CHECK_FALSE(o.contains("headers_base64"));
  CHECK_FALSE(o.contains("key_base64"));
  CHECK_FALSE(o.contains("payload_base64"));
}

TEST_CASE("review show: JSON is indented for a person with every token as written", "[tools][review][unit]") {
  using ib::tools::json_output::pretty;
  CHECK(pretty(R"({"amount":3908.35,"big":12345678901234567890.12345678,"e":1E2,"s":"a, {b}: \"c\"","n":null,)"
               R"("l":[1,{}],"o":{},"a":[]})", 0) ==
        "{\n"
        "  \"amount\": 3908.35,\n"
        "  \"big\": 12345678901234567890.12345678,\n"
        "  \"e\": 1E2,\n"
        "  \"s\": \"a, {b}: \\\"c\\\"\",\n"
        "  \"n\": null,\n"
        "  \"l\": [\n"
        "    1,\n"
        "    {}\n"
        "  ],\n"
        "  \"o\": {},\n"
        "  \"a\": []\n"
        "}");
  CHECK(pretty("{ \"error\" : { \"code\" : \"0x80040203\" } }", 1) ==
        "{\n    \"error\": {\n      \"code\": \"0x80040203\"\n    }\n  }");
  CHECK(pretty("42", 0) == "42");
}
