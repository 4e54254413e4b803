#!/usr/bin/env bash
# Three `invoice-bridge import` processes at once, as one application user, against one
# d365-sim whose service protection limits allow 6 concurrent requests and which answers
# `x-ms-dop-hint: 6`. With `send.members_sharing_user: 3` each member keeps at most
# floor(6 / 3) = 2 batches in flight (1 until its first answer): together they never go
# over the limit, so D365 refuses nothing, and every invoice is created exactly once.
# The same run with `members_sharing_user: 1` (each member taking the whole hint) goes over
# the limit and is refused with 429s: the share is what keeps the members within it.
#   import_shared_budget_test.sh INVOICE_BRIDGE D365_SIM
set -euo pipefail
ib=$1
sim=$2
work=$(mktemp -d)
source "$(dirname "${BASH_SOURCE[0]}")/sim_process.sh"
cleanup() { [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "import_shared_budget: $*"; exit 1; }

cat >"$work/sim.json" <<'JSON'
{"limits": {"enabled": true, "max_concurrent": 6, "dop_hint": 6, "max_requests": 0,
            "max_execution_ms": 0, "window_seconds": 60},
 "faults": {"request_latency_ms": 40, "operation_latency_ms": 1}}
JSON

n=400  # invoices per member, each member its own vendor
for m in 1 2 3; do
  for i in $(seq 1 $n); do
    printf '{"vendor_account":"V-M%s","invoice_number":"INV-%s","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":"10.00"}\n' "$m" "$i"
  done >"$work/in$m.ndjson"
done

# Runs the three members at once with `members_sharing_user: $1`; exit codes in $work/rc*.
run_members() {
  cat >"$work/config.yaml" <<YAML
log: {level: warn, format: text}
d365:
  base_url: $base
  mapping: {lines_format: omit}
batch: {max_items: 10}
send: {max_in_flight: 8, members_sharing_user: $1}
YAML
  local pids=()
  for m in 1 2 3; do
    "$ib" import --config "$work/config.yaml" --no-progress --summary-json "$work/s$m.json" \
      --rejects "$work/r$m.ndjson" "$work/in$m.ndjson" >"$work/i$m.out" 2>"$work/i$m.err" &
    pids+=($!)
  done
  for m in 1 2 3; do
    local rc=0
    wait "${pids[$((m - 1))]}" || rc=$?
    echo "$rc" >"$work/rc$m"
  done
}

# 1. The members share the hint: within the limit, nothing refused, each invoice once.
start_sim "$work/sim.json"
run_members 3
for m in 1 2 3; do
  [[ $(cat "$work/rc$m") == 0 ]] || { cat "$work/i$m.err"; fail "member $m exited $(cat "$work/rc$m")"; }
done
curl -sf "$base/_sim/stats" >"$work/stats.json"
python3 - "$work" "$n" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
st = json.load(open(work + "/stats.json"))
for m in (1, 2, 3):
    s = json.load(open("%s/s%d.json" % (work, m)))
    assert s["imported"] == n and s["failed"] == 0 and s["throttled"] == 0, (m, s)
assert st["records"] == 3 * n and st["creates"] == 3 * n, st
assert st["keys_created_more_than_once"] == [], st
assert st["throttled"] == 0, st                            # D365 refused nothing
assert 1 < st["max_concurrent_requests"] <= 6, st          # together within the limit
print("shared: max concurrent %d of 6, %d requests, 0 throttled" % (st["max_concurrent_requests"], st["requests"]))
PY
stop_sim

# 2. Each member takes the whole hint: together over the limit, and D365 says so.
start_sim "$work/sim.json"
run_members 1
curl -sf "$base/_sim/stats" >"$work/stats.json"
python3 - "$work" <<'PY'
import json, sys
st = json.load(open(sys.argv[1] + "/stats.json"))
assert st["throttled"] > 0, st
assert st["keys_created_more_than_once"] == [], st
print("not shared: %d requests refused with 429" % st["throttled"])
PY
stop_sim
echo "import_shared_budget: OK"
