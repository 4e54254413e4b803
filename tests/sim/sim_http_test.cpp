// The simulator over real loopback HTTP, checked with a raw client (raw_client.hpp).
#include "raw_client.hpp"
#include "sim/simulator.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace ib::sim;
using namespace ib::sim::testing;
namespace json = boost::json;

namespace {

const std::string kRoot = "/api/data/v9.2";
const std::string kSet = kRoot + "/VendorInvoices";
const Headers kBatchHeaders = {{"Content-Type", "multipart/mixed; boundary=batch_t"},
                               {"OData-Version", "4.0"},
                               {"Accept", "application/json"}};

json::value stats(RawClient& c) {
  auto r = c.get("/_sim/stats");
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

std::uint64_t num(const json::value& v, std::string_view key) {
  return v.at(key).to_number<std::uint64_t>();
}

}  // namespace

TEST_CASE("sim_http: create answers 204 with OData-EntityId, a duplicate key 412 0x80040237") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  auto r = c.request("POST", kSet, invoice("V001", "INV1"));
  REQUIRE(r.status == 204);
  const auto eid = r.header("odata-entityid");
  CHECK(eid.rfind("http://127.0.0.1:" + std::to_string(sim.port()) + kSet + "(", 0) == 0);
  CHECK(eid.size() == ("http://127.0.0.1:" + std::to_string(sim.port()) + kSet + "(").size() + 37);

  auto dup = c.request("POST", kSet, invoice("V001", "INV1", 99));
  CHECK(dup.status == 412);
  auto err = json::parse(dup.body);
  CHECK(err.at("error").at("code").as_string() == "0x80040237");
  CHECK(err.at("error").at("message").as_string() == "A record with matching key values already exists.");

  auto rep = c.request("POST", kSet, invoice("V001", "INV2", 12.5), {{"Prefer", "return=representation"}});
  CHECK(rep.status == 201);
  auto body = json::parse(rep.body);
  CHECK(body.at("InvoiceNumber").as_string() == "INV2");
  CHECK(body.at("Amount").to_number<double>() == 12.5);
  CHECK(body.at("VendorInvoiceId").as_string().size() == 36);
  CHECK(rep.body.find("12.5") != std::string::npos);

  auto st = stats(c);
  CHECK(num(st, "creates") == 2);
  CHECK(num(st, "duplicate_rejections") == 1);
  CHECK(num(st.at("creates_per_key_histogram"), "1") == 2);
  CHECK(c.connects() == 1);  // keep-alive
}

TEST_CASE("sim_http: duplicate_status 409 switches the duplicate answer") {
  SimOptions o;
  o.duplicate_status = 409;
  Simulator sim(o);
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kSet, invoice("V", "1")).status == 204);
  auto dup = c.request("POST", kSet, invoice("V", "1"));
  CHECK(dup.status == 409);
  CHECK(json::parse(dup.body).at("error").at("code").as_string() == "0x80040237");
}

TEST_CASE("sim_http: schema checks: unknown property, wrong type, missing key, bad JSON are 400") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  auto unknown = c.request("POST", kSet, R"({"VendorAccount":"V","InvoiceNumber":"1","Color":"red"})");
  CHECK(unknown.status == 400);
  CHECK(json::parse(unknown.body).at("error").at("code").as_string() == "0x80060888");
  CHECK(c.request("POST", kSet, R"({"VendorAccount":"V","InvoiceNumber":"1","Amount":"ten"})").status == 400);
  CHECK(c.request("POST", kSet, R"({"VendorAccount":"V","InvoiceNumber":"1","InvoiceDate":"31.01.2024"})").status == 400);
  CHECK(c.request("POST", kSet, R"({"VendorAccount":"V"})").status == 400);
  CHECK(c.request("POST", kSet, R"({"VendorAccount":"V",)").status == 400);
  CHECK(c.request("POST", kRoot + "/Nothing", invoice("V", "1")).status == 404);
  CHECK(sim.stats().records == 0);

  SimOptions lax;
  lax.entity_sets[0].allow_unknown_properties = true;
  Simulator sim2(lax);
  RawClient c2(sim2.port());
  CHECK(c2.request("POST", kSet, R"({"VendorAccount":"V","InvoiceNumber":"1","Color":"red"})").status == 204);
}

