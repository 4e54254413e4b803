#include "invoice/invoice_codec.hpp"
#include "invoice/invoice_keys.hpp"
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
  const auto m = map_invoice(sample(), MappingConfig{}, "");
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
  const auto m = map_invoice(sample(), c, "");
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
  CHECK_FALSE(boost::json::parse(map_invoice(sample(), c, "").body).as_object().contains("VendorInvoiceLines"));
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

namespace {

// The Finance and Operations mapping (what d365.profile finance_operations sets; the line
// property names are the struct's defaults).
MappingConfig fno_mapping() {
  MappingConfig m;
  m.entity_set = "VendorInvoiceHeaders";
  m.key_properties = {"dataAreaId", "HeaderReference"};
  m.company_property = "dataAreaId";
  m.header_reference_property = "HeaderReference";
  m.description_property = "InvoiceDescription";
  m.amount_property = "";
  m.tax_property = "";
  m.lines_format = LinesFormat::entities;
  m.lines_entity_set = "VendorInvoiceLines";
  return m;
}

struct EntitiesRow {
  const char* name;
  const char* payload;
  const char* dedup_key;
  const char* reference;  // header_reference(dedup_key), from Python's hashlib
  std::string header;
  std::vector<std::string> lines;
};

}  // namespace

TEST_CASE("map_invoice: F&O entities: a header without total, one record per line, the reference from the key") {
  const EntitiesRow rows[] = {
      {"no lines: the header alone",
       R"({"vendor_account":"V-1","invoice_number":"INV-0","company":"usmf","invoice_date":"2026-01-31",
           "currency":"eur","amount":"0"})",
       "USMF|V-1|INV-0", "IB6E833DA1EA51AE1224",
       R"({"VendorAccount":"V-1","InvoiceNumber":"INV-0","dataAreaId":"usmf","HeaderReference":"IB6E833DA1EA51AE1224",)"
       R"("InvoiceDate":"2026-01-31","Currency":"EUR"})",
       {}},
      {"one line with every field; total and tax not sent; strings escaped; 38 digits exact",
       R"({"vendor_account":"V-1","invoice_number":"INV-1","company":"usmf","invoice_date":"2026-01-31",
           "due_date":"2026-02-28","currency":"EUR","amount":"12345678901234567890.123456789012345678","tax":19,
           "description":"Nov \"ü\" \\ end",
           "lines":[{"line_number":"7","item":"W-1","description":"Wid\"gets\tA","quantity":"3.000",
                     "unit_price":"4115226300411522630.041152263004115226","amount":"12345678901234567890.123456789012345678"}]})",
       "USMF|V-1|INV-1", "IB4B6D26287C83BF5084",
       R"({"VendorAccount":"V-1","InvoiceNumber":"INV-1","dataAreaId":"usmf","HeaderReference":"IB4B6D26287C83BF5084",)"
       R"("InvoiceDate":"2026-01-31","DueDate":"2026-02-28","Currency":"EUR","InvoiceDescription":"Nov \"ü\" \\ end"})",
       {R"({"dataAreaId":"usmf","HeaderReference":"IB4B6D26287C83BF5084","InvoiceLineNumber":1,"ItemNumber":"W-1",)"
        R"("LineDescription":"Wid\"gets\tA","ReceiveNow":3,"UnitPrice":4115226300411522630.041152263004115226,)"
        R"("Amount":12345678901234567890.123456789012345678})"}},
      {"three lines: numbered by position, the input's line numbers ignored; absent fields omitted",
       R"({"vendor_account":"V-2","invoice_number":"INV-3","company":"USMF","invoice_date":"2026-03-01",
           "currency":"USD","amount":"99.5",
           "lines":[{"line_number":"10","amount":"100.50","quantity":1e2},
                    {"amount":-1,"item":"CR"},
                    {"line_number":"x","amount":0,"unit_price":"0.10","description":"last"}]})",
       "USMF|V-2|INV-3", "IBD90E0BFEB513BFB76D",
       R"({"VendorAccount":"V-2","InvoiceNumber":"INV-3","dataAreaId":"USMF","HeaderReference":"IBD90E0BFEB513BFB76D",)"
       R"("InvoiceDate":"2026-03-01","Currency":"USD"})",
       {R"({"dataAreaId":"USMF","HeaderReference":"IBD90E0BFEB513BFB76D","InvoiceLineNumber":1,"ReceiveNow":100,"Amount":100.5})",
        R"({"dataAreaId":"USMF","HeaderReference":"IBD90E0BFEB513BFB76D","InvoiceLineNumber":2,"ItemNumber":"CR","Amount":-1})",
        R"({"dataAreaId":"USMF","HeaderReference":"IBD90E0BFEB513BFB76D","InvoiceLineNumber":3,"LineDescription":"last",)"
        R"("UnitPrice":0.1,"Amount":0})"}},
  };
  const auto config = fno_mapping();
  REQUIRE(config.validate().empty());
  for (const auto& row : rows) {
    INFO(row.name);
    const auto inv = decode_json(row.payload, {});
    REQUIRE(inv.has_value());
    REQUIRE(dedup_key(*inv, {}) == row.dedup_key);
    const auto m = map_invoice(*inv, config, row.dedup_key);
    CHECK(m.entity_set == "VendorInvoiceHeaders");
    CHECK(m.key == std::vector<std::pair<std::string, std::string>>{{"dataAreaId", inv->company},
                                                                      {"HeaderReference", row.reference}});
    CHECK(m.body == row.header);
    REQUIRE(m.lines.size() == row.lines.size());
    for (std::size_t i = 0; i < m.lines.size(); ++i) {
      INFO("line " << i + 1);
      CHECK(m.lines[i].entity_set == "VendorInvoiceLines");
      CHECK(m.lines[i].body == row.lines[i]);
      boost::system::error_code ec;
      CHECK(boost::json::parse(m.lines[i].body, ec).is_object());
      CHECK_FALSE(ec);
    }
  }
}

