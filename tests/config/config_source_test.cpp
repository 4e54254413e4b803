#include "config/config_source.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using ib::config::ConfigSource;
using namespace std::chrono_literals;

namespace {

bool mentions(const ib::config::Problems& problems, std::string_view needle) {
  for (const auto& p : problems) {
    if (p.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("typed reads take values from the file and leave defaults for missing keys",
          "[config][unit]") {
  ConfigSource src(R"(
http:
  base_url: https://org.crm.dynamics.com
  pool:
    max_connections: 8
  verify_tls: false
  deadline: 30s
batch:
  size: 100
  linger: 50ms
  ratio: 0.5
dedup:
  ttl: 7d
  block_cache: 64MiB
kafka:
  topics: [invoices, invoices.retry]
  properties:
    security.protocol: SASL_SSL
    sasl.mechanism: PLAIN
)",
                   "test.yaml");
  std::string url;
  int max_conn = 1;
  bool verify = true;
  std::chrono::milliseconds deadline = 1s, linger = 1s, ttl = 1s, missing = 123ms;
  std::int64_t size = 0;
  double ratio = 0;
  std::uint64_t cache = 0;
  std::vector<std::string> topics;
  std::map<std::string, std::string> props;
  src.read("http.base_url", url);
  src.read("http.pool.max_connections", max_conn);
  src.read("http.verify_tls", verify);
  src.read("http.deadline", deadline);
  src.read("batch.size", size);
  src.read("batch.linger", linger);
  src.read("batch.ratio", ratio);
  src.read("dedup.ttl", ttl);
  src.read_bytes("dedup.block_cache", cache);
  src.read("kafka.topics", topics);
  src.read("kafka.properties", props);
  src.read("http.not_there", missing);

  CHECK(src.problems().empty());
  CHECK(url == "https://org.crm.dynamics.com");
  CHECK(max_conn == 8);
  CHECK_FALSE(verify);
  CHECK(deadline == 30s);
  CHECK(size == 100);
  CHECK(linger == 50ms);
  CHECK(ratio == 0.5);
  CHECK(ttl == std::chrono::hours(24 * 7));
  CHECK(cache == 64ULL << 20);
  CHECK(topics == std::vector<std::string>{"invoices", "invoices.retry"});
  CHECK(props.at("sasl.mechanism") == "PLAIN");
  CHECK(missing == 123ms);
  CHECK(src.unknown_keys().empty());
}

TEST_CASE("environment variables override any key, and are parsed as YAML", "[config][unit]") {
  ConfigSource src("http:\n  pool:\n    max_connections: 8\n", "test.yaml",
                   {{"IB_HTTP__POOL__MAX_CONNECTIONS", "16"},
                    {"IB_KAFKA__PROPERTIES", "{sasl.username: bob}"},
                    {"IB_BATCH__SIZE", "50"},
                    {"OTHER", "x"}});
  int max_conn = 1, size = 100;
  std::map<std::string, std::string> props;
  src.read("http.pool.max_connections", max_conn);
  src.read("batch.size", size);
  src.read("kafka.properties", props);
  CHECK(src.problems().empty());
  CHECK(max_conn == 16);
  CHECK(size == 50);
  CHECK(props.at("sasl.username") == "bob");
  CHECK(src.unknown_keys().empty());
}

TEST_CASE("an override that matches no key is reported; other IB_ variables are not ours",
          "[config][unit]") {
  ConfigSource src("batch:\n  size: 1\n", "test.yaml",
                   {{"IB_BATCH__SIZE", "5"},
                    {"IB_BATCH__SIEZ", "7"},
                    {"IB_BUILD_DIR", "build"},
                    {"OTHER__THING", "x"}});
  int size = 0;
  src.read("batch.size", size);
  CHECK(size == 5);
  CHECK(src.unknown_keys() == std::vector<std::string>{"environment variable IB_BATCH__SIEZ"});
}

TEST_CASE("a removed key names its replacement instead of being just unknown", "[config][unit]") {
  ConfigSource src("send:\n  max_retry_after: 60s\n  max_in_flight: 2\nbatch:\n  size: 1\n", "old.yaml",
                   {{"IB_SEND__MAX_RETRY_AFTER", "30s"}});
  int size = 0, in_flight = 0;
  src.read("batch.size", size);
  src.read("send.max_in_flight", in_flight);
  src.reject_removed("send.max_retry_after", "d365.classify.max_retry_after");
  src.reject_removed("send.default_retry_after", "d365.classify.default_retry_after");  // not set: silent
  CHECK(src.problems() ==
        std::vector<std::string>{
            "send.max_retry_after: removed; use d365.classify.max_retry_after (old.yaml)",
            "send.max_retry_after: removed; use d365.classify.max_retry_after (environment variable "
            "IB_SEND__MAX_RETRY_AFTER, now IB_D365__CLASSIFY__MAX_RETRY_AFTER)"});
  CHECK(src.unknown_keys().empty());
  CHECK(in_flight == 2);
}

TEST_CASE("every problem is reported at once, naming the key and its source", "[config][unit]") {
  ConfigSource src(R"(
batch:
  size: many
  linger: soon
http:
  verify_tls: maybe
  pool: 3
  deadlin: 5s
mode: sideways
)",
                   "bad.yaml", {{"IB_DEDUP__TTL", "forever"}});
  int size = 100;
  std::chrono::milliseconds linger = 50ms, ttl = 1h, deadline = 1s;
  bool verify = true;
  int max_conn = 4;
  std::string mode = "create";
  src.read("batch.size", size);
  src.read("batch.linger", linger);
  src.read("http.verify_tls", verify);
  src.read("http.pool.max_connections", max_conn);
  src.read("http.deadline", deadline);
  src.read("dedup.ttl", ttl);
  src.read_enum("mode", mode, {"create", "upsert"});

  const auto& p = src.problems();
  CHECK(mentions(p, "batch.size (bad.yaml): expected an integer, got 'many'"));
  CHECK(mentions(p, "batch.linger"));
  CHECK(mentions(p, "http.verify_tls"));
  CHECK(mentions(p, "dedup.ttl (environment variable IB_DEDUP__TTL)"));
  CHECK(mentions(p, "mode: 'sideways' is not one of: create, upsert"));
  CHECK(p.size() == 5);
  // Defaults survive bad values.
  CHECK(size == 100);
  CHECK(mode == "create");
  // The typo and the scalar where a section was expected are unknown keys.
  const auto unknown = src.unknown_keys();
  CHECK(std::find(unknown.begin(), unknown.end(), "http.deadlin") != unknown.end());
  CHECK(std::find(unknown.begin(), unknown.end(), "http.pool") != unknown.end());
}

TEST_CASE("bad YAML and unreadable files are problems, not exceptions", "[config][unit]") {
  ConfigSource bad("http: [unclosed", "broken.yaml");
  REQUIRE(bad.problems().size() == 1);
  CHECK(mentions(bad.problems(), "broken.yaml: not valid YAML"));

  ConfigSource list("- a\n- b\n", "list.yaml");
  CHECK(mentions(list.problems(), "top level must be a mapping"));

  const auto missing = ConfigSource::from_file("/nonexistent/ib.yaml");
  CHECK(mentions(missing.problems(), "cannot read the configuration file"));

  ib::testing::TempDir dir;
  std::ofstream(dir.path() / "ok.yaml") << "batch:\n  size: 7\n";
  auto ok = ConfigSource::from_file(dir.path() / "ok.yaml");
  int size = 0;
  ok.read("batch.size", size);
  CHECK(ok.problems().empty());
  CHECK(size == 7);
}

TEST_CASE("durations and sizes parse their units exactly", "[config][unit]") {
  using ib::config::parse_bytes;
  using ib::config::parse_duration;
  CHECK(parse_duration("250") == 250ms);
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("5s") == 5s);
  CHECK(parse_duration("2m") == 2min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("7d") == std::chrono::hours(168));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("5w"));
  CHECK(parse_bytes("512") == 512u);
  CHECK(parse_bytes("64KiB") == 65536u);
  CHECK(parse_bytes("1GiB") == (1ULL << 30));
  CHECK(parse_bytes("10MB") == 10'000'000u);
  CHECK_FALSE(parse_bytes("10 MB"));
  CHECK_FALSE(parse_bytes("lots"));
  CHECK_FALSE(parse_bytes("99999999999999999999GiB"));
}
