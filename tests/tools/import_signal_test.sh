#!/usr/bin/env bash
# `invoice-bridge import` stopped by SIGTERM mid-run against the d365-sim process: it sends
# nothing more, settles the batch in flight, writes the summary and an `unsettled` reject
# for every line not imported, and exits 3; feeding those rejects back finishes the job
# with every invoice created exactly once.
#   import_signal_test.sh INVOICE_BRIDGE D365_SIM
set -euo pipefail
ib=$1
sim=$2
work=$(mktemp -d)
source "$(dirname "${BASH_SOURCE[0]}")/sim_process.sh"
cleanup() { [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "import_signal: $*"; exit 1; }

# Every request waits 300 ms in the simulator, so the stop comes while work is left.
echo '{"faults": {"request_latency_ms": 300}}' >"$work/sim.json"
start_sim "$work/sim.json"

cat >"$work/config.yaml" <<YAML
d365:
  base_url: $base
batch: {max_items: 5}
send: {max_in_flight: 1}
YAML
n=40
for i in $(seq 1 $n); do
  printf '{"vendor_account":"V-SIG","invoice_number":"INV-%s","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":3908.35,"tax":"19.10","lines":[{"description":"Widgets","quantity":3,"amount":3908.35}]}\n' "$i"
done >"$work/in.ndjson"

records() { curl -sf "$base/_sim/records" | python3 -c 'import json,sys; print(sum(len(v) for v in json.load(sys.stdin).values()))'; }

"$ib" import --config "$work/config.yaml" --no-progress --summary-json "$work/s1.json" \
  --rejects "$work/r1.ndjson" "$work/in.ndjson" >"$work/i1.out" 2>"$work/i1.err" &
import_pid=$!
for _ in $(seq 1 200); do
  (( $(records) >= 5 )) && break
  sleep 0.05
done
kill -TERM "$import_pid"
rc=0
wait "$import_pid" || rc=$?
[[ $rc == 3 ]] || { cat "$work/i1.err"; fail "import exited $rc after SIGTERM, expected 3"; }
grep -q "SIGTERM was received; settling what is in flight" "$work/i1.err" || { cat "$work/i1.err"; fail "no stop message"; }
grep -q "^import done: .*unsettled [0-9]* (stopped: SIGTERM was received)" "$work/i1.err" ||
  { cat "$work/i1.err"; fail "no summary line"; }

held=$(records)
python3 - "$work/s1.json" "$work/r1.ndjson" "$held" "$n" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rejects = [json.loads(l) for l in open(sys.argv[2])]
held, n = int(sys.argv[3]), int(sys.argv[4])
assert s["stopped"] == "SIGTERM was received", s
assert s["failed"] == 0 and s["invalid"] == 0 and s["conflicts"] == 0, s
assert s["imported"] == held, (s, held)               # counted imported == created in D365
assert s["imported"] + s["unsettled"] == n, s          # every line accounted for
assert 0 < s["unsettled"] < n, s                       # the stop came mid-run
assert len(rejects) == s["unsettled"], (len(rejects), s)
assert all(r["reason"] == "unsettled" for r in rejects), rejects
assert all(r["error"].startswith("not settled: import stopped because SIGTERM was received") for r in rejects)
PY

# The rerun of what was left: everything imported, nothing twice.
python3 -c 'import json,sys; [print(json.dumps(json.loads(l)["invoice"])) for l in open(sys.argv[1])]' \
  "$work/r1.ndjson" >"$work/rest.ndjson"
rc=0
"$ib" import --config "$work/config.yaml" --no-progress --summary-json "$work/s2.json" \
  --rejects "$work/r2.ndjson" "$work/rest.ndjson" 2>"$work/i2.err" || rc=$?
[[ $rc == 0 ]] || { cat "$work/i2.err"; fail "rerun exited $rc"; }
curl -sf "$base/_sim/records" >"$work/records.json"
python3 - "$work/s1.json" "$work/s2.json" "$work/records.json" "$n" <<'PY'
import json, sys, collections
s1, s2 = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
records = [r for v in json.load(open(sys.argv[3])).values() for r in v]
n = int(sys.argv[4])
assert s2["imported"] == s1["unsettled"] and s2["duplicates"] == 0 and s2["unsettled"] == 0, s2
numbers = collections.Counter(r["InvoiceNumber"] for r in records)
assert set(numbers) == {f"INV-{i}" for i in range(1, n + 1)}, numbers
assert all(c == 1 for c in numbers.values()), numbers
PY
echo "import_signal: OK: SIGTERM settled the batch in flight, exit 3, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["unsettled"])' "$work/s1.json") lines unsettled; the rerun created each once"
