// The simulator's Finance and Operations profile (SimOptions::finance_operations(),
// docs/simulator.md "Finance and Operations profile") over real loopback HTTP, checked
// with the raw client: the /data root, VendorInvoiceHeaders and VendorInvoiceLines with
// their keys, F&O's error body, both uniqueness rules, the parent check, company scope,
// change sets and atomicity groups per invoice, and records files of both sets.
#include "raw_client.hpp"
#include "sim/simulator.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace ib::sim;
using namespace ib::sim::testing;
namespace json = boost::json;

namespace {

const std::string kRoot = "/data";
const std::string kHeaders = kRoot + "/VendorInvoiceHeaders";
const std::string kLines = kRoot + "/VendorInvoiceLines";
const Headers kMultipart = {{"Content-Type", "multipart/mixed; boundary=batch_f"},
                            {"OData-Version", "4.0"},
                            {"Accept", "application/json"}};
const Headers kJson = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};

const std::string kHeaderDuplicate =
    "Write failed for table row of type 'VendorInvoiceHeaderEntity'. Infolog: Error: Cannot create a "
    "record in Pending vendor invoice header (VendInvoiceInfoTable). The record already exists.";

// F&O's error body, byte for byte as the simulator writes it.
std::string fno_error(const std::string& message) {
  return R"({"error":{"code":"","message":"An error has occurred.","innererror":{"message":")" + message +
         R"(","type":"Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException","stacktrace":""}}})";
}

std::string header(const std::string& ref, const std::string& number, const std::string& vendor = "V1",
                   const std::string& company = "") {
  return R"({)" + (company.empty() ? std::string() : R"("dataAreaId":")" + company + R"(",)") +
         R"("HeaderReference":")" + ref + R"(","InvoiceNumber":")" + number + R"(","VendorAccount":")" + vendor +
         R"(","InvoiceDate":"2024-01-31","DueDate":"2024-03-01","Currency":"EUR","InvoiceDescription":"d"})";
}

std::string line(const std::string& ref, int number, const std::string& quantity = "2",
                 const std::string& company = "") {
  return R"({)" + (company.empty() ? std::string() : R"("dataAreaId":")" + company + R"(",)") +
         R"("HeaderReference":")" + ref + R"(","InvoiceLineNumber":)" + std::to_string(number) +
         R"(,"ItemNumber":"I1","LineDescription":"l","ReceiveNow":)" + quantity +
         R"(,"UnitPrice":5.25,"Amount":10.50})";
}

struct Invoice {
  std::string header;
  std::vector<std::string> lines;
};

Invoice invoice_of(const std::string& ref, const std::string& number, int lines) {
  Invoice inv{header(ref, number), {}};
  for (int i = 1; i <= lines; ++i) inv.lines.push_back(line(ref, i));
  return inv;
}

// A multipart batch with one change set per invoice: the header, then its lines.
std::string multipart_batch(const std::vector<Invoice>& invoices) {
  std::string b;
  int cs = 0;
  for (const auto& inv : invoices) {
    const std::string boundary = "changeset_" + std::to_string(++cs);
    b += "--batch_f\r\nContent-Type: multipart/mixed; boundary=" + boundary + "\r\n\r\n";
    int id = 0;
    auto part = [&](const std::string& set, const std::string& body) {
      b += "--" + boundary + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: " +
           std::to_string(++id) + "\r\n\r\nPOST " + set + " HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + body +
           "\r\n";
    };
    part(kHeaders, inv.header);
    for (const auto& l : inv.lines) part("VendorInvoiceLines", l);
    b += "--" + boundary + "--\r\n";
  }
  b += "--batch_f--\r\n";
  return b;
}

// A JSON batch with one atomicity group per invoice ("g<n>"), ids "<n>-h", "<n>-1", ...
std::string json_batch(const std::vector<Invoice>& invoices) {
  json::array reqs;
  int n = 0;
  for (const auto& inv : invoices) {
    const std::string g = std::to_string(++n);
    auto add = [&](const std::string& id, const std::string& url, const std::string& body) {
      reqs.push_back(json::object{{"id", g + "-" + id},
                                  {"method", "POST"},
                                  {"url", url},
                                  {"atomicityGroup", "g" + g},
                                  {"headers", json::object{{"Content-Type", "application/json"}}},
                                  {"body", json::parse(body)}});
    };
    add("h", "VendorInvoiceHeaders", inv.header);
    for (std::size_t i = 0; i < inv.lines.size(); ++i) add(std::to_string(i + 1), "VendorInvoiceLines", inv.lines[i]);
  }
  return json::serialize(json::object{{"requests", std::move(reqs)}});
}

