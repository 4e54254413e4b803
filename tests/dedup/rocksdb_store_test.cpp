// RocksDB-only behaviour: persistence, the directory lock across processes, crash safety.
#include "crash_batches.hpp"
#include "store_fixtures.hpp"
#include "dedup/changelog_codec.hpp"

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <poll.h>
#include <random>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using namespace ib::dedup;
using ib::dedup::test::RocksFixture;
using ib::dedup::test::small_config;

namespace {

/// A child process running dedup_test_helper with its stdout on a pipe.
class Helper {
public:
  explicit Helper(std::vector<std::string> args) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv;
      std::string exe = IB_DEDUP_TEST_HELPER;
      argv.push_back(exe.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(exe.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~Helper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  /// The next line of output; nullopt at end of output or after `timeout`.
  std::optional<std::string> line(std::chrono::milliseconds timeout = 30s) {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string out = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return out;
      }
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (ready <= 0) return std::nullopt;
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void kill_now() { ::kill(pid_, SIGKILL); }

  /// Waits for the exit; the exit code, or 128 + signal.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace

TEST_CASE_METHOD(RocksFixture, "entries survive closing and reopening", "[dedup][rocksdb]") {
  const auto t0 = clock.now();
  REQUIRE(store->mark_pending(std::vector<PendingMark>{{"p", "fp-p", 2}}));
  REQUIRE(store->mark_imported(std::vector<ImportedMark>{{"i", "fp-i", "rec-9"}}));
  REQUIRE(store->record_duplicates(std::vector<std::string>{"i"}));
  const auto before = store->scan({});
  REQUIRE(before);
  reopen();
  const auto after = store->scan({});
  REQUIRE(after);
  REQUIRE(after->rows.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(after->rows[i].key == before->rows[i].key);
    CHECK(after->rows[i].entry == before->rows[i].entry);
  }
  CHECK(after->rows[0].entry.duplicates == 1);
  CHECK(after->rows[1].entry.first_seen == t0);
}

TEST_CASE_METHOD(RocksFixture, "expired entries read as absent after a reopen too, compaction drops them",
                 "[dedup][rocksdb][ttl]") {
  std::vector<ImportedMark> marks;
  for (int i = 0; i < 1000; ++i) marks.push_back({"old-" + std::to_string(i), "fp", "rec"});
  REQUIRE(store->mark_imported(marks));
  clock.advance(test::kTtl);
  REQUIRE(store->mark_imported(std::vector<ImportedMark>{{"new", "fp", "rec"}}));
  reopen();  // the old entries are in table files now, not only in the memtable
  CHECK_FALSE(*store->get("old-1"));
  CHECK(*store->get("new"));
  REQUIRE(store->compact());
  auto all = store->scan({.start = "", .limit = 100, .include_expired = true});
  REQUIRE(all);
  REQUIRE(all->rows.size() == 1);
  CHECK(all->rows[0].key == "new");
}

TEST_CASE_METHOD(RocksFixture, "a second open in the same process is refused clearly", "[dedup][rocksdb]") {
  auto second = RocksDbDedupStore::open(small_config(dir.path() / "db"), clock);
  REQUIRE_FALSE(second);
  CHECK(second.error().code == StoreErrc::in_use);
  CHECK_THAT(second.error().message, Catch::Contains("already open in this process"));
}

TEST_CASE_METHOD(RocksFixture, "a second process opening the directory gets 'already in use'", "[dedup][rocksdb]") {
  const std::string path = (dir.path() / "db").string();
  {
    Helper other({"open", path});
    const auto out = other.line();
    REQUIRE(out);
    CHECK_THAT(*out, Catch::Contains("already in use by another process"));
    CHECK_THAT(*out, Catch::Contains(path));
    CHECK(other.wait() == 3);
  }
  store.reset();  // released: now the other process may open it
  Helper other({"open", path});
  CHECK(other.line() == std::optional<std::string>("opened"));
  CHECK(other.wait() == 0);
}

TEST_CASE("an undecodable value is reported as corruption naming the key", "[dedup][rocksdb]") {
  ib::testing::TempDir dir{"ib-dedup"};
  const auto path = dir.path() / "db";
  ib::core::ManualClock clock;
  {
    auto store = RocksDbDedupStore::open(small_config(path), clock);
    REQUIRE(store.has_value());
    REQUIRE((*store)->mark_imported(std::vector<ImportedMark>{{"good", "fp", "rec"}}));
  }
  {
    // Damage one value behind the store's back.
    rocksdb::Options options;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(options, path.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put(rocksdb::WriteOptions(), "bad\x01", "\x07garbage").ok());
    REQUIRE(db->Close().ok());
  }
  auto store = RocksDbDedupStore::open(small_config(path), clock);
  REQUIRE(store.has_value());
  auto good = (*store)->get("good");
  REQUIRE(good);
  CHECK(*good);
  auto bad = (*store)->lookup(std::vector<std::string>{"good", "bad\x01"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == StoreErrc::corruption);
  CHECK_THAT(bad.error().message, Catch::Contains("bad\\x01"));
  auto scan = (*store)->scan({});
  REQUIRE_FALSE(scan);
  CHECK(scan.error().code == StoreErrc::corruption);
  auto mark = (*store)->mark_pending(std::vector<PendingMark>{{"bad\x01", "fp", 1}});
  REQUIRE_FALSE(mark);
  CHECK(mark.error().code == StoreErrc::corruption);
  // forget() removes the damaged entry: the operator's way out.
  auto forgot = (*store)->forget("bad\x01");
  REQUIRE(forgot.has_value());
  CHECK(*forgot);
  auto after = (*store)->lookup(std::vector<std::string>{"good", "bad\x01"});
  REQUIRE(after.has_value());
  CHECK((*after)[0]);
  CHECK_FALSE((*after)[1]);
}

TEST_CASE("open refuses an invalid config with every problem", "[dedup][rocksdb]") {
  ib::core::ManualClock clock;
  DedupConfig c;
  c.ttl = 0ms;
  auto r = RocksDbDedupStore::open(c, clock);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == StoreErrc::invalid_argument);
  CHECK_THAT(r.error().message, Catch::Contains("dedup.path") && Catch::Contains("dedup.ttl"));
}

TEST_CASE("open on a path that is a file fails with an I/O error, not an exception", "[dedup][rocksdb]") {
  ib::testing::TempDir dir{"ib-dedup"};
  const auto file = dir.path() / "file";
  std::ofstream(file) << "not a directory";
  ib::core::ManualClock clock;
  auto r = RocksDbDedupStore::open(small_config(file / "db"), clock);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == StoreErrc::io_error);
  CHECK_THAT(r.error().message, Catch::Contains(file.string()));
}

TEST_CASE("every fsync policy writes and reads back", "[dedup][rocksdb]") {
  for (auto policy : {FsyncPolicy::never, FsyncPolicy::periodic, FsyncPolicy::always}) {
    ib::testing::TempDir dir{"ib-dedup"};
    ib::core::ManualClock clock;
    auto config = small_config(dir.path() / "db");
    config.fsync = policy;
    config.fsync_interval = 1ms;
    auto store = RocksDbDedupStore::open(config, clock);
    REQUIRE(store);
    for (int i = 0; i < 3; ++i) {
      REQUIRE((*store)->mark_pending(std::vector<PendingMark>{{"k" + std::to_string(i), "fp", 1}}));
    }
    REQUIRE((*store)->sync());
    auto e = (*store)->get("k2");
    REQUIRE(e);
    CHECK(*e);
  }
}

TEST_CASE("a writer killed at random points leaves every batch whole or absent", "[dedup][rocksdb][crash]") {
  ib::testing::TempDir dir{"ib-dedup-crash"};
  const std::string path = (dir.path() / "db").string();
  std::mt19937 rng(Catch::rngSeed());
  constexpr int kRounds = 8;
  constexpr int kBatchSize = 200;
  long first = 0;
  long checked_batches = 0;
  int partially_written_seen = 0;
  std::vector<std::pair<long, long>> acked;  // every acknowledged range so far
  for (int round = 0; round < kRounds; ++round) {
    const int acks_before_kill = std::uniform_int_distribution<int>(1, 60)(rng);
    long last_acked = first - 1;
    {
      Helper writer({"write", path, std::to_string(first), std::to_string(kBatchSize)});
      for (int n = 0; n < acks_before_kill; ++n) {
        const auto l = writer.line();
        REQUIRE(l);
        last_acked = std::stol(*l);
      }
      writer.kill_now();
      // Batches acknowledged between our last read and the kill are still in the pipe.
      while (auto l = writer.line(5s)) last_acked = std::stol(*l);
      CHECK(writer.wait() == 128 + SIGKILL);
    }
    INFO("round " << round << ": batches " << first << ".." << last_acked << " acknowledged");
    REQUIRE(last_acked >= first);

    ib::core::ManualClock clock(ib::core::system_clock().now());
    auto opened = RocksDbDedupStore::open(small_config(path), clock);
    if (!opened) FAIL(opened.error().message);
    auto& store = **opened;
    acked.emplace_back(first, last_acked);
    for (const auto& [from, to] : acked) {  // earlier rounds' batches must survive later crashes
      for (long b = from; b <= to; ++b) {
        INFO("acknowledged batch " << b);
        REQUIRE(ib::dedup::test::count_crash_batch(store, b, kBatchSize) == kBatchSize);
        ++checked_batches;
      }
    }
    // The batch in flight at the kill: all or nothing. Nothing after it was started.
    const int in_flight = ib::dedup::test::count_crash_batch(store, last_acked + 1, kBatchSize);
    CHECK((in_flight == 0 || in_flight == kBatchSize));
    if (in_flight == kBatchSize) ++partially_written_seen;
    CHECK(ib::dedup::test::count_crash_batch(store, last_acked + 2, kBatchSize) == 0);
    first = last_acked + 3;
  }
  CHECK(checked_batches >= kRounds);
  INFO("rounds where the unacknowledged batch had landed: " << partially_written_seen);
}

TEST_CASE_METHOD(RocksFixture, "a real store's directory passes check-config's store check", "[dedup][rocksdb]") {
  // check_store_path recognises a RocksDB directory by its CURRENT file: RocksDB writes it.
  REQUIRE(store->mark_imported(std::vector<ImportedMark>{{"k", "fp", "rec"}}));
  CHECK(check_store_path("dedup.path", dir.path() / "db").problems.empty());
  store.reset();
  CHECK(check_store_path("dedup.path", dir.path() / "db").problems.empty());
}

TEST_CASE_METHOD(RocksFixture, "restored entries and their checkpoint survive a reopen together",
                 "[dedup][rocksdb][changelog]") {
  Entry e;
  e.state = ib::core::StoreState::imported;
  e.fingerprint = "fp";
  e.record_id = "rec-1";
  e.first_seen = e.state_since = e.last_seen = std::chrono::floor<std::chrono::milliseconds>(clock.now());
  const std::vector<ChangelogRecord> chunk{{"ACME|V1|1", encode_changelog_value(e)}};
  REQUIRE(store->apply_changelog("invoices.dedup-changelog", 2, chunk, 17));
  reopen();
  auto cp = store->changelog_checkpoint("invoices.dedup-changelog", 2);
  REQUIRE(cp);
  CHECK(*cp == std::optional<std::int64_t>(17));
  auto got = store->get("ACME|V1|1");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == e);
}
