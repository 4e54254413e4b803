#!/usr/bin/env bash
# The main job on embedded defaults: installs what is missing, builds, and runs
# `invoice-bridge demo` (embedded Kafka, D365 simulator and dedup store).
# Extra arguments go to the demo (e.g. --invoices 20000; docs/cli.md). Exit 0 when every
# invariant of its summary holds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
scripts/build.sh --target invoice-bridge
build=${IB_BUILD_DIR:-build}
exec "$build/daemon/invoice-bridge" demo "$@"
