// The simulator's JSON config: every key, defaults kept, all problems reported at once.
#include "sim/options.hpp"

#include <catch2/catch.hpp>

using namespace ib::sim;

TEST_CASE("sim_options: defaults follow Dataverse") {
  const SimOptions o;
  CHECK(o.service_root == "/api/data/v9.2");
  CHECK(o.duplicate_status == 412);
  CHECK(o.max_batch_requests == 1000);
  REQUIRE(o.entity_sets.size() == 1);
  CHECK(o.entity_sets[0].name == "VendorInvoices");
  CHECK(o.entity_sets[0].key_properties == std::vector<std::string>{"VendorAccount", "InvoiceNumber"});
  CHECK(o.limits.max_requests == 6000);
  CHECK(o.limits.max_execution_ms == 1'200'000);
  CHECK(o.limits.max_concurrent == 52);
  CHECK(o.limits.window_seconds == 300);
}

TEST_CASE("sim_options: every documented key is read") {
  const auto o = parse_options(R"({
    "listen_address": "0.0.0.0", "port": 8080, "service_root": "/data/", "public_base_url": "https://org.example.com",
    "duplicate_status": 409, "max_batch_requests": 50, "batch_error_status_200": true, "max_body_bytes": 1000,
    "seed": 42, "records_file": "r.json",
    "entity_sets": [{"name": "VendInvoiceHeaders", "id_property": "Id", "key_properties": ["dataAreaId", "InvoiceId"],
                     "properties": {"dataAreaId": "string", "InvoiceId": "string", "Total": "decimal", "Lines": "integer",
                                    "Posted": "boolean", "At": "datetimeoffset", "Ref": "guid", "Day": "date"},
                     "allow_unknown_properties": true}],
    "limits": {"enabled": true, "window_seconds": 60, "max_requests": 10, "max_execution_ms": 500, "max_concurrent": 2,
               "operation_cost_ms": 5, "batch_counts_as_one": false, "bulk_message_cost_ms": 7,
               "bulk_record_cost_ms": 0.5, "retry_after_seconds": 3,
               "retry_after_extension_seconds": 4},
    "faults": {"request_error_probability": 0.1, "operation_error_probability": 0.2, "error_statuses": [503],
               "request_latency_ms": 1, "request_latency_jitter_ms": 2, "operation_latency_ms": 3,
               "operation_latency_jitter_ms": 4, "reset_probability": 0.3, "applied_then_failed_probability": 0.4,
               "applied_then_failed_drop": true, "operation_applied_then_failed_probability": 0.5,
               "slow_response_probability": 0.6, "slow_response_ms": 7},
    "auth": {"enabled": true, "client_id": "c", "client_secret": "s", "token_lifetime_seconds": 9},
    "tls": {"cert_file": "c.pem", "key_file": "k.pem"}
  })");
  CHECK(o.listen_address == "0.0.0.0");
  CHECK(o.port == 8080);
  CHECK(o.service_root == "/data");
  CHECK(o.public_base_url == "https://org.example.com");
  CHECK(o.duplicate_status == 409);
  CHECK(o.max_batch_requests == 50);
  CHECK(o.batch_error_status_200);
  CHECK(o.max_body_bytes == 1000);
  CHECK(o.seed == 42);
  CHECK(o.records_file == "r.json");
  REQUIRE(o.entity_sets.size() == 1);
  CHECK(o.entity_sets[0].name == "VendInvoiceHeaders");
  CHECK(o.entity_sets[0].id_property == "Id");
  CHECK(o.entity_sets[0].key_properties.size() == 2);
  CHECK(o.entity_sets[0].properties.size() == 8);
  CHECK(o.entity_sets[0].allow_unknown_properties);
  CHECK(o.limits.enabled);
  CHECK(o.limits.window_seconds == 60);
  CHECK(o.limits.max_requests == 10);
  CHECK(o.limits.max_execution_ms == 500);
  CHECK(o.limits.max_concurrent == 2);
  CHECK(o.limits.operation_cost_ms == 5);
  CHECK_FALSE(o.limits.batch_counts_as_one);
  CHECK(o.limits.bulk_message_cost_ms == 7);
  CHECK(o.limits.bulk_record_cost_ms == 0.5);
  CHECK(o.limits.retry_after_seconds == 3);
  CHECK(o.limits.retry_after_extension_seconds == 4);
  CHECK(o.faults.request_error_probability == 0.1);
  CHECK(o.faults.operation_error_probability == 0.2);
  CHECK(o.faults.error_statuses == std::vector<int>{503});
  CHECK(o.faults.request_latency_ms == 1);
  CHECK(o.faults.request_latency_jitter_ms == 2);
  CHECK(o.faults.operation_latency_ms == 3);
  CHECK(o.faults.operation_latency_jitter_ms == 4);
  CHECK(o.faults.reset_probability == 0.3);
  CHECK(o.faults.applied_then_failed_probability == 0.4);
  CHECK(o.faults.applied_then_failed_drop);
  CHECK(o.faults.operation_applied_then_failed_probability == 0.5);
  CHECK(o.faults.slow_response_probability == 0.6);
  CHECK(o.faults.slow_response_ms == 7);
  CHECK(o.auth.enabled);
  CHECK(o.auth.client_id == "c");
  CHECK(o.auth.client_secret == "s");
  CHECK(o.auth.token_lifetime_seconds == 9);
  CHECK(o.tls.cert_file == "c.pem");
  CHECK(o.tls.key_file == "k.pem");
}

