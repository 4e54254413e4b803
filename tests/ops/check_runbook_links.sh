#!/usr/bin/env bash
# Every alert of deploy/prometheus has a runbook_url "docs/runbook.md#<alert in lower
# case>", and docs/runbook.md has a heading for it (GitHub's anchor of "### IbXxx").
set -euo pipefail
root=${1:-$(dirname "$0")/../..}
runbook=$root/docs/runbook.md
fail=0
alerts=$(grep -ho '^ *- alert: *[A-Za-z0-9]*' "$root"/deploy/prometheus/*.yml | sed 's/.*alert: *//')
[[ -n $alerts ]] || { echo "no alerts found in deploy/prometheus"; exit 1; }
for a in $alerts; do
  anchor=$(tr '[:upper:]' '[:lower:]' <<<"$a")
  if ! grep -q "runbook_url: docs/runbook.md#$anchor\$" "$root"/deploy/prometheus/*.yml; then
    echo "alert $a: no runbook_url docs/runbook.md#$anchor"; fail=1
  fi
  if ! grep -qx "### $a" "$runbook"; then
    echo "alert $a: no heading '### $a' in docs/runbook.md"; fail=1
  fi
done
urls=$(grep -ho 'runbook_url: .*' "$root"/deploy/prometheus/*.yml | wc -l)
count=$(wc -w <<<"$alerts")
[[ $urls == "$count" ]] || { echo "$count alerts but $urls runbook_url annotations"; fail=1; }
[[ $fail == 0 ]] && echo "$count alerts, each with its runbook section"
exit $fail
