#pragma once

// The state changes of the dedup store, shared by every implementation so that the
// RocksDB store and the in-memory fake cannot drift apart. Pure functions.

#include "dedup/dedup_store.hpp"

#include <chrono>
#include <cstdint>
#include <optional>

namespace ib::dedup::detail {

std::int64_t to_ms(TimePoint t);
TimePoint from_ms(std::int64_t ms);

/// An entry is expired from last_seen + ttl on (at the exact millisecond it reads as absent).
bool is_expired(const Entry& entry, TimePoint now, std::chrono::milliseconds ttl);
bool is_expired(std::int64_t last_seen_ms, std::int64_t now_ms, std::int64_t ttl_ms);

/// The entry to write for a pending mark, given the live entry (nullopt: absent or
/// expired); nullopt when nothing changes (the key is already imported).
std::optional<Entry> apply_pending(const std::optional<Entry>& live, const PendingMark& mark,
                                   TimePoint now);
/// The entry to write for an imported mark.
Entry apply_imported(const std::optional<Entry>& live, const ImportedMark& mark, TimePoint now);
/// The entry to write for a duplicate sighting; nullopt when the key is not live.
std::optional<Entry> apply_duplicate(const std::optional<Entry>& live, TimePoint now);

/// An error for a key the store refuses (empty), nullopt when it is fine.
std::optional<StoreError> check_key(std::string_view key);

}  // namespace ib::dedup::detail
