#include "dedup/rocksdb_dedup_store.hpp"

#include "dedup/changelog_codec.hpp"

#include "entry_codec.hpp"
#include "entry_rules.hpp"
#include "store_directory.hpp"

#include "core/log.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <optional>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <unordered_map>

namespace ib::dedup {
namespace {

/// Keys are opaque bytes: show them printable in messages.
std::string printable(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (key.size() > 200) out += "...";
  return out;
}

/// Drops entries past the TTL during compactions, by the injected clock (the same test
/// that reads apply). RocksDB calls it from its background threads: it must not throw.
class TtlCompactionFilter final : public rocksdb::CompactionFilter {
public:
  TtlCompactionFilter(core::Clock& clock, std::chrono::milliseconds ttl) : clock_(clock), ttl_(ttl) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    try {
      if (is_reserved_key(std::string_view(key.data(), key.size()))) return false;  // checkpoints
      const auto last = detail::decode_last_seen_ms(std::string_view(value.data(), value.size()));
      if (!last) return false;  // keep what we cannot read; reads report it as corruption
      return detail::is_expired(*last, detail::to_ms(clock_.now()), ttl_.count());
    } catch (...) {
      return false;
    }
  }
  const char* Name() const override { return "ib.dedup.TtlCompactionFilter"; }

private:
  core::Clock& clock_;
  std::chrono::milliseconds ttl_;
};

/// RocksDB's own log lines go to ours (source=rocksdb) instead of LOG files in the store
/// directory: a failed open then writes nothing there (no LOG rotation, no LOG.old deleted).
/// Called from RocksDB's threads: never throws.
class ForwardingLogger final : public rocksdb::Logger {
public:
  ForwardingLogger(std::string path) : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), path_(std::move(path)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    const int n = std::vsnprintf(line, sizeof line, format, ap);
    if (n < 0) return;
    std::string_view text(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    const auto ours = level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? log::Level::error
                      : level >= rocksdb::InfoLogLevel::WARN_LEVEL ? log::Level::warn
                                                                   : log::Level::info;
    log::write(ours, text, {{"source", "rocksdb"}, {"path", path_}});
  }

private:
  std::string path_;
};

/// The operator's way out of a refused directory, for every refusal message.
std::string what_to_do(const std::filesystem::path& path) {
  return "nothing in it was changed; move it aside (mv " + path.string() + " " + path.string() +
         ".broken) and start again to begin with a new, empty store (or restore a backup, or rebuild it: "
         "docs/runbook.md, \"Damaged or lost dedup store\")";
}

}  // namespace

struct RocksDbDedupStore::Impl {
  DedupConfig config;
  core::Clock& clock;
  TtlCompactionFilter filter;
  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_options;
  std::mutex write_mutex;  // read-modify-write of marks is serialised
  /// The first failed write or WAL fsync (under write_mutex). RocksDB's WAL writer must not
  /// be used after it failed (librocksdb asserts: `sync_without_flush_called_`), and RocksDB
  /// refuses writes after it anyway until the store is reopened: later writes and syncs
  /// return this error without touching the WAL.
  std::optional<StoreError> write_failed;
  std::chrono::steady_clock::time_point last_sync = std::chrono::steady_clock::now();

  Impl(const DedupConfig& c, core::Clock& clk) : config(c), clock(clk), filter(clk, c.ttl) {}

  ~Impl() {
    if (!db) return;
    if (config.fsync != FsyncPolicy::never && !write_failed) db->SyncWAL().PermitUncheckedError();
    db->Close().PermitUncheckedError();
  }

