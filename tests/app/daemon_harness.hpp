#pragma once
// Test harness for daemon integration tests: a scripted D365 that answers like Dataverse
// (204 on create, 412 on a second create of a key) with optional faults, plus helpers to
// produce, read topics and run a daemon on its own thread.
#include "app/daemon.hpp"
#include "testing/fake_d365.hpp"
#include "kafka/headers.hpp"
#include "testing/kafka_env.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace ib::testing::daemon {

namespace asio = boost::asio;
using namespace std::chrono_literals;


// Shared record of what the scripted D365 saw; outlives the daemons of a test.
struct D365State {
  std::mutex mutex;
  std::map<std::string, int> creates;  // key -> successful creates (must stay <= 1)
  int requests = 0;
  std::atomic<int> decoded{0};  // payloads decoded by the daemons' codecs
  int fail_first_n = 0;  // answer 503 to the first n invoices sent
  int fail_every = 0;     // answer 503 to every n-th new invoice (deterministic faults)
  bool applied_then_failed = false;  // with fail_every: the create lands, the answer is 503
  bool stop_at_first_error = false;  // Dataverse without continue-on-error: no parts after a failure
  bool always_fail = false;          // every invoice answers 503
  int throttle_every = 0;            // every n-th request answers 429 as a whole
  std::chrono::milliseconds retry_after{200};
  std::set<std::string> reject;      // keys answered 400 (permanent: manual review) while listed
  int sends = 0;
  int throttled = 0;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> sent_at;  // per key

  int created() {
    std::lock_guard l(mutex);
    return static_cast<int>(creates.size());
  }

  // One batch as this model of D365 answers it (PipeCodec: a write's body is its key).
  std::vector<d365::Answer> answer(const std::vector<std::string>& keys) {
    std::lock_guard l(mutex);
    ++requests;
    std::vector<d365::Answer> out;
    if (throttle_every > 0 && requests % throttle_every == 0) {
      ++throttled;
      for (std::size_t k = 0; k < keys.size(); ++k) {
        d365::Answer a;
        a.outcome = core::AnswerClass::throttled;
        a.status = 429;
        a.retry_after = retry_after;
        out.push_back(a);
      }
      return out;
    }
    bool stopped = false;
    for (const auto& key : keys) {
      d365::Answer a;
      if (stopped) {
        a.outcome = core::AnswerClass::not_processed;
        out.push_back(std::move(a));
        continue;
      }
      ++sends;
      sent_at[key].push_back(std::chrono::steady_clock::now());
      const bool fault = always_fail ||
                         (fail_every > 0 && creates.count(key) == 0 && sends % fail_every == 0);
      if (reject.count(key) != 0) {
        a.outcome = core::AnswerClass::permanent;
        a.status = 400;
        a.error = "0x80040203: Invalid value for msdyn_vendoraccount";
        a.body = R"({"error":{"code":"0x80040203","message":"Invalid value for msdyn_vendoraccount"}})";
      } else if (fault) {
        if (applied_then_failed) creates[key]++;  // the write committed, the answer is lost
        a.outcome = core::AnswerClass::transient;
        a.status = 503;
        a.error = "Service Unavailable";
        stopped = stop_at_first_error;
      } else if (fail_first_n > 0) {
        --fail_first_n;
        a.outcome = core::AnswerClass::transient;
        a.status = 503;
        a.error = "Service Unavailable";
      } else if (creates[key]++ == 0) {
        a.outcome = core::AnswerClass::created;
        a.status = 204;
        a.record_id = "guid-" + key;
      } else {
        --creates[key];
        a.outcome = core::AnswerClass::duplicate;
        a.status = 412;
        a.error = "0x80040237";
        stopped = stop_at_first_error;  // Dataverse stops at a failed create too
      }
      out.push_back(std::move(a));
    }
    return out;
  }
};

// The daemon tests' D365 parts: the shared test doubles of tests/support (PipeCodec,
// ScriptedSender), the sender answering every batch from the D365 model above.
inline std::unique_ptr<d365::InvoiceCodec> make_codec(D365State& s) {
  auto codec = std::make_unique<ib::testing::PipeCodec>();
  codec->also_count = &s.decoded;
  return codec;
}
inline std::unique_ptr<d365::Sender> make_sender(D365State& s) {
  auto sender = std::make_unique<ib::testing::ScriptedSender>();
  sender->whole = [&s](const std::vector<std::string>& keys) { return s.answer(keys); };
  return sender;
}

