#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_keys.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace ib::invoice;

namespace {

Invoice parse(std::string_view json) { return decode_json(json, {}).value(); }

Invoice base() {
  return parse(R"({"vendor_account":"V-1","invoice_number":"inv-7","company":"usmf","invoice_date":"2026-01-01",
                  "currency":"EUR","amount":100,"lines":[{"amount":60,"quantity":2},{"amount":40}]})");
}

}  // namespace

TEST_CASE("dedup_key: trimmed, cased, unambiguous") {
  Invoice inv = base();
  inv.vendor_account = "  V-1\t";
  CHECK(dedup_key(inv, {}) == "USMF|V-1|INV-7");
  CHECK(dedup_key(inv, {KeyCase::lower, true}) == "usmf|v-1|inv-7");
  CHECK(dedup_key(inv, {KeyCase::preserve, true}) == "usmf|V-1|inv-7");
  CHECK(dedup_key(inv, {KeyCase::upper, false}) == "V-1|INV-7");
  // Separators and escapes inside values cannot make two different triples collide.
  Invoice a = base(), b = base();
  a.vendor_account = "A|B";
  a.invoice_number = "C";
  b.vendor_account = "A";
  b.invoice_number = "B|C";
  CHECK(dedup_key(a, {}) != dedup_key(b, {}));
  CHECK(dedup_key(a, {}) == "USMF|A\\|B|C");
  a.vendor_account = "A\\";
  a.invoice_number = "|C";
  b.vendor_account = "A\\|";
  b.invoice_number = "C";
  CHECK(dedup_key(a, {}) != dedup_key(b, {}));
  // Non-ASCII bytes are kept as they are.
  a.invoice_number = "Größe";
  CHECK(dedup_key(a, {}).find("GRößE") != std::string::npos);
}

TEST_CASE("fingerprint: stable across field order and number spelling") {
  const auto f = fingerprint(base());
  CHECK(f.size() == 64);
  CHECK(f.find_first_not_of("0123456789abcdef") == std::string::npos);
  const auto same = parse(R"({"lines":[{"amount":"40.00"},{"quantity":"2.0","amount":6e1}],"amount":"1e2",
                             "currency":"EUR","invoice_date":"2026-01-01","company":"OTHER","invoice_number":"X",
                             "vendor_account":"Y","description":"not money","extra":{"k":"v"}})");
  CHECK(fingerprint(same) == f);
}

TEST_CASE("fingerprint: changes with any money field") {
  const auto f = fingerprint(base());
  std::set<std::string> seen{f};
  auto changed = [&](auto mutate) {
    Invoice inv = base();
    mutate(inv);
    return seen.insert(fingerprint(inv)).second;
  };
  CHECK(changed([](Invoice& i) { i.amount = Decimal::parse("100.01").value(); }));
  CHECK(changed([](Invoice& i) { i.currency = "USD"; }));
  CHECK(changed([](Invoice& i) { i.tax = Decimal::parse("0").value(); }));
  CHECK(changed([](Invoice& i) { i.invoice_date = Date{2026, 1, 2}; }));
  CHECK(changed([](Invoice& i) { i.due_date = Date{2026, 1, 2}; }));
  CHECK(changed([](Invoice& i) { i.lines[0].amount = Decimal::parse("61").value(); }));
  CHECK(changed([](Invoice& i) { i.lines[0].quantity.reset(); }));
  CHECK(changed([](Invoice& i) { i.lines[1].unit_price = Decimal::parse("40").value(); }));
  CHECK(changed([](Invoice& i) { i.lines[1].item = "SKU"; }));
  CHECK(changed([](Invoice& i) { i.lines.pop_back(); }));
  CHECK(changed([](Invoice& i) { i.amount = Decimal::parse("-100").value(); }));
}

TEST_CASE("header_reference: IB + the first 18 upper-case hex digits of SHA-256(dedup key)") {
  // Expected values: Python's hashlib.sha256(key.encode()).hexdigest()[:18].upper().
  const std::pair<std::string, std::string> rows[] = {
      {"USMF|V-1|A'B/C", "IBDC797812744DCC5021"},
      {"USMF|V-1000|INV-2026-0001", "IB7D6E13379280745C9F"},
      {"", "IBE3B0C44298FC1C149A"},  // SHA-256 of nothing: e3b0c442...
  };
  for (const auto& [key, want] : rows) {
    INFO(key);
    CHECK(header_reference(key) == want);
    CHECK(header_reference(key).size() == 20);
  }
  // The reference follows the dedup key, so the key's case rule decides what collides.
  Invoice inv = base();
  CHECK(header_reference(dedup_key(inv, {})) == header_reference("USMF|V-1|INV-7"));
  CHECK(header_reference(dedup_key(inv, {KeyCase::preserve, true})) != header_reference(dedup_key(inv, {})));
  inv.company = "DEMF";
  CHECK(header_reference(dedup_key(inv, {})) != header_reference("USMF|V-1|INV-7"));
}