json::value stats(RawClient& c) {
  auto r = c.get("/_sim/stats");
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

std::uint64_t num(const json::value& v, std::string_view key) { return v.at(key).to_number<std::uint64_t>(); }

std::size_t count_of(RawClient& c, const std::string& target) {
  auto r = c.get(target);
  REQUIRE(r.status == 200);
  return json::parse(r.body).at("value").as_array().size();
}

}  // namespace

TEST_CASE("sim_fno: /data root; creates answer 204 with the key-form OData-EntityId; default company") {
  Simulator sim(SimOptions::finance_operations());
  RawClient c(sim.port());
  const std::string base = "http://127.0.0.1:" + std::to_string(sim.port());
  CHECK(sim.service_url() == base + "/data");

  auto h = c.request("POST", kHeaders, header("IB1", "INV-1"));
  REQUIRE(h.status == 204);
  CHECK(h.header("odata-entityid") == base + "/data/VendorInvoiceHeaders(dataAreaId='usmf',HeaderReference='IB1')");
  CHECK(h.header("location") == h.header("odata-entityid"));
  auto l = c.request("POST", kLines, line("IB1", 1));
  REQUIRE(l.status == 204);
  CHECK(l.header("odata-entityid") ==
        base + "/data/VendorInvoiceLines(dataAreaId='usmf',HeaderReference='IB1',InvoiceLineNumber=1)");

  // Addressed by the key form; no GUID id property anywhere.
  auto got = c.get(kHeaders + "(dataAreaId='usmf',HeaderReference='IB1')");
  REQUIRE(got.status == 200);
  auto rec = json::parse(got.body);
  CHECK(rec.at("dataAreaId").as_string() == "usmf");
  CHECK(rec.at("InvoiceNumber").as_string() == "INV-1");
  CHECK_FALSE(rec.as_object().contains("VendorInvoiceId"));
  auto got_line = c.get(kLines + "(dataAreaId='usmf',HeaderReference='IB1',InvoiceLineNumber=1)");
  REQUIRE(got_line.status == 200);
  CHECK(json::parse(got_line.body).at("InvoiceLineNumber").as_int64() == 1);
  CHECK(got_line.body.find("10.50") != std::string::npos);  // decimals kept as sent

  // An integer key's literal is unquoted.
  auto quoted = c.get(kLines + "(dataAreaId='usmf',HeaderReference='IB1',InvoiceLineNumber='1')");
  CHECK(quoted.status == 400);
  CHECK(quoted.body == fno_error("The key 'InvoiceLineNumber' is an integer: write it unquoted (InvoiceLineNumber=1)."));
  // A string for the integer property in a body is a type error.
  auto typed = c.request("POST", kLines, R"({"HeaderReference":"IB1","InvoiceLineNumber":"2"})");
  CHECK(typed.status == 400);
  CHECK(typed.body == fno_error("Error identified in Payload provided by the user for Entity :'VendorInvoiceLines': "
                                "property 'InvoiceLineNumber' must be an integer"));

  // The Dataverse root is not there.
  auto dv = c.request("POST", "/api/data/v9.2/VendorInvoices", R"({"VendorAccount":"V","InvoiceNumber":"1"})");
  CHECK(dv.status == 404);
  CHECK(dv.body == fno_error("Resource not found for the segment '/api/data/v9.2/VendorInvoices'."));

  // PATCH by key upserts (the URL's integer key lands as an integer); a key change is refused.
  const std::string line3 = kLines + "(dataAreaId='usmf',HeaderReference='IB1',InvoiceLineNumber=3)";
  REQUIRE(c.request("PATCH", line3, R"({"Amount":1.25})").status == 204);
  CHECK(json::parse(c.get(line3).body).at("InvoiceLineNumber").as_int64() == 3);
  auto moved = c.request("PATCH", line3, R"({"InvoiceLineNumber":4})");
  CHECK(moved.status == 400);
  CHECK(moved.body == fno_error("The key properties of a VendorInvoiceLines record cannot be changed."));
  CHECK(c.request("PATCH", line3, R"({"InvoiceLineNumber":3,"Amount":2})").status == 204);

  // A missing record: 404 in F&O's shape.
  auto missing = c.get(kHeaders + "(dataAreaId='usmf',HeaderReference='NONE')");
  CHECK(missing.status == 404);
  CHECK(missing.body ==
        fno_error("No resource of VendorInvoiceHeaders matches the key (dataAreaId='usmf',HeaderReference='NONE')."));
  CHECK(sim.stats().records == 3);
}

