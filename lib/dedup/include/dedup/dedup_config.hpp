#pragma once

#include "config/config_source.hpp"
#include "config/host_checks.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ib::dedup {

/// When the write-ahead log is fsynced. Every policy writes the WAL to the OS before a
/// write returns, so a process crash (SIGKILL, abort) never loses an acknowledged write;
/// the policies differ only for an OS crash or power loss.
enum class FsyncPolicy {
  /// Never fsync explicitly (the OS flushes when it likes, typically within ~30 s).
  /// Fastest. A power loss can lose recent marks: a lost `pending` may lead to a resend
  /// that D365 answers with a conflict (counted as recovered); a lost `imported` costs one
  /// API call for the next copy. D365 stays the ground truth, so nothing is created twice.
  never,
  /// fsync the WAL from the writing thread when `fsync_interval` has passed since the last
  /// fsync. A power loss loses at most about one interval of marks. The default.
  periodic,
  /// fsync the WAL on every write batch (WriteOptions::sync). Nothing acknowledged is lost,
  /// even on power loss; each batch costs one fsync (milliseconds on ordinary disks).
  always,
};

std::string_view to_string(FsyncPolicy policy);
/// "never" | "periodic" | "always"; nullopt for anything else.
std::optional<FsyncPolicy> parse_fsync_policy(std::string_view name);
/// The names parse_fsync_policy accepts, for ConfigSource::read_enum.
std::vector<std::string> fsync_policy_names();

/// Configuration of the dedup store (config keys under `dedup.`).
struct DedupConfig {
  /// Directory of the RocksDB database; created if missing. One process at a time.
  std::filesystem::path path;
  /// How long an entry lives after it was last written or sighted; older entries read as absent.
  std::chrono::milliseconds ttl = std::chrono::hours(24 * 7);
  /// Shared LRU block cache for data, index and filter blocks, in bytes.
  std::uint64_t block_cache_bytes = 64ull << 20;
  /// Size of one memtable (write buffer) before it is flushed to disk, in bytes.
  std::uint64_t write_buffer_bytes = 32ull << 20;
  /// Bloom filter bits per key (10 gives ~1% false positives: a disk read for 1 absent key in 100).
  int bloom_bits_per_key = 10;
  /// When the write-ahead log is fsynced; see FsyncPolicy for what each choice risks.
  FsyncPolicy fsync = FsyncPolicy::periodic;
  /// With FsyncPolicy::periodic: the longest time between two fsyncs while writes come in.
  std::chrono::milliseconds fsync_interval{1000};
  /// RocksDB background threads for flushes and compactions.
  int max_background_jobs = 2;
  /// `dedup.changelog`: the daemon writes every store change to the changelog topic
  /// (`kafka.topics.changelog`) and restores a partition's state from it when the
  /// partition is assigned, so state follows partitions across a consumer group. Off
  /// only for a single member that never shares its group.
  bool changelog = true;

  /// Reads every `dedup.` key from `source` (problems land in the source).
  void load(config::ConfigSource& source);
  /// Every problem, each naming its key (`dedup.ttl: ...`); empty when valid.
  std::vector<std::string> validate() const;
  /// What opening the store needs from this host, checked without creating or changing
  /// anything: `path` is a writable directory that is empty or holds a RocksDB database (a
  /// `CURRENT` file), or does not exist and its parent is a writable directory. A missing
  /// parent is a problem although the store could create it: a misspelt path would
  /// otherwise start an empty store and forget every key. Messages start with
  /// `source.describe("dedup.path")`.
  config::HostFindings check_host(const config::ConfigSource& source) const;
};

/// check_host()'s test of the store directory, each message starting with `what`.
config::HostFindings check_store_path(std::string_view what, const std::filesystem::path& path);

}  // namespace ib::dedup
