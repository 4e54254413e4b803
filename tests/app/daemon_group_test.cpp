// Integration: three (then four) `invoice-bridge run` processes in one consumer group, each
// with its own RocksDB store, against the real broker and the simulator over sockets.
// Members are killed (SIGKILL after commits), leave in order (SIGTERM) and join mid-stream;
// afterwards late exact and conflicting copies of invoices imported by members that are
// gone arrive. Checks the exact outcome of every invoice (issue 13's proof): each unique
// invoice created once with its first content, each conflict in review (repeats only where
// a SIGKILL allows them, and counted), each exact copy a duplicate, and no API request for
// a key the group already knew.
#include "daemon_harness.hpp"
#include "daemon_process.hpp"
#include "kafka/headers.hpp"
#include "sim/simulator.hpp"
#include "sim_checks.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <memory>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>

using namespace std::chrono_literals;
using namespace ib;
using namespace ib::testing::daemon;

namespace {

std::string invoice_json(int i, int amount) {
  return R"({"vendor_account":"V)" + std::to_string(i % 7) + R"(","invoice_number":"INV/)" +
         std::to_string(i) + R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" +
         std::to_string(amount) + ".25}";
}
std::string original(int i) { return invoice_json(i, 100 + i % 50); }
// Another amount for the same key: 9100.25 .. 9149.25, never an original amount.
std::string changed(int i) { return invoice_json(i, 9100 + i % 50); }
std::string key_of(int i) { return "k" + std::to_string(i); }

struct Member {
  std::unique_ptr<ib::testing::TempDir> dir = std::make_unique<ib::testing::TempDir>();
  std::filesystem::path config;
  std::unique_ptr<DaemonProcess> process;
  int runs = 0;

  void start() {
    process = std::make_unique<DaemonProcess>(config, dir->path() / ("daemon-" + std::to_string(++runs) + ".log"));
    REQUIRE(process->wait_running(60s));
  }
  void kill() {
    process->signal(SIGKILL);
    CHECK(process->wait(10s) == 128 + SIGKILL);
    process.reset();
  }
  void leave() {
    process->signal(SIGTERM);
    CHECK(process->wait(30s) == 0);
    process.reset();
  }
};

std::int64_t committed_total(const std::string& bootstrap, const std::string& group, const std::string& topic) {
  std::int64_t total = 0;
  if (auto c = committed_offsets(bootstrap, group)) {
    for (const auto& [tp, offset] : *c) {
      if (tp.first == topic && offset > 0) total += offset;
    }
  }
  return total;
}

}  // namespace

