// Where a key is set (for messages), and the file checks every module's check_host uses.
#include "config/config_source.hpp"
#include "config/host_checks.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using ib::config::ConfigSource;
using ib::config::FileRole;
using ib::config::HostFindings;

TEST_CASE("where() names the line of a key, or the variable that overrides it", "[config][unit]") {
  const ConfigSource src(R"(# a comment
d365:
  auth:
    mode: client_credentials
    client_secret_file: /run/secret
  tls: {ca_file: /etc/ca.pem}
kafka:
  properties:
    ssl.ca.location: /etc/kafka-ca.pem
empty:
)",
                         "ib.yaml", {{"IB_METRICS__PORT", "1"}});
  CHECK(src.where("d365.auth.client_secret_file") == "ib.yaml:5");
  CHECK(src.where("d365.auth") == "ib.yaml:3");
  CHECK(src.where("d365.tls.ca_file") == "ib.yaml:6");
  CHECK(src.where("kafka.properties", "ssl.ca.location") == "ib.yaml:9");
  CHECK(src.where("kafka.properties", "ssl.key.location").empty());
  CHECK(src.where("empty") == "ib.yaml:10");
  CHECK(src.where("d365.base_url").empty());
  CHECK(src.where("metrics.port") == "environment variable IB_METRICS__PORT");
  CHECK(src.describe("d365.auth.client_secret_file") == "d365.auth.client_secret_file (ib.yaml:5)");
  CHECK(src.describe("kafka.properties", "ssl.ca.location") == "kafka.properties.ssl.ca.location (ib.yaml:9)");
  CHECK(src.describe("d365.base_url") == "d365.base_url");
  // where() is not a read: the keys stay unknown until something reads them.
  CHECK(src.unknown_keys().size() == 6);  // 5 leaves and the variable
}

TEST_CASE("locate() puts the source after a problem's leading key", "[config][unit]") {
  const ConfigSource src("metrics:\n  port: 70000\npipeline: {resume_backlog: 9}\n", "ib.yaml",
                         {{"IB_BATCH__MAX_ITEMS", "5000"}});
  CHECK(src.locate("metrics.port: must be between 0 and 65535, got 70000") ==
        "metrics.port (ib.yaml:2): must be between 0 and 65535, got 70000");
  CHECK(src.locate("pipeline.resume_backlog must be below pipeline.max_backlog") ==
        "pipeline.resume_backlog (ib.yaml:3) must be below pipeline.max_backlog");
  CHECK(src.locate("batch.max_items: too many") ==
        "batch.max_items (environment variable IB_BATCH__MAX_ITEMS): too many");
  // Unchanged: a source named already, a key nothing sets, no leading key.
  CHECK(src.locate("metrics.port (ib.yaml): expected an integer") == "metrics.port (ib.yaml): expected an integer");
  CHECK(src.locate("dedup.ttl: must be at least 1s") == "dedup.ttl: must be at least 1s");
  CHECK(src.locate("environment variable IB_X__Y: unknown key") == "environment variable IB_X__Y: unknown key");
  CHECK(src.locate("metrics are off") == "metrics are off");  // prose, not a key
}

TEST_CASE("check_readable_file: missing, a directory, unreadable, empty, and a shared secret",
          "[config][unit]") {
  ib::testing::TempDir dir;
  const auto ok = dir.path() / "ok";
  std::ofstream(ok) << "s3cret\n";
  ::chmod(ok.c_str(), 0600);
  HostFindings f;
  ib::config::check_readable_file("k (ib.yaml:3)", ok, FileRole::secret, f);
  CHECK(f.problems.empty());
  CHECK(f.warnings.empty());

  ib::config::check_readable_file("k (ib.yaml:3)", dir.path() / "missing", FileRole::secret, f);
  std::filesystem::create_directory(dir.path() / "adir");
  ib::config::check_readable_file("k (ib.yaml:4)", dir.path() / "adir", FileRole::plain, f);
  std::ofstream(dir.path() / "empty").flush();
  ::chmod((dir.path() / "empty").c_str(), 0600);
  ib::config::check_readable_file("k (ib.yaml:5)", dir.path() / "empty", FileRole::secret, f);
  ib::config::check_readable_file("k (ib.yaml:6)", "/dev/null", FileRole::plain, f);
  REQUIRE(f.problems.size() == 4);
  CHECK(f.problems[0] == "k (ib.yaml:3): " + (dir.path() / "missing").string() + ": no such file");
  CHECK(f.problems[1] == "k (ib.yaml:4): " + (dir.path() / "adir").string() + ": is a directory, not a file");
  CHECK(f.problems[2] == "k (ib.yaml:5): " + (dir.path() / "empty").string() + ": is empty");
  CHECK(f.problems[3] == "k (ib.yaml:6): /dev/null: is not a regular file");

  ::chmod(ok.c_str(), 0644);
  HostFindings shared;
  ib::config::check_readable_file("k (ib.yaml:3)", ok, FileRole::secret, shared);
  CHECK(shared.problems.empty());
  REQUIRE(shared.warnings.size() == 1);
  CHECK(shared.warnings[0] == "k (ib.yaml:3): " + ok.string() +
                                  " is readable by group or others (mode 0644); make it 0600 or 0400");
  // Not a secret: no warning.
  HostFindings plain;
  ib::config::check_readable_file("k", ok, FileRole::plain, plain);
  CHECK(plain.warnings.empty());
}

TEST_CASE("check_readable_file: a file this user may not open", "[config][unit]") {
  ib::testing::TempDir dir;
  const auto locked = dir.path() / "locked";
  std::ofstream(locked) << "s3cret\n";
  ::chmod(locked.c_str(), 0000);
  HostFindings f;
  ib::config::check_readable_file("k", locked, FileRole::secret, f);
  if (::geteuid() == 0) {
    // root opens it anyway (CAP_DAC_OVERRIDE), and so would `run`: no problem is right.
    WARN("running as root: mode 0000 does not stop root, the refusal is not exercised here "
         "(the directory case above covers unreadability as root)");
    CHECK(f.problems.empty());
  } else {
    REQUIRE(f.problems.size() == 1);
    CHECK(f.problems[0] == "k: " + locked.string() + ": cannot be opened for reading: Permission denied");
  }
}
