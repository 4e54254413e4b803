#!/usr/bin/env bash
# `invoice-bridge check-config` checks what `run` needs from this host (docs/cli.md): the
# files the config names, the dedup store directory; and `run` refuses to start with the
# same messages. Asserts the exact lines, with the config line of each key.
#   check_config_host_test.sh INVOICE_BRIDGE
set -euo pipefail
ib=$1
work=$(mktemp -d)
trap 'chmod -R u+rwx "$work"; rm -rf "$work"' EXIT
cfg="$work/ib.yaml"
failures=0

# config STORE SECRET [METRICS_ADDRESS [INPUT_TOPIC]]: the secret is on line 14, the store on line 5.
config() {
  cat >"$cfg" <<YAML
log: {level: warn}
kafka:
  topics: {input: ${4:-invoices}, retry: invoices.retry, review: invoices.review}
dedup:
  path: $1
metrics: {address: ${3:-127.0.0.1}, port: 0}
d365:
  base_url: https://contoso.crm.dynamics.com
  auth:
    mode: client_credentials
    tenant: contoso.onmicrosoft.com
    client_id: 11111111-1111-1111-1111-111111111111
    scope: https://contoso.crm.dynamics.com/.default
    client_secret_file: $2
YAML
}

# expect NAME RC STDOUT STDERR -- COMMAND...: exact exit status, stdout and stderr.
expect() {
  local name=$1 want_rc=$2 want_out=$3 want_err=$4 rc=0
  shift 5
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [[ $rc != "$want_rc" || "$(cat "$work/out")" != "$want_out" || "$(cat "$work/err")" != "$want_err" ]]; then
    echo "FAILED: $name"
    echo "  exit $rc (want $want_rc)"
    echo "  stdout: $(cat "$work/out")"
    echo "  want:   $want_out"
    echo "  stderr: $(cat "$work/err")"
    echo "  want:   $want_err"
    failures=$((failures + 1))
  else
    echo "ok: $name"
  fi
}

secret="$work/secret"
printf 's3cret\n' >"$secret"
chmod 600 "$secret"
store="$work/store"

config "$store" "$secret"
expect "a config whose files are all there" 0 "config OK" "" -- "$ib" check-config --config "$cfg"
[[ ! -e "$store" ]] || { echo "FAILED: check-config created the store directory"; failures=$((failures + 1)); }

config "$store" "$work/missing-secret"
expect "missing secret file" 1 "" \
  "d365.auth.client_secret_file ($cfg:14): $work/missing-secret: no such file" -- "$ib" check-config --config "$cfg"
expect "run fails at start with the same line" 2 "" \
  "invoice-bridge run: d365.auth.client_secret_file ($cfg:14): $work/missing-secret: no such file" \
  -- "$ib" run --config "$cfg"
expect "--no-host-checks checks the file only" 0 "config OK" "" -- "$ib" check-config --config "$cfg" --no-host-checks

# Unreadable: a directory where the secret should be stops root too.
mkdir "$work/secret-dir"
config "$store" "$work/secret-dir"
expect "a directory in place of the secret file" 1 "" \
  "d365.auth.client_secret_file ($cfg:14): $work/secret-dir: is a directory, not a file" \
  -- "$ib" check-config --config "$cfg"
if [[ $(id -u) != 0 ]]; then
  printf 'x\n' >"$work/locked"
  chmod 000 "$work/locked"
  config "$store" "$work/locked"
  expect "a secret file this user may not read" 1 "" \
    "d365.auth.client_secret_file ($cfg:14): $work/locked: cannot be opened for reading: Permission denied" \
    -- "$ib" check-config --config "$cfg"
else
  echo "note: running as root, where mode 000 does not stop reading; the directory case above covers unreadability"
fi

config "$work/no-such-parent/store" "$secret"
expect "store parent missing" 1 "" \
  "dedup.path ($cfg:5): $work/no-such-parent/store: the parent directory $work/no-such-parent does not exist" \
  -- "$ib" check-config --config "$cfg"
[[ ! -e "$work/no-such-parent" ]] || { echo "FAILED: check-config created the parent"; failures=$((failures + 1)); }

printf 'x' >"$work/store-file"
config "$work/store-file" "$secret"
expect "store path is a file" 1 "" \
  "dedup.path ($cfg:5): $work/store-file: is not a directory (the store is a directory)" \
  -- "$ib" check-config --config "$cfg"

mkdir "$work/not-a-store"
printf 'x' >"$work/not-a-store/notes.txt"
config "$work/not-a-store" "$secret"
expect "store path is a directory that is no RocksDB store" 1 "" \
  "dedup.path ($cfg:5): $work/not-a-store: run refuses it: the directory is not empty and holds no dedup store (notes.txt)" \
  -- "$ib" check-config --config "$cfg"

# The same rule as the daemon's open: a store whose CURRENT names a missing MANIFEST.
mkdir "$work/damaged-store"
printf 'MANIFEST-000009\n' >"$work/damaged-store/CURRENT"
config "$work/damaged-store" "$secret"
expect "store path is a damaged store" 1 "" \
  "dedup.path ($cfg:5): $work/damaged-store: run refuses it as a damaged dedup store: CURRENT names MANIFEST-000009, which is missing (docs/runbook.md, \"Damaged or lost dedup store\")" \
  -- "$ib" check-config --config "$cfg"

chmod 644 "$secret"
config "$store" "$secret"
expect "world-readable secret: a warning, exit 0" 0 "config OK" \
  "warning: d365.auth.client_secret_file ($cfg:14): $secret is readable by group or others (mode 0644); make it 0600 or 0400" \
  -- "$ib" check-config --config "$cfg"
chmod 600 "$secret"

expect "a secret file set by an environment override" 1 "" \
  "d365.auth.client_secret_file (environment variable IB_D365__AUTH__CLIENT_SECRET_FILE): /nonexistent/secret: no such file" \
  -- env IB_D365__AUTH__CLIENT_SECRET_FILE=/nonexistent/secret "$ib" check-config --config "$cfg"

config "$store" "$secret" localhost "in voices"
expect "metrics address and topic name, with their lines" 1 "" \
  "kafka.topics.input ($cfg:3): 'in voices' is not a valid topic name (letters, digits, '.', '_', '-'; at most 249)
metrics.address ($cfg:6): 'localhost' is not an IP address (an IPv4 or IPv6 literal such as 0.0.0.0 or ::)" \
  -- "$ib" check-config --config "$cfg"

# Several problems at once, in one run.
config "$work/no-such-parent/store" "$work/missing-secret"
expect "every problem at once" 1 "" \
  "dedup.path ($cfg:5): $work/no-such-parent/store: the parent directory $work/no-such-parent does not exist
d365.auth.client_secret_file ($cfg:14): $work/missing-secret: no such file" -- "$ib" check-config --config "$cfg"

if ((failures > 0)); then
  echo "$failures case(s) failed"
  exit 1
fi
echo "check-config reports every host problem with its line, run refuses the same"