TEST_CASE("three members: kills, leaves and joins mid-stream; late copies of a gone member's invoices",
          "[app][daemon][process][integration][changelog]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("proc-group");
  const auto group = name + "-group";
  sim::SimOptions o;
  o.faults.operation_latency_ms = 4;  // 200 ms a batch: every rebalance meets work in flight
  sim::Simulator sim(o);

  std::map<char, Member> members;
  for (const char id : {'A', 'B', 'C', 'D'}) {
    members[id].config = write_config(members[id].dir->path(), bootstrap, name, sim.base_url(), "10s");
  }

  // ---- Phase 1: 2,000 unique invoices, an exact upstream copy of every 10th right behind
  // it, and a copy with another amount of every 25th some 100 messages later.
  constexpr int kUnique = 2000;
  std::vector<std::pair<std::string, std::string>> stream;
  std::set<std::string> conflicts;  // phase 1's conflicting payloads: each must reach review
  for (int i = 0; i < kUnique; ++i) {
    stream.emplace_back(key_of(i), original(i));
    if (i % 10 == 0) stream.emplace_back(key_of(i), original(i));
    if (const int j = i - 100; j >= 0 && j % 25 == 3) {
      stream.emplace_back(key_of(j), changed(j));
      conflicts.insert(changed(j));
    }
  }
  members['A'].start();  // creates the input, retry, review and changelog topics
  members['B'].start();
  members['C'].start();
  // The stream arrives in three slices, each event between two: the events always meet
  // a stream still going on, and batches in flight.
  const auto slice = [&](std::size_t k) {
    const auto n = stream.size();
    return std::vector<std::pair<std::string, std::string>>(stream.begin() + static_cast<long>(n * k / 3),
                                                            stream.begin() + static_cast<long>(n * (k + 1) / 3));
  };
  produce_all(bootstrap, name, slice(0));
  // A dies without warning once the group has committed work (some of it A's).
  REQUIRE(wait_for([&] { return sim.stats().records >= 400 && committed_total(bootstrap, group, name) > 0; }, 120s));
  members['A'].kill();
  produce_all(bootstrap, name, slice(1));
  // B leaves in order and D (an empty store) joins, while A's partitions may still wait
  // for its session to time out.
  REQUIRE(wait_for([&] { return sim.stats().records >= 900; }, 120s));
  members['B'].leave();
  members['D'].start();
  produce_all(bootstrap, name, slice(2));
  const bool phase1_done = wait_for(
      [&] { return all_imported_and_committed(sim, kUnique, bootstrap, group, name, name + ".retry"); }, 180s);
  REQUIRE(phase1_done);
  REQUIRE(sim.stats().records < static_cast<std::uint64_t>(kUnique) + 1);  // nothing beyond the uniques

  // ---- Phase 2: late copies of every invoice, in three waves. B rejoins with its old store
  // during the second, C leaves during the third. Every key is known to the group's
  // changelog, so none of this may reach D365. (i % 40 == 7 never meets j % 25 == 3: the
  // two phases' conflicts are different payloads.)
  std::set<std::string> late_conflicts;
  const auto before = sim.stats();
  std::vector<std::vector<std::pair<std::string, std::string>>> waves(3);
  for (int i = 0; i < kUnique; ++i) {
    auto& wave = waves[static_cast<std::size_t>(i % 3)];
    wave.emplace_back(key_of(i), original(i));
    if (i % 40 == 7) {
      wave.emplace_back(key_of(i), changed(i));
      late_conflicts.insert(changed(i));
    }
  }
  const auto all_done = [&] { return all_committed(bootstrap, group, {name, name + ".retry"}); };
  produce_all(bootstrap, name, waves[0]);
  REQUIRE(wait_for(all_done, 120s));
  members['B'].start();
  produce_all(bootstrap, name, waves[1]);
  REQUIRE(wait_for(all_done, 120s));
  produce_all(bootstrap, name, waves[2]);
  members['C'].leave();
  REQUIRE(wait_for(all_done, 120s));
  const auto reviews = read_topic(bootstrap, name + ".review", conflicts.size() + late_conflicts.size());
  members['B'].leave();
  members['D'].leave();

  // Every unique invoice created once, with its first content.
  check_created_once(sim, kUnique);
  const std::regex changed_amount(R"(91[0-4][0-9]\.25)");
  std::size_t records_with_changed_amount = 0;
  for (const auto& r : sim.records()) {
    if (std::regex_search(r.json, changed_amount)) ++records_with_changed_amount;
  }
  CHECK(records_with_changed_amount == 0);

  // No request for a known key: phase 2 cost D365 nothing.
  const auto after = sim.stats();
  CHECK(after.operations == before.operations);
  CHECK(after.duplicate_rejections == before.duplicate_rejections);
  CHECK(after.requests == before.requests);

  // Every conflict in review, nothing else there: exact copies were duplicates. A phase-1
  // conflict may be there more than once (its review record written, its offset not yet
  // committed when A was killed); a late one, with no SIGKILL around, exactly once.
  std::map<std::string, int> reviewed;
  for (const auto& [payload, headers] : reviews) {
    CHECK(ib::core::find_last_header(headers, ib::kafka::header::kReviewReason).value_or("") == "conflict");
    ++reviewed[payload];
  }
  std::set<std::string> reviewed_payloads;
  std::size_t repeats = 0;
  for (const auto& [payload, n] : reviewed) {
    reviewed_payloads.insert(payload);
    if (late_conflicts.count(payload)) {
      INFO(payload);
      CHECK(n == 1);
    } else {
      repeats += static_cast<std::size_t>(n - 1);
    }
  }
  std::set<std::string> expected = conflicts;
  expected.insert(late_conflicts.begin(), late_conflicts.end());
  CHECK(reviewed_payloads == expected);
  WARN("conflicts: " << expected.size() << ", review records: " << reviews.size()
                     << ", repeats after the SIGKILL: " << repeats);

  // The members that took partitions over restored them from the changelog.
  const auto log_of = [&](char id, int run) {
    std::ifstream in(members[id].dir->path() / ("daemon-" + std::to_string(run) + ".log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(log_of('D', 1).find("changelog restore finished") != std::string::npos);
  CHECK(log_of('B', 2).find("changelog restore finished") != std::string::npos);
}

// Issue 15: three daemons of one group send as one application user against one budget.
// The simulator admits 6 requests at once and answers `x-ms-dop-hint: 6`. With
// `send.members_sharing_user: 3` each member keeps at most 6 / 3 = 2 batches in flight (1
// until its first answer), so the group never exceeds the limit: D365 refuses nothing and
// each invoice is created once. The same group with `members_sharing_user: 1` (each member
// taking the whole hint, 6 in flight) goes over the limit and is refused with 429s, which
// shows the share is what keeps the members within it.
TEST_CASE("three members share one application user's concurrency budget by members_sharing_user",
          "[app][daemon][process][integration][pacing]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  constexpr int kUnique = 6000;

  const auto run_group = [&](int sharing, const std::string& name) {
    sim::SimOptions o;
    o.limits.enabled = true;
    o.limits.max_concurrent = 6;
    o.limits.dop_hint = 6;
    o.limits.max_requests = 0;
    o.limits.max_execution_ms = 0;
    o.limits.window_seconds = 60;
    o.faults.request_latency_ms = 200;  // 250 ms a batch of 50: the members' work overlaps
    o.faults.operation_latency_ms = 1;
    auto simulator = std::make_unique<sim::Simulator>(o);
    std::vector<std::pair<std::string, std::string>> stream;
    for (int i = 0; i < kUnique; ++i) {
      stream.emplace_back(key_of(i), original(i));
      if (i % 10 == 0) stream.emplace_back(key_of(i), original(i));  // an upstream copy
    }
    const std::string extra = "  mapping: {lines_format: omit}\nsend:\n  max_in_flight: 8\n  members_sharing_user: " +
                              std::to_string(sharing) + "\n";
    std::vector<Member> members(3);
    for (auto& m : members) {
      m.config = write_config(m.dir->path(), bootstrap, name, simulator->base_url(), "10s", 5000, extra);
    }
    // All three in the group before the stream arrives, so each serves its share of it.
    for (auto& m : members) m.start();
    REQUIRE(wait_for([&] {
      for (const auto& m : members) {
        if (m.process->log_text().find("consumer group joined") == std::string::npos) return false;
      }
      return true;
    }, 60s));
    produce_all(bootstrap, name, stream);
    REQUIRE(wait_for([&] {
      return all_imported_and_committed(*simulator, kUnique, bootstrap, name + "-group", name, name + ".retry");
    }, 240s));
    for (auto& m : members) m.leave();
    return simulator;
  };

  SECTION("shared: within the limit, nothing refused, each invoice created once") {
    const auto simulator = run_group(3, ib::testing::unique_topic("proc-share3"));
    check_created_once(*simulator, kUnique);
    const auto st = simulator->stats();
    CHECK(st.throttled == 0);
    CHECK(st.max_concurrent_requests <= 6);
    CHECK(st.max_concurrent_requests > 2);  // more than one member (2 each) sent at once
    WARN("shared by 3: max concurrent " << st.max_concurrent_requests << " of 6, " << st.requests << " requests");
  }
  SECTION("not shared: each member takes the whole hint, together over the limit, refused with 429") {
    const auto simulator = run_group(1, ib::testing::unique_topic("proc-share1"));
    check_created_once(*simulator, kUnique);  // refused requests are retried, nothing lost or doubled
    const auto st = simulator->stats();
    CHECK(st.throttled > 0);
    WARN("not shared: " << st.throttled << " requests refused with 429");
  }
}
