#pragma once

// What a dedup store directory holds, decided from its files alone (no RocksDB call, nothing
// created or changed), so that open() refuses a damaged or foreign directory before RocksDB
// can touch it, and check-config applies the same rule. Internal to lib/dedup.

#include <filesystem>
#include <string>
#include <string_view>

namespace ib::dedup::detail {

/// Written into the directory when invoice-bridge creates a store: tells our store apart
/// from any other RocksDB database. Its first line is kMarkerText.
inline constexpr std::string_view kMarkerFile = "INVOICE_BRIDGE_STORE";
inline constexpr std::string_view kMarkerText = "invoice-bridge dedup store";
/// The compaction filter name every version of RocksDbDedupStore has set; RocksDB records it
/// in the OPTIONS files, so a store made before the marker existed is still recognised.
inline constexpr std::string_view kFilterName = "ib.dedup.TtlCompactionFilter";

enum class DirKind {
  /// Nothing at the path (a new store may be created).
  absent,
  /// An empty directory, or one with only what a first start that stopped half way leaves
  /// (LOCK, LOG, IDENTITY) or a file system's lost+found (a new store may be created).
  empty,
  /// Our store: CURRENT names an existing MANIFEST, and the marker file is there.
  store,
  /// Our store from a version that wrote no marker (recognised by its OPTIONS files).
  unmarked_store,
  /// A store that cannot be opened safely (no CURRENT, CURRENT naming a missing or empty
  /// MANIFEST, unreadable CURRENT).
  damaged,
  /// Something else: another RocksDB database, or files that are not a store.
  foreign,
  /// Not a directory, or it cannot be read.
  unusable,
};

struct DirInspection {
  DirKind kind = DirKind::absent;
  /// For damaged / foreign / unusable: what is wrong, one clause ("has no CURRENT file ...").
  std::string why;
};

DirInspection inspect_store_dir(const std::filesystem::path& dir);

/// Creates the marker file (fsynced, with its directory). Empty on success, else why not.
std::string write_marker(const std::filesystem::path& dir);

}  // namespace ib::dedup::detail
