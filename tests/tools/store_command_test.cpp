// Integration: `invoice-bridge store` against a real RocksDB store in a temp dir.
#include "tools/store_command.hpp"
#include "dedup/rocksdb_dedup_store.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <sstream>
#include <vector>

using namespace ib;
using namespace std::chrono_literals;
using Action = tools::StoreOptions::Action;

namespace {

struct Run {
  int rc = -1;
  std::string out;
  std::string err;
};

Run store(const dedup::DedupConfig& config, core::Clock& clock, tools::StoreOptions options) {
  std::ostringstream out, err;
  Run r;
  r.rc = tools::run_store_command(config, options, clock, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

tools::StoreOptions action(Action a, std::string key = {}, bool json = false) {
  tools::StoreOptions o;
  o.action = a;
  o.key = std::move(key);
  o.json = json;
  return o;
}

// A store with one imported key (seen twice more as a duplicate) and one pending key.
void fill(const dedup::DedupConfig& config, core::ManualClock& clock) {
  auto store = dedup::RocksDbDedupStore::open(config, clock).value();
  const std::vector<dedup::PendingMark> pending{{"V1|INV-1", std::string("\x01\xab", 2), 1},
                                                {"V1|INV-2", "fp2", 3}};
  REQUIRE(store->mark_pending(pending).has_value());
  clock.advance(1500ms);
  const std::vector<dedup::ImportedMark> imported{{"V1|INV-1", std::string("\x01\xab", 2), "guid-1"}};
  REQUIRE(store->mark_imported(imported).has_value());
  const std::vector<std::string> dups{"V1|INV-1", "V1|INV-1"};
  REQUIRE(store->record_duplicates(dups).has_value());
}

}  // namespace

TEST_CASE("store get, stats, list and forget on a real store", "[app][store][integration]") {
  testing::TempDir dir;
  dedup::DedupConfig config;
  config.path = dir.path() / "dedup";
  config.ttl = std::chrono::hours(24);
  // 2023-11-14T22:13:20Z
  core::ManualClock clock{core::Clock::TimePoint{std::chrono::seconds(1'700'000'000)}};
  fill(config, clock);

  SECTION("get prints the entry with ISO-8601 UTC times and its expiry") {
    const auto r = store(config, clock, action(Action::get, "V1|INV-1"));
    CHECK(r.rc == tools::kToolOk);
    CHECK(r.out.find("state        imported") != std::string::npos);
    CHECK(r.out.find("fingerprint  01ab") != std::string::npos);  // raw bytes: hex
    CHECK(r.out.find("attempt      1") != std::string::npos);
    CHECK(r.out.find("record_id    guid-1") != std::string::npos);
    CHECK(r.out.find("first_seen   2023-11-14T22:13:20.000Z") != std::string::npos);
    CHECK(r.out.find("last_seen    2023-11-14T22:13:21.500Z") != std::string::npos);
    CHECK(r.out.find("duplicates   2") != std::string::npos);
    CHECK(r.out.find("expires      2023-11-15T22:13:21.500Z") != std::string::npos);
  }
  SECTION("get --json is one object") {
    const auto r = store(config, clock, action(Action::get, "V1|INV-2", true));
    REQUIRE(r.rc == tools::kToolOk);
    const auto v = boost::json::parse(r.out).as_object();
    CHECK(v.at("key").as_string() == "V1|INV-2");
    CHECK(v.at("state").as_string() == "pending");
    CHECK(v.at("attempt").to_number<int>() == 3);
    CHECK(v.at("fingerprint").as_string() == "fp2");  // printable: as it is
  }
  SECTION("an unknown key is exit 1 with a message on stderr") {
    const auto r = store(config, clock, action(Action::get, "V9|NOPE"));
    CHECK(r.rc == tools::kToolNotFound);
    CHECK(r.out.empty());
    CHECK(r.err.find("V9|NOPE: not in the store") != std::string::npos);
  }
  SECTION("stats prints the estimates and the path") {
    const auto r = store(config, clock, action(Action::stats, {}, true));
    REQUIRE(r.rc == tools::kToolOk);
    const auto v = boost::json::parse(r.out).as_object();
    CHECK(v.at("path").as_string() == config.path.string());
    CHECK(v.at("estimated_keys").to_number<std::uint64_t>() >= 1);
    CHECK(v.at("ttl_seconds").to_number<std::int64_t>() == 86400);
    const auto text = store(config, clock, action(Action::stats));
    CHECK(text.rc == tools::kToolOk);
    CHECK(text.out.find("estimated_keys") != std::string::npos);
  }
  SECTION("list pages in key order") {
    auto o = action(Action::list);
    o.limit = 1;
    const auto first = store(config, clock, o);
    CHECK(first.rc == tools::kToolOk);
    CHECK(first.out.rfind("V1|INV-1\timported", 0) == 0);
    CHECK(first.out.find("(more: --start 'V1|INV-2')") != std::string::npos);
    o.start = "V1|INV-2";
    const auto second = store(config, clock, o);
    CHECK(second.out.rfind("V1|INV-2\tpending", 0) == 0);
    CHECK(second.out.find("more") == std::string::npos);
  }
  SECTION("forget removes the key once; a second forget finds nothing") {
    const auto r = store(config, clock, action(Action::forget, "V1|INV-1"));
    CHECK(r.rc == tools::kToolOk);
    CHECK(r.out.find("forgot V1|INV-1") != std::string::npos);
    CHECK(store(config, clock, action(Action::get, "V1|INV-1")).rc == tools::kToolNotFound);
    const auto again = store(config, clock, action(Action::forget, "V1|INV-1"));
    CHECK(again.rc == tools::kToolNotFound);
    CHECK(again.err.find("nothing forgotten") != std::string::npos);
    CHECK(store(config, clock, action(Action::get, "V1|INV-2")).rc == tools::kToolOk);  // others stay
  }
  SECTION("an expired entry reads as absent") {
    clock.advance(25h);
    CHECK(store(config, clock, action(Action::get, "V1|INV-1")).rc == tools::kToolNotFound);
  }
}

TEST_CASE("store commands refuse politely while another process holds the store",
          "[app][store][integration]") {
  testing::TempDir dir;
  dedup::DedupConfig config;
  config.path = dir.path() / "dedup";
  core::ManualClock clock;
  fill(config, clock);
  auto holder = dedup::RocksDbDedupStore::open(config, clock).value();  // the "daemon"

  for (const auto a : {Action::stats, Action::get, Action::forget, Action::list}) {
    const auto r = store(config, clock, action(a, "V1|INV-1"));
    CHECK(r.rc == tools::kToolUnavailable);
    CHECK(r.out.empty());
    // One line naming the path and the cause.
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(config.path.string()) != std::string::npos);
    CHECK(r.err.find("held by a running daemon") != std::string::npos);
    CHECK(r.err.find("stop it first") != std::string::npos);
  }
  // Nothing was forgotten behind the daemon's back.
  holder.reset();
  CHECK(store(config, clock, action(Action::get, "V1|INV-1")).rc == tools::kToolOk);
}

TEST_CASE("store commands do not create a store where there is none", "[app][store][integration]") {
  testing::TempDir dir;
  dedup::DedupConfig config;
  config.path = dir.path() / "nothing-here";
  core::ManualClock clock;
  const auto r = store(config, clock, action(Action::stats));
  CHECK(r.rc == tools::kToolUnavailable);
  CHECK(r.err.find("no dedup store at") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(config.path));
  CHECK(store(config, clock, action(Action::get, "")).rc == tools::kToolUsage);
}
