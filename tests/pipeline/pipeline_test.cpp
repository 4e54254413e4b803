// Unit tests of the pipeline on its real interfaces with the test doubles of tests/support:
// PipeCodec ("key|fingerprint" payloads), the in-memory dedup store, ScriptedSender and
// kafka's FakeProducer (acknowledged by the harness, as the broker would on its thread).
#include "pipeline/pipeline.hpp"

#include "core/steady_time.hpp"
#include "dedup/changelog_codec.hpp"
#include "dedup/memory_dedup_store.hpp"
#include "testing/fake_producer.hpp"
#include "kafka/headers.hpp"
#include "pipeline/consumer_loop.hpp"
#include "testing/fake_d365.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <functional>
#include <map>

namespace asio = boost::asio;
using namespace ib::pipeline;
using namespace std::chrono_literals;
using ib::core::AnswerClass;
using ib::core::Outcome;
using ib::core::ReviewReason;
using ib::core::StoreState;
using ib::testing::answer;

namespace {

std::int64_t epoch_ms(ib::core::Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct Harness {
  asio::io_context ctx;
  ib::core::ManualClock clock;
  ib::testing::PipeCodec codec;
  ib::dedup::MemoryDedupStore store{24h, clock};
  ib::testing::ScriptedSender sender;
  ib::testing::FakeProducer producer;
  std::size_t acked = 0;
  /// librdkafka error code every produce fails with (0: delivered).
  int produce_error = 0;
  /// Runs before a retry-topic message is acknowledged (e.g. the consumer delivering it).
  std::function<void(const ib::kafka::OutgoingMessage&)> before_retry_ack;
  std::vector<std::pair<InMessage, Outcome>> done;
  std::optional<std::string> fatal;
  std::size_t batches_answered = 0;
  std::unique_ptr<Pipeline> pipeline;
  std::int64_t next_offset = 0;

  explicit Harness(PipelineConfig config = small_config()) {
    PipelineEvents ev;
    ev.done = [this](const InMessage& m, Outcome o) { done.emplace_back(m, o); };
    ev.fatal = [this](const std::string& r) { fatal = r; };
    ev.batch_answered = [this](std::size_t, auto, const auto&) { ++batches_answered; };
    pipeline = std::make_unique<Pipeline>(ctx.get_executor(), config,
                                          PipelineParts{codec, store, sender, producer, clock}, ev, 42);
  }

  static PipelineConfig small_config() {
    PipelineConfig c;
    c.batch.max_items = 100;
    c.batch.linger = 1ms;
    c.aimd.max_in_flight = 4;
    c.backoff.jitter = 0.0;  // exact due times
    return c;
  }

  InMessage msg(std::string value, int attempt = 0, std::int32_t partition = 0) {
    InMessage m;
    m.topic = "invoices";
    m.partition = partition;
    m.offset = next_offset++;
    m.value = std::move(value);
    m.attempt = attempt;
    return m;
  }

  void seed(const std::string& key, StoreState state, const std::string& fingerprint) {
    if (state == StoreState::imported) {
      REQUIRE(store.mark_imported(std::vector<ib::dedup::ImportedMark>{{key, fingerprint, ""}}).has_value());
    } else {
      REQUIRE(store.mark_pending(std::vector<ib::dedup::PendingMark>{{key, fingerprint, 1}}).has_value());
    }
  }
  ib::dedup::Entry entry(const std::string& key) {
    auto e = store.get(key).value();
    REQUIRE(e.has_value());
    return *e;
  }
  StoreState state(const std::string& key) {
    auto e = store.get(key).value();
    return e ? e->state : StoreState::absent;
  }

  // Acknowledges (or fails) every produce so far, oldest first, like the broker.
  void ack_produces() {
    const auto all = producer.produced();
    while (acked < all.size()) {
      if (before_retry_ack && all[acked].topic == "invoices.retry") before_retry_ack(all[acked]);
      producer.complete_next(produce_error);
      ++acked;
    }
  }

  // Runs the pipeline until drain(limit) ends; whether everything got done in time.
  bool drain(std::chrono::milliseconds limit) {
    bool finished = false, drained = false;
    asio::co_spawn(ctx, pipeline->drain(limit), [&](std::exception_ptr, bool ok) {
      drained = ok;
      finished = true;
    });
    const auto give_up = std::chrono::steady_clock::now() + limit + 1s;
    while (!finished && std::chrono::steady_clock::now() < give_up) {
      ctx.run_one_for(1ms);
      ack_produces();
    }
    ctx.restart();
    return drained;
  }

  // Submits and runs until everything is done (or fatal), bounded.
  void run(std::vector<InMessage> messages) {
    pipeline->submit(std::move(messages));
    (void)drain(10s);
  }

  std::map<Outcome, int> outcomes() const {
    std::map<Outcome, int> out;
    for (const auto& [m, o] : done) out[o]++;
    return out;
  }

  // What reached the retry and review topics, headers decoded.
  std::vector<std::pair<ib::kafka::OutgoingMessage, ib::kafka::RetryHistory>> retries() const {
    std::vector<std::pair<ib::kafka::OutgoingMessage, ib::kafka::RetryHistory>> out;
    for (auto& m : producer.produced()) {
      if (m.topic == "invoices.retry") out.emplace_back(m, ib::kafka::decode_retry(m.headers).value());
    }
    return out;
  }
  std::vector<std::pair<ib::kafka::OutgoingMessage, ib::kafka::ReviewInfo>> reviews() const {
    std::vector<std::pair<ib::kafka::OutgoingMessage, ib::kafka::ReviewInfo>> out;
    for (auto& m : producer.produced()) {
      if (m.topic == "invoices.review") out.emplace_back(m, ib::kafka::decode_review(m.headers).value());
    }
    return out;
  }
};

}  // namespace

TEST_CASE("new invoices are sent once, marked imported, and every message is done",
          "[pipeline][unit]") {
  Harness h;
  std::vector<InMessage> msgs;
  for (int i = 0; i < 250; ++i) msgs.push_back(h.msg("K" + std::to_string(i) + "|f"));
  h.run(std::move(msgs));

  REQUIRE(h.done.size() == 250);
  CHECK(h.outcomes()[Outcome::imported] == 250);
  CHECK(h.sender.batches.size() == 3);  // 100 + 100 + 50
  CHECK(h.sender.batches[0].size() == 100);
  CHECK(h.sender.batches[2].size() == 50);
  for (const auto& [k, n] : h.sender.sends) CHECK(n == 1);
  CHECK(h.state("K7") == StoreState::imported);
  CHECK(h.pipeline->backlog() == 0);
  CHECK_FALSE(h.fatal);
}

TEST_CASE("store hits cost no API call: same content is a duplicate, other content a conflict",
          "[pipeline][unit]") {
  Harness h;
  h.seed("A", StoreState::imported, "f1");
  h.seed("B", StoreState::imported, "f1");
  h.run({h.msg("A|f1"), h.msg("B|f2"), h.msg("C|f1")});

  CHECK(h.sender.sends.count("A") == 0);
  CHECK(h.sender.sends.count("B") == 0);
  CHECK(h.sender.sends.at("C") == 1);
  auto o = h.outcomes();
  CHECK(o[Outcome::duplicate] == 1);
  CHECK(o[Outcome::conflict] == 1);
  CHECK(o[Outcome::imported] == 1);
  CHECK(h.entry("A").duplicates == 1);
  REQUIRE(h.reviews().size() == 1);
  CHECK(h.reviews()[0].first.value == "B|f2");
  CHECK(h.reviews()[0].second.reason == ReviewReason::conflict);
  CHECK(h.reviews()[0].second.d365_error.find("f1") != std::string::npos);
}

TEST_CASE("a replayed message is sent despite an imported store entry; D365 decides",
          "[pipeline][unit]") {
  Harness h;
  h.seed("A", StoreState::imported, "f1");  // imported, then fixed in D365 and replayed
  h.seed("B", StoreState::imported, "f1");  // still in D365: answers duplicate
  h.seed("C", StoreState::imported, "f0");  // a conflict entry replayed after the fix
  h.seed("D", StoreState::imported, "f1");  // an ordinary upstream copy, not replayed
  h.sender.script["B"] = {answer(AnswerClass::duplicate, 412)};
  auto replay = [&](std::string value) {
    auto m = h.msg(std::move(value));
    m.replay_count = 1;
    return m;
  };
  h.run({replay("A|f1"), replay("B|f1"), replay("C|f1"), h.msg("D|f1")});

  CHECK(h.sender.sends.at("A") == 1);
  CHECK(h.sender.sends.at("B") == 1);
  CHECK(h.sender.sends.at("C") == 1);
  CHECK(h.sender.sends.count("D") == 0);
  std::map<std::string, Outcome> by_key;
  for (const auto& [m, o] : h.done) by_key[m.value.substr(0, 1)] = o;
  CHECK(by_key.at("A") == Outcome::imported);
  CHECK(by_key.at("B") == Outcome::duplicate);  // not "recovered": we never had it pending
  CHECK(by_key.at("C") == Outcome::imported);
  CHECK(by_key.at("D") == Outcome::duplicate);
  CHECK(h.entry("C").fingerprint == "f1");
  CHECK(h.reviews().empty());
  CHECK_FALSE(h.fatal);
}

TEST_CASE("a replay behind an upstream copy of the same group is still sent",
          "[pipeline][unit]") {
  Harness h;
  h.seed("A", StoreState::imported, "f1");
  auto replay = h.msg("A|f1");
  replay.replay_count = 2;
  h.run({h.msg("A|f1"), std::move(replay)});
  CHECK(h.sender.sends.at("A") == 1);
  REQUIRE(h.done.size() == 2);
  CHECK(h.outcomes()[Outcome::imported] == 1);
  CHECK(h.outcomes()[Outcome::duplicate] == 1);
}

TEST_CASE("copies inside one group: one send, the rest follow it or conflict with it",
          "[pipeline][unit]") {
  Harness h;
  h.run({h.msg("A|f1"), h.msg("A|f1"), h.msg("A|f1"), h.msg("A|f9")});
  CHECK(h.sender.sends.at("A") == 1);
  auto o = h.outcomes();
  CHECK(o[Outcome::imported] == 1);
  CHECK(o[Outcome::duplicate] == 2);
  CHECK(o[Outcome::conflict] == 1);
  REQUIRE(h.reviews().size() == 1);
  CHECK(h.reviews()[0].first.value == "A|f9");
  CHECK(h.reviews()[0].second.d365_error.ends_with("\nA|f1"));  // both versions in review
  CHECK(h.entry("A").duplicates == 2);
  CHECK(h.done.size() == 4);
}

TEST_CASE("transient failures go to the retry topic with backoff, then to review",
          "[pipeline][unit]") {
  PipelineConfig c = Harness::small_config();
  c.backoff.max_attempts = 4;  // 3 retries
  c.backoff.initial = 1000ms;
  Harness h(c);
  h.sender.script["A"] = {answer(AnswerClass::transient, 503)};
  h.sender.script["B"] = {answer(AnswerClass::transient, 500)};
  h.sender.script["C"] = {answer(AnswerClass::transient, 504)};
  h.run({h.msg("A|f", 0), h.msg("B|f", 2), h.msg("C|f", 3)});

  REQUIRE(h.retries().size() == 2);
  std::map<std::string, ib::kafka::RetryHistory> by_value;
  for (const auto& [m, r] : h.retries()) by_value[m.value] = r;
  CHECK(by_value.at("A|f").attempt == 1);
  CHECK(by_value.at("A|f").due_ms == epoch_ms(h.clock.now() + 1000ms));
  CHECK(by_value.at("A|f").last_status == 503);
  CHECK(by_value.at("B|f").attempt == 3);
  CHECK(by_value.at("B|f").due_ms == epoch_ms(h.clock.now() + 4000ms));
  REQUIRE(h.reviews().size() == 1);
  CHECK(h.reviews()[0].first.value == "C|f");
  CHECK(h.reviews()[0].second.reason == ReviewReason::exhausted);
  CHECK(h.reviews()[0].second.d365_status == 504);
  auto o = h.outcomes();
  CHECK(o[Outcome::retried] == 2);
  CHECK(o[Outcome::exhausted] == 1);
  // Still pending in the store: a later duplicate answer will be "recovered".
  CHECK(h.state("A") == StoreState::pending);
}

TEST_CASE("a retry message consumed before its own produce is acknowledged is not lost",
          "[pipeline][unit]") {
  // The retry topic can hand the retry back while the message that produced it is still
  // active (waiting for the broker's acknowledgement). It must wait for its key, not be
  // settled with its parent as a copy that follows it (which would lose the retry).
  Harness h;
  h.sender.script["A"] = {answer(AnswerClass::transient, 503)};  // then created
  h.before_retry_ack = [&](const ib::kafka::OutgoingMessage& m) {
    ib::kafka::Message consumed;
    consumed.topic = m.topic;
    consumed.offset = 0;
    consumed.key = m.key;
    consumed.value = m.value;
    consumed.headers = m.headers;
    h.pipeline->submit({to_in_message(std::move(consumed), true)});
  };
  h.run({h.msg("A|f")});

  CHECK(h.sender.sends.at("A") == 2);
  CHECK(h.retries().size() == 1);
  auto o = h.outcomes();
  CHECK(o[Outcome::retried] == 1);
  CHECK(o[Outcome::imported] == 1);
  CHECK(o[Outcome::duplicate] == 0);
  CHECK(h.done.size() == 2);
  CHECK(h.state("A") == StoreState::imported);
  CHECK(h.pipeline->backlog() == 0);
}

TEST_CASE("throttled and not-processed invoices are resent without spending a retry",
          "[pipeline][unit]") {
  Harness h;
  h.sender.script["A"] = {answer(AnswerClass::throttled, 429, {}, 5ms),
                          answer(AnswerClass::throttled, 429, {}, 5ms)};
  h.sender.script["B"] = {answer(AnswerClass::not_processed, 0)};
  h.run({h.msg("A|f"), h.msg("B|f"), h.msg("C|f")});

  CHECK(h.sender.sends.at("A") == 3);
  CHECK(h.sender.sends.at("B") == 2);
  CHECK(h.sender.sends.at("C") == 1);
  CHECK(h.outcomes()[Outcome::imported] == 3);
  CHECK(h.retries().empty());
  CHECK(h.reviews().empty());
  CHECK(h.pipeline->in_flight_limit() < 4);  // AIMD cut
}

TEST_CASE("x-ms-dop-hint / members sharing the user caps batches in flight; the first goes alone",
          "[pipeline][unit]") {
  auto c = Harness::small_config();
  c.batch.max_items = 1;  // one batch per invoice
  c.pacing.members_sharing_user = 2;
  Harness h(c);
  std::vector<InMessage> in;
  for (int i = 0; i < 12; ++i) {
    const auto key = "P" + std::to_string(i);
    auto a = answer(AnswerClass::created, 204);
    a.record_id = "id-" + key;
    a.pacing.dop_hint = 5;  // floor(5 / 2) = 2 each
    h.sender.script[key] = {a};
    in.push_back(h.msg(key + "|f"));
  }
  h.run(in);
  CHECK(h.outcomes()[Outcome::imported] == 12);
  CHECK(h.sender.batches.size() == 12);
  CHECK(h.sender.max_in_flight_seen == 2);  // not max_in_flight 4
  CHECK(h.pipeline->in_flight_limit() == 2);
}

TEST_CASE("an invoice the server never answers is resent with backoff, max_resends times, then retried",
          "[pipeline][unit]") {
  PipelineConfig c = Harness::small_config();
  c.max_resends = 3;
  c.backoff.initial = 20ms;  // resends wait 20, 40, 80 ms
  c.backoff.multiplier = 2;
  Harness h(c);
  h.sender.script["A"] = {answer(AnswerClass::not_processed, 0, "no response part")};
  h.sender.repeat_last = true;
  const auto started = std::chrono::steady_clock::now();
  h.run({h.msg("A|f"), h.msg("B|f")});
  const auto took = std::chrono::steady_clock::now() - started;

  CHECK(h.sender.sends.at("A") == 4);  // the send and 3 resends, never a tight loop
  CHECK(h.sender.sends.at("B") == 1);
  CHECK(took >= 140ms);                // every resend waited its delay
  REQUIRE(h.retries().size() == 1);
  CHECK(h.retries()[0].first.value == "A|f");
  CHECK(h.retries()[0].second.attempt == 1);
  CHECK(h.retries()[0].second.last_error == "no answer of its own 4 times in a row: no response part");
  auto o = h.outcomes();
  CHECK(o[Outcome::retried] == 1);
  CHECK(o[Outcome::imported] == 1);
  CHECK(h.state("A") == StoreState::pending);  // it may have landed: a later duplicate is "recovered"
}

TEST_CASE("throttling is waited out without a bound in the daemon, and never spends a retry",
          "[pipeline][unit]") {
  Harness h;  // max_throttled_resends = 0: no bound
  std::vector<ib::d365::Answer> throttles(12, answer(AnswerClass::throttled, 429, {}, 1ms));
  h.sender.script["A"] = throttles;
  h.run({h.msg("A|f")});
  CHECK(h.sender.sends.at("A") == 13);
  CHECK(h.outcomes()[Outcome::imported] == 1);
  CHECK(h.retries().empty());
}

TEST_CASE("with max_throttled_resends, an invoice throttled past the bound takes the retry path",
          "[pipeline][unit]") {
  PipelineConfig c = Harness::small_config();
  c.max_throttled_resends = 2;
  Harness h(c);
  h.sender.script["A"] = {answer(AnswerClass::throttled, 429, {}, 1ms)};
  h.sender.repeat_last = true;
  h.run({h.msg("A|f")});
  CHECK(h.sender.sends.at("A") == 3);
  REQUIRE(h.retries().size() == 1);
  CHECK(h.retries()[0].second.last_status == 429);
  CHECK(h.retries()[0].second.last_error.rfind("throttled 3 times in a row", 0) == 0);
}

TEST_CASE("stop_sending: in-flight batches are settled, nothing else is sent or done",
          "[pipeline][unit]") {
  PipelineConfig c = Harness::small_config();
  c.batch.max_items = 1;
  c.aimd.max_in_flight = 1;
  Harness h(c);
  h.sender.slow = {"A"};
  h.pipeline->submit({h.msg("A|f"), h.msg("B|f"), h.msg("C|f")});
  while (!h.sender.gate) h.ctx.run_one_for(1ms);
  h.pipeline->stop_sending();
  h.sender.gate->cancel();
  CHECK(h.drain(2s));  // true once nothing is in flight
  CHECK(h.sender.batches.size() == 1);
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].first.value == "A|f");
  CHECK(h.done[0].second == Outcome::imported);
  CHECK(h.pipeline->backlog() == 2);
}