TEST_CASE("sim_http: alternate-key URLs with '' escaping and percent-encoding; upsert rules") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  // PATCH upsert creates the record named by the URL (INV'7 with a space: "INV'7 A").
  const std::string key = kSet + "(VendorAccount='V001',InvoiceNumber='INV''7%20A')";
  auto up = c.request("PATCH", key, R"({"Amount":5})");
  REQUIRE(up.status == 204);
  auto got = c.get(kSet + "(VendorAccount=%27V001%27,InvoiceNumber=%27INV%27%277%20A%27)");
  REQUIRE(got.status == 200);
  auto rec = json::parse(got.body);
  CHECK(rec.at("InvoiceNumber").as_string() == "INV'7 A");
  CHECK(rec.at("Amount").to_number<double>() == 5);
  const std::string id(rec.at("VendorInvoiceId").as_string());
  CHECK(c.get(kSet + "(" + id + ")").status == 200);

  // Upsert on an existing record updates it.
  CHECK(c.request("PATCH", key, R"({"Amount":6})").status == 204);
  CHECK(json::parse(c.get(kSet + "(" + id + ")").body).at("Amount").to_number<double>() == 6);
  // If-None-Match: * = create only.
  auto create_only = c.request("PATCH", key, R"({"Amount":7})", {{"If-None-Match", "*"}});
  CHECK(create_only.status == 412);
  CHECK(json::parse(create_only.body).at("error").at("code").as_string() == "0x80040237");
  // If-Match: * = update only.
  CHECK(c.request("PATCH", kSet + "(VendorAccount='V9',InvoiceNumber='nope')", R"({"Amount":1})",
                  {{"If-Match", "*"}}).status == 404);
  CHECK(c.request("PATCH", key, R"({"Amount":8})", {{"If-Match", "*"}}).status == 204);
  CHECK(c.request("PATCH", kSet + "(VendorAccount='V2',InvoiceNumber='n')", R"({"Amount":1})",
                  {{"If-None-Match", "*"}}).status == 204);
  CHECK(c.get(kSet + "(VendorAccount='V9',InvoiceNumber='nope')").status == 404);

  auto st = sim.stats();
  CHECK(st.creates == 2);
  CHECK(st.updates == 2);
  CHECK(st.records == 2);
  CHECK(c.request("DELETE", kSet + "(" + id + ")").status == 204);
  CHECK(c.get(kSet + "(" + id + ")").status == 404);
}

TEST_CASE("sim_http: collection GET with $filter, $select, $top, $count") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kSet, R"({"VendorAccount":"A","InvoiceNumber":"1","Amount":10,"Currency":"EUR"})").status == 204);
  REQUIRE(c.request("POST", kSet, R"({"VendorAccount":"A","InvoiceNumber":"2","Amount":20,"Currency":"USD"})").status == 204);
  REQUIRE(c.request("POST", kSet, R"({"VendorAccount":"B","InvoiceNumber":"1","Amount":30,"Currency":"EUR"})").status == 204);
  REQUIRE(c.request("POST", kSet, R"({"VendorAccount":"C","InvoiceNumber":"9","Amount":40,"InvoiceDate":"2024-02-01"})").status == 204);

  auto q = [&](const std::string& query) {
    auto r = c.get(kSet + "?" + query);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  CHECK(q("$filter=VendorAccount%20eq%20'A'").at("value").as_array().size() == 2);
  CHECK(q("$filter=VendorAccount%20eq%20'A'%20and%20Currency%20eq%20'EUR'").at("value").as_array().size() == 1);
  CHECK(q("$filter=(VendorAccount%20eq%20'A'%20and%20Amount%20gt%2015)%20or%20VendorAccount%20eq%20'B'")
            .at("value").as_array().size() == 2);
  CHECK(q("$filter=InvoiceDate%20ge%202024-01-01").at("value").as_array().size() == 1);
  auto counted = q("$count=true&$top=1&$select=InvoiceNumber");
  CHECK(counted.at("@odata.count").to_number<int>() == 4);
  REQUIRE(counted.at("value").as_array().size() == 1);
  const auto& first = counted.at("value").as_array()[0].as_object();
  CHECK(first.contains("InvoiceNumber"));
  CHECK(first.contains("VendorInvoiceId"));
  CHECK_FALSE(first.contains("Amount"));
  CHECK(c.get(kSet + "?$filter=Amount%20eq").status == 400);
  CHECK(c.get(kSet + "?$filter=(Amount%20eq%201").status == 400);
}

TEST_CASE("sim_http: a batch stops at the first failure unless continue-on-error") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kSet, invoice("V", "2")).status == 204);
  const std::vector<std::string> five = {invoice("V", "1"), invoice("V", "2"), invoice("V", "3"),
                                         invoice("V", "4"), invoice("V", "5")};
  SECTION("without the preference: 2 parts, batch status 412") {
    auto r = c.request("POST", kRoot + "/$batch", batch_of_creates(five), kBatchHeaders);
    CHECK(r.status == 412);
    CHECK(r.header("content-type").find("boundary=batchresponse_") != std::string::npos);
    auto parts = split_batch(r.header("content-type"), r.body);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].status == 204);
    CHECK(parts[1].status == 412);
    CHECK(parts[1].body.find("0x80040237") != std::string::npos);
    CHECK(sim.stats().records == 2);  // the pre-existing one and V/1; 3..5 not processed
  }
  SECTION("with odata.continue-on-error: 5 parts, status 200") {
    auto headers = kBatchHeaders;
    headers.emplace_back("Prefer", "odata.continue-on-error");
    auto r = c.request("POST", kRoot + "/$batch", batch_of_creates(five), headers);
    CHECK(r.status == 200);
    CHECK(r.header("preference-applied") == "odata.continue-on-error");
    auto parts = split_batch(r.header("content-type"), r.body);
    REQUIRE(parts.size() == 5);
    CHECK(parts[0].status == 204);
    CHECK(parts[1].status == 412);
    for (int i = 2; i < 5; ++i) CHECK(parts[i].status == 204);
    CHECK(sim.stats().records == 5);
  }
}

