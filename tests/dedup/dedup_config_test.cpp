#include "dedup/dedup_config.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace std::chrono_literals;
using namespace ib::dedup;

namespace {
bool mentions(const std::vector<std::string>& problems, std::string_view what) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(what) != std::string::npos; });
}
}  // namespace

TEST_CASE("the default config needs only a path", "[dedup][config]") {
  DedupConfig c;
  const auto problems = c.validate();
  REQUIRE(problems.size() == 1);
  CHECK(mentions(problems, "dedup.path"));
  c.path = "/var/lib/invoice-bridge/dedup";
  CHECK(c.validate().empty());
  CHECK(c.ttl == std::chrono::hours(24 * 7));
}

TEST_CASE("validate reports every problem at once", "[dedup][config]") {
  DedupConfig c;
  c.ttl = 500ms;
  c.block_cache_bytes = 1024;
  c.write_buffer_bytes = 0;
  c.bloom_bits_per_key = 0;
  c.fsync = FsyncPolicy::periodic;
  c.fsync_interval = 0ms;
  c.max_background_jobs = 0;
  const auto problems = c.validate();
  CHECK(problems.size() == 7);
  // Each names its YAML key (docs/configuration.md); max_background_jobs is no YAML key.
  for (auto key : {"dedup.path", "dedup.ttl", "dedup.block_cache:", "dedup.write_buffer:",
                   "dedup.bloom_bits_per_key", "dedup.fsync_interval", "max_background_jobs"}) {
    CHECK(mentions(problems, key));
  }
}

TEST_CASE("fsync policies parse from their names", "[dedup][config]") {
  for (const auto& name : fsync_policy_names()) {
    const auto p = parse_fsync_policy(name);
    REQUIRE(p);
    CHECK(to_string(*p) == name);
  }
  CHECK_FALSE(parse_fsync_policy("sometimes"));
  CHECK_FALSE(parse_fsync_policy(""));
}

TEST_CASE("the dedup section is read by its module", "[dedup][config]") {
  ib::config::ConfigSource s("dedup: {path: /data/dedup, ttl: 14d, fsync: always, block_cache: 128MiB}\n",
                             "ib.yaml", {{"IB_DEDUP__FSYNC_INTERVAL", "250ms"}});
  DedupConfig c;
  c.load(s);
  CHECK(s.problems().empty());
  CHECK(s.unknown_keys().empty());
  CHECK(c.path == "/data/dedup");
  CHECK(c.ttl == std::chrono::hours(24 * 14));
  CHECK(c.fsync == FsyncPolicy::always);
  CHECK(c.block_cache_bytes == 128ull << 20);
  CHECK(c.fsync_interval == 250ms);

  ib::config::ConfigSource bad("dedup: {ttl: forever, fsync: sometimes}\n", "ib.yaml");
  DedupConfig d;
  d.load(bad);
  CHECK(mentions(bad.problems(), "dedup.ttl ("));
  CHECK(mentions(bad.problems(), "dedup.fsync: 'sometimes'"));
  CHECK(d.fsync == FsyncPolicy::periodic);
}

TEST_CASE("check_store_path: what opening the store needs, nothing created", "[dedup][config]") {
  ib::testing::TempDir dir;
  const auto& root = dir.path();
  auto problems = [](const std::filesystem::path& p) { return check_store_path("dedup.path (ib.yaml:2)", p).problems; };
  // A new store under an existing directory, an empty directory, a RocksDB directory.
  CHECK(problems(root / "dedup").empty());
  CHECK(problems(root / "dedup/").empty());
  CHECK(problems(root).empty());
  std::filesystem::create_directory(root / "db");
  std::ofstream(root / "db" / "CURRENT") << "MANIFEST-000005\n";
  std::ofstream(root / "db" / "000004.log").flush();
  // CURRENT names a missing MANIFEST: the daemon's open refuses it, so does this check.
  CHECK(problems(root / "db") ==
        std::vector<std::string>{"dedup.path (ib.yaml:2): " + (root / "db").string() +
                                 ": run refuses it as a damaged dedup store: CURRENT names MANIFEST-000005, which is "
                                 "missing (docs/runbook.md, \"Damaged or lost dedup store\")"});
  std::ofstream(root / "db" / "MANIFEST-000005") << "manifest";
  std::ofstream(root / "db" / "INVOICE_BRIDGE_STORE") << "invoice-bridge dedup store\n";
  CHECK(problems(root / "db").empty());
  // A first start that stopped before CURRENT, a fresh volume's lost+found.
  std::filesystem::create_directories(root / "half" / "lost+found");
  std::ofstream(root / "half" / "LOCK").flush();
  std::ofstream(root / "half" / "LOG").flush();
  CHECK(problems(root / "half").empty());
  CHECK_FALSE(std::filesystem::exists(root / "dedup"));

  const auto missing = root / "no-such-dir" / "dedup";
  CHECK(problems(missing) ==
        std::vector<std::string>{"dedup.path (ib.yaml:2): " + missing.string() + ": the parent directory " +
                                 (root / "no-such-dir").string() + " does not exist"});
  CHECK_FALSE(std::filesystem::exists(root / "no-such-dir"));
  std::ofstream(root / "file") << "x";
  CHECK(problems(root / "file") == std::vector<std::string>{"dedup.path (ib.yaml:2): " + (root / "file").string() +
                                                            ": is not a directory (the store is a directory)"});
  CHECK(problems(root / "file" / "dedup") ==
        std::vector<std::string>{"dedup.path (ib.yaml:2): " + (root / "file" / "dedup").string() + ": the parent " +
                                 (root / "file").string() + " is not a directory"});
  std::filesystem::create_directory(root / "other");
  std::ofstream(root / "other" / "notes.txt") << "x";
  CHECK(problems(root / "other") == std::vector<std::string>{"dedup.path (ib.yaml:2): " + (root / "other").string() +
                                                             ": run refuses it: the directory is not empty and holds "
                                                             "no dedup store (notes.txt)"});
}

TEST_CASE("check_store_path: a directory this user may not write", "[dedup][config]") {
  ib::testing::TempDir dir;
  const auto ro = dir.path() / "ro";
  std::filesystem::create_directory(ro);
  std::filesystem::permissions(ro, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const auto in_ro = check_store_path("dedup.path", ro).problems;
  const auto under_ro = check_store_path("dedup.path", ro / "dedup").problems;
  std::filesystem::permissions(ro, std::filesystem::perms::owner_all);
  if (::geteuid() == 0) {
    // root writes anyway (CAP_DAC_OVERRIDE), and so would the store: no problem is right.
    WARN("running as root: a mode 0500 directory does not stop root; the refusal is not exercised here");
    CHECK(in_ro.empty());
    CHECK(under_ro.empty());
  } else {
    CHECK(in_ro == std::vector<std::string>{"dedup.path: " + ro.string() +
                                            ": the directory is not writable by this user: Permission denied"});
    CHECK(under_ro == std::vector<std::string>{"dedup.path: " + (ro / "dedup").string() + ": the parent directory " +
                                               ro.string() +
                                               " is not writable by this user (the store is created there): "
                                               "Permission denied"});
  }
}
