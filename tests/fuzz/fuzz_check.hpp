#pragma once

// The one way a fuzz target reports a broken invariant: a message on stderr, then abort(),
// which libFuzzer records as a crash (the input is kept as crash-<sha1>).

#include <cstdio>
#include <cstdlib>

namespace ib::fuzz {

inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace ib::fuzz