TEST_CASE("sim_http: batch_error_status_200 answers 200 with the parts up to the failure") {
  SimOptions o;
  o.batch_error_status_200 = true;
  Simulator sim(o);
  RawClient c(sim.port());
  auto r = c.request("POST", kRoot + "/$batch",
                     batch_of_creates({invoice("V", "1"), invoice("V", "1"), invoice("V", "3")}), kBatchHeaders);
  CHECK(r.status == 200);
  CHECK(split_batch(r.header("content-type"), r.body).size() == 2);
}

TEST_CASE("sim_http: inner URLs may be absolute URIs, absolute paths or root-relative") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  std::string body;
  const std::vector<std::string> urls = {"http://org.example.com/api/data/v9.2/VendorInvoices",
                                         "/api/data/v9.2/VendorInvoices", "VendorInvoices"};
  int n = 0;
  for (const auto& u : urls) {
    body += "--batch_t\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n";
    body += "POST " + u + " HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + invoice("U", std::to_string(++n)) + "\r\n";
  }
  body += "--batch_t--\r\n";
  auto r = c.request("POST", kRoot + "/$batch", body, kBatchHeaders);
  REQUIRE(r.status == 200);
  auto parts = split_batch(r.header("content-type"), r.body);
  REQUIRE(parts.size() == 3);
  for (const auto& p : parts) CHECK(p.status == 204);
  CHECK(sim.stats().records == 3);
}

TEST_CASE("sim_http: change sets are atomic and echo Content-ID") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kSet, invoice("V", "dup")).status == 204);
  auto change_set = [](const std::vector<std::string>& bodies) {
    std::string b = "--batch_t\r\nContent-Type: multipart/mixed; boundary=changeset_c\r\n\r\n";
    int id = 0;
    for (const auto& body : bodies) {
      b += "--changeset_c\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: " +
           std::to_string(++id) + "\r\n\r\nPOST /api/data/v9.2/VendorInvoices HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" +
           body + "\r\n";
    }
    b += "--changeset_c--\r\n--batch_t--\r\n";
    return b;
  };
  auto bad = c.request("POST", kRoot + "/$batch",
                       change_set({invoice("C", "1"), invoice("C", "2"), invoice("V", "dup"), invoice("C", "4")}),
                       kBatchHeaders);
  CHECK(bad.status == 412);
  auto bad_parts = split_batch(bad.header("content-type"), bad.body);
  REQUIRE(bad_parts.size() == 1);
  CHECK(bad_parts[0].status == 412);
  CHECK(bad_parts[0].content_id == "3");
  CHECK(sim.stats().records == 1);  // nothing of the change set was kept
  CHECK(sim.stats().creates == 1);
  CHECK(sim.stats().rolled_back_change_sets == 1);

  auto good = c.request("POST", kRoot + "/$batch", change_set({invoice("C", "1"), invoice("C", "2")}), kBatchHeaders);
  CHECK(good.status == 200);
  CHECK(good.body.find("changesetresponse_") != std::string::npos);
  auto parts = split_batch(good.header("content-type"), good.body);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].in_change_set);
  CHECK(parts[0].content_id == "1");
  CHECK(parts[1].content_id == "2");
  CHECK(parts[1].status == 204);
  CHECK(sim.stats().records == 3);
}

TEST_CASE("sim_http: malformed batches get 400 with a JSON error, and the server lives on") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  const std::vector<std::pair<std::string, Headers>> cases = {
      {"no delimiter at all", kBatchHeaders},
      {"--batch_t\r\nContent-Type: application/http\r\n\r\nPOST /api/data/v9.2/VendorInvoices HTTP/1.1\r\n\r\n{}\r\n", kBatchHeaders},
      {"--batch_t\r\nContent-Type: application/http\r\n\r\nthis is not a request line\r\n--batch_t--\r\n", kBatchHeaders},
      {"--batch_t\r\nNo-Colon-Header\r\n\r\nPOST x HTTP/1.1\r\n\r\n--batch_t--\r\n", kBatchHeaders},
      {"--batch_t\r\nContent-Type: text/plain\r\n\r\nhello\r\n--batch_t--\r\n", kBatchHeaders},
      {batch_of_creates({invoice("V", "1")}), {{"Content-Type", "multipart/mixed"}}},
      {batch_of_creates({invoice("V", "1")}), {{"Content-Type", "text/plain"}}},
      {"{\"requests\":[{\"id\":\"1\"", {{"Content-Type", "application/json"}}},
      {"{\"requests\":{}}", {{"Content-Type", "application/json"}}},
      {"{\"requests\":[{\"id\":\"1\",\"method\":\"POST\"}]}", {{"Content-Type", "application/json"}}},
      {"{\"requests\":[{\"id\":\"1\",\"method\":\"POST\",\"url\":\"VendorInvoices\"},{\"id\":\"1\",\"method\":\"POST\",\"url\":\"VendorInvoices\"}]}",
       {{"Content-Type", "application/json"}}},
  };
  for (const auto& [body, headers] : cases) {
    INFO(body);
    auto r = c.request("POST", kRoot + "/$batch", body, headers);
    CHECK(r.status == 400);
    auto err = json::parse(r.body);
    CHECK_FALSE(err.at("error").at("message").as_string().empty());
  }
  CHECK(sim.stats().records == 0);
  CHECK(c.request("POST", kSet, invoice("V", "ok")).status == 204);
}

