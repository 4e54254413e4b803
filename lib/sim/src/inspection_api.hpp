#pragma once

// The inspection API under `/_sim/` (docs/simulator.md "Inspection API"): stats, records,
// reset, faults, limits and token expiry for tests. No auth, no limits, no faults.

#include "message.hpp"
#include "sim/simulator.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace ib::sim {

class Router;

/// Answers `/_sim/<endpoint>` through the Router's public methods (each takes the lock):
/// 404 for an unknown endpoint or method, 400 with the reason when a body is refused.
Response inspection_response(Router& router, std::string_view endpoint, const RequestView& req);

/// The `GET /_sim/stats` body.
std::string stats_to_json(const SimStats& stats,
                          const std::map<int, std::uint64_t>& batch_operations_by_status);

}  // namespace ib::sim
