#include "capture.hpp"

#include "odata/batch_reader.hpp"
#include "odata/batch_result.hpp"

#include <catch2/catch.hpp>

using namespace ib::odata;
using namespace ib::odata::testing;
using std::chrono::seconds;

namespace {

std::string to_crlf(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::vector<ib::core::AnswerClass> outcomes(const std::vector<RequestResult>& r) {
  std::vector<ib::core::AnswerClass> out;
  for (const auto& x : r) out.push_back(x.classification.outcome);
  return out;
}

const ClassifyConfig kConfig;

}  // namespace

TEST_CASE("reader: Dataverse batch without change sets (docs sample, LF, no Content-Type)") {
  const auto resp = load_capture("dataverse_batch_200.http");
  const auto parsed = parse_batch_response("", resp.body);
  CHECK(parsed.error.empty());
  REQUIRE(parsed.parts.size() == 4);
  CHECK(parsed.parts[0].status == 204);
  CHECK(parsed.parts[0].record_id == "d31ba648-c592-ed11-aad1-000d3a993550");
  CHECK(parsed.parts[0].entity_id ==
        "[Organization Uri]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)");
  CHECK(parsed.parts[2].record_id == "d51ba648-c592-ed11-aad1-000d3a993550");
  CHECK(parsed.parts[3].status == 200);
  CHECK(parsed.parts[3].body.find("\"Task 3 in batch\"") != std::string::npos);
  CHECK(parsed.parts[3].body.back() == '}');
  for (const auto& p : parsed.parts) CHECK(p.content_id.empty());

  const auto r = read_batch_response(sent_batch(4), resp, kConfig);
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(4, ib::core::AnswerClass::created));
  CHECK(r[1].part.record_id == "d41ba648-c592-ed11-aad1-000d3a993550");
}

TEST_CASE("reader: the same body with CRLF and a declared, unquoted boundary") {
  const auto resp = load_capture("dataverse_batch_200.http");
  const auto parsed = parse_batch_response(
      "multipart/mixed; boundary=batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916", to_crlf(resp.body));
  CHECK(parsed.error.empty());
  REQUIRE(parsed.parts.size() == 4);
  CHECK(parsed.parts[1].record_id == "d41ba648-c592-ed11-aad1-000d3a993550");
  CHECK(parsed.parts[3].status == 200);
  CHECK(parsed.parts[3].body.find('\r') != std::string::npos);  // body kept as sent
}

TEST_CASE("reader: change set response echoes Content-ID (docs sample)") {
  const auto resp = load_capture("dataverse_changeset_200.http");
  const auto parsed = parse_batch_response("", resp.body);
  CHECK(parsed.error.empty());
  REQUIRE(parsed.parts.size() == 4);
  CHECK(parsed.parts[0].content_id == "1");
  CHECK(parsed.parts[2].content_id == "3");
  CHECK(parsed.parts[0].in_change_set);
  CHECK_FALSE(parsed.parts[3].in_change_set);
  CHECK(parsed.parts[3].content_id.empty());
  CHECK(parsed.parts[1].record_id == "e83ffc82-e292-ed11-aad1-000d3a9933c9");

  // Responses matched by id even when the ids come in another order than sent.
  auto sent = sent_batch(4);
  std::swap(sent.content_ids[0], sent.content_ids[2]);  // sent: 3,2,1,4
  const auto r = read_batch_response(sent, resp, kConfig);
  CHECK(r[0].part.record_id == "e93ffc82-e292-ed11-aad1-000d3a9933c9");
  CHECK(r[2].part.record_id == "e73ffc82-e292-ed11-aad1-000d3a9933c9");
  CHECK(r[3].part.status == 200);  // the un-id'd part went to the one request left
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(4, ib::core::AnswerClass::created));
}