TEST_CASE("sim_http: more requests than max_batch_requests is a 400") {
  SimOptions o;
  o.max_batch_requests = 10;
  Simulator sim(o);
  RawClient c(sim.port());
  std::vector<std::string> bodies;
  for (int i = 0; i < 11; ++i) bodies.push_back(invoice("V", std::to_string(i)));
  auto r = c.request("POST", kRoot + "/$batch", batch_of_creates(bodies), kBatchHeaders);
  CHECK(r.status == 400);
  CHECK(r.body.find("limit of 10") != std::string::npos);
  bodies.pop_back();
  CHECK(c.request("POST", kRoot + "/$batch", batch_of_creates(bodies), kBatchHeaders).status == 200);
  CHECK(sim.stats().records == 10);
}

TEST_CASE("sim_http: OData 4.01 JSON batch, same semantics, matched by id") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kSet, invoice("J", "2")).status == 204);
  auto req = [](const std::string& id, const std::string& number, const std::string& extra = "") {
    return R"({"id":")" + id + R"(","method":"POST","url":"VendorInvoices","headers":{"Content-Type":"application/json"},"body":{"VendorAccount":"J","InvoiceNumber":")" +
           number + R"("})" + extra + "}";
  };
  const std::string body = R"({"requests":[)" + req("a", "1") + "," + req("b", "2") + "," + req("c", "3") + "]}";
  const Headers h = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  auto r = c.request("POST", kRoot + "/$batch", body, h);
  CHECK(r.status == 412);
  auto doc = json::parse(r.body);
  auto& resp = doc.at("responses").as_array();
  REQUIRE(resp.size() == 2);
  CHECK(resp[0].at("id").as_string() == "a");
  CHECK(resp[0].at("status").to_number<int>() == 204);
  CHECK(resp[1].at("id").as_string() == "b");
  CHECK(resp[1].at("status").to_number<int>() == 412);
  CHECK(resp[1].at("body").at("error").at("code").as_string() == "0x80040237");

  auto h2 = h;
  h2.emplace_back("Prefer", "odata.continue-on-error");
  const std::string body2 = R"({"requests":[)" + req("a", "10") + "," + req("b", "2") + "," + req("c", "30") + "," +
                            req("d", "40", R"(,"dependsOn":["b"])") + "]}";
  auto r2 = c.request("POST", kRoot + "/$batch", body2, h2);
  CHECK(r2.status == 200);
  auto doc2 = json::parse(r2.body);
  auto& resp2 = doc2.at("responses").as_array();
  REQUIRE(resp2.size() == 4);
  CHECK(resp2[2].at("status").to_number<int>() == 204);
  CHECK(resp2[3].at("status").to_number<int>() == 424);

  // An atomicity group with a duplicate creates nothing.
  const std::string body3 = R"({"requests":[)" + req("x", "100", R"(,"atomicityGroup":"g")") + "," +
                            req("y", "2", R"(,"atomicityGroup":"g")") + "]}";
  const auto before = sim.stats().records;
  auto r3 = c.request("POST", kRoot + "/$batch", body3, h);
  CHECK(r3.status == 412);
  CHECK(sim.stats().records == before);
}

TEST_CASE("sim_http: service protection limits answer 429 with Retry-After that grows") {
  SimOptions o;
  o.limits.enabled = true;
  o.limits.max_requests = 3;
  o.limits.window_seconds = 60;
  Simulator sim(o);
  RawClient c(sim.port());
  for (int i = 0; i < 3; ++i) REQUIRE(c.request("POST", kSet, invoice("L", std::to_string(i))).status == 204);
  auto t1 = c.request("POST", kSet, invoice("L", "x"));
  REQUIRE(t1.status == 429);
  CHECK(json::parse(t1.body).at("error").at("code").as_string() == "0x80072322");
  const int first = std::stoi(t1.header("retry-after"));
  CHECK(first >= 1);
  auto t2 = c.request("POST", kSet, invoice("L", "x"));
  auto t3 = c.request("POST", kSet, invoice("L", "x"));
  REQUIRE(t3.status == 429);
  CHECK(std::stoi(t3.header("retry-after")) > first);
  CHECK(sim.stats().throttled == 3);
  CHECK(sim.stats().records == 3);

  SECTION("execution time limit: 0x80072321") {
    LimitOptions l = sim.limits();
    l.max_requests = 0;
    l.max_execution_ms = 50;
    l.operation_cost_ms = 10;
    sim.set_limits(l);
    std::vector<std::string> bodies;
    for (int i = 0; i < 10; ++i) bodies.push_back(invoice("E", std::to_string(i)));
    CHECK(c.request("POST", kRoot + "/$batch", batch_of_creates(bodies), kBatchHeaders).status == 200);
    auto t = c.request("POST", kSet, invoice("E", "x"));
    CHECK(t.status == 429);
    CHECK(json::parse(t.body).at("error").at("code").as_string() == "0x80072321");
    CHECK_FALSE(t.header("retry-after").empty());
  }
  SECTION("batch_counts_as_one=false counts every operation") {
    LimitOptions l = sim.limits();
    l.max_requests = 5;
    l.batch_counts_as_one = false;
    sim.set_limits(l);
    std::vector<std::string> bodies;
    for (int i = 0; i < 5; ++i) bodies.push_back(invoice("B", std::to_string(i)));
    CHECK(c.request("POST", kRoot + "/$batch", batch_of_creates(bodies), kBatchHeaders).status == 200);
    CHECK(c.request("POST", kSet, invoice("B", "x")).status == 429);
  }
  SECTION("PUT /_sim/limits turns limits off at run time") {
    CHECK(c.request("PUT", "/_sim/limits", R"({"enabled":false})").status == 200);
    CHECK(c.request("POST", kSet, invoice("L", "x")).status == 204);
  }
}

