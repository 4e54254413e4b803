// BatchClient over a scripted transport, with captured Dataverse / simulator bodies.
#include "d365/batch_client.hpp"
#include "testing/entity_writes.hpp"
#include "testing/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <deque>

namespace asio = boost::asio;
using namespace ib;
using ib::core::AnswerClass;

namespace {

// Answers each send() with the next scripted result and records what was sent.
class ScriptedTransport final : public http::Transport {
public:
  std::deque<http::Result> script;
  std::vector<http::Request> sent;

  asio::awaitable<http::Result> send(http::Request request) override {
    sent.push_back(std::move(request));
    REQUIRE_FALSE(script.empty());
    auto r = std::move(script.front());
    script.pop_front();
    co_return r;
  }
};

http::Response response(int status, std::string content_type, std::string body, http::Headers extra = {}) {
  http::Response r;
  r.status = status;
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", std::move(content_type));
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

const std::string kMultipart = "multipart/mixed; boundary=batchresponse_c1bd45c1-dd81-470f-ac1c-b5d1b2e4b8f1";

std::string part(const std::string& status_line, const std::string& headers, const std::string& body) {
  return "--batchresponse_c1bd45c1-dd81-470f-ac1c-b5d1b2e4b8f1\r\n"
         "Content-Type: application/http\r\n"
         "Content-Transfer-Encoding: binary\r\n\r\n" +
         status_line + "\r\n" + headers + "\r\n" + body + "\r\n";
}
const std::string kEnd = "--batchresponse_c1bd45c1-dd81-470f-ac1c-b5d1b2e4b8f1--\r\n";

std::string created(const std::string& guid) {
  return part("HTTP/1.1 204 No Content",
              "OData-Version: 4.0\r\n"
              "Location: https://org.crm.dynamics.com/api/data/v9.2/VendorInvoices(" + guid + ")\r\n"
              "OData-EntityId: https://org.crm.dynamics.com/api/data/v9.2/VendorInvoices(" + guid + ")\r\n",
              "");
}
const std::string kDuplicateBody =
    R"({"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})";
std::string duplicate() {
  return part("HTTP/1.1 412 Precondition Failed",
              "REQ_ID: 5ad4c6ad-0f2a-4f1c-8e15-0f3c1e7d6f1b\r\nContent-Type: application/json; odata.metadata=minimal\r\n"
              "OData-Version: 4.0\r\n",
              kDuplicateBody);
}
const std::string kBadRequestBody =
    R"({"error":{"code":"0x80044331","message":"A validation error occurred.  The length of the 'InvoiceNumber' attribute of the 'VendorInvoice' entity exceeded the maximum allowed length of '100'."}})";
std::string bad_request() {
  return part("HTTP/1.1 400 Bad Request",
              "REQ_ID: 9b1f0d0e-d7b8-4f0b-b0a8-3b0f3c2a1e55\r\nContent-Type: application/json; odata.metadata=minimal\r\n"
              "OData-Version: 4.0\r\n",
              kBadRequestBody);
}

std::vector<odata::EntityWrite> writes(int n) { return testing::invoice_writes(n); }

d365::BatchClientConfig config(odata::BatchFormat format = odata::BatchFormat::multipart) {
  d365::BatchClientConfig c;
  c.odata.service_url = "https://org.crm.dynamics.com/api/data/v9.2";
  c.odata.format = format;
  c.request_deadline = std::chrono::seconds(7);
  return c;
}

std::vector<d365::Answer> send(std::shared_ptr<ScriptedTransport> t, int n,
                               d365::BatchClientConfig c = config()) {
  d365::BatchClient client(t, c);
  return testing::run_coro([&](asio::io_context&) { return client.send(writes(n)); });
}

}  // namespace