namespace {
// Runs whatever is ready now (a few turns of the executor, produces acknowledged), without
// waiting for any timer: the tests below move time with core::SteadyTime::advance.
void turn(Harness& h) {
  for (int i = 0; i < 20; ++i) {
    h.ctx.restart();
    h.ctx.run_for(1ms);
    h.ack_produces();
  }
}
using ib::core::SteadyTime;
}  // namespace

TEST_CASE("fake clock: a 30 s Retry-After holds every send until the time has passed",
          "[pipeline][unit]") {
  SteadyTime::allow_advance();
  Harness h;
  h.sender.script["A"] = {answer(AnswerClass::throttled, 429, {}, 30s)};
  h.pipeline->submit({h.msg("A|f")});
  turn(h);
  CHECK(h.sender.sends.at("A") == 1);
  SteadyTime::advance(29s);
  turn(h);
  CHECK(h.sender.sends.at("A") == 1);  // still paused
  SteadyTime::advance(2s);
  turn(h);
  CHECK(h.sender.sends.at("A") == 2);
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].second == Outcome::imported);
}

TEST_CASE("fake clock: unanswered resends wait 1 s, 2 s, 4 s of the retry schedule",
          "[pipeline][unit]") {
  PipelineConfig c = Harness::small_config();
  c.max_resends = 3;
  SteadyTime::allow_advance();
  Harness h(c);  // retry.initial 1 s, multiplier 2, no jitter
  h.sender.script["A"] = {answer(AnswerClass::not_processed, 0), answer(AnswerClass::not_processed, 0),
                          answer(AnswerClass::not_processed, 0)};
  h.pipeline->submit({h.msg("A|f")});
  turn(h);
  CHECK(h.sender.sends.at("A") == 1);
  for (const auto& [wait, sends] : std::vector<std::pair<std::chrono::milliseconds, int>>{
           {900ms, 1}, {200ms, 2}, {1800ms, 2}, {300ms, 3}, {3800ms, 3}, {300ms, 4}}) {
    SteadyTime::advance(wait);
    turn(h);
    CHECK(h.sender.sends.at("A") == sends);
  }
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].second == Outcome::imported);
  CHECK(h.retries().empty());
}

