// The import flow (run_import) over a scripted d365::Sender: in-file dedup, conflicts, invalid
// lines, resends after throttling / not processed, retries, rejects, bounded concurrency.
// Backoff and Retry-After are zero, so nothing sleeps.
#include "tools/import_command.hpp"
#include "testing/fake_d365.hpp"
#include "testing/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <sstream>

namespace asio = boost::asio;
using namespace ib;
using ib::core::AnswerClass;

namespace {

// PipeCodec reads `key|fingerprint` lines; ScriptedSender answers from a script whose last
// entry repeats (repeat_last), keys without a script are created.
struct ScriptedSender : ib::testing::ScriptedSender {
  ScriptedSender() { repeat_last = true; }
};
const ib::testing::PipeCodec codec;

tools::ImportSettings settings() {
  tools::ImportSettings s;
  s.pipeline.batch.max_items = 3;
  s.pipeline.aimd.max_in_flight = 2;
  s.pipeline.backoff.initial = std::chrono::milliseconds(0);
  s.pipeline.backoff.jitter = 0;
  s.pipeline.backoff.max_attempts = 4;
  s.seed = 1;
  return s;
}

struct Result {
  tools::ImportSummary summary;
  std::vector<tools::ImportReject> rejects;
};

Result run(const std::string& input, ScriptedSender& sender, tools::ImportSettings s = settings()) {
  Result r;
  std::istringstream in(input);
  r.summary = testing::run_coro([&](asio::io_context&) {
    return tools::run_import(
        in, codec, sender, s, [&](const tools::ImportReject& j) { r.rejects.push_back(j); }, nullptr);
  });
  return r;
}

ib::d365::Answer answer(AnswerClass result, int status, std::string error = {}) {
  ib::d365::Answer a;
  a.outcome = result;
  a.status = status;
  a.error = std::move(error);
  if (result == AnswerClass::throttled) a.retry_after = std::chrono::milliseconds(0);
  return a;
}

}  // namespace

TEST_CASE("import flow: in-file duplicates are dropped, conflicts and invalid lines rejected") {
  ScriptedSender sender;
  auto r = run("A|1\nB|1\nA|1\n\nA|2\ngarbage\nC|1\n", sender);
  CHECK(r.summary.read == 6);
  CHECK(r.summary.imported == 3);
  CHECK(r.summary.duplicates == 1);
  CHECK(r.summary.conflicts == 1);
  CHECK(r.summary.invalid == 1);
  CHECK(r.summary.failed == 0);
  CHECK(sender.sends == std::map<std::string, int>{{"A", 1}, {"B", 1}, {"C", 1}});
  REQUIRE(r.rejects.size() == 2);
  CHECK(r.rejects[0].line == 5);
  CHECK(r.rejects[0].reason == "conflict");
  CHECK(r.rejects[0].error.find("line 1") != std::string::npos);
  CHECK(r.rejects[1].line == 6);
  CHECK(r.rejects[1].reason == "invalid");
  CHECK(r.rejects[1].to_json() ==
        R"({"line":6,"reason":"invalid","status":0,"error":"not an invoice: garbage","invoice":"garbage"})");
}

TEST_CASE("import flow: throttled and not-processed invoices are sent again without using an attempt") {
  ScriptedSender sender;
  sender.script["A"] = {answer(AnswerClass::throttled, 429), answer(AnswerClass::throttled, 429),
                        answer(AnswerClass::throttled, 429), answer(AnswerClass::throttled, 429),
                        answer(AnswerClass::throttled, 429), answer(AnswerClass::created, 204)};
  sender.script["B"] = {answer(AnswerClass::not_processed, 0), answer(AnswerClass::created, 204)};
  auto r = run("A|1\nB|1\n", sender);
  CHECK(r.summary.imported == 2);
  CHECK(r.summary.failed == 0);
  CHECK(r.summary.retried == 0);  // more throttles than max_attempts, yet no attempt used
  CHECK(r.summary.throttled == 5);
  CHECK(r.summary.resent == 6);
  CHECK(sender.sends["A"] == 6);
  CHECK(sender.sends["B"] == 2);
}

