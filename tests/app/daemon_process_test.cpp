// Integration: the `invoice-bridge run` process as an operator runs it (a YAML config file,
// JSON logs on stderr), killed with SIGKILL mid-run and restarted, and stopped with
// SIGTERM; against the real Kafka broker, the simulator over real sockets and RocksDB on
// disk. Checks invariants 1-3 of ARCHITECTURE.md after the fact: the simulator's
// creates-per-key histogram, the review topic and the group's committed offsets.
#include "daemon_harness.hpp"
#include "daemon_process.hpp"
#include "kafka/headers.hpp"
#include "kafka/topic_reader.hpp"
#include "sim/simulator.hpp"
#include "sim_checks.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"
#include "testing/tls_pki.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>

using namespace std::chrono_literals;
using namespace ib;
using namespace ib::testing::daemon;

namespace {

std::string invoice_json(int i) {
  return R"({"vendor_account":"V)" + std::to_string(i % 7) + R"(","invoice_number":"INV/)" +
         std::to_string(i) + R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" +
         std::to_string(100 + i % 50) + ".25}";
}

// Lets a running daemon finish every invoice, then stops it with SIGTERM (exit 0 expected);
// whether everything was imported and committed before the stop.
bool finish_then_stop(DaemonProcess& daemon, const sim::Simulator& sim, std::uint64_t unique,
                      const std::string& bootstrap, const std::string& name) {
  const bool finished = wait_for(
      [&] { return all_imported_and_committed(sim, unique, bootstrap, name + "-group", name, name + ".retry"); },
      120s);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(30s) == 0);
  return finished;
}

}  // namespace

TEST_CASE("SIGKILL mid-run, twice, then restart: nothing lost, nothing created twice",
          "[app][daemon][process][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("proc-kill");
  ib::testing::TempDir dir;
  sim::SimOptions o;
  o.faults.operation_latency_ms = 1;  // 50 ms a batch: work is always in flight
  o.faults.operation_error_probability = 0.03;
  o.faults.operation_applied_then_failed_probability = 0.02;
  o.faults.error_statuses = {503};
  sim::Simulator sim(o);

  constexpr int kUnique = 3000;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < kUnique; ++i) {
    records.emplace_back("k" + std::to_string(i), invoice_json(i));
    if (i % 10 == 0) records.emplace_back("k" + std::to_string(i), invoice_json(i));  // upstream copy
  }
  produce_all(bootstrap, name, records);
  const auto config = write_config(dir.path(), bootstrap, name, sim.base_url(), "5s");

  // Killed twice without warning, at different points of the run.
  for (const std::uint64_t kill_at : {800u, 1800u}) {
    DaemonProcess daemon(config, dir.path() / "daemon.log");
    REQUIRE(daemon.wait_running(60s));
    const bool reached = wait_for([&] { return sim.stats().records >= kill_at; }, 90s);
    daemon.signal(SIGKILL);
    CHECK(daemon.wait(10s) == 128 + SIGKILL);
    REQUIRE(reached);
  }
  // The third run finishes the job and stops in order.
  DaemonProcess daemon(config, dir.path() / "daemon.log");
  REQUIRE(daemon.wait_running(60s));
  CHECK(finish_then_stop(daemon, sim, kUnique, bootstrap, name));

  check_created_once(sim, kUnique);
  // Applied-then-failed and killed in-flight batches came back as "duplicate" answers; none
  // of them may reach manual review.
  CHECK(read_topic(bootstrap, name + ".review", 0).empty());
  CHECK(all_committed(bootstrap, name + "-group", {name, name + ".retry"}));

  // The log: one JSON object a line (a SIGKILL may cut the last line of a run short), with
  // ts/level/msg, and the dedup key on every invoice-level line.
  std::istringstream log(daemon.log_text());
  int lines = 0, unparsed = 0, invoice_lines = 0;
  for (std::string line; std::getline(log, line);) {
    ++lines;
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    if (ec || !value.is_object()) {
      ++unparsed;
      continue;
    }
    const auto& o = value.as_object();
    CHECK(o.contains("ts"));
    CHECK(o.contains("level"));
    REQUIRE(o.contains("msg"));
    const std::string msg(o.at("msg").as_string());
    if (msg.find("retry topic") != std::string::npos || msg.find("manual review") != std::string::npos) {
      ++invoice_lines;
      INFO(line);
      CHECK(o.contains("dedup_key"));
    }
  }
  CHECK(lines > 10);
  CHECK(unparsed <= 2);      // at most the line each SIGKILL cut
  CHECK(invoice_lines > 0);  // the injected 503s were logged per invoice
}