TEST_CASE("fake clock: a partial batch goes out when its linger ends, not before",
          "[pipeline][unit]") {
  PipelineConfig c = Harness::small_config();
  c.batch.linger = 10s;
  SteadyTime::allow_advance();
  Harness h(c);
  h.pipeline->submit({h.msg("A|f"), h.msg("B|f")});
  turn(h);
  CHECK(h.sender.batches.empty());
  SteadyTime::advance(9s);
  turn(h);
  CHECK(h.sender.batches.empty());
  SteadyTime::advance(2s);
  turn(h);
  REQUIRE(h.sender.batches.size() == 1);
  CHECK(h.sender.batches[0] == std::vector<std::string>{"A", "B"});
}

TEST_CASE("a duplicate answer for a key we had sent before is recovered, else duplicate",
          "[pipeline][unit]") {
  Harness h;
  h.seed("A", StoreState::pending, "f");
  h.sender.script["A"] = {answer(AnswerClass::duplicate, 412)};
  h.sender.script["B"] = {answer(AnswerClass::duplicate, 412)};
  h.run({h.msg("A|f", 1), h.msg("B|f")});
  auto o = h.outcomes();
  CHECK(o[Outcome::recovered] == 1);
  CHECK(o[Outcome::duplicate] == 1);
  CHECK(h.state("A") == StoreState::imported);
  CHECK(h.state("B") == StoreState::imported);
}