TEST_CASE("sim_fno: a duplicate header by either uniqueness rule gets the duplicate answer with F&O's body") {
  Simulator sim(SimOptions::finance_operations());
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kHeaders, header("IB1", "INV-1", "V1")).status == 204);

  // Same key (dataAreaId + HeaderReference).
  auto same_key = c.request("POST", kHeaders, header("IB1", "INV-other", "V2"));
  CHECK(same_key.status == 400);
  CHECK(same_key.body == fno_error(kHeaderDuplicate));
  // The key given explicitly with the default company is the same key.
  CHECK(c.request("POST", kHeaders, header("IB1", "INV-x", "V3", "usmf")).status == 400);
  // Same company + vendor + invoice number under another HeaderReference.
  auto same_number = c.request("POST", kHeaders, header("IB2", "INV-1", "V1"));
  CHECK(same_number.status == 400);
  CHECK(same_number.body == fno_error(kHeaderDuplicate));
  // Another vendor, or another company, may use the number.
  CHECK(c.request("POST", kHeaders, header("IB3", "INV-1", "V2")).status == 204);
  CHECK(c.request("POST", kHeaders, header("IB4", "INV-1", "V1", "usrp")).status == 204);
  CHECK(c.request("POST", kHeaders, header("IB1", "INV-1", "V1", "usrp")).status == 400);

  // A duplicate line: the lines table's text.
  REQUIRE(c.request("POST", kLines, line("IB1", 1)).status == 204);
  auto dup_line = c.request("POST", kLines, line("IB1", 1, "7"));
  CHECK(dup_line.status == 400);
  CHECK(dup_line.body == fno_error("Write failed for table row of type 'VendorInvoiceLineEntity'. Infolog: Error: "
                                   "Cannot create a record in Pending vendor invoice lines (VendInvoiceInfoLine). "
                                   "The record already exists."));

  // An update that moves a header onto another's invoice number collides too.
  auto edit = c.request("PATCH", kHeaders + "(dataAreaId='usmf',HeaderReference='IB3')", R"({"VendorAccount":"V1"})");
  CHECK(edit.status == 400);
  CHECK(edit.body == fno_error("Write failed for table row of type 'VendorInvoiceHeaderEntity'. Infolog: Error: "
                               "Cannot edit a record in Pending vendor invoice header (VendInvoiceInfoTable). "
                               "The record already exists."));

  auto st = stats(c);
  CHECK(num(st, "duplicate_rejections") == 6);
  CHECK(num(st, "creates") == 4);
  CHECK(num(st.at("creates_per_key_histogram"), "1") == 4);
  CHECK(st.at("creates_per_key_histogram").as_object().size() == 1);

  for (int status : {409, 412, 500}) {
    auto o = SimOptions::finance_operations();
    o.duplicate_status = status;
    Simulator s2(o);
    RawClient c2(s2.port());
    REQUIRE(c2.request("POST", kHeaders, header("IB1", "INV-1")).status == 204);
    auto d = c2.request("POST", kHeaders, header("IB1", "INV-1"));
    CHECK(d.status == status);
    CHECK(d.body == fno_error(kHeaderDuplicate));
  }
}

