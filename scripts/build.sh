#!/usr/bin/env bash
# Configures (once) and builds invoice-bridge into ${IB_BUILD_DIR:-build}, reusing the
# build folder between runs. Extra arguments are passed to `cmake --build` (e.g. --target X).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${IB_BUILD_DIR:-build}
jobs=${IB_JOBS:-2}
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${IB_CMAKE_ARGS:-}
fi
cmake --build "$build" -j "$jobs" "$@"
