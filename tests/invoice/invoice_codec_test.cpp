#include "invoice/invoice_codec.hpp"

#include "invoice.pb.h"

#include <catch2/catch.hpp>

using namespace ib::invoice;

namespace {

const char* const kGood = R"({
  "vendor_account": " V-1000 ",
  "invoice_number": "INV-2026-0001",
  "company": "USMF",
  "invoice_date": "2026-11-01",
  "due_date": "2026-12-01",
  "currency": "eur",
  "amount": "1234.50",
  "tax": 19,
  "description": "November",
  "lines": [
    {"line_number": 1, "description": "Widgets", "item": "W-1", "quantity": 3, "unit_price": "300.00", "amount": 900},
    {"description": "Service", "quantity": 1, "unit_price": 334.5, "amount": "334.5"}
  ],
  "extra": {"po": "PO-7", "priority": 2, "urgent": true, "ignored": null}
})";

std::string error_of(std::string_view payload, const DecodeConfig& cfg = {}) {
  auto r = decode_json(payload, cfg);
  REQUIRE_FALSE(r.has_value());
  return r.error().message;
}

std::string with(std::string_view field_and_value) {
  // A valid invoice with one field replaced or added (last member wins is not allowed:
  // we rebuild the object without the field).
  return std::string(R"({"vendor_account":"V","invoice_number":"N","company":"C","invoice_date":"2026-01-01",)"
                     R"("currency":"USD","amount":1)") +
         (field_and_value.empty() ? "" : ",") + std::string(field_and_value) + "}";
}

}  // namespace

TEST_CASE("decode_json: a full invoice") {
  const auto inv = decode_json(kGood, {}).value();
  CHECK(inv.vendor_account == "V-1000");
  CHECK(inv.invoice_number == "INV-2026-0001");
  CHECK(inv.company == "USMF");
  CHECK(inv.invoice_date == Date{2026, 11, 1});
  CHECK(inv.due_date == Date{2026, 12, 1});
  CHECK(inv.currency == "EUR");
  CHECK(inv.amount.to_string() == "1234.5");
  CHECK(inv.tax->to_string() == "19");
  CHECK(inv.description == "November");
  REQUIRE(inv.lines.size() == 2);
  CHECK(inv.lines[0].line_number == "1");
  CHECK(inv.lines[0].item == "W-1");
  CHECK(inv.lines[0].unit_price->to_string() == "300");
  CHECK(inv.lines[1].amount.to_string() == "334.5");
  CHECK_FALSE(inv.lines[1].item.size());
  REQUIRE(inv.extra.size() == 3);  // null dropped, sorted by key
  CHECK(inv.extra[0].first == "po");
  CHECK(inv.extra[1] == std::pair<std::string, FreeValue>{"priority", {FreeValue::Kind::number, "2"}});
  CHECK(inv.extra[2].second.text == "true");
}

