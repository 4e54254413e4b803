#include "entry_rules.hpp"

namespace ib::dedup::detail {

std::int64_t to_ms(TimePoint t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_ms(std::int64_t ms) {
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms))};
}

bool is_expired(std::int64_t last_seen_ms, std::int64_t now_ms, std::int64_t ttl_ms) {
  // Written as a difference so that huge TTLs cannot overflow.
  return now_ms - last_seen_ms >= ttl_ms;
}

bool is_expired(const Entry& entry, TimePoint now, std::chrono::milliseconds ttl) {
  return is_expired(to_ms(entry.last_seen), to_ms(now), ttl.count());
}

std::optional<Entry> apply_pending(const std::optional<Entry>& live, const PendingMark& mark,
                                   TimePoint now) {
  const TimePoint t = from_ms(to_ms(now));
  if (live && live->state == core::StoreState::imported) return std::nullopt;
  Entry e = live ? *live : Entry{};
  if (!live) {
    e.first_seen = t;
    e.duplicates = 0;
  }
  e.state = core::StoreState::pending;
  e.fingerprint = mark.fingerprint;
  e.attempt = mark.attempt;
  e.state_since = t;
  e.record_id.clear();
  e.last_seen = t;
  return e;
}

Entry apply_imported(const std::optional<Entry>& live, const ImportedMark& mark, TimePoint now) {
  const TimePoint t = from_ms(to_ms(now));
  Entry e = live ? *live : Entry{};
  if (!live) e.first_seen = t;
  e.state = core::StoreState::imported;
  e.fingerprint = mark.fingerprint;
  if (!mark.record_id.empty()) e.record_id = mark.record_id;
  e.state_since = t;
  e.last_seen = t;
  return e;
}

std::optional<Entry> apply_duplicate(const std::optional<Entry>& live, TimePoint now) {
  if (!live) return std::nullopt;
  Entry e = *live;
  e.duplicates += 1;
  e.last_seen = from_ms(to_ms(now));
  return e;
}

std::optional<StoreError> check_key(std::string_view key) {
  if (key.empty()) return StoreError{StoreErrc::invalid_argument, "dedup store: empty key"};
  // The store's own keys (changelog checkpoints) start with 0xff, which UTF-8 never has.
  if (key.front() == '\xff') {
    return StoreError{StoreErrc::invalid_argument, "dedup store: key starts with the reserved byte 0xff"};
  }
  return std::nullopt;
}

}  // namespace ib::dedup::detail
