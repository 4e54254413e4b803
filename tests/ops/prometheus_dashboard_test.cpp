// Integration: what operators get on day one, proven against real parts. A real Prometheus
// server (Debian's binary) loads the shipped rule files of deploy/prometheus and scrapes a
// real `invoice-bridge run` process, which consumes from the real Kafka broker (ctest
// fixture) and sends to the D365 simulator (with 503s and service protection limits). The
// stream has a known share of upstream duplicates. Then:
//  - the counters Prometheus scraped equal what the simulator and the topics saw;
//  - every recording rule and every query of deploy/grafana/invoice-bridge.json (read from
//    the files, not copied) returns finite data; the duplicate rate of both equals the
//    true share;
//  - the alerts that this traffic must trigger are active, and no others that must not.
//
// Set IB_OPS_KEEP_TSDB=DIR to keep Prometheus' storage of the run in DIR (for
// scripts/render-dashboard.py, which draws docs/dashboard.png from it).
#include "../app/daemon_harness.hpp"
#include "../app/daemon_process.hpp"
#include "../app/sim_checks.hpp"
#include "kafka/admin.hpp"
#include "prometheus_server.hpp"
#include "sim/simulator.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <regex>
#include <set>

using namespace std::chrono_literals;
using namespace ib;
using namespace ib::testing::daemon;
using ib::testing::ops::PrometheusServer;
using ib::testing::ops::read_file;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = IB_SOURCE_DIR;

std::string invoice_json(int i, int amount_shift = 0) {
  return R"({"vendor_account":"V)" + std::to_string(i % 7) + R"(","invoice_number":"INV/)" +
         std::to_string(i) + R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" +
         std::to_string(100 + i % 50 + amount_shift) + ".25}";
}