TEST_CASE("reader: a batch that stopped at its first failure answers 400 with one part (docs sample)") {
  const auto resp = load_capture("dataverse_stop_400.http");
  CHECK(resp.status == 400);
  const auto r = read_batch_response(sent_batch(3), resp, kConfig);
  REQUIRE(r.size() == 3);
  CHECK(r[0].classification.outcome == ib::core::AnswerClass::permanent);
  CHECK(r[0].part.error_code == "0x80044331");
  CHECK(r[0].part.error_message.rfind("A validation error occurred.", 0) == 0);
  CHECK(r[0].error.rfind("400 0x80044331: A validation error", 0) == 0);
  CHECK(r[0].part.body.rfind("{\"error\":", 0) == 0);
  CHECK_FALSE(r[1].has_part);
  CHECK(r[1].classification.outcome == ib::core::AnswerClass::not_processed);
  CHECK(r[2].classification.outcome == ib::core::AnswerClass::not_processed);
  CHECK(r[2].error == "not processed: no response part");
}

TEST_CASE("reader: continue-on-error batch answers 200 with every part (docs sample)") {
  const auto r = read_batch_response(sent_batch(3), load_capture("dataverse_continue_200.http"), kConfig);
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>{ib::core::AnswerClass::permanent, ib::core::AnswerClass::created, ib::core::AnswerClass::created});
  CHECK(r[1].part.record_id == "aed2ae8b-3c94-ed11-aad1-000d3a9933c9");
  CHECK(r[2].part.record_id == "b181a991-3c94-ed11-aad1-000d3a9933c9");
}

TEST_CASE("reader: duplicate, per-part 429 and 409 with odd header spelling, CRLF, quoted boundary") {
  const auto resp = load_capture("duplicate_mixed_crlf.http");
  const auto r = read_batch_response(sent_batch(4), resp, kConfig);
  CHECK(outcomes(r) ==
        std::vector<ib::core::AnswerClass>{ib::core::AnswerClass::created, ib::core::AnswerClass::duplicate, ib::core::AnswerClass::throttled, ib::core::AnswerClass::duplicate});
  CHECK(r[0].part.record_id == "11111111-2222-3333-4444-555555555555");
  CHECK(r[1].part.error_code == "0x80040237");
  CHECK(r[1].part.error_message == "A record with matching key values already exists.");
  CHECK(r[2].classification.retry_after == seconds(17));
  CHECK(r[3].part.status == 409);
}

TEST_CASE("reader: OData 4.01 JSON batch response, matched by id") {
  const auto r = read_batch_response(sent_batch(3), load_capture("json_batch_200.http"), kConfig);
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>{ib::core::AnswerClass::created, ib::core::AnswerClass::duplicate, ib::core::AnswerClass::transient});
  CHECK(r[0].part.record_id == "abc");
  CHECK(r[0].part.body == R"({"VendorInvoiceId":"abc"})");
  CHECK(r[1].part.error_code == "0x80040237");
  CHECK(r[2].part.retry_after == seconds(3));
}

TEST_CASE("reader: whole-batch failures without a multipart body apply to every request") {
  auto r = read_batch_response(sent_batch(3), load_capture("throttled_429.http"), kConfig);
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(3, ib::core::AnswerClass::throttled));
  for (const auto& x : r) {
    CHECK(x.classification.retry_after == seconds(42));
    CHECK_FALSE(x.has_part);
    CHECK(x.part.error_code == "0x80072321");
  }
  r = read_batch_response(sent_batch(2), load_capture("gateway_503.http"), kConfig);
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(2, ib::core::AnswerClass::transient));
  CHECK(r[0].error.rfind("batch 503", 0) == 0);

  BatchHttpResponse unauthorized{401, {{"Content-Type", "application/json"}}, "{\"error\":{\"code\":\"\",\"message\":\"token expired\"}}"};
  CHECK(outcomes(read_batch_response(sent_batch(2), unauthorized, kConfig)) ==
        std::vector<ib::core::AnswerClass>(2, ib::core::AnswerClass::permanent));

  BatchHttpResponse too_large{413, {}, ""};
  CHECK(outcomes(read_batch_response(sent_batch(2), too_large, kConfig)) ==
        std::vector<ib::core::AnswerClass>(2, ib::core::AnswerClass::permanent));
}

// Issue 12 changed these two: id-less parts are matched by position only when they cannot
// be misattributed (one per request, or fewer ending in the failure that stopped the batch).
TEST_CASE("reader: fewer id-less parts than requests, all 2xx: nothing is credited") {
  const auto r = read_batch_response(sent_batch(6), load_capture("dataverse_batch_200.http"), kConfig);
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(6, ib::core::AnswerClass::not_processed));
}