TEST_CASE("import flow: transient failures are retried up to max_attempts, then rejected as exhausted") {
  ScriptedSender sender;
  sender.script["A"] = {answer(AnswerClass::transient, 503, "batch 503")};
  sender.script["B"] = {answer(AnswerClass::transient, 0, "timeout"), answer(AnswerClass::created, 204)};
  auto r = run("A|1\nB|1\n", sender);
  CHECK(sender.sends["A"] == 4);
  CHECK(sender.sends["B"] == 2);
  CHECK(r.summary.retried == 3 + 1);
  CHECK(r.summary.imported == 1);
  CHECK(r.summary.failed == 1);
  REQUIRE(r.rejects.size() == 1);
  CHECK(r.rejects[0].reason == "exhausted");
  CHECK(r.rejects[0].status == 503);
  CHECK(r.rejects[0].error == "batch 503");
}

TEST_CASE("import flow: a duplicate after an unanswered attempt is our own create: imported") {
  ScriptedSender sender;
  sender.script["A"] = {answer(AnswerClass::transient, 0, "timeout"), answer(AnswerClass::duplicate, 412)};
  sender.script["B"] = {answer(AnswerClass::duplicate, 412)};
  auto r = run("A|1\nB|1\n", sender);
  CHECK(r.summary.imported == 1);    // A: our timed-out create had landed
  CHECK(r.summary.duplicates == 1);  // B: was in D365 before
  CHECK(r.summary.failed == 0);
}

TEST_CASE("import flow: permanent errors are rejected with status and error, once") {
  ScriptedSender sender;
  sender.script["A"] = {answer(AnswerClass::permanent, 400, "400 0x80044331: validation")};
  auto r = run("A|1\nB|1\n", sender);
  CHECK(sender.sends["A"] == 1);
  CHECK(r.summary.failed == 1);
  REQUIRE(r.rejects.size() == 1);
  CHECK(r.rejects[0].reason == "rejected");
  CHECK(r.rejects[0].status == 400);
  CHECK(r.rejects[0].line == 1);
}

TEST_CASE("import flow: batches follow batch.max_items and in-flight stays within send.max_in_flight") {
  ScriptedSender sender;
  std::string input;
  for (int i = 0; i < 20; ++i) input += "K" + std::to_string(i) + "|1\n";
  auto r = run(input, sender);
  CHECK(r.summary.imported == 20);
  CHECK(sender.batches.size() == 7);  // ceil(20 / 3)
  CHECK(r.summary.requests_sent == 7);
  CHECK(sender.max_in_flight_seen == 2);
}

TEST_CASE("import flow: an invoice throttled forever is a transient failure per attempt, then exhausted") {
  ScriptedSender sender;
  sender.script["A"] = {answer(AnswerClass::throttled, 429)};
  auto s = settings();
  s.pipeline.max_throttled_resends = 5;
  auto r = run("A|1\nB|1\n", sender, s);
  // Each of the 4 attempts: the first send and 5 resends, the 6th throttle ends the attempt.
  CHECK(sender.sends["A"] == 6 * 4);
  CHECK(sender.sends["B"] == 1);
  CHECK(r.summary.imported == 1);
  CHECK(r.summary.retried == 3);
  CHECK(r.summary.failed == 1);
  REQUIRE(r.rejects.size() == 1);
  CHECK(r.rejects[0].line == 1);
  CHECK(r.rejects[0].reason == "exhausted");
  CHECK(r.rejects[0].status == 429);
  CHECK(r.rejects[0].error.rfind("throttled 6 times in a row", 0) == 0);
}

TEST_CASE("import flow: an invoice a server never answers is resent max_resends times per attempt, then exhausted") {
  ScriptedSender sender;
  sender.script["A"] = {answer(AnswerClass::not_processed, 0, "no response part")};
  auto s = settings();
  s.pipeline.max_resends = 2;
  auto r = run("A|1\nB|1\nC|1\n", sender, s);
  CHECK(sender.sends["A"] == 3 * 4);  // never 1,001 sends: 1 + 2 resends per attempt
  CHECK(sender.sends["B"] == 1);
  CHECK(sender.sends["C"] == 1);
  CHECK(r.summary.imported == 2);
  CHECK(r.summary.failed == 1);
  REQUIRE(r.rejects.size() == 1);
  CHECK(r.rejects[0].reason == "exhausted");
  CHECK(r.rejects[0].error == "no answer of its own 3 times in a row: no response part");
}

