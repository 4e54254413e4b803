// D365Config: the d365.profile defaults, the keys of lines as entities and of duplicate
// messages, and their problems; EntityInvoiceCodec putting an invoice's lines into its write.
#include "d365/d365_config.hpp"
#include "d365/invoice_codec.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace ib;

namespace {

d365::D365Config loaded(const std::string& yaml, config::Environment env = {}) {
  config::ConfigSource source(yaml, "t.yaml", std::move(env));
  d365::D365Config c;
  c.load(source);
  INFO(Catch::Detail::stringify(source.problems()));
  CHECK(source.problems().empty());
  CHECK(source.unknown_keys().empty());
  return c;
}

// Problems of reading and of validating `yaml`, in that order.
std::vector<std::string> problems_of(const std::string& yaml) {
  config::ConfigSource source(yaml, "t.yaml");
  d365::D365Config c;
  c.load(source);
  auto problems = source.problems();
  for (auto& p : c.validate()) problems.push_back(p);
  return problems;
}

std::size_t count_of(const std::vector<std::string>& problems, std::string_view what) {
  return static_cast<std::size_t>(std::count_if(problems.begin(), problems.end(), [&](const std::string& p) {
    return p.find(what) != std::string::npos;
  }));
}

}  // namespace

TEST_CASE("d365 profile: finance_operations sets the F&O defaults; dataverse is the default") {
  const auto dv = loaded("d365: {base_url: 'https://org.crm.dynamics.com'}\n");
  CHECK(dv.profile == d365::Profile::dataverse);
  CHECK(dv.service_root == "/api/data/v9.2");
  CHECK(dv.mapping.entity_set == "VendorInvoices");
  CHECK(dv.mapping.lines_format == invoice::LinesFormat::json_string);
  CHECK(dv.classify.duplicate_messages.empty());
  CHECK(dv.validate().empty());

  const auto c = loaded("d365: {base_url: 'https://env.operations.dynamics.com', profile: finance_operations}\n");
  CHECK(c.profile == d365::Profile::finance_operations);
  CHECK(c.service_url() == "https://env.operations.dynamics.com/data");
  const auto& m = c.mapping;
  CHECK(m.entity_set == "VendorInvoiceHeaders");
  CHECK(m.key_properties == std::vector<std::string>{"dataAreaId", "HeaderReference"});
  CHECK(m.vendor_account_property == "VendorAccount");
  CHECK(m.invoice_number_property == "InvoiceNumber");
  CHECK(m.company_property == "dataAreaId");
  CHECK(m.header_reference_property == "HeaderReference");
  CHECK(m.invoice_date_property == "InvoiceDate");
  CHECK(m.due_date_property == "DueDate");
  CHECK(m.currency_property == "Currency");
  CHECK(m.amount_property.empty());
  CHECK(m.tax_property.empty());
  CHECK(m.description_property == "InvoiceDescription");
  CHECK(m.lines_format == invoice::LinesFormat::entities);
  CHECK(m.lines_entity_set == "VendorInvoiceLines");
  CHECK(m.line_number_property == "InvoiceLineNumber");
  CHECK(m.line_item_property == "ItemNumber");
  CHECK(m.line_description_property == "LineDescription");
  CHECK(m.line_quantity_property == "ReceiveNow");
  CHECK(m.line_unit_price_property == "UnitPrice");
  CHECK(m.line_amount_property == "Amount");
  CHECK(c.classify.duplicate_messages == std::vector<std::string>{"The record already exists"});
  CHECK(c.invoice.max_lines == 999);
  CHECK(dv.invoice.max_lines == 1000);
  CHECK(c.classify.duplicate_codes == std::vector<std::string>{"0x80040237"});
  CHECK(c.odata.operation == odata::Operation::create);
  CHECK_FALSE(c.odata.atomic);
  CHECK(c.validate().empty());
  CHECK(d365::parse_profile("finance_operations") == d365::Profile::finance_operations);
  CHECK(d365::to_string(d365::Profile::dataverse) == "dataverse");
  CHECK_FALSE(d365::parse_profile("fno"));
}