TEST_CASE("reader: more id-less parts than requests: nothing is credited") {
  const auto r = read_batch_response(sent_batch(2), load_capture("dataverse_batch_200.http"), kConfig);
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(2, ib::core::AnswerClass::not_processed));
}

TEST_CASE("reader: an answer is credited only to the request it names (JSON batch ids)") {
  using C = ib::core::AnswerClass;
  const auto json = [](const std::string& responses) {
    return BatchHttpResponse{200, {{"Content-Type", "application/json"}}, "{\"responses\":[" + responses + "]}"};
  };
  const std::string ok1 = R"({"id":"1","status":204})", ok2 = R"({"id":"2","status":204})";
  const std::string ok3 = R"({"id":"3","status":204})", unknown = R"({"id":"9","status":204})";
  const std::string noid = R"({"status":204})";
  const std::string bad = R"({"status":400,"body":{"error":{"code":"0x80044331","message":"bad"}}})";
  struct Row {
    std::string name;
    std::string body;
    std::vector<C> want;
  };
  const std::vector<Row> rows = {
      {"all named", ok1 + "," + ok2 + "," + ok3, {C::created, C::created, C::created}},
      {"unknown id", ok1 + "," + ok2 + "," + unknown, {C::created, C::created, C::not_processed}},
      {"repeated id", ok1 + "," + ok2 + "," + ok2, {C::created, C::created, C::not_processed}},
      {"id-less beside ids", ok1 + "," + ok2 + "," + noid, {C::created, C::created, C::not_processed}},
      {"missing", ok1, {C::created, C::not_processed, C::not_processed}},
      {"all id-less, one each", noid + "," + noid + "," + noid, {C::created, C::created, C::created}},
      {"id-less, fewer, last 2xx", noid + "," + noid, {C::not_processed, C::not_processed, C::not_processed}},
      {"id-less, fewer, last failed", noid + "," + bad, {C::created, C::permanent, C::not_processed}},
      {"id-less, more", noid + "," + noid + "," + noid + "," + noid, {C::not_processed, C::not_processed, C::not_processed}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    CHECK(outcomes(read_batch_response(sent_batch(3), json(row.body), kConfig)) == row.want);
  }
}

TEST_CASE("reader: a body cut off before its closing delimiter drops the last part") {
  auto resp = load_capture("dataverse_continue_200.http");
  resp.body = resp.body.substr(0, resp.body.find("b181a991"));  // inside the third part
  const auto parsed = parse_batch_response("", resp.body);
  CHECK(parsed.parts.size() == 2);
  CHECK(parsed.error.find("closing delimiter") != std::string::npos);
  const auto r = read_batch_response(sent_batch(3), resp, kConfig);
  // Issue 12: the id-less parts of a cut-off body cannot be placed safely: nothing is credited.
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(3, ib::core::AnswerClass::not_processed));
}

TEST_CASE("reader: 2xx without a readable batch body: outcome unknown, transient") {
  BatchHttpResponse garbage{200, {{"Content-Type", "text/plain"}}, "hello"};
  CHECK(outcomes(read_batch_response(sent_batch(2), garbage, kConfig)) ==
        std::vector<ib::core::AnswerClass>(2, ib::core::AnswerClass::transient));
  BatchHttpResponse empty{200, {}, ""};
  CHECK(outcomes(read_batch_response(sent_batch(1), empty, kConfig)) ==
        std::vector<ib::core::AnswerClass>{ib::core::AnswerClass::transient});
  BatchHttpResponse no_parts{200, {{"Content-Type", "multipart/mixed; boundary=b"}}, "--b--\r\n"};
  CHECK(outcomes(read_batch_response(sent_batch(2), no_parts, kConfig)) ==
        std::vector<ib::core::AnswerClass>(2, ib::core::AnswerClass::not_processed));
}