TEST_CASE("import flow: a stop request settles what is in flight and writes every other line as unsettled") {
  // A (line 1) is in flight when the stop comes and is created; B fails transiently and
  // waits for a retry an hour away; C..E wait behind the one batch in flight.
  ScriptedSender sender;
  sender.script["B"] = {answer(AnswerClass::transient, 503, "busy")};
  auto s = settings();
  s.pipeline.batch.max_items = 2;
  s.pipeline.aimd.max_in_flight = 1;
  s.pipeline.backoff.initial = std::chrono::hours(1);
  s.pipeline.backoff.max_delay = std::chrono::hours(1);
  sender.slow = {"A"};
  // The stop comes while the first batch is in flight; then its answer is let through.
  s.stop_requested = [&] {
    if (!sender.gate) return std::string();
    sender.gate->cancel();
    return std::string("SIGTERM was received");
  };
  auto r = run("A|1\nB|1\nC|1\nD|1\nE|1\n", sender, s);
  CHECK(sender.batches.size() == 1);  // nothing is sent after the stop
  CHECK(r.summary.imported == 1);
  CHECK(r.summary.retried == 1);
  CHECK(r.summary.unsettled == 4);
  CHECK(r.summary.stopped == "SIGTERM was received");
  REQUIRE(r.rejects.size() == 4);
  const std::vector<std::size_t> lines{r.rejects[0].line, r.rejects[1].line, r.rejects[2].line, r.rejects[3].line};
  CHECK(lines == std::vector<std::size_t>{2, 3, 4, 5});
  for (const auto& j : r.rejects) CHECK(j.reason == "unsettled");
  CHECK(r.rejects[0].status == 503);
  CHECK(r.rejects[0].error == "not settled: import stopped because SIGTERM was received; last error: busy");
  CHECK(r.rejects[1].error == "not settled: import stopped because SIGTERM was received");
}

TEST_CASE("import flow: the deadline stops the import like a signal") {
  ScriptedSender sender;
  sender.script["A"] = {answer(AnswerClass::transient, 503, "busy")};
  auto s = settings();
  s.pipeline.backoff.initial = std::chrono::hours(1);
  s.pipeline.backoff.max_delay = std::chrono::hours(1);
  s.deadline = std::chrono::milliseconds(300);
  auto r = run("A|1\nB|1\n", sender, s);
  CHECK(r.summary.imported == 1);
  CHECK(r.summary.unsettled == 1);
  CHECK(r.summary.stopped == "the deadline (300 ms) passed");
  REQUIRE(r.rejects.size() == 1);
  CHECK(r.rejects[0].line == 1);
  CHECK(r.rejects[0].reason == "unsettled");
}

TEST_CASE("import flow: a Retry-After longer than max_wait is capped and said") {
  ScriptedSender sender;
  auto throttled = answer(AnswerClass::throttled, 429);
  throttled.retry_after = std::chrono::milliseconds(999'999'999'000);
  sender.script["A"] = {throttled, answer(AnswerClass::created, 204)};
  auto s = settings();
  s.max_wait = std::chrono::milliseconds(50);
  std::vector<std::string> notices;
  s.notice = [&](const std::string& n) { notices.push_back(n); };
  auto r = run("A|1\n", sender, s);
  CHECK(r.summary.imported == 1);
  CHECK(sender.sends["A"] == 2);
  REQUIRE(notices.size() == 1);
  CHECK(notices[0] == "D365 throttles and asks to wait 999999999 s; waiting 0 s instead (import's wait cap)");
}

TEST_CASE("import flow: a reject carries the input JSON text as is, numbers never through a double") {
  for (const char* amount : {"3908.35", "12345678901234567890.12345678"}) {
    INFO(amount);
    const std::string line = std::string(R"({"vendor_account":"V","amount":)") + amount + "}";
    const ib::tools::ImportReject r{3, "rejected", 400, "bad", line};
    CHECK(r.to_json() == R"({"line":3,"reason":"rejected","status":400,"error":"bad","invoice":)" + line + "}");
  }
}