TEST_CASE("sim_options: every problem is reported at once") {
  try {
    parse_options(R"({"duplicate_status": 500, "colour": 1, "faults": {"reset_probability": 2},
                      "limits": {"max_requests": -1}, "tls": {"cert_file": "x"}})");
    FAIL("expected an exception");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    CHECK(msg.find("duplicate_status") != std::string::npos);
    CHECK(msg.find("colour: unknown key") != std::string::npos);
    CHECK(msg.find("faults.reset_probability") != std::string::npos);
    CHECK(msg.find("limits.max_requests") != std::string::npos);
    CHECK(msg.find("tls") != std::string::npos);
  }
  CHECK_THROWS_AS(parse_options("not json"), std::invalid_argument);
  CHECK_THROWS_AS(parse_options("[]"), std::invalid_argument);
}

TEST_CASE("sim_options: faults and limits merge onto the current values and round-trip") {
  FaultOptions f;
  f.slow_response_ms = 5;
  f = parse_faults(R"({"reset_probability":0.25})", f);
  CHECK(f.reset_probability == 0.25);
  CHECK(f.slow_response_ms == 5);
  CHECK(parse_faults(to_json(f), FaultOptions{}).reset_probability == 0.25);
  CHECK_THROWS_AS(parse_faults(R"({"error_statuses":[200]})", f), std::invalid_argument);
  LimitOptions l;
  l = parse_limits(R"({"enabled":true,"max_concurrent":3})", l);
  CHECK(l.enabled);
  CHECK(l.max_concurrent == 3);
  CHECK(l.max_requests == 6000);
  CHECK(parse_limits(to_json(l), LimitOptions{}).max_concurrent == 3);
  CHECK(l.dop_hint == 0);
  l = parse_limits(R"({"dop_hint":7})", l);
  CHECK(l.dop_hint == 7);
  CHECK(parse_limits(to_json(l), LimitOptions{}).dop_hint == 7);
  CHECK_THROWS_AS(parse_limits(R"({"dop_hint":-1})", l), std::invalid_argument);
}

TEST_CASE("sim_options: the finance_operations profile and its keys") {
  const auto fno = SimOptions::finance_operations();
  CHECK(fno.profile == Profile::FinanceOperations);
  CHECK(fno.service_root == "/data");
  CHECK(fno.default_company == "usmf");
  CHECK(fno.error_style == ErrorStyle::FinanceOperations);
  CHECK(fno.duplicate_status == 400);
  REQUIRE(fno.entity_sets.size() == 2);
  const auto& h = fno.entity_sets[0];
  CHECK(h.name == "VendorInvoiceHeaders");
  CHECK(h.id_property.empty());
  CHECK(h.key_properties == std::vector<std::string>{"dataAreaId", "HeaderReference"});
  CHECK(h.required_properties == std::vector<std::string>{"InvoiceNumber"});
  CHECK(h.unique_properties == std::vector<std::string>{"dataAreaId", "VendorAccount", "InvoiceNumber"});
  CHECK(h.company_property == "dataAreaId");
  const auto& l = fno.entity_sets[1];
  CHECK(l.name == "VendorInvoiceLines");
  CHECK(l.key_properties == std::vector<std::string>{"dataAreaId", "HeaderReference", "InvoiceLineNumber"});
  CHECK(l.parent.entity_set == "VendorInvoiceHeaders");
  CHECK(l.parent.properties == std::vector<std::string>{"dataAreaId", "HeaderReference"});
  CHECK(validate(fno).empty());
  CHECK(validate(SimOptions{}).empty());

  // "profile" is the base of the other keys wherever it stands in the file.
  const auto o = parse_options(R"({"duplicate_status": 409, "profile": "finance_operations", "default_company": "demf"})");
  CHECK(o.profile == Profile::FinanceOperations);
  CHECK(o.service_root == "/data");
  CHECK(o.duplicate_status == 409);
  CHECK(o.default_company == "demf");
  CHECK(o.entity_sets.size() == 2);
  // A profile key replaces the base given by the caller (d365-sim --profile).
  CHECK(parse_options(R"({"profile": "dataverse"})", SimOptions::finance_operations()).service_root ==
        "/api/data/v9.2");
  CHECK(parse_options(R"({"seed": 3})", SimOptions::finance_operations()).service_root == "/data");
  CHECK(parse_profile("finance_operations") == Profile::FinanceOperations);
  CHECK(parse_profile("dataverse") == Profile::Dataverse);
  CHECK_FALSE(parse_profile("fno"));
  CHECK(to_string(Profile::FinanceOperations) == "finance_operations");

  // Every new entity-set key is read.
  const auto e = parse_options(R"J({"error_style": "finance_operations", "duplicate_status": 500,
    "default_company": "c1",
    "entity_sets": [
      {"name": "H", "id_property": "", "key_properties": ["Co", "Ref"],
       "properties": {"Co": "string", "Ref": "string", "No": "string", "V": "string"},
       "required_properties": ["No"], "unique_properties": ["Co", "V", "No"], "company_property": "Co",
       "entity_type": "HEntity", "table_label": "Headers (HTable)"},
      {"name": "L", "id_property": "", "key_properties": ["Co", "Ref", "N"],
       "properties": {"Co": "string", "Ref": "string", "N": "integer"}, "company_property": "Co",
       "parent": {"entity_set": "H", "properties": ["Co", "Ref"]}}]})J");
  CHECK(e.error_style == ErrorStyle::FinanceOperations);
  CHECK(e.duplicate_status == 500);
  CHECK(e.default_company == "c1");
  REQUIRE(e.entity_sets.size() == 2);
  CHECK(e.entity_sets[0].required_properties == std::vector<std::string>{"No"});
  CHECK(e.entity_sets[0].unique_properties == std::vector<std::string>{"Co", "V", "No"});
  CHECK(e.entity_sets[0].company_property == "Co");
  CHECK(e.entity_sets[0].entity_type == "HEntity");
  CHECK(e.entity_sets[0].table_label == "Headers (HTable)");
  CHECK(e.entity_sets[1].parent.entity_set == "H");
  CHECK(e.entity_sets[1].parent.properties == std::vector<std::string>{"Co", "Ref"});
}

