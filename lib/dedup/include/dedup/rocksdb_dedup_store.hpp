#pragma once

#include "core/clock.hpp"
#include "dedup/dedup_config.hpp"
#include "dedup/dedup_store.hpp"

#include <memory>

namespace ib::dedup {

/// DedupStore on RocksDB (one database per directory, default column family). Bloom
/// filters on whole keys in table files and memtable, so a lookup of a new key normally
/// reads no disk; MultiGet for lookups; one WriteBatch per mark call; WAL always on.
///
/// The TTL is checked on every read against `clock`, and a compaction filter reading the
/// same clock drops expired entries (periodic_compaction_seconds = ttl makes RocksDB
/// rewrite every file at least once per TTL). `clock` must outlive the store.
/// Whether open() may create a new store.
enum class CreatePolicy {
  /// A path that does not exist, or an empty directory, gets a new, empty store (logged as a
  /// warning, "creating a new dedup store"): the daemon's first start.
  if_absent,
  /// Only an existing store opens; anything else is StoreErrc::not_found. For tools.
  never,
};

class RocksDbDedupStore final : public DedupStore {
public:
  /// Opens the store at config.path. What the directory holds is checked first, from its
  /// files, and a directory that is not a healthy store of ours is refused before RocksDB
  /// touches it, every time, with nothing in it created, changed or deleted:
  /// - no path, or an empty directory: a new store (CreatePolicy::if_absent), else not_found;
  /// - our store (CURRENT naming an existing MANIFEST, plus the marker file written at
  ///   creation; a store of an earlier version without the marker gets it now): opened;
  /// - a store without CURRENT, with CURRENT naming a missing or empty MANIFEST, or whose
  ///   MANIFEST RocksDB finds damaged: StoreErrc::corruption;
  /// - anything else (another RocksDB database, unrelated files): StoreErrc::not_a_store.
  /// Also StoreErrc::invalid_argument for a config that does not validate, in_use when
  /// another process (or this one) has it open, no_space, io_error. Messages name the path,
  /// what is wrong and what to do.
  static Result<std::unique_ptr<RocksDbDedupStore>> open(const DedupConfig& config, core::Clock& clock,
                                                         CreatePolicy create = CreatePolicy::if_absent);

  ~RocksDbDedupStore() override;
  RocksDbDedupStore(const RocksDbDedupStore&) = delete;
  RocksDbDedupStore& operator=(const RocksDbDedupStore&) = delete;

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

private:
  struct Impl;
  explicit RocksDbDedupStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ib::dedup