TEST_CASE("permanent errors and invalid payloads go to review with their reason",
          "[pipeline][unit]") {
  Harness h;
  h.sender.script["A"] = {answer(AnswerClass::permanent, 400)};
  h.run({h.msg("A|f"), h.msg("BAD payload"), h.msg("B|f")});
  REQUIRE(h.reviews().size() == 2);
  std::map<std::string, ib::kafka::ReviewInfo> by_value;
  for (const auto& [m, r] : h.reviews()) by_value[m.value] = r;
  CHECK(by_value.at("A|f").reason == ReviewReason::rejected);
  CHECK(by_value.at("A|f").d365_status == 400);
  CHECK(by_value.at("A|f").d365_error.find("error") != std::string::npos);
  CHECK(by_value.at("BAD payload").reason == ReviewReason::invalid);
  CHECK(by_value.at("BAD payload").d365_error.find("not an invoice") != std::string::npos);
  auto o = h.outcomes();
  CHECK(o[Outcome::rejected] == 1);
  CHECK(o[Outcome::invalid] == 1);
  CHECK(o[Outcome::imported] == 1);
}

TEST_CASE("a failing producer stops the pipeline and nothing unpublished is done",
          "[pipeline][unit]") {
  Harness h;
  h.produce_error = -192;  // RD_KAFKA_RESP_ERR__MSG_TIMED_OUT: the broker never acknowledged
  h.sender.script["A"] = {answer(AnswerClass::transient, 503)};
  h.run({h.msg("A|f")});
  REQUIRE(h.fatal);
  CHECK(h.fatal->find("cannot produce to the retry topic: produce to invoices.retry failed") != std::string::npos);
  CHECK(h.done.empty());
  CHECK(h.pipeline->failed());
}

