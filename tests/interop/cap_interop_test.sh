#!/usr/bin/env bash
# Interop: `invoice-bridge import` against SAP CAP (@sap/cds from npm), an OData V4 server
# that is not ours, for both batch formats with the inner URL form CAP accepts (relative:
# CAP 9.9 answers 404 to absolute-path and absolute-URI inner requests), with duplicates
# (CAP answers 409). Every invoice's outcome is asserted from the import summaries and
# from CAP's own records.
#   cap_interop_test.sh INVOICE_BRIDGE WORK_DIR
# Exit 77 (ctest: skipped) only when the npm registry cannot be reached.
set -euo pipefail
ib=$1
work=$2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$work"

command -v node >/dev/null || { echo "cap_interop: node is not installed (scripts/bootstrap.sh)"; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 20 )) || { echo "cap_interop: @sap/cds 9 needs Node.js >= 20, found $(node --version)"; exit 1; }

# The CAP project, installed once per package-lock.json (reused by later runs).
app="$(cd "$work" && pwd)/cap"
if ! cmp -s "$here/cap/package-lock.json" "$app/package-lock.json" 2>/dev/null || [[ ! -d "$app/node_modules" ]]; then
  rm -rf "$app"
  cp -r "$here/cap" "$app"
  if ! (cd "$app" && npm ci --no-audit --no-fund --loglevel=error); then
    if ! npm ping >/dev/null 2>&1; then
      echo "cap_interop: SKIPPED: the npm registry cannot be reached, so @sap/cds cannot be installed"
      exit 77
    fi
    echo "cap_interop: npm ci failed"; exit 1
  fi
fi
cp "$here"/cap/srv/* "$app/srv/"

log="$work/cds.log"
(cd "$app" && exec node node_modules/@sap/cds/bin/serve.js --port 0) >"$log" 2>&1 &
cds_pid=$!
trap 'kill $cds_pid 2>/dev/null || true; wait $cds_pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 150); do
  port=$(grep -o 'server listening on { url: .http://localhost:[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [[ -n "$port" ]] && break
  kill -0 $cds_pid 2>/dev/null || { cat "$log"; echo "cap_interop: cds exited"; exit 1; }
  sleep 0.2
done
[[ -n "$port" ]] || { cat "$log"; echo "cap_interop: cds did not start"; exit 1; }
base="http://127.0.0.1:$port"
echo "cap_interop: CAP $(node -p 'require("'"$app"'/node_modules/@sap/cds/package.json").version') at $base"

invoice() {  # vendor number amount
  printf '{"vendor_account":"%s","invoice_number":"INV-%s","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":%s,"tax":"19.10","lines":[{"description":"Widgets","quantity":3,"amount":%s}]}\n' "$1" "$2" "$3" "$3"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
expect() {  # summary-file field value
  local got; got=$(field "$1" "$2")
  [[ "$got" == "$3" ]] || { echo "cap_interop: $1: $2 = $got, expected $3"; cat "$1"; exit 1; }
}

# import_run FORMAT RUN "INVOICE NUMBERS" IMPORTED DUPLICATES: imports those invoices of
# vendor CAP-FORMAT with FORMAT's config, then asserts the summary and exit 0.
import_run() {
  local format=$1 run=$2 numbers=$3 input="$work/$1-$2.ndjson" summary="$work/$1-$2.json" rc=0 i
  : >"$input"
  for i in $numbers; do invoice "CAP-$format" "$i" "3908.35" >>"$input"; done
  "$ib" import --config "$work/$format.yaml" --no-progress --summary-json "$summary" "$input" || rc=$?
  expect "$summary" imported "$4"
  expect "$summary" duplicates "$5"
  expect "$summary" failed 0
  [[ $rc == 0 ]] || { echo "cap_interop: import run $run ($format) exited $rc"; exit 1; }
}

total=0
for format in ${IB_CAP_FORMATS:-multipart json}; do
  vendor="CAP-$format"
  cfg="$work/$format.yaml"
  cat >"$cfg" <<YAML
d365:
  base_url: $base
  service_root: /odata/v4/invoices
  odata: {format: $format, url_form: relative, continue_on_error: true}
  classify: {duplicate_statuses: [409]}
batch: {max_items: 4}
YAML
  # Run 1: 6 invoices and one exact copy of the first inside the file.
  import_run "$format" 1 "1 2 3 4 5 6 1" 6 1
  # Run 2: the same six again (CAP answers 409 to each) mixed with two new ones in the
  # same batches: the duplicates must not fail the new invoices (partial success).
  import_run "$format" 2 "1 7 2 3 8 4 5 6" 2 6
  total=$((total + 8))
  # CAP holds each of this format's invoices exactly once.
  curl -sf "$base/odata/v4/invoices/VendorInvoices" -o "$work/records.json"
  python3 - "$work/records.json" "$vendor" <<'PY'
import json, sys, collections
records = [r for r in json.load(open(sys.argv[1]))["value"] if r["VendorAccount"] == sys.argv[2]]
keys = collections.Counter(r["InvoiceNumber"] for r in records)
want = {f"INV-{i}" for i in range(1, 9)}
assert set(keys) == want and all(n == 1 for n in keys.values()), (sys.argv[2], keys)
PY
done

count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["value"]))' "$work/records.json")
[[ "$count" == "$total" ]] || { echo "cap_interop: CAP holds $count records, expected $total"; exit 1; }
echo "cap_interop: OK: $total invoices created once each in CAP over multipart and JSON batches; duplicates answered 409 and counted"
