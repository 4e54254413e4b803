// The behaviour every DedupStore must have. Compiled twice: against MemoryDedupStore
// (dedup_memory_test) and RocksDbDedupStore (dedup_rocksdb_test), IB_DEDUP_FIXTURE picks.
#include "store_fixtures.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace ib::dedup;
using ib::dedup::test::kTtl;
using Fixture = ib::dedup::test::IB_DEDUP_FIXTURE;

namespace {

std::optional<Entry> get(DedupStore& s, const std::string& key) {
  auto r = s.get(key);
  if (!r) FAIL(r.error().message);
  return *r;
}

void pending(DedupStore& s, const std::string& key, std::uint32_t attempt, std::string fp = "fp") {
  const std::vector<PendingMark> marks{{key, std::move(fp), attempt}};
  auto r = s.mark_pending(marks);
  if (!r) FAIL(r.error().message);
}

void imported(DedupStore& s, const std::string& key, std::string id, std::string fp = "fp") {
  const std::vector<ImportedMark> marks{{key, std::move(fp), std::move(id)}};
  auto r = s.mark_imported(marks);
  if (!r) FAIL(r.error().message);
}

}  // namespace

TEST_CASE_METHOD(Fixture, "an unknown key is absent, answers keep the order of the keys", "[dedup]") {
  pending(*store, "b", 1);
  const std::vector<std::string> keys{"a", "b", "c", "b"};
  auto r = store->lookup(keys);
  REQUIRE(r);
  REQUIRE(r->size() == 4);
  CHECK_FALSE((*r)[0]);
  CHECK((*r)[1]);
  CHECK_FALSE((*r)[2]);
  CHECK((*r)[3]);
  auto empty = store->lookup({});
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE_METHOD(Fixture, "mark_pending creates a pending entry", "[dedup]") {
  const auto t0 = clock.now();
  pending(*store, "k", 1, "fp-1");
  const auto e = get(*store, "k");
  REQUIRE(e);
  CHECK(e->state == ib::core::StoreState::pending);
  CHECK(e->attempt == 1);
  CHECK(e->fingerprint == "fp-1");
  CHECK(e->record_id.empty());
  CHECK(e->first_seen == t0);
  CHECK(e->last_seen == t0);
  CHECK(e->state_since == t0);
  CHECK(e->duplicates == 0);
}

TEST_CASE_METHOD(Fixture, "a second mark_pending updates attempt and times, keeps first_seen", "[dedup]") {
  const auto t0 = clock.now();
  pending(*store, "k", 1, "fp-1");
  clock.advance(5min);
  pending(*store, "k", 2, "fp-2");
  const auto e = get(*store, "k");
  REQUIRE(e);
  CHECK(e->state == ib::core::StoreState::pending);
  CHECK(e->attempt == 2);
  CHECK(e->fingerprint == "fp-2");
  CHECK(e->first_seen == t0);
  CHECK(e->state_since == t0 + 5min);
  CHECK(e->last_seen == t0 + 5min);
}

TEST_CASE_METHOD(Fixture, "mark_imported turns pending into imported with the record id", "[dedup]") {
  const auto t0 = clock.now();
  pending(*store, "k", 3);
  clock.advance(2s);
  imported(*store, "k", "rec-42");
  const auto e = get(*store, "k");
  REQUIRE(e);
  CHECK(e->state == ib::core::StoreState::imported);
  CHECK(e->record_id == "rec-42");
  CHECK(e->attempt == 3);
  CHECK(e->first_seen == t0);
  CHECK(e->state_since == t0 + 2s);
  CHECK(e->last_seen == t0 + 2s);
}

TEST_CASE_METHOD(Fixture, "mark_imported on an absent key creates an imported entry", "[dedup]") {
  imported(*store, "k", "");
  const auto e = get(*store, "k");
  REQUIRE(e);
  CHECK(e->state == ib::core::StoreState::imported);
  CHECK(e->record_id.empty());
  CHECK(e->attempt == 0);
  CHECK(e->first_seen == clock.now());
}

TEST_CASE_METHOD(Fixture, "mark_imported without an id keeps the id already known", "[dedup]") {
  imported(*store, "k", "rec-1");
  imported(*store, "k", "");
  CHECK(get(*store, "k")->record_id == "rec-1");
  imported(*store, "k", "rec-2");
  CHECK(get(*store, "k")->record_id == "rec-2");
}

TEST_CASE_METHOD(Fixture, "mark_pending leaves an imported entry imported", "[dedup]") {
  imported(*store, "k", "rec-1", "fp-a");
  const auto before = get(*store, "k");
  clock.advance(1min);
  pending(*store, "k", 2, "fp-b");
  CHECK(get(*store, "k") == before);
}

TEST_CASE_METHOD(Fixture, "a duplicate sighting counts and moves last_seen", "[dedup]") {
  const auto t0 = clock.now();
  imported(*store, "k", "rec-1");
  clock.advance(1h);
  const std::vector<std::string> keys{"k", "absent", "k"};
  auto n = store->record_duplicates(keys);
  REQUIRE(n);
  CHECK(*n == 2);
  const auto e = get(*store, "k");
  REQUIRE(e);
  CHECK(e->duplicates == 2);
  CHECK(e->last_seen == t0 + 1h);
  CHECK(e->state_since == t0);
  CHECK(e->state == ib::core::StoreState::imported);
  CHECK_FALSE(get(*store, "absent"));
}

TEST_CASE_METHOD(Fixture, "forget removes a key and says whether it was there", "[dedup]") {
  imported(*store, "k", "rec-1");
  auto r = store->forget("k");
  REQUIRE(r);
  CHECK(*r);
  CHECK_FALSE(get(*store, "k"));
  auto again = store->forget("k");
  REQUIRE(again);
  CHECK_FALSE(*again);
  pending(*store, "k", 1);
  CHECK(get(*store, "k")->state == ib::core::StoreState::pending);
}

TEST_CASE_METHOD(Fixture, "the TTL edge: present just before, absent at and after expiry", "[dedup][ttl]") {
  const auto t0 = clock.now();
  pending(*store, "k", 1);
  clock.set(t0 + kTtl - 1ms);
  CHECK(get(*store, "k"));
  clock.set(t0 + kTtl);
  CHECK_FALSE(get(*store, "k"));
  clock.set(t0 + kTtl + 1ms);
  CHECK_FALSE(get(*store, "k"));
  clock.set(t0 + 10 * kTtl);
  CHECK_FALSE(get(*store, "k"));
}

TEST_CASE_METHOD(Fixture, "an expired key is treated as absent by every operation", "[dedup][ttl]") {
  const auto t0 = clock.now();
  imported(*store, "k", "rec-1");
  REQUIRE(store->record_duplicates(std::vector<std::string>{"k"}));
  clock.set(t0 + kTtl);
  auto dup = store->record_duplicates(std::vector<std::string>{"k"});
  REQUIRE(dup);
  CHECK(*dup == 0);
  auto forgot = store->forget("k");
  REQUIRE(forgot);
  CHECK_FALSE(*forgot);

  imported(*store, "j", "rec-1");
  clock.advance(kTtl);
  pending(*store, "j", 1);  // starts afresh: not "imported stays imported"
  const auto e = get(*store, "j");
  REQUIRE(e);
  CHECK(e->state == ib::core::StoreState::pending);
  CHECK(e->record_id.empty());
  CHECK(e->duplicates == 0);
  CHECK(e->first_seen == clock.now());
}

TEST_CASE_METHOD(Fixture, "a duplicate sighting extends the TTL", "[dedup][ttl]") {
  const auto t0 = clock.now();
  imported(*store, "k", "rec-1");
  clock.set(t0 + kTtl - 1s);
  REQUIRE(store->record_duplicates(std::vector<std::string>{"k"}));
  clock.set(t0 + kTtl + 1h);
  CHECK(get(*store, "k"));
  clock.set(t0 + kTtl - 1s + kTtl);
  CHECK_FALSE(get(*store, "k"));
}

TEST_CASE_METHOD(Fixture, "scan shows expired entries only when asked, compaction removes them", "[dedup][ttl]") {
  const auto t0 = clock.now();
  imported(*store, "old", "rec-1");
  clock.set(t0 + kTtl / 2);
  imported(*store, "young", "rec-2");
  clock.set(t0 + kTtl);

  auto live = store->scan({});
  REQUIRE(live);
  REQUIRE(live->rows.size() == 1);
  CHECK(live->rows[0].key == "young");
  CHECK_FALSE(live->rows[0].expired);

  auto all = store->scan({.start = "", .limit = 100, .include_expired = true});
  REQUIRE(all);
  REQUIRE(all->rows.size() == 2);
  CHECK(all->rows[0].key == "old");
  CHECK(all->rows[0].expired);

  REQUIRE(store->compact());
  auto after = store->scan({.start = "", .limit = 100, .include_expired = true});
  REQUIRE(after);
  REQUIRE(after->rows.size() == 1);
  CHECK(after->rows[0].key == "young");
  CHECK(get(*store, "young"));
}

TEST_CASE_METHOD(Fixture, "scan pages through keys in byte order", "[dedup]") {
  std::vector<PendingMark> marks;
  for (int i = 9; i >= 0; --i) marks.push_back({"key-" + std::to_string(i), "fp", 1});
  REQUIRE(store->mark_pending(marks));
  std::vector<std::string> seen;
  ScanOptions opt{.start = "", .limit = 3};
  int pages = 0;
  for (;;) {
    auto page = store->scan(opt);
    REQUIRE(page);
    CHECK(page->rows.size() <= 3);
    for (auto& row : page->rows) seen.push_back(row.key);
    ++pages;
    if (!page->next_start) break;
    opt.start = *page->next_start;
  }
  CHECK(pages == 4);
  REQUIRE(seen.size() == 10);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(seen.front() == "key-0");
}

TEST_CASE_METHOD(Fixture, "a key repeated in one batch sees its earlier mark", "[dedup]") {
  const auto t0 = clock.now();
  const std::vector<PendingMark> marks{{"k", "fp-1", 1}, {"k", "fp-2", 2}};
  REQUIRE(store->mark_pending(marks));
  auto e = get(*store, "k");
  REQUIRE(e);
  CHECK(e->attempt == 2);
  CHECK(e->fingerprint == "fp-2");
  CHECK(e->first_seen == t0);
  const std::vector<ImportedMark> imp{{"j", "fp", "rec-1"}, {"j", "fp", ""}};
  REQUIRE(store->mark_imported(imp));
  CHECK(get(*store, "j")->record_id == "rec-1");
}

TEST_CASE_METHOD(Fixture, "keys and fingerprints are opaque bytes", "[dedup]") {
  const std::string key("acme\0vendor\xff|INV-1", 19);
  const std::string fp("\x00\x01\xfe\xff\x00", 5);
  pending(*store, key, 7, fp);
  const std::string prefix("acme", 4);
  CHECK_FALSE(get(*store, prefix));
  const auto e = get(*store, key);
  REQUIRE(e);
  CHECK(e->fingerprint == fp);
  CHECK(e->attempt == 7);
}

TEST_CASE_METHOD(Fixture, "an empty key is refused and nothing of the batch is written", "[dedup]") {
  const std::vector<PendingMark> marks{{"ok", "fp", 1}, {"", "fp", 1}};
  auto r = store->mark_pending(marks);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == StoreErrc::invalid_argument);
  CHECK_FALSE(get(*store, "ok"));
  auto f = store->forget("");
  REQUIRE_FALSE(f);
  CHECK(f.error().code == StoreErrc::invalid_argument);
}

TEST_CASE_METHOD(Fixture, "stats count the keys written", "[dedup]") {
  std::vector<ImportedMark> marks;
  for (int i = 0; i < 50; ++i) marks.push_back({"key-" + std::to_string(i), "fp", "rec"});
  REQUIRE(store->mark_imported(marks));
  REQUIRE(store->sync());
  auto s = store->stats();
  REQUIRE(s);
  CHECK(s->estimated_keys >= 25);
  CHECK(s->estimated_keys <= 100);
}

TEST_CASE_METHOD(Fixture, "large and unusual values round-trip exactly", "[dedup]") {
  const std::string fp(1000, '\xab');
  const std::string id = "3fa85f64-5717-4562-b3fc-2c963f66afa6 \xc3\xa9";
  const std::string key(300, 'k');
  REQUIRE(store->mark_pending(std::vector<PendingMark>{{key, fp, UINT32_MAX}}));
  REQUIRE(store->mark_imported(std::vector<ImportedMark>{{key, fp, id}}));
  const auto e = get(*store, key);
  REQUIRE(e);
  CHECK(e->attempt == UINT32_MAX);
  CHECK(e->fingerprint == fp);
  CHECK(e->record_id == id);
}
