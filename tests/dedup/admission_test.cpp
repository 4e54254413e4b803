// The dedup decision (dedup::admit), row by row.
#include "dedup/admission.hpp"

#include <catch2/catch.hpp>

#include <string_view>

using namespace ib::dedup;
using ib::core::StoreState;

namespace {

// One row of an admission table.
struct AdmissionRow {
  StoreState state;
  const char* stored;
  const char* fp;
  Admission expected;
};

}  // namespace

TEST_CASE("admission follows the store's state and the content fingerprint",
          "[dedup][admission][unit]") {
  const AdmissionRow rows[] = {
      {StoreState::absent, "", "f1", Admission::send},
      {StoreState::absent, "f1", "f1", Admission::send},  // stored fp of an absent entry is ignored
      {StoreState::pending, "f1", "f1", Admission::resend},
      // Another version is still being sent: D365 may already hold it (applied then failed),
      // so a duplicate answer would not tell which content it holds. Both go to review.
      {StoreState::pending, "f0", "f1", Admission::conflict},
      {StoreState::imported, "f1", "f1", Admission::duplicate},
      {StoreState::imported, "f0", "f1", Admission::conflict},
  };
  for (const auto& r : rows) {
    INFO("state " << static_cast<int>(r.state) << " stored " << r.stored << " fp " << r.fp);
    CHECK(admit(r.state, r.stored, r.fp) == r.expected);
  }
}

TEST_CASE("a replay from manual review is sent again whatever the store says",
          "[dedup][admission][unit]") {
  const AdmissionRow rows[] = {
      {StoreState::absent, "", "f1", Admission::send},
      {StoreState::pending, "f1", "f1", Admission::resend},
      {StoreState::pending, "f0", "f1", Admission::resend},
      // The store's verdict is what the operator asked to override: D365's alternate key
      // still refuses a second create.
      {StoreState::imported, "f1", "f1", Admission::send},
      {StoreState::imported, "f0", "f1", Admission::send},
  };
  for (const auto& r : rows) {
    INFO("state " << static_cast<int>(r.state) << " stored " << r.stored << " fp " << r.fp);
    CHECK(admit(r.state, r.stored, r.fp, true) == r.expected);
    // Without the replay mark the ordinary rule holds.
    if (r.state != StoreState::absent && std::string_view(r.stored) != r.fp) {
      CHECK(admit(r.state, r.stored, r.fp, false) == Admission::conflict);
    } else if (r.state == StoreState::imported) {
      CHECK(admit(r.state, r.stored, r.fp, false) == Admission::duplicate);
    }
  }
}