  StoreError error(const rocksdb::Status& s, std::string_view what) const {
    const std::string detail = s.ToString();
    StoreErrc code = StoreErrc::other;
    std::string text;
    if (s.IsIOError() && (detail.find("While lock file") != std::string::npos ||
                          detail.find("lock hold by current process") != std::string::npos)) {
      code = StoreErrc::in_use;
      text = detail.find("current process") != std::string::npos
                 ? "is already open in this process"
                 : "is already in use by another process";
      return {code, "dedup store " + config.path.string() + " " + text + " (" + detail + ")"};
    }
    if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kNoSpace) {
      code = StoreErrc::no_space;
    } else if (s.IsCorruption()) {
      code = StoreErrc::corruption;
    } else if (s.IsIOError()) {
      code = StoreErrc::io_error;
    } else if (s.IsInvalidArgument()) {
      code = StoreErrc::invalid_argument;
    }
    return {code, "dedup store " + config.path.string() + ": " + std::string(what) + " failed: " + detail};
  }

  StoreError damaged(const std::string& why) const {
    return {StoreErrc::corruption,
            "dedup store " + config.path.string() + " is damaged and was not opened: " + why + "; " + what_to_do(config.path)};
  }

  /// What DB::Open cannot be trusted to refuse: a MANIFEST cut short (at a record boundary,
  /// or inside the last record) reads like one whose writer crashed, so RocksDB opens the
  /// older version it describes and deletes the newer table files as obsolete. Opened read
  /// only first (nothing written or deleted), the store is refused when a table file in the
  /// directory that its MANIFEST does not list holds a key the store does not have. A crash
  /// leaves such files too (a flush or compaction cut short), but their keys are all still
  /// there (the WAL of a flush is kept until the flush is recorded; compaction inputs stay).
  /// Holds RocksDB's LOCK meanwhile, so that a running owner reads as in_use, not as damage.
  Result<void> check_before_open(const rocksdb::Options& options) const {
    const std::string dir = config.path.string();
    rocksdb::FileLock* lock = nullptr;
    if (auto s = options.env->LockFile(dir + "/LOCK", &lock); !s.ok()) return error(s, "open");
    struct Unlock {
      rocksdb::Env* env;
      rocksdb::FileLock* lock;
      ~Unlock() { env->UnlockFile(lock).PermitUncheckedError(); }
    } unlock{options.env, lock};

    rocksdb::DB* raw = nullptr;
    if (auto s = rocksdb::DB::OpenForReadOnly(options, dir, &raw); !s.ok()) {
      delete raw;
      if (error(s, "open").code == StoreErrc::corruption) return damaged("RocksDB reports " + s.ToString());
      return error(s, "open");
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    std::vector<rocksdb::LiveFileMetaData> live;
    db->GetLiveFilesMetaData(&live);
    std::vector<std::string> listed;
    for (const auto& f : live) listed.push_back(std::filesystem::path(f.name).filename().string());
    std::error_code ec;
    for (std::filesystem::directory_iterator it(config.path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (it->path().extension() != ".sst" || std::find(listed.begin(), listed.end(), name) != listed.end()) continue;
      rocksdb::SstFileReader reader(options);
      if (!reader.Open(it->path().string()).ok()) continue;  // cut off while written: a crash's leftover
      std::unique_ptr<rocksdb::Iterator> keys(reader.NewIterator(rocksdb::ReadOptions()));
      for (keys->SeekToFirst(); keys->Valid(); keys->Next()) {
        rocksdb::PinnableSlice value;
        const auto got = db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(), keys->key(), &value);
        if (got.IsNotFound()) {
          return damaged("its MANIFEST does not list the table file " + name +
                         ", which holds entries the store would lose (key '" +
                         printable(std::string_view(keys->key().data(), keys->key().size())) +
                         "'): the MANIFEST is cut short or older than the table files");
        }
        if (!got.ok()) return error(got, "open");
      }
    }
    if (ec) return error(rocksdb::Status::IOError(ec.message()), "open");
    return {};
  }

  StoreError bad_value(std::string_view key) const {
    return {StoreErrc::corruption, "dedup store " + config.path.string() +
                                       ": undecodable value for key '" + printable(key) + "'"};
  }

  /// Reads the live entries of `keys` (nullopt: absent or expired) with one MultiGet.
  Result<std::vector<std::optional<Entry>>> read(std::span<const std::string_view> keys, TimePoint now) {
    const std::size_t n = keys.size();
    std::vector<std::optional<Entry>> out(n);
    if (n == 0) return out;
    std::vector<rocksdb::Slice> slices;
    slices.reserve(n);
    for (auto k : keys) slices.emplace_back(k.data(), k.size());
    std::vector<rocksdb::PinnableSlice> values(n);
    std::vector<rocksdb::Status> statuses(n);
    db->MultiGet(rocksdb::ReadOptions(), db->DefaultColumnFamily(), n, slices.data(), values.data(),
                 statuses.data());
    for (std::size_t i = 0; i < n; ++i) {
      if (statuses[i].IsNotFound() || is_reserved_key(keys[i])) continue;
      if (!statuses[i].ok()) return error(statuses[i], "lookup");
      auto entry = detail::decode_entry(std::string_view(values[i].data(), values[i].size()));
      if (!entry) return bad_value(keys[i]);
      if (!detail::is_expired(*entry, now, config.ttl)) out[i] = std::move(*entry);
    }
    return out;
  }

  Result<void> write(rocksdb::WriteBatch& batch) {
    if (batch.Count() == 0) return {};
    if (write_failed) return refused_since_failure();
    if (auto s = db->Write(write_options, &batch); !s.ok()) return remember(error(s, "write"));
    if (config.fsync == FsyncPolicy::periodic) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_sync >= config.fsync_interval) {
        last_sync = now;
        if (auto s = db->SyncWAL(); !s.ok()) return remember(error(s, "WAL fsync"));
      }
    }
    return {};
  }

  StoreError remember(StoreError e) {
    write_failed = e;
    return e;
  }

  StoreError refused_since_failure() const {
    return {write_failed->code, write_failed->message + " (writes stay refused until the store is reopened)"};
  }

  /// The shared shape of every mark: read the live entries, apply `rule` in order (a key
  /// repeated in one batch sees its earlier update), write all changes in one WriteBatch.
  template <typename Item, typename KeyOf, typename Rule>
  Result<std::size_t> read_modify_write(std::span<const Item> items, KeyOf key_of, Rule rule) {
    for (const auto& item : items) {
      if (auto e = detail::check_key(key_of(item))) return *e;
    }
    std::lock_guard lock(write_mutex);
    const auto now = clock.now();
    std::vector<std::string_view> keys;
    keys.reserve(items.size());
    for (const auto& item : items) keys.push_back(key_of(item));
    auto current = read(keys, now);
    if (!current) return current.error();
    std::unordered_map<std::string_view, std::optional<Entry>> overlay;
    rocksdb::WriteBatch batch;
    std::size_t changed = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto it = overlay.find(keys[i]);
      const std::optional<Entry>& live = it != overlay.end() ? it->second : (*current)[i];
      std::optional<Entry> next = rule(live, items[i], now);
      if (!next) continue;
      ++changed;
      const std::string value = detail::encode_entry(*next);
      batch.Put(rocksdb::Slice(keys[i].data(), keys[i].size()), value);
      overlay[keys[i]] = std::move(next);
    }
    if (auto w = write(batch); !w) return w.error();
    return changed;
  }
};

