#pragma once

#include <cstdint>

namespace ib::testing {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
/// released). Prefer binding servers to port 0 directly; use this only where a
/// process must be told its port before it starts.
std::uint16_t free_port();

}  // namespace ib::testing
