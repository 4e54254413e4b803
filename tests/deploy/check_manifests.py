#!/usr/bin/python3
"""What kubeconform's schemas cannot see in deploy/kubernetes/: the objects the StatefulSet
refers to exist and fit together, its hardening and probes are there, and the config in the
ConfigMap passes `invoice-bridge check-config`.

  check_manifests.py DIR INVOICE_BRIDGE_BINARY"""
import glob
import os
import subprocess
import sys
import tempfile

import yaml

problems = []


def want(cond, what):
    if not cond:
        problems.append(what)


directory, binary = sys.argv[1], sys.argv[2]
objects = {}
for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
    with open(path, encoding="utf-8") as f:
        for doc in yaml.safe_load_all(f):
            if doc:
                objects.setdefault(doc["kind"], []).append(doc)


def one(kind, name=None):
    found = [o for o in objects.get(kind, []) if name is None or o["metadata"]["name"] == name]
    want(len(found) == 1, f"expected one {kind}{' ' + name if name else ''}, found {len(found)}")
    return found[0] if found else {}


for kind in ["StatefulSet", "ConfigMap", "Secret", "PodDisruptionBudget", "ServiceMonitor",
             "PrometheusRule", "NetworkPolicy", "ServiceAccount"]:
    one(kind)
services = {s["metadata"]["name"]: s for s in objects.get("Service", [])}

sts = one("StatefulSet")
pod = sts["spec"]["template"]
labels = pod["metadata"]["labels"]
spec = pod["spec"]
want(sts["spec"]["selector"]["matchLabels"].items() <= labels.items(), "StatefulSet selector misses its pods")
headless = services.get(sts["spec"]["serviceName"], {})
want(headless.get("spec", {}).get("clusterIP") == "None", "serviceName is not a headless Service")
for name, svc in services.items():
    want(svc["spec"]["selector"].items() <= labels.items(), f"Service {name} selects no pod")
container = spec["containers"][0]
ports = {p["name"]: p["containerPort"] for p in container["ports"]}

# Hardening.
psc, csc = spec.get("securityContext", {}), container.get("securityContext", {})
want(psc.get("runAsNonRoot") is True, "pod runAsNonRoot")
want(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "pod seccompProfile RuntimeDefault")
want(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
want(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
want(csc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities drop ALL")
want(spec.get("automountServiceAccountToken") is False, "no service account token")
want(spec.get("serviceAccountName") == one("ServiceAccount")["metadata"]["name"], "service account")

# Probes on the daemon's endpoints (lib/metrics): startup + liveness /healthz, readiness /readyz.
for probe, path in [("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
    get = container.get(probe, {}).get("httpGet", {})
    want(get.get("path") == path and get.get("port") in ports, f"{probe} GET {path} on a named port")
want("limits" in container.get("resources", {}) and "requests" in container["resources"], "resources")
want(any(e["name"] == "POD_NAME" for e in container.get("env", [])), "env POD_NAME")
want(spec.get("terminationGracePeriodSeconds", 30) >= 35, "grace period covers drain_timeout + close")

# Volumes: the ConfigMap and Secret it mounts are defined here, with the keys it uses.
volumes = {v["name"]: v for v in spec["volumes"]}
mounts = {m["name"]: m for m in container["volumeMounts"]}
for name in mounts:
    want(name in volumes or name in [t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates", [])],
         f"mount {name} has no volume")
config_path = None
secret_files = []
for name, vol in volumes.items():
    if "configMap" in vol:
        cm = one("ConfigMap", vol["configMap"]["name"])
        want(name in mounts, f"configMap volume {name} not mounted")
        config_path = (mounts[name]["mountPath"], cm.get("data", {}))
    if "secret" in vol:
        secret = one("Secret", vol["secret"]["secretName"])
        keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
        for item in vol["secret"].get("items", []):
            want(item["key"] in keys, f"Secret has no key {item['key']}")
            secret_files.append(os.path.join(mounts[name]["mountPath"], item["path"]))

# The config: where the container reads it, and valid for the daemon.
args = container["args"]
want(args[:2] == ["run", "--config"], "container runs `run --config FILE`")
mount_dir, data = config_path or ("", {})
config_file = args[2] if len(args) > 2 else ""
want(os.path.dirname(config_file) == mount_dir and os.path.basename(config_file) in data,
     f"{config_file} is not in the mounted ConfigMap")
config = yaml.safe_load(data.get(os.path.basename(config_file), "")) or {}
want(config.get("d365", {}).get("auth", {}).get("client_secret_file") in secret_files,
     "d365.auth.client_secret_file is not the mounted secret")
want(str(config.get("metrics", {}).get("port")) == str(ports.get("metrics")), "metrics port = container port")
want(config.get("dedup", {}).get("path", "").startswith(mounts.get("state", {}).get("mountPath", "?")),
     "dedup.path on the state volume")
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "invoice-bridge.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(data.get(os.path.basename(config_file), ""))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IB_")}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
    # The files and directories it names are the pod's, not this machine's.
    r = subprocess.run([binary, "check-config", "--config", path, "--no-host-checks"],
                       capture_output=True, text=True, env=env)
    want(r.returncode == 0, f"check-config of the ConfigMap's config: {r.stdout}{r.stderr}")

# Disruption budget and monitoring select what exists.
pdb = one("PodDisruptionBudget")
want(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "PDB selects the pods")
sm = one("ServiceMonitor")
sm_sel = sm["spec"]["selector"]["matchLabels"]
selected = [s for s in services.values() if sm_sel.items() <= s["metadata"].get("labels", {}).items()]
want(len(selected) == 1, "ServiceMonitor selects one Service")
for ep in sm["spec"]["endpoints"]:
    want(any(p["name"] == ep["port"] for s in selected for p in s["spec"]["ports"]),
         f"ServiceMonitor port {ep['port']} on the Service")
netpol = one("NetworkPolicy")
want(netpol["spec"]["podSelector"]["matchLabels"].items() <= labels.items(), "NetworkPolicy selects the pods")
want(any(p.get("port") == ports.get("metrics") for r in netpol["spec"].get("ingress", []) for p in r.get("ports", [])),
     "NetworkPolicy lets the metrics port in")

for p in problems:
    print("FAIL:", p)
print(f"{len(problems)} problems in {sum(len(v) for v in objects.values())} objects")
sys.exit(1 if problems else 0)
