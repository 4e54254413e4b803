// The real BatchClient over the real BeastTransport against a scripted hostile server
// (testing/scripted_http_server.hpp): misattributed, missing, extra and truncated answers,
// error pages, a slow drip, oversized headers and bodies, redirects and absurd Retry-After
// values. Every case asserts the answer class of every invoice of the batch.
#include "d365/batch_client.hpp"
#include "http/beast_transport.hpp"
#include "testing/fake_d365.hpp"
#include "testing/run_coro.hpp"
#include "testing/scripted_http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <optional>

namespace asio = boost::asio;
using namespace ib;
using namespace std::chrono_literals;
using ib::core::AnswerClass;
using ib::testing::writes;
using ib::testing::RawReply;
using ib::testing::ScriptedHttpServer;
using ib::testing::http_reply;

namespace {

const char* const kBoundary = "batchresponse_5c4f7c1e-hostile";

std::string mpart(const std::string& content_id, int status, const std::string& headers = "",
                  const std::string& body = "") {
  std::string out = std::string("--") + kBoundary + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n";
  if (!content_id.empty()) out += "Content-ID: " + content_id + "\r\n";
  out += "\r\nHTTP/1.1 " + std::to_string(status) + " Scripted\r\n" + headers + "\r\n" + body + "\r\n";
  return out;
}
std::string created(const std::string& id) {
  return mpart(id, 204,
               "OData-EntityId: http://127.0.0.1/api/data/v9.2/VendorInvoices(00000000-0000-0000-0000-00000000000" +
                   (id.empty() ? std::string("0") : id.substr(0, 1)) + ")\r\n");
}
std::string duplicate(const std::string& id) {
  return mpart(id, 412, "Content-Type: application/json\r\n",
               R"({"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})");
}
std::string end() { return std::string("--") + kBoundary + "--\r\n"; }

RawReply multipart_reply(const std::string& body, int status = 200) {
  return http_reply(status, {{"Content-Type", std::string("multipart/mixed; boundary=") + kBoundary}}, body);
}

std::string jpart(const std::string& id, int status) {
  std::string out = "{";
  if (!id.empty()) out += "\"id\":\"" + id + "\",";
  out += "\"status\":" + std::to_string(status);
  if (status == 412) {
    out += R"(,"body":{"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})";
  }
  return out + "}";
}
RawReply json_reply(const std::vector<std::string>& parts) {
  std::string body = R"({"responses":[)";
  for (std::size_t i = 0; i < parts.size(); ++i) body += (i ? "," : "") + parts[i];
  body += "]}";
  return http_reply(200, {{"Content-Type", "application/json; odata.metadata=minimal"}}, body);
}

struct Options {
  odata::BatchFormat format = odata::BatchFormat::multipart;
  std::chrono::milliseconds deadline{10'000};
  std::uint64_t max_body = 64ull << 20;
};

struct Outcome {
  std::vector<d365::Answer> answers;
  http::PoolStats pool;
  d365::BatchClientStats client;

  std::vector<AnswerClass> classes() const {
    std::vector<AnswerClass> out;
    for (const auto& a : answers) out.push_back(a.outcome);
    return out;
  }
};

/// Sends `n` invoices as one batch to `server` through a fresh BeastTransport + BatchClient.
Outcome send(const ScriptedHttpServer& server, int n, Options o = {}) {
  return ib::testing::run_coro([&](asio::io_context& ctx) -> asio::awaitable<Outcome> {
    http::BeastTransportConfig tc;
    tc.base_url = server.url();
    tc.default_deadline = o.deadline;
    tc.max_response_body_bytes = o.max_body;
    auto transport = std::make_shared<http::BeastTransport>(ctx.get_executor(), tc);
    d365::BatchClientConfig c;
    c.odata.service_url = server.url() + "/api/data/v9.2";
    c.odata.format = o.format;
    c.request_deadline = o.deadline;
    d365::BatchClient client(transport, c);
    Outcome out;
    out.answers = co_await client.send(writes(n));
    out.pool = transport->stats();
    out.client = client.stats();
    co_return out;
  });
}

using V = std::vector<AnswerClass>;
constexpr auto created_ = AnswerClass::created;
constexpr auto duplicate_ = AnswerClass::duplicate;
constexpr auto not_processed_ = AnswerClass::not_processed;
constexpr auto transient_ = AnswerClass::transient;
constexpr auto throttled_ = AnswerClass::throttled;

}  // namespace

