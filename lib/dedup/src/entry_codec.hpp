#pragma once

// The on-disk value format of RocksDbDedupStore (version 1), all integers as unsigned
// LEB128 varints (times as zigzag-encoded milliseconds since the Unix epoch):
//   version(=1) state attempt state_since first_seen last_seen duplicates
//   fingerprint_len fingerprint_bytes record_id_len record_id_bytes

#include "dedup/dedup_store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ib::dedup::detail {

std::string encode_entry(const Entry& entry);
/// nullopt when the bytes are not a valid version-1 value.
std::optional<Entry> decode_entry(std::string_view bytes);
/// Only last_seen (ms), for the compaction filter; nullopt when undecodable.
std::optional<std::int64_t> decode_last_seen_ms(std::string_view bytes);

}  // namespace ib::dedup::detail
