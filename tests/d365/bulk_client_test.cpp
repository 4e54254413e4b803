// BulkClient (CreateMultiple / UpsertMultiple) over a fake Dataverse transport that
// refuses a whole bulk message when one of its records is a culprit (a standard table),
// and answers a continue-on-error $batch part by part.
#include "d365/bulk_client.hpp"
#include "testing/entity_writes.hpp"
#include "testing/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <deque>
#include <regex>
#include <set>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace ib;
using ib::core::AnswerClass;

namespace {

const std::string kDuplicateBody =
    R"({"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})";
const std::string kBoundary = "batchresponse_9d6c";

std::string guid_of(const std::string& number) {
  std::string digits = number.substr(number.find('-') + 1);
  return std::string(8 - std::min<std::size_t>(8, digits.size()), '0') + digits +
         "-0000-0000-0000-000000000000";
}

// InvoiceNumbers in `culprits` exist already: a bulk message holding one is refused whole
// (412 0x80040237, nothing written); in a $batch only their part fails.
class FakeDataverse final : public http::Transport {
public:
  std::set<std::string> culprits;
  std::vector<http::Request> sent;
  std::deque<http::Result> script;  // answered first, when not empty
  int bulk = 0, batches = 0;

  asio::awaitable<http::Result> send(http::Request request) override {
    sent.push_back(request);
    if (!script.empty()) {
      auto r = std::move(script.front());
      script.pop_front();
      co_return r;
    }
    std::vector<std::string> numbers;
    static const std::regex number_re(R"re("InvoiceNumber":"([^"]+)")re");
    static const std::regex key_re(R"re(InvoiceNumber='([^']+)')re");
    const bool upsert = request.target.find("UpsertMultiple") != std::string::npos;
    const auto& re = upsert ? key_re : number_re;
    for (std::sregex_iterator it(request.body.begin(), request.body.end(), re), end; it != end; ++it)
      numbers.push_back((*it)[1]);
    http::Response r;
    if (request.target.find("$batch") == std::string::npos) {
      ++bulk;
      for (const auto& n : numbers)
        if (culprits.count(n)) {
          r.status = 412;
          r.headers = {{"Content-Type", "application/json; odata.metadata=minimal"}};
          r.body = kDuplicateBody;
          co_return r;
        }
      if (upsert) {
        r.status = 204;
        co_return r;
      }
      json::array ids;
      for (const auto& n : numbers) ids.emplace_back(guid_of(n));
      r.status = 200;
      r.headers = {{"Content-Type", "application/json; odata.metadata=minimal"}};
      r.body = json::serialize(json::object{{"Ids", std::move(ids)}});
      co_return r;
    }
    ++batches;
    r.status = 200;
    r.headers = {{"Content-Type", "multipart/mixed; boundary=" + kBoundary}};
    for (const auto& n : numbers) {
      r.body += "--" + kBoundary + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n";
      if (culprits.count(n))
        r.body += "HTTP/1.1 412 Precondition Failed\r\nContent-Type: application/json\r\n\r\n" + kDuplicateBody + "\r\n";
      else
        r.body += "HTTP/1.1 204 No Content\r\nOData-EntityId: https://org.crm.dynamics.com/api/data/v9.2/VendorInvoices(" +
                  guid_of(n) + ")\r\n\r\n\r\n";
    }
    r.body += "--" + kBoundary + "--\r\n";
    co_return r;
  }
};

std::vector<odata::EntityWrite> writes(int n) { return testing::invoice_writes(n); }

d365::BulkClientConfig config(d365::BulkFallback fallback = d365::BulkFallback::batch,
                              d365::BulkMessage message = d365::BulkMessage::create_multiple) {
  d365::BulkClientConfig c;
  c.batch.odata.service_url = "https://org.crm.dynamics.com/api/data/v9.2";
  c.batch.request_deadline = std::chrono::seconds(7);
  c.entity_type = "vendorinvoice";
  c.fallback = fallback;
  c.message = message;
  return c;
}

std::vector<d365::Answer> send(const std::shared_ptr<FakeDataverse>& t, int n, d365::BulkClientConfig c) {
  d365::BulkClient client(t, std::move(c));
  return testing::run_coro([&](asio::io_context&) { return client.send(writes(n)); });
}

// Every write created except the culprits, which are duplicates.
void check_answers(const std::vector<d365::Answer>& answers, int n, const std::set<int>& culprits) {
  REQUIRE(answers.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    INFO("invoice " << i);
    if (culprits.count(i)) {
      CHECK(answers[i].outcome == AnswerClass::duplicate);
      CHECK(answers[i].status == 412);
      CHECK(answers[i].body == kDuplicateBody);
    } else {
      CHECK(answers[i].outcome == AnswerClass::created);
      CHECK(answers[i].record_id == guid_of("INV-" + std::to_string(i)));
    }
  }
}

std::shared_ptr<FakeDataverse> with_culprits(const std::set<int>& culprits) {
  auto t = std::make_shared<FakeDataverse>();
  for (int i : culprits) t->culprits.insert("INV-" + std::to_string(i));
  return t;
}

}  // namespace

TEST_CASE("d365_bulk: CreateMultiple is one POST of the Targets with @odata.type; Ids become record ids") {
  auto t = with_culprits({});
  auto answers = send(t, 3, config());
  REQUIRE(t->sent.size() == 1);
  const auto& r = t->sent[0];
  CHECK(r.method == "POST");
  CHECK(r.target == "/api/data/v9.2/VendorInvoices/Microsoft.Dynamics.CRM.CreateMultiple");
  CHECK_FALSE(r.idempotent);
  CHECK(r.deadline == std::chrono::seconds(7));
  CHECK(http::find_header(r.headers, "Content-Type").value_or("").rfind("application/json", 0) == 0);
  auto body = json::parse(r.body);
  const auto& targets = body.at("Targets").as_array();
  REQUIRE(targets.size() == 3);
  CHECK(targets[1].at("@odata.type").as_string() == "Microsoft.Dynamics.CRM.vendorinvoice");
  CHECK(targets[1].at("InvoiceNumber").as_string() == "INV-1");
  check_answers(answers, 3, {});
}

TEST_CASE("d365_bulk: a 2xx CreateMultiple answer without one id per record is no proof: every write transient") {
  struct Case {
    const char* name;
    std::string body;
  };
  for (const auto& c : {Case{"html page", "<html>ok</html>"}, Case{"no Ids", R"({"value":[]})"},
                        Case{"too few ids", R"({"Ids":["a","b"]})"},
                        Case{"too many ids", R"({"Ids":["a","b","c","d"]})"},
                        Case{"an id not a string", R"({"Ids":["a",7,"c"]})"},
                        Case{"an empty id", R"({"Ids":["a","","c"]})"}}) {
    DYNAMIC_SECTION(c.name) {
      auto t = with_culprits({});
      http::Response r;
      r.status = 200;
      r.headers = {{"Content-Type", "application/json"}};
      r.body = c.body;
      t->script.push_back(r);
      auto answers = send(t, 3, config());
      REQUIRE(answers.size() == 3);
      CHECK(t->sent.size() == 1);  // no fallback: nothing was refused
      for (const auto& a : answers) {
        CHECK(a.outcome == AnswerClass::transient);
        CHECK(a.record_id.empty());
        CHECK(a.error.find("without one id per record") != std::string::npos);
      }
    }
  }
}

TEST_CASE("d365_bulk: every answer carries its HTTP answer's pacing headers, a 429's too") {
  for (int status : {200, 429}) {
    DYNAMIC_SECTION("status " << status) {
      auto t = with_culprits({});
      http::Response r;
      r.status = status;
      r.headers = {{"Content-Type", "application/json"},
                   {"x-ms-dop-hint", "7"},
                   {"x-ms-ratelimit-burst-remaining-xrm-requests", "4321"}};
      if (status == 429) r.headers.push_back({"Retry-After", "3"});
      r.body = status == 200 ? R"({"Ids":["a","b","c"]})"
                             : R"({"error":{"code":"0x80072322","message":"Number of requests exceeded the limit"}})";
      t->script.push_back(r);
      auto answers = send(t, 3, config());
      REQUIRE(answers.size() == 3);
      for (const auto& a : answers) {
        CHECK(a.outcome == (status == 200 ? AnswerClass::created : AnswerClass::throttled));
        CHECK(a.pacing.dop_hint == 7);
        CHECK(a.pacing.requests_remaining == 4321u);
      }
    }
  }
}

TEST_CASE("d365_bulk: UpsertMultiple addresses each target by @odata.id, key properties out of the body") {
  auto t = with_culprits({});
  auto answers = send(t, 2, config(d365::BulkFallback::batch, d365::BulkMessage::upsert_multiple));
  REQUIRE(t->sent.size() == 1);
  CHECK(t->sent[0].target == "/api/data/v9.2/VendorInvoices/Microsoft.Dynamics.CRM.UpsertMultiple");
  auto body = json::parse(t->sent[0].body);
  const auto& target = body.at("Targets").as_array().at(1).as_object();
  CHECK(target.at("@odata.id").as_string() == "VendorInvoices(VendorAccount='V1',InvoiceNumber='INV-1')");
  CHECK(target.at("@odata.type").as_string() == "Microsoft.Dynamics.CRM.vendorinvoice");
  CHECK_FALSE(target.contains("InvoiceNumber"));
  CHECK_FALSE(target.contains("VendorAccount"));
  CHECK(target.at("Amount").to_number<int>() == 10);
  REQUIRE(answers.size() == 2);
  for (const auto& a : answers) {
    CHECK(a.outcome == AnswerClass::created);
    CHECK(a.status == 204);
  }
}

TEST_CASE("d365_bulk: fallback batch: a refused message is sent again as one continue-on-error $batch") {
  SECTION("one culprit") {
    auto t = with_culprits({5});
    auto answers = send(t, 16, config());
    check_answers(answers, 16, {5});
    CHECK(t->bulk == 1);
    CHECK(t->batches == 1);
    REQUIRE(t->sent.size() == 2);
    CHECK(t->sent[1].target == "/api/data/v9.2/$batch");
    CHECK(http::find_header(t->sent[1].headers, "Prefer").value_or("").find("odata.continue-on-error") !=
          std::string::npos);
  }
  SECTION("several culprits still cost two requests") {
    auto t = with_culprits({0, 7, 15});
    check_answers(send(t, 16, config()), 16, {0, 7, 15});
    CHECK(t->sent.size() == 2);
  }
}

TEST_CASE("d365_bulk: fallback bisect finds the culprits by splitting") {
  SECTION("one culprit in 16: 1 + 2*log2(16) messages") {
    auto t = with_culprits({5});
    check_answers(send(t, 16, config(d365::BulkFallback::bisect)), 16, {5});
    CHECK(t->batches == 0);
    CHECK(t->bulk == 9);
  }
  SECTION("every refused message is counted, the culprit's own one too") {
    auto t = with_culprits({5});
    d365::BulkClient client(t, config(d365::BulkFallback::bisect));
    check_answers(testing::run_coro([&](asio::io_context&) { return client.send(writes(16)); }), 16, {5});
    CHECK(client.stats().messages_sent == 9);
    CHECK(client.stats().records_written == 16 + 8 + 8 + 4 + 4 + 2 + 2 + 1 + 1);
    CHECK(client.stats().messages_refused == 5);  // 16, 8, 4, 2 and the culprit alone
    CHECK(client.stats().fallback_batches == 0);  // bisect sends no $batch
  }
  SECTION("two culprits in 8") {
    auto t = with_culprits({1, 6});
    check_answers(send(t, 8, config(d365::BulkFallback::bisect)), 8, {1, 6});
    // 8 -> [4 refused: 2 ok + 2 refused: 1 ok + 1 dup] [4 refused: 2 refused: 1 dup + 1 ok, 2 ok]
    CHECK(t->bulk == 11);
  }
  SECTION("no culprit: one message") {
    auto t = with_culprits({});
    check_answers(send(t, 8, config(d365::BulkFallback::bisect)), 8, {});
    CHECK(t->bulk == 1);
  }
}

TEST_CASE("d365_bulk: refusal memory: while most messages are refused, slices skip to $batch, with probes") {
  // A culprit in every slice of 4: every bulk message is refused.
  std::set<int> culprits;
  for (int i = 0; i < 40; i += 4) culprits.insert(i);
  auto t = with_culprits(culprits);
  auto c = config();
  c.batch.odata.max_requests = 4;
  SECTION("skipping once the weighted share of refusals is above skip_above, then probing back") {
    d365::BulkClient client(t, c);
    auto answers = testing::run_coro([&](asio::io_context&) { return client.send(writes(40)); });
    check_answers(answers, 40, culprits);
    // Refused shares after k refusals: 1 - 0.75^k = .25 .44 .58 .68 .76 .82: the 7th slice on skips.
    CHECK(t->bulk == 6);
    CHECK(t->batches == 10);
    CHECK(client.stats().slices_skipped == 4);
    CHECK(client.stats().messages_refused == 6);
    CHECK(client.refused_share() > 0.8);
    // The stream turns clean: skipped slices 5, 6 and 7, the 8th is a probe, which succeeds
    // and brings the share under the limit: bulk messages again from then on.
    t->culprits.clear();
    t->bulk = t->batches = 0;
    check_answers(testing::run_coro([&](asio::io_context&) { return client.send(writes(16)); }), 16, {});
    CHECK(t->batches == 3);
    CHECK(t->bulk == 1);
    CHECK(client.refused_share() < 0.8);
    check_answers(testing::run_coro([&](asio::io_context&) { return client.send(writes(16)); }), 16, {});
    CHECK(t->batches == 3);
    CHECK(t->bulk == 5);
    CHECK(client.stats().slices_skipped == 7);
  }
  SECTION("skip_above 1: every slice tries its bulk message") {
    c.skip_above = 1;
    d365::BulkClient client(t, c);
    check_answers(testing::run_coro([&](asio::io_context&) { return client.send(writes(40)); }), 40, culprits);
    CHECK(t->bulk == 10);
    CHECK(t->batches == 10);
    CHECK(client.stats().slices_skipped == 0);
  }
  SECTION("with bisect only whole slices teach: clean halves do not hide the refusals") {
    c.fallback = d365::BulkFallback::bisect;
    d365::BulkClient client(t, c);
    check_answers(testing::run_coro([&](asio::io_context&) { return client.send(writes(4)); }), 4, {0});
    // 4 refused -> [2 refused -> 1 dup, 1 ok] [2 ok]: one whole slice, refused.
    CHECK(t->bulk == 5);
    CHECK(client.refused_share() == Approx(0.25));
    // The whole stream: each slice of 4 costs 5 messages until six slices were refused;
    // then slices skip to $batch like with the batch fallback.
    t->bulk = t->batches = 0;
    d365::BulkClient fresh(t, c);
    check_answers(testing::run_coro([&](asio::io_context&) { return fresh.send(writes(40)); }), 40, culprits);
    CHECK(t->bulk == 6 * 5);
    CHECK(t->batches == 4);
    CHECK(fresh.stats().slices_skipped == 4);
    CHECK(fresh.refused_share() > 0.8);
  }
}

TEST_CASE("d365_bulk: a whole-message 429 / 503 / timeout answers every write, no fallback") {
  auto t = with_culprits({});
  http::Response throttled;
  throttled.status = 429;
  throttled.headers = {{"Retry-After", "17"}, {"Content-Type", "application/json"}};
  throttled.body = R"({"error":{"code":"0x80072322","message":"Number of requests exceeded the limit"}})";
  http::Response unavailable;
  unavailable.status = 503;
  t->script.push_back(throttled);
  t->script.push_back(unavailable);
  t->script.push_back(http::Failure{http::TransportError::timeout, "deadline passed", true});
  d365::BulkClient client(t, config(d365::BulkFallback::bisect));
  for (auto [outcome, status] : {std::pair{AnswerClass::throttled, 429}, std::pair{AnswerClass::transient, 503},
                                 std::pair{AnswerClass::transient, 0}}) {
    auto answers = testing::run_coro([&](asio::io_context&) { return client.send(writes(4)); });
    REQUIRE(answers.size() == 4);
    for (const auto& a : answers) {
      CHECK(a.outcome == outcome);
      CHECK(a.status == status);
    }
    if (outcome == AnswerClass::throttled) CHECK(answers[0].retry_after == std::chrono::seconds(17));
  }
  CHECK(t->sent.size() == 3);
  CHECK(client.stats().messages_sent == 3);
}

TEST_CASE("d365_bulk: messages are chunked by max_requests and by entity set") {
  auto t = with_culprits({});
  auto c = config();
  c.batch.odata.max_requests = 3;
  d365::BulkClient client(t, c);
  auto ws = writes(7);
  ws[6].entity_set = "OtherInvoices";
  auto answers = testing::run_coro([&](asio::io_context&) { return client.send(ws); });
  REQUIRE(answers.size() == 7);
  REQUIRE(t->sent.size() == 3);  // 3 + 3 of VendorInvoices, 1 of OtherInvoices
  CHECK(t->sent[2].target == "/api/data/v9.2/OtherInvoices/Microsoft.Dynamics.CRM.CreateMultiple");
  CHECK(answers[6].record_id == guid_of("INV-6"));
}

TEST_CASE("d365_bulk: config problems name their key") {
  auto c = config();
  c.entity_type.clear();
  auto problems = c.validate();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("d365.odata.entity_type") == 0);
  c.entity_type = "vendor invoice";
  CHECK(c.validate().at(0).find("not a logical name") != std::string::npos);
  c.entity_type = "vendorinvoice";
  for (double bad : {0.0, -0.5, 1.5}) {
    c.skip_above = bad;
    REQUIRE(c.validate().size() == 1);
    CHECK(c.validate()[0].find("d365.odata.bulk_skip_above") == 0);
  }
  c.entity_type = "vendor invoice";
  c.skip_above = 0.8;
  CHECK(d365::parse_bulk_fallback("bisect") == d365::BulkFallback::bisect);
  CHECK_FALSE(d365::parse_bulk_fallback("retry"));
  CHECK(d365::parse_bulk_message("upsert_multiple") == d365::BulkMessage::upsert_multiple);
  CHECK_THROWS_AS(d365::BulkClient(std::make_shared<FakeDataverse>(), c), std::invalid_argument);
}