TEST_CASE("reader: preamble, epilogue, transport padding, folded headers, odd spacing") {
  const std::string body =
      "This is a preamble\r\n"
      "--b1 \t\r\n"
      "content-type:   application/http\r\n"
      "\r\n"
      "HTTP/1.1 204 No Content\r\n"
      "OData-EntityId:\r\n"
      " https://h/api/data/v9.2/VendorInvoices(aaaa)\r\n"
      "\r\n"
      "\r\n"
      "--b1\r\n"
      "Content-Type: application/http\r\n"
      "\r\n"
      "\r\n"
      "http/1.1 412 Precondition Failed\r\n"
      "CONTENT-TYPE : application/json\r\n"
      "\r\n"
      "  {\"error\": {\"code\": \"0x80040237\", \"message\": \"exists\"}}  \r\n"
      "--b1--\r\n"
      "epilogue --b1\r\n";
  const auto parsed = parse_batch_response("Multipart/Mixed ; Boundary = \"b1\"", body);
  CHECK(parsed.error.empty());
  REQUIRE(parsed.parts.size() == 2);
  CHECK(parsed.parts[0].status == 204);
  CHECK(parsed.parts[0].record_id == "aaaa");
  CHECK(parsed.parts[1].status == 412);
  CHECK(parsed.parts[1].error_code == "0x80040237");
}

TEST_CASE("reader: a boundary string inside a line is not a delimiter") {
  const std::string body =
      "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 400 Bad Request\r\n\r\n"
      "{\"error\":{\"code\":\"x\",\"message\":\"see --b and --b-- here\"}}\r\n--b--\r\n";
  const auto parsed = parse_batch_response("multipart/mixed; boundary=b", body);
  REQUIRE(parsed.parts.size() == 1);
  CHECK(parsed.parts[0].error_message == "see --b and --b-- here");
}

TEST_CASE("reader: atomic change set that failed rolls every request back") {
  // Dataverse answers a failed change set with the failing request's response alone.
  const std::string body =
      "--batchresponse_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "HTTP/1.1 412 Precondition Failed\r\nContent-Type: application/json\r\n\r\n"
      "{\"error\":{\"code\":\"0x80040237\",\"message\":\"A record with matching key values already exists.\"}}\r\n"
      "--batchresponse_x--\r\n";
  BatchHttpResponse resp{412, {{"Content-Type", "multipart/mixed; boundary=batchresponse_x"}}, body};
  const auto r = read_batch_response(sent_batch(3, true), resp, kConfig);
  // Nobody may be marked duplicate (= imported) on an unattributed failure.
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(3, ib::core::AnswerClass::transient));
  CHECK(r[1].error.find("rolled back") != std::string::npos);

  // With the failure echoed by Content-ID, that request gets its own outcome.
  const std::string cs =
      "--batchresponse_y\r\nContent-Type: multipart/mixed; boundary=changesetresponse_y\r\n\r\n"
      "--changesetresponse_y\r\nContent-Type: application/http\r\nContent-ID: 2\r\n\r\n"
      "HTTP/1.1 412 Precondition Failed\r\n\r\n{\"error\":{\"code\":\"0x80040237\",\"message\":\"m\"}}\r\n"
      "--changesetresponse_y--\r\n--batchresponse_y--\r\n";
  BatchHttpResponse resp2{200, {{"Content-Type", "multipart/mixed; boundary=batchresponse_y"}}, cs};
  const auto r2 = read_batch_response(sent_batch(3, true), resp2, kConfig);
  CHECK(outcomes(r2) == std::vector<ib::core::AnswerClass>{ib::core::AnswerClass::transient, ib::core::AnswerClass::duplicate, ib::core::AnswerClass::transient});
}

TEST_CASE("reader: transport failures apply to every request") {
  const auto r = results_for_transport_failure(sent_batch(3), TransportFailure::timeout, "deadline 30s");
  CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>(3, ib::core::AnswerClass::transient));
  CHECK(r[2].error == "timeout: deadline 30s");
  CHECK(r[2].content_id == "3");
}

TEST_CASE("reader helpers") {
  CHECK(multipart_boundary("multipart/mixed; boundary=\"a b\"") == std::optional<std::string>("a b"));
  CHECK(multipart_boundary("multipart/mixed;charset=utf-8;boundary=xyz") == std::optional<std::string>("xyz"));
  CHECK_FALSE(multipart_boundary("application/json"));
  CHECK_FALSE(multipart_boundary("multipart/mixed"));
  CHECK_FALSE(multipart_boundary("multipart/mixed; boundary=\"\""));
  CHECK(parse_retry_after(" 120 ") == seconds(120));
  CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  CHECK(parse_error_body("{\"error\":{\"code\":\"0x1\",\"message\":\"m\"}}") == ErrorBody{"0x1", "m", ""});
  CHECK(parse_error_body("<html>") == ErrorBody{});
  CHECK(parse_error_body("{\"error\":\"flat\"}") == ErrorBody{});
}