TEST_CASE("d365 profile: explicit keys override the profile's defaults wherever they stand") {
  // The keys before the profile in the file, and after it: the same result.
  const std::string keys = R"(
  service_root: /data/custom
  classify: {duplicate_messages: [already exists, "Duplicate key"]}
  mapping:
    entity_set: VendInvoiceHeaders
    description_property: ''
    header_reference_property: HeaderRef
    key_properties: [dataAreaId, HeaderRef]
    lines_entity_set: VendInvoiceLines
    line_quantity_property: Quantity
    line_item_property: ''
)";
  for (const auto& yaml : {"d365:\n  profile: finance_operations" + keys, "d365:" + keys + "  profile: finance_operations\n"}) {
    INFO(yaml);
    const auto c = loaded(yaml);
    CHECK(c.service_root == "/data/custom");
    CHECK(c.classify.duplicate_messages == std::vector<std::string>{"already exists", "Duplicate key"});
    CHECK(c.mapping.entity_set == "VendInvoiceHeaders");
    CHECK(c.mapping.description_property.empty());
    CHECK(c.mapping.header_reference_property == "HeaderRef");
    CHECK(c.mapping.lines_entity_set == "VendInvoiceLines");
    CHECK(c.mapping.line_quantity_property == "Quantity");
    CHECK(c.mapping.line_item_property.empty());
    // untouched defaults stay the profile's
    CHECK(c.mapping.company_property == "dataAreaId");
    CHECK(c.mapping.line_number_property == "InvoiceLineNumber");
    CHECK(c.mapping.lines_format == invoice::LinesFormat::entities);
    CHECK(c.validate().empty());
  }
  // An environment override of the profile applies its defaults too; file keys still win.
  const auto env = loaded("d365: {mapping: {entity_set: Mine}}\n", {{"IB_D365__PROFILE", "finance_operations"}});
  CHECK(env.service_root == "/data");
  CHECK(env.mapping.entity_set == "Mine");
  // Lines as entities on the Dataverse profile: every line key read (and max_lines set: one
  // change set must fit a $batch).
  const auto dv = loaded(R"(
d365:
  invoice: {max_lines: 500}
  mapping:
    lines_format: entities
    lines_entity_set: new_invoicelines
    header_reference_property: new_reference
    amount_property: ''
    line_number_property: new_linenumber
    line_description_property: new_text
    line_unit_price_property: new_price
    line_amount_property: new_amount
)");
  CHECK(dv.mapping.lines_format == invoice::LinesFormat::entities);
  CHECK(dv.mapping.lines_entity_set == "new_invoicelines");
  CHECK(dv.mapping.line_number_property == "new_linenumber");
  CHECK(dv.mapping.line_description_property == "new_text");
  CHECK(dv.mapping.line_unit_price_property == "new_price");
  CHECK(dv.mapping.line_amount_property == "new_amount");
  CHECK(dv.validate().empty());
}