TEST_CASE("sim_http: limits.dop_hint sends x-ms-dop-hint on answers and on 429s") {
  SimOptions o;
  o.limits.enabled = true;
  o.limits.max_requests = 1;
  o.limits.window_seconds = 60;
  Simulator sim(o);
  RawClient c(sim.port());
  auto before = c.request("POST", kSet, invoice("D", "0"));
  CHECK(before.status == 204);
  CHECK(before.header("x-ms-dop-hint").empty());  // 0: not sent
  CHECK(before.header("x-ms-ratelimit-burst-remaining-xrm-requests") == "0");
  LimitOptions l = sim.limits();
  l.dop_hint = 6;
  l.max_requests = 2;
  sim.set_limits(l);  // restarts the window
  auto ok = c.request("POST", kSet, invoice("D", "1"));
  CHECK(ok.status == 204);
  CHECK(ok.header("x-ms-dop-hint") == "6");
  CHECK(ok.header("x-ms-ratelimit-burst-remaining-xrm-requests") == "1");
  CHECK(c.request("POST", kSet, invoice("D", "2")).status == 204);
  auto t = c.request("POST", kSet, invoice("D", "3"));
  CHECK(t.status == 429);
  CHECK(t.header("x-ms-dop-hint") == "6");
  CHECK(sim.limits().dop_hint == 6);
  SECTION("off with the limits") {
    l.enabled = false;
    sim.set_limits(l);
    CHECK(c.request("POST", kSet, invoice("D", "4")).header("x-ms-dop-hint").empty());
  }
  SECTION("no execution-time budget: no time-remaining header (a 0 would read as none left)") {
    l.max_requests = 0;
    l.max_execution_ms = 0;
    sim.set_limits(l);
    auto r = c.request("POST", kSet, invoice("D", "5"));
    CHECK(r.status == 204);
    CHECK(r.header("x-ms-ratelimit-time-remaining-xrm-requests").empty());
    CHECK(r.header("x-ms-dop-hint") == "6");
  }
}