TEST_CASE("sim_fno: a line without its header and a header without InvoiceNumber are 400s with F&O's body") {
  Simulator sim(SimOptions::finance_operations());
  RawClient c(sim.port());
  auto orphan = c.request("POST", kLines, line("NOPE", 1));
  CHECK(orphan.status == 400);
  CHECK(orphan.body == fno_error("Write failed for table row of type 'VendorInvoiceLineEntity'. Infolog: Error: "
                                 "Cannot create a record in Pending vendor invoice lines (VendInvoiceInfoLine). The "
                                 "parent record VendorInvoiceHeaders(dataAreaId='usmf',HeaderReference='NOPE') does "
                                 "not exist."));
  // A header of another company is not this line's header.
  REQUIRE(c.request("POST", kHeaders, header("IBX", "1", "V1", "usrp")).status == 204);
  CHECK(c.request("POST", kLines, line("IBX", 1)).status == 400);
  CHECK(c.request("POST", kLines, line("IBX", 1, "2", "usrp")).status == 204);

  const std::string missing_number = "Write failed for table row of type 'VendorInvoiceHeaderEntity'. Infolog: "
                                     "Error: Field 'InvoiceNumber' must be filled in.";
  auto no_number = c.request("POST", kHeaders, R"({"HeaderReference":"IB9","VendorAccount":"V1"})");
  CHECK(no_number.status == 400);
  CHECK(no_number.body == fno_error(missing_number));
  CHECK(c.request("POST", kHeaders, R"({"HeaderReference":"IB9","InvoiceNumber":"","VendorAccount":"V1"})").body ==
        fno_error(missing_number));
  CHECK(c.request("POST", kHeaders, R"({"HeaderReference":"IB9","InvoiceNumber":null})").body ==
        fno_error(missing_number));
  auto no_ref = c.request("POST", kHeaders, R"({"InvoiceNumber":"1"})");
  CHECK(no_ref.status == 400);
  CHECK(no_ref.body == fno_error("Write failed for table row of type 'VendorInvoiceHeaderEntity'. Infolog: Error: "
                                 "Field 'HeaderReference' must be filled in."));

  // Every other error of the profile has the same shape.
  auto unknown = c.request("POST", kHeaders, R"({"HeaderReference":"IB9","InvoiceNumber":"1","TotalAmount":5})");
  CHECK(unknown.status == 400);
  CHECK(unknown.body == fno_error("Invalid property 'TotalAmount' was found in entity 'VendorInvoiceHeaders'."));
  auto bad_json = c.request("POST", kHeaders, R"({"HeaderReference":)");
  CHECK(bad_json.status == 400);
  CHECK(json::parse(bad_json.body).at("error").at("innererror").at("message").as_string().starts_with(
      "Error identified in Payload"));
  auto no_set = c.request("POST", kRoot + "/VendorInvoices", "{}");
  CHECK(no_set.status == 404);
  CHECK(no_set.body == fno_error("Resource not found for the segment 'VendorInvoices'."));
  CHECK(sim.stats().records == 2);
}

TEST_CASE("sim_fno: reads see the default company unless ?cross-company=true") {
  Simulator sim(SimOptions::finance_operations());
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kHeaders, header("A", "1")).status == 204);
  REQUIRE(c.request("POST", kHeaders, header("B", "2")).status == 204);
  REQUIRE(c.request("POST", kHeaders, header("C", "3", "V1", "usrp")).status == 204);
  REQUIRE(c.request("POST", kLines, line("A", 1)).status == 204);
  REQUIRE(c.request("POST", kLines, line("C", 1, "2", "usrp")).status == 204);

  auto mine = c.get(kHeaders);
  REQUIRE(mine.status == 200);
  const auto values = json::parse(mine.body).at("value").as_array();
  REQUIRE(values.size() == 2);
  for (const auto& v : values) CHECK(v.at("dataAreaId").as_string() == "usmf");
  CHECK(count_of(c, kHeaders + "?cross-company=true") == 3);
  CHECK(count_of(c, kHeaders + "?cross-company=false") == 2);
  CHECK(count_of(c, kHeaders + "?$filter=dataAreaId%20eq%20'usrp'") == 0);
  CHECK(count_of(c, kHeaders + "?$filter=dataAreaId%20eq%20'usrp'&cross-company=true") == 1);
  CHECK(count_of(c, kLines) == 1);
  CHECK(count_of(c, kLines + "?cross-company=true") == 2);
  CHECK(c.get(kHeaders + "/$count").body == "2");
  CHECK(c.get(kHeaders + "/$count?cross-company=true").body == "3");
  auto counted = json::parse(c.get(kHeaders + "?$count=true&$top=1&cross-company=true").body);
  CHECK(counted.at("@odata.count").to_number<int>() == 3);

  const std::string other = kHeaders + "(dataAreaId='usrp',HeaderReference='C')";
  auto hidden = c.get(other);
  CHECK(hidden.status == 404);
  CHECK(hidden.body ==
        fno_error("No resource of VendorInvoiceHeaders matches the key (dataAreaId='usrp',HeaderReference='C')."));
  auto seen = c.get(other + "?cross-company=true");
  REQUIRE(seen.status == 200);
  CHECK(json::parse(seen.body).at("dataAreaId").as_string() == "usrp");
  CHECK(c.get(kLines + "(dataAreaId='usrp',HeaderReference='C',InvoiceLineNumber=1)").status == 404);
  CHECK(c.get(kLines + "(dataAreaId='usrp',HeaderReference='C',InvoiceLineNumber=1)?cross-company=true").status == 200);
  auto bad = c.get(kHeaders + "?cross-company=yes");
  CHECK(bad.status == 400);
  CHECK(bad.body == fno_error("cross-company must be true or false"));
}