TEST_CASE("d365: the batch is one non-idempotent POST to the service's $batch with the deadline") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(response(200, kMultipart, created("11111111-1111-1111-1111-111111111111") + kEnd));
  auto answers = send(t, 1);
  REQUIRE(t->sent.size() == 1);
  const auto& r = t->sent[0];
  CHECK(r.method == "POST");
  CHECK(r.target == "/api/data/v9.2/$batch");
  CHECK_FALSE(r.idempotent);
  CHECK(r.deadline == std::chrono::seconds(7));
  CHECK(http::find_header(r.headers, "Prefer").value_or("").find("odata.continue-on-error") != std::string::npos);
  CHECK(http::find_header(r.headers, "Content-Type").value_or("").rfind("multipart/mixed", 0) == 0);
  CHECK(r.body.find("POST /api/data/v9.2/VendorInvoices HTTP/1.1") != std::string::npos);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].outcome == ib::core::AnswerClass::created);
  CHECK(answers[0].status == 204);
  CHECK(answers[0].record_id == "11111111-1111-1111-1111-111111111111");
}

TEST_CASE("d365: Dataverse without continue-on-error answers 400 with the one failed part") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(response(400, kMultipart, bad_request() + kEnd));
  auto c = config();
  c.odata.continue_on_error = false;
  auto answers = send(t, 3, c);
  CHECK(http::find_header(t->sent[0].headers, "Prefer").value_or("").find("continue-on-error") ==
        std::string::npos);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].outcome == ib::core::AnswerClass::permanent);
  CHECK(answers[0].status == 400);
  CHECK(answers[0].body == kBadRequestBody);
  CHECK(answers[0].error.find("0x80044331") != std::string::npos);
  CHECK(answers[1].outcome == ib::core::AnswerClass::not_processed);
  CHECK(answers[2].outcome == ib::core::AnswerClass::not_processed);
}

TEST_CASE("d365: a batch stopped at a duplicate: created, duplicate, then not processed") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(
      response(412, kMultipart, created("22222222-2222-2222-2222-222222222222") + duplicate() + kEnd));
  auto answers = send(t, 4);
  REQUIRE(answers.size() == 4);
  CHECK(answers[0].outcome == ib::core::AnswerClass::created);
  CHECK(answers[1].outcome == ib::core::AnswerClass::duplicate);
  CHECK(answers[1].status == 412);
  CHECK(answers[2].outcome == ib::core::AnswerClass::not_processed);
  CHECK(answers[3].outcome == ib::core::AnswerClass::not_processed);
}

TEST_CASE("d365: continue-on-error 200 with every part classifies each request") {
  auto t = std::make_shared<ScriptedTransport>();
  const auto throttled = part("HTTP/1.1 429 Too Many Requests", "Retry-After: 12\r\nContent-Type: application/json\r\n",
                              R"({"error":{"code":"0x80072322","message":"Number of requests exceeded the limit."}})");
  const auto unavailable = part("HTTP/1.1 503 Service Unavailable", "Content-Type: application/json\r\n",
                                R"({"error":{"code":"","message":"Service unavailable"}})");
  t->script.push_back(response(200, kMultipart,
                               created("33333333-3333-3333-3333-333333333333") + duplicate() + bad_request() +
                                   throttled + unavailable + kEnd));
  auto answers = send(t, 5);
  REQUIRE(answers.size() == 5);
  CHECK(answers[0].outcome == ib::core::AnswerClass::created);
  CHECK(answers[0].body.empty());
  CHECK(answers[1].outcome == ib::core::AnswerClass::duplicate);
  CHECK(answers[2].outcome == ib::core::AnswerClass::permanent);
  CHECK(answers[2].body == kBadRequestBody);
  CHECK(answers[3].outcome == ib::core::AnswerClass::throttled);
  REQUIRE(answers[3].retry_after);
  CHECK(*answers[3].retry_after == std::chrono::seconds(12));
  CHECK(answers[4].outcome == ib::core::AnswerClass::transient);
  CHECK(answers[4].status == 503);
}

