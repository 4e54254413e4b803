#!/usr/bin/env bash
# `invoice-bridge check-config` on a valid config with d365.tls.insecure: true warns on
# stderr and still exits 0; without it, no warning.
#   check_config_warnings_test.sh INVOICE_BRIDGE EXAMPLE_CONFIG
set -euo pipefail
ib=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
secret="$work/secret"
echo "s3cret" >"$secret"
chmod 600 "$secret"
# The example config with its secret file pointed at a readable file and its store in
# the work directory (check-config checks both on this host).
sed -e "s|/run/secrets/d365-client-secret|$secret|" -e "s|/var/lib/invoice-bridge/dedup|$work/dedup|" "$2" >"$work/ok.yaml"
"$ib" check-config --config "$work/ok.yaml" >"$work/out" 2>"$work/err"
if grep -q "tls.insecure" "$work/err"; then echo "unexpected warning:"; cat "$work/err"; exit 1; fi
python3 - "$work/ok.yaml" "$work/insecure.yaml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
c.setdefault("d365", {}).setdefault("tls", {})["insecure"] = True
yaml.safe_dump(c, open(sys.argv[2], "w"))
PY
rc=0
"$ib" check-config --config "$work/insecure.yaml" >"$work/out" 2>"$work/err" || rc=$?
[[ $rc == 0 ]] || { echo "check-config exited $rc"; cat "$work/err"; exit 1; }
grep -q "warning: d365.tls.insecure: true" "$work/err" || { echo "no warning:"; cat "$work/err"; exit 1; }
echo "check-config warns about d365.tls.insecure and exits 0"