TEST_CASE("SIGTERM mid-run: exit 0 within the drain deadline, offsets committed for durable work only",
          "[app][daemon][process][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("proc-term");
  ib::testing::TempDir dir;
  sim::SimOptions o;
  o.faults.operation_latency_ms = 2;  // 100 ms a batch of 50
  // OAuth2 client credentials as against Entra ID, the secret in a mounted file.
  o.auth.enabled = true;
  o.auth.client_secret = "Zx9-process-test-secret~value";
  sim::Simulator sim(o);
  const auto secret_file = dir.path() / "client-secret";
  std::ofstream(secret_file) << o.auth.client_secret << "\n";
  const std::string auth = "  auth:\n    mode: client_credentials\n    token_url: " + sim.base_url() +
                           "/contoso/oauth2/v2.0/token\n    client_id: " + o.auth.client_id +
                           "\n    client_secret_file: " + secret_file.string() +
                           "\n    scope: https://contoso.crm.dynamics.com/.default\n";

  constexpr int kUnique = 4000;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < kUnique; ++i) records.emplace_back("k" + std::to_string(i), invoice_json(i));
  produce_all(bootstrap, name, records);
  // A small backlog bound: at the SIGTERM most invoices are still unconsumed on the topic.
  // Debug logs: the most a log can say, and still no secret or token in it.
  const auto config = write_config(dir.path(), bootstrap, name, sim.base_url(), "5s", 400, auth, "debug");

  {
    DaemonProcess daemon(config, dir.path() / "daemon.log");
    REQUIRE(daemon.wait_running(60s));
    REQUIRE(wait_for([&] { return sim.stats().records >= 500; }, 90s));
    const auto signalled = SteadyClock::now();
    daemon.signal(SIGTERM);
    const auto rc = daemon.wait(30s);
    const auto took = SteadyClock::now() - signalled;
    CHECK(rc == 0);
    // Drain deadline 5 s, plus the consumer's close (commit, leave group) and the producer's flush.
    CHECK(took < 5s + 5s);
    const auto log = daemon.log_text();
    CHECK(log.find("\"draining in-flight work\"") != std::string::npos);
    CHECK(log.find("\"invoice-bridge stopped\"") != std::string::npos);
    CHECK(log.find("d365 auth: client credentials") != std::string::npos);
    CHECK(log.find(o.auth.client_secret) == std::string::npos);
    CHECK(log.find("Bearer") == std::string::npos);
    CHECK(log.find("eyJ") == std::string::npos);  // no JWT-looking token either
  }
  CHECK(sim.stats().unauthorized == 0);
  CHECK(sim.stats().records < kUnique);  // stopped mid-run

  // Every message below a committed offset has a durable outcome: its invoice is in D365.
  const auto committed = committed_offsets(bootstrap, name + "-group");
  REQUIRE(committed.has_value());
  kafka::TopicReadOptions read;
  read.properties["bootstrap.servers"] = bootstrap;
  const auto input = kafka::read_topic_snapshot(name, read);
  REQUIRE(input.has_value());
  std::set<std::string> created;
  for (const auto& r : sim.records()) {
    std::string joined;
    for (const auto& k : r.key) joined += k + "|";
    created.insert(joined);
  }
  std::int64_t committed_total = 0;
  for (const auto& [tp, offset] : *committed) {
    if (tp.first == name) committed_total += offset;
  }
  CHECK(committed_total >= 500);  // the run's progress was committed at the stop
  int below_commit = 0;
  for (const auto& m : *input) {
    const auto it = committed->find({m.topic, m.partition});
    if (it == committed->end() || m.offset >= it->second) continue;
    ++below_commit;
    const auto i = std::stoi(m.key.substr(1));
    const auto key = "V" + std::to_string(i % 7) + "|INV/" + std::to_string(i) + "|";
    INFO(key);
    CHECK(created.count(key) == 1);
  }
  CHECK(below_commit == committed_total);

  // A restart finishes the rest; nothing is created twice.
  DaemonProcess daemon(config, dir.path() / "daemon2.log");
  REQUIRE(daemon.wait_running(60s));
  CHECK(finish_then_stop(daemon, sim, kUnique, bootstrap, name));
  check_created_once(sim, kUnique);
}

