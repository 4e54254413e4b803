#include "dedup/admission.hpp"

namespace ib::dedup {

Admission admit(core::StoreState state, std::string_view stored_fingerprint,
                std::string_view fingerprint, bool replayed) {
  using core::StoreState;
  if (replayed && state == StoreState::imported) return Admission::send;
  switch (state) {
    case StoreState::absent: return Admission::send;
    case StoreState::pending:
      // Other content while a version is still being sent (retry topic, or a crash before
      // its answer): a conflict, not a resend. Resending would let a duplicate answer
      // count it as "recovered" although D365 holds the other version (invariant 6).
      return replayed || stored_fingerprint == fingerprint ? Admission::resend : Admission::conflict;
    case StoreState::imported:
      return stored_fingerprint == fingerprint ? Admission::duplicate : Admission::conflict;
  }
  return Admission::send;
}

}  // namespace ib::dedup

namespace ib::dedup {

std::vector<Verdict> judge_copies(core::StoreState state, std::string_view stored_fingerprint,
                                  std::span<const Copy> copies, std::optional<std::string_view> in_flight) {
  std::optional<std::string_view> lead = in_flight;
  std::vector<Verdict> out;
  out.reserve(copies.size());
  for (const auto& c : copies) {
    if (lead && *lead == c.fingerprint) {
      out.push_back(Verdict::follow);
      continue;
    }
    switch (admit(state, stored_fingerprint, c.fingerprint, c.replayed)) {
      case Admission::duplicate: out.push_back(Verdict::duplicate); break;
      case Admission::conflict: out.push_back(Verdict::conflict_with_stored); break;
      case Admission::send:
      case Admission::resend:
        if (lead) {
          out.push_back(Verdict::conflict_with_in_flight);
        } else {
          lead = c.fingerprint;
          out.push_back(Verdict::lead);
        }
        break;
    }
  }
  return out;
}

}  // namespace ib::dedup