TEST_CASE("sim_fno: multipart change set per invoice: a failing line 2 leaves neither header nor lines") {
  Simulator sim(SimOptions::finance_operations());
  RawClient c(sim.port());
  auto bad = invoice_of("IB2", "INV-2", 3);
  bad.lines[1] = line("IB2", 2, R"("two")");
  const auto batch = multipart_batch({invoice_of("IB1", "INV-1", 2), bad, invoice_of("IB3", "INV-3", 2)});
  const std::string line_error = fno_error(
      "Error identified in Payload provided by the user for Entity :'VendorInvoiceLines': property 'ReceiveNow' "
      "must be a decimal number");

  SECTION("continue-on-error: invoice 2 failing does not stop invoice 3") {
    auto h = kMultipart;
    h.emplace_back("Prefer", "odata.continue-on-error");
    auto r = c.request("POST", kRoot + "/$batch", batch, h);
    REQUIRE(r.status == 200);
    CHECK(r.header("preference-applied") == "odata.continue-on-error");
    auto parts = split_batch(r.header("content-type"), r.body);
    REQUIRE(parts.size() == 7);  // 3 + the failed change set's one part + 3
    for (int i : {0, 1, 2, 4, 5, 6}) {
      CHECK(parts[i].status == 204);
      CHECK(parts[i].in_change_set);
    }
    CHECK(parts[3].status == 400);
    CHECK(parts[3].content_id == "3");  // header = 1, line 1 = 2, line 2 = 3
    CHECK(parts[3].body == line_error);

    auto recs = json::parse(c.get("/_sim/records").body);
    const auto& headers = recs.at("VendorInvoiceHeaders").as_array();
    REQUIRE(headers.size() == 2);
    CHECK(headers[0].at("HeaderReference").as_string() == "IB1");
    CHECK(headers[1].at("HeaderReference").as_string() == "IB3");
    const auto& lines = recs.at("VendorInvoiceLines").as_array();
    REQUIRE(lines.size() == 4);
    for (const auto& l : lines) CHECK(l.at("HeaderReference").as_string() != "IB2");
    CHECK(c.get(kHeaders + "(dataAreaId='usmf',HeaderReference='IB2')").status == 404);
    CHECK(c.get(kLines + "(dataAreaId='usmf',HeaderReference='IB2',InvoiceLineNumber=1)").status == 404);

    auto st = stats(c);
    CHECK(num(st, "rolled_back_change_sets") == 1);
    CHECK(num(st, "creates") == 6);
    CHECK(num(st.at("creates_per_key_histogram"), "1") == 6);
    CHECK(st.at("keys_created_more_than_once").as_array().empty());

    // The invoices resent (the fixed one too): the two created ones collide with their own
    // header keys and roll back whole; every header is still created exactly once.
    bad.lines[1] = line("IB2", 2);
    auto again = c.request("POST", kRoot + "/$batch",
                           multipart_batch({invoice_of("IB1", "INV-1", 2), bad, invoice_of("IB3", "INV-3", 2)}), h);
    REQUIRE(again.status == 200);
    auto parts2 = split_batch(again.header("content-type"), again.body);
    REQUIRE(parts2.size() == 1 + 4 + 1);
    CHECK(parts2[0].status == 400);
    CHECK(parts2[0].content_id == "1");
    CHECK(parts2[0].body == fno_error(kHeaderDuplicate));
    CHECK(parts2[5].body == fno_error(kHeaderDuplicate));
    auto st2 = stats(c);
    CHECK(num(st2, "creates") == 10);
    CHECK(st2.at("creates_per_key_histogram").as_object().size() == 1);
    CHECK(num(st2.at("creates_per_key_histogram"), "1") == 10);
    CHECK(num(st2, "records") == 10);
  }
  SECTION("without continue-on-error the batch stops at invoice 2 and answers its status") {
    auto r = c.request("POST", kRoot + "/$batch", batch, kMultipart);
    CHECK(r.status == 400);
    auto parts = split_batch(r.header("content-type"), r.body);
    REQUIRE(parts.size() == 4);
    CHECK(parts[3].body == line_error);
    CHECK(sim.stats().records == 3);  // invoice 1 only; invoice 3 never ran
    CHECK(c.get(kHeaders + "(dataAreaId='usmf',HeaderReference='IB3')").status == 404);
  }
}

