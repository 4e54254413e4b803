#include "kafka/offset_tracker.hpp"

namespace ib::kafka {

bool OffsetTracker::track(const TopicPartition& tp, std::int64_t offset) {
  auto& p = partitions_[tp];
  if (p.in_flight.count(offset) != 0) return true;
  if (p.in_flight.size() >= max_in_flight_) return false;
  p.in_flight.emplace(offset, false);
  return true;
}

std::optional<std::int64_t> OffsetTracker::mark_done(const TopicPartition& tp,
                                                     std::int64_t offset) {
  const auto pit = partitions_.find(tp);
  if (pit == partitions_.end()) return std::nullopt;
  auto& p = pit->second;
  const auto it = p.in_flight.find(offset);
  if (it == p.in_flight.end() || it->second) return std::nullopt;
  const auto before = committable(tp);
  it->second = true;
  while (!p.in_flight.empty() && p.in_flight.begin()->second) {
    const auto next = p.in_flight.begin()->first + 1;
    if (!p.watermark || next > *p.watermark) p.watermark = next;
    p.in_flight.erase(p.in_flight.begin());
  }
  const auto after = committable(tp);
  if (!after || (before && *after <= *before)) return std::nullopt;
  return after;
}

std::optional<std::int64_t> OffsetTracker::committable(const TopicPartition& tp) const {
  const auto pit = partitions_.find(tp);
  if (pit == partitions_.end()) return std::nullopt;
  const auto& p = pit->second;
  if (!p.watermark) return std::nullopt;
  // A redelivered offset below the watermark holds it back until done.
  if (!p.in_flight.empty() && p.in_flight.begin()->first < *p.watermark) {
    return p.in_flight.begin()->first;
  }
  return p.watermark;
}

std::size_t OffsetTracker::in_flight(const TopicPartition& tp) const {
  const auto pit = partitions_.find(tp);
  return pit == partitions_.end() ? 0 : pit->second.in_flight.size();
}

std::size_t OffsetTracker::in_flight() const {
  std::size_t n = 0;
  for (const auto& [tp, p] : partitions_) n += p.in_flight.size();
  return n;
}

void OffsetTracker::revoke(const TopicPartition& tp) { partitions_.erase(tp); }

}  // namespace ib::kafka
