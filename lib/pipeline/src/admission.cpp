// Admission: decode, the dedup decision, and the collapse of copies of one key.
#include "pipeline_impl.hpp"

#include "core/log.hpp"
#include "dedup/admission.hpp"

#include <boost/asio/post.hpp>

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

// Decoded items (counted in the backlog) from collapse to the batcher.
void Pipeline::Impl::admit_items(std::vector<ItemPtr> decoded) {
  // Collapse copies of a key already active (queued or in flight) or earlier in this group.
  std::vector<ItemPtr> leaders;
  for (auto& item : decoded) {
    if (item->revoked) {  // parked while its partition was revoked: not ours any more
      if (--backlog == 0) idle_timer.cancel();
      continue;
    }
    const auto& key = item->decoded.dedup_key;
    auto it = active.find(key);
    if (it == active.end()) {
      active.emplace(key, item);
      leaders.push_back(item);
      continue;
    }
    if (item->msg.attempt > 0) {
      parked[key].push_back(std::move(item));
      continue;
    }
    const auto& leader = it->second;
    if (leader->decoded.fingerprint == item->decoded.fingerprint) {
      // A replay must not vanish behind an upstream copy admitted in this same group
      // (a leader from an earlier group is already being sent).
      leader->replayed = leader->replayed || item->replayed;
      leader->followers.push_back(std::move(item));
    } else {
      log::warn("conflicting copy sent to review", {{"dedup_key", key}});
      ReviewRecord record{ReviewReason::conflict, 0,
                          "same key as an invoice in flight, different content",
                          leader->msg.value, item->msg.attempt};
      to_review(std::move(item->msg), std::move(record), Outcome::conflict);
    }
  }
  if (leaders.empty()) return;

  std::vector<std::string> keys;
  keys.reserve(leaders.size());
  for (const auto& l : leaders) keys.push_back(l->decoded.dedup_key);
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
  for (std::size_t i = 0; i < leaders.size(); ++i) {
    const auto& item = leaders[i];
    const auto& entry = entries.at(i);
    const StoreState state = entry ? entry->state : StoreState::absent;
    const std::string_view stored_fp = entry ? std::string_view(entry->fingerprint) : std::string_view();
    switch (dedup::admit(state, stored_fp, item->decoded.fingerprint, item->replayed)) {
      case dedup::Admission::send:
      case dedup::Admission::resend:
        item->sent_before = state == StoreState::pending;
        pending.push_back({item->decoded.dedup_key, item->decoded.fingerprint,
                           static_cast<std::uint32_t>(item->msg.attempt + 1)});
        to_send.push_back(item);
        break;
      case dedup::Admission::duplicate:
        dup_changes.push_back({changelog_partition(*item), item->decoded.dedup_key});
        dup_items.push_back(item);
        break;
      case dedup::Admission::conflict: {
        const bool imported = state == StoreState::imported;
        const std::string why = imported ? "differs from the invoice already imported with this key"
                                         : "differs from the version of this invoice still being sent";
        const std::string versions = (imported ? "imported fingerprint " : "pending fingerprint ") +
                                     std::string(stored_fp) + ", this fingerprint " + item->decoded.fingerprint;
        log::warn("invoice differs from the stored version; sent to review",
                  {{"dedup_key", item->decoded.dedup_key},
                   {"stored_state", std::string(core::to_string(state))}});
        release(item);
        // Followers of a conflicting leader are copies of the same conflicting content.
        auto followers = std::move(item->followers);
        item->followers.clear();
        to_review(item->msg, ReviewRecord{ReviewReason::conflict, 0, why, versions, item->msg.attempt},
                  Outcome::conflict);
        for (auto& f : followers) {
          to_review(std::move(f->msg), ReviewRecord{ReviewReason::conflict, 0, why, versions, 0},
                    Outcome::conflict);
        }
      } break;
    }
  }
  if (!dup_items.empty()) {
    // Done once their sightings are in the changelog.
    record_duplicates(std::move(dup_changes), [self = shared_from_this(), dup_items = std::move(dup_items)] {
      for (const auto& item : dup_items) self->complete(item, Outcome::duplicate);
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
