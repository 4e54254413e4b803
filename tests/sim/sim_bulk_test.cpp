// CreateMultiple / UpsertMultiple and the execution-time model, over real loopback HTTP
// with the raw client (raw_client.hpp).
#include "raw_client.hpp"
#include "sim/simulator.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace ib::sim;
using namespace ib::sim::testing;
namespace json = boost::json;

namespace {

const std::string kRoot = "/api/data/v9.2";
const std::string kCreate = kRoot + "/VendorInvoices/Microsoft.Dynamics.CRM.CreateMultiple";
const std::string kUpsert = kRoot + "/VendorInvoices/Microsoft.Dynamics.CRM.UpsertMultiple";
const Headers kJson = {{"Content-Type", "application/json"}, {"OData-Version", "4.0"}};
const Headers kBatchHeaders = {{"Content-Type", "multipart/mixed; boundary=batch_t"},
                               {"OData-Version", "4.0"}};

json::object target(const std::string& vendor, const std::string& number, double amount = 10.5) {
  auto o = json::parse(invoice(vendor, number, amount)).as_object();
  o["@odata.type"] = "Microsoft.Dynamics.CRM.vendorinvoice";
  return o;
}

std::string targets(std::initializer_list<json::object> items) {
  json::array a;
  for (const auto& i : items) a.push_back(i);
  return json::serialize(json::object{{"Targets", std::move(a)}});
}

std::string error_code(const Reply& r) {
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}

}  // namespace

TEST_CASE("sim_bulk: CreateMultiple creates every target and answers their Ids in order") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  auto r = c.request("POST", kCreate, targets({target("V", "1"), target("V", "2"), target("V", "3")}), kJson);
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  CHECK(body.at("@odata.context").as_string().ends_with("$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"));
  const auto& ids = body.at("Ids").as_array();
  REQUIRE(ids.size() == 3);
  const auto recs = sim.records();
  REQUIRE(recs.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(recs[i].id == ids[i].as_string());
    CHECK(recs[i].key == std::vector<std::string>{"V", std::to_string(i + 1)});
  }
  const auto st = sim.stats();
  CHECK(st.creates == 3);
  CHECK(st.bulk_messages == 1);
  CHECK(st.bulk_rolled_back == 0);
  CHECK(st.requests == 1);
}

TEST_CASE("sim_bulk: one existing key refuses the whole CreateMultiple with 0x80040237, nothing written") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kRoot + "/VendorInvoices", invoice("V", "2")).status == 204);
  auto r = c.request("POST", kCreate, targets({target("V", "1"), target("V", "2"), target("V", "3")}), kJson);
  CHECK(r.status == 412);
  CHECK(error_code(r) == "0x80040237");
  CHECK(sim.records().size() == 1);
  const auto st = sim.stats();
  CHECK(st.creates == 1);  // the single create; the bulk's first record was undone
  CHECK(st.duplicate_rejections == 1);
  CHECK(st.bulk_rolled_back == 1);
  CHECK(st.creates_per_key_histogram == std::map<std::uint32_t, std::uint64_t>{{1, 1}});
}

TEST_CASE("sim_bulk: two targets with one alternate key in one request are a 400, nothing written") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  for (const auto& url : {kCreate, kUpsert}) {
    auto r = c.request("POST", url, targets({target("V", "1"), target("V", "2"), target("V", "1", 99)}), kJson);
    CHECK(r.status == 400);
    CHECK(error_code(r) == "0x80048d19");
    CHECK(r.body.find("more than one record with the key (V,1)") != std::string::npos);
  }
  CHECK(sim.records().empty());
  CHECK(sim.stats().bulk_rolled_back == 2);
}

TEST_CASE("sim_bulk: payload checks: @odata.type required, schema enforced, Targets required") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  auto untyped = json::parse(invoice("V", "9")).as_object();
  auto r = c.request("POST", kCreate, targets({target("V", "1"), untyped}), kJson);
  CHECK(r.status == 400);
  CHECK(r.body.find("@odata.type") != std::string::npos);
  auto bad = target("V", "2");
  bad["Color"] = "red";
  CHECK(c.request("POST", kCreate, targets({bad}), kJson).status == 400);
  CHECK(c.request("POST", kCreate, R"({"Targets":[]})", kJson).status == 400);
  CHECK(c.request("POST", kCreate, "not json", kJson).status == 400);
  CHECK(c.request("GET", kCreate).status == 405);
  CHECK(c.request("POST", kRoot + "/Nope/Microsoft.Dynamics.CRM.CreateMultiple", targets({target("V", "3")}), kJson).status == 404);
  CHECK(sim.records().empty());
}

