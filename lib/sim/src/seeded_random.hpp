#pragma once

// The simulator's one random source. Every random choice (faults, latencies, GUIDs,
// tokens) draws from it in request order, so a seed and a request order give one run.

#include <cstdint>
#include <random>
#include <string>

namespace ib::sim {

class SeededRandom {
public:
  explicit SeededRandom(std::uint64_t seed) : rng_(seed) {}

  /// The next raw 64-bit value.
  std::uint64_t next() { return rng_(); }
  /// Uniform in [0, 1).
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  /// True with probability `p`; draws nothing when p <= 0.
  bool chance(double p) { return p > 0 && uniform() < p; }
  /// `fixed` plus uniform [0, jitter] milliseconds; draws nothing when jitter <= 0.
  double latency(double fixed, double jitter) {
    return fixed + (jitter > 0 ? std::uniform_real_distribution<double>(0, jitter)(rng_) : 0.0);
  }
  /// Uniform index in [0, size); size > 0.
  std::size_t index(std::size_t size) {
    return std::uniform_int_distribution<std::size_t>(0, size - 1)(rng_);
  }
  /// A version-4 GUID, lower case.
  std::string guid();

private:
  std::mt19937_64 rng_;
};

}  // namespace ib::sim
