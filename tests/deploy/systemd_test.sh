#!/usr/bin/env bash
# Checks deploy/systemd/invoice-bridge.service with the real systemd tooling (no running
# systemd needed):
#   systemd_test.sh verify   UNIT BINARY   `systemd-analyze verify` says nothing and exits 0
#                                          (ExecStart pointed at the built BINARY, since
#                                          verify checks that the command is executable)
#   systemd_test.sh security UNIT MAX      `systemd-analyze security --offline=true` rates
#                                          the unit's exposure <= MAX
set -euo pipefail
mode=$1 unit=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (scripts/bootstrap.sh --deploy installs systemd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
name=$(basename "$unit")

case $mode in
  verify)
    binary=$3
    # The unit runs what `cmake --install` and the image put in /usr/local/bin.
    grep -q '^ExecStart=/usr/local/bin/invoice-bridge run --config ' "$unit" ||
      fail "ExecStart does not run /usr/local/bin/invoice-bridge run --config ..."
    sed "s|/usr/local/bin/invoice-bridge|$binary|g" "$unit" > "$tmp/$name"
    out=$(systemd-analyze verify "$tmp/$name" 2>&1) && rc=0 || rc=$?
    echo "$out"
    [[ $rc == 0 ]] || fail "systemd-analyze verify exited $rc"
    [[ -z $out ]] || fail "systemd-analyze verify printed warnings"
    # What the daemon relies on (docs/deploy.md): a notify service with a watchdog that
    # is restarted after a failure, but not after a configuration error.
    for want in '^Type=notify$' '^WatchdogSec=' '^Restart=on-failure$' '^RestartPreventExitStatus=2$' \
                '^StateDirectory=invoice-bridge$'; do
      grep -Eq "$want" "$unit" || fail "$name has no line matching $want"
    done
    echo "verify OK"
    ;;
  security)
    max=$3
    cp "$unit" "$tmp/$name"
    out=$(systemd-analyze security --offline=true --no-pager "$tmp/$name" 2>&1) || true
    echo "$out" | grep -v '✓' || true
    score=$(echo "$out" | sed -n "s/.*Overall exposure level for $name: \([0-9.]*\).*/\1/p")
    [[ -n $score ]] || fail "no exposure level in the output"
    awk -v s="$score" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }' ||
      fail "exposure $score > $max"
    echo "exposure $score <= $max: OK"
    ;;
  *) fail "unknown mode $mode" ;;
esac