TEST_CASE("d365: a whole-batch 429 throttles every request with its Retry-After") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(response(
      429, "application/json",
      R"({"error":{"code":"0x80072321","message":"Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds."}})",
      {{"Retry-After", "30"}}));
  auto answers = send(t, 3);
  REQUIRE(answers.size() == 3);
  for (const auto& a : answers) {
    CHECK(a.outcome == ib::core::AnswerClass::throttled);
    CHECK(a.status == 429);
    REQUIRE(a.retry_after);
    CHECK(*a.retry_after == std::chrono::seconds(30));
  }
}

TEST_CASE("d365: the pacing headers of an answer ride on each of its requests' answers") {
  auto t = std::make_shared<ScriptedTransport>();
  // As Dataverse (and d365-sim with limits.dop_hint) sends them on a 200 $batch answer.
  t->script.push_back(response(200, kMultipart, created("11111111-1111-1111-1111-111111111111") + duplicate() + kEnd,
                               {{"x-ms-dop-hint", "12"},
                                {"x-ms-ratelimit-burst-remaining-xrm-requests", "5998"},
                                {"x-ms-ratelimit-time-remaining-xrm-requests", "1199.990000"}}));
  auto answers = send(t, 2);
  REQUIRE(answers.size() == 2);
  for (const auto& a : answers) {
    CHECK(a.pacing.dop_hint == 12);
    CHECK(a.pacing.requests_remaining == std::uint64_t{5998});
    REQUIRE(a.pacing.time_remaining_s);
    CHECK(*a.pacing.time_remaining_s == Approx(1199.99));
  }
  SECTION("a 429 carries them too") {
    t->script.push_back(response(429, "application/json",
                                 R"({"error":{"code":"0x80072326","message":"Number of concurrent requests exceeded the limit of 52."}})",
                                 {{"Retry-After", "1"}, {"X-MS-DOP-HINT", "4"}}));
    auto throttled = send(t, 1);
    REQUIRE(throttled.size() == 1);
    CHECK(throttled[0].outcome == AnswerClass::throttled);
    CHECK(throttled[0].pacing.dop_hint == 4);
    CHECK_FALSE(throttled[0].pacing.requests_remaining);
  }
  SECTION("a transport failure carries none") {
    t->script.push_back(http::Failure{http::TransportError::connection_reset, "reset", true});
    auto failed = send(t, 1);
    REQUIRE(failed.size() == 1);
    CHECK_FALSE(failed[0].pacing.dop_hint);
    CHECK_FALSE(failed[0].pacing.requests_remaining);
    CHECK_FALSE(failed[0].pacing.time_remaining_s);
  }
}

TEST_CASE("d365: read_pacing keeps only well-formed values", "[unit]") {
  auto read = [](std::string dop, std::string req, std::string time) {
    return d365::read_pacing({{"x-ms-dop-hint", dop},
                              {"x-ms-ratelimit-burst-remaining-xrm-requests", req},
                              {"x-ms-ratelimit-time-remaining-xrm-requests", time}});
  };
  auto ok = read(" 8 ", "0", "0");
  CHECK(ok.dop_hint == 8);
  CHECK(ok.requests_remaining == std::uint64_t{0});
  CHECK(ok.time_remaining_s == 0.0);
  for (const auto& bad : {std::string(""), std::string("x"), std::string("-1"), std::string("3.5"),
                          std::string("1e400"), std::string("nan"), std::string("12abc")}) {
    auto s = read(bad, bad, bad);
    CHECK_FALSE(s.dop_hint);
    CHECK_FALSE(s.requests_remaining);
    if (bad == "3.5") {
      CHECK(s.time_remaining_s == 3.5);  // seconds may be fractional
    } else {
      CHECK_FALSE(s.time_remaining_s);
    }
  }
  CHECK_FALSE(read("0", "1", "1").dop_hint);  // a hint of 0 is no hint
  CHECK_FALSE(d365::read_pacing({}).dop_hint);
}