TEST_CASE("d365_hostile: multipart Content-IDs that name other requests are credited only to those") {
  SECTION("swapped: each answer goes to the request it names") {
    ScriptedHttpServer server({multipart_reply(duplicate("2") + created("1") + end())});
    auto out = send(server, 3);
    CHECK(out.classes() == V{created_, duplicate_, not_processed_});
    CHECK(out.answers[0].record_id == "00000000-0000-0000-0000-000000000001");
    CHECK(out.answers[2].error == "not processed: no response part");
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].target == "/api/data/v9.2/$batch");
  }
  SECTION("unknown ids: nothing is credited, every request is not processed") {
    ScriptedHttpServer server({multipart_reply(created("7") + created("8") + created("9") + end())});
    CHECK(send(server, 3).classes() == V{not_processed_, not_processed_, not_processed_});
  }
  SECTION("a repeated id: the first answer counts, the copy is ignored") {
    ScriptedHttpServer server({multipart_reply(created("1") + duplicate("1") + created("2") + end())});
    CHECK(send(server, 3).classes() == V{created_, created_, not_processed_});
  }
  SECTION("ids on some parts only: the id-less ones are not matched by position") {
    ScriptedHttpServer server({multipart_reply(created("2") + created("") + created("") + end())});
    CHECK(send(server, 3).classes() == V{not_processed_, created_, not_processed_});
  }
}

TEST_CASE("d365_hostile: missing multipart parts leave their requests not processed") {
  SECTION("with ids: the gap stays not processed") {
    ScriptedHttpServer server({multipart_reply(created("1") + created("3") + end())});
    CHECK(send(server, 3).classes() == V{created_, not_processed_, created_});
  }
  SECTION("without ids, fewer successes than requests: no position guess, all not processed") {
    ScriptedHttpServer server({multipart_reply(created("") + created("") + end())});
    CHECK(send(server, 3).classes() == V{not_processed_, not_processed_, not_processed_});
  }
  SECTION("without ids, stopped at the first failure (the last part failed): by position") {
    ScriptedHttpServer server({multipart_reply(created("") + duplicate("") + end(), 412)});
    CHECK(send(server, 3).classes() == V{created_, duplicate_, not_processed_});
  }
  SECTION("an empty multipart body: nothing processed") {
    ScriptedHttpServer server({multipart_reply(end())});
    CHECK(send(server, 2).classes() == V{not_processed_, not_processed_});
  }
}

TEST_CASE("d365_hostile: extra multipart parts are ignored") {
  SECTION("with ids: the part for an id we never sent changes nothing") {
    ScriptedHttpServer server({multipart_reply(created("1") + created("2") + created("3") + created("4") + end())});
    CHECK(send(server, 3).classes() == V{created_, created_, created_});
  }
  SECTION("without ids: more parts than requests cannot be matched by position") {
    ScriptedHttpServer server({multipart_reply(created("") + created("") + created("") + created("") + end())});
    CHECK(send(server, 3).classes() == V{not_processed_, not_processed_, not_processed_});
  }
}

TEST_CASE("d365_hostile: truncated answers") {
  SECTION("Content-Length longer than the bytes sent, then the connection closes: outcome unknown") {
    const auto body = created("1") + created("2") + end();
    RawReply r;
    r.bytes = "HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=" + std::string(kBoundary) +
              "\r\nContent-Length: " + std::to_string(body.size() + 500) + "\r\n\r\n" + body;
    ScriptedHttpServer server({r});
    auto out = send(server, 2);
    CHECK(out.classes() == V{transient_, transient_});
    CHECK_THAT(out.answers[0].error, Catch::StartsWith("connection_reset: connection closed before a complete response") &&
                                         Catch::EndsWith("; not resent: the request's outcome is unknown"));
    CHECK(out.client.batches_sent == 1);
    CHECK(server.requests().size() == 1);  // a POST is never resent by the transport
  }
  SECTION("no closing boundary: the parts before the last are credited, the last is dropped") {
    ScriptedHttpServer server({multipart_reply(created("1") + created("2") + created("3"))});
    CHECK(send(server, 3).classes() == V{created_, created_, not_processed_});
  }
  SECTION("no closing boundary, no ids: nothing is matched by position") {
    ScriptedHttpServer server({multipart_reply(created("") + created("") + created(""))});
    CHECK(send(server, 3).classes() == V{not_processed_, not_processed_, not_processed_});
  }
}

TEST_CASE("d365_hostile: an HTML error page is never a success") {
  const std::string html = "<html><head><title>Error</title></head><body><h1>Bad gateway</h1></body></html>";
  for (int status : {200, 502, 503}) {
    INFO(status);
    ScriptedHttpServer server({http_reply(status, {{"Content-Type", "text/html"}}, html)});
    auto out = send(server, 3);
    CHECK(out.classes() == V{transient_, transient_, transient_});
    for (const auto& a : out.answers) CHECK(a.record_id.empty());
    CHECK(out.answers[0].status == status);
  }
}

TEST_CASE("d365_hostile: a slow drip runs into the deadline: transient, nothing created") {
  RawReply r = multipart_reply(created("1") + created("2") + end());
  r.drip_interval = 20ms;  // ~600 bytes at one byte per 20 ms: ~12 s, far beyond the deadline
  ScriptedHttpServer server({r});
  Options o;
  o.deadline = 300ms;
  auto out = send(server, 2, o);
  CHECK(out.classes() == V{transient_, transient_});
  CHECK_THAT(out.answers[0].error, Catch::Equals("timeout: no complete response within 300ms"));
  for (const auto& a : out.answers) CHECK(a.record_id.empty());
}

