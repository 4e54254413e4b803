#pragma once

#include "core/clock.hpp"
#include "core/outcome.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ib::dedup {

using TimePoint = core::Clock::TimePoint;

/// The value stored under one key. Times are kept at millisecond resolution.
struct Entry {
  /// pending: sent to D365 (or about to be), outcome unknown; a crash or timeout leaves it
  /// here. imported: D365 confirmed the record exists (created by us, or its conflict
  /// answer said so). Never absent.
  core::StoreState state = core::StoreState::pending;
  /// Content fingerprint of the invoice, opaque bytes chosen by the caller (e.g. a raw
  /// 16-byte hash). Compare it with the new copy's to tell a harmless retry from a conflict.
  std::string fingerprint;
  /// The attempt number of the latest send (mark_pending); kept when the entry becomes imported.
  std::uint32_t attempt = 0;
  /// When the entry entered its current state (pending: sent; imported: confirmed).
  TimePoint state_since{};
  /// The D365 record id (imported, when known); empty otherwise.
  std::string record_id;
  /// When the key was first written (kept across state changes).
  TimePoint first_seen{};
  /// The latest mark or duplicate sighting; the TTL counts from here.
  TimePoint last_seen{};
  /// Duplicate sightings recorded with record_duplicates().
  std::uint64_t duplicates = 0;

  friend bool operator==(const Entry&, const Entry&) = default;
};

/// "This invoice is being sent now, attempt N."
struct PendingMark {
  std::string key;
  std::string fingerprint;
  std::uint32_t attempt = 1;
};

/// "D365 confirmed this invoice." `record_id` may be empty (id unknown, e.g. a conflict answer).
struct ImportedMark {
  std::string key;
  std::string fingerprint;
  std::string record_id;
};

/// Why an operation failed. Every failure is a value: the store never throws or aborts
/// at run time; the caller decides whether to stop.
enum class StoreErrc {
  /// The directory is locked by another process (or already open in this one).
  in_use,
  /// The disk (or quota) is full. Writes fail; reads may still work.
  no_space,
  /// Data on disk is damaged (bad checksum, undecodable value; at open: no CURRENT file, a
  /// missing or damaged MANIFEST; the store is then refused and left untouched).
  corruption,
  /// Any other I/O failure (permissions, missing directory, EIO).
  io_error,
  /// open: no store at the path, and the caller did not allow creating one.
  not_found,
  /// open: the directory holds something that is not a dedup store (another database,
  /// unrelated files); it was left untouched.
  not_a_store,
  /// The caller passed something the store refuses (empty key, bad config).
  invalid_argument,
  /// A failure injected by a test (MemoryDedupStore::fail_next).
  injected,
  /// Anything else RocksDB reported.
  other,
};

std::string_view to_string(StoreErrc code);

struct StoreError {
  StoreErrc code = StoreErrc::other;
  /// One line for logs and the operator: what failed, on which path, and why.
  std::string message;
};

/// Lets `result.value()` throw (std::runtime_error with the message) where a caller wants that.
[[noreturn]] void throw_exception_from_error(const StoreError& e, const boost::source_location& loc);

template <typename T>
using Result = boost::system::result<T, StoreError>;

/// Size and count estimates for metrics and `invoice-bridge store stats`.
struct StoreStats {
  /// Estimated number of keys, including expired ones not yet compacted away.
  std::uint64_t estimated_keys = 0;
  /// Bytes in live table files on disk (excludes the WAL and the memtable).
  std::uint64_t disk_bytes = 0;
  /// Bytes in memtables (not yet flushed).
  std::uint64_t memtable_bytes = 0;
  /// Bytes in use in the block cache.
  std::uint64_t block_cache_bytes = 0;
};

/// One row of scan().
struct KeyedEntry {
  std::string key;
  Entry entry;
  /// True when the entry is past the TTL (only returned with include_expired).
  bool expired = false;
};

struct ScanOptions {
  /// First key to return (inclusive); empty: from the beginning. Keys are in byte order.
  std::string start;
  /// At most this many rows per page.
  std::size_t limit = 100;
  /// Also return entries past the TTL that compaction has not removed yet.
  bool include_expired = false;
};

