// Integration: `invoice-bridge review` and `store` against the real Kafka broker, a real
// RocksDB store and the real daemon with a scripted D365 (daemon_harness.hpp).
#include "tools/review_command.hpp"
#include "tools/store_command.hpp"
#include "../app/daemon_harness.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

using namespace ib::testing::daemon;
using Action = ib::tools::ReviewOptions::Action;

namespace {

struct Run {
  int rc = -1;
  std::string out;
  std::string err;
};

Run review(const ib::app::DaemonConfig& config, ib::tools::ReviewOptions options, D365State& d365) {
  const auto codec = make_codec(d365);  // the daemon's decoder: finds the dedup key to forget
  std::ostringstream out, err;
  Run r;
  options.read_timeout = 20s;
  r.rc = ib::tools::run_review_command(config, options, codec.get(), ib::core::system_clock(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

ib::tools::ReviewOptions list_options() {
  ib::tools::ReviewOptions o;
  o.action = Action::list;
  return o;
}

Run store_get(const ib::app::DaemonConfig& config, const std::string& key) {
  ib::tools::StoreOptions o;
  o.action = ib::tools::StoreOptions::Action::get;
  o.key = key;
  std::ostringstream out, err;
  Run r;
  r.rc = ib::tools::run_store_command(config.dedup, o, ib::core::system_clock(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

template <typename Pred>
bool wait_for(Pred pred, std::chrono::seconds limit = 40s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

int creates(D365State& d365, const std::string& key) {
  std::lock_guard l(d365.mutex);
  const auto it = d365.creates.find(key);
  return it == d365.creates.end() ? 0 : it->second;
}

std::size_t sends(D365State& d365, const std::string& key) {
  std::lock_guard l(d365.mutex);
  const auto it = d365.sent_at.find(key);
  return it == d365.sent_at.end() ? 0 : it->second.size();
}

// The daemon on its own thread for the scope of a test section.
class RunningDaemon {
public:
  RunningDaemon(ib::app::DaemonConfig config, D365State& d365)
      : daemon_(std::move(config), scripted(d365)), thread_([this] { rc_ = daemon_.run(false); }) {}
  int stop() {
    daemon_.request_stop();
    thread_.join();
    return rc_;
  }
  ~RunningDaemon() {
    if (thread_.joinable()) stop();
  }

private:
  ib::app::Daemon daemon_;
  int rc_ = -1;
  std::thread thread_;
};

}  // namespace

TEST_CASE("a rejected invoice, fixed and replayed, is imported once; a conflict fixed in D365 "
          "is sent again while the daemon holds the store",
          "[app][review][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("review-replay");
  ib::testing::TempDir dir;
  const auto config = config_for(bootstrap, name, dir.path());
  const std::string x = "V1|INV-3";   // D365 rejects it until the operator fixes it
  const std::string c = "V2|INV-77";  // arrives again with other content: a conflict

  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 10; ++i) {
    const auto key = "V1|INV-" + std::to_string(i);
    records.emplace_back(key, key + "|fp");
  }
  records.emplace_back(c, c + "|fpA");
  produce_all(bootstrap, name, records);

  D365State d365;
  d365.reject = {x};
  RunningDaemon daemon(config, d365);
  REQUIRE(wait_for([&] { return d365.created() == 10; }));  // 9 of V1 + C
  produce_all(bootstrap, name, {{c, c + "|fpB"}});

  // Both land on the review topic; `review list` shows them once the topic has them.
  Run listed;
  REQUIRE(wait_for([&] {
    listed = review(config, list_options(), d365);
    return listed.rc == ib::tools::kToolOk && lines(listed.out).size() == 2;
  }));
  std::string x_id, c_id;
  for (const auto& l : lines(listed.out)) {
    const auto id = l.substr(0, l.find('\t'));
    if (l.find(x + "\trejected\td365 400\tsends 1\torigin " + name + ":") != std::string::npos) {
      x_id = id;
      CHECK(l.find("0x80040203: Invalid value") != std::string::npos);
    } else if (l.find(c + "\tconflict\td365 0\tsends 0") != std::string::npos) {
      c_id = id;
    }
  }
  INFO(listed.out);
  REQUIRE_FALSE(x_id.empty());
  REQUIRE_FALSE(c_id.empty());
  {
    auto o = list_options();
    o.reason = "rejected";
    const auto only = review(config, o, d365);
    CHECK(lines(only.out).size() == 1);
    o.reason.clear();
    o.keys = {c};
    o.json = true;
    const auto json = review(config, o, d365);
    REQUIRE(lines(json.out).size() == 1);
    const auto v = boost::json::parse(json.out).as_object();
    CHECK(v.at("reason").as_string() == "conflict");
    CHECK(v.at("id").as_string() == c_id);
  }
  {
    ib::tools::ReviewOptions o;
    o.action = Action::show;
    o.id = x_id;
    const auto shown = review(config, o, d365);
    CHECK(shown.rc == ib::tools::kToolOk);
    CHECK(shown.out.find("reason        rejected") != std::string::npos);
    CHECK(shown.out.find("  ib-review-reason: rejected") != std::string::npos);
    CHECK(shown.out.find("\"code\": \"0x80040203\"") != std::string::npos);  // pretty JSON error body
    CHECK(shown.out.find("payload (" + std::to_string(x.size() + 3) + " bytes):\n" + x + "|fp") !=
          std::string::npos);
    o.id = "99:99";
    CHECK(review(config, o, d365).rc == ib::tools::kToolNotFound);
    o.id = "garbage";
    CHECK(review(config, o, d365).rc == ib::tools::kToolUsage);
  }

  // The operator fixes the causes: the vendor account in D365 (X), and D365's record of C
  // is deleted because version B is the right one.
  {
    std::lock_guard l(d365.mutex);
    d365.reject.clear();
    d365.creates.erase(c);
  }
  ib::tools::ReviewOptions replay;
  replay.action = Action::replay;
  CHECK(review(config, replay, d365).rc == ib::tools::kToolUsage);  // a selector is required
  replay.keys = {x};
  replay.dry_run = true;
  const auto dry = review(config, replay, d365);
  CHECK(dry.rc == ib::tools::kToolOk);
  CHECK(dry.out.find("would replay " + x_id) != std::string::npos);
  replay.dry_run = false;
  const auto replayed = review(config, replay, d365);
  INFO(replayed.out << replayed.err);
  CHECK(replayed.rc == ib::tools::kToolOk);
  CHECK(replayed.out.find("held by a running daemon") != std::string::npos);
  CHECK(replayed.out.find("replayed 1 of 1 entries") != std::string::npos);
  replay.keys.clear();
  replay.reason = "conflict";
  CHECK(review(config, replay, d365).rc == ib::tools::kToolOk);

  REQUIRE(wait_for([&] { return creates(d365, x) == 1 && creates(d365, c) == 1; }));
  REQUIRE(wait_for([&] { return all_committed(bootstrap, config.consumer.group_id, {name}); }));
  CHECK(daemon.stop() == 0);

  CHECK(sends(d365, x) == 2);  // the rejected try and the replay
  CHECK(sends(d365, c) == 2);  // version A, then the replayed version B (A's copy never got sent)
  for (int i = 0; i < 10; ++i) {
    const auto key = "V1|INV-" + std::to_string(i);
    CHECK(creates(d365, key) == 1);
    if (key != x) CHECK(sends(d365, key) == 1);  // other invoices unaffected
  }
  // The replays are on the input topic as fresh first attempts with the replay recorded.
  const auto input = read_topic(bootstrap, name, 14);
  REQUIRE(input.size() == 14);
  int replays = 0;
  for (const auto& [value, headers] : input) {
    if (!ib::core::find_last_header(headers, "ib-replay-count")) continue;
    ++replays;
    CHECK(ib::core::find_last_header(headers, "ib-replay-count") == "1");
    CHECK_FALSE(ib::core::find_last_header(headers, "ib-review-reason"));
    CHECK_FALSE(ib::core::find_last_header(headers, "ib-attempt"));
    CHECK(ib::core::find_last_header(headers, "ib-replayed-at").has_value());
    if (value == x + "|fp") {
      CHECK(ib::core::find_last_header(headers, "ib-replayed-from") == name + ".review:" + x_id);
      CHECK(ib::core::find_last_header(headers, "ib-replayed-reason") == "rejected");
    } else {
      CHECK(value == c + "|fpB");
      CHECK(ib::core::find_last_header(headers, "ib-replayed-reason") == "conflict");
    }
  }
  CHECK(replays == 2);
  // Neither came back to review.
  CHECK(read_topic(bootstrap, name + ".review", 2).size() == 2);
  // The store now holds version B of C.
  const auto stored = store_get(config, c);
  CHECK(stored.rc == ib::tools::kToolOk);
  CHECK(stored.out.find("fingerprint  fpB") != std::string::npos);
}

TEST_CASE("a conflict replayed while the daemon is stopped forgets its store entry",
          "[app][review][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("review-stopped");
  ib::testing::TempDir dir;
  const auto config = config_for(bootstrap, name, dir.path());
  const std::string c = "V7|INV-1";
  D365State d365;
  produce_all(bootstrap, name, {{c, c + "|fpA"}, {"V7|INV-2", "V7|INV-2|fp"}});
  {
    RunningDaemon daemon(config, d365);
    REQUIRE(wait_for([&] { return d365.created() == 2; }));
    produce_all(bootstrap, name, {{c, c + "|fpB"}});
    REQUIRE(wait_for([&] { return all_committed(bootstrap, config.consumer.group_id, {name}); }));
    CHECK(daemon.stop() == 0);
  }
  CHECK(store_get(config, c).rc == ib::tools::kToolOk);

  ib::tools::ReviewOptions replay;
  replay.action = Action::replay;
  replay.reason = "conflict";
  const auto r = review(config, replay, d365);
  INFO(r.out << r.err);
  CHECK(r.rc == ib::tools::kToolOk);
  CHECK(r.out.find("forgot 1 of 1 dedup entries in " + config.dedup.path.string()) != std::string::npos);
  CHECK(r.out.find("replayed 1 of 1 entries") != std::string::npos);
  const auto gone = store_get(config, c);
  CHECK(gone.rc == ib::tools::kToolNotFound);
  CHECK(store_get(config, "V7|INV-2").rc == ib::tools::kToolOk);  // others untouched

  // Nothing matching: exit 1, nothing produced.
  replay.reason = "exhausted";
  CHECK(review(config, replay, d365).rc == ib::tools::kToolNotFound);
}