TEST_CASE("d365 profile: the problems of the profile and of lines as entities name their keys") {
  struct Row {
    const char* name;
    std::string yaml;
    std::vector<std::string> want;
  };
  const Row rows[] = {
      {"an unknown profile", "d365: {profile: fno}",
       {"d365.profile: 'fno' is not one of: dataverse, finance_operations"}},
      {"F&O: the header reference must be a key property",
       "d365: {profile: finance_operations, mapping: {key_properties: [dataAreaId, InvoiceNumber]}}",
       {"d365.mapping.header_reference_property: 'HeaderReference' must be one of d365.mapping.key_properties "
        "with d365.profile finance_operations (VendorInvoiceHeaders are keyed by dataAreaId + HeaderReference)"}},
      {"F&O: the header reference is required",
       "d365: {profile: finance_operations, mapping: {header_reference_property: '', lines_format: omit, "
       "amount_property: Total, key_properties: [dataAreaId]}}",
       {"d365.mapping.header_reference_property: required with d365.profile finance_operations "
        "(VendorInvoiceHeaders are keyed by dataAreaId + HeaderReference)"}},
      {"entities needs the lines' entity set (the mapping's own problem, under its d365 key)",
       "d365: {invoice: {max_lines: 999}, mapping: {lines_format: entities, header_reference_property: Ref, "
       "amount_property: ''}}",
       {"d365.mapping.lines_entity_set: required with lines_format entities (the lines' entity set, e.g. "
        "VendorInvoiceLines)"}},
      {"entities and a bulk message",
       "d365: {odata: {operation: create_multiple, entity_type: vendorinvoice}, invoice: {max_lines: 999}, "
       "mapping: {lines_format: entities, lines_entity_set: Lines, header_reference_property: Ref}}",
       {"d365.mapping.lines_format: entities cannot go with d365.odata.operation create_multiple (a bulk message "
        "carries records of one entity set, not a header with its lines)"}},
      {"entities and atomic",
       "d365: {profile: finance_operations, odata: {atomic: true}}",
       {"d365.mapping.lines_format: entities cannot go with d365.odata.atomic: true (each invoice and its lines are "
        "a change set of their own; in one atomic change set a single refused invoice would roll back every "
        "invoice of the batch)"}},
      {"entities and a PATCH operation",
       "d365: {profile: finance_operations, odata: {operation: upsert}}",
       {"d365.mapping.lines_format: entities needs d365.odata.operation create, not upsert (lines are created "
        "with their header; a PATCH would address each line by a key with its integer line number, which the "
        "bridge does not write)"}},
      {"F&O and a bulk message",
       "d365: {profile: finance_operations, odata: {operation: upsert_multiple, entity_type: x}, mapping: "
       "{lines_format: omit, amount_property: Total}}",
       {"d365.odata.operation: upsert_multiple is a Dataverse message; Finance and Operations has no bulk "
        "messages (d365.profile finance_operations)"}},
      {"entities and more lines than one $batch holds",
       "d365: {profile: finance_operations, invoice: {max_lines: 1000}}",
       {"d365.invoice.max_lines: at most 999 with d365.mapping.lines_format entities (an invoice and its lines "
        "are one change set of 1 + lines operations in one $batch, and D365 takes at most 1000)"}},
      {"a blank duplicate message", "d365: {classify: {duplicate_messages: ['', exists]}}",
       {"d365.classify.duplicate_messages: empty or blank text (it would match every error)"}},
      {"a line property mapped twice",
       "d365: {profile: finance_operations, mapping: {line_item_property: HeaderReference}}",
       {"d365.mapping.line_item_property: property 'HeaderReference' is mapped twice in a line record (which "
        "also carries the company and header reference properties)"}},
      {"an unknown lines format", "d365: {mapping: {lines_format: records}}",
       {"d365.mapping.lines_format: 'records' is not one of: omit, json_string, nested_array, entities"}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    CHECK(problems_of(row.yaml) == row.want);
  }
}

TEST_CASE("d365 config: bulk problems come once, from BulkClientConfig::validate") {
  // No entity type: BulkClientConfig's own message, once; the $batch part's problems once.
  auto p = problems_of("d365: {odata: {operation: upsert_multiple}, request_deadline: 0, mapping: {key_properties: []}}");
  CHECK(count_of(p, "d365.odata.entity_type: required for upsert_multiple (the table's logical name") == 1);
  CHECK(count_of(p, "d365.odata.entity_type") == 1);
  CHECK(count_of(p, "d365.request_deadline: must be positive") == 1);
  CHECK(count_of(p, "d365.mapping.key_properties: operation upsert_multiple addresses records by key") == 1);
  CHECK(count_of(p, "key_properties") == 2);  // the mapping's "at least one property" and the operation's
  // A bad logical name is now checked by check-config too.
  p = problems_of("d365: {odata: {operation: create_multiple, entity_type: 'vendor invoice'}}");
  CHECK(p == std::vector<std::string>{
                 "d365.odata.entity_type: 'vendor invoice' is not a logical name (letters, digits, '_')"});
  CHECK(problems_of("d365: {odata: {operation: create_multiple, entity_type: vendorinvoice}}").empty());
}

TEST_CASE("d365 codec: lines as entities go into the write's lines, one change set with the header") {
  d365::D365Config c;
  c.apply_profile(d365::Profile::finance_operations);
  d365::EntityInvoiceCodec codec(c.invoice, c.key, c.mapping);
  const auto d = codec.decode(R"({"vendor_account":"V-1","invoice_number":"INV-1","company":"usmf",
      "invoice_date":"2026-01-31","currency":"EUR","amount":"30",
      "lines":[{"amount":10,"item":"A"},{"amount":"20.00","quantity":2,"unit_price":10}]})");
  REQUIRE(d.has_value());
  CHECK(d->dedup_key == "USMF|V-1|INV-1");
  CHECK(d->write.entity_set == "VendorInvoiceHeaders");
  CHECK(d->write.key == odata::KeyValues{{"dataAreaId", "usmf"}, {"HeaderReference", "IB4B6D26287C83BF5084"}});
  CHECK(d->write.body ==
        R"({"VendorAccount":"V-1","InvoiceNumber":"INV-1","dataAreaId":"usmf","HeaderReference":"IB4B6D26287C83BF5084",)"
        R"("InvoiceDate":"2026-01-31","Currency":"EUR"})");
  REQUIRE(d->write.lines.size() == 2);
  CHECK(d->write.lines[0].entity_set == "VendorInvoiceLines");
  CHECK(d->write.lines[0].key.empty());
  CHECK(d->write.lines[0].body ==
        R"({"dataAreaId":"usmf","HeaderReference":"IB4B6D26287C83BF5084","InvoiceLineNumber":1,"ItemNumber":"A","Amount":10})");
  CHECK(d->write.lines[1].body ==
        R"({"dataAreaId":"usmf","HeaderReference":"IB4B6D26287C83BF5084","InvoiceLineNumber":2,"ReceiveNow":2,)"
        R"("UnitPrice":10,"Amount":20})");
  CHECK(d->request_bytes() == d->write.body.size() + d->write.lines[0].body.size() + d->write.lines[1].body.size() + 3 * 256);
  CHECK(odata::operation_count(d->write) == 3);
  // The Dataverse default: no lines records.
  d365::EntityInvoiceCodec plain({}, {}, {});
  CHECK(plain.decode(R"({"vendor_account":"V","invoice_number":"N","company":"C","invoice_date":"2026-01-31",
      "currency":"EUR","amount":1,"lines":[{"amount":1}]})")->write.lines.empty());
}
