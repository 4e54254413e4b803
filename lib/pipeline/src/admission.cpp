// Admission: decode, and the dedup decision for every copy of a key (dedup::judge_copies).
#include "pipeline_impl.hpp"

#include "core/log.hpp"
#include "dedup/admission.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <optional>
#include <string_view>

namespace ib::pipeline {

namespace asio = boost::asio;
using core::Outcome;
using core::ReviewReason;
using core::StoreState;

void Pipeline::Impl::submit(std::vector<InMessage> messages) {
  if (failed) return;
  backlog += messages.size();
  std::vector<ItemPtr> decoded;
  decoded.reserve(messages.size());
  for (auto& m : messages) {
    auto result = parts.codec.decode(m.value);
    if (!result) {
      const auto& reason = result.error().message;
      log::warn("invalid invoice sent to review",
                {{"topic", m.topic}, {"offset", std::to_string(m.offset)}, {"reason", reason}});
      ReviewRecord record{ReviewReason::invalid, 0, reason, {}, m.attempt};
      to_review(std::move(m), std::move(record), Outcome::invalid);
      continue;
    }
    auto item = std::make_shared<Item>();
    item->replayed = m.replay_count > 0;
    item->msg = std::move(m);
    item->decoded = std::move(*result);
    decoded.push_back(std::move(item));
  }
  admit_items(std::move(decoded));
}

// Decoded items (counted in the backlog) to the batcher, or straight to their outcome.
// The copies of each key in this group are judged together, in order, by
// dedup::judge_copies: against the stored version first, then against the version in
// flight (this group's lead, or the one queued or in flight from an earlier group).
// One store lookup for the whole group.
void Pipeline::Impl::admit_items(std::vector<ItemPtr> decoded) {
  struct KeyCopies {
    ItemPtr in_flight;  // the key's active item from an earlier group, if any
    std::vector<ItemPtr> copies;
  };
  std::vector<KeyCopies> groups;
  std::unordered_map<std::string_view, std::size_t> by_key;  // views into the items' keys
  for (auto& item : decoded) {
    if (item->revoked) {  // parked while its partition was revoked: not ours any more
      if (--backlog == 0) idle_timer.cancel();
      continue;
    }
    const std::string& key = item->decoded.dedup_key;
    const auto a = active.find(key);
    auto g = by_key.find(key);
    // A retry-topic copy never joins another copy: it can be the retry of the very
    // version ahead of it (see `parked`). It waits until its key is free.
    if (item->msg.attempt > 0 && (a != active.end() || g != by_key.end())) {
      parked[key].push_back(std::move(item));
      continue;
    }
    if (g == by_key.end()) {
      g = by_key.emplace(key, groups.size()).first;
      groups.push_back({a != active.end() ? a->second : nullptr, {}});
    }
    groups[g->second].copies.push_back(std::move(item));
  }
  if (groups.empty()) return;

  std::vector<std::string> keys;
  keys.reserve(groups.size());
  for (const auto& g : groups) keys.push_back(g.copies.front()->decoded.dedup_key);
  auto found = parts.store.lookup(keys);
  if (!found) {
    fail("dedup store lookup failed: " + describe_store_error(found.error()));
    return;
  }
  const auto& entries = *found;

  std::vector<dedup::PendingMark> pending;
  std::vector<ItemPtr> to_send;
  std::vector<Change> dup_changes;
  std::vector<ItemPtr> dup_items;
  std::vector<dedup::Copy> copies;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    const std::string& key = keys[i];
    const auto& entry = entries.at(i);
    const StoreState state = entry ? entry->state : StoreState::absent;
    const std::string_view stored_fp = entry ? std::string_view(entry->fingerprint) : std::string_view();
    copies.clear();
    for (const auto& c : g.copies) copies.push_back({c->decoded.fingerprint, c->replayed});
    const auto verdicts = dedup::judge_copies(
        state, stored_fp, copies,
        g.in_flight ? std::optional<std::string_view>(g.in_flight->decoded.fingerprint) : std::nullopt);

    ItemPtr lead = g.in_flight;
    if (!lead) {
      if (const auto l = std::find(verdicts.begin(), verdicts.end(), dedup::Verdict::lead); l != verdicts.end()) {
        lead = g.copies[static_cast<std::size_t>(l - verdicts.begin())];
        lead->sent_before = state == StoreState::pending;
        pending.push_back({key, lead->decoded.fingerprint, static_cast<std::uint32_t>(lead->msg.attempt + 1)});
        to_send.push_back(lead);
        active.emplace(key, lead);
      }
    }
    for (std::size_t j = 0; j < g.copies.size(); ++j) {
      const auto& item = g.copies[j];
      switch (verdicts[j]) {
        case dedup::Verdict::lead: break;
        case dedup::Verdict::follow: lead->followers.push_back(item); break;
        case dedup::Verdict::duplicate:
          dup_changes.push_back({changelog_partition(*item), key});
          dup_items.push_back(item);
          break;
        case dedup::Verdict::conflict_with_stored: {
          const bool imported = state == StoreState::imported;
          const std::string why = imported ? "differs from the invoice already imported with this key"
                                           : "differs from the version of this invoice still being sent";
          std::string versions = (imported ? "imported fingerprint " : "pending fingerprint ") +
                                 std::string(stored_fp) + ", this fingerprint " + item->decoded.fingerprint;
          // The stored version is the one being sent here: its payload too.
          if (lead && lead->decoded.fingerprint == stored_fp) versions += "\n" + lead->msg.value;
          log::warn("invoice differs from the stored version; sent to review",
                    {{"dedup_key", key}, {"stored_state", std::string(core::to_string(state))}});
          to_review(item->msg, ReviewRecord{ReviewReason::conflict, 0, why, versions, item->msg.attempt},
                    Outcome::conflict);
        } break;
        case dedup::Verdict::conflict_with_in_flight:
          log::warn("conflicting copy sent to review", {{"dedup_key", key}});
          to_review(item->msg,
                    ReviewRecord{ReviewReason::conflict, 0, "same key as an invoice in flight, different content",
                                 lead->msg.value, item->msg.attempt},
                    Outcome::conflict);
          break;
      }
    }
    // No copy holds the key: retry-topic copies parked behind this group's copies go on.
    admit_parked(key);
  }
  if (!dup_items.empty()) {
    // Done once their sightings are in the changelog.
    record_duplicates(std::move(dup_changes), [self = shared_from_this(), dup_items = std::move(dup_items)] {
      // Never active (judge_copies): no key to release, only the outcome.
      for (const auto& item : dup_items) self->finish(item->msg, Outcome::duplicate, item->revoked);
    });
  }
  if (pending.empty()) {
    pump();
    return;
  }
  if (auto written = parts.store.mark_pending(pending); !written) {
    fail("dedup store write failed: " + describe_store_error(written.error()));
    return;
  }
  // Sent once the changelog says "pending" (so a member taking over knows it was sent).
  std::vector<Change> changes;
  changes.reserve(to_send.size());
  for (const auto& item : to_send) changes.push_back({changelog_partition(*item), item->decoded.dedup_key});
  log_changes(std::move(changes), [self = shared_from_this(), to_send = std::move(to_send)] {
    for (const auto& item : to_send) self->enqueue(item);
    self->pump();
  });
}