TEST_CASE("d365: a 503 from a gateway without a batch body is transient for every request") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(response(503, "text/html", "<html><body>Service Unavailable</body></html>"));
  auto answers = send(t, 2);
  REQUIRE(answers.size() == 2);
  for (const auto& a : answers) {
    CHECK(a.outcome == ib::core::AnswerClass::transient);
    CHECK(a.status == 503);
  }
}

TEST_CASE("d365: a POST that timed out has an unknown outcome: transient, never created") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(http::Failure{http::TransportError::timeout, "deadline of 7000 ms passed", true});
  d365::BatchClient client(t, config());
  auto answers = testing::run_coro([&](asio::io_context&) { return client.send(writes(3)); });
  REQUIRE(answers.size() == 3);
  for (const auto& a : answers) {
    CHECK(a.outcome == ib::core::AnswerClass::transient);
    CHECK(a.status == 0);
    CHECK(a.error.find("timeout") != std::string::npos);
  }
  CHECK(client.stats().batches_sent == 1);
  CHECK(client.stats().transport_failures == 1);
}

TEST_CASE("d365: a rejected token (auth_rejected) is permanent; a 401 after the refresh too") {
  SECTION("auth_rejected") {
    auto t = std::make_shared<ScriptedTransport>();
    t->script.push_back(http::Failure{http::TransportError::auth_rejected, "invalid_client", false});
    auto answers = send(t, 1);
    CHECK(answers.at(0).outcome == ib::core::AnswerClass::permanent);
  }
  SECTION("401") {
    auto t = std::make_shared<ScriptedTransport>();
    t->script.push_back(response(401, "application/json", R"({"error":{"code":"","message":"unauthorized"}})"));
    auto answers = send(t, 2);
    CHECK(answers.at(0).outcome == ib::core::AnswerClass::permanent);
    CHECK(answers.at(1).outcome == ib::core::AnswerClass::permanent);
  }
}

TEST_CASE("d365: JSON batch responses are matched by id") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(response(200, "application/json",
                               R"j({"responses":[)j"
                               R"j({"id":"2","status":412,"body":)j" + kDuplicateBody + R"j(},)j"
                               R"j({"id":"1","status":204,"headers":{"odata-entityid":"https://org.crm.dynamics.com/api/data/v9.2/VendorInvoices(44444444-4444-4444-4444-444444444444)"}}]})j"));
  auto answers = send(t, 3, config(odata::BatchFormat::json));
  CHECK(http::find_header(t->sent[0].headers, "Content-Type").value_or("").rfind("application/json", 0) == 0);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].outcome == ib::core::AnswerClass::created);
  CHECK(answers[0].record_id == "44444444-4444-4444-4444-444444444444");
  CHECK(answers[1].outcome == ib::core::AnswerClass::duplicate);
  CHECK(answers[2].outcome == ib::core::AnswerClass::not_processed);
}

TEST_CASE("d365: more writes than max_requests go out as several batches, answers in order") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(response(200, kMultipart,
                               created("55555555-5555-5555-5555-555555555555") +
                                   created("66666666-6666-6666-6666-666666666666") + kEnd));
  t->script.push_back(response(200, kMultipart, duplicate() + kEnd));
  auto c = config();
  c.odata.max_requests = 2;
  auto answers = send(t, 3, c);
  CHECK(t->sent.size() == 2);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].outcome == ib::core::AnswerClass::created);
  CHECK(answers[1].record_id == "66666666-6666-6666-6666-666666666666");
  CHECK(answers[2].outcome == ib::core::AnswerClass::duplicate);
}

TEST_CASE("d365: an invalid config is refused at construction with every problem") {
  d365::BatchClientConfig c;
  c.request_deadline = std::chrono::milliseconds(0);
  CHECK_THROWS_WITH(d365::BatchClient(std::make_shared<ScriptedTransport>(), c),
                    Catch::Contains("request_deadline") && Catch::Contains("service_url"));
}

