#!/usr/bin/env bash
# The whole test suite on a fresh Debian bookworm machine: installs what is missing
# (packages, Java + Maven, the Kafka broker from Maven Central, kubeconform and its schemas),
# builds twice with warnings as errors — g++ into ${IB_BUILD_DIR:-build}, clang++ 14 with the
# libFuzzer targets (IB_FUZZ=ON) into ${IB_CLANG_BUILD_DIR:-build-clang}, both reused between
# runs — and runs every ctest test of the g++ build in one ctest run: unit + integration
# (real Kafka broker included) + fuzz (the clang-built fuzzers, about 15 s each).
# Extra arguments go to ctest (e.g. -L unit, -R sim, -LE fuzz).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
scripts/bootstrap.sh --kafka --deploy
tests/kafka/kafka-broker.sh fetch
build=${IB_BUILD_DIR:-build}
clang_build=${IB_CLANG_BUILD_DIR:-build-clang}
IB_BUILD_DIR="$clang_build" \
  IB_CMAKE_ARGS="-DCMAKE_CXX_COMPILER=clang++-14 -DIB_WERROR=ON -DIB_FUZZ=ON ${IB_CLANG_CMAKE_ARGS:-}" \
  scripts/build.sh
# The g++ build's ctest runs the clang build's fuzzers (tests/fuzz/CMakeLists.txt); point
# it there, also in a build folder configured before this existed.
fuzz_dir=$(cd "$clang_build" && pwd)
if [[ -f "$build/CMakeCache.txt" ]] && ! grep -qx "IB_FUZZ_BUILD_DIR:PATH=$fuzz_dir" "$build/CMakeCache.txt"; then
  cmake -S . -B "$build" -DIB_FUZZ_BUILD_DIR="$fuzz_dir" >/dev/null
fi
IB_CMAKE_ARGS="-DIB_WERROR=ON -DIB_FUZZ_BUILD_DIR=$fuzz_dir ${IB_CMAKE_ARGS:-}" scripts/build.sh
echo "test.sh: set-up and builds took $(( $(date +%s) - start )) s; running ctest"
# ctest's own summary is the last thing printed.
exec ctest --test-dir "$build" --output-on-failure -j "${IB_TEST_JOBS:-2}" "$@"
