// Integration: with the JSON log format, every line on stderr is ours. Runs every librdkafka
// client lib/kafka makes (consumer, producer, admin, topic reader, mock cluster) against a
// closed loopback port, so librdkafka logs its connection errors, and makes libprotobuf log a
// parse error; stderr is captured in a file (dup2) and every line must be one JSON object of
// our logger, librdkafka's and libprotobuf's lines included, with their levels mapped.
#include "core/log.hpp"
#include "invoice/protobuf_log.hpp"
#include "kafka/admin.hpp"
#include "kafka/mock_cluster.hpp"
#include "kafka/rdkafka_consumer.hpp"
#include "kafka/rdkafka_producer.hpp"
#include "kafka/topic_reader.hpp"
#include "testing/free_port.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using namespace ib;

namespace {

// Sends fd 2 to `path` while alive.
class StderrToFile {
public:
  explicit StderrToFile(const std::filesystem::path& path) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrToFile() {
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
  }

private:
  int saved_ = -1;
};

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("JSON log format: librdkafka's and libprotobuf's lines come out as our JSON lines",
          "[kafka][log][integration]") {
  ib::testing::TempDir dir;
  const auto captured = dir.path() / "stderr.log";
  const std::string closed = "127.0.0.1:" + std::to_string(ib::testing::free_port());
  log::setup(log::Format::json, log::Level::info);
  invoice::route_protobuf_logs();
  {
    StderrToFile redirect(captured);
    log::info("log routing test starts");
    {
      kafka::ConsumerConfig cc;
      cc.bootstrap_servers = closed;
      cc.group_id = "log-routing-test";
      cc.topics = {"log-routing"};
      cc.close_timeout = 1s;
      kafka::RdKafkaConsumer consumer(cc);
      kafka::ProducerConfig pc;
      pc.bootstrap_servers = closed;
      pc.delivery_timeout = 1s;
      pc.close_timeout = 1s;
      kafka::RdKafkaProducer producer(pc);
      producer.produce({"log-routing", "k", "v", {}, -1}, [](const kafka::DeliveryReport&) {});
      // Every librdkafka client logs "Connect to ipv4#127.0.0.1:PORT failed: Connection
      // refused" at error level, with log_level and debug at their defaults.
      const auto deadline = std::chrono::steady_clock::now() + 30s;
      while (read_all(captured).find("rdkafka#producer") == std::string::npos &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
      }
      (void)kafka::ensure_topics({{"bootstrap.servers", closed}}, {{"log-routing", 1, 1, {}}}, 1s);
      kafka::TopicReadOptions ro;
      ro.properties = {{"bootstrap.servers", closed}, {"log_level", "7"}};
      ro.timeout = 1s;
      (void)kafka::read_topic_snapshot("log-routing", ro);
      kafka::MockCluster cluster(1);
      cluster.create_topic("log-routing", 1);
    }
    google::protobuf::Duration d;
    CHECK_FALSE(google::protobuf::TextFormat::ParseFromString("not a duration {", &d));
    log::info("log routing test ends");
  }

  const auto text = read_all(captured);
  INFO(text);
  std::istringstream lines(text);
  int count = 0;
  std::set<std::string> clients;
  bool refused = false, protobuf = false;
  const std::set<std::string> levels{"trace", "debug", "info", "warning", "error", "critical"};
  for (std::string line; std::getline(lines, line);) {
    ++count;
    INFO(line);
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(value.is_object());
    const auto& o = value.as_object();
    REQUIRE(o.contains("ts"));
    REQUIRE(o.contains("level"));
    REQUIRE(o.contains("msg"));
    CHECK(levels.count(std::string(o.at("level").as_string())) == 1);
    const auto* source = o.if_contains("source");
    if (source && source->as_string() == "librdkafka") {
      CHECK(o.contains("facility"));
      const std::string client(o.at("client").as_string());
      clients.insert(client.substr(0, client.find('-')));
      const std::string msg(o.at("msg").as_string());
      if (msg.find("Connection refused") != std::string::npos) {
        refused = true;
        CHECK(o.at("level").as_string() == "error");  // syslog 3
      }
    }
    if (source && source->as_string() == "libprotobuf") {
      protobuf = true;
      CHECK(o.at("level").as_string() == "error");
      CHECK(o.contains("file"));
    }
  }
  CHECK(count >= 4);
  CHECK(refused);
  CHECK(protobuf);
  // The consumer, the producer, the admin client and the topic reader all logged through us.
  CHECK(clients.count("rdkafka#consumer") == 1);
  CHECK(clients.count("rdkafka#producer") == 1);
}