TEST_CASE("decode_json: errors name the field") {
  const std::string base_no_amount =
      R"({"vendor_account":"V","invoice_number":"N","company":"C","invoice_date":"2026-01-01","currency":"USD")";
  CHECK(error_of(base_no_amount + R"(,"amount":"abc"})") == R"(amount: expected a decimal number, got string "abc")");
  CHECK(error_of(base_no_amount + R"(,"amount":true})") == "amount: expected a decimal number, got true");
  CHECK(error_of(base_no_amount + "}") == "amount: missing");
  CHECK(error_of(base_no_amount + R"(,"amount":null})") == "amount: missing");
  CHECK(error_of(base_no_amount + R"(,"amount":1e999})") == "amount: exponent out of range");
  CHECK(error_of(with(R"("lines":[{"amount":1},{"amount":2},{"description":"x"}])")) == "lines[2].amount: missing");
  CHECK(error_of(with(R"("lines":[{"amount":1,"quantity":"many"}])")) ==
        R"(lines[0].quantity: expected a decimal number, got string "many")");
  CHECK(error_of(with(R"("lines":{"amount":1})")) == "lines: expected an array, got an object");
  CHECK(error_of(with(R"("lines":[7])")) == "lines[0]: expected an object, got number 7");
  CHECK(error_of(with(R"("due_date":"2026-02-30")")) == R"(due_date: day out of range, got string "2026-02-30")");
  CHECK(error_of(with(R"("due_date":20260101)")) == "due_date: expected a date yyyy-mm-dd, got number 20260101");
  CHECK(error_of(with(R"("extra":{"a":[1]})")) == "extra.a: expected a string, number or boolean, got an array");
  CHECK(error_of(with(R"("extra":{"a\nb\u00e9":[1]})")) ==
        "extra.a\\x0ab\u00e9: expected a string, number or boolean, got an array");
  CHECK(error_of(with(R"("extra":{"k":1,"k":2})")) == "extra.k: duplicate field");
  // A quoted value is cut at 40 bytes, never inside a UTF-8 sequence (fuzzer finding).
  const std::string long_text = std::string(39, 'x') + "\u00e9\u00e9";  // é at bytes 39-40, 41-42
  const std::string cut = error_of(with(R"("due_date":")" + long_text + "\""));
  const std::string cut_end = "got string \"" + std::string(39, 'x') + "...\"";
  CHECK(cut.size() >= cut_end.size());
  CHECK(cut.substr(cut.size() - std::min(cut.size(), cut_end.size())) == cut_end);
  CHECK(is_valid_utf8(error_of("\"" + std::string(39, 'x') + "\u00e9\"")));
  CHECK(error_of(with(R"("amount":2)")) == "amount: duplicate field");
  CHECK(error_of(R"({"invoice_number":"N"})") == "vendor_account: missing");
  CHECK(error_of(R"({"vendor_account":"  ","invoice_number":"N"})") == "vendor_account: empty");
  CHECK(error_of(R"({"vendor_account":7})") == "vendor_account: expected a string, got number 7");
  CHECK(error_of(R"({"vendor_account":"V","invoice_number":"N\u0001"})") ==
        "invoice_number: contains a control character");
  CHECK(error_of(R"({"vendor_account":"V","invoice_number":"N","invoice_date":"2026-01-01"})") == "company: missing");
  CHECK(error_of(R"({"vendor_account":"V","invoice_number":"N","company":"C","currency":"USD","amount":1})") ==
        "invoice_date: missing");
  CHECK(error_of(R"({"vendor_account":"V","invoice_number":"N","company":"C","invoice_date":"2026-01-01","currency":"EURO","amount":1})") ==
        R"(currency: expected an ISO 4217 code (3 letters), got "EURO")");
}

TEST_CASE("decode_json: rejects not JSON, wrong top type, bad UTF-8, oversize, deep nesting") {
  CHECK(error_of("not json").rfind("payload: not JSON:", 0) == 0);
  CHECK(error_of(R"({"a":1,})").rfind("payload: not JSON:", 0) == 0);
  CHECK(error_of(with("") + "x").rfind("payload: not JSON:", 0) == 0);
  CHECK(error_of("[1,2]") == "payload: expected a JSON object, got an array");
  CHECK(error_of("") == "payload: empty");
  CHECK(error_of("{\"vendor_account\":\"V\xff\"}") == "payload: invalid UTF-8 at byte 20");
  CHECK(error_of("{\"vendor_account\":\"\xed\xa0\x80\"}").rfind("payload: invalid UTF-8", 0) == 0);  // surrogate
  CHECK(error_of("{\"vendor_account\":\"\xc0\xaf\"}").rfind("payload: invalid UTF-8", 0) == 0);      // overlong
  DecodeConfig small;
  small.max_payload_bytes = 50;
  CHECK(error_of(kGood, small).rfind("payload: ", 0) == 0);
  CHECK(error_of(kGood, small).find("exceeds the limit of 50") != std::string::npos);
  std::string deep(100, '[');
  CHECK(error_of(deep + std::string(100, ']')).rfind("payload: not JSON:", 0) == 0);
  DecodeConfig few_lines;
  few_lines.max_lines = 1;
  CHECK(error_of(kGood, few_lines) == "lines: 2 lines exceeds the limit of 1");
  DecodeConfig short_strings;
  short_strings.max_string_bytes = 5;
  CHECK(error_of(kGood, short_strings) == "vendor_account: 8 bytes exceeds the limit of 5");
}

