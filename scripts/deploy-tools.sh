#!/usr/bin/env bash
# Installs the tools that check deploy/kubernetes/ offline, idempotently, into
# ${IB_CACHE_DIR:-~/.cache/invoice-bridge}/deploy-tools/ (called by scripts/bootstrap.sh --deploy):
#   bin/kubeconform                 kubeconform (Go module proxy, `go install`)
#   schemas/kubernetes/vX-strict/   Kubernetes JSON schemas (PyPI package kubernetes-validate)
#   schemas/crds/                   ServiceMonitor / PrometheusRule JSON schemas, made with
#                                   kubeconform's openapi2jsonschema.py from the CRDs in the
#                                   prometheus-operator Go module
# Tests never fetch anything: they only read what this script left (tests/deploy/).
#   scripts/deploy-tools.sh          install what is missing
#   scripts/deploy-tools.sh --print  print the tools directory
set -euo pipefail

kubeconform_version=v0.6.7
kubernetes_validate_version=1.37.0
# Kubernetes versions the manifests are checked against: the oldest and newest schema sets
# the kubernetes-validate package ships.
kubernetes_versions=(1.25.0 1.37.0)
prometheus_operator_version=v0.80.1

dir=${IB_CACHE_DIR:-$HOME/.cache/invoice-bridge}/deploy-tools
if [[ ${1:-} == --print ]]; then echo "$dir"; exit 0; fi
mkdir -p "$dir/bin" "$dir/schemas"

# The Debian python3 with python3-yaml (scripts/bootstrap.sh installs it).
python=/usr/bin/python3
# pip: the Debian one (python3-pip), or the first python3 on PATH that has pip.
pip_python=/usr/bin/python3
"$pip_python" -m pip --version >/dev/null 2>&1 || pip_python=python3

# The machines' Go lives in /usr/local/go (not always on a non-login shell's PATH).
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null 2>&1; then
  echo "deploy-tools: go is needed (Go >= 1.22: kubeconform's go.mod) and is not on PATH" >&2
  exit 1
fi
modcache=$(go env GOMODCACHE)

stamp=$dir/bin/.kubeconform-$kubeconform_version
if [[ ! -x $dir/bin/kubeconform || ! -f $stamp ]]; then
  echo "deploy-tools: go install kubeconform@$kubeconform_version"
  GOBIN=$dir/bin GOFLAGS=-mod=mod go install "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version"
  touch "$stamp"
fi

for v in "${kubernetes_versions[@]}"; do
  out=$dir/schemas/kubernetes/v$v-strict
  [[ -f $out/.done-$kubernetes_validate_version ]] && continue
  echo "deploy-tools: Kubernetes $v schemas from kubernetes-validate $kubernetes_validate_version"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$pip_python" -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" \
    "kubernetes-validate==$kubernetes_validate_version"
  "$python" -m zipfile -e "$tmp"/kubernetes_validate-*.whl "$tmp/whl"
  src=$tmp/whl/kubernetes_validate/kubernetes-json-schema/v$v-local-strict
  [[ -d $src ]] || { echo "deploy-tools: $src missing in the package" >&2; exit 1; }
  rm -rf "$out"
  mkdir -p "$out"
  # The package's schemas name themselves https://kubernetes.io/api/... ($id) and refer to
  # "/api/_definitions.json" (its own resolver maps that URL); kubeconform has no network
  # and resolves a reference against the file's location: drop $id, make the references
  # relative to the folder.
  "$python" - "$src" "$out" <<'EOF'
import json, os, sys
src, out = sys.argv[1:3]
def fix(node):
    if isinstance(node, dict):
        return {k: (v.replace("/api/_definitions.json#", "_definitions.json#", 1)
                    if k == "$ref" and isinstance(v, str) else fix(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [fix(x) for x in node]
    return node
for name in os.listdir(src):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(src, name), encoding="utf-8") as f:
        schema = json.load(f)
    schema.pop("$id", None)
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        json.dump(fix(schema), f)
EOF
  rm -rf "$tmp"
  trap - EXIT
  touch "$out/.done-$kubernetes_validate_version"
done

crds=$dir/schemas/crds
if [[ ! -f $crds/.done-$prometheus_operator_version ]]; then
  echo "deploy-tools: prometheus-operator $prometheus_operator_version CRD schemas"
  GOFLAGS=-mod=mod go mod download "github.com/prometheus-operator/prometheus-operator@$prometheus_operator_version"
  GOFLAGS=-mod=mod go mod download "github.com/yannh/kubeconform@$kubeconform_version"
  po=$modcache/github.com/prometheus-operator/prometheus-operator@$prometheus_operator_version/example/prometheus-operator-crd
  converter=$modcache/github.com/yannh/kubeconform@$kubeconform_version/scripts/openapi2jsonschema.py
  rm -rf "$crds"
  mkdir -p "$crds"
  # {kind}_{version}.json, additionalProperties false everywhere (strict).
  (cd "$crds" && DENY_ROOT_ADDITIONAL_PROPERTIES=1 FILENAME_FORMAT='{kind}_{version}' \
    "$python" "$converter" "$po/monitoring.coreos.com_servicemonitors.yaml" \
    "$po/monitoring.coreos.com_prometheusrules.yaml" >/dev/null)
  touch "$crds/.done-$prometheus_operator_version"
fi
echo "deploy-tools: kubeconform and schemas in $dir"