TEST_CASE("a failing store stops the pipeline before sending", "[pipeline][unit]") {
  Harness h;
  h.store.fail_next(ib::dedup::StoreErrc::no_space);
  h.run({h.msg("A|f")});
  REQUIRE(h.fatal);
  CHECK(h.fatal->find("dedup store lookup failed: no_space") != std::string::npos);
  CHECK(h.sender.batches.empty());
  CHECK(h.done.empty());
}

TEST_CASE("a fatal sender answer (TLS verification) stops the pipeline; nothing is done, retried or reviewed",
          "[pipeline][unit]") {
  Harness h;
  const std::string why = "TLS certificate verification failed for org.crm.dynamics.com:443: hostname mismatch";
  h.sender.whole = [&](const std::vector<std::string>& keys) {
    auto a = answer(AnswerClass::not_processed, 0, why);
    a.fatal = why;
    return std::vector<ib::d365::Answer>(keys.size(), a);
  };
  h.run({h.msg("A|f"), h.msg("B|f")});
  REQUIRE(h.fatal);
  CHECK(*h.fatal == "D365 unusable: " + why);
  CHECK(h.pipeline->failed());
  CHECK(h.pipeline->failed_on_configuration());
  CHECK(h.done.empty());
  CHECK(h.producer.produced().empty());
  CHECK(h.sender.batches.size() == 1);  // not resent as not_processed
  CHECK(h.state("A") == StoreState::pending);  // sent again after the fix, and D365 decides
}

TEST_CASE("a sender answering the wrong number of invoices loses none of them",
          "[pipeline][unit]") {
  Harness h;
  h.sender.whole = [](const std::vector<std::string>&) { return std::vector<ib::d365::Answer>{}; };
  h.run({h.msg("A|f"), h.msg("B|f")});
  CHECK(h.retries().size() == 2);
  CHECK(h.outcomes()[Outcome::retried] == 2);
}

TEST_CASE("queued work of a revoked partition is neither sent nor reported", "[pipeline][unit]") {
  PipelineConfig c = Harness::small_config();
  c.batch.linger = 200ms;
  Harness h(c);
  h.pipeline->submit({h.msg("A|f", 0, 0), h.msg("B|f", 0, 1)});
  h.pipeline->revoke("invoices", 0);
  CHECK(h.drain(2s));
  CHECK(h.pipeline->backlog() == 0);
  CHECK(h.sender.sends.count("A") == 0);
  CHECK(h.sender.sends.at("B") == 1);
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].first.partition == 1);
}

