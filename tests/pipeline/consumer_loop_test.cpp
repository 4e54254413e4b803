// Unit tests of the consumer loop with a fake Kafka consumer and the pipeline on the test
// doubles of tests/support.
#include "kafka/consumer.hpp"
#include "kafka/headers.hpp"
#include "pipeline/consumer_loop.hpp"

#include "dedup/memory_dedup_store.hpp"
#include "testing/fake_producer.hpp"
#include "testing/fake_d365.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <set>

namespace asio = boost::asio;
using namespace ib::pipeline;
using namespace std::chrono_literals;
using ib::kafka::TopicPartition;

namespace {

class FakeConsumer : public ib::kafka::Consumer {
public:
  std::deque<ib::kafka::ConsumerEvent> events;
  std::map<TopicPartition, std::int64_t> stored;
  std::set<TopicPartition> paused;
  std::vector<TopicPartition> assigned{{"invoices", 0}, {"invoices", 1}, {"invoices.retry", 0}};
  std::set<TopicPartition> revoked;
  std::function<void()> on_idle;  // called when next() finds nothing (tests stop the loop)

  asio::awaitable<std::vector<ib::kafka::ConsumerEvent>> next(std::size_t max,
                                                              std::chrono::milliseconds) override {
    std::vector<ib::kafka::ConsumerEvent> out;
    while (!events.empty() && out.size() < max) {
      out.push_back(std::move(events.front()));
      events.pop_front();
    }
    if (out.empty()) {
      asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      if (on_idle) on_idle();
    }
    co_return out;
  }
  std::vector<ib::kafka::ConsumerEvent> try_next(std::size_t) override { return {}; }
  void wake() override {}
  boost::system::result<void> store_offset(const TopicPartition& tp, std::int64_t next) override {
    if (revoked.count(tp)) return boost::system::error_code(EINVAL, boost::system::generic_category());
    stored[tp] = next;
    return {};
  }
  boost::system::result<void> commit() override { return {}; }
  boost::system::result<std::vector<ib::kafka::PartitionOffset>> committed(
      const std::vector<TopicPartition>&, std::chrono::milliseconds) override {
    return std::vector<ib::kafka::PartitionOffset>{};
  }
  void pause(const std::vector<TopicPartition>& tps) override {
    for (auto& tp : tps) paused.insert(tp);
  }
  void resume(const std::vector<TopicPartition>& tps) override {
    for (auto& tp : tps) paused.erase(tp);
  }
  boost::system::result<void> seek(const TopicPartition&, std::int64_t) override { return {}; }
  std::vector<TopicPartition> assignment() const override { return assigned; }
  std::vector<ib::kafka::PartitionLag> lag() const override { return {}; }
  std::size_t queued() const override { return events.size(); }
  void close() override {}

  void add(std::string topic, std::int32_t partition, std::int64_t offset, std::string value,
           ib::kafka::Headers headers = {}) {
    ib::kafka::Message m;
    m.topic = std::move(topic);
    m.partition = partition;
    m.offset = offset;
    m.value = std::move(value) + "|f";  // PipeCodec: the value is the key, content "f"
    m.headers = std::move(headers);
    events.emplace_back(std::move(m));
  }
};

struct Harness {
  asio::io_context ctx;
  FakeConsumer consumer;
  ib::core::ManualClock clock;
  ib::testing::PipeCodec codec;
  ib::dedup::MemoryDedupStore store{24h, clock};
  ib::testing::ScriptedSender sender;
  ib::testing::FakeProducer producer;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<ConsumerLoop> loop;
  std::optional<std::optional<std::string>> result;

