// Unit tests of the pipeline with fakes: a codec that reads "key|fingerprint" payloads,
// an in-memory store, a scripted sender and a recording publisher.
#include "pipeline/pipeline.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <map>

namespace asio = boost::asio;
using namespace ib::pipeline;
using namespace std::chrono_literals;

namespace {

class FakeCodec : public InvoiceCodec {
public:
  std::variant<Decoded, std::string> decode(const InMessage& m) override {
    const auto bar = m.value.find('|');
    if (m.value.rfind("BAD", 0) == 0 || bar == std::string::npos) {
      return std::string("not an invoice: ") + m.value;
    }
    Decoded d;
    d.dedup_key = m.value.substr(0, bar);
    d.fingerprint = m.value.substr(bar + 1);
    d.invoice = std::make_shared<const std::string>(d.dedup_key);
    d.bytes = m.value.size();
    return d;
  }
};

class FakeStore : public StorePort {
public:
  std::map<std::string, StoreEntry> entries;
  std::map<std::string, int> duplicates;
  std::optional<std::string> fail_writes;
  int lookups = 0;

  std::variant<std::vector<StoreEntry>, std::string> lookup(
      const std::vector<std::string>& keys) override {
    ++lookups;
    std::vector<StoreEntry> out;
    for (const auto& k : keys) {
      auto it = entries.find(k);
      out.push_back(it == entries.end() ? StoreEntry{} : it->second);
    }
    return out;
  }
  std::optional<std::string> mark_pending(const std::vector<Pending>& items) override {
    if (fail_writes) return fail_writes;
    for (const auto& p : items) entries[p.key] = {StoreState::pending, p.fingerprint};
    return std::nullopt;
  }
  std::optional<std::string> mark_imported(const std::vector<Imported>& items) override {
    if (fail_writes) return fail_writes;
    for (const auto& i : items) entries[i.key] = {StoreState::imported, i.fingerprint};
    return std::nullopt;
  }
  void record_duplicates(const std::vector<std::string>& keys) override {
    for (const auto& k : keys) duplicates[k]++;
  }
};

// Answers each invoice (by key) with the next scripted result for that key; created by default.
class ScriptedSender : public SendPort {
public:
  std::map<std::string, std::deque<SendAnswer>> script;
  std::vector<std::vector<std::string>> batches;
  std::map<std::string, int> sends;
  // When set, answers the batch as a whole (count mismatch tests etc.).
  std::function<std::vector<SendAnswer>(const std::vector<std::string>&)> whole;

  asio::awaitable<std::vector<SendAnswer>> send(
      std::vector<std::shared_ptr<const void>> invoices) override {
    std::vector<std::string> keys;
    for (const auto& i : invoices) keys.push_back(*static_cast<const std::string*>(i.get()));
    batches.push_back(keys);
    if (whole) co_return whole(keys);
    std::vector<SendAnswer> answers;
    for (const auto& k : keys) {
      sends[k]++;
      auto& q = script[k];
      if (q.empty()) {
        SendAnswer a;
        a.result = SendResult::created;
        a.status = 204;
        a.record_id = "id-" + k;
        answers.push_back(a);
      } else {
        answers.push_back(q.front());
        q.pop_front();
      }
    }
    co_return answers;
  }
};

SendAnswer answer(SendResult r, int status, std::optional<std::chrono::milliseconds> ra = {}) {
  SendAnswer a;
  a.result = r;
  a.status = status;
  a.error = "status " + std::to_string(status);
  a.body = "{\"error\":{\"code\":\"x\"}}";
  a.retry_after = ra;
  return a;
}

class FakePublisher : public PublishPort {
public:
  std::vector<std::pair<InMessage, RetryRecord>> retries;
  std::vector<std::pair<InMessage, ReviewRecord>> reviews;
  std::optional<std::string> fail;
  // Runs before a retry is acknowledged (e.g. the consumer already delivering it).
  std::function<void(const InMessage&, const RetryRecord&)> before_retry_ack;

