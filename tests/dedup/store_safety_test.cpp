// RocksDB-only: what open() does with a directory that is not a healthy store (refused,
// every time, nothing in it changed), how a new store is created (logged), and a full
// file system (errors as values, no abort, every acknowledged entry there after space is
// freed). Real RocksDB on disk; the full file system is a 16 MiB tmpfs mounted by the test.
#include "store_fixtures.hpp"

#include "core/log.hpp"
#include "testing/tmpfs.hpp"

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace ib::dedup;
using ib::dedup::test::small_config;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// Every entry under `dir` with its size and a hash of its bytes: equal before and after
/// means nothing was created, deleted or rewritten.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const auto rel = fs::relative(e.path(), dir).string();
    if (e.is_directory()) {
      out[rel] = "dir";
    } else {
      const auto bytes = read_all(e.path());
      out[rel] = std::to_string(bytes.size()) + ":" + std::to_string(std::hash<std::string>{}(bytes));
    }
  }
  return out;
}

std::string key(int i) { return "ACME|V" + std::to_string(i % 7) + "|INV-" + std::to_string(i); }

/// A store with `rounds` x 400 imported keys, each round flushed to a table file by a
/// compaction (so the MANIFEST has several edits), plus 50 keys only in the WAL.
void make_store(const fs::path& path, int rounds = 3) {
  ib::core::ManualClock clock;
  auto store = RocksDbDedupStore::open(small_config(path), clock);
  REQUIRE(store.has_value());
  int next = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<ImportedMark> marks;
    for (int i = 0; i < 400; ++i, ++next) marks.push_back({key(next), "fp", "rec-" + std::to_string(next)});
    REQUIRE((*store)->mark_imported(marks));
    REQUIRE((*store)->compact());
  }
  std::vector<ImportedMark> marks;
  for (int i = 0; i < 50; ++i, ++next) marks.push_back({key(next), "fp", "rec-" + std::to_string(next)});
  REQUIRE((*store)->mark_imported(marks));
}

int keys_in(const fs::path& path, int rounds = 3) {
  ib::core::ManualClock clock;
  auto store = RocksDbDedupStore::open(small_config(path), clock);
  if (!store) FAIL(store.error().message);
  std::vector<std::string> keys;
  for (int i = 0; i < rounds * 400 + 50; ++i) keys.push_back(key(i));
  auto found = (*store)->lookup(keys);
  REQUIRE(found.has_value());
  int n = 0;
  for (const auto& e : *found) n += e.has_value() ? 1 : 0;
  return n;
}

std::string manifest_of(const fs::path& path) {
  auto name = read_all(path / "CURRENT");
  if (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

/// Opens `path` three times (the daemon restarting), with both create policies: refused
/// every time with `code`, a message naming the path and saying what to do, and the
/// directory exactly as it was.
void check_refused(const fs::path& path, StoreErrc code, const std::string& why) {
  const auto before = snapshot(path);
  ib::core::ManualClock clock;
  for (int attempt = 0; attempt < 3; ++attempt) {
    for (auto policy : {CreatePolicy::if_absent, CreatePolicy::never}) {
      INFO("attempt " << attempt);
      auto r = RocksDbDedupStore::open(small_config(path), clock, policy);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == code);
      CHECK_THAT(r.error().message, Catch::Contains(path.string()) && Catch::Contains(why) &&
                                        Catch::Contains("nothing in it was changed") &&
                                        Catch::Contains("move it aside"));
    }
  }
  CHECK(snapshot(path) == before);
}

// Captures what the logger writes to stderr while `fn` runs.
template <typename Fn>
std::string capture_log(Fn fn) {
  std::fflush(stderr);
  char name[] = "/tmp/ib-store-log-XXXXXX";
  const int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  const int saved = ::dup(2);
  ::dup2(fd, 2);
  ib::log::setup(ib::log::Format::text, ib::log::Level::info);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  auto out = read_all(name);
  ::unlink(name);
  return out;
}

}  // namespace

TEST_CASE("a store without CURRENT is refused every time, untouched; with CURRENT back it opens whole",
          "[dedup][rocksdb][safety]") {
  ib::testing::TempDir dir{"ib-dedup-safety"};
  const auto path = dir.path() / "db";
  make_store(path);
  fs::rename(path / "CURRENT", dir.path() / "CURRENT.saved");
  check_refused(path, StoreErrc::corruption, "has no CURRENT file");
  fs::rename(dir.path() / "CURRENT.saved", path / "CURRENT");
  CHECK(keys_in(path) == 3 * 400 + 50);
}

