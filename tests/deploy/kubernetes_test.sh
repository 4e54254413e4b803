#!/usr/bin/env bash
# Checks deploy/kubernetes/ offline:
#   kubernetes_test.sh kubeconform DIR   every manifest valid in kubeconform's strict mode
#                                        against the Kubernetes schemas of the oldest and newest
#                                        version we support and the Prometheus Operator CRDs
#                                        (installed by scripts/deploy-tools.sh; never fetched here)
#   kubernetes_test.sh consistency DIR BINARY
#                                        what schemas cannot see (check_manifests.py)
set -euo pipefail
mode=$1 dir=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
case $mode in
  kubeconform)
    tools=$("$here/../../scripts/deploy-tools.sh" --print)
    kc=$tools/bin/kubeconform
    [[ -x $kc ]] || fail "$kc missing: run scripts/bootstrap.sh --deploy"
    for v in 1.25.0 1.37.0; do
      schemas=$tools/schemas/kubernetes/v$v-strict
      [[ -d $schemas && -d $tools/schemas/crds ]] || fail "schemas missing in $tools: run scripts/bootstrap.sh --deploy"
      # Missing schemas are errors (no -ignore-missing-schemas): every kind is checked.
      "$kc" -strict -summary -kubernetes-version "$v" \
        -schema-location "$schemas/{{.ResourceKind}}{{.KindSuffix}}.json" \
        -schema-location "$tools/schemas/crds/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json" \
        "$dir" || fail "kubeconform (Kubernetes $v) found problems"
    done
    ;;
  consistency)
    /usr/bin/python3 "$here/check_manifests.py" "$dir" "$3"
    ;;
  *) fail "unknown mode $mode" ;;
esac