TEST_CASE("a copy from a kept partition is sent when the copy it waited for is revoked",
          "[pipeline][unit]") {
  // Copies of one key can sit on different partitions (a retry-topic leader and an input
  // copy, or an input topic not keyed by the dedup key): revoking the leader's partition
  // must not leave the follower unreported (its partition's commits would stop there).
  PipelineConfig c = Harness::small_config();
  c.batch.linger = 200ms;
  Harness h(c);
  h.pipeline->submit({h.msg("A|f", 0, 0), h.msg("A|f", 0, 1), h.msg("A|f", 0, 2)});
  h.pipeline->revoke("invoices", 0);  // the leader's partition
  h.pipeline->revoke("invoices", 2);  // one follower's partition
  CHECK(h.drain(2s));
  CHECK(h.pipeline->backlog() == 0);
  CHECK(h.sender.sends.at("A") == 1);
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].first.partition == 1);
  CHECK(h.done[0].second == Outcome::imported);
}

TEST_CASE("pipeline config validation reports every problem", "[pipeline][unit]") {
  PipelineConfig c;
  c.backoff.max_attempts = 0;
  c.backoff.jitter = 1.5;
  c.batch.max_items = 0;
  c.aimd.max_in_flight = 0;
  const auto problems = c.validate();
  CHECK(problems.size() == 5);  // max_in_flight 0 is also below min_in_flight
  // Named by their documented keys (retry.max_attempts, retry.jitter).
  CHECK(std::count_if(problems.begin(), problems.end(), [](auto& p) {
          return p.rfind("retry.max_attempts:", 0) == 0 || p.rfind("retry.jitter:", 0) == 0;
        }) == 2);
  CHECK(PipelineConfig{}.validate().empty());
}

// --- every copy judged against the stored version first, then the version in flight ---

namespace {
// Each message's outcome by its offset (h.msg numbers them from 0).
std::map<std::int64_t, Outcome> by_offset(const Harness& h) {
  std::map<std::int64_t, Outcome> out;
  for (const auto& [m, o] : h.done) out.emplace(m.offset, o);
  return out;
}
const std::string kImportedConflict = "differs from the invoice already imported with this key\n";
const std::string kPendingConflict = "differs from the version of this invoice still being sent\n";
const std::string kInFlightConflict = "same key as an invoice in flight, different content\n";
}  // namespace

TEST_CASE("imported A, then B and an exact copy of A in one group: B to review beside A, the copy a duplicate",
          "[pipeline][unit]") {
  Harness h;
  h.seed("A", StoreState::imported, "f1");
  h.run({h.msg("A|f2"), h.msg("A|f1")});
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{{0, Outcome::conflict}, {1, Outcome::duplicate}});
  CHECK(h.sender.batches.empty());  // no API request
  REQUIRE(h.reviews().size() == 1);
  CHECK(h.reviews()[0].first.value == "A|f2");
  CHECK(h.reviews()[0].second.reason == ReviewReason::conflict);
  CHECK(h.reviews()[0].second.d365_error == kImportedConflict + "imported fingerprint f1, this fingerprint f2");
  CHECK(h.entry("A").duplicates == 1);  // the sighting is recorded
  CHECK(h.entry("A").fingerprint == "f1");
  CHECK(h.pipeline->backlog() == 0);
}

TEST_CASE("imported A, then an exact copy of A and B in one group: the same verdicts",
          "[pipeline][unit]") {
  Harness h;
  h.seed("A", StoreState::imported, "f1");
  h.run({h.msg("A|f1"), h.msg("A|f2"), h.msg("A|f1")});
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{
                            {0, Outcome::duplicate}, {1, Outcome::conflict}, {2, Outcome::duplicate}});
  CHECK(h.sender.batches.empty());
  REQUIRE(h.reviews().size() == 1);
  CHECK(h.reviews()[0].first.value == "A|f2");
  CHECK(h.reviews()[0].second.d365_error == kImportedConflict + "imported fingerprint f1, this fingerprint f2");
  CHECK(h.entry("A").duplicates == 2);
}

TEST_CASE("A in flight; B in a later group conflicts with it, an exact copy in the next one follows it",
          "[pipeline][unit]") {
  Harness h;
  h.sender.slow = {"A"};
  h.pipeline->submit({h.msg("A|f1")});
  while (!h.sender.gate) h.ctx.run_one_for(1ms);
  h.pipeline->submit({h.msg("A|f2")});
  h.pipeline->submit({h.msg("A|f1")});
  turn(h);
  // B is settled at once; the copy waits for A's answer.
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{{1, Outcome::conflict}});
  REQUIRE(h.reviews().size() == 1);
  CHECK(h.reviews()[0].first.value == "A|f2");
  // Beside the stored (pending) fingerprint, the payload of the version being sent.
  CHECK(h.reviews()[0].second.d365_error == kPendingConflict + "pending fingerprint f1, this fingerprint f2\nA|f1");
  h.sender.gate->cancel();
  CHECK(h.drain(2s));
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{
                            {0, Outcome::imported}, {1, Outcome::conflict}, {2, Outcome::duplicate}});
  CHECK(h.sender.batches.size() == 1);
  CHECK(h.sender.sends.at("A") == 1);
  CHECK(h.reviews().size() == 1);
  CHECK(h.entry("A").duplicates == 1);
}

