// Invariant checks on the simulator's side for daemon-level tests that run against
// ib::sim::Simulator (daemon_sim_test, daemon_process_test).
#pragma once

#include "daemon_harness.hpp"
#include "sim/simulator.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

namespace ib::testing::daemon {

// Every invoice is in D365 and the group committed the input and retry topics to their
// end: every consumed message has a durable outcome.
inline bool all_imported_and_committed(const sim::Simulator& sim, std::uint64_t unique,
                                       const std::string& bootstrap, const std::string& group,
                                       const std::string& input, const std::string& retry) {
  return sim.stats().records >= unique && all_committed(bootstrap, group, {input, retry});
}

// Invariants 1 and 2: each of `unique` keys created exactly once, no other record.
inline void check_created_once(const sim::Simulator& sim, std::uint64_t unique) {
  const auto stats = sim.stats();
  CHECK(stats.records == unique);
  REQUIRE_FALSE(stats.creates_per_key_histogram.empty());
  CHECK(stats.creates_per_key_histogram.rbegin()->first == 1);
  CHECK(stats.creates_per_key_histogram.begin()->second == unique);
  CHECK(stats.keys_created_more_than_once.empty());
}

}  // namespace ib::testing::daemon