TEST_CASE("sim_fno: JSON batch with an atomicity group per invoice: same rollback, continue-on-error") {
  Simulator sim(SimOptions::finance_operations());
  RawClient c(sim.port());
  auto bad = invoice_of("IB2", "INV-2", 3);
  bad.lines[1] = line("OTHER", 2);  // line 2 names a header that does not exist
  const auto body = json_batch({invoice_of("IB1", "INV-1", 2), bad, invoice_of("IB3", "INV-3", 1)});
  auto h = kJson;
  h.emplace_back("Prefer", "odata.continue-on-error");
  auto r = c.request("POST", kRoot + "/$batch", body, h);
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  const auto& resp = doc.at("responses").as_array();
  REQUIRE(resp.size() == 3 + 4 + 2);
  for (std::size_t i : {0u, 1u, 2u, 7u, 8u}) CHECK(resp[i].at("status").to_number<int>() == 204);
  CHECK(resp[7].at("id").as_string() == "3-h");
  CHECK(resp[7].at("headers").at("OData-EntityId").as_string().ends_with(
      "/data/VendorInvoiceHeaders(dataAreaId='usmf',HeaderReference='IB3')"));
  // The failing member answers its error; the others of its group 424.
  CHECK(resp[5].at("id").as_string() == "2-2");
  CHECK(resp[5].at("status").to_number<int>() == 400);
  CHECK(resp[5].at("atomicityGroup").as_string() == "g2");
  CHECK(json::serialize(resp[5].at("body")) ==
        fno_error("Write failed for table row of type 'VendorInvoiceLineEntity'. Infolog: Error: Cannot create a "
                  "record in Pending vendor invoice lines (VendInvoiceInfoLine). The parent record "
                  "VendorInvoiceHeaders(dataAreaId='usmf',HeaderReference='OTHER') does not exist."));
  for (std::size_t i : {3u, 4u, 6u}) {
    CHECK(resp[i].at("status").to_number<int>() == 424);
    CHECK(json::serialize(resp[i].at("body")) == fno_error("Failed Dependency"));
  }
  CHECK(sim.stats().records == 5);
  CHECK(c.get(kHeaders + "(dataAreaId='usmf',HeaderReference='IB2')").status == 404);
  CHECK(sim.stats().rolled_back_change_sets == 1);

  // Without continue-on-error: the failed group's status; later groups do not run.
  sim.reset();
  auto stopped = c.request("POST", kRoot + "/$batch", body, kJson);
  CHECK(stopped.status == 400);
  CHECK(json::parse(stopped.body).at("responses").as_array().size() == 3 + 4);
  CHECK(sim.stats().records == 3);
}

TEST_CASE("sim_fno: limits, faults and stats work as in the Dataverse profile, errors in F&O's shape") {
  auto o = SimOptions::finance_operations();
  o.limits.enabled = true;
  o.limits.max_requests = 2;
  o.limits.window_seconds = 3600;
  Simulator sim(o);
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kRoot + "/$batch", multipart_batch({invoice_of("A", "1", 2)}), kMultipart).status == 200);
  REQUIRE(c.request("POST", kHeaders, header("B", "2")).status == 204);
  auto throttled = c.request("POST", kHeaders, header("C", "3"));
  CHECK(throttled.status == 429);
  CHECK_FALSE(throttled.header("retry-after").empty());
  CHECK(json::parse(throttled.body).at("error").at("innererror").at("message").as_string().starts_with(
      "Number of requests exceeded the limit of 2"));
  auto st = stats(c);
  CHECK(num(st, "throttled") == 1);
  CHECK(num(st, "batches") == 1);
  CHECK(num(st.at("batch_sizes"), "3") == 1);
  CHECK(st.at("execution_ms").to_number<double>() == 40);  // 3 batch operations + 1 request, 10 ms each

  sim.set_limits(LimitOptions{});
  FaultOptions f;
  f.request_error_probability = 1;
  f.error_statuses = {503};
  sim.set_faults(f);
  auto fault = c.request("POST", kHeaders, header("C", "3"));
  CHECK(fault.status == 503);
  CHECK(fault.body == fno_error("Simulated fault: an unexpected error occurred."));
}

