// The dedup decision (dedup::admit), row by row.
#include "dedup/admission.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// --- judge_copies: every copy judged against the stored version first, then the lead ---

namespace {

// A copy as the tests write it: its content and whether an operator replayed it.
struct TestCopy {
  const char* name;  // for messages
  const char* fp;
  bool replayed;
};
// f1 is "A" (the stored version in the "same" states), f2 and f3 two other versions.
const TestCopy kA{"A", "f1", false};
const TestCopy kB{"B", "f2", false};
const TestCopy kC{"C", "f3", false};
const TestCopy kAr{"A(replayed)", "f1", true};
const TestCopy kBr{"B(replayed)", "f2", true};

struct StoredCase {
  const char* name;
  StoreState state;
  const char* fp;
};
const StoredCase kStored[] = {
    {"absent", StoreState::absent, ""},
    {"pending A", StoreState::pending, "f1"},
    {"pending other", StoreState::pending, "f0"},
    {"imported A", StoreState::imported, "f1"},
    {"imported other", StoreState::imported, "f0"},
};

// The expected verdicts, written out per store state without admit() or judge_copies().
std::vector<Verdict> oracle(const StoredCase& stored, const std::vector<TestCopy>& copies,
                            std::optional<std::string> in_flight) {
  std::optional<std::string> lead = std::move(in_flight);
  std::vector<Verdict> out;
  for (const auto& c : copies) {
    const std::string fp = c.fp;
    if (lead && *lead == fp) {
      out.push_back(Verdict::follow);
      continue;
    }
    const bool same_as_stored = fp == stored.fp;
    if (stored.state == StoreState::imported && !c.replayed) {
      out.push_back(same_as_stored ? Verdict::duplicate : Verdict::conflict_with_stored);
      continue;
    }
    if (stored.state == StoreState::pending && !c.replayed && !same_as_stored) {
      out.push_back(Verdict::conflict_with_stored);
      continue;
    }
    // Absent, pending with this content, or a replay: the store lets it be sent.
    if (lead) {
      out.push_back(Verdict::conflict_with_in_flight);
    } else {
      lead = fp;
      out.push_back(Verdict::lead);
    }
  }
  return out;
}

std::vector<Verdict> judge(const StoredCase& stored, const std::vector<TestCopy>& copies,
                           std::optional<std::string_view> in_flight = std::nullopt) {
  std::vector<Copy> in;
  for (const auto& c : copies) in.push_back({c.fp, c.replayed});
  return judge_copies(stored.state, stored.fp, in, in_flight);
}

const char* name(Verdict v) {
  switch (v) {
    case Verdict::lead: return "lead";
    case Verdict::follow: return "follow";
    case Verdict::duplicate: return "duplicate";
    case Verdict::conflict_with_stored: return "conflict_with_stored";
    case Verdict::conflict_with_in_flight: return "conflict_with_in_flight";
  }
  return "?";
}

std::string describe(const std::vector<Verdict>& vs) {
  std::string out;
  for (auto v : vs) out += std::string(out.empty() ? "" : ", ") + name(v);
  return out;
}

}  // namespace

TEST_CASE("judge_copies: the issue's cases, by hand", "[dedup][admission][unit]") {
  using V = Verdict;
  const StoredCase imported_a = kStored[3];
  // Imported A; then B (another amount) and an exact copy of A in one group: B conflicts
  // with the imported version, A is a duplicate, in either order.
  CHECK(judge(imported_a, {kB, kA}) == std::vector<V>{V::conflict_with_stored, V::duplicate});
  CHECK(judge(imported_a, {kA, kB}) == std::vector<V>{V::duplicate, V::conflict_with_stored});
  // Nothing stored: the first version leads, its copies follow, others conflict with it.
  CHECK(judge(kStored[0], {kA, kA, kB}) == std::vector<V>{V::lead, V::follow, V::conflict_with_in_flight});
  // Pending A (an earlier attempt unanswered): A is resent once, B conflicts with the stored A.
  CHECK(judge(kStored[1], {kB, kA, kA}) == std::vector<V>{V::conflict_with_stored, V::lead, V::follow});
  // A replay over imported A leads; an upstream copy after it follows it, one before it is a duplicate.
  CHECK(judge(imported_a, {kA, kAr, kA}) == std::vector<V>{V::duplicate, V::lead, V::follow});
  // A replayed correction B over imported A: copies of A are still duplicates, C conflicts.
  CHECK(judge(imported_a, {kBr, kA, kB, kC}) ==
        std::vector<V>{V::lead, V::duplicate, V::follow, V::conflict_with_stored});
  // Across groups: a replayed B in flight while the store still holds imported A.
  CHECK(judge(imported_a, {kA, kB, kC}, "f2") ==
        std::vector<V>{V::duplicate, V::follow, V::conflict_with_stored});
  // Across groups: A in flight (pending A): copies follow, B conflicts with the pending A,
  // a replayed B is admitted by the store but A is in flight.
  CHECK(judge(kStored[1], {kA, kB, kBr}, "f1") ==
        std::vector<V>{V::follow, V::conflict_with_stored, V::conflict_with_in_flight});
  CHECK(judge(imported_a, {}).empty());
}

TEST_CASE("judge_copies: every stored state x every order of up to 3 copies x in-flight version",
          "[dedup][admission][unit]") {
  const TestCopy alphabet[] = {kA, kB, kC, kAr, kBr};
  std::vector<std::vector<TestCopy>> orders;
  for (const auto& x : alphabet) {
    orders.push_back({x});
    for (const auto& y : alphabet) {
      orders.push_back({x, y});
      for (const auto& z : alphabet) orders.push_back({x, y, z});
    }
  }
  REQUIRE(orders.size() == 5 + 25 + 125);
  const std::optional<std::string> in_flights[] = {std::nullopt, "f1", "f2"};
  int cases = 0;
  for (const auto& stored : kStored) {
    for (const auto& in_flight : in_flights) {
      for (const auto& copies : orders) {
        std::string what = std::string("stored ") + stored.name + ", in flight " + in_flight.value_or("none") + ":";
        for (const auto& c : copies) what += std::string(" ") + c.name;
        INFO(what);
        const auto expected = oracle(stored, copies, in_flight);
        const auto got = judge(stored, copies, in_flight ? std::optional<std::string_view>(*in_flight) : std::nullopt);
        INFO("expected " << describe(expected) << "; got " << describe(got));
        CHECK(got == expected);
        // At most one lead, and none when a version is already in flight.
        const auto leads = std::count(got.begin(), got.end(), Verdict::lead);
        CHECK(leads <= (in_flight ? 0 : 1));
        ++cases;
      }
    }
  }
  CHECK(cases == 5 * 3 * 155);
}
