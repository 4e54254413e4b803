#pragma once

#include "core/clock.hpp"
#include "dedup/dedup_store.hpp"

#include <chrono>
#include <map>
#include <mutex>

namespace ib::dedup {

/// In-memory DedupStore with the same semantics as RocksDbDedupStore (TTL against the
/// injected clock included), for other modules' unit tests. Also injects failures.
/// `clock` must outlive the store.
class MemoryDedupStore final : public DedupStore {
public:
  MemoryDedupStore(std::chrono::milliseconds ttl, core::Clock& clock);

  Result<std::vector<std::optional<Entry>>> lookup(std::span<const std::string> keys) override;
  Result<void> mark_pending(std::span<const PendingMark> marks) override;
  Result<void> mark_imported(std::span<const ImportedMark> marks) override;
  Result<std::size_t> record_duplicates(std::span<const std::string> keys) override;
  Result<bool> forget(std::string_view key) override;
  Result<ScanPage> scan(const ScanOptions& options) override;
  Result<StoreStats> stats() override;
  Result<std::optional<std::int64_t>> changelog_checkpoint(std::string_view topic,
                                                           std::int32_t partition) override;
  Result<RestoreApplied> apply_changelog(std::string_view topic, std::int32_t partition,
                                         std::span<const ChangelogRecord> records,
                                         std::int64_t next_offset) override;
  Result<void> sync() override;
  Result<void> compact() override;

  /// The next `count` calls (of any method) fail with `code` and change nothing.
  void fail_next(StoreErrc code, int count = 1);
  /// Entries held, expired ones included (until compact()).
  std::size_t size() const;

private:
  Result<void> take_failure();  // caller holds mutex_

  mutable std::mutex mutex_;
  std::chrono::milliseconds ttl_;
  core::Clock& clock_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::map<std::string, std::int64_t, std::less<>> checkpoints_;
  StoreErrc fail_code_ = StoreErrc::injected;
  int fail_count_ = 0;
};

}  // namespace ib::dedup
