// Helper process for dedup_rocksdb_test (own main, no Catch2).
//   dedup_test_helper write DIR FIRST_BATCH BATCH_SIZE
//     writes batch FIRST_BATCH, FIRST_BATCH+1, ... (up to 1,000,000 batches) and prints each
//     batch number on stdout once its write returned; the test kills it with SIGKILL.
//   dedup_test_helper open DIR
//     tries to open the store: exit 0 (opened), 3 (in use, message on stdout), 2 (other error).
#include "core/log.hpp"
#include "crash_batches.hpp"
#include "dedup/rocksdb_dedup_store.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace ib::dedup;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s write DIR FIRST BATCH_SIZE | open DIR\n", argv[0]);
    return 64;
  }
  // Log lines (e.g. "creating a new dedup store") to stderr: stdout is the test's channel.
  ib::log::setup(ib::log::Format::text, ib::log::Level::warn);
  const std::string mode = argv[1];
  DedupConfig config;
  config.path = argv[2];
  config.block_cache_bytes = 8ull << 20;
  config.write_buffer_bytes = 1ull << 20;  // small: flushes and compactions happen during the test
  config.fsync = FsyncPolicy::never;
  auto store = RocksDbDedupStore::open(config, ib::core::system_clock());
  if (!store) {
    std::printf("%s\n", store.error().message.c_str());
    return store.error().code == StoreErrc::in_use ? 3 : 2;
  }
  if (mode == "open") {
    std::printf("opened\n");
    return 0;
  }
  if (mode != "write" || argc < 5) return 64;
  const long first = std::atol(argv[3]);
  const int size = std::atoi(argv[4]);
  for (long b = first; b < first + 1'000'000; ++b) {
    auto r = ib::dedup::test::write_crash_batch(**store, b, size);
    if (!r) {
      std::fprintf(stderr, "batch %ld: %s\n", b, r.error().message.c_str());
      return 2;
    }
    std::printf("%ld\n", b);
    std::fflush(stdout);
  }
  return 0;
}