inline void produce_all(const std::string& bootstrap, const std::string& topic,
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
inline std::vector<std::pair<std::string, ib::kafka::Headers>> read_topic(const std::string& bootstrap,
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

inline ib::app::DaemonConfig config_for(const std::string& bootstrap, const std::string& name,
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
inline int run_until(ib::app::DaemonConfig config, D365State& d365, const std::function<bool()>& done,
              std::chrono::seconds limit = 60s) {
  ib::app::Daemon daemon(std::move(config), [&](asio::any_io_executor) {
    ib::app::D365Parts parts;
    parts.codec = make_codec(d365);
    parts.sender = make_sender(d365);
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


// True when the group has committed every partition of `topics` up to its end: every
// message consumed so far has a durable outcome (invariant 1's observable form). Reads the
// group's offsets through the Admin API, so it never joins or disturbs the group.
// The group's committed offsets by (topic, partition), read through the Admin API (never
// joins or disturbs the group); nullopt when the broker does not answer.
using TopicPartitionOffsets = std::map<std::pair<std::string, int>, std::int64_t>;
inline std::optional<TopicPartitionOffsets> committed_offsets(const std::string& bootstrap,
                                                              const std::string& group) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err), &rd_kafka_destroy);
  if (!rk) return std::nullopt;
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(
      rd_kafka_queue_new(rk.get()), &rd_kafka_queue_destroy);
  rd_kafka_ListConsumerGroupOffsets_t* request = rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
  rd_kafka_ListConsumerGroupOffsets(rk.get(), &request, 1, nullptr, queue.get());
  rd_kafka_ListConsumerGroupOffsets_destroy(request);
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> ev(
      rd_kafka_queue_poll(queue.get(), 10000), &rd_kafka_event_destroy);
  if (!ev || rd_kafka_event_error(ev.get())) return std::nullopt;
  const auto* result = rd_kafka_event_ListConsumerGroupOffsets_result(ev.get());
  size_t n = 0;
  const auto** groups = rd_kafka_ListConsumerGroupOffsets_result_groups(result, &n);
  TopicPartitionOffsets committed;
  for (size_t g = 0; g < n; ++g) {
    const auto* parts = rd_kafka_group_result_partitions(groups[g]);
    for (int i = 0; parts && i < parts->cnt; ++i) {
      committed[{parts->elems[i].topic, parts->elems[i].partition}] = parts->elems[i].offset;
    }
  }
  return committed;
}

inline bool all_committed(const std::string& bootstrap, const std::string& group,
                          const std::vector<std::string>& topics) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err), &rd_kafka_destroy);
  if (!rk) return false;
  // Partitions and end offsets of each topic.
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk.get(), 1, nullptr, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  std::map<std::pair<std::string, int>, std::int64_t> ends;
  for (int t = 0; t < md->topic_cnt; ++t) {
    const std::string name = md->topics[t].topic;
    if (std::find(topics.begin(), topics.end(), name) == topics.end()) continue;
    for (int p = 0; p < md->topics[t].partition_cnt; ++p) {
      const int id = md->topics[t].partitions[p].id;
      std::int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk.get(), name.c_str(), id, &low, &high, 5000) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
        return false;
      }
      if (high > low) ends[{name, id}] = high;
    }
  }
  rd_kafka_metadata_destroy(md);
  const auto committed_or = committed_offsets(bootstrap, group);
  if (!committed_or) return false;
  const auto& committed = *committed_or;
  for (const auto& [tp, end] : ends) {
    const auto it = committed.find(tp);
    if (it == committed.end() || it->second < end) return false;
  }
  return true;
}

// GET `url` (http://host:port/path) over a plain socket; the response body, or "" on failure.
inline std::string http_get(const std::string& url) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) return {};
  const auto slash = url.find('/', prefix.size());
  const auto hostport = url.substr(prefix.size(), slash - prefix.size());
  const auto path = slash == std::string::npos ? std::string("/") : url.substr(slash);
  const auto colon = hostport.rfind(':');
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({asio::ip::make_address(hostport.substr(0, colon), ec),
                  static_cast<unsigned short>(std::stoi(hostport.substr(colon + 1)))},
                 ec);
  if (ec) return {};
  const auto request = "GET " + path + " HTTP/1.0\r\nHost: " + hostport + "\r\n\r\n";
  asio::write(socket, asio::buffer(request), ec);
  std::string response;
  char buf[8192];
  for (;;) {
    const auto n = socket.read_some(asio::buffer(buf), ec);
    response.append(buf, n);
    if (ec) break;
  }
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

// The value of one Prometheus series (`name{labels}` exactly as exposed) in `text`; -1 if absent.
inline double metric(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return -1;
}

inline ib::app::D365Factory scripted(D365State& d365) {
  return [&d365](asio::any_io_executor) {
    ib::app::D365Parts parts;
    parts.codec = make_codec(d365);
    parts.sender = make_sender(d365);
    return parts;
  };
}

}  // namespace ib::testing::daemon