TEST_CASE("sim_http: max_concurrent_requests counts the most requests at once, the refused one too") {
  SimOptions o;
  o.limits.enabled = true;
  o.limits.max_concurrent = 1;
  o.faults.request_latency_ms = 300;
  Simulator sim(o);
  RawClient c0(sim.port());
  REQUIRE(c0.request("POST", kSet, invoice("M", "0")).status == 204);
  CHECK(sim.stats().max_concurrent_requests == 1);  // one at a time
  std::atomic<int> started{0};
  std::thread slow([&] {
    RawClient c(sim.port());
    started = 1;
    CHECK(c.request("POST", kSet, invoice("M", "1")).status == 204);
  });
  while (!started) std::this_thread::yield();
  for (int i = 0; i < 200 && sim.stats().requests < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  RawClient c2(sim.port());
  auto r = c2.request("POST", kSet, invoice("M", "2"));
  slow.join();
  REQUIRE(r.status == 429);
  CHECK(sim.stats().max_concurrent_requests == 2);
  CHECK(json::parse(c2.request("GET", "/_sim/stats", "").body).at("max_concurrent_requests").as_int64() == 2);
}

TEST_CASE("sim_http: concurrent-request limit answers 0x80072326") {
  SimOptions o;
  o.limits.enabled = true;
  o.limits.max_concurrent = 1;
  o.faults.request_latency_ms = 300;
  Simulator sim(o);
  std::atomic<int> started{0};
  std::thread slow([&] {
    RawClient c(sim.port());
    started = 1;
    CHECK(c.request("POST", kSet, invoice("S", "1")).status == 204);
  });
  while (!started) std::this_thread::yield();
  // Wait until the slow request is admitted (counted), then send the second.
  for (int i = 0; i < 200 && sim.stats().requests == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  RawClient c2(sim.port());
  auto r = c2.request("POST", kSet, invoice("S", "2"));
  slow.join();
  CHECK(r.status == 429);
  CHECK(json::parse(r.body).at("error").at("code").as_string() == "0x80072326");
  CHECK_FALSE(r.header("retry-after").empty());
}

TEST_CASE("sim_http: faults: injected statuses, operation faults, reset, applied-then-failed") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  SECTION("request errors use the configured statuses") {
    REQUIRE(c.request("PUT", "/_sim/faults", R"({"request_error_probability":1,"error_statuses":[503]})").status == 200);
    auto r = c.request("POST", kSet, invoice("F", "1"));
    CHECK(r.status == 503);
    CHECK(sim.stats().records == 0);
    CHECK(sim.stats().injected_errors == 1);
  }
  SECTION("operation errors fail one part of a batch") {
    FaultOptions f;
    f.operation_error_probability = 1;
    f.error_statuses = {502};
    sim.set_faults(f);
    auto headers = kBatchHeaders;
    headers.emplace_back("Prefer", "odata.continue-on-error");
    auto r = c.request("POST", kRoot + "/$batch", batch_of_creates({invoice("F", "1"), invoice("F", "2")}), headers);
    CHECK(r.status == 200);
    auto parts = split_batch(r.header("content-type"), r.body);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].status == 502);
    CHECK(parts[1].status == 502);
    CHECK(sim.stats().records == 0);
  }
  SECTION("connection reset before the response: nothing applied") {
    FaultOptions f;
    f.reset_probability = 1;
    sim.set_faults(f);
    auto r = c.request("POST", kSet, invoice("F", "1"));
    CHECK(r.status == 0);
    CHECK_FALSE(r.error.empty());
    sim.set_faults(FaultOptions{});
    CHECK(sim.stats().records == 0);
    CHECK(c.request("POST", kSet, invoice("F", "1")).status == 204);
  }
  SECTION("applied then failed (500): the record exists") {
    FaultOptions f;
    f.applied_then_failed_probability = 1;
    sim.set_faults(f);
    auto r = c.request("POST", kSet, invoice("F", "1"));
    CHECK(r.status == 500);
    sim.set_faults(FaultOptions{});
    CHECK(sim.stats().records == 1);
    CHECK(c.request("POST", kSet, invoice("F", "1")).status == 412);
  }
  SECTION("applied then failed (dropped connection): the record exists") {
    FaultOptions f;
    f.applied_then_failed_probability = 1;
    f.applied_then_failed_drop = true;
    sim.set_faults(f);
    auto r = c.request("POST", kRoot + "/$batch", batch_of_creates({invoice("F", "1"), invoice("F", "2")}), kBatchHeaders);
    CHECK(r.status == 0);
    sim.set_faults(FaultOptions{});
    CHECK(sim.stats().records == 2);
  }
  SECTION("operation applied then failed: the part says 500, the record exists") {
    FaultOptions f;
    f.operation_applied_then_failed_probability = 1;
    sim.set_faults(f);
    auto r = c.request("POST", kRoot + "/$batch", batch_of_creates({invoice("F", "1"), invoice("F", "2")}), kBatchHeaders);
    CHECK(r.status == 500);
    auto parts = split_batch(r.header("content-type"), r.body);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].status == 500);
    CHECK(sim.stats().records == 1);
  }
  SECTION("slow response: the answer comes after slow_response_ms") {
    FaultOptions f;
    f.slow_response_probability = 1;
    f.slow_response_ms = 50;
    sim.set_faults(f);
    CHECK(c.request("POST", kSet, invoice("F", "1")).status == 204);
    CHECK(sim.stats().slow_responses == 1);
  }
}

TEST_CASE("sim_http: faults are deterministic under a seed") {
  auto run = [](std::uint64_t seed) {
    SimOptions o;
    o.seed = seed;
    o.faults.request_error_probability = 0.5;
    Simulator sim(o);
    RawClient c(sim.port());
    std::string statuses;
    for (int i = 0; i < 40; ++i) statuses += std::to_string(c.request("POST", kSet, invoice("D", std::to_string(i))).status) + ",";
    return statuses;
  };
  const auto a = run(7);
  CHECK(a == run(7));
  CHECK(a.find("204") != std::string::npos);
  CHECK(a.find("50") != std::string::npos);
}

TEST_CASE("sim_http: OAuth2 client credentials and 401 with WWW-Authenticate") {
  SimOptions o;
  o.auth.enabled = true;
  o.auth.client_id = "app";
  o.auth.client_secret = "s3cret";
  o.auth.token_lifetime_seconds = 600;
  Simulator sim(o);
  RawClient c(sim.port());
  const Headers form = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto none = c.request("POST", kSet, invoice("A", "1"));
  CHECK(none.status == 401);
  CHECK(none.header("www-authenticate").rfind("Bearer", 0) == 0);

  auto wrong = c.request("POST", "/tenant-1/oauth2/v2.0/token",
                         "grant_type=client_credentials&client_id=app&client_secret=nope&scope=https%3A%2F%2Forg.crm.dynamics.com%2F.default", form);
  CHECK(wrong.status == 401);
  CHECK(json::parse(wrong.body).at("error").as_string() == "invalid_client");
  CHECK(c.request("POST", "/tenant-1/oauth2/v2.0/token", "grant_type=password&client_id=app&client_secret=s3cret&scope=x", form).status == 400);

  auto tok = c.request("POST", "/tenant-1/oauth2/v2.0/token",
                       "grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=https%3A%2F%2Forg.crm.dynamics.com%2F.default", form);
  REQUIRE(tok.status == 200);
  auto t = json::parse(tok.body);
  CHECK(t.at("token_type").as_string() == "Bearer");
  CHECK(t.at("expires_in").to_number<int>() == 600);
  const std::string bearer = "Bearer " + std::string(t.at("access_token").as_string());
  CHECK(c.request("POST", kSet, invoice("A", "1"), {{"Authorization", bearer}}).status == 204);
  CHECK(c.request("POST", kSet, invoice("A", "2"), {{"Authorization", "Bearer forged"}}).status == 401);
  REQUIRE(c.request("POST", "/_sim/tokens/expire").status == 200);
  auto expired = c.request("POST", kSet, invoice("A", "3"), {{"Authorization", bearer}});
  CHECK(expired.status == 401);
  CHECK_FALSE(expired.header("www-authenticate").empty());
  CHECK(sim.stats().records == 1);
}

