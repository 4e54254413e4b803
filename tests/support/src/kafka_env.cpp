#include "testing/kafka_env.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace ib::testing {

std::string real_kafka_bootstrap() {
  const char* dir = std::getenv("IB_KAFKA_STATE_DIR");
  if (dir == nullptr) {
    throw std::runtime_error(
        "IB_KAFKA_STATE_DIR is not set: run this test through ctest, whose fixture "
        "kafka_broker starts the real broker");
  }
  std::ifstream in(std::string(dir) + "/bootstrap.txt");
  std::string bootstrap;
  if (!(in >> bootstrap)) {
    throw std::runtime_error(std::string("no bootstrap.txt in ") + dir +
                             ": the kafka_broker fixture did not start the broker");
  }
  return bootstrap;
}

std::string unique_topic(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++);
}

}  // namespace ib::testing
