#include "app/dedup_store_port.hpp"

#include "core/log.hpp"

namespace ib::app {

namespace {

std::string describe(const dedup::StoreError& e) {
  return std::string(dedup::to_string(e.code)) + ": " + e.message;
}

}  // namespace

std::variant<std::vector<pipeline::StoreEntry>, std::string> DedupStorePort::lookup(
    const std::vector<std::string>& keys) {
  auto found = store_.lookup(keys);
  if (!found) return describe(found.error());
  std::vector<pipeline::StoreEntry> out;
  out.reserve(keys.size());
  for (const auto& entry : *found) {
    pipeline::StoreEntry e;
    if (entry) {
      e.state = entry->state == dedup::EntryState::imported ? pipeline::StoreState::imported
                                                            : pipeline::StoreState::pending;
      e.fingerprint = entry->fingerprint;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<std::string> DedupStorePort::mark_pending(const std::vector<Pending>& items) {
  std::vector<dedup::PendingMark> marks;
  marks.reserve(items.size());
  for (const auto& i : items) {
    marks.push_back({i.key, i.fingerprint, static_cast<std::uint32_t>(i.attempt + 1)});
  }
  if (auto r = store_.mark_pending(marks); !r) return describe(r.error());
  return std::nullopt;
}

std::optional<std::string> DedupStorePort::mark_imported(const std::vector<Imported>& items) {
  std::vector<dedup::ImportedMark> marks;
  marks.reserve(items.size());
  for (const auto& i : items) marks.push_back({i.key, i.fingerprint, i.record_id});
  if (auto r = store_.mark_imported(marks); !r) return describe(r.error());
  return std::nullopt;
}

void DedupStorePort::record_duplicates(const std::vector<std::string>& keys) {
  if (auto r = store_.record_duplicates(keys); !r) {
    // A lost sighting count changes no outcome: log, go on.
    log::warn("dedup store: duplicate count not recorded", {{"error", describe(r.error())}});
  }
}

}  // namespace ib::app
