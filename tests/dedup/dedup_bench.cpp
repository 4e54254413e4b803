// dedup_bench: speed and size of RocksDbDedupStore at scale. Not a test; see
// docs/benchmarks.md ("Dedup store") for the command and figures.
//
//   dedup_bench [--keys N] [--batch B] [--lookups L] [--fsync never|periodic|always]
//               [--cache-mib M] [--dir PATH] [--keep]
//
// Phases: load N new keys with mark_pending in batches of B (marks/s), mark_imported on
// N/10 of them (marks/s), then L lookups of absent keys and L of present keys, in batches
// of B through MultiGet (lookups/s). Then bytes on disk per key and VmHWM/VmRSS.
#include "core/clock.hpp"
#include "dedup/rocksdb_dedup_store.hpp"
#include "testing/bench_util.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace ib::dedup;
using Clock = std::chrono::steady_clock;
using ib::testing::bench::proc_status_field;
using ib::testing::bench::seconds_since;

namespace {

// Realistic dedup keys: company | vendor account | invoice number (~30 bytes).
std::string key_of(std::uint64_t n) { return ib::testing::bench::dedup_key(n, 50000); }

std::string fingerprint_of(std::uint64_t n) {
  std::string fp(16, '\0');
  std::uint64_t x = n * 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 16; ++i) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    fp[i] = static_cast<char>(x >> 56);
  }
  return fp;
}

std::uint64_t dir_bytes(const std::filesystem::path& p) {
  std::uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

[[noreturn]] void die(const StoreError& e) {
  std::fprintf(stderr, "dedup_bench: %s\n", e.message.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t keys = 1'000'000;
  std::size_t batch = 100;
  std::uint64_t lookups = 2'000'000;
  std::uint64_t cache_mib = 64;
  std::string fsync = "periodic";
  std::filesystem::path dir;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dedup_bench: %s needs a value\n", a.c_str());
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--keys") keys = std::stoull(next());
    else if (a == "--batch") batch = std::stoull(next());
    else if (a == "--lookups") lookups = std::stoull(next());
    else if (a == "--cache-mib") cache_mib = std::stoull(next());
    else if (a == "--fsync") fsync = next();
    else if (a == "--dir") dir = next();
    else if (a == "--keep") keep = true;
    else {
      std::fprintf(stderr, "usage: %s [--keys N] [--batch B] [--lookups L] [--fsync never|periodic|always] "
                           "[--cache-mib M] [--dir PATH] [--keep]\n", argv[0]);
      return 64;
    }
  }
  const bool own_dir = dir.empty();
  if (own_dir) dir = std::filesystem::temp_directory_path() / ("dedup-bench-" + std::to_string(::getpid()));

  DedupConfig config;
  config.path = dir;
  config.block_cache_bytes = cache_mib << 20;
  auto policy = parse_fsync_policy(fsync);
  if (!policy) {
    std::fprintf(stderr, "dedup_bench: unknown fsync policy %s\n", fsync.c_str());
    return 64;
  }
  config.fsync = *policy;
  auto opened = RocksDbDedupStore::open(config, ib::core::system_clock());
  if (!opened) die(opened.error());
  auto& store = **opened;

  std::printf("dedup_bench: %llu keys, batch %zu, fsync %s, block cache %llu MiB, dir %s\n",
              static_cast<unsigned long long>(keys), batch, fsync.c_str(),
              static_cast<unsigned long long>(cache_mib), dir.c_str());

  // 1. mark_pending of new keys.
  std::vector<PendingMark> pmarks;
  auto t = Clock::now();
  for (std::uint64_t n = 0; n < keys; n += batch) {
    pmarks.clear();
    for (std::uint64_t k = n; k < std::min<std::uint64_t>(n + batch, keys); ++k) {
      pmarks.push_back({key_of(k), fingerprint_of(k), 1});
    }
    if (auto r = store.mark_pending(pmarks); !r) die(r.error());
  }
  double s = seconds_since(t);
  std::printf("mark_pending (new keys):   %10.0f marks/s  (%.1f s)\n", static_cast<double>(keys) / s, s);

  // 2. mark_imported of a tenth of them (update of existing keys).
  std::vector<ImportedMark> imarks;
  const std::uint64_t updates = std::max<std::uint64_t>(keys / 10, batch);
  std::mt19937_64 rng(42);
  t = Clock::now();
  for (std::uint64_t n = 0; n < updates; n += batch) {
    imarks.clear();
    for (std::size_t i = 0; i < batch; ++i) {
      const auto k = rng() % keys;
      imarks.push_back({key_of(k), fingerprint_of(k), "3fa85f64-5717-4562-b3fc-2c963f66afa6"});
    }
    if (auto r = store.mark_imported(imarks); !r) die(r.error());
  }
  s = seconds_since(t);
  std::printf("mark_imported (existing):  %10.0f marks/s  (%.1f s)\n", static_cast<double>(updates) / s, s);

  // 3. Lookups through MultiGet, absent then present keys.
  std::vector<std::string> batch_keys(batch);
  for (int present = 0; present < 2; ++present) {
    std::uint64_t found = 0;
    t = Clock::now();
    for (std::uint64_t n = 0; n < lookups; n += batch) {
      for (auto& k : batch_keys) {
        const auto r = rng() % keys;
        k = key_of(present ? r : keys + r);
      }
      auto r = store.lookup(batch_keys);
      if (!r) die(r.error());
      for (const auto& e : *r) found += e.has_value();
    }
    s = seconds_since(t);
    std::printf("lookup %-8s keys:        %10.0f lookups/s  (%.1f s, %llu found)\n", present ? "present" : "absent",
                static_cast<double>(lookups) / s, s, static_cast<unsigned long long>(found));
  }

  // 4. Size.
  if (auto r = store.sync(); !r) die(r.error());
  auto stats = store.stats();
  if (!stats) die(stats.error());
  const auto on_disk = dir_bytes(dir);
  std::printf("disk: %.1f MiB in the directory, %.1f bytes/key (table files %.1f bytes/key), "
              "estimated keys %llu\n",
              static_cast<double>(on_disk) / (1 << 20), static_cast<double>(on_disk) / static_cast<double>(keys),
              static_cast<double>(stats->disk_bytes) / static_cast<double>(keys),
              static_cast<unsigned long long>(stats->estimated_keys));
  std::printf("memory: VmHWM %s, VmRSS %s, block cache in use %.1f MiB\n", proc_status_field("VmHWM:").c_str(),
              proc_status_field("VmRSS:").c_str(), static_cast<double>(stats->block_cache_bytes) / (1 << 20));

  opened->reset();
  if (own_dir && !keep) std::filesystem::remove_all(dir);
  return 0;
}
