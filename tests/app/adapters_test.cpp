// Unit tests of the adapters between the real modules and the pipeline's ports.
#include "app/dedup_store_port.hpp"
#include "app/kafka_publish_port.hpp"
#include "dedup/memory_dedup_store.hpp"
#include "kafka/headers.hpp"
#include "testing/run_coro.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

class FakeProducer : public ib::kafka::Producer {
public:
  std::vector<ib::kafka::OutgoingMessage> sent;
  boost::system::error_code fail_with;

  void produce(ib::kafka::OutgoingMessage m, ib::kafka::DeliveryCallback cb) override {
    ib::kafka::DeliveryReport r;
    r.topic = m.topic;
    r.error = fail_with;
    if (!fail_with) {
      r.partition = 0;
      r.offset = static_cast<std::int64_t>(sent.size());
    }
    sent.push_back(std::move(m));
    cb(r);
  }
  bool flush(std::chrono::milliseconds) override { return true; }
  std::int64_t in_flight() const override { return 0; }
};

ib::pipeline::InMessage input(std::string topic = "invoices", std::int64_t offset = 42) {
  ib::pipeline::InMessage m;
  m.topic = std::move(topic);
  m.partition = 3;
  m.offset = offset;
  m.key = "ACME|V1|INV-1";
  m.value = R"({"invoice_number":"INV-1"})";
  m.headers = {{"traceparent", "00-abc-def-01"}};
  return m;
}

}  // namespace

TEST_CASE("the store port maps states and batches onto the dedup store", "[app][unit]") {
  ib::core::ManualClock clock;
  ib::dedup::MemoryDedupStore store(24h, clock);
  ib::app::DedupStorePort port(store);

  REQUIRE_FALSE(port.mark_pending({{"a", "fa", 0}, {"b", "fb", 2}}));
  REQUIRE_FALSE(port.mark_imported({{"b", "fb", "guid-b"}}));
  port.record_duplicates({"b", "b", "absent"});

  auto found = port.lookup({"a", "b", "c"});
  REQUIRE(std::holds_alternative<std::vector<ib::pipeline::StoreEntry>>(found));
  const auto& e = std::get<std::vector<ib::pipeline::StoreEntry>>(found);
  CHECK(e[0].state == ib::pipeline::StoreState::pending);
  CHECK(e[0].fingerprint == "fa");
  CHECK(e[1].state == ib::pipeline::StoreState::imported);
  CHECK(e[2].state == ib::pipeline::StoreState::absent);
  const auto b = store.get("b").value();
  REQUIRE(b.has_value());
  CHECK(b->record_id == "guid-b");
  CHECK(b->attempt == 3);  // pipeline attempt 2 = third send
  CHECK(b->duplicates == 2);

  store.fail_next(ib::dedup::StoreErrc::no_space);
  const auto err = port.mark_pending({{"c", "fc", 0}});
  REQUIRE(err);
  CHECK(err->find("no") != std::string::npos);
  store.fail_next(ib::dedup::StoreErrc::corruption);
  CHECK(std::holds_alternative<std::string>(port.lookup({"a"})));
}

TEST_CASE("a retry message keeps payload, key and other headers, and carries its history",
          "[app][unit]") {
  FakeProducer producer;
  ib::app::KafkaPublishPort port(producer, "invoices.retry", "invoices.review");
  const auto due = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'004'000));
  const auto error = ib::testing::run_coro([&](asio::io_context&) {
    return port.to_retry(input(), {1, due, 503, "Service Unavailable"});
  });
  CHECK_FALSE(error);
  REQUIRE(producer.sent.size() == 1);
  const auto& m = producer.sent[0];
  CHECK(m.topic == "invoices.retry");
  CHECK(m.key == "ACME|V1|INV-1");
  CHECK(m.value == R"({"invoice_number":"INV-1"})");
  CHECK(ib::kafka::find_header(m.headers, "traceparent") == "00-abc-def-01");
  const auto h = ib::kafka::decode_retry(m.headers);
  REQUIRE(h.has_value());
  CHECK(h->attempt == 1);
  CHECK(h->due_ms == 1'700'000'004'000);
  CHECK(h->last_status == 503);
  CHECK(h->origin == ib::kafka::Origin{"invoices", 3, 42});

  // Second retry from the retry topic: the origin stays the input topic's.
  auto again = input("invoices.retry", 7);
  again.headers = m.headers;
  ib::testing::run_coro([&](asio::io_context&) {
    return port.to_retry(again, {2, due, 500, "boom"});
  });
  const auto h2 = ib::kafka::decode_retry(producer.sent.at(1).headers);
  REQUIRE(h2.has_value());
  CHECK(h2->attempt == 2);
  CHECK(h2->origin == ib::kafka::Origin{"invoices", 3, 42});
}

TEST_CASE("a review message carries reason, D365 answer and retry history", "[app][unit]") {
  FakeProducer producer;
  ib::app::KafkaPublishPort port(producer, "invoices.retry", "invoices.review");
  auto retried = input("invoices.retry", 9);
  ib::kafka::RetryHistory history;
  history.attempt = 3;
  history.origin = {"invoices", 3, 42};
  ib::kafka::encode_retry(retried.headers, history);
  ib::testing::run_coro([&](asio::io_context&) {
    return port.to_review(retried, {ib::pipeline::ReviewReason::exhausted, 503, "Service Unavailable",
                                    R"({"error":{"code":"0x0"}})", 4});
  });
  REQUIRE(producer.sent.size() == 1);
  CHECK(producer.sent[0].topic == "invoices.review");
  const auto info = ib::kafka::decode_review(producer.sent[0].headers);
  REQUIRE(info.has_value());
  CHECK(info->reason == ib::kafka::ReviewReason::exhausted);
  CHECK(info->d365_status == 503);
  CHECK(info->d365_error.find("0x0") != std::string::npos);
  CHECK(info->origin == ib::kafka::Origin{"invoices", 3, 42});
  REQUIRE(info->retry);
  // Every attempt made, the last one included, and that attempt's answer.
  CHECK(info->retry->attempt == 4);
  CHECK(info->retry->last_status == 503);
  CHECK(info->retry->last_error == "Service Unavailable");
}

TEST_CASE("a failed delivery is reported, never swallowed", "[app][unit]") {
  FakeProducer producer;
  producer.fail_with = boost::system::error_code(ETIMEDOUT, boost::system::generic_category());
  ib::app::KafkaPublishPort port(producer, "r", "v");
  const auto error = ib::testing::run_coro([&](asio::io_context&) {
    return port.to_review(input(), {ib::pipeline::ReviewReason::invalid, 0, "not JSON", "", 0});
  });
  REQUIRE(error);
  CHECK(error->find("produce to v failed") != std::string::npos);
}