struct ScanPage {
  std::vector<KeyedEntry> rows;
  /// Pass as ScanOptions::start for the next page; nullopt at the end.
  std::optional<std::string> next_start;
};

/// One record of the changelog topic as read back for a restore: key and value bytes (the
/// changelog value format, dedup/changelog_codec.hpp); an empty value is a tombstone.
struct ChangelogRecord {
  std::string key;
  std::string value;
};

/// What apply_changelog() did with its records.
struct RestoreApplied {
  /// Entries written (live ones).
  std::size_t written = 0;
  /// Entries past the TTL, skipped (they would read as absent anyway).
  std::size_t expired = 0;
  /// Tombstones applied.
  std::size_t deleted = 0;
};

/// The dedup store: dedup key -> Entry, with a TTL window.
///
/// Keys are opaque, non-empty byte strings (the caller normalises them). An entry whose
/// last_seen is `ttl` or more before the injected clock's now reads as absent, exactly,
/// whether or not compaction has removed it yet; a mark on an expired key starts afresh.
///
/// Threads: every method may be called from any thread; writes are serialised inside.
/// Each batch call is atomic: after a crash it is either wholly there or wholly absent.
/// Errors come back as values (Result); nothing throws at run time.
class DedupStore {
public:
  virtual ~DedupStore() = default;

  /// Looks up every key; the answer has one slot per key, in order (nullopt: absent or expired).
  virtual Result<std::vector<std::optional<Entry>>> lookup(std::span<const std::string> keys) = 0;

  /// Marks keys as sent (pending) with their attempt number, in one atomic write.
  /// Absent/expired key: a new entry. Pending key: attempt, fingerprint, state_since and
  /// last_seen are updated. Imported key: left unchanged (imported stays imported until
  /// forget() or expiry).
  virtual Result<void> mark_pending(std::span<const PendingMark> marks) = 0;

  /// Marks keys as imported, in one atomic write, from any state. Keeps first_seen,
  /// attempt and duplicates; an empty record_id keeps a record id already known.
  virtual Result<void> mark_imported(std::span<const ImportedMark> marks) = 0;

  /// Records one duplicate sighting per key (duplicates += 1, last_seen = now, which
  /// extends the TTL). Absent/expired keys are ignored. Returns how many keys were updated.
  virtual Result<std::size_t> record_duplicates(std::span<const std::string> keys) = 0;

  /// Removes a key (manual replay). Returns whether a live entry was there.
  virtual Result<bool> forget(std::string_view key) = 0;

  /// Pages through entries in key order (for inspection; not for the hot path).
  virtual Result<ScanPage> scan(const ScanOptions& options) = 0;

  virtual Result<StoreStats> stats() = 0;

  /// Makes every acknowledged write durable against power loss now (fsyncs the WAL).
  virtual Result<void> sync() = 0;

  /// Compacts everything now, dropping expired entries. Slow on a big store; for tools and
  /// tests (RocksDB also does it on its own, see docs/dedup-store.md).
  virtual Result<void> compact() = 0;

  /// The changelog offset from which `partition` of the changelog `topic` is to be restored
  /// next (every record before it is in this store); nullopt when it never was. Kept
  /// under a reserved key (first byte 0xff, which no UTF-8 dedup key has) that lookup(),
  /// scan() and stats() never show.
  virtual Result<std::optional<std::int64_t>> changelog_checkpoint(std::string_view topic,
                                                                   std::int32_t partition) = 0;

  /// Applies changelog records of one partition in order (a live entry overwrites the
  /// key, an entry past the TTL is skipped, a tombstone deletes) and sets the partition's
  /// checkpoint to `next_offset` (never lowers it), all in one atomic write: after a crash
  /// either the records and the checkpoint are there, or neither. Undecodable values fail
  /// with StoreErrc::corruption and change nothing. Empty `records` only moves the
  /// checkpoint (after this process's own changelog writes were acknowledged).
  virtual Result<RestoreApplied> apply_changelog(std::string_view topic, std::int32_t partition,
                                                 std::span<const ChangelogRecord> records,
                                                 std::int64_t next_offset) = 0;

  /// One key; convenience over lookup().
  Result<std::optional<Entry>> get(std::string_view key);
};

}  // namespace ib::dedup