TEST_CASE("a CURRENT naming a missing MANIFEST is refused, untouched", "[dedup][rocksdb][safety]") {
  ib::testing::TempDir dir{"ib-dedup-safety"};
  const auto path = dir.path() / "db";
  make_store(path);
  const auto manifest = manifest_of(path);
  fs::rename(path / manifest, dir.path() / "saved");
  check_refused(path, StoreErrc::corruption, "CURRENT names " + manifest + ", which is missing");
  fs::rename(dir.path() / "saved", path / manifest);
  CHECK(keys_in(path) == 3 * 400 + 50);
}

TEST_CASE("a truncated MANIFEST is refused at every length, untouched; restored it opens whole",
          "[dedup][rocksdb][safety]") {
  // RocksDB reads a MANIFEST cut short as one whose writer crashed: on its own it opens the
  // older state and deletes the newer table files.
  for (const double fraction : {0.0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.97}) {
    ib::testing::TempDir dir{"ib-dedup-safety"};
    const auto path = dir.path() / "db";
    make_store(path);
    const auto manifest = path / manifest_of(path);
    const auto bytes = read_all(manifest);
    const auto cut = static_cast<std::size_t>(static_cast<double>(bytes.size()) * fraction);
    INFO("MANIFEST cut to " << cut << " of " << bytes.size() << " bytes");
    fs::resize_file(manifest, cut);
    check_refused(path, StoreErrc::corruption, "is damaged and was not opened");
    write_all(manifest, bytes);
    CHECK(keys_in(path) == 3 * 400 + 50);
  }
}

TEST_CASE("a garbled MANIFEST is refused, untouched", "[dedup][rocksdb][safety]") {
  ib::testing::TempDir dir{"ib-dedup-safety"};
  const auto path = dir.path() / "db";
  make_store(path);
  const auto manifest = path / manifest_of(path);
  const auto bytes = read_all(manifest);
  auto garbled = bytes;
  for (std::size_t i = garbled.size() / 3; i < garbled.size() / 3 + 16; ++i) garbled[i] = '\x5a';
  write_all(manifest, garbled);
  check_refused(path, StoreErrc::corruption, "is damaged and was not opened");
  write_all(manifest, bytes);
  CHECK(keys_in(path) == 3 * 400 + 50);
}

TEST_CASE("a directory of other files is refused, untouched", "[dedup][rocksdb][safety]") {
  ib::testing::TempDir dir{"ib-dedup-safety"};
  const auto path = dir.path() / "data";
  fs::create_directories(path / "sub");
  std::mt19937 rng(Catch::rngSeed());
  for (int i = 0; i < 5; ++i) {
    std::string bytes(static_cast<std::size_t>(100 + i * 1000), '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    write_all(path / ("file-" + std::to_string(i) + ".dat"), bytes);
  }
  write_all(path / "sub" / "notes.txt", "not a store");
  write_all(path / "LOG", "a LOG file alone does not make a store");
  check_refused(path, StoreErrc::not_a_store, "holds no dedup store (file-0.dat, file-1.dat");
}

TEST_CASE("another RocksDB database is refused, untouched", "[dedup][rocksdb][safety]") {
  ib::testing::TempDir dir{"ib-dedup-safety"};
  const auto path = dir.path() / "other";
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(options, path.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put(rocksdb::WriteOptions(), "someone else's", "data").ok());
    REQUIRE(db->Close().ok());
  }
  check_refused(path, StoreErrc::not_a_store, "a RocksDB database that invoice-bridge did not create");
}

TEST_CASE("a store of an earlier version (no marker file) opens and gets the marker", "[dedup][rocksdb][safety]") {
  ib::testing::TempDir dir{"ib-dedup-safety"};
  const auto path = dir.path() / "db";
  make_store(path);
  fs::remove(path / "INVOICE_BRIDGE_STORE");
  std::string log;
  log = capture_log([&] { CHECK(keys_in(path) == 3 * 400 + 50); });
  CHECK_THAT(log, Catch::Contains("marker file written") && Catch::Contains(path.string()));
  CHECK(fs::exists(path / "INVOICE_BRIDGE_STORE"));
  CHECK(keys_in(path) == 3 * 400 + 50);
}