  asio::awaitable<std::optional<std::string>> to_retry(InMessage m, RetryRecord r) override {
    if (fail) co_return fail;
    if (before_retry_ack) before_retry_ack(m, r);
    retries.emplace_back(std::move(m), std::move(r));
    co_return std::nullopt;
  }
  asio::awaitable<std::optional<std::string>> to_review(InMessage m, ReviewRecord r) override {
    if (fail) co_return fail;
    reviews.emplace_back(std::move(m), std::move(r));
    co_return std::nullopt;
  }
};

struct Harness {
  asio::io_context ctx;
  FakeCodec codec;
  FakeStore store;
  ScriptedSender sender;
  FakePublisher publisher;
  ib::core::ManualClock clock;
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
    pipeline = std::make_unique<Pipeline>(ctx.get_executor(), config, codec, store, sender,
                                          publisher, clock, ev, 42);
  }

  static PipelineConfig small_config() {
    PipelineConfig c;
    c.batch.max_items = 100;
    c.batch.linger = 1ms;
    c.aimd.max_in_flight = 4;
    c.aimd.default_retry_after = 5ms;
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

  // Runs the pipeline until drain(limit) ends; whether everything got done in time.
  bool drain(std::chrono::milliseconds limit) {
    bool drained = false;
    asio::co_spawn(ctx, pipeline->drain(limit), [&](std::exception_ptr, bool ok) {
      drained = ok;
      ctx.stop();
    });
    ctx.run_for(limit + 1s);
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
  CHECK(h.store.entries.at("K7").state == StoreState::imported);
  CHECK(h.pipeline->backlog() == 0);
  CHECK_FALSE(h.fatal);
}

TEST_CASE("store hits cost no API call: same content is a duplicate, other content a conflict",
          "[pipeline][unit]") {
  Harness h;
  h.store.entries["A"] = {StoreState::imported, "f1"};
  h.store.entries["B"] = {StoreState::imported, "f1"};
  h.run({h.msg("A|f1"), h.msg("B|f2"), h.msg("C|f1")});

  CHECK(h.sender.sends.count("A") == 0);
  CHECK(h.sender.sends.count("B") == 0);
  CHECK(h.sender.sends.at("C") == 1);
  auto o = h.outcomes();
  CHECK(o[Outcome::duplicate] == 1);
  CHECK(o[Outcome::conflict] == 1);
  CHECK(o[Outcome::imported] == 1);
  CHECK(h.store.duplicates["A"] == 1);
  REQUIRE(h.publisher.reviews.size() == 1);
  CHECK(h.publisher.reviews[0].first.value == "B|f2");
  CHECK(h.publisher.reviews[0].second.reason == ReviewReason::conflict);
  CHECK(h.publisher.reviews[0].second.body.find("f1") != std::string::npos);
}

TEST_CASE("a replayed message is sent despite an imported store entry; D365 decides",
          "[pipeline][unit]") {
  Harness h;
  h.store.entries["A"] = {StoreState::imported, "f1"};  // imported, then fixed in D365 and replayed
  h.store.entries["B"] = {StoreState::imported, "f1"};  // still in D365: answers duplicate
  h.store.entries["C"] = {StoreState::imported, "f0"};  // a conflict entry replayed after the fix
  h.store.entries["D"] = {StoreState::imported, "f1"};  // an ordinary upstream copy, not replayed
  h.sender.script["B"].push_back(answer(SendResult::duplicate, 412));
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
  CHECK(h.store.entries.at("C").fingerprint == "f1");
  CHECK(h.publisher.reviews.empty());
  CHECK_FALSE(h.fatal);
}

TEST_CASE("a replay collapsed onto an upstream copy of the same group is still sent",
          "[pipeline][unit]") {
  Harness h;
  h.store.entries["A"] = {StoreState::imported, "f1"};
  auto replay = h.msg("A|f1");
  replay.replay_count = 2;
  h.run({h.msg("A|f1"), std::move(replay)});
  CHECK(h.sender.sends.at("A") == 1);
  REQUIRE(h.done.size() == 2);
  CHECK(h.outcomes()[Outcome::imported] == 1);
  CHECK(h.outcomes()[Outcome::duplicate] == 1);
}

TEST_CASE("copies inside one group collapse: one send, the rest are duplicates or conflicts",
          "[pipeline][unit]") {
  Harness h;
  h.run({h.msg("A|f1"), h.msg("A|f1"), h.msg("A|f1"), h.msg("A|f9")});
  CHECK(h.sender.sends.at("A") == 1);
  auto o = h.outcomes();
  CHECK(o[Outcome::imported] == 1);
  CHECK(o[Outcome::duplicate] == 2);
  CHECK(o[Outcome::conflict] == 1);
  REQUIRE(h.publisher.reviews.size() == 1);
  CHECK(h.publisher.reviews[0].first.value == "A|f9");
  CHECK(h.publisher.reviews[0].second.body == "A|f1");  // both versions in review
  CHECK(h.store.duplicates["A"] == 2);
  CHECK(h.done.size() == 4);
}

TEST_CASE("transient failures go to the retry topic with backoff, then to review",
          "[pipeline][unit]") {
  PipelineConfig c = Harness::small_config();
  c.backoff.max_attempts = 4;  // 3 retries
  c.backoff.initial = 1000ms;
  Harness h(c);
  h.sender.script["A"] = {answer(SendResult::transient, 503)};
  h.sender.script["B"] = {answer(SendResult::transient, 500)};
  h.sender.script["C"] = {answer(SendResult::transient, 504)};
  h.run({h.msg("A|f", 0), h.msg("B|f", 2), h.msg("C|f", 3)});

  REQUIRE(h.publisher.retries.size() == 2);
  std::map<std::string, RetryRecord> by_value;
  for (const auto& [m, r] : h.publisher.retries) by_value[m.value] = r;
  CHECK(by_value.at("A|f").next_attempt == 1);
  CHECK(by_value.at("A|f").due == h.clock.now() + 1000ms);
  CHECK(by_value.at("A|f").last_status == 503);
  CHECK(by_value.at("B|f").next_attempt == 3);
  CHECK(by_value.at("B|f").due == h.clock.now() + 4000ms);
  REQUIRE(h.publisher.reviews.size() == 1);
  CHECK(h.publisher.reviews[0].first.value == "C|f");
  CHECK(h.publisher.reviews[0].second.reason == ReviewReason::exhausted);
  CHECK(h.publisher.reviews[0].second.status == 504);
  auto o = h.outcomes();
  CHECK(o[Outcome::retried] == 2);
  CHECK(o[Outcome::exhausted] == 1);
  // Still pending in the store: a later duplicate answer will be "recovered".
  CHECK(h.store.entries.at("A").state == StoreState::pending);
}

TEST_CASE("a retry message consumed before its own produce is acknowledged is not lost",
          "[pipeline][unit]") {
  // The retry topic can hand the retry back while the message that produced it is still
  // active (waiting for the broker's acknowledgement). It must wait for its key, not be
  // collapsed onto its parent as a copy (which would finish it and lose the retry).
  Harness h;
  h.sender.script["A"] = {answer(SendResult::transient, 503)};  // then created
  h.publisher.before_retry_ack = [&](const InMessage& m, const RetryRecord& r) {
    InMessage retry = m;
    retry.topic = "invoices.retry";
    retry.offset = 0;
    retry.attempt = r.next_attempt;
    h.pipeline->submit({retry});
  };
  h.run({h.msg("A|f")});

  CHECK(h.sender.sends.at("A") == 2);
  CHECK(h.publisher.retries.size() == 1);
  auto o = h.outcomes();
  CHECK(o[Outcome::retried] == 1);
  CHECK(o[Outcome::imported] == 1);
  CHECK(o[Outcome::duplicate] == 0);
  CHECK(h.done.size() == 2);
  CHECK(h.store.entries.at("A").state == StoreState::imported);
  CHECK(h.pipeline->backlog() == 0);
}

TEST_CASE("throttled and not-processed invoices are resent without spending a retry",
          "[pipeline][unit]") {
  Harness h;
  h.sender.script["A"] = {answer(SendResult::throttled, 429, 5ms),
                          answer(SendResult::throttled, 429, 5ms)};
  h.sender.script["B"] = {answer(SendResult::not_processed, 0)};
  h.run({h.msg("A|f"), h.msg("B|f"), h.msg("C|f")});

  CHECK(h.sender.sends.at("A") == 3);
  CHECK(h.sender.sends.at("B") == 2);
  CHECK(h.sender.sends.at("C") == 1);
  CHECK(h.outcomes()[Outcome::imported] == 3);
  CHECK(h.publisher.retries.empty());
  CHECK(h.publisher.reviews.empty());
  CHECK(h.pipeline->in_flight_limit() < 4);  // AIMD cut
}

TEST_CASE("a duplicate answer for a key we had sent before is recovered, else duplicate",
          "[pipeline][unit]") {
  Harness h;
  h.store.entries["A"] = {StoreState::pending, "f"};
  h.sender.script["A"] = {answer(SendResult::duplicate, 412)};
  h.sender.script["B"] = {answer(SendResult::duplicate, 412)};
  h.run({h.msg("A|f", 1), h.msg("B|f")});
  auto o = h.outcomes();
  CHECK(o[Outcome::recovered] == 1);
  CHECK(o[Outcome::duplicate] == 1);
  CHECK(h.store.entries.at("A").state == StoreState::imported);
  CHECK(h.store.entries.at("B").state == StoreState::imported);
}

TEST_CASE("permanent errors and invalid payloads go to review with their reason",
          "[pipeline][unit]") {
  Harness h;
  h.sender.script["A"] = {answer(SendResult::permanent, 400)};
  h.run({h.msg("A|f"), h.msg("BAD payload"), h.msg("B|f")});
  REQUIRE(h.publisher.reviews.size() == 2);
  std::map<std::string, ReviewRecord> by_value;
  for (const auto& [m, r] : h.publisher.reviews) by_value[m.value] = r;
  CHECK(by_value.at("A|f").reason == ReviewReason::rejected);
  CHECK(by_value.at("A|f").status == 400);
  CHECK(by_value.at("A|f").body.find("error") != std::string::npos);
  CHECK(by_value.at("BAD payload").reason == ReviewReason::invalid);
  CHECK(by_value.at("BAD payload").error.find("not an invoice") != std::string::npos);
  auto o = h.outcomes();
  CHECK(o[Outcome::rejected] == 1);
  CHECK(o[Outcome::invalid] == 1);
  CHECK(o[Outcome::imported] == 1);
}

TEST_CASE("a failing producer stops the pipeline and nothing unpublished is done",
          "[pipeline][unit]") {
  Harness h;
  h.publisher.fail = "broker unreachable";
  h.sender.script["A"] = {answer(SendResult::transient, 503)};
  h.run({h.msg("A|f")});
  REQUIRE(h.fatal);
  CHECK(h.fatal->find("broker unreachable") != std::string::npos);
  CHECK(h.done.empty());
  CHECK(h.pipeline->failed());
}

TEST_CASE("a failing store stops the pipeline before sending", "[pipeline][unit]") {
  Harness h;
  h.store.fail_writes = "IO error: No space left on device";
  h.run({h.msg("A|f")});
  REQUIRE(h.fatal);
  CHECK(h.fatal->find("No space left") != std::string::npos);
  CHECK(h.sender.batches.empty());
  CHECK(h.done.empty());
}

TEST_CASE("a sender answering the wrong number of invoices loses none of them",
          "[pipeline][unit]") {
  Harness h;
  h.sender.whole = [](const std::vector<std::string>&) { return std::vector<SendAnswer>{}; };
  h.run({h.msg("A|f"), h.msg("B|f")});
  CHECK(h.publisher.retries.size() == 2);
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
  CHECK(std::count_if(problems.begin(), problems.end(),
                      [](auto& p) { return p.rfind("retry.backoff.", 0) == 0; }) == 2);
  CHECK(PipelineConfig{}.validate().empty());
}