TEST_CASE("sim_bulk: UpsertMultiple updates existing keys and creates the others") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kRoot + "/VendorInvoices", invoice("V", "1", 1)).status == 204);
  const auto old_id = sim.records().at(0).id;
  auto r = c.request("POST", kUpsert, targets({target("V", "1", 77), target("V", "2", 5)}), kJson);
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  CHECK(body.at("@odata.context").as_string().ends_with("#Microsoft.Dynamics.CRM.UpsertMultipleResponse"));
  const auto& ids = body.at("Ids").as_array();
  REQUIRE(ids.size() == 2);
  CHECK(ids[0].as_string() == old_id);
  const auto recs = sim.records();
  REQUIRE(recs.size() == 2);
  CHECK(json::parse(recs[0].json).at("Amount").to_number<double>() == 77);
  CHECK(recs[1].id == ids[1].as_string());
  const auto st = sim.stats();
  CHECK(st.creates == 2);
  CHECK(st.updates == 1);
}

TEST_CASE("sim_bulk: UpsertMultiple takes the alternate key from @odata.id") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kRoot + "/VendorInvoices", invoice("V", "1", 1)).status == 204);
  json::object t{{"@odata.type", "Microsoft.Dynamics.CRM.vendorinvoice"},
                 {"@odata.id", "VendorInvoices(VendorAccount='V',InvoiceNumber='1')"},
                 {"Amount", 42}};
  json::object bad = t;
  bad["@odata.id"] = "VendorInvoices(Color='x')";
  CHECK(c.request("POST", kUpsert, targets({bad}), kJson).status == 400);
  REQUIRE(c.request("POST", kUpsert, targets({t}), kJson).status == 200);
  const auto recs = sim.records();
  REQUIRE(recs.size() == 1);
  CHECK(json::parse(recs[0].json).at("Amount").to_number<double>() == 42);
}

TEST_CASE("sim_bulk: a failing UpsertMultiple undoes its updates too") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kRoot + "/VendorInvoices", invoice("V", "1", 1)).status == 204);
  auto bad = target("V", "2");
  bad["VendorInvoiceId"] = sim.records().at(0).id;  // a new key with a taken primary id
  auto r = c.request("POST", kUpsert, targets({target("V", "1", 77), bad}), kJson);
  CHECK(r.status == 412);
  const auto recs = sim.records();
  REQUIRE(recs.size() == 1);
  CHECK(json::parse(recs[0].json).at("Amount").to_number<double>() == 1);
  CHECK(sim.stats().updates == 0);
}

TEST_CASE("sim_bulk: execution time: per operation for requests and $batch parts, per message and record for bulk") {
  SimOptions o;
  o.limits.operation_cost_ms = 10;
  o.limits.bulk_message_cost_ms = 30;
  o.limits.bulk_record_cost_ms = 2;
  SECTION("counted with limits disabled") { o.limits.enabled = false; }
  SECTION("counted with limits enabled") { o.limits.enabled = true; }
  Simulator sim(o);
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kRoot + "/VendorInvoices", invoice("P", "1")).status == 204);
  CHECK(sim.stats().execution_ms == 10);
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) bodies.push_back(invoice("B", std::to_string(i)));
  REQUIRE(c.request("POST", kRoot + "/$batch", batch_of_creates(bodies), kBatchHeaders).status == 200);
  CHECK(sim.stats().execution_ms == 10 + 40);
  REQUIRE(c.request("POST", kCreate, targets({target("M", "1"), target("M", "2"), target("M", "3")}), kJson).status == 200);
  CHECK(sim.stats().execution_ms == 50 + 30 + 3 * 2);
  // Refused at its second record: the message and the two records it ran are charged.
  CHECK(c.request("POST", kCreate, targets({target("M", "4"), target("M", "1"), target("M", "5")}), kJson).status == 412);
  CHECK(sim.stats().execution_ms == 86 + 30 + 2 * 2);
  auto st = json::parse(c.get("/_sim/stats").body);
  CHECK(st.at("execution_ms").to_number<double>() == 120);
  CHECK(st.at("bulk_messages").to_number<int>() == 2);
}

TEST_CASE("sim_bulk: bulk execution time counts against max_execution_ms") {
  SimOptions o;
  o.limits.enabled = true;
  o.limits.max_requests = 0;
  o.limits.max_execution_ms = 100;
  o.limits.bulk_message_cost_ms = 50;
  o.limits.bulk_record_cost_ms = 25;
  Simulator sim(o);
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kCreate, targets({target("T", "1"), target("T", "2")}), kJson).status == 200);
  auto t = c.request("POST", kCreate, targets({target("T", "3")}), kJson);
  CHECK(t.status == 429);
  CHECK(error_code(t) == "0x80072321");
  CHECK(sim.records().size() == 2);
}
