#include "dedup/memory_dedup_store.hpp"

#include "dedup/changelog_codec.hpp"
#include "entry_rules.hpp"

#include <unordered_map>

namespace ib::dedup {

MemoryDedupStore::MemoryDedupStore(std::chrono::milliseconds ttl, core::Clock& clock)
    : ttl_(ttl), clock_(clock) {}

Result<void> MemoryDedupStore::take_failure() {
  if (fail_count_ <= 0) return {};
  --fail_count_;
  return StoreError{fail_code_, "memory dedup store: injected failure (" +
                                    std::string(to_string(fail_code_)) + ")"};
}

void MemoryDedupStore::fail_next(StoreErrc code, int count) {
  std::lock_guard lock(mutex_);
  fail_code_ = code;
  fail_count_ = count;
}

std::size_t MemoryDedupStore::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

namespace {

template <typename Map>
std::optional<Entry> live_entry(const Map& entries, std::string_view key, TimePoint now,
                                std::chrono::milliseconds ttl) {
  auto it = entries.find(key);
  if (it == entries.end() || detail::is_expired(it->second, now, ttl)) return std::nullopt;
  return it->second;
}

}  // namespace

Result<std::vector<std::optional<Entry>>> MemoryDedupStore::lookup(std::span<const std::string> keys) {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f.error();
  const auto now = clock_.now();
  std::vector<std::optional<Entry>> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(live_entry(entries_, k, now, ttl_));
  return out;
}

Result<void> MemoryDedupStore::mark_pending(std::span<const PendingMark> marks) {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f;
  for (const auto& m : marks) {
    if (auto e = detail::check_key(m.key)) return *e;
  }
  const auto now = clock_.now();
  for (const auto& m : marks) {
    if (auto next = detail::apply_pending(live_entry(entries_, m.key, now, ttl_), m, now)) {
      entries_[m.key] = std::move(*next);
    }
  }
  return {};
}

Result<void> MemoryDedupStore::mark_imported(std::span<const ImportedMark> marks) {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f;
  for (const auto& m : marks) {
    if (auto e = detail::check_key(m.key)) return *e;
  }
  const auto now = clock_.now();
  for (const auto& m : marks) {
    entries_[m.key] = detail::apply_imported(live_entry(entries_, m.key, now, ttl_), m, now);
  }
  return {};
}

Result<std::size_t> MemoryDedupStore::record_duplicates(std::span<const std::string> keys) {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f.error();
  const auto now = clock_.now();
  std::size_t updated = 0;
  for (const auto& k : keys) {
    if (auto next = detail::apply_duplicate(live_entry(entries_, k, now, ttl_), now)) {
      entries_[k] = std::move(*next);
      ++updated;
    }
  }
  return updated;
}

Result<bool> MemoryDedupStore::forget(std::string_view key) {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f.error();
  if (auto e = detail::check_key(key)) return *e;
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  const bool was_live = !detail::is_expired(it->second, clock_.now(), ttl_);
  entries_.erase(it);
  return was_live;
}

Result<ScanPage> MemoryDedupStore::scan(const ScanOptions& options) {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f.error();
  const auto now = clock_.now();
  ScanPage page;
  for (auto it = entries_.lower_bound(options.start); it != entries_.end(); ++it) {
    const bool expired = detail::is_expired(it->second, now, ttl_);
    if (expired && !options.include_expired) continue;
    if (page.rows.size() >= options.limit) {
      page.next_start = it->first;
      break;
    }
    page.rows.push_back(KeyedEntry{it->first, it->second, expired});
  }
  return page;
}

Result<StoreStats> MemoryDedupStore::stats() {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f.error();
  StoreStats s;
  s.estimated_keys = entries_.size();
  for (const auto& [k, e] : entries_) {
    s.memtable_bytes += k.size() + e.fingerprint.size() + e.record_id.size() + sizeof(Entry);
  }
  return s;
}

Result<std::optional<std::int64_t>> MemoryDedupStore::changelog_checkpoint(std::string_view topic,
                                                                          std::int32_t partition) {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f.error();
  auto it = checkpoints_.find(checkpoint_key(topic, partition));
  if (it == checkpoints_.end()) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(it->second);
}

Result<RestoreApplied> MemoryDedupStore::apply_changelog(std::string_view topic, std::int32_t partition,
                                                         std::span<const ChangelogRecord> records,
                                                         std::int64_t next_offset) {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f.error();
  const auto now = clock_.now();
  std::vector<std::pair<const ChangelogRecord*, std::optional<Entry>>> decoded;
  for (const auto& r : records) {
    if (auto e = detail::check_key(r.key)) return *e;
    if (r.value.empty()) {
      decoded.emplace_back(&r, std::nullopt);
      continue;
    }
    auto entry = decode_changelog_value(r.value);
    if (!entry) {
      return StoreError{StoreErrc::corruption, "memory dedup store: undecodable changelog value"};
    }
    decoded.emplace_back(&r, std::move(entry));
  }
  RestoreApplied applied;
  for (auto& [r, entry] : decoded) {
    if (!entry) {
      entries_.erase(r->key);
      ++applied.deleted;
    } else if (detail::is_expired(*entry, now, ttl_)) {
      ++applied.expired;
    } else {
      entries_[r->key] = std::move(*entry);
      ++applied.written;
    }
  }
  auto& cp = checkpoints_.try_emplace(checkpoint_key(topic, partition), next_offset).first->second;
  cp = std::max(cp, next_offset);
  return applied;
}

Result<void> MemoryDedupStore::sync() {
  std::lock_guard lock(mutex_);
  return take_failure();
}

Result<void> MemoryDedupStore::compact() {
  std::lock_guard lock(mutex_);
  if (auto f = take_failure(); !f) return f;
  const auto now = clock_.now();
  std::erase_if(entries_, [&](const auto& kv) { return detail::is_expired(kv.second, now, ttl_); });
  return {};
}

}  // namespace ib::dedup
