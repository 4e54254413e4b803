#include "dedup/dedup_config.hpp"

namespace ib::dedup {

std::string_view to_string(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::never: return "never";
    case FsyncPolicy::periodic: return "periodic";
    case FsyncPolicy::always: return "always";
  }
  return "unknown";
}

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view name) {
  for (auto p : {FsyncPolicy::never, FsyncPolicy::periodic, FsyncPolicy::always}) {
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

std::vector<std::string> fsync_policy_names() { return {"never", "periodic", "always"}; }

std::vector<std::string> DedupConfig::validate() const {
  using namespace std::chrono_literals;
  std::vector<std::string> problems;
  if (path.empty()) problems.push_back("dedup.path: must be set (a directory for the store)");
  if (ttl < 1s) problems.push_back("dedup.ttl: must be at least 1s");
  if (ttl > std::chrono::hours(24 * 3650)) problems.push_back("dedup.ttl: must be at most 3650d");
  if (block_cache_bytes < (1ull << 20)) problems.push_back("dedup.block_cache_bytes: must be at least 1MiB");
  if (write_buffer_bytes < (1ull << 20) || write_buffer_bytes > (1ull << 30)) {
    problems.push_back("dedup.write_buffer_bytes: must be between 1MiB and 1GiB");
  }
  if (bloom_bits_per_key < 1 || bloom_bits_per_key > 30) {
    problems.push_back("dedup.bloom_bits_per_key: must be between 1 and 30");
  }
  if (fsync == FsyncPolicy::periodic && fsync_interval <= 0ms) {
    problems.push_back("dedup.fsync_interval: must be positive with fsync: periodic");
  }
  if (max_background_jobs < 1 || max_background_jobs > 64) {
    problems.push_back("dedup.max_background_jobs: must be between 1 and 64");
  }
  return problems;
}

}  // namespace ib::dedup
