// Integration: the daemon against the real Kafka broker and a real RocksDB store, with a
// scripted D365 (answers like Dataverse: 204 on create, 412 on a second create of a key).
#include "app/daemon.hpp"
#include "kafka/headers.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace ib::pipeline;

namespace {

// Shared record of what the scripted D365 saw; outlives the daemons of a test.
struct D365State {
  std::mutex mutex;
  std::map<std::string, int> creates;  // key -> successful creates (must stay <= 1)
  int requests = 0;
  int decoded = 0;
  int fail_first_n = 0;  // answer 503 to the first n invoices sent

  int created() {
    std::lock_guard l(mutex);
    return static_cast<int>(creates.size());
  }
};

class Codec : public InvoiceCodec {
public:
  explicit Codec(D365State& s) : s_(s) {}
  std::variant<Decoded, std::string> decode(const InMessage& m) override {
    {
      std::lock_guard l(s_.mutex);
      ++s_.decoded;
    }
    const auto bar = m.value.rfind('|');  // keys contain '|' too; the fingerprint is last
    if (bar == std::string::npos) return std::string("not an invoice");
    Decoded d;
    d.dedup_key = m.value.substr(0, bar);
    d.fingerprint = m.value.substr(bar + 1);
    d.invoice = std::make_shared<const std::string>(d.dedup_key);
    d.bytes = m.value.size();
    return d;
  }

private:
  D365State& s_;
};

class Sender : public SendPort {
public:
  explicit Sender(D365State& s) : s_(s) {}
  asio::awaitable<std::vector<SendAnswer>> send(std::vector<std::shared_ptr<const void>> inv) override {
    std::lock_guard l(s_.mutex);
    ++s_.requests;
    std::vector<SendAnswer> out;
    for (const auto& i : inv) {
      const auto& key = *static_cast<const std::string*>(i.get());
      SendAnswer a;
      if (s_.fail_first_n > 0) {
        --s_.fail_first_n;
        a.result = SendResult::transient;
        a.status = 503;
        a.error = "Service Unavailable";
      } else if (s_.creates[key]++ == 0) {
        a.result = SendResult::created;
        a.status = 204;
        a.record_id = "guid-" + key;
      } else {
        --s_.creates[key];
        a.result = SendResult::duplicate;
        a.status = 412;
        a.error = "0x80040237";
      }
      out.push_back(std::move(a));
    }
    co_return out;
  }

private:
  D365State& s_;
};

void produce_all(const std::string& bootstrap, const std::string& topic,
                 const std::vector<std::pair<std::string, std::string>>& records) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  REQUIRE(p);
  for (const auto& [key, value] : records) {
    REQUIRE(p->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                       const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0,
                       nullptr) == RdKafka::ERR_NO_ERROR);
  }
  REQUIRE(p->flush(30000) == RdKafka::ERR_NO_ERROR);
}

// Every message of `topic` with its headers, read from the start by a throwaway group.
std::vector<std::pair<std::string, ib::kafka::Headers>> read_topic(const std::string& bootstrap,
                                                                   const std::string& topic,
                                                                   std::size_t expected) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", bootstrap, err);
  conf->set("group.id", topic + "-reader-" + std::to_string(std::rand()), err);
  conf->set("auto.offset.reset", "earliest", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  REQUIRE(c);
  c->subscribe({topic});
  std::vector<std::pair<std::string, ib::kafka::Headers>> out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  int quiet = 0;
  while (std::chrono::steady_clock::now() < deadline && (out.size() < expected || quiet < 4)) {
    std::unique_ptr<RdKafka::Message> m(c->consume(250));
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      if (out.size() >= expected) ++quiet;
      continue;
    }
    ib::kafka::Headers headers;
    if (auto* h = m->headers()) {
      for (const auto& hd : h->get_all()) {
        headers.emplace_back(hd.key(), std::string(static_cast<const char*>(hd.value()), hd.value_size()));
      }
    }
    out.emplace_back(std::string(static_cast<const char*>(m->payload()), m->len()), headers);
  }
  c->close();
  return out;
}