RocksDbDedupStore::RocksDbDedupStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDbDedupStore::~RocksDbDedupStore() = default;

Result<std::unique_ptr<RocksDbDedupStore>> RocksDbDedupStore::open(const DedupConfig& config,
                                                                   core::Clock& clock,
                                                                   CreatePolicy create_policy) {
  if (auto problems = config.validate(); !problems.empty()) {
    std::string msg = "dedup store: invalid configuration:";
    for (const auto& p : problems) msg += " " + p + ";";
    return StoreError{StoreErrc::invalid_argument, msg};
  }
  const std::string where = "dedup store " + config.path.string();
  // Decided from the files before RocksDB sees the directory: RocksDB asked to create a
  // database where one is damaged writes a new one over it and deletes the old table files.
  const auto found = detail::inspect_store_dir(config.path);
  bool create = false;
  switch (found.kind) {
    case detail::DirKind::absent:
    case detail::DirKind::empty:
      if (create_policy == CreatePolicy::never) {
        return StoreError{StoreErrc::not_found,
                          "no " + where + (found.kind == detail::DirKind::absent ? " (the path does not exist)"
                                                                                 : " (the directory is empty)")};
      }
      create = true;
      break;
    case detail::DirKind::store:
    case detail::DirKind::unmarked_store: break;
    case detail::DirKind::damaged:
      return StoreError{StoreErrc::corruption, where + " is damaged and was not opened: it " + found.why + "; " +
                                                   what_to_do(config.path)};
    case detail::DirKind::foreign:
      return StoreError{StoreErrc::not_a_store, where + " is refused: the directory " + found.why + "; " +
                                                    what_to_do(config.path) + ", or fix dedup.path"};
    case detail::DirKind::unusable:
      return StoreError{StoreErrc::io_error, where + ": " + found.why};
  }
  if (create) {
    std::error_code ec;
    std::filesystem::create_directories(config.path, ec);
    if (ec) {
      return StoreError{StoreErrc::io_error, where + ": cannot create the directory: " + ec.message()};
    }
  }

  auto impl = std::make_unique<Impl>(config, clock);
  impl->cache = rocksdb::NewLRUCache(config.block_cache_bytes);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = impl->cache;
  // Whole-key bloom filters held with the table readers (not evicted from the cache), so a
  // new key is answered from memory; ~1% false positives at 10 bits/key.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(config.bloom_bits_per_key, false));
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = false;
  table.optimize_filters_for_memory = true;
  table.format_version = 5;

  rocksdb::Options options;
  // Only a directory found empty may get a new database, and then it must not hold one.
  options.create_if_missing = create;
  options.error_if_exists = create;
  options.info_log = std::make_shared<ForwardingLogger>(config.path.string());
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.write_buffer_size = config.write_buffer_bytes;
  options.max_write_buffer_number = 3;
  // Memtable bloom on whole keys: absent keys skip the memtable skiplist search too.
  options.memtable_prefix_bloom_size_ratio = 0.1;
  options.memtable_whole_key_filtering = true;
  options.compression = rocksdb::kLZ4Compression;
  options.level_compaction_dynamic_level_bytes = true;
  options.max_background_jobs = config.max_background_jobs;
  options.compaction_filter = &impl->filter;
  const auto ttl_s = std::chrono::duration_cast<std::chrono::seconds>(config.ttl).count();
  options.periodic_compaction_seconds = static_cast<std::uint64_t>(std::max<std::int64_t>(ttl_s, 1));
  options.keep_log_file_num = 3;
  options.max_log_file_size = 8 << 20;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.paranoid_checks = true;

  impl->write_options.sync = config.fsync == FsyncPolicy::always;
  impl->write_options.disableWAL = false;

  if (!create) {
    if (auto checked = impl->check_before_open(options); !checked) return checked.error();
  }
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, config.path.string(), &raw);
  if (!s.ok()) {
    delete raw;
    if (impl->error(s, "open").code == StoreErrc::corruption) return impl->damaged("RocksDB reports " + s.ToString());
    return impl->error(s, "open");
  }
  impl->db.reset(raw);
  if (create || found.kind == detail::DirKind::unmarked_store) {
    if (auto why = detail::write_marker(config.path); !why.empty()) {
      auto e = StoreError{StoreErrc::io_error, where + ": cannot write its marker file: " + why};
      if (why.find(std::strerror(ENOSPC)) != std::string::npos) e.code = StoreErrc::no_space;
      return e;
    }
  }
  if (create) {
    log::warn("creating a new dedup store", {{"path", config.path.string()}});
  } else if (found.kind == detail::DirKind::unmarked_store) {
    log::info("dedup store made by an earlier version: marker file written", {{"path", config.path.string()}});
  }
  return std::unique_ptr<RocksDbDedupStore>(new RocksDbDedupStore(std::move(impl)));
}

