#pragma once

#include "core/clock.hpp"
#include "dedup/memory_dedup_store.hpp"
#include "dedup/rocksdb_dedup_store.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

namespace ib::dedup::test {

inline constexpr std::chrono::milliseconds kTtl = std::chrono::hours(24 * 7);

struct MemoryFixture {
  core::ManualClock clock;
  std::unique_ptr<DedupStore> store = std::make_unique<MemoryDedupStore>(kTtl, clock);
};

inline DedupConfig small_config(const std::filesystem::path& path) {
  DedupConfig c;
  c.path = path;
  c.ttl = kTtl;
  c.block_cache_bytes = 8ull << 20;
  c.write_buffer_bytes = 4ull << 20;
  c.fsync = FsyncPolicy::never;
  return c;
}

struct RocksFixture {
  testing::TempDir dir{"ib-dedup"};
  core::ManualClock clock;
  std::unique_ptr<DedupStore> store;

  RocksFixture() { reopen(); }
  void reopen() {
    store.reset();
    auto r = RocksDbDedupStore::open(small_config(dir.path() / "db"), clock);
    if (!r) FAIL(r.error().message);
    store = std::move(*r);
  }
};

}  // namespace ib::dedup::test

// Catch2 would print a Result through boost's operator<<, which needs operator<< for T and
// the error: print "value" or the error's message instead.
namespace Catch {
template <typename T>
struct StringMaker<boost::system::result<T, ib::dedup::StoreError>> {
  static std::string convert(const boost::system::result<T, ib::dedup::StoreError>& r) {
    return r ? std::string("value") : "error: " + r.error().message;
  }
};
}  // namespace Catch