namespace {

// F&O vendor invoices: a header (VendorInvoiceHeaders) with `lines` VendorInvoiceLines each.
std::vector<odata::EntityWrite> fno_invoices(int n, int lines) {
  std::vector<odata::EntityWrite> out;
  for (int i = 0; i < n; ++i) {
    const auto ref = "HR-" + std::to_string(i);
    odata::EntityWrite w{"VendorInvoiceHeaders", {{"dataAreaId", "usmf"}, {"HeaderReference", ref}},
                         R"({"dataAreaId":"usmf","HeaderReference":")" + ref +
                             R"(","InvoiceAccount":"V1","InvoiceNumber":"INV-)" + std::to_string(i) + R"("})"};
    for (int k = 1; k <= lines; ++k)
      w.lines.push_back({"VendorInvoiceLines", {{"HeaderReference", ref}, {"InvoiceLineNumber", std::to_string(k)}},
                         R"({"dataAreaId":"usmf","HeaderReference":")" + ref + R"(","InvoiceLineNumber":)" +
                             std::to_string(k) + "}"});
    out.push_back(std::move(w));
  }
  return out;
}

std::string id_part(const std::string& boundary, const std::string& id, const std::string& status_line,
                    const std::string& body) {
  return "--" + boundary + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: " +
         id + "\r\n\r\n" + status_line + "\r\nContent-Type: application/json\r\n\r\n" + body + "\r\n";
}

const std::string kOuter = "batchresponse_c1bd45c1-dd81-470f-ac1c-b5d1b2e4b8f1";

}  // namespace

TEST_CASE("d365: F&O invoices with lines: one change set each, one answer each, the failed line named") {
  auto t = std::make_shared<ScriptedTransport>();
  // Invoice 1 lands whole (its change set answers every request); invoice 2 is a duplicate
  // header; invoice 3 fails on line 2 (400); invoice 4 on line 1 (503). A failed change set
  // answers with one response (OData 4.0 §11.7.4), naming the request that failed.
  const std::string cs = "changesetresponse_0a1b";
  std::string body = "--" + kOuter + "\r\nContent-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n" +
                     id_part(cs, "1", "HTTP/1.1 201 Created", R"({"HeaderReference":"HR-0"})") +
                     id_part(cs, "1-1", "HTTP/1.1 201 Created", "{}") +
                     id_part(cs, "1-2", "HTTP/1.1 201 Created", "{}") + "--" + cs + "--\r\n";
  body += id_part(kOuter, "2", "HTTP/1.1 409 Conflict",
                  R"({"error":{"code":"DuplicateRecord","message":"Invoice INV-1 exists."}})");
  body += id_part(kOuter, "3-2", "HTTP/1.1 400 Bad Request",
                  R"({"error":{"code":"","message":"Write validation failed for table 'VendInvoiceInfoLine'."}})");
  body += id_part(kOuter, "4-1", "HTTP/1.1 503 Service Unavailable",
                  R"({"error":{"code":"","message":"busy"}})");
  body += "--" + kOuter + "--\r\n";
  t->script.push_back(response(200, "multipart/mixed; boundary=" + kOuter, body));
  auto c = config();
  c.odata.service_url = "https://env.operations.dynamics.com/data";
  d365::BatchClient client(t, c);
  auto answers = testing::run_coro([&](asio::io_context&) { return client.send(fno_invoices(4, 2)); });
  REQUIRE(answers.size() == 4);
  CHECK(answers[0].outcome == AnswerClass::created);
  CHECK(answers[0].error.empty());
  CHECK(answers[1].outcome == AnswerClass::duplicate);
  CHECK(answers[1].status == 409);
  CHECK(answers[2].outcome == AnswerClass::permanent);
  CHECK(answers[2].status == 400);
  CHECK(answers[2].error == "line 2: 400: Write validation failed for table 'VendInvoiceInfoLine'.");
  CHECK(answers[3].outcome == AnswerClass::transient);
  CHECK(answers[3].error == "line 1: 503: busy");
  CHECK(client.stats().requests_written == 12);
  REQUIRE(t->sent.size() == 1);
  CHECK(t->sent[0].target == "/data/$batch");
  // Four change sets, one per invoice, in a non-atomic batch.
  const auto& sent = t->sent[0].body;
  std::size_t change_sets = 0;
  for (auto at = sent.find("Content-Type: multipart/mixed"); at != std::string::npos;
       at = sent.find("Content-Type: multipart/mixed", at + 1))
    ++change_sets;
  CHECK(change_sets == 4);
  CHECK(sent.find("Content-ID: 3-2\r\n\r\nPOST /data/VendorInvoiceLines HTTP/1.1") != std::string::npos);
}

