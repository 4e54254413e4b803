#include "batch/batcher.hpp"

namespace ib::batch {

std::vector<std::string> BatcherConfig::validate(std::size_t server_max_items) const {
  std::vector<std::string> problems;
  if (max_items < 1) problems.push_back("batch.max_items must be at least 1");
  if (max_items > server_max_items) {
    problems.push_back("batch.max_items must not exceed the server's limit of " +
                       std::to_string(server_max_items) + " requests per batch, got " +
                       std::to_string(max_items));
  }
  if (max_bytes < 1024) problems.push_back("batch.max_bytes must be at least 1KiB");
  if (linger.count() < 0) problems.push_back("batch.linger must not be negative");
  return problems;
}

}  // namespace ib::batch
