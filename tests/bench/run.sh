#!/usr/bin/env bash
# Runs the client benchmark (docs/benchmarks.md, "Against the clients users write"):
#   tests/bench/run.sh OUT.json [client_bench.py options...]
# Installs what the driver needs (Debian packages, for /usr/bin/python3) if missing. The
# plots are drawn by tests/bench/plot.sh, which takes matplotlib from PyPI: Debian's
# python3-matplotlib pulls in libboost1.74-dev, which conflicts with our Boost 1.81.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
missing=()
for p in python3-requests python3-confluent-kafka; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
out=$1
shift
exec /usr/bin/python3 "$here/client_bench.py" --out "$out" "$@"
