#!/usr/bin/python3
"""invoice-bridge against the clients users would otherwise write (docs/benchmarks.md,
"Against the clients users write").

Each run: a fresh d365-sim on a free port, one client over one generated stream, then the
figures from the simulator (`/_sim/stats`, `/_sim/records`) and from the client's own
report. Clients: tests/bench/user_clients.py (per-invoice, seed-recipe) and
`invoice-bridge import` (batches of 100, 4 in flight), each under /usr/bin/time -v.

  clients_bench.py --bin build/daemon --out DIR latency   # 20 ms/request + 1 ms/operation
  clients_bench.py --bin build/daemon --out DIR dupes     # $batch vs CreateMultiple at 0/1/5 %
  clients_bench.py --bin build/daemon --out DIR limits    # service protection limits, >= 300 s

Writes DIR/SCENARIO.json (a list of rows) and prints one line per row.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LATENCY = {"request_latency_ms": 20, "operation_latency_ms": 1}
OPERATION_COST_MS = 10      # the simulator's default limits.operation_cost_ms (Dataverse-like)
LIMITS = {"enabled": True}  # the simulator's Dataverse defaults: 6,000 requests and
                            # 1,200,000 ms execution per 300 s window, 52 concurrent


def ensure_packages():
    """python3-requests and python3-matplotlib, as scripts/bootstrap.sh installs packages."""
    missing = [p for p, m in (("python3-requests", "requests"), ("python3-matplotlib", "matplotlib"))
               if subprocess.call([sys.executable, "-c", "import " + m],
                                  stderr=subprocess.DEVNULL) != 0]
    if missing:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.check_call(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
                              + missing, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def make_stream(path, unique, dup_pct, seed=1, spread=400):
    """`unique` invoices; dup_pct % of them copied byte for byte 1..spread lines later."""
    rnd = random.Random(seed)
    lines = []
    for i in range(unique):
        text = json.dumps({"vendor_account": "V-%d" % (i % 97), "invoice_number": "INV-%d" % i,
                           "company": "ACME", "invoice_date": "2026-11-01", "currency": "EUR",
                           "amount": "%d.%02d" % (rnd.randint(1, 99999), rnd.randint(0, 99))})
        lines.append((float(i), text))
    for i in rnd.sample(range(unique), unique * dup_pct // 100):
        lines.append((i + rnd.randint(1, spread) + 0.5, lines[i][1]))
    lines.sort(key=lambda x: x[0])
    with open(path, "w") as f:
        f.writelines(t + "\n" for _, t in lines)
    return {"path": path, "lines": len(lines), "unique": unique,
            "copies": len(lines) - unique, "dup_pct": dup_pct}


class Sim:
    def __init__(self, binary, out, name, faults=None, limits=None):
        cfg = {"faults": faults or {}}
        if limits:
            cfg["limits"] = limits
        self.cfg = os.path.join(out, name + ".sim.json")
        with open(self.cfg, "w") as f:
            json.dump(cfg, f)
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--config", self.cfg,
                                      "--log-level", "warn"], stdout=subprocess.PIPE, text=True)
        self.base = self.proc.stdout.readline().split()[-1].rstrip("/")

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=60) as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def time_v(stderr_text):
    """Wall time, CPU and peak RSS from /usr/bin/time -v."""
    def field(name):
        m = re.search(re.escape(name) + r": (.*)", stderr_text)
        return m.group(1).strip() if m else None
    cpu = float(field("User time (seconds)") or 0) + float(field("System time (seconds)") or 0)
    return {"client_cpu_s": round(cpu, 2),
            "client_peak_rss_kib": int(field("Maximum resident set size (kbytes)") or 0)}


def import_config(out, name, base, operation=None):
    path = os.path.join(out, name + ".yaml")
    odata = ", odata: {operation: %s}" % operation if operation else ""
    with open(path, "w") as f:
        f.write("log: {level: warn, format: text}\nbatch: {max_items: 100}\n"
                "send: {max_in_flight: 4}\n"
                'd365: {base_url: "%s", mapping: {lines_format: omit}%s}\n' % (base, odata))
    return path


def operation_available(bindir, out, operation):
    cfg = import_config(out, "check-" + operation, "http://127.0.0.1:1", operation)
    return subprocess.call([os.path.join(bindir, "invoice-bridge"), "check-config",
                            "--no-host-checks", "--config", cfg],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def run(bindir, out, name, client, stream, faults=None, limits=None, duration=None,
        operation=None, window=None):
    sim = Sim(os.path.join(bindir, "d365-sim"), out, name, faults, limits)
    result = os.path.join(out, name + ".result.json")
    if client == "import":
        cmd = [os.path.join(bindir, "invoice-bridge"), "import",
               "--config", import_config(out, name, sim.base, operation),
               "--no-progress", "--summary-json", result,
               "--rejects", os.path.join(out, name + ".rejects.ndjson"), stream["path"]]
        if limits:
            cmd[3:3] = ["--max-wait", "300"]
    else:
        cmd = [sys.executable, os.path.join(HERE, "user_clients.py"), client,
               "--base", sim.base, "--input", stream["path"], "--result", result]
        if duration:
            cmd += ["--duration", str(duration)]
    series, done = [], threading.Event()

    def poll():  # the simulator's counters every 5 s (the under-limits time series)
        while not done.wait(5 if window else 3600):
            s = sim.get("/_sim/stats")
            series.append({"t": round(time.monotonic() - t0, 1), "creates": s["creates"],
                           "requests": s["requests"], "operations": s["operations"],
                           "throttled": s["throttled"], "execution_ms": s.get("execution_ms")})
    t0 = time.monotonic()
    poller = threading.Thread(target=poll)
    poller.start()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    done.set()
    poller.join()
    stats = sim.get("/_sim/stats")
    records = sim.get("/_sim/records")["VendorInvoices"]
    sim.stop()
    if not os.path.exists(result):
        sys.exit("%s: no result (exit %d):\n%s" % (name, p.returncode, p.stderr[-3000:]))
    with open(result) as f:
        rep = json.load(f)
    with open(stream["path"]) as f:
        expected = {(j["vendor_account"], j["invoice_number"]) for j in map(json.loads, f)}
    present = {(r["VendorAccount"], r["InvoiceNumber"]) for r in records}
    unsent = rep.get("unsent", 0) + rep.get("unsettled", 0)
    exec_source = "sim execution_ms" if "execution_ms" in stats else \
        "operations x %d ms" % OPERATION_COST_MS
    exec_ms = stats.get("execution_ms", stats["operations"] * OPERATION_COST_MS)
    row = {"name": name, "client": client, "operation": operation or "$batch (multipart)",
           "lines": stream["lines"], "unique": stream["unique"], "true_duplicates": stream["copies"],
           "dup_pct": stream["dup_pct"], "exit": p.returncode, "wall_s": round(wall, 2),
           "invoices_per_s": round(len(present) / wall, 1),
           "requests": stats["requests"], "requests_by_status": stats["requests_by_status"],
           "requests_per_invoice": round(stats["requests"] / stream["unique"], 4),
           "operations": stats["operations"], "execution_ms": exec_ms, "execution_source": exec_source,
           "execution_ms_per_invoice": round(exec_ms / stream["unique"], 2),
           "duplicates_reported": rep["duplicates"],
           "duplicates_right": rep["duplicates"] == stream["copies"],
           "created": len(present), "created_twice": len(stats["keys_created_more_than_once"]),
           "failed_reported": rep["failed"], "unsent": unsent,
           "lost": len(expected - present) - unsent if not duration else None,
           "throttled_429": stats["throttled"], "client_report": rep}
    if duration:  # a deadline-bounded client: what it gave up on (absent, not unsent) is lost
        row["lost"] = rep["failed"]
    row.update(time_v(p.stderr))
    if window:
        at = [s for s in series if s["t"] <= window]
        w = at[-1] if at else {"creates": 0, "requests": 0, "operations": 0, "execution_ms": None}
        w_exec = w["execution_ms"] if w["execution_ms"] is not None else w["operations"] * OPERATION_COST_MS
        row.update({"series": series, "window_s": window, "window_at_s": w.get("t"),
                    "window_creates": w["creates"],
                    "sustained_invoices_per_s": round(w["creates"] / window, 1),
                    "request_budget_used": round(w["requests"] / 6000, 4),
                    "execution_budget_used": round(w_exec / 1200000, 4),
                    "refused_429_share": round(stats["throttled"] / max(1, stats["requests"]), 4)})
    if p.returncode not in (0, 1):
        print(p.stderr[-2000:], file=sys.stderr)
    print(json.dumps({k: v for k, v in row.items() if k not in ("series", "client_report",
                                                                 "requests_by_status")}), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory with invoice-bridge and d365-sim")
    ap.add_argument("--out", required=True)
    ap.add_argument("--clients", default="per-invoice,seed-recipe,import")
    ap.add_argument("--duration", type=float, default=300, help="limits: seconds per naive client")
    ap.add_argument("scenario", choices=["latency", "dupes", "limits"])
    a = ap.parse_args()
    ensure_packages()
    os.makedirs(a.out, exist_ok=True)
    clients = a.clients.split(",")
    rows = []
    if a.scenario == "latency":
        s = make_stream(os.path.join(a.out, "stream-2000.ndjson"), 2000, 5)
        for c in clients:
            rows.append(run(a.bin, a.out, "latency-" + c, c, s, faults=LATENCY))
        if "import" in clients:
            big = make_stream(os.path.join(a.out, "stream-20000.ndjson"), 20000, 5)
            rows.append(run(a.bin, a.out, "latency-import-20000", "import", big, faults=LATENCY))
    elif a.scenario == "dupes":
        for pct in (0, 1, 5):
            s = make_stream(os.path.join(a.out, "stream-2000-%d.ndjson" % pct), 2000, pct)
            for op in (None, "create_multiple", "upsert_multiple"):
                if op and not operation_available(a.bin, a.out, op):
                    rows.append({"name": "dupes-%s-%d" % (op, pct), "client": "import",
                                 "operation": op, "dup_pct": pct,
                                 "not_available": "not available in this build"})
                    print("%s at %d%%: not available in this build" % (op, pct), flush=True)
                    continue
                rows.append(run(a.bin, a.out, "dupes-%s-%d" % (op or "batch", pct), "import", s,
                                faults=LATENCY, operation=op))
    else:
        s = make_stream(os.path.join(a.out, "stream-140000.ndjson"), 140000, 5)
        threads, lock = [], threading.Lock()

        def one(c):
            r = run(a.bin, a.out, "limits-" + c, c, s, faults=LATENCY, limits=LIMITS,
                    duration=None if c == "import" else a.duration, window=300)
            with lock:
                rows.append(r)
        for c in clients:  # one simulator each, side by side (each mostly waits on its limits)
            threads.append(threading.Thread(target=one, args=(c,)))
            threads[-1].start()
        for t in threads:
            t.join()
    with open(os.path.join(a.out, a.scenario + ".json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