TEST_CASE("sim_options: profile, error_style, duplicate_status and the set rules are validated") {
  auto problems_of = [](const std::string& text) {
    try {
      parse_options(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no problem");
  };
  CHECK_THAT(problems_of(R"({"profile": "fno"})"),
             Catch::Contains(R"(profile: must be "dataverse" or "finance_operations")"));
  CHECK_THAT(problems_of(R"({"profile": 1})"), Catch::Contains("profile: must be"));
  CHECK_THAT(problems_of(R"({"error_style": "odata"})"),
             Catch::Contains(R"(error_style: must be "dataverse" or "finance_operations")"));
  // Dataverse: 409 or 412; the F&O error style also 400 and 500; nothing else.
  CHECK_THAT(problems_of(R"({"duplicate_status": 400})"),
             Catch::Contains("duplicate_status: must be 409 or 412 (400 and 500 need error_style finance_operations)"));
  CHECK_THAT(problems_of(R"({"profile": "finance_operations", "duplicate_status": 418})"),
             Catch::Contains("duplicate_status: must be 400, 409, 412 or 500 (error_style finance_operations)"));
  CHECK_THAT(problems_of(R"({"profile": "finance_operations", "error_style": "dataverse"})"),
             Catch::Contains("duplicate_status: must be 409 or 412"));
  for (int s : {400, 409, 412, 500})
    CHECK(parse_options(R"({"profile": "finance_operations", "duplicate_status": )" + std::to_string(s) + "}")
              .duplicate_status == s);

  const auto msg = problems_of(R"({"default_company": "", "entity_sets": [
      {"name": "H", "id_property": "", "key_properties": ["Co", "Amount"],
       "properties": {"Co": "string", "Amount": "decimal"},
       "required_properties": ["Nope"], "unique_properties": ["Ghost"], "company_property": "Co"},
      {"name": "L", "key_properties": ["K"], "parent": {"entity_set": "Missing", "properties": ["K"]}},
      {"name": "M", "key_properties": ["K"], "parent": {"entity_set": "H", "properties": ["K"]}},
      {"name": "H", "key_properties": ["K", "K"], "required_properties": 3, "parent": {"colour": 1}}]})");
  CHECK_THAT(msg, Catch::Contains("entity_sets[0].key_properties: 'Amount' must be declared string or integer"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[0].required_properties: 'Nope' is not a declared property"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[0].unique_properties: 'Ghost' is not a declared property"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[0].company_property: needs a non-empty default_company"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[1].parent.entity_set: 'Missing' must name another entity set"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[2].parent.properties: needs one property per key property of H (2)"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[3].name: 'H' is used by another entity set"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[3].key_properties: a property is named twice"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[3].required_properties: expected an array of property names"));
  CHECK_THAT(msg, Catch::Contains("entity_sets[3].parent.colour: unknown key"));

  // Options built in code are checked by the Simulator the same way.
  auto bad = SimOptions::finance_operations();
  bad.entity_sets[1].parent.entity_set = "Nothing";
  CHECK_FALSE(validate(bad).empty());
}