Result<std::vector<std::optional<Entry>>> RocksDbDedupStore::lookup(std::span<const std::string> keys) {
  std::vector<std::string_view> views(keys.begin(), keys.end());
  return impl_->read(views, impl_->clock.now());
}

Result<void> RocksDbDedupStore::mark_pending(std::span<const PendingMark> marks) {
  auto r = impl_->read_modify_write(
      marks, [](const PendingMark& m) -> std::string_view { return m.key; },
      [](const std::optional<Entry>& live, const PendingMark& m, TimePoint now) {
        return detail::apply_pending(live, m, now);
      });
  if (!r) return r.error();
  return {};
}

Result<void> RocksDbDedupStore::mark_imported(std::span<const ImportedMark> marks) {
  auto r = impl_->read_modify_write(
      marks, [](const ImportedMark& m) -> std::string_view { return m.key; },
      [](const std::optional<Entry>& live, const ImportedMark& m, TimePoint now) {
        return std::optional<Entry>(detail::apply_imported(live, m, now));
      });
  if (!r) return r.error();
  return {};
}

Result<std::size_t> RocksDbDedupStore::record_duplicates(std::span<const std::string> keys) {
  // Absent keys are ignored rather than refused, empty ones included.
  std::vector<std::string> valid;
  valid.reserve(keys.size());
  for (const auto& k : keys) {
    if (!k.empty()) valid.push_back(k);
  }
  return impl_->read_modify_write(
      std::span<const std::string>(valid), [](const std::string& k) -> std::string_view { return k; },
      [](const std::optional<Entry>& live, const std::string&, TimePoint now) {
        return detail::apply_duplicate(live, now);
      });
}

Result<bool> RocksDbDedupStore::forget(std::string_view key) {
  if (auto e = detail::check_key(key)) return *e;
  std::lock_guard lock(impl_->write_mutex);
  const rocksdb::Slice k(key.data(), key.size());
  rocksdb::PinnableSlice value;
  const auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->db->DefaultColumnFamily(), k, &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return impl_->error(s, "forget");
  // An undecodable value counts as there: forget() is how an operator removes it.
  const auto entry = detail::decode_entry(std::string_view(value.data(), value.size()));
  const bool live = !entry || !detail::is_expired(*entry, impl_->clock.now(), impl_->config.ttl);
  rocksdb::WriteBatch batch;
  batch.Delete(k);
  if (auto w = impl_->write(batch); !w) return w.error();
  return live;
}