ib::app::DaemonConfig config_for(const std::string& bootstrap, const std::string& name,
                                 const std::filesystem::path& dedup_dir) {
  ib::app::DaemonConfig c;
  c.consumer.bootstrap_servers = c.producer.bootstrap_servers = bootstrap;
  c.consumer.group_id = name + "-group";
  c.topics.input = name;
  c.topics.retry = name + ".retry";
  c.topics.review = name + ".review";
  c.consumer.topics = {c.topics.input, c.topics.retry};
  c.consumer.session_timeout = 10s;
  c.loop.retry_topic = c.topics.retry;
  c.loop.drain_timeout = 10s;
  c.dedup.path = dedup_dir;
  c.metrics.address = "127.0.0.1";
  c.metrics.port = 0;
  c.pipeline.batch.linger = 10ms;
  c.pipeline.backoff.initial = 200ms;  // short retry delays keep the test quick
  c.pipeline.backoff.max_delay = 1s;
  return c;
}

// Runs a daemon on its own thread until `done()` holds (bounded), then stops it.
int run_until(ib::app::DaemonConfig config, D365State& d365, const std::function<bool()>& done,
              std::chrono::seconds limit = 60s) {
  ib::app::Daemon daemon(std::move(config), [&](asio::any_io_executor) {
    ib::app::D365Parts parts;
    parts.codec = std::make_unique<Codec>(d365);
    parts.sender = std::make_unique<Sender>(d365);
    return parts;
  });
  int rc = -1;
  std::thread t([&] { rc = daemon.run(false); });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  daemon.request_stop();
  t.join();
  return rc;
}

}  // namespace

TEST_CASE("the daemon imports every unique invoice once, reviews poison pills, commits offsets",
          "[app][daemon][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-e2e");
  ib::testing::TempDir dir;

  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 300; ++i) {
    const auto key = "V1|INV-" + std::to_string(i);
    records.emplace_back(key, key + "|fp");
    if (i % 5 == 0) records.emplace_back(key, key + "|fp");  // upstream duplicate, same content
  }
  for (int i = 0; i < 6; ++i) records.emplace_back("poison", "garbage without separator");
  produce_all(bootstrap, name, records);

  D365State d365;
  d365.fail_first_n = 20;  // some transient failures go through the retry topic
  const auto rc = run_until(config_for(bootstrap, name, dir.path()), d365,
                            [&] { return d365.created() == 300; });
  CHECK(rc == 0);
  {
    std::lock_guard l(d365.mutex);
    REQUIRE(d365.creates.size() == 300);
    for (const auto& [key, n] : d365.creates) CHECK(n == 1);
  }
  const auto review = read_topic(bootstrap, name + ".review", 6);
  REQUIRE(review.size() == 6);
  for (const auto& [value, headers] : review) {
    CHECK(value == "garbage without separator");
    CHECK(ib::kafka::find_header(headers, "ib-review-reason") == "invalid");
  }

  // A restart with the same group and store consumes nothing again: offsets were committed.
  const int decoded_before = [&] {
    std::lock_guard l(d365.mutex);
    return d365.decoded;
  }();
  const auto started = std::chrono::steady_clock::now();
  const auto rc2 = run_until(config_for(bootstrap, name, dir.path()), d365,
                             [&] { return std::chrono::steady_clock::now() - started > 8s; });
  CHECK(rc2 == 0);
  std::lock_guard l(d365.mutex);
  CHECK(d365.decoded == decoded_before);
}

TEST_CASE("a second daemon on the same dedup store refuses to start", "[app][daemon][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("daemon-lock");
  ib::testing::TempDir dir;
  D365State d365;
  ib::app::Daemon first(config_for(bootstrap, name, dir.path()), [&](asio::any_io_executor) {
    return ib::app::D365Parts{std::make_unique<Codec>(d365), std::make_unique<Sender>(d365)};
  });
  int rc1 = -1;
  std::thread t([&] { rc1 = first.run(false); });
  while (first.metrics_url().empty()) std::this_thread::sleep_for(20ms);

  ib::app::Daemon second(config_for(bootstrap, name, dir.path()), [&](asio::any_io_executor) {
    return ib::app::D365Parts{std::make_unique<Codec>(d365), std::make_unique<Sender>(d365)};
  });
  CHECK(second.run(false) == 2);
  first.request_stop();
  t.join();
  CHECK(rc1 == 0);
}
