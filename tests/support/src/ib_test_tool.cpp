// Helper binary for test scripts:
//   ib_test_tool free-ports N               print N free loopback TCP ports
//   ib_test_tool kafka-ready BOOTSTRAP SEC  exit 0 once a broker answers a metadata request
#include "testing/free_port.hpp"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>

namespace {

int free_ports(int n) {
  std::set<std::uint16_t> ports;
  while (static_cast<int>(ports.size()) < n) ports.insert(ib::testing::free_port());
  for (auto p : ports) std::printf("%u ", p);
  std::printf("\n");
  return 0;
}

int kafka_ready(const std::string& bootstrap, int seconds) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err), &rd_kafka_destroy);
  if (!rk) {
    std::fprintf(stderr, "kafka-ready: %s\n", err);
    return 1;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk.get(), 1, nullptr, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const int brokers = md->broker_cnt;
      rd_kafka_metadata_destroy(md);
      if (brokers > 0) return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::fprintf(stderr, "kafka-ready: %s did not answer within %d s\n", bootstrap.c_str(),
               seconds);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "free-ports" && argc == 3) return free_ports(std::atoi(argv[2]));
  if (cmd == "kafka-ready" && argc == 4) return kafka_ready(argv[2], std::atoi(argv[3]));
  std::fprintf(stderr, "usage: ib_test_tool free-ports N | kafka-ready BOOTSTRAP SECONDS\n");
  return 2;
}