TEST_CASE("decode_json: unknown fields, default company") {
  CHECK(decode_json(with(R"("surprise":1)"), {}).has_value());
  DecodeConfig strict;
  strict.reject_unknown_fields = true;
  CHECK(error_of(with(R"("surprise":1)"), strict) == "surprise: unknown field");
  CHECK(error_of(with(R"("sur\tprise":1)"), strict) == "sur\\x09prise: unknown field");
  CHECK(error_of(with(R"("lines":[{"amount":1,"colour":"red"}])"), strict) == "lines[0].colour: unknown field");
  DecodeConfig defaulted;
  defaulted.default_company = "DAT";
  const auto inv =
      decode_json(R"({"vendor_account":"V","invoice_number":"N","invoice_date":"2026-01-01","currency":"USD","amount":1})",
                  defaulted)
          .value();
  CHECK(inv.company == "DAT");
}

TEST_CASE("decode_json: non-ASCII text survives") {
  const auto inv = decode_json(with(R"("description":"Größe 日本 \u00e9")"), {}).value();
  CHECK(inv.description == "Größe 日本 é");
}

TEST_CASE("decode_protobuf: same record, same rules") {
  ib::proto::Invoice msg;
  msg.set_vendor_account("V-1000");
  msg.set_invoice_number("INV-2026-0001");
  msg.set_company("USMF");
  msg.set_invoice_date("2026-11-01");
  msg.set_currency("EUR");
  msg.set_amount("1234.50");
  msg.set_tax("19");
  auto* line = msg.add_lines();
  line->set_amount("900");
  line->set_quantity("3");
  (*msg.mutable_extra())["po"] = "PO-7";
  const std::string wire = msg.SerializeAsString();
  const auto inv = decode_protobuf(wire, {}).value();
  CHECK(inv.vendor_account == "V-1000");
  CHECK(inv.amount.to_string() == "1234.5");
  CHECK_FALSE(inv.due_date);
  REQUIRE(inv.lines.size() == 1);
  CHECK(inv.lines[0].quantity->to_string() == "3");
  CHECK(inv.extra.at(0).second.text == "PO-7");

  DecodeConfig detect;
  detect.format = PayloadFormat::detect;
  CHECK(decode(wire, detect).value() == inv);
  CHECK(decode(kGood, detect).value().invoice_number == "INV-2026-0001");

  msg.set_amount("abc");
  CHECK(decode_protobuf(msg.SerializeAsString(), {}).error().message ==
        R"(amount: expected a decimal number, got string "abc")");
  msg.set_amount("1");
  msg.mutable_lines(0)->clear_amount();
  CHECK(decode_protobuf(msg.SerializeAsString(), {}).error().message == "lines[0].amount: missing");
  CHECK(decode_protobuf("\xff\xff\xff garbage", {}).error().message.rfind("payload: not a valid", 0) == 0);
  msg.mutable_lines(0)->set_amount("1");
  msg.set_invoice_number("AB\xc3(");
  CHECK(decode_protobuf(msg.SerializeAsString(), {}).error().message == "invoice_number: invalid UTF-8 at byte 2");
  msg.set_invoice_number("INV-2026-0001");
  // An `extra` key is free text: in a refusal its bytes are escaped, so the message stays one
  // line of valid UTF-8 (a fuzzer finding: the raw key went into the rejects file).
  (*msg.mutable_extra())["p\xc3(o"] = "AB\xc3(";
  CHECK(decode_protobuf(msg.SerializeAsString(), {}).error().message ==
        "payload: not a valid ib.proto.Invoice message");  // protobuf's own UTF-8 check
  msg.mutable_extra()->erase("p\xc3(o");
  (*msg.mutable_extra())["x\ny"] = "AB\xc3(";
  CHECK(decode_protobuf(msg.SerializeAsString(), {}).error().message == "extra.x\\x0ay: invalid UTF-8 at byte 2");
  msg.set_invoice_number("N");
  msg.mutable_lines(0)->set_description("\xe2\x82");
  CHECK(decode_protobuf(msg.SerializeAsString(), {}).error().message ==
        "lines[0].description: invalid UTF-8 at byte 0");
}

TEST_CASE("DecodeConfig::validate reports every problem") {
  DecodeConfig c;
  CHECK(c.validate().empty());
  c.max_payload_bytes = 0;
  c.max_lines = 0;
  c.max_json_depth = 1;
  CHECK(c.validate().size() == 3);
}