namespace {

// Finance and Operations' error body (CONTRACT-FNO.md): the generic text outside, the
// specific one in innererror.
std::string fno_error(const std::string& inner) {
  return R"({"error":{"code":"","message":"An error has occurred.","innererror":{"message":")" + inner +
         R"(","type":"Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException","stacktrace":""}}})";
}

const std::string kFnoDuplicate =
    "Write failed for table row of type 'VendorInvoiceHeaderEntity'. Infolog: Error: Cannot create a record in "
    "Pending vendor invoice header (VendInvoiceInfoTable). The record already exists.";
const std::string kFnoDuplicateLine =
    "Write failed for table row of type 'VendorInvoiceLineEntity'. Infolog: Error: Cannot create a record in "
    "Pending vendor invoice line (VendInvoiceInfoLine). The record already exists.";
const std::string kFnoMissing = "Field 'Vendor account' must be filled in.";

ClassifyConfig fno_classify() {
  ClassifyConfig c;
  c.duplicate_messages = {"The record already exists"};
  return c;
}

std::string mime_part(const std::string& boundary, const std::string& id, int status, const std::string& body) {
  std::string s = "--" + boundary + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n";
  if (!id.empty()) s += "Content-ID: " + id + "\r\n";
  return s + "\r\nHTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json; odata.metadata=minimal\r\n\r\n" +
         body + "\r\n";
}

BatchHttpResponse multipart_answer(const std::string& inner) {
  return BatchHttpResponse{200, {{"Content-Type", "multipart/mixed; boundary=batchresponse_f"}},
                           inner + "--batchresponse_f--\r\n"};
}

BatchHttpResponse json_answer(const std::string& responses) {
  return BatchHttpResponse{200, {{"Content-Type", "application/json; odata.metadata=minimal"}},
                           R"({"responses":[)" + responses + "]}"};
}

std::string json_item(const std::string& id, int status, const std::string& body, bool grouped = true) {
  return R"({"id":")" + id + R"(",)" + (grouped ? R"("atomicityGroup":"g1",)" : "") +
         R"("status":)" + std::to_string(status) + R"(,"headers":{"content-type":"application/json"},"body":)" + body +
         "}";
}

}  // namespace

TEST_CASE("reader: F&O error bodies: innererror.message is read, shown and classifies a duplicate") {
  CHECK(parse_error_body(fno_error(kFnoDuplicate)) == ErrorBody{"", "An error has occurred.", kFnoDuplicate});
  CHECK(parse_error_body(R"({"error":{"message":"m","innererror":"flat"}})") == ErrorBody{"", "m", ""});
  CHECK(parse_error_body(R"({"error":{"innererror":{"message":"only inside"}}})") == ErrorBody{"", "", "only inside"});

  const auto multipart = multipart_answer(mime_part("batchresponse_f", "1", 400, fno_error(kFnoDuplicate)) +
                                          mime_part("batchresponse_f", "2", 400, fno_error(kFnoMissing)) +
                                          mime_part("batchresponse_f", "3", 500, fno_error(kFnoDuplicate)));
  const auto json = json_answer(json_item("1", 400, fno_error(kFnoDuplicate), false) + "," +
                                json_item("2", 400, fno_error(kFnoMissing), false) + "," +
                                json_item("3", 500, fno_error(kFnoDuplicate), false));
  for (const auto* answer : {&multipart, &json}) {
    INFO((answer == &json ? "json" : "multipart"));
    const auto r = read_batch_response(sent_batch(3), *answer, fno_classify());
    REQUIRE(r.size() == 3);
    CHECK(outcomes(r) == std::vector<ib::core::AnswerClass>{ib::core::AnswerClass::duplicate,
                                                            ib::core::AnswerClass::permanent,
                                                            ib::core::AnswerClass::duplicate});
    CHECK(r[0].part.error_message == "An error has occurred.");
    CHECK(r[0].part.error_inner_message == kFnoDuplicate);
    CHECK(r[1].error == "400: An error has occurred. (" + kFnoMissing + ")");
    // Without duplicate texts (the Dataverse default) the same answers are a refusal and a 500.
    CHECK(outcomes(read_batch_response(sent_batch(3), *answer, kConfig)) ==
          std::vector<ib::core::AnswerClass>{ib::core::AnswerClass::permanent, ib::core::AnswerClass::permanent,
                                             ib::core::AnswerClass::transient});
  }
}

