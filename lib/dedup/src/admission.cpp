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
