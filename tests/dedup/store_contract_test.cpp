// The behaviour every DedupStore must have. Compiled twice: against MemoryDedupStore
// (dedup_memory_test) and RocksDbDedupStore (dedup_rocksdb_test), IB_DEDUP_FIXTURE picks.
#include "store_fixtures.hpp"

#include "dedup/changelog_codec.hpp"

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

// --- changelog restore (docs/dedup-store.md "Changelog") ---

namespace {

ChangelogRecord restored(const std::string& key, ib::core::StoreState state, TimePoint last_seen,
                         std::string fp = "fp") {
  Entry e;
  e.state = state;
  e.fingerprint = std::move(fp);
  e.attempt = 1;
  e.state_since = last_seen;
  e.first_seen = last_seen;
  e.last_seen = last_seen;
  e.record_id = state == ib::core::StoreState::imported ? "rec-" + key : "";
  return {key, encode_changelog_value(e)};
}

TimePoint ms(TimePoint t) { return std::chrono::floor<std::chrono::milliseconds>(t); }

}  // namespace

TEST_CASE_METHOD(Fixture, "a restored chunk writes its entries and the checkpoint together", "[dedup][changelog]") {
  const auto now = ms(clock.now());
  CHECK(store->changelog_checkpoint("log", 3).value() == std::nullopt);
  const std::vector<ChangelogRecord> chunk{restored("ACME|V1|1", ib::core::StoreState::imported, now),
                                           restored("ACME|V1|2", ib::core::StoreState::pending, now, "fp-2")};
  auto applied = store->apply_changelog("log", 3, chunk, 42);
  REQUIRE(applied);
  CHECK(applied->written == 2);
  CHECK(applied->expired == 0);
  CHECK(store->changelog_checkpoint("log", 3).value() == std::optional<std::int64_t>(42));
  CHECK(store->changelog_checkpoint("log", 4).value() == std::nullopt);
  CHECK(store->changelog_checkpoint("other", 3).value() == std::nullopt);
  const auto a = get(*store, "ACME|V1|1");
  REQUIRE(a);
  CHECK(a->state == ib::core::StoreState::imported);
  CHECK(a->record_id == "rec-ACME|V1|1");
  CHECK(a->last_seen == now);
  const auto b = get(*store, "ACME|V1|2");
  REQUIRE(b);
  CHECK(b->state == ib::core::StoreState::pending);
  CHECK(b->fingerprint == "fp-2");
}

TEST_CASE_METHOD(Fixture, "a chunk with an undecodable record changes nothing, checkpoint included",
                 "[dedup][changelog]") {
  const auto now = ms(clock.now());
  REQUIRE(store->apply_changelog("log", 0, {}, 5));
  const std::vector<ChangelogRecord> chunk{restored("good", ib::core::StoreState::imported, now),
                                           {"bad", std::string("\x09garbage")}};
  auto applied = store->apply_changelog("log", 0, chunk, 9);
  REQUIRE_FALSE(applied);
  CHECK(applied.error().code == StoreErrc::corruption);
  CHECK_FALSE(get(*store, "good"));
  CHECK(store->changelog_checkpoint("log", 0).value() == std::optional<std::int64_t>(5));
}

TEST_CASE_METHOD(Fixture, "the checkpoint never moves back; a tombstone deletes", "[dedup][changelog]") {
  const auto now = ms(clock.now());
  const std::vector<ChangelogRecord> first{restored("k", ib::core::StoreState::imported, now)};
  REQUIRE(store->apply_changelog("log", 1, first, 100));
  REQUIRE(store->apply_changelog("log", 1, {}, 50));
  CHECK(store->changelog_checkpoint("log", 1).value() == std::optional<std::int64_t>(100));
  const std::vector<ChangelogRecord> tomb{{"k", ""}};
  auto applied = store->apply_changelog("log", 1, tomb, 101);
  REQUIRE(applied);
  CHECK(applied->deleted == 1);
  CHECK_FALSE(get(*store, "k"));
  CHECK(store->changelog_checkpoint("log", 1).value() == std::optional<std::int64_t>(101));
}

TEST_CASE_METHOD(Fixture, "restored entries past the TTL are skipped; the TTL counts from their last_seen",
                 "[dedup][changelog]") {
  const auto now = ms(clock.now());
  const std::vector<ChangelogRecord> chunk{
      restored("old", ib::core::StoreState::imported, now - kTtl),  // expired at exactly ttl
      restored("young", ib::core::StoreState::imported, now - kTtl + 1h)};
  auto applied = store->apply_changelog("log", 0, chunk, 2);
  REQUIRE(applied);
  CHECK(applied->written == 1);
  CHECK(applied->expired == 1);
  CHECK_FALSE(get(*store, "old"));
  CHECK(get(*store, "young"));
  clock.advance(1h - 1ms);
  CHECK(get(*store, "young"));
  clock.advance(1ms);
  CHECK_FALSE(get(*store, "young"));
}

TEST_CASE_METHOD(Fixture, "checkpoints never show in lookup, scan or stats, and marks refuse their byte",
                 "[dedup][changelog]") {
  pending(*store, "a", 1);
  REQUIRE(store->apply_changelog("log", 0, {}, 7));
  REQUIRE(store->apply_changelog("log", 1, {}, 8));
  const std::vector<std::string> keys{checkpoint_key("log", 0), "a"};
  auto found = store->lookup(keys);
  REQUIRE(found);
  CHECK_FALSE((*found)[0]);
  CHECK((*found)[1]);
  ScanOptions all;
  all.include_expired = true;
  auto page = store->scan(all);
  REQUIRE(page);
  REQUIRE(page->rows.size() == 1);
  CHECK(page->rows[0].key == "a");
  CHECK_FALSE(page->next_start);
  auto st = store->stats();
  REQUIRE(st);
  CHECK(st->estimated_keys <= 1);
  const std::vector<PendingMark> reserved{{checkpoint_key("log", 0), "fp", 1}};
  auto refused = store->mark_pending(reserved);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == StoreErrc::invalid_argument);
  CHECK_FALSE(store->forget(checkpoint_key("log", 0)));
  CHECK(store->changelog_checkpoint("log", 0).value() == std::optional<std::int64_t>(7));
  REQUIRE(store->compact());
  CHECK(store->changelog_checkpoint("log", 1).value() == std::optional<std::int64_t>(8));
}