TEST_CASE("d365_hostile: oversized headers and bodies are refused: transient, nothing created") {
  SECTION("70 KiB of headers: beyond the 64 KiB header limit") {
    RawReply r = multipart_reply(created("1") + end());
    r.bytes.insert(r.bytes.find("\r\n") + 2, "X-Padding: " + std::string(70 * 1024, 'a') + "\r\n");
    ScriptedHttpServer server({r});
    auto out = send(server, 1);
    CHECK(out.classes() == V{transient_});
    CHECK_THAT(out.answers[0].error, Catch::StartsWith("protocol_error: ") && Catch::Contains("bad response"));
  }
  SECTION("a body beyond max_response_body_bytes") {
    ScriptedHttpServer server({multipart_reply(created("1") + created("2") + std::string(8192, ' ') + end())});
    Options o;
    o.max_body = 4096;
    auto out = send(server, 2, o);
    CHECK(out.classes() == V{transient_, transient_});
    CHECK_THAT(out.answers[0].error, Catch::StartsWith("protocol_error: body_too_large: "));
  }
}

TEST_CASE("d365_hostile: redirects are not followed, to another host or anywhere") {
  ScriptedHttpServer elsewhere({multipart_reply(created("1") + created("2") + end())});
  for (int status : {301, 302, 307}) {
    INFO(status);
    ScriptedHttpServer server({http_reply(status, {{"Location", elsewhere.url() + "/api/data/v9.2/$batch"}}, "")});
    auto out = send(server, 2);
    CHECK(out.classes() == V{transient_, transient_});
    CHECK(out.answers[0].status == status);
    CHECK(server.requests().size() == 1);
  }
  CHECK(elsewhere.connections() == 0);
}

TEST_CASE("d365_hostile: absurd Retry-After values are clamped to d365.classify's bounds") {
  // Defaults: no usable value -> default_retry_after 5 s; any value capped at max_retry_after 300 s.
  struct Row {
    std::string value;
    std::chrono::milliseconds expected;
  };
  const Row rows[] = {
      {"999999999", 300s},
      {"9999999999", 5s},  // ten digits: not a value we read
      {"-5", 5s},
      {"soon", 5s},
      {"Fri, 31 Dec 9999 23:59:59 GMT", 5s},  // HTTP-date: not read, the default applies
      {"0", 0s},
      {"12", 12s},
  };
  for (const auto& row : rows) {
    INFO("Retry-After: " << row.value);
    {
      ScriptedHttpServer server({http_reply(429, {{"Retry-After", row.value}, {"Content-Type", "application/json"}},
                                            R"({"error":{"code":"0x80072322","message":"Number of requests exceeded the limit."}})")});
      auto out = send(server, 2);
      CHECK(out.classes() == V{throttled_, throttled_});
      for (const auto& a : out.answers) CHECK(a.retry_after == std::optional<std::chrono::milliseconds>(row.expected));
    }
    {
      // 503 is transient: its Retry-After is not used (the retry schedule applies).
      ScriptedHttpServer server({http_reply(503, {{"Retry-After", row.value}}, "")});
      auto out = send(server, 2);
      CHECK(out.classes() == V{transient_, transient_});
      for (const auto& a : out.answers) CHECK_FALSE(a.retry_after.has_value());
    }
    {
      // Inside a multipart answer: one part throttled, its Retry-After clamped the same way.
      ScriptedHttpServer server({multipart_reply(created("1") + mpart("2", 429, "Retry-After: " + row.value + "\r\n") + end())});
      auto out = send(server, 2);
      CHECK(out.classes() == V{created_, throttled_});
      CHECK(out.answers[1].retry_after == std::optional<std::chrono::milliseconds>(row.expected));
    }
  }
}

TEST_CASE("d365_hostile: JSON batch answers: misattributed, missing and extra ids") {
  Options json;
  json.format = odata::BatchFormat::json;
  struct Row {
    const char* name;
    std::vector<std::string> parts;
    V expected;
  };
  const Row rows[] = {
      {"swapped", {jpart("2", 412), jpart("1", 204)}, {created_, duplicate_, not_processed_}},
      {"unknown ids", {jpart("7", 204), jpart("8", 204), jpart("9", 204)}, {not_processed_, not_processed_, not_processed_}},
      {"a repeated id", {jpart("1", 204), jpart("1", 412), jpart("2", 204)}, {created_, created_, not_processed_}},
      {"missing, with ids", {jpart("1", 204), jpart("3", 204)}, {created_, not_processed_, created_}},
      {"missing, without ids", {jpart("", 204), jpart("", 204)}, {not_processed_, not_processed_, not_processed_}},
      {"extra, with ids", {jpart("1", 204), jpart("2", 204), jpart("3", 204), jpart("4", 204)}, {created_, created_, created_}},
      {"extra, without ids", {jpart("", 204), jpart("", 204), jpart("", 204), jpart("", 204)},
       {not_processed_, not_processed_, not_processed_}},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    ScriptedHttpServer server({json_reply(row.parts)});
    CHECK(send(server, 3, json).classes() == row.expected);
  }
}
