#include "app/daemon_config.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace std::chrono_literals;

namespace {

std::string write(const ib::testing::TempDir& dir, const std::string& text) {
  const auto path = (dir.path() / "config.yaml").string();
  std::ofstream(path) << text;
  return path;
}

bool mentions(const std::vector<std::string>& problems, std::string_view needle) {
  for (const auto& p : problems) {
    if (p.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("an empty config file gives the documented defaults", "[app][config][unit]") {
  ib::testing::TempDir dir;
  const auto loaded = ib::app::load_daemon_config(write(dir, "# defaults\n"), {});
  CHECK(loaded.problems.empty());
  const auto& c = loaded.config;
  CHECK(c.consumer.bootstrap_servers == "127.0.0.1:9092");
  CHECK(c.consumer.topics == std::vector<std::string>{"invoices", "invoices.retry"});
  CHECK(c.loop.retry_topic == "invoices.retry");
  CHECK(c.pipeline.batch.max_items == 100);
  CHECK(c.pipeline.batch.linger == 50ms);
  CHECK(c.pipeline.aimd.max_in_flight == 4);
  CHECK(c.pipeline.max_retries() == 3);
  CHECK(c.pipeline.backoff.initial == 1s);
  CHECK(c.dedup.ttl == std::chrono::hours(168));
  CHECK(c.metrics.port == 9464);
}

TEST_CASE("file values and environment overrides reach every module's struct",
          "[app][config][unit]") {
  ib::testing::TempDir dir;
  const auto path = write(dir, R"(
log: {level: debug, format: text}
kafka:
  bootstrap_servers: broker-1:9093,broker-2:9093
  group_id: ap-import
  properties: {security.protocol: SASL_SSL, sasl.mechanism: PLAIN}
  consumer: {properties: {fetch.max.bytes: "1048576"}}
  topics: {input: ap.invoices, retry: ap.invoices.retry, review: ap.invoices.review}
dedup: {path: /data/dedup, ttl: 14d, fsync: always}
batch: {max_items: 250, linger: 20ms, max_bytes: 2MiB}
send: {max_in_flight: 8}
retry: {max_attempts: 6, initial: 500ms}
metrics: {port: 9100}
)");
  const auto loaded = ib::app::load_daemon_config(
      path, {{"IB_KAFKA__GROUP_ID", "from-env"}, {"IB_BATCH__MAX_ITEMS", "300"}});
  INFO(loaded.problems.size());
  CHECK(loaded.problems.empty());
  const auto& c = loaded.config;
  CHECK(c.log.level == ib::log::Level::debug);
  CHECK(c.log.format == ib::log::Format::text);
  CHECK(c.consumer.bootstrap_servers == "broker-1:9093,broker-2:9093");
  CHECK(c.producer.bootstrap_servers == "broker-1:9093,broker-2:9093");
  CHECK(c.consumer.group_id == "from-env");
  CHECK(c.consumer.properties.at("sasl.mechanism") == "PLAIN");
  CHECK(c.consumer.properties.at("fetch.max.bytes") == "1048576");
  CHECK(c.producer.properties.at("security.protocol") == "SASL_SSL");
  CHECK(c.producer.properties.count("fetch.max.bytes") == 0);
  CHECK(c.consumer.topics == std::vector<std::string>{"ap.invoices", "ap.invoices.retry"});
  CHECK(c.topics.review == "ap.invoices.review");
  CHECK(c.loop.retry_topic == "ap.invoices.retry");
  CHECK(c.dedup.path == "/data/dedup");
  CHECK(c.dedup.ttl == std::chrono::hours(24 * 14));
  CHECK(c.dedup.fsync == ib::dedup::FsyncPolicy::always);
  CHECK(c.pipeline.batch.max_items == 300);
  CHECK(c.pipeline.batch.max_bytes == 2u << 20);
  CHECK(c.pipeline.aimd.max_in_flight == 8);
  CHECK(c.pipeline.max_retries() == 5);
  CHECK(c.metrics.port == 9100);
}

TEST_CASE("every problem of a bad config file is reported at once", "[app][config][unit]") {
  ib::testing::TempDir dir;
  const auto path = write(dir, R"(
log: {level: chatty}
kafka:
  topics: {input: same, retry: same}
  consumer: {auto_offset_reset: middle}
dedup: {ttl: forever, fsync: sometimes}
batch: {max_items: 5000}
retry: {max_attempts: 0}
metrics: {port: 70000}
bacth: {linger: 5ms}
)");
  const auto loaded = ib::app::load_daemon_config(path, {});
  const auto& p = loaded.problems;
  CHECK(mentions(p, "log.level: 'chatty' is not one of"));
  CHECK(mentions(p, "kafka.consumer.auto_offset_reset: 'middle'"));
  CHECK(mentions(p, "dedup.ttl (" ));
  CHECK(mentions(p, "dedup.fsync: 'sometimes'"));
  CHECK(mentions(p, "batch.max_items must not exceed the server's limit"));
  CHECK(mentions(p, "retry.max_attempts"));
  CHECK(mentions(p, "metrics.port: must be between 0 and 65535"));
  CHECK(mentions(p, "bacth.linger: unknown key"));
  CHECK(mentions(p, "'same' is used twice"));
  CHECK(p.size() >= 9);
}

TEST_CASE("a removed key fails the load and names the key that replaced it", "[app][config][unit]") {
  ib::testing::TempDir dir;
  const auto path = write(dir, R"(
send: {max_in_flight: 2, default_retry_after: 10s, max_retry_after: 60s}
d365: {odata: {max_requests: 200}}
)");
  const auto loaded = ib::app::load_daemon_config(path, {});
  const auto& p = loaded.problems;
  CHECK(mentions(p, "send.default_retry_after: removed; use d365.classify.default_retry_after"));
  CHECK(mentions(p, "send.max_retry_after: removed; use d365.classify.max_retry_after"));
  CHECK(mentions(p, "d365.odata.max_requests: removed; use batch.max_items"));
  CHECK_FALSE(mentions(p, "unknown key"));
  CHECK(p.size() == 3);
  // The same through an environment override.
  const auto env = ib::app::load_daemon_config(write(dir, "# defaults\n"), {{"IB_D365__ODATA__MAX_REQUESTS", "200"}});
  CHECK(mentions(env.problems, "d365.odata.max_requests: removed; use batch.max_items (environment variable "
                               "IB_D365__ODATA__MAX_REQUESTS, now IB_BATCH__MAX_ITEMS)"));
  CHECK(env.problems.size() == 1);
}

TEST_CASE("a missing config file is one clear problem", "[app][config][unit]") {
  const auto loaded = ib::app::load_daemon_config("/nonexistent/invoice-bridge.yaml", {});
  REQUIRE_FALSE(loaded.problems.empty());
  CHECK(mentions(loaded.problems, "/nonexistent/invoice-bridge.yaml: cannot read"));
}

TEST_CASE("check_daemon_config: every module's problems with their lines, then the host checks",
          "[app][config][unit]") {
  ib::testing::TempDir dir;
  const auto secret = (dir.path() / "no-secret").string();
  const auto store = (dir.path() / "missing" / "dedup").string();
  const auto path = write(dir, "metrics:\n  port: 70000\ndedup:\n  path: " + store +
                                   "\nd365:\n  auth:\n    mode: client_credentials\n    tenant: t\n"
                                   "    client_id: c\n    scope: s\n    client_secret_file: " + secret + "\n");
  const auto checked = ib::app::check_daemon_config(path, {});
  CHECK(checked.problems ==
        std::vector<std::string>{"metrics.port (" + path + ":2): must be between 0 and 65535, got 70000",
                                 "dedup.path (" + path + ":4): " + store + ": the parent directory " +
                                     (dir.path() / "missing").string() + " does not exist",
                                 "d365.auth.client_secret_file (" + path + ":11): " + secret + ": no such file"});
  CHECK(checked.warnings.empty());
  // Without the host checks, and in load_daemon_config (the tools' loader), the file only.
  CHECK(ib::app::check_daemon_config(path, {}, false).problems ==
        std::vector<std::string>{"metrics.port (" + path + ":2): must be between 0 and 65535, got 70000"});
  CHECK(ib::app::load_daemon_config(path, {}).problems ==
        std::vector<std::string>{"metrics.port: must be between 0 and 65535, got 70000"});
  // An unreadable config file is one problem, not also the defaults' paths.
  CHECK(ib::app::check_daemon_config((dir.path() / "none.yaml").string(), {}).problems.size() == 1);
}

TEST_CASE("the changelog and static membership keys: defaults, file and environment",
          "[app][config][unit][changelog]") {
  ib::testing::TempDir dir;
  const auto defaults = ib::app::load_daemon_config(write(dir, "kafka: {topics: {input: ap.invoices}}\n"), {});
  CHECK(defaults.problems.empty());
  CHECK(defaults.config.dedup.changelog);
  CHECK(defaults.config.topics.changelog_topic() == "ap.invoices.dedup-changelog");
  CHECK(defaults.config.consumer.group_instance_id.empty());

  const auto path = write(dir, R"(
kafka:
  topics: {input: ap.invoices, changelog: ap.dedup-log}
dedup: {changelog: false}
)");
  const auto loaded = ib::app::load_daemon_config(path, {{"IB_KAFKA__CONSUMER__GROUP_INSTANCE_ID", "invoice-bridge-2"}});
  CHECK(loaded.problems.empty());
  CHECK_FALSE(loaded.config.dedup.changelog);
  CHECK(loaded.config.topics.changelog_topic() == "ap.dedup-log");
  CHECK(loaded.config.consumer.group_instance_id == "invoice-bridge-2");

  const auto clash = ib::app::load_daemon_config(write(dir, "kafka: {topics: {changelog: invoices.review}}\n"), {});
  REQUIRE(clash.problems.size() == 1);
  CHECK(clash.problems[0].find("kafka.topics.changelog: must differ from kafka.topics.review") != std::string::npos);
}
