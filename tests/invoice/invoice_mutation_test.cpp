// Bounded, deterministic mutation run over valid payloads: decoding never throws or
// crashes, and whatever decodes maps to a valid JSON body with a well-formed key and
// fingerprint.

#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_keys.hpp"
#include "invoice/invoice_mapping.hpp"

#include "invoice.pb.h"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <random>

using namespace ib::invoice;

namespace {

const char* const kSeed = R"({"vendor_account":"V-1","invoice_number":"A'B/C#1","company":"USMF",
"invoice_date":"2026-01-31","due_date":"2026-02-28","currency":"EUR","amount":"1234.50","tax":1e1,
"description":"Größe","lines":[{"line_number":1,"quantity":3,"unit_price":"411.5","amount":1234.5}],
"extra":{"po":"PO-7","n":-2.50,"b":false}})";

void check_decoded(const Result<Invoice>& r, std::size_t& ok) {
  if (!r) {
    REQUIRE_FALSE(r.error().message.empty());
    return;
  }
  ++ok;
  const auto m = map_invoice(*r, MappingConfig{}, dedup_key(*r, KeyConfig{}));
  boost::system::error_code ec;
  const auto v = boost::json::parse(m.body, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  REQUIRE(fingerprint(*r).size() == 64);
  REQUIRE_FALSE(dedup_key(*r, KeyConfig{}).empty());
}

}  // namespace

TEST_CASE("decoders survive 10000 mutated payloads each") {
  std::mt19937 rng(7);
  static const char* const kTokens[] = {"\"", "{", "}", "[", "]", ",", ":", "1e400", "-", ".", "null", "\\u0000",
                                        "\xff", "\xc3", "\xe2\x82", "9999999999999999999999999999999999999999"};
  std::size_t ok = 0;
  const DecodeConfig cfg;
  for (int i = 0; i < 10000; ++i) {
    std::string s = kSeed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (s.size() + 1);
      switch (rng() % 4) {
        case 0: if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng()); break;
        case 1: s.insert(pos, kTokens[rng() % (sizeof kTokens / sizeof kTokens[0])]); break;
        case 2: if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8); break;
        default: s.resize(pos); break;
      }
    }
    check_decoded(decode_json(s, cfg), ok);
  }
  ib::proto::Invoice msg;
  msg.set_vendor_account("V");
  msg.set_invoice_number("N");
  msg.set_company("C");
  msg.set_invoice_date("2026-01-01");
  msg.set_currency("USD");
  msg.set_amount("1.5");
  msg.add_lines()->set_amount("1.5");
  const std::string wire = msg.SerializeAsString();
  for (int i = 0; i < 10000; ++i) {
    std::string s = wire;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (s.size() + 1);
      if (rng() % 2 && !s.empty()) {
        s[pos % s.size()] = static_cast<char>(rng());
      } else {
        s.resize(pos);
      }
    }
    check_decoded(decode_protobuf(s, cfg), ok);
  }
  CHECK(ok > 100);  // the mutations leave some payloads valid, so the mapping path runs too
}