TEST_CASE("sim_fno: records of both sets through /_sim/records and records files") {
  ib::testing::TempDir dir("sim-fno");
  const auto file = dir.path() / "records.json";
  {
    Simulator sim(SimOptions::finance_operations());
    RawClient c(sim.port());
    REQUIRE(c.request("POST", kRoot + "/$batch",
                      multipart_batch({invoice_of("IB1", "INV-1", 2), invoice_of("IB2", "INV-2", 1)}), kMultipart)
                .status == 200);
    REQUIRE(c.request("POST", kHeaders, header("IB3", "INV-1", "V1", "usrp")).status == 204);
    auto recs = json::parse(c.get("/_sim/records").body);
    CHECK(recs.at("VendorInvoiceHeaders").as_array().size() == 3);
    CHECK(recs.at("VendorInvoiceLines").as_array().size() == 3);
    CHECK(recs.at("VendorInvoiceLines").as_array()[0].at("InvoiceLineNumber").as_int64() == 1);
    const auto in_process = sim.records();
    REQUIRE(in_process.size() == 6);
    CHECK(in_process[0].entity_set == "VendorInvoiceHeaders");
    CHECK(in_process[0].id == "dataAreaId='usmf',HeaderReference='IB1'");
    CHECK(in_process[0].key == std::vector<std::string>{"usmf", "IB1"});
    CHECK(in_process[3].entity_set == "VendorInvoiceLines");
    CHECK(in_process[3].key == std::vector<std::string>{"usmf", "IB1", "1"});
    sim.save_records(file);
  }
  auto o = SimOptions::finance_operations();
  o.records_file = file.string();
  Simulator sim(o);
  RawClient c(sim.port());
  CHECK(sim.stats().records == 6);
  CHECK(sim.stats().creates == 0);  // loaded, not created
  // Loaded keys, the invoice-number rule and parents are enforced.
  CHECK(c.request("POST", kHeaders, header("IB1", "NEW")).body == fno_error(kHeaderDuplicate));
  CHECK(c.request("POST", kHeaders, header("IB9", "INV-2")).body == fno_error(kHeaderDuplicate));
  CHECK(c.request("POST", kLines, line("IB1", 2)).status == 400);
  CHECK(c.request("POST", kLines, line("IB2", 2)).status == 204);
  CHECK(c.get(kHeaders + "(dataAreaId='usrp',HeaderReference='IB3')?cross-company=true").status == 200);

  // A records file whose line has no header is refused at start; sets may come in any order.
  const auto orphan = dir.path() / "orphan.json";
  std::ofstream(orphan) << R"({"VendorInvoiceLines":[)" << line("IBZ", 1) << "]}";
  auto bad = SimOptions::finance_operations();
  bad.records_file = orphan.string();
  CHECK_THROWS_WITH(Simulator(bad), Catch::Contains("does not exist"));
  const auto reversed = dir.path() / "reversed.json";
  std::ofstream(reversed) << R"({"VendorInvoiceLines":[)" << line("IBZ", 1) << R"(],"VendorInvoiceHeaders":[)"
                          << header("IBZ", "Z") << "]}";
  auto fine = SimOptions::finance_operations();
  fine.records_file = reversed.string();
  Simulator loaded(fine);
  CHECK(loaded.stats().records == 2);
}

TEST_CASE("sim_fno: the Simulator refuses options that validate() refuses, with every problem named") {
  auto o = SimOptions::finance_operations();
  o.duplicate_status = 418;
  o.default_company.clear();
  o.entity_sets[1].parent.entity_set = "Nothing";
  try {
    Simulator sim(o);
    FAIL("expected an exception");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("duplicate_status: must be 400, 409, 412 or 500"));
    CHECK_THAT(msg, Catch::Contains("entity_sets[0].company_property: needs a non-empty default_company"));
    CHECK_THAT(msg, Catch::Contains("entity_sets[1].parent.entity_set: 'Nothing' must name another entity set"));
  }
  // The Dataverse defaults do not take the F&O statuses.
  SimOptions dv;
  dv.duplicate_status = 400;
  CHECK_THROWS_AS(Simulator(dv), std::invalid_argument);
}