// The item no longer holds its key: messages parked behind it are admitted (later, so
// that callers iterating over items are not re-entered).
void Pipeline::Impl::release(const ItemPtr& item) {
  const auto& key = item->decoded.dedup_key;
  if (auto it = active.find(key); it != active.end() && it->second == item) active.erase(it);
  admit_parked(key);
}

// Messages parked behind `key` are admitted on the next turn, unless the key is active.
void Pipeline::Impl::admit_parked(const std::string& key) {
  if (active.count(key) != 0) return;
  auto p = parked.find(key);
  if (p == parked.end()) return;
  auto items = std::move(p->second);
  parked.erase(p);
  admit_later(std::move(items));
}

// Admits decoded items on the executor's next turn, not re-entering the caller.
void Pipeline::Impl::admit_later(std::vector<ItemPtr> items) {
  asio::post(executor, [self = shared_from_this(), items = std::move(items)]() mutable {
    if (!self->failed) self->admit_items(std::move(items));
  });
}

void Pipeline::Impl::revoke(const std::string& topic, std::int32_t partition) {
  auto mark = [&](const ItemPtr& i) {
    if (i->msg.topic == topic && i->msg.partition == partition) i->revoked = true;
    for (const auto& f : i->followers) {
      if (f->msg.topic == topic && f->msg.partition == partition) f->revoked = true;
    }
  };
  for (auto& [key, item] : active) mark(item);
  for (auto& [key, items] : parked) {
    for (auto& item : items) mark(item);
  }
}

}  // namespace ib::pipeline