TEST_CASE("D365's certificate failing verification: the daemon stops with exit 2, nothing settled",
          "[app][daemon][process][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("proc-tls");
  ib::testing::TempDir dir;
  const auto pki = ib::testing::make_tls_pki(dir.path());
  sim::SimOptions o;
  o.tls = {pki.untrusted_cert.string(), pki.untrusted_key.string()};
  sim::Simulator sim(o);
  const auto host = "localhost:" + std::to_string(sim.port());

  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 20; ++i) records.emplace_back("k" + std::to_string(i), invoice_json(i));
  produce_all(bootstrap, name, records);
  const auto config = write_config(dir.path(), bootstrap, name, "https://" + host, "5s", 5000,
                                   "  tls:\n    ca_file: " + pki.ca.string() + "\n");
  DaemonProcess daemon(config, dir.path() / "daemon.log");
  const auto rc = daemon.wait(90s);
  INFO(daemon.log_text());
  CHECK(rc == 2);
  const auto log = daemon.log_text();
  CHECK(log.find("D365 unusable: TLS certificate verification failed for " + host +
                 ": unable to get local issuer certificate") != std::string::npos);
  CHECK(log.find("invoice-bridge stopped after a fatal error") != std::string::npos);
  CHECK(sim.stats().requests == 0);
  // Nothing was settled: no retry, no review, no committed offset of the input topic.
  CHECK(read_topic(bootstrap, name + ".retry", 0).empty());
  CHECK(read_topic(bootstrap, name + ".review", 0).empty());
  const auto committed = committed_offsets(bootstrap, name + "-group");
  REQUIRE(committed.has_value());
  for (const auto& [tp, offset] : *committed) {
    if (tp.first == name) CHECK(offset < 0);  // no offset stored (librdkafka reports -1001)
  }
}

TEST_CASE("a member SIGKILLed after its commits: its partitions move with their dedup state",
          "[app][daemon][process][integration][changelog]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("proc-move");
  ib::testing::TempDir dir1, dir2;  // each member its own store
  sim::Simulator sim(sim::SimOptions{});
  const auto config1 = write_config(dir1.path(), bootstrap, name, sim.base_url(), "5s");
  const auto config2 = write_config(dir2.path(), bootstrap, name, sim.base_url(), "5s");
  constexpr int kUnique = 200;
  constexpr int kConflicts = 40;

  // Member 1 creates the topics (input and changelog with 4 partitions), imports every
  // invoice, commits, and dies without warning.
  {
    DaemonProcess member1(config1, dir1.path() / "daemon.log");
    REQUIRE(member1.wait_running(60s));
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < kUnique; ++i) records.emplace_back("k" + std::to_string(i), invoice_json(i));
    produce_all(bootstrap, name, records);
    REQUIRE(wait_for([&] { return all_imported_and_committed(sim, kUnique, bootstrap, name + "-group", name,
                                                            name + ".retry"); },
                     120s));
    member1.signal(SIGKILL);
    CHECK(member1.wait(10s) == 128 + SIGKILL);
  }
  const auto operations_before = sim.stats().operations;

  // Member 2, with an empty store, takes over every partition and restores it. Late exact
  // copies are duplicates, late copies with another amount go to review: no API request.
  DaemonProcess member2(config2, dir2.path() / "daemon.log");
  REQUIRE(member2.wait_running(60s));
  std::vector<std::pair<std::string, std::string>> late;
  for (int i = 0; i < kUnique; ++i) late.emplace_back("k" + std::to_string(i), invoice_json(i));
  for (int i = 0; i < kConflicts; ++i) {
    auto changed = invoice_json(i);
    changed.replace(changed.find("\"amount\":"), 9, "\"amount\":9");  // amount 9xxx.25
    late.emplace_back("k" + std::to_string(i), changed);
  }
  produce_all(bootstrap, name, late);
  const auto reviews = read_topic(bootstrap, name + ".review", kConflicts);
  REQUIRE(wait_for([&] { return all_committed(bootstrap, name + "-group", {name, name + ".retry"}); }, 120s));
  member2.signal(SIGTERM);
  CHECK(member2.wait(30s) == 0);

  check_created_once(sim, kUnique);
  CHECK(sim.stats().operations == operations_before);
  CHECK(reviews.size() == static_cast<std::size_t>(kConflicts));
  std::set<std::string> reviewed;
  for (const auto& [payload, headers] : reviews) {
    CHECK(ib::core::find_last_header(headers, ib::kafka::header::kReviewReason).value_or("") == "conflict");
    reviewed.insert(payload);
  }
  CHECK(reviewed.size() == static_cast<std::size_t>(kConflicts));  // each conflict once
  const auto log = member2.log_text();
  CHECK(log.find("changelog restore finished") != std::string::npos);
  CHECK(log.find("\"keys\":\"0\"") == std::string::npos);  // no assigned partition was empty
}
