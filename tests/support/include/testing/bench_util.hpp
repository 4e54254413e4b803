// Small pieces the benchmarks (dedup_bench, changelog_bench) share. Header-only and free
// of Catch2, so a benchmark's own main() links without ib::test_support.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace ib::testing::bench {

/// A dedup key shaped like production's: company|vendor|invoice number (~28 bytes), with
/// `vendors` distinct vendor accounts.
inline std::string dedup_key(std::uint64_t n, std::uint64_t vendors) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "usmf|V%06llu|INV-%010llu", static_cast<unsigned long long>(n % vendors),
                static_cast<unsigned long long>(n));
  return buf;
}

/// The value of a `/proc/self/status` field (`name` with its colon, e.g. "VmHWM:"), or "?".
inline std::string proc_status_field(const std::string& name) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) == 0) return line.substr(line.find_first_not_of(" \t", name.size()));
  }
  return "?";
}

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace ib::testing::bench