TEST_CASE("a replay over an imported entry in flight: the store still says imported, copies are judged by it first",
          "[pipeline][unit]") {
  // The replay marks nothing pending (an imported entry stays imported until the answer),
  // so a later group sees "imported f0" while the replayed f1 is in flight: a copy of f0 is
  // a duplicate of the stored version, a copy of f1 follows the replay, f2 conflicts with
  // the imported version.
  Harness h;
  h.seed("A", StoreState::imported, "f0");
  h.sender.slow = {"A"};
  auto replay = h.msg("A|f1");
  replay.replay_count = 1;
  h.pipeline->submit({std::move(replay)});
  while (!h.sender.gate) h.ctx.run_one_for(1ms);
  CHECK(h.entry("A").state == StoreState::imported);
  h.pipeline->submit({h.msg("A|f0"), h.msg("A|f1"), h.msg("A|f2")});
  turn(h);
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{{1, Outcome::duplicate}, {3, Outcome::conflict}});
  REQUIRE(h.reviews().size() == 1);
  CHECK(h.reviews()[0].first.value == "A|f2");
  CHECK(h.reviews()[0].second.d365_error == kImportedConflict + "imported fingerprint f0, this fingerprint f2");
  h.sender.gate->cancel();
  CHECK(h.drain(2s));
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{
                            {0, Outcome::imported}, {1, Outcome::duplicate}, {2, Outcome::duplicate}, {3, Outcome::conflict}});
  CHECK(h.sender.sends.at("A") == 1);
  CHECK(h.entry("A").fingerprint == "f1");
  CHECK(h.entry("A").duplicates == 2);
}

TEST_CASE("pending A (an earlier attempt unanswered): B conflicts with it, copies of A are sent once",
          "[pipeline][unit]") {
  Harness h;
  h.seed("A", StoreState::pending, "f1");
  h.seed("P", StoreState::pending, "f0");
  h.sender.script["A"] = {answer(AnswerClass::duplicate, 412)};  // our earlier attempt had landed
  h.run({h.msg("A|f2"), h.msg("A|f1"), h.msg("A|f1"), h.msg("P|f1"), h.msg("P|f1")});
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{{0, Outcome::conflict},
                                                        {1, Outcome::recovered},
                                                        {2, Outcome::duplicate},
                                                        {3, Outcome::conflict},
                                                        {4, Outcome::conflict}});
  CHECK(h.sender.sends.at("A") == 1);
  CHECK(h.sender.sends.count("P") == 0);  // another version is pending: both copies to review
  std::map<std::int64_t, std::string> errors;
  for (const auto& [m, r] : h.reviews()) errors[m.value == "A|f2" ? 0 : 1] += r.d365_error + ";";
  CHECK(errors[0] == kPendingConflict + "pending fingerprint f1, this fingerprint f2\nA|f1;");
  CHECK(errors[1] == kPendingConflict + "pending fingerprint f0, this fingerprint f1;" + kPendingConflict +
                         "pending fingerprint f0, this fingerprint f1;");
  CHECK(h.state("A") == StoreState::imported);
  CHECK(h.state("P") == StoreState::pending);
}

TEST_CASE("nothing stored: the first version is sent, its copies follow, another version conflicts with it",
          "[pipeline][unit]") {
  Harness h;
  h.run({h.msg("A|f2"), h.msg("A|f1"), h.msg("A|f2")});
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{
                            {0, Outcome::imported}, {1, Outcome::conflict}, {2, Outcome::duplicate}});
  CHECK(h.sender.sends.at("A") == 1);
  REQUIRE(h.reviews().size() == 1);
  CHECK(h.reviews()[0].first.value == "A|f1");
  CHECK(h.reviews()[0].second.d365_error == kInFlightConflict + "A|f2");
  CHECK(h.entry("A").fingerprint == "f2");
}

TEST_CASE("a retry-topic copy behind another copy of its group waits for it, then meets the store",
          "[pipeline][unit]") {
  Harness h;
  h.seed("A", StoreState::imported, "f1");
  // B: the first copy is sent, the retry copy waits, then is a duplicate of what it imported.
  // A: the first copy conflicts (nothing holds the key), the retry copy goes on at once.
  h.run({h.msg("B|f1"), h.msg("B|f1", 1), h.msg("A|f2"), h.msg("A|f1", 2)});
  CHECK(by_offset(h) == std::map<std::int64_t, Outcome>{
                            {0, Outcome::imported}, {1, Outcome::duplicate}, {2, Outcome::conflict}, {3, Outcome::duplicate}});
  CHECK(h.sender.sends.at("B") == 1);
  CHECK(h.sender.sends.count("A") == 0);
  CHECK(h.pipeline->backlog() == 0);
}

// --- the dedup changelog (docs/architecture.md "How state follows partitions") ---