Result<ScanPage> RocksDbDedupStore::scan(const ScanOptions& options) {
  const auto now = impl_->clock.now();
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  ScanPage page;
  for (it->Seek(options.start); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (is_reserved_key(key)) break;  // the store's own keys sort last (0xff); not entries
    auto entry = detail::decode_entry(std::string_view(it->value().data(), it->value().size()));
    if (!entry) return impl_->bad_value(key);
    const bool expired = detail::is_expired(*entry, now, impl_->config.ttl);
    if (expired && !options.include_expired) continue;
    if (page.rows.size() >= options.limit) {
      page.next_start = std::string(key);
      break;
    }
    page.rows.push_back(KeyedEntry{std::string(key), std::move(*entry), expired});
  }
  if (auto s = it->status(); !s.ok()) return impl_->error(s, "scan");
  return page;
}

Result<StoreStats> RocksDbDedupStore::stats() {
  StoreStats s;
  auto& db = *impl_->db;
  db.GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &s.estimated_keys);
  db.GetIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &s.disk_bytes);
  db.GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &s.memtable_bytes);
  s.block_cache_bytes = impl_->cache->GetUsage();
  // The checkpoints are not entries (the estimate is an estimate: never below zero).
  std::uint64_t reserved = 0;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(rocksdb::Slice("\xff", 1)); it->Valid(); it->Next()) ++reserved;
  s.estimated_keys -= std::min(s.estimated_keys, reserved);
  return s;
}

Result<std::optional<std::int64_t>> RocksDbDedupStore::changelog_checkpoint(std::string_view topic,
                                                                           std::int32_t partition) {
  const std::string key = checkpoint_key(topic, partition);
  std::string value;
  const auto s = impl_->db->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<std::int64_t>();
  if (!s.ok()) return impl_->error(s, "checkpoint read");
  try {
    std::size_t used = 0;
    const std::int64_t offset = std::stoll(value, &used);
    if (used == value.size() && offset >= 0) return std::optional<std::int64_t>(offset);
  } catch (const std::exception&) {
  }
  return StoreError{StoreErrc::corruption, "dedup store " + impl_->config.path.string() +
                                               ": undecodable changelog checkpoint for " + std::string(topic) +
                                               " partition " + std::to_string(partition)};
}

Result<RestoreApplied> RocksDbDedupStore::apply_changelog(std::string_view topic, std::int32_t partition,
                                                          std::span<const ChangelogRecord> records,
                                                          std::int64_t next_offset) {
  RestoreApplied applied;
  rocksdb::WriteBatch batch;
  const auto now = impl_->clock.now();
  for (const auto& r : records) {
    if (auto e = detail::check_key(r.key)) return *e;
    const rocksdb::Slice key(r.key);
    if (r.value.empty()) {
      batch.Delete(key);
      ++applied.deleted;
      continue;
    }
    auto entry = decode_changelog_value(r.value);
    if (!entry) {
      return StoreError{StoreErrc::corruption, "dedup store " + impl_->config.path.string() +
                                                   ": undecodable changelog value for key '" + printable(r.key) +
                                                   "' (" + std::string(topic) + " partition " +
                                                   std::to_string(partition) + ")"};
    }
    if (detail::is_expired(*entry, now, impl_->config.ttl)) {
      ++applied.expired;
      continue;
    }
    batch.Put(key, detail::encode_entry(*entry));
    ++applied.written;
  }
  std::lock_guard lock(impl_->write_mutex);
  auto current = changelog_checkpoint(topic, partition);
  if (!current) return current.error();
  if (!*current || **current < next_offset) {
    batch.Put(checkpoint_key(topic, partition), std::to_string(next_offset));
  }
  if (auto w = impl_->write(batch); !w) return w.error();
  return applied;
}

Result<void> RocksDbDedupStore::sync() {
  std::lock_guard lock(impl_->write_mutex);
  if (impl_->write_failed) return impl_->refused_since_failure();
  if (auto s = impl_->db->SyncWAL(); !s.ok()) return impl_->remember(impl_->error(s, "WAL fsync"));
  return {};
}

Result<void> RocksDbDedupStore::compact() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  if (auto s = impl_->db->CompactRange(options, nullptr, nullptr); !s.ok()) {
    return impl_->error(s, "compaction");
  }
  return {};
}

}  // namespace ib::dedup
