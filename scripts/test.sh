#!/usr/bin/env bash
# The whole test suite on a fresh Debian bookworm machine: installs what is missing
# (packages, Java + Maven, the Kafka broker from Maven Central, kubeconform and its schemas), builds with warnings as
# errors, and runs every ctest test (unit + integration, real Kafka broker included).
# Extra arguments go to ctest (e.g. -L unit, -R sim).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
scripts/bootstrap.sh --kafka --deploy
tests/kafka/kafka-broker.sh fetch
IB_CMAKE_ARGS="-DIB_WERROR=ON ${IB_CMAKE_ARGS:-}" scripts/build.sh
build=${IB_BUILD_DIR:-build}
echo "test.sh: set-up and build took $(( $(date +%s) - start )) s; running ctest"
# ctest's own summary is the last thing printed.
exec ctest --test-dir "$build" --output-on-failure -j "${IB_TEST_JOBS:-2}" "$@"