TEST_CASE("reader: F&O change sets: a duplicate header is a duplicate invoice, a duplicate line a rejected line") {
  // One invoice with three lines: request "1", lines "1-1".."1-3" in one change set.
  EncodedBatch sent = sent_batch(1);
  sent.line_ids = {{"1-1", "1-2", "1-3"}};
  const std::string cs = "changesetresponse_f";
  auto change_set = [&](const std::string& parts) {
    return "--batchresponse_f\r\nContent-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n" + parts + "--" + cs +
           "--\r\n";
  };
  struct Row {
    const char* name;
    BatchHttpResponse answer;
    ib::core::AnswerClass want;
    std::size_t failed_line;
    std::string error;
  };
  const Row rows[] = {
      {"multipart: the failed change set's one answer names the header",
       multipart_answer(change_set(mime_part(cs, "1", 400, fno_error(kFnoDuplicate)))),
       ib::core::AnswerClass::duplicate, 0, "400: An error has occurred. (" + kFnoDuplicate + ")"},
      {"multipart: one answer without a Content-ID, 500, matched by position",
       multipart_answer(mime_part("batchresponse_f", "", 500, fno_error(kFnoDuplicate))),
       ib::core::AnswerClass::duplicate, 0, "500: An error has occurred. (" + kFnoDuplicate + ")"},
      {"json: the header refused as a duplicate, its lines rolled back (424)",
       json_answer(json_item("1", 400, fno_error(kFnoDuplicate)) + "," +
                   json_item("1-1", 424, fno_error("Failed dependency")) + "," +
                   json_item("1-2", 424, fno_error("Failed dependency")) + "," +
                   json_item("1-3", 424, fno_error("Failed dependency"))),
       ib::core::AnswerClass::duplicate, 0, "400: An error has occurred. (" + kFnoDuplicate + ")"},
      {"json: line 2 exists already (another record): the invoice is rejected, the line named",
       json_answer(json_item("1", 424, fno_error("Failed dependency")) + "," +
                   json_item("1-1", 424, fno_error("Failed dependency")) + "," +
                   json_item("1-2", 400, fno_error(kFnoDuplicateLine)) + "," +
                   json_item("1-3", 424, fno_error("Failed dependency"))),
       ib::core::AnswerClass::permanent, 2, "line 2: 400: An error has occurred. (" + kFnoDuplicateLine + ")"},
      {"multipart: line 3 answered 500 with the duplicate text: still the line's, rejected",
       multipart_answer(change_set(mime_part(cs, "1-3", 500, fno_error(kFnoDuplicateLine)))),
       ib::core::AnswerClass::permanent, 3, "line 3: 500: An error has occurred. (" + kFnoDuplicateLine + ")"},
      {"json: a 500 without the duplicate text is transient",
       json_answer(json_item("1", 500, fno_error("Deadlock")) + "," + json_item("1-1", 424, "{}") + "," +
                   json_item("1-2", 424, "{}") + "," + json_item("1-3", 424, "{}")),
       ib::core::AnswerClass::transient, 0, "500: An error has occurred. (Deadlock)"},
      {"multipart: the whole change set created",
       multipart_answer(change_set(mime_part(cs, "1", 201, "{}") + mime_part(cs, "1-1", 201, "{}") +
                                   mime_part(cs, "1-2", 201, "{}") + mime_part(cs, "1-3", 201, "{}"))),
       ib::core::AnswerClass::created, 0, ""},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    const auto r = read_batch_response(sent, row.answer, fno_classify());
    REQUIRE(r.size() == 1);
    CHECK(to_string(r[0].classification.outcome) == to_string(row.want));
    CHECK(r[0].failed_line == row.failed_line);
    CHECK(r[0].error == row.error);
  }
}