namespace {

PipelineConfig changelog_config() {
  auto c = Harness::small_config();
  c.changelog_topic = "invoices.dedup-changelog";
  return c;
}

// Runs the pipeline's handlers for a while without acknowledging any produce.
void spin(Harness& h, std::chrono::milliseconds for_how_long = 30ms) {
  h.ctx.run_for(for_how_long);
  h.ctx.restart();
}

std::vector<ib::kafka::OutgoingMessage> changelog_records(const Harness& h) {
  std::vector<ib::kafka::OutgoingMessage> out;
  for (auto& m : h.producer.produced()) {
    if (m.topic == "invoices.dedup-changelog") out.push_back(m);
  }
  return out;
}

ib::dedup::Entry decoded(const ib::kafka::OutgoingMessage& m) {
  auto e = ib::dedup::decode_changelog_value(m.value);
  REQUIRE(e);
  return *e;
}

}  // namespace

TEST_CASE("with a changelog, every store change is produced in its message's partition and gates `done`",
          "[pipeline][unit][changelog]") {
  Harness h(changelog_config());
  h.seed("C", StoreState::imported, "f1");
  h.pipeline->submit({h.msg("A|f1", 0, 2), h.msg("B|f1", 0, 3), h.msg("C|f1", 0, 1)});
  spin(h);
  // Before any ack: the pending marks and the duplicate sighting are in the changelog,
  // nothing is sent (a member taking over must know what was sent), nothing is done.
  auto records = changelog_records(h);
  REQUIRE(records.size() == 3);
  std::map<std::string, ib::kafka::OutgoingMessage> by_key;
  for (auto& r : records) by_key[r.key] = r;
  CHECK(by_key.at("A").partition == 2);
  CHECK(decoded(by_key.at("A")).state == StoreState::pending);
  CHECK(decoded(by_key.at("A")).fingerprint == "f1");
  CHECK(by_key.at("B").partition == 3);
  CHECK(by_key.at("C").partition == 1);
  CHECK(decoded(by_key.at("C")).state == StoreState::imported);
  CHECK(decoded(by_key.at("C")).duplicates == 1);
  CHECK(decoded(by_key.at("C")) == h.entry("C"));
  CHECK(h.sender.batches.empty());
  CHECK(h.done.empty());

  // Acked: A and B are sent and imported; their imported records are produced, and they
  // are done only once those are acknowledged too.
  h.ack_produces();
  spin(h);
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].second == Outcome::duplicate);
  CHECK(h.sender.sent() == std::vector<std::string>{"A", "B"});
  records = changelog_records(h);
  REQUIRE(records.size() == 5);
  CHECK(records[3].key == "A");
  CHECK(records[3].partition == 2);
  CHECK(decoded(records[3]).state == StoreState::imported);
  CHECK(decoded(records[3]) == h.entry("A"));
  CHECK(records[4].key == "B");
  CHECK(records[4].partition == 3);
  CHECK(h.done.size() == 1);
  h.ack_produces();
  spin(h);
  CHECK(h.outcomes()[Outcome::imported] == 2);
  CHECK(h.done.size() == 3);
  CHECK(h.pipeline->backlog() == 0);
  CHECK_FALSE(h.fatal);
}

TEST_CASE("a retry's store changes go to its origin's changelog partition", "[pipeline][unit][changelog]") {
  Harness h(changelog_config());
  auto m = h.msg("R|f1", 1, 0);
  m.topic = "invoices.retry";
  ib::kafka::RetryHistory history;
  history.attempt = 1;
  history.origin = {"invoices", 5, 77};
  m.retry = history;
  h.run({m});
  REQUIRE(h.done.size() == 1);
  const auto records = changelog_records(h);
  REQUIRE(records.size() == 2);  // pending, imported
  for (const auto& r : records) CHECK(r.partition == 5);
}

TEST_CASE("a failed changelog produce stops the pipeline: nothing sent, nothing done",
          "[pipeline][unit][changelog]") {
  Harness h(changelog_config());
  h.produce_error = -192;  // RD_KAFKA_RESP_ERR__MSG_TIMED_OUT
  h.run({h.msg("A|f1"), h.msg("B|f1")});
  REQUIRE(h.fatal);
  CHECK(h.fatal->find("changelog topic") != std::string::npos);
  CHECK(h.sender.batches.empty());
  CHECK(h.done.empty());
}

TEST_CASE("acknowledged changelog writes move the checkpoint only of owned partitions",
          "[pipeline][unit][changelog]") {
  Harness h(changelog_config());
  // FakeProducer delivers everything to partition 0 at offsets 0, 1, 2...
  h.run({h.msg("A|f1")});
  REQUIRE(h.done.size() == 1);
  CHECK(h.store.changelog_checkpoint("invoices.dedup-changelog", 0).value() == std::nullopt);
  h.pipeline->changelog_owned(0, true);
  h.run({h.msg("B|f1")});
  REQUIRE(h.done.size() == 2);
  spin(h);
  CHECK(h.store.changelog_checkpoint("invoices.dedup-changelog", 0).value() == std::optional<std::int64_t>(4));
  h.pipeline->changelog_owned(0, false);
  h.run({h.msg("C|f1")});
  spin(h);
  CHECK(h.store.changelog_checkpoint("invoices.dedup-changelog", 0).value() == std::optional<std::int64_t>(4));
}

TEST_CASE("without a changelog nothing is produced for store changes", "[pipeline][unit][changelog]") {
  Harness h;
  h.run({h.msg("A|f1"), h.msg("A|f1")});
  CHECK(h.outcomes()[Outcome::imported] == 1);
  CHECK(h.outcomes()[Outcome::duplicate] == 1);
  CHECK(h.producer.produced().empty());
}