TEST_CASE("d365: a duplicate answer on a line is no duplicate invoice; a line unanswered is unknown") {
  auto t = std::make_shared<ScriptedTransport>();
  const std::string cs = "changesetresponse_0a1c";
  std::string body = id_part(kOuter, "1-1", "HTTP/1.1 409 Conflict", R"({"error":{"code":"","message":"dup line"}})");
  body += "--" + kOuter + "\r\nContent-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n" +
          id_part(cs, "2", "HTTP/1.1 201 Created", "{}") + "--" + cs + "--\r\n";
  body += "--" + kOuter + "--\r\n";
  t->script.push_back(response(200, "multipart/mixed; boundary=" + kOuter, body));
  d365::BatchClient client(t, config());
  auto answers = testing::run_coro([&](asio::io_context&) { return client.send(fno_invoices(2, 1)); });
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].outcome == AnswerClass::permanent);
  CHECK(answers[0].error == "line 1: 409: dup line");
  CHECK(answers[1].outcome == AnswerClass::transient);
  CHECK(answers[1].error == "line 1: no response part: outcome unknown");
}

TEST_CASE("d365: JSON batch: an atomicityGroup per invoice; the 424s of the rolled-back members do not hide the cause") {
  auto t = std::make_shared<ScriptedTransport>();
  t->script.push_back(response(
      200, "application/json",
      R"({"responses":[)"
      R"({"id":"1","atomicityGroup":"cs1","status":424,"body":{"error":{"code":"","message":"failed dependency"}}},)"
      R"({"id":"1-1","atomicityGroup":"cs1","status":400,"body":{"error":{"code":"","message":"bad line"}}},)"
      R"({"id":"2","atomicityGroup":"cs2","status":201,"body":{}},)"
      R"({"id":"2-1","atomicityGroup":"cs2","status":201,"body":{}}]})"));
  d365::BatchClient client(t, config(odata::BatchFormat::json));
  auto answers = testing::run_coro([&](asio::io_context&) { return client.send(fno_invoices(2, 1)); });
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].outcome == AnswerClass::permanent);
  CHECK(answers[0].error == "line 1: 400: bad line");
  CHECK(answers[1].outcome == AnswerClass::created);
  REQUIRE(t->sent.size() == 1);
  CHECK(t->sent[0].body.find(R"({"id":"1-1","atomicityGroup":"cs1","method":"POST")") != std::string::npos);
  CHECK(t->sent[0].body.find(R"({"id":"2","atomicityGroup":"cs2")") != std::string::npos);
}

TEST_CASE("d365: invoices with lines are never split across batches; max_requests counts lines") {
  auto t = std::make_shared<ScriptedTransport>();
  for (int i = 0; i < 2; ++i) t->script.push_back(response(503, "", ""));
  auto c = config();
  c.odata.max_requests = 7;  // 3 invoices of 3 operations: 2 + 1
  d365::BatchClient client(t, c);
  auto answers = testing::run_coro([&](asio::io_context&) { return client.send(fno_invoices(3, 2)); });
  REQUIRE(answers.size() == 3);
  for (const auto& a : answers) CHECK(a.outcome == AnswerClass::transient);
  CHECK(t->sent.size() == 2);
  CHECK(client.stats().requests_written == 9);
}