  explicit Harness(ConsumerLoopConfig lc = {}, std::size_t batch_items = 100) {
    PipelineConfig pc;
    pc.batch.linger = 1ms;
    pc.batch.max_items = batch_items;
    PipelineEvents ev;
    ev.done = [this](const InMessage& m, ib::core::Outcome o) { loop->on_done(m, o); };
    ev.fatal = [this](const std::string& r) { loop->fail(r); };
    pipeline = std::make_unique<Pipeline>(ctx.get_executor(), pc,
                                          PipelineParts{codec, store, sender, producer, clock}, ev);
    lc.drain_timeout = 500ms;
    loop = std::make_unique<ConsumerLoop>(lc, consumer, *pipeline, clock);
  }

  void start() {
    asio::co_spawn(ctx, loop->run(), [this](std::exception_ptr e, std::optional<std::string> r) {
      if (e) std::rethrow_exception(e);
      result = r;
    });
  }

  // Lets queued work run for a moment (to show that something does NOT happen).
  void settle() {
    for (int i = 0; i < 50; ++i) ctx.run_for(2ms);
  }

  // Runs the io_context until `pred` holds (bounded).
  template <typename Pred>
  bool run_until(Pred pred) {
    for (int i = 0; i < 2000 && !pred(); ++i) ctx.run_for(2ms);
    return pred();
  }
};

ib::kafka::Headers retry_headers(int attempt, std::int64_t due_ms) {
  ib::kafka::Headers h;
  ib::kafka::RetryHistory history;
  history.attempt = attempt;
  history.due_ms = due_ms;
  history.origin = {"invoices", 0, 1};
  ib::kafka::encode_retry(h, history);
  return h;
}

std::int64_t ms(ib::core::Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

TEST_CASE("offsets are stored as the contiguous watermark of finished messages",
          "[pipeline][consumer_loop][unit]") {
  Harness h({}, 1);  // one invoice per batch, so A, B and C finish independently
  h.sender.slow = {"B"};
  h.consumer.add("invoices", 0, 10, "A");
  h.consumer.add("invoices", 0, 11, "B");
  h.consumer.add("invoices", 0, 12, "C");
  h.start();
  REQUIRE(h.run_until([&] { return h.consumer.stored.count({"invoices", 0}) > 0; }));
  // A is done; B (offset 11) is stuck in flight, so the watermark cannot pass it.
  h.settle();
  CHECK(h.consumer.stored.at({"invoices", 0}) == 11);
  h.sender.gate->cancel();  // B answers now
  REQUIRE(h.run_until([&] { return h.consumer.stored.at({"invoices", 0}) == 13; }));
  h.loop->stop();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  CHECK_FALSE(*h.result);
}

TEST_CASE("retry messages wait until due with their partition paused",
          "[pipeline][consumer_loop][unit]") {
  Harness h;
  const auto now = ms(h.clock.now());
  h.consumer.add("invoices.retry", 0, 0, "R1", retry_headers(1, now - 1));     // due
  h.consumer.add("invoices.retry", 0, 1, "R2", retry_headers(2, now + 2000));  // later
  h.consumer.add("invoices.retry", 0, 2, "R3", retry_headers(1, now + 1000));  // behind R2
  h.consumer.add("invoices", 0, 5, "N1");
  h.start();
  REQUIRE(h.run_until([&] { return h.sender.sent().size() == 2; }));
  h.settle();
  CHECK(h.sender.sent().size() == 2);  // R1 and N1 only
  CHECK(h.loop->held() == 2);
  CHECK(h.consumer.paused.count({"invoices.retry", 0}) == 1);
  CHECK(h.consumer.paused.count({"invoices", 0}) == 0);  // other partitions keep flowing

  h.clock.advance(2000ms);
  REQUIRE(h.run_until([&] { return h.sender.sent().size() == 4; }));
  CHECK(h.loop->held() == 0);
  CHECK(h.consumer.paused.count({"invoices.retry", 0}) == 0);
  REQUIRE(h.run_until([&] { return h.consumer.stored[{"invoices.retry", 0}] == 3; }));
  h.loop->stop();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
}

TEST_CASE("a revoked partition's work is dropped and its offsets are not stored",
          "[pipeline][consumer_loop][unit]") {
  Harness h;
  h.sender.slow = {"A"};
  h.consumer.add("invoices", 1, 0, "A");
  h.start();
  REQUIRE(h.run_until([&] { return h.sender.sent().size() == 1; }));
  ib::kafka::RebalanceEvent ev;
  ev.kind = ib::kafka::RebalanceEvent::Kind::revoked;
  ev.partitions = {{"invoices", 1}};
  h.consumer.revoked.insert({"invoices", 1});
  h.consumer.events.emplace_back(ev);
  h.run_until([&] { return h.consumer.events.empty(); });
  h.sender.gate->cancel();
  h.settle();
  CHECK(h.consumer.stored.count({"invoices", 1}) == 0);
  h.loop->stop();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  CHECK(h.pipeline->backlog() == 0);
}

TEST_CASE("a big backlog pauses every partition until it drains",
          "[pipeline][consumer_loop][unit]") {
  ConsumerLoopConfig lc;
  lc.max_backlog = 10;
  lc.resume_backlog = 5;
  Harness h(lc);
  h.sender.slow = {"K0"};
  for (int i = 0; i < 12; ++i) h.consumer.add("invoices", 0, i, "K" + std::to_string(i));
  h.start();
  // The backlog can fill before the linger timer sends K0's batch: wait for both, the
  // gate exists only once that batch is being sent.
  REQUIRE(h.run_until(
      [&] { return h.consumer.paused.size() == h.consumer.assigned.size() && h.sender.gate != nullptr; }));
  h.sender.gate->cancel();
  REQUIRE(h.run_until([&] { return h.consumer.paused.empty(); }));
  REQUIRE(h.run_until([&] { return h.consumer.stored[{"invoices", 0}] == 12; }));
  h.loop->stop();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
}

TEST_CASE("a fatal consumer error stops the loop with its reason", "[pipeline][consumer_loop][unit]") {
  Harness h;
  h.consumer.events.emplace_back(ib::kafka::ConsumerError{1, "all brokers down", true});
  h.start();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE(*h.result);
  CHECK((*h.result)->find("all brokers down") != std::string::npos);
}

TEST_CASE("an input message with ib-replay-count is sent again; the retry topic's is not a replay",
          "[pipeline][consumer_loop][unit]") {
  Harness h;
  // Every key is already imported, same content.
  std::vector<ib::dedup::ImportedMark> marks;
  for (const char* k : {"REPLAYED", "UPSTREAM-COPY", "ZERO", "RETRY-OF-REPLAY"}) marks.push_back({k, "f", ""});
  REQUIRE(h.store.mark_imported(marks).has_value());
  const auto now = ms(h.clock.now());
  auto replayed_retry = retry_headers(1, now - 1);
  replayed_retry.emplace_back("ib-replay-count", "1");
  h.consumer.add("invoices", 0, 0, "REPLAYED", {{"ib-replay-count", "1"}});
  h.consumer.add("invoices", 0, 1, "UPSTREAM-COPY");
  h.consumer.add("invoices", 0, 2, "ZERO", {{"ib-replay-count", "0"}});
  h.consumer.add("invoices.retry", 0, 0, "RETRY-OF-REPLAY", replayed_retry);
  h.start();
  REQUIRE(h.run_until([&] {
    return h.consumer.stored[{"invoices", 0}] == 3 && h.consumer.stored[{"invoices.retry", 0}] == 1;
  }));
  CHECK(h.sender.sent() == std::vector<std::string>{"REPLAYED"});
  h.loop->stop();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
}

namespace {

// Restores nothing by itself: the test finishes each restore when it wants.
class ManualRestorer : public PartitionRestorer {
public:
  std::map<std::int32_t, std::function<void(std::optional<std::string>)>> running;
  std::vector<std::int32_t> started, cancelled;
  void start(std::int32_t partition, std::function<void(std::optional<std::string>)> done) override {
    started.push_back(partition);
    running[partition] = std::move(done);
  }
  void cancel(std::int32_t partition) override { cancelled.push_back(partition); }
  void finish(std::int32_t partition, std::optional<std::string> error = std::nullopt) {
    auto done = std::move(running.at(partition));
    running.erase(partition);
    done(std::move(error));
  }
};

ib::kafka::RebalanceEvent rebalance(ib::kafka::RebalanceEvent::Kind kind, std::vector<TopicPartition> tps) {
  ib::kafka::RebalanceEvent ev;
  ev.kind = kind;
  ev.partitions = std::move(tps);
  return ev;
}

}  // namespace

TEST_CASE("an assigned input partition is paused and its messages wait until its restore is done",
          "[pipeline][consumer_loop][unit][changelog]") {
  Harness h;
  ManualRestorer restorer;
  h.loop = std::make_unique<ConsumerLoop>(ConsumerLoopConfig{}, h.consumer, *h.pipeline, h.clock, nullptr, &restorer);
  using Kind = ib::kafka::RebalanceEvent::Kind;
  h.consumer.events.emplace_back(
      rebalance(Kind::assigned, {{"invoices", 0}, {"invoices", 1}, {"invoices.retry", 0}}));
  h.consumer.add("invoices", 0, 5, "A");  // fetched before the pause took hold
  h.consumer.add("invoices", 1, 7, "B");
  h.start();
  REQUIRE(h.run_until([&] { return h.consumer.events.empty(); }));
  h.settle();
  CHECK(restorer.started == std::vector<std::int32_t>{0, 1});  // the retry topic has no changelog
  CHECK(h.consumer.paused == std::set<TopicPartition>{{"invoices", 0}, {"invoices", 1}});
  CHECK(h.sender.sent().empty());
  CHECK(h.loop->held() == 2);
  CHECK(h.loop->restoring() == 2);

  restorer.finish(1);
  REQUIRE(h.run_until([&] { return h.consumer.stored.count({"invoices", 1}) > 0; }));
  CHECK(h.sender.sent() == std::vector<std::string>{"B"});
  CHECK(h.consumer.paused == std::set<TopicPartition>{{"invoices", 0}});
  CHECK(h.consumer.stored.at({"invoices", 1}) == 8);

  // Partition 0 is revoked mid-restore: its held message is dropped, the restore cancelled,
  // and its late completion changes nothing.
  h.consumer.revoked.insert({"invoices", 0});
  h.consumer.events.emplace_back(rebalance(Kind::revoked, {{"invoices", 0}}));
  REQUIRE(h.run_until([&] { return h.consumer.events.empty(); }));
  h.settle();
  CHECK(restorer.cancelled == std::vector<std::int32_t>{0});
  restorer.finish(0);
  h.settle();
  CHECK(h.sender.sent() == std::vector<std::string>{"B"});
  CHECK(h.loop->held() == 0);
  CHECK(h.loop->restoring() == 0);
  h.loop->stop();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  CHECK_FALSE(*h.result);
}

TEST_CASE("a failed restore stops the loop with its reason", "[pipeline][consumer_loop][unit][changelog]") {
  Harness h;
  ManualRestorer restorer;
  h.loop = std::make_unique<ConsumerLoop>(ConsumerLoopConfig{}, h.consumer, *h.pipeline, h.clock, nullptr, &restorer);
  h.consumer.events.emplace_back(rebalance(ib::kafka::RebalanceEvent::Kind::assigned, {{"invoices", 2}}));
  h.consumer.add("invoices", 2, 0, "A");
  h.start();
  REQUIRE(h.run_until([&] { return restorer.running.count(2) > 0 && h.consumer.events.empty(); }));
  restorer.finish(2, "broker gone");
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE(*h.result);
  CHECK((*h.result)->find("restore of partition 2 failed: broker gone") != std::string::npos);
  CHECK(h.sender.sent().empty());
  CHECK(h.consumer.stored.empty());
}