TEST_CASE("map_invoice: entities with decimals as strings, no company property, renamed line properties") {
  auto c = fno_mapping();
  c.decimals_as_strings = true;
  c.company_property = "";
  c.key_properties = {"HeaderReference"};
  c.line_number_property = "LineNum";
  c.line_item_property = "";  // not sent
  c.line_quantity_property = "Qty";
  REQUIRE(c.validate().empty());
  const auto inv = decode_json(R"({"vendor_account":"V-2","invoice_number":"INV-3","company":"USMF",
                                   "invoice_date":"2026-03-01","currency":"USD","amount":"99.5",
                                   "lines":[{"amount":"100.50","quantity":2,"item":"W"}]})",
                               {})
                       .value();
  const auto m = map_invoice(inv, c, "V-2|INV-3");
  CHECK(m.key == std::vector<std::pair<std::string, std::string>>{{"HeaderReference", "IBC2F18E0BAE2C40D697"}});
  CHECK(m.body == R"({"VendorAccount":"V-2","InvoiceNumber":"INV-3","HeaderReference":"IBC2F18E0BAE2C40D697",)"
                  R"("InvoiceDate":"2026-03-01","Currency":"USD"})");
  REQUIRE(m.lines.size() == 1);
  CHECK(m.lines[0].body == R"({"HeaderReference":"IBC2F18E0BAE2C40D697","LineNum":1,"Qty":"2","Amount":"100.5"})");
  // The header reference may also go to a Dataverse-style record (no lines as entities).
  MappingConfig plain;
  plain.header_reference_property = "Reference";
  plain.lines_format = LinesFormat::omit;
  REQUIRE(plain.validate().empty());
  const auto p = map_invoice(inv, plain, "V-2|INV-3");
  CHECK(p.body.find(R"("Company":"USMF","Reference":"IBC2F18E0BAE2C40D697","InvoiceDate")") != std::string::npos);
  CHECK(p.lines.empty());
}

TEST_CASE("MappingConfig::validate: lines as entities, the header reference, an empty amount") {
  struct Row {
    const char* name;
    void (*change)(MappingConfig&);
    std::vector<std::string> want;
  };
  const Row rows[] = {
      {"the F&O mapping is valid", [](MappingConfig&) {}, {}},
      {"entities needs the lines' entity set", [](MappingConfig& c) { c.lines_entity_set = ""; },
       {"mapping.lines_entity_set: required with lines_format entities (the lines' entity set, e.g. "
        "VendorInvoiceLines)"}},
      {"a lines entity set that is no identifier", [](MappingConfig& c) { c.lines_entity_set = "Vendor Lines"; },
       {"mapping.lines_entity_set: 'Vendor Lines' is not an OData identifier (letters, digits, _)"}},
      {"lines and header in one set", [](MappingConfig& c) { c.lines_entity_set = "VendorInvoiceHeaders"; },
       {"mapping.lines_entity_set: must differ from mapping.entity_set ('VendorInvoiceHeaders')"}},
      {"entities needs the header reference",
       [](MappingConfig& c) {
         c.header_reference_property = "";
         c.key_properties = {"dataAreaId", "InvoiceNumber"};
       },
       {"mapping.header_reference_property: required with lines_format entities (the line records find their "
        "header by it)"}},
      {"line number and amount are required",
       [](MappingConfig& c) {
         c.line_number_property = "";
         c.line_amount_property = "";
       },
       {"mapping.line_number_property: required with lines_format entities",
        "mapping.line_amount_property: required with lines_format entities"}},
      {"a line property twice, or as the company",
       [](MappingConfig& c) {
         c.line_unit_price_property = "Amount";
         c.line_item_property = "dataAreaId";
       },
       {"mapping.line_item_property: property 'dataAreaId' is mapped twice in a line record (which also "
        "carries the company and header reference properties)",
        "mapping.line_amount_property: property 'Amount' is mapped twice in a line record (which also carries "
        "the company and header reference properties)"}},
      {"a bad line property name", [](MappingConfig& c) { c.line_quantity_property = "Receive Now"; },
       {"mapping.line_quantity_property: 'Receive Now' is not a property name (letters, digits, _, @, .)"}},
      {"header reference mapped twice",
       [](MappingConfig& c) {
         c.header_reference_property = "InvoiceNumber";
         c.key_properties = {"dataAreaId", "InvoiceNumber"};
       },
       {"mapping.header_reference_property: property 'InvoiceNumber' is mapped twice"}},
      {"without entities the amount is required",
       [](MappingConfig& c) { c.lines_format = LinesFormat::omit; },
       {"mapping.amount_property: required (only lines_format entities may leave it empty: its lines carry the "
        "amounts)"}},
      {"without entities the line keys are not checked",
       [](MappingConfig& c) {
         c.lines_format = LinesFormat::omit;
         c.amount_property = "Total";
         c.lines_entity_set = "";
         c.line_number_property = "";
       },
       {}},
      {"a key property that is nothing mapped",
       [](MappingConfig& c) { c.key_properties = {"dataAreaId", "HeaderRef"}; },
       {"mapping.key_properties: 'HeaderRef' is neither the vendor account, invoice number, company or header "
        "reference property nor a fixed property"}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    auto c = fno_mapping();
    row.change(c);
    CHECK(c.validate() == row.want);
  }
  CHECK(parse_lines_format("entities") == LinesFormat::entities);
  CHECK(to_string(LinesFormat::entities) == "entities");
}