// The "metrics" address of the daemon's "invoice-bridge running" log line.
std::string metrics_address(const std::string& log) {
  static const std::regex re(R"re("metrics":"http://([0-9.]+:[0-9]+))re");
  std::smatch m;
  return std::regex_search(log, m, re) ? m[1].str() : std::string();
}

// Every panel of the dashboard, rows' nested panels included.
void collect_panels(const json::array& panels, std::vector<json::object>& out) {
  for (const auto& p : panels) {
    const auto& o = p.as_object();
    out.push_back(o);
    if (const auto* nested = o.if_contains("panels")) collect_panels(nested->as_array(), out);
  }
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// Grafana's variable interpolation for the variables the dashboard uses; longest names
// first so `$__range` does not eat `$__rate_interval`.
std::string interpolate(std::string expr, const std::map<std::string, std::string>& vars) {
  std::vector<std::pair<std::string, std::string>> sorted(vars.begin(), vars.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [name, value] : sorted) {
    expr = replace_all(expr, "${" + name + "}", value);
    expr = replace_all(expr, "$" + name, value);
  }
  return expr;
}

bool all_finite(const std::vector<ib::testing::ops::Sample>& samples) {
  return std::all_of(samples.begin(), samples.end(), [](const auto& s) { return std::isfinite(s.value); });
}

}  // namespace

TEST_CASE("Prometheus scrapes a daemon run: rules, dashboard queries and alerts give the true numbers",
          "[ops][prometheus][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("ops-prom");
  ib::testing::TempDir dir("ib-ops-prom");

  sim::SimOptions o;
  o.faults.operation_latency_ms = 1;  // 50 ms a full batch: batches overlap
  o.faults.operation_error_probability = 0.02;
  o.faults.error_statuses = {503};
  o.limits.enabled = true;  // one request at a time: overlapping batches get 429
  o.limits.max_concurrent = 1;
  o.limits.max_requests = 0;
  o.limits.retry_after_seconds = 1;
  o.limits.retry_after_extension_seconds = 0;
  sim::Simulator sim(o);

  // The stream: kUnique valid invoices; an exact upstream copy of every 10th, right behind
  // it; a different version (conflict) of every 100th at the end; kInvalid poison pills.
  // IB_OPS_UNIQUE (a multiple of 100) makes a longer run, for the picture of docs/dashboard.png.
  const int kUnique = std::getenv("IB_OPS_UNIQUE") ? std::atoi(std::getenv("IB_OPS_UNIQUE")) : 1000;
  REQUIRE((kUnique > 0 && kUnique % 100 == 0));
  const int kCopies = kUnique / 10, kConflicts = kUnique / 100, kInvalid = kUnique / 50;
  const int kInput = kUnique + kCopies + kConflicts + kInvalid;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < kUnique; ++i) {
    records.emplace_back("k" + std::to_string(i), invoice_json(i));
    if (i % 10 == 0) records.emplace_back("k" + std::to_string(i), invoice_json(i));
    if (i % 50 == 25) records.emplace_back("bad" + std::to_string(i), "{\"vendor_account\": not json");
  }
  for (int i = 0; i < kUnique; i += 100) records.emplace_back("k" + std::to_string(i), invoice_json(i, 7));
  REQUIRE(records.size() == static_cast<std::size_t>(kInput));
  const double true_share = static_cast<double>(kCopies) / kInput;

  // The input topic exists before the daemon subscribes: the invoices are produced only
  // after Prometheus has scraped the daemon once.
  const auto made = kafka::ensure_topics({{"bootstrap.servers", bootstrap}}, {{name, 4, 1, {}}}, 30s);
  INFO("creating the input topic: " << (made ? std::string("ok") : made.error().message));
  REQUIRE(made.has_value());
  const auto config = write_config(dir.path(), bootstrap, name, sim.base_url(), "5s");
  DaemonProcess daemon(config, dir.path() / "daemon.log");
  REQUIRE(daemon.wait_running(60s));
  const auto target = metrics_address(daemon.log_text());
  REQUIRE_FALSE(target.empty());

  std::ostringstream prom_config;
  prom_config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
              << "rule_files:\n";
  std::vector<fs::path> rule_files;
  for (const auto& e : fs::directory_iterator(kSource / "deploy/prometheus")) {
    if (e.path().extension() == ".yml") rule_files.push_back(e.path());
  }
  std::sort(rule_files.begin(), rule_files.end());
  REQUIRE(rule_files.size() >= 2);
  for (const auto& f : rule_files) prom_config << "  - " << f.string() << "\n";
  prom_config << "scrape_configs:\n  - job_name: invoice-bridge\n    static_configs:\n"
              << "      - targets: ['" << target << "']\n";
  const fs::path prom_dir = dir.path() / "prometheus";
  fs::create_directories(prom_dir);
  PrometheusServer prom(prom_dir, prom_config.str());
  if (!prom.wait_ready(30s)) FAIL("Prometheus did not start; its log: " << read_file(prom.log_path()));
  const auto started = std::chrono::steady_clock::now();

  // The first scrape sees the counters at zero, before any invoice exists: rates over the
  // run then cover every message.
  REQUIRE(wait_for([&] { return prom.value("up{job=\"invoice-bridge\"}") == 1.0; }, 30s));
  REQUIRE(prom.value("ib_messages_consumed_total{topic_kind=\"input\"}") == 0.0);

  // In waves a second apart (one per 250 invoices), so the graphs show traffic over time.
  const std::size_t waves = kUnique / 250 + 1;
  for (std::size_t w = 0; w < waves; ++w) {
    const auto from = records.begin() + static_cast<std::ptrdiff_t>(records.size() * w / waves);
    const auto to = records.begin() + static_cast<std::ptrdiff_t>(records.size() * (w + 1) / waves);
    produce_all(bootstrap, name, {from, to});
    if (w + 1 < waves) std::this_thread::sleep_for(1s);
  }
  const bool finished = wait_for([&] {
    return all_imported_and_committed(sim, kUnique, bootstrap, name + "-group", name, name + ".retry");
  }, std::chrono::seconds(60 + kUnique / 100));
  if (!finished) {
    const auto log = daemon.log_text();
    FAIL("not all imported and committed; simulator: " << sim.stats_json() << "\ndaemon log (end): "
         << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
  }
  check_created_once(sim, kUnique);
  const auto stats = sim.stats();

  // Prometheus has scraped the final counters once both outcome totals have arrived, and
  // the lag gauge once the consumer loop has published it.
  const auto total = [&](const std::string& outcome) {
    return prom.value("sum(ib_invoices_total{outcome=\"" + outcome + "\"})");
  };
  REQUIRE(wait_for([&] {
    return total("imported") == double(kUnique) && total("duplicate") == double(kCopies) &&
           total("conflict") == double(kConflicts) && total("invalid") == double(kInvalid) &&
           !prom.query("ib_consumer_lag_messages").empty();
  }, 30s));
  // The recording rules evaluated after that scrape (evaluation every second).
  const auto final_scrape = prom.value("max(timestamp(ib_invoices_total))");
  REQUIRE(final_scrape);
  REQUIRE(wait_for([&] {
    const auto t = prom.value("min(timestamp(instance:ib_duplicate_ratio:rate5m))");
    return t && *t > *final_scrape;
  }, 30s));

  {
    // What Prometheus holds is what happened, exactly.
    CHECK(prom.value("ib_messages_consumed_total{topic_kind=\"input\"}") == double(kInput));
    CHECK(total("recovered") == 0.0);
    CHECK(total("rejected") == 0.0);
    CHECK(total("exhausted") == 0.0);
    CHECK(total("retried") == double(stats.injected_errors));
    CHECK(prom.value("ib_messages_consumed_total{topic_kind=\"retry\"}") == total("retried"));
    CHECK(prom.value("ib_throttle_events_total") == double(stats.throttled));
    CHECK(prom.value("sum(ib_d365_responses_total{status=\"503\"})") == double(stats.injected_errors));
    CHECK(prom.value("ib_batch_size_count") == double(stats.requests));
    const auto review = read_topic(bootstrap, name + ".review", kConflicts + kInvalid);
    CHECK(review.size() == static_cast<std::size_t>(kConflicts + kInvalid));
  }

  // Every rule of the shipped files loaded and evaluates without error; every recording
  // rule returns finite data.
  const auto rules = prom.api("/api/v1/rules");
  std::set<std::string> files, recorded;
  int alerting = 0;
  for (const auto& g : rules.at("groups").as_array()) {
    files.insert(std::string(g.at("file").as_string()));
    for (const auto& r : g.at("rules").as_array()) {
      const std::string rule_name(r.at("name").as_string());
      INFO("rule " << rule_name << ": " << json::serialize(r));
      CHECK(r.at("health").as_string() == "ok");
      if (r.at("type").as_string() == "recording") {
        recorded.insert(rule_name);
      } else {
        ++alerting;
      }
    }
  }
  CHECK(files.size() == rule_files.size());
  CHECK(alerting >= 8);
  REQUIRE(recorded.size() >= 10);
  for (const auto& r : recorded) {
    const auto samples = prom.query(r);
    INFO("recording rule " << r);
    CHECK_FALSE(samples.empty());
    CHECK(all_finite(samples));
  }
  const auto recorded_share = prom.value("instance:ib_duplicate_ratio:rate5m");
  REQUIRE(recorded_share);
  CHECK(std::abs(*recorded_share - true_share) < 0.005);
  const auto job_share = prom.value("job:ib_duplicate_ratio:rate5m");
  REQUIRE(job_share);
  CHECK(std::abs(*job_share - true_share) < 0.005);

  // The dashboard as Grafana would run it: template variables from their own queries,
  // the time range and rate interval covering the whole run.
  const auto dashboard = json::parse(read_file(kSource / "deploy/grafana/invoice-bridge.json")).as_object();
  const auto span = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
  const std::string window = std::to_string(span.count() + 5) + "s";
  std::map<std::string, std::string> vars = {
      {"__rate_interval", window}, {"__range", window}, {"__interval", "1s"}};
  static const std::regex label_values(R"(^label_values\((.*),\s*(\w+)\)$)");
  const std::map<std::string, std::string> wanted = {{"job", "invoice-bridge"}, {"instance", target}};
  for (const auto& v : dashboard.at("templating").at("list").as_array()) {
    if (v.at("type").as_string() != "query") continue;
    const std::string var(v.at("name").as_string());
    const std::string q(v.at("query").at("query").as_string());
    std::smatch m;
    const auto resolved = interpolate(q, vars);
    INFO("variable " << var << ": " << resolved);
    REQUIRE(std::regex_match(resolved, m, label_values));
    std::set<std::string> values;
    for (const auto& s : prom.query("group by (" + m[2].str() + ") (" + m[1].str() + ")")) {
      values.insert(s.labels.at(m[2].str()));
    }
    REQUIRE(wanted.count(var) == 1);
    CHECK(values.count(wanted.at(var)) == 1);
    vars[var] = wanted.at(var);
  }
  REQUIRE(vars.count("job") == 1);
  REQUIRE(vars.count("instance") == 1);

  std::vector<json::object> panels;
  collect_panels(dashboard.at("panels").as_array(), panels);
  int queries = 0;
  std::optional<double> panel_share;
  for (const auto& p : panels) {
    if (p.at("type").as_string() == "row") continue;
    const std::string title(p.at("title").as_string());
    REQUIRE(p.contains("targets"));
    for (const auto& t : p.at("targets").as_array()) {
      const auto expr = interpolate(std::string(t.at("expr").as_string()), vars);
      INFO("panel \"" << title << "\": " << expr);
      CHECK(expr.find('$') == std::string::npos);
      const auto samples = prom.query(expr);
      CHECK_FALSE(samples.empty());
      CHECK(all_finite(samples));
      ++queries;
      if (title == "Upstream duplicate rate" && samples.size() == 1) panel_share = samples.front().value;
      if (title == "Duplicate share over the time range") {
        REQUIRE(samples.size() == 1);
        CHECK(std::abs(samples.front().value - true_share) < 0.005);
      }
      if (title == "Review entries over the time range") {
        REQUIRE(samples.size() == 1);
        // increase() extrapolates to the window's end: up to about one scrape interval more
        // than the few seconds the run lasted, so a little above the exact count.
        CHECK(samples.front().value >= kConflicts + kInvalid - 0.01);
        CHECK(samples.front().value < 1.25 * (kConflicts + kInvalid));
      }
    }
  }
  CHECK(queries >= 20);
  REQUIRE(panel_share);
  CHECK(std::abs(*panel_share - true_share) < 0.005);

  // This traffic must trigger exactly these alerts for the member: 8.8% duplicates
  // (pending: `for: 15m`) and new review entries (firing at once); the daemon is up.
  std::map<std::string, std::string> active;
  const auto alerts = prom.api("/api/v1/alerts");
  for (const auto& a : alerts.at("alerts").as_array()) {
    active[std::string(a.at("labels").at("alertname").as_string())] = std::string(a.at("state").as_string());
  }
  CHECK(active["IbDuplicateRateHigh"] == "pending");
  CHECK(active["IbReviewTopicGrowing"] == "firing");
  CHECK(active.count("IbDaemonDown") == 0);
  CHECK(active.count("IbDaemonFlapping") == 0);
  CHECK(active.count("IbRetriesExhausted") == 0);
  CHECK(active.count("IbStoreNearFull") == 0);
  CHECK(active.count("IbConsumerLagGrowing") == 0);

  daemon.signal(SIGTERM);
  CHECK(daemon.wait(30s) == 0);
  prom.stop();
  if (const char* keep = std::getenv("IB_OPS_KEEP_TSDB")) {
    fs::remove_all(keep);
    fs::copy(prom_dir / "data", keep, fs::copy_options::recursive);
  }
}