TEST_CASE("sim_http: inspection API: stats, records, reset, faults, limits; records file round trip") {
  ib::sim::SimOptions o;
  Simulator sim(o);
  RawClient c(sim.port());
  REQUIRE(c.request("POST", kRoot + "/$batch", batch_of_creates({invoice("I", "1"), invoice("I", "2")}), kBatchHeaders).status == 200);
  auto st = stats(c);
  CHECK(num(st, "batches") == 1);
  CHECK(num(st.at("batch_sizes"), "2") == 1);
  CHECK(num(st.at("requests_by_status"), "200") == 1);
  CHECK(st.at("keys_created_more_than_once").as_array().empty());
  auto recs = json::parse(c.get("/_sim/records").body);
  REQUIRE(recs.at("VendorInvoices").as_array().size() == 2);
  CHECK(recs.at("VendorInvoices").as_array()[0].at("InvoiceNumber").as_string() == "1");
  const auto in_process = sim.records();
  REQUIRE(in_process.size() == 2);
  CHECK(in_process[0].entity_set == "VendorInvoices");
  CHECK(in_process[0].key == std::vector<std::string>{"I", "1"});
  CHECK(in_process[0].id.size() == 36);
  CHECK(json::parse(in_process[1].json).at("InvoiceNumber").as_string() == "2");

  CHECK(c.request("PUT", "/_sim/faults", R"({"nonsense":1})").status == 400);
  auto f = c.request("PUT", "/_sim/faults", R"({"request_latency_ms":1})");
  CHECK(f.status == 200);
  CHECK(json::parse(c.get("/_sim/faults").body).at("request_latency_ms").to_number<double>() == 1);
  CHECK(sim.faults().request_latency_ms == 1);

  const std::string saved = sim.records_json();
  REQUIRE(c.request("POST", "/_sim/reset").status == 200);
  CHECK(sim.stats().records == 0);
  CHECK(sim.stats().creates == 0);
  REQUIRE(c.request("PUT", "/_sim/records", saved).status == 200);
  CHECK(sim.stats().records == 2);
  CHECK(c.request("POST", kSet, invoice("I", "1")).status == 412);  // loaded keys are enforced
}

TEST_CASE("sim_http: decimals are stored exactly: $batch create, GET, records, records file") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  // 29 and 38 significant digits (Edm.Decimal holds up to 38), and texts a double would
  // rewrite: a trailing zero, an exponent.
  const std::vector<std::string> amounts = {"12345678901234567890.123456789",
                                            "1234567890123456789012345678.9012345678", "3908.35", "100.50",
                                            "-0.000000000000000000000000000001", "1.5E3"};
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < amounts.size(); ++i)
    bodies.push_back(R"({"VendorAccount":"D","InvoiceNumber":")" + std::to_string(i) + R"(","Amount":)" + amounts[i] + "}");
  // Each part asks for its record back (Prefer is per request inside a batch).
  auto batch = batch_of_creates(bodies);
  for (std::size_t at = 0; (at = batch.find("type=entry\r\n", at)) != std::string::npos;)
    batch.insert(at += 12, "Prefer: return=representation\r\n");
  auto r = c.request("POST", kRoot + "/$batch", batch, kBatchHeaders);
  REQUIRE(r.status == 200);
  const auto parts = split_batch(r.header("content-type"), r.body);
  REQUIRE(parts.size() == amounts.size());
  const auto saved = sim.records_json();
  const auto in_process = sim.records();
  REQUIRE(in_process.size() == amounts.size());
  for (std::size_t i = 0; i < amounts.size(); ++i) {
    INFO(amounts[i]);
    const auto exact = "\"Amount\":" + amounts[i];
    CHECK(parts[i].status == 201);
    CHECK(parts[i].body.find(exact + ",") != std::string::npos);
    auto got = c.get(kSet + "(VendorAccount='D',InvoiceNumber='" + std::to_string(i) + "')");
    REQUIRE(got.status == 200);
    CHECK(got.body.find(exact + ",") != std::string::npos);
    CHECK(in_process[i].json.find(exact + ",") != std::string::npos);
    CHECK(saved.find(exact + ",") != std::string::npos);
  }
  // The collection, $filter on the amount (compared as a number) and /_sim/records.
  auto big = c.get(kSet + "?$filter=Amount%20gt%201000000");
  REQUIRE(big.status == 200);
  CHECK(json::parse(big.body).at("value").as_array().size() == 2);
  CHECK(big.body.find("\"Amount\":" + amounts[0] + ",") != std::string::npos);
  CHECK(big.body.find("\"Amount\":" + amounts[1] + ",") != std::string::npos);
  // The records file round trip keeps the text.
  REQUIRE(c.request("POST", "/_sim/reset").status == 200);
  REQUIRE(c.request("PUT", "/_sim/records", saved).status == 200);
  CHECK(c.get("/_sim/records").body == saved);
  // A JSON batch (OData 4.01) body is an object inside the batch document: same rule.
  const std::string json_batch = R"({"requests":[{"id":"1","method":"POST","url":"VendorInvoices",)"
                                 R"("headers":{"Content-Type":"application/json","Prefer":"return=representation"},)"
                                 R"("body":{"VendorAccount":"J","InvoiceNumber":"1","Amount":)" + amounts[1] + "}}]}";
  auto jr = c.request("POST", kRoot + "/$batch", json_batch, {{"Content-Type", "application/json"}});
  REQUIRE(jr.status == 200);
  CHECK(jr.body.find("\"Amount\":" + amounts[1] + ",") != std::string::npos);
  auto jgot = c.get(kSet + "(VendorAccount='J',InvoiceNumber='1')");
  CHECK(jgot.body.find("\"Amount\":" + amounts[1] + ",") != std::string::npos);
  // The raw-number marker is internal: a client cannot send one.
  CHECK(c.request("POST", kSet, "{\"VendorAccount\":\"M\",\"InvoiceNumber\":\"1\",\"Amount\":{\"\\u0001ib-raw-number\":\"1\"}}")
            .status == 400);
}

