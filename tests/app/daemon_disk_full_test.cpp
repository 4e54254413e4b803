// Integration: `invoice-bridge run` as a process with its dedup store on a small tmpfs the
// test mounts (it runs as root; without the right to mount it fails and says why, it is
// never skipped) and then fills. The daemon must stop with exit 1 and the runbook's
// `dedup store write failed: no_space` (not abort on a RocksDB assertion, exit 134), and a
// restart after space is freed must finish the job: every invoice created once, and the
// store holding every invoice as imported.
#include "daemon_harness.hpp"
#include "daemon_process.hpp"
#include "dedup/rocksdb_dedup_store.hpp"
#include "sim/simulator.hpp"
#include "sim_checks.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"

#include "testing/tmpfs.hpp"

#include <catch2/catch.hpp>


#include <csignal>
#include <fstream>
#include <sstream>

using namespace std::chrono_literals;
using namespace ib;
using namespace ib::testing::daemon;
namespace fs = std::filesystem;

namespace {

std::string invoice_json(int i) {
  return R"({"vendor_account":"V)" + std::to_string(i % 7) + R"(","invoice_number":"INV/)" +
         std::to_string(i) + R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" +
         std::to_string(100 + i % 50) + ".25}";
}

/// Writes `path` until the file system is full; the bytes written.
std::size_t fill(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  std::setvbuf(f, nullptr, _IONBF, 0);
  const std::string chunk(4096, 'f');
  std::size_t total = 0;
  while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) total += chunk.size();
  std::fclose(f);
  return total;
}

}  // namespace

TEST_CASE("the store's disk fills while the daemon runs: exit 1 with no_space, a restart after space "
          "is freed finishes the job",
          "[app][daemon][process][integration][disk-full]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("proc-full");
  ib::testing::TempDir dir;
  // The volume of the store: the mount point is the store directory (empty: a new store).
  const auto volume = dir.path() / "volume";
  ib::testing::Tmpfs tmpfs(volume, "64m");  // room for every invoice once the ballast is gone
  const auto store_dir = volume / "dedup";
  sim::Simulator sim(sim::SimOptions{});

  constexpr int kFirst = 200;
  constexpr int kUnique = 10200;
  std::vector<std::pair<std::string, std::string>> first;
  for (int i = 0; i < kFirst; ++i) first.emplace_back("k" + std::to_string(i), invoice_json(i));
  produce_all(bootstrap, name, first);
  auto config = write_config(dir.path(), bootstrap, name, sim.base_url(), "5s");
  {
    // The store on the small volume, with a small memtable so that table files are written
    // while it fills, and every mark fsynced.
    std::stringstream text;
    text << std::ifstream(config).rdbuf();
    auto yaml = text.str();
    const std::string old_line = "  path: " + (dir.path() / "dedup").string() + "\n";
    const auto at = yaml.find(old_line);
    REQUIRE(at != std::string::npos);
    yaml.replace(at, old_line.size(), "  path: " + store_dir.string() + "\n  write_buffer: 1MiB\n  fsync: always\n");
    std::ofstream(config, std::ios::trunc) << yaml;
  }

  {
    DaemonProcess daemon(config, dir.path() / "daemon.log");
    REQUIRE(daemon.wait_running(60s));
    REQUIRE(wait_for([&] { return all_imported_and_committed(sim, kFirst, bootstrap, name + "-group", name,
                                                             name + ".retry"); },
                     90s));
    // Something else takes the rest of the volume; then more invoices arrive.
    CHECK(fill(volume / "ballast") > 0);
    std::vector<std::pair<std::string, std::string>> rest;
    for (int i = kFirst; i < kUnique; ++i) rest.emplace_back("k" + std::to_string(i), invoice_json(i));
    produce_all(bootstrap, name, rest);
    const auto rc = daemon.wait(120s);
    const auto log = daemon.log_text();
    INFO(log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    REQUIRE(rc.has_value());
    CHECK(log.find("dedup store write failed: no_space") != std::string::npos);
    CHECK(log.find("writable_file_writer") == std::string::npos);  // RocksDB's assertion (exit 134)
    CHECK(log.find("rd_kafka_q_serve: assert") == std::string::npos);  // librdkafka's, at close
    CHECK(*rc == 1);
    CHECK(log.find("invoice-bridge stopped after a fatal error") != std::string::npos);
  }
  CHECK(sim.stats().records < static_cast<std::uint64_t>(kUnique));

  // Space freed: the restart opens the store with what it acknowledged and finishes.
  fs::remove(volume / "ballast");
  {
    DaemonProcess daemon(config, dir.path() / "daemon2.log");
    REQUIRE(daemon.wait_running(60s));
    const bool finished = wait_for(
        [&] { return all_imported_and_committed(sim, kUnique, bootstrap, name + "-group", name, name + ".retry"); },
        180s);
    const auto stats = sim.stats();
    daemon.signal(SIGTERM);
    CHECK(daemon.wait(30s) == 0);
    const auto log = daemon.log_text();
    INFO("records " << stats.records << "; log: " << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
    REQUIRE(finished);
  }
  check_created_once(sim, kUnique);

  // Every invoice is in the store as imported (the entries written before the disk filled
  // survived it).
  core::ManualClock clock(core::system_clock().now());
  dedup::DedupConfig store_config;
  store_config.path = store_dir;
  auto store = dedup::RocksDbDedupStore::open(store_config, clock, dedup::CreatePolicy::never);
  if (!store) FAIL(store.error().message);
  std::size_t imported = 0;
  std::size_t rows = 0;
  dedup::ScanOptions scan;
  scan.limit = 1000;
  for (;;) {
    auto page = (*store)->scan(scan);
    REQUIRE(page.has_value());
    for (const auto& r : page->rows) {
      ++rows;
      if (r.entry.state == core::StoreState::imported) ++imported;
    }
    if (!page->next_start) break;
    scan.start = *page->next_start;
  }
  CHECK(rows == static_cast<std::size_t>(kUnique));
  CHECK(imported == static_cast<std::size_t>(kUnique));
}
