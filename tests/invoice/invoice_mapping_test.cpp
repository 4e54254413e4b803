#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_mapping.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

using namespace ib::invoice;

namespace {

Invoice sample() {
  return decode_json(R"({"vendor_account":"V-1","invoice_number":"A'B/C","company":"USMF","invoice_date":"2026-01-31",
                        "due_date":"2026-02-28","currency":"EUR","amount":"1234.50","tax":"0.10",
                        "lines":[{"line_number":"1","description":"Wid\"gets","quantity":3,"unit_price":"411.5","amount":1234.5}],
                        "extra":{"po":"PO-7","prio":2}})",
                     {})
      .value();
}

}  // namespace

TEST_CASE("map_invoice: default mapping to VendorInvoices") {
  const auto m = map_invoice(sample(), MappingConfig{});
  CHECK(m.entity_set == "VendorInvoices");
  CHECK(m.key == std::vector<std::pair<std::string, std::string>>{{"VendorAccount", "V-1"}, {"InvoiceNumber", "A'B/C"}});
  // Exact decimals as JSON number text, properties in a fixed order.
  CHECK(m.body ==
        R"({"VendorAccount":"V-1","InvoiceNumber":"A'B/C","Company":"USMF","InvoiceDate":"2026-01-31",)"
        R"("DueDate":"2026-02-28","Currency":"EUR","Amount":1234.5,"Tax":0.1,)"
        R"("Lines":"[{\"LineNumber\":\"1\",\"Description\":\"Wid\\\"gets\",\"Quantity\":3,\"UnitPrice\":411.5,\"Amount\":1234.5}]"})");
  const auto v = boost::json::parse(m.body);
  const auto lines = boost::json::parse(v.at("Lines").as_string());
  CHECK(lines.at(0).at("Description").as_string() == "Wid\"gets");
}

TEST_CASE("map_invoice: configured names, nested lines, extras, fixed properties, strings for decimals") {
  MappingConfig c;
  c.entity_set = "VendorInvoiceHeaders";
  c.key_properties = {"dataAreaId", "InvoiceAccount", "InvoiceNumber"};
  c.company_property = "dataAreaId";
  c.vendor_account_property = "InvoiceAccount";
  c.tax_property = "";
  c.due_date_property = "";
  c.lines_format = LinesFormat::nested_array;
  c.lines_property = "VendorInvoiceLines";
  c.extra_properties = {{"po", "PurchaseOrder"}, {"prio", "Priority"}, {"absent", "Nope"}};
  c.fixed_properties = {{"Source", "\"bridge\""}, {"Version", "2"}};
  c.decimals_as_strings = true;
  REQUIRE(c.validate().empty());
  const auto m = map_invoice(sample(), c);
  CHECK(m.key == std::vector<std::pair<std::string, std::string>>{
                     {"dataAreaId", "USMF"}, {"InvoiceAccount", "V-1"}, {"InvoiceNumber", "A'B/C"}});
  const auto v = boost::json::parse(m.body).as_object();
  CHECK(v.at("Amount").as_string() == "1234.5");
  CHECK_FALSE(v.contains("Tax"));
  CHECK_FALSE(v.contains("DueDate"));
  CHECK_FALSE(v.contains("Nope"));
  CHECK(v.at("VendorInvoiceLines").at(0).at("Quantity").as_string() == "3");
  CHECK(v.at("PurchaseOrder").as_string() == "PO-7");
  CHECK(v.at("Priority").as_string() == "2");
  CHECK(v.at("Source").as_string() == "bridge");
  CHECK(v.at("Version").as_int64() == 2);

  c.lines_format = LinesFormat::omit;
  CHECK_FALSE(boost::json::parse(map_invoice(sample(), c).body).as_object().contains("VendorInvoiceLines"));
}

TEST_CASE("MappingConfig::validate reports every problem") {
  CHECK(MappingConfig{}.validate().empty());
  MappingConfig c;
  c.entity_set = "Bad Set";
  c.amount_property = "";
  c.tax_property = "Currency";  // mapped twice
  c.key_properties = {"Nowhere"};
  c.fixed_properties = {{"X", "{not json"}, {"Y", "[1]"}};
  const auto p = c.validate();
  CHECK(p.size() == 6);
  for (const auto& s : p) CHECK(s.rfind("mapping.", 0) == 0);
}
