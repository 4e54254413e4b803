#!/usr/bin/env bash
# Draws the client benchmark's PNGs from its JSON results:
#   tests/bench/plot.sh RESULTS.json OUTDIR
# matplotlib comes from PyPI into a virtual environment kept under
# ${XDG_CACHE_HOME:-~/.cache}/invoice-bridge/bench-venv (Debian's python3-matplotlib pulls
# in libboost1.74-dev, which conflicts with the Boost 1.81 the build uses).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${XDG_CACHE_HOME:-$HOME/.cache}/invoice-bridge/bench-venv
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
  if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
    sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv
  fi
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q matplotlib
fi
exec "$venv/bin/python" "$here/plot_clients.py" "$@"