TEST_CASE("sim_http: answers stay JSON when the URL's key is not UTF-8") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  auto get = c.get(kSet + "(VendorAccount='M%FCller',InvoiceNumber='1')");  // Latin-1 'ü'
  CHECK(get.status == 404);
  boost::system::error_code ec;
  auto err = json::parse(get.body, ec);
  REQUIRE_FALSE(ec);
  CHECK(std::string(err.at("error").at("message").as_string()).find("M\xEF\xBF\xBDller") != std::string::npos);
  auto upsert = c.request("PATCH", kSet + "(VendorAccount='M%FCller',InvoiceNumber='1')", R"({"Amount":1})");
  CHECK(upsert.status == 400);
  json::parse(upsert.body, ec);
  CHECK_FALSE(ec);
  CHECK(sim.stats().records == 0);
  json::parse(c.get("/_sim/records").body, ec);
  CHECK_FALSE(ec);
}

TEST_CASE("sim_http: Expect: 100-continue is answered; a body over max_body_bytes is a 413") {
  SimOptions o;
  o.max_body_bytes = 4096;
  Simulator sim(o);
  RawClient c(sim.port());
  auto r = c.request("POST", kSet, invoice("E", "1"), {{"Expect", "100-continue"}});
  CHECK(r.status == 204);
  CHECK(r.interim == std::vector<int>{100});
  auto big = c.request("POST", kSet, std::string(5000, ' ') + invoice("E", "2"));
  CHECK(big.status == 413);
  CHECK(sim.stats().records == 1);
}

TEST_CASE("sim_http: every truncation of a valid batch gets an answer, never a crash") {
  Simulator sim(SimOptions{});
  RawClient c(sim.port());
  const std::string multipart =
      "--batch_t\r\nContent-Type: multipart/mixed; boundary=cs_1\r\n\r\n--cs_1\r\nContent-Type: application/http\r\n"
      "Content-ID: 1\r\n\r\nPOST VendorInvoices HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" +
      invoice("T", "1") + "\r\n--cs_1--\r\n--batch_t\r\nContent-Type: application/http\r\n\r\nPATCH VendorInvoices(VendorAccount='T',InvoiceNumber='2') HTTP/1.1\r\n\r\n{\"Amount\":2}\r\n--batch_t--\r\n";
  const std::string json_batch =
      R"({"requests":[{"id":"1","method":"POST","url":"VendorInvoices","atomicityGroup":"g","body":)" + invoice("J", "1") +
      R"x(},{"id":"2","method":"PATCH","url":"VendorInvoices(VendorAccount='J',InvoiceNumber='2')","dependsOn":["g"],"body":{"Amount":2}}]})x";
  for (const auto& [body, ct] : {std::pair{multipart, std::string("multipart/mixed; boundary=batch_t")},
                                 std::pair{json_batch, std::string("application/json")}}) {
    for (std::size_t n = 0; n < body.size(); ++n) {
      auto r = c.request("POST", kRoot + "/$batch", body.substr(0, n), {{"Content-Type", ct}});
      INFO(body.substr(0, n));
      REQUIRE(r.status != 0);
      CHECK(r.status < 500);
    }
    sim.reset();
    auto full = c.request("POST", kRoot + "/$batch", body, {{"Content-Type", ct}});
    CHECK(full.status == 200);
    CHECK(sim.stats().records == 2);
    sim.reset();
  }
}