TEST_CASE("a new store is created only on a missing path or an empty directory, and logged",
          "[dedup][rocksdb][safety]") {
  ib::testing::TempDir dir{"ib-dedup-safety"};
  ib::core::ManualClock clock;
  const auto missing = dir.path() / "a" / "b";
  const auto empty = dir.path() / "empty";
  fs::create_directories(empty);

  // A tool (CreatePolicy::never) creates nothing.
  for (const auto& path : {missing, empty}) {
    auto r = RocksDbDedupStore::open(small_config(path), clock, CreatePolicy::never);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == StoreErrc::not_found);
    CHECK_THAT(r.error().message, Catch::Contains("no dedup store " + path.string()));
  }
  CHECK_FALSE(fs::exists(dir.path() / "a"));
  CHECK(fs::is_empty(empty));

  for (const auto& path : {missing, empty}) {
    INFO(path);
    const auto log = capture_log([&] {
      auto r = RocksDbDedupStore::open(small_config(path), clock);
      REQUIRE(r.has_value());
      REQUIRE((*r)->mark_imported(std::vector<ImportedMark>{{"k", "fp", "rec"}}));
    });
    CHECK_THAT(log, Catch::Contains("creating a new dedup store") && Catch::Contains(path.string()));
    CHECK(read_all(path / "INVOICE_BRIDGE_STORE").rfind("invoice-bridge dedup store\n", 0) == 0);
    // RocksDB's own log lines go to ours: no LOG file in the store.
    CHECK_FALSE(fs::exists(path / "LOG"));
    const auto again = capture_log([&] {
      auto r = RocksDbDedupStore::open(small_config(path), clock, CreatePolicy::never);
      REQUIRE(r.has_value());
      CHECK(*(*r)->get("k"));
    });
    CHECK_THAT(again, !Catch::Contains("creating a new dedup store"));
  }
}

namespace {

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

TEST_CASE("a full file system: every write fails with no_space as a value; after space is freed "
          "the store reopens with every acknowledged entry",
          "[dedup][rocksdb][safety][disk-full]") {
  ib::testing::TempDir dir{"ib-dedup-full"};
  const auto mnt = dir.path() / "mnt";
  ib::testing::Tmpfs small(mnt, "16m");
  const auto path = mnt / "db";
  // Room taken by something else on the volume, given back later.
  write_all(mnt / "ballast", std::string(4 << 20, 'b'));

  auto config = small_config(path);
  config.write_buffer_bytes = 1 << 20;  // flushes (table files) while it fills, not only the WAL
  config.fsync = FsyncPolicy::always;
  ib::core::ManualClock clock;
  std::mt19937 rng(Catch::rngSeed());
  std::vector<std::string> acknowledged;
  std::vector<StoreErrc> failures;
  {
    auto opened = RocksDbDedupStore::open(config, clock);
    if (!opened) FAIL(opened.error().message);
    auto& store = **opened;
    int batch = 0;
    // 16 MiB hold well under 8000 batches of 4 KiB; a store that never fails is a bug.
    for (; batch < 8000 && failures.size() < 20; ++batch) {
      std::vector<ImportedMark> marks;
      for (int i = 0; i < 8; ++i) {
        marks.push_back({"key-" + std::to_string(batch) + "-" + std::to_string(i), random_bytes(rng, 500), "rec"});
      }
      auto r = store.mark_imported(marks);
      if (r) {
        // Also after a failure: a write RocksDB accepts is acknowledged.
        for (const auto& m : marks) acknowledged.push_back(m.key);
      } else {
        failures.push_back(r.error().code);
        INFO(r.error().message);
        CHECK(r.error().code == StoreErrc::no_space);
        CHECK_THAT(r.error().message, Catch::Contains(path.string()));
      }
    }
    REQUIRE(failures.size() == 20);
    REQUIRE_FALSE(acknowledged.empty());
    // Reads still answer, or fail as a value.
    auto look = store.lookup(std::vector<std::string>{acknowledged.front()});
    if (!look) CHECK(look.error().code == StoreErrc::no_space);
    auto synced = store.sync();
    if (!synced) CHECK(synced.error().code == StoreErrc::no_space);
  }  // closed while full: no abort
  for (const auto code : failures) CHECK(code == StoreErrc::no_space);

  {
    // Still full: a reopen fails cleanly or opens.
    auto full = RocksDbDedupStore::open(config, clock);
    if (!full) {
      CHECK((full.error().code == StoreErrc::no_space || full.error().code == StoreErrc::io_error));
    }
  }
  fs::remove(mnt / "ballast");
  auto opened = RocksDbDedupStore::open(config, clock);
  if (!opened) FAIL(opened.error().message);
  auto& store = **opened;
  auto found = store.lookup(acknowledged);
  REQUIRE(found.has_value());
  int missing = 0;
  for (std::size_t i = 0; i < acknowledged.size(); ++i) missing += (*found)[i] ? 0 : 1;
  CHECK(missing == 0);
  INFO(acknowledged.size() << " acknowledged entries");
  CHECK(store.mark_imported(std::vector<ImportedMark>{{"after", "fp", "rec"}}));
}
