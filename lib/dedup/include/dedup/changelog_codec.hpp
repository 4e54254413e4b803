#pragma once

// The value format of the dedup changelog topic (docs/dedup-store.md): one format byte
// (1), then the store's own entry encoding (state, attempt, times, duplicates,
// fingerprint, record id). The record key is the dedup key; an empty value is a tombstone.

#include "dedup/dedup_store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ib::dedup {

inline constexpr char kChangelogFormat = 1;

std::string encode_changelog_value(const Entry& entry);
/// nullopt when the bytes are not a changelog value this version reads (empty included).
std::optional<Entry> decode_changelog_value(std::string_view bytes);

/// The store-internal key of a changelog checkpoint: 0xff (never the first byte of a
/// UTF-8 dedup key, and refused by every mark), a name, the topic and the partition.
std::string checkpoint_key(std::string_view topic, std::int32_t partition);
/// Whether `key` is one of the store's reserved keys (first byte 0xff).
bool is_reserved_key(std::string_view key);

}  // namespace ib::dedup
