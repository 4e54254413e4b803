#pragma once

// The batches the crash test writes and checks: batch b holds `size` keys "b<b>-k<i>",
// pending with attempt b for even b, imported with record id "id<b>-<i>" for odd b.

#include "dedup/dedup_store.hpp"

#include <string>
#include <vector>

namespace ib::dedup::test {

inline std::string crash_key(long batch, int i) {
  return "b" + std::to_string(batch) + "-k" + std::to_string(i);
}

inline Result<void> write_crash_batch(DedupStore& store, long batch, int size) {
  if (batch % 2 == 0) {
    std::vector<PendingMark> marks;
    for (int i = 0; i < size; ++i) {
      marks.push_back({crash_key(batch, i), "fp" + std::to_string(batch), static_cast<std::uint32_t>(batch)});
    }
    return store.mark_pending(marks);
  }
  std::vector<ImportedMark> marks;
  for (int i = 0; i < size; ++i) {
    marks.push_back({crash_key(batch, i), "fp" + std::to_string(batch),
                     "id" + std::to_string(batch) + "-" + std::to_string(i)});
  }
  return store.mark_imported(marks);
}

/// How much of batch b is there: -1 when some entries are wrong, else the number present.
inline int count_crash_batch(DedupStore& store, long batch, int size) {
  std::vector<std::string> keys;
  for (int i = 0; i < size; ++i) keys.push_back(crash_key(batch, i));
  auto found = store.lookup(keys);
  if (!found) return -1;
  int present = 0;
  for (int i = 0; i < size; ++i) {
    const auto& e = (*found)[i];
    if (!e) continue;
    ++present;
    const bool even = batch % 2 == 0;
    if (e->fingerprint != "fp" + std::to_string(batch)) return -1;
    if (even && (e->state != core::StoreState::pending || e->attempt != batch)) return -1;
    if (!even && (e->state != core::StoreState::imported ||
                  e->record_id != "id" + std::to_string(batch) + "-" + std::to_string(i))) {
      return -1;
    }
  }
  return present;
}

}  // namespace ib::dedup::test
