#!/usr/bin/env python3
"""Runs invoice-bridge and the clients users would otherwise write (tests/bench/naive_clients.py)
on the same generated stream against fresh d365-sim processes, and writes one JSON file.

Scenarios (docs/benchmarks.md, "Against the clients users write"):
  latency   20 ms per request + 1 ms per operation, limits off; every client to the end.
  limits    the same latency plus Dataverse's service protection limits (6,000 requests and
            1,200,000 ms execution per 300 s, 52 concurrent); every client runs in parallel,
            each on its own simulator, for --limits-seconds (>= 300); the figures are taken
            from /_sim/stats at 300 s, when the sliding window covers exactly the run so far.
  bulk      import with $batch vs CreateMultiple (both fallbacks) / UpsertMultiple at 0, 1 and
            5 % duplicates, once as upstream copies in the stream and once as invoices already
            in D365 (loaded into the simulator first, as after a lost dedup store), which is
            where a bulk message meets refusals (the bulk rows run only when
            `invoice-bridge check-config` accepts the operation).
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import naive_clients  # noqa: E402

OP_COST_MS = 10.0  # limits.operation_cost_ms, the simulator's default (sim/options.hpp)
LATENCY = {"request_latency_ms": 20, "operation_latency_ms": 1}
LIMITS = {"enabled": True, "window_seconds": 300, "max_requests": 6000,
          "max_execution_ms": 1200000, "max_concurrent": 52, "operation_cost_ms": OP_COST_MS}


def make_stream(unique, dup_pct, seed=15):
    """`unique` invoices, plus dup_pct % of them again as exact copies 1..500 positions later
    (upstream redelivery): some land in the same batch of 100 as their original."""
    rnd = random.Random(seed)
    invs = [{"vendor_account": "V-%d" % (i % 97), "invoice_number": "INV-%d" % i, "company": "ACME",
             "invoice_date": "2026-11-01", "currency": "EUR", "amount": "%d.%02d" % (100 + i % 900, i % 100)}
            for i in range(unique)]
    stream = list(invs)
    ndup = round(unique * dup_pct / 100.0)
    for src in sorted(rnd.sample(range(unique), ndup), reverse=True):
        pos = min(len(stream), stream.index(invs[src]) + rnd.randint(1, 500))
        stream.insert(pos, dict(invs[src]))
    return stream, ndup


class Sim:
    def __init__(self, binary, workdir, config, records=None):
        cfg = os.path.join(workdir, "sim.json")
        with open(cfg, "w") as f:
            json.dump(config, f)
        extra = []
        if records:  # invoices D365 already holds, in the /_sim/records shape
            rf = os.path.join(workdir, "records.json")
            with open(rf, "w") as f:
                json.dump({"VendorInvoices": records}, f)
            extra = ["--records", rf]
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--config", cfg,
                                      "--log-level", "warn"] + extra, stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(workdir, "sim.err"), "w"), text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError("d365-sim did not start: %r" % line)
        self.base = line[len("listening on "):]

    def stats(self):
        return requests.get(self.base + "/_sim/stats", timeout=60).json()

    def keys(self):
        recs = requests.get(self.base + "/_sim/records", timeout=300).json()["VendorInvoices"]
        return {(r["VendorAccount"], r["InvoiceNumber"]) for r in recs}

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def ib_config(path, base, operation=None, batch=100, fallback=None):
    # Bulk messages need the table's logical name (d365.odata.entity_type).
    if operation in ("create_multiple", "upsert_multiple"):
        odata = "{operation: %s, entity_type: vendorinvoice%s}" % (
            operation, ", bulk_fallback: %s" % fallback if fallback else "")
    else:
        odata = "{operation: %s}" % operation if operation else "{}"
    with open(path, "w") as f:
        f.write("log: {level: warn, format: text}\nbatch: {max_items: %d}\nsend: {max_in_flight: 4}\n"
                "d365: {base_url: \"%s\", odata: %s, mapping: {lines_format: omit}}\n" % (batch, base, odata))


def supports_operation(ib, workdir, operation):
    cfg = os.path.join(workdir, "probe-%s.yaml" % operation)
    ib_config(cfg, "http://127.0.0.1:9", operation)
    with open(cfg, "a") as f:
        f.write("dedup: {path: \"%s\"}\n" % os.path.join(workdir, "probe-dedup"))
    r = subprocess.run([ib, "check-config", "--config", cfg], capture_output=True, text=True)
    return r.returncode == 0 and "d365.odata.operation" not in r.stdout + r.stderr


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def outcomes(port):
    """(ib_invoices_total by outcome, input messages consumed), from the daemon's /metrics."""
    out, consumed = {}, 0
    try:
        text = requests.get("http://127.0.0.1:%d/metrics" % port, timeout=5).text
    except requests.RequestException:
        return out, consumed
    for line in text.splitlines():
        m = re.match(r'ib_invoices_total\{.*outcome="(\w+)".*\} ([0-9.e+]+)', line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + int(float(m.group(2)))
        m = re.match(r'ib_messages_consumed_total\{.*topic_kind="input".*\} ([0-9.e+]+)', line)
        if m:
            consumed = int(float(m.group(1)))
    return out, consumed


def run_daemon(args, sim, stream_file, workdir, duration=None):
    """invoice-bridge run against the real broker, as it runs in production: the daemon starts
    on an empty topic and the stream arrives while it runs. The daemon is started first and
    waited for until /readyz answers 200 (group joined, first assignment applied; reported as
    startup_s, a once-per-deployment cost); then the stream is produced, and the clock runs
    from the first produce until the simulator holds every unique invoice and the daemon has
    counted every message."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    topic = "clientbench-%d-%d" % (os.getpid(), random.randrange(1 << 30))
    # 4 partitions, the test broker's default (tests/kafka/kafka-broker.sh): created before
    # the daemon subscribes, so its first assignment already holds them.
    admin = AdminClient({"bootstrap.servers": args.bootstrap})  # alive until its futures are done
    for f in admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)]).values():
        f.result(60)
    del admin
    with open(stream_file) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    port = free_port()
    cfg = os.path.join(workdir, "daemon.yaml")
    with open(cfg, "w") as f:
        f.write("log: {level: warn, format: text}\n"
                "kafka: {bootstrap_servers: \"%s\", group_id: %s-group, topics: {input: %s, retry: %s.retry, review: %s.review}}\n"
                "dedup: {path: \"%s\"}\nmetrics: {address: 127.0.0.1, port: %d}\n"
                "d365: {base_url: \"%s\", mapping: {lines_format: omit}}\n"
                % (args.bootstrap, topic, topic, topic, topic, os.path.join(workdir, "dedup"), port, sim.base))
    unique = len({(json.loads(x)["vendor_account"], json.loads(x)["invoice_number"]) for x in lines})
    started = time.monotonic()
    with open(os.path.join(workdir, "daemon.log"), "w") as log:
        proc = subprocess.Popen([args.ib, "run", "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    startup = None
    while time.monotonic() < started + 120 and proc.poll() is None:
        try:
            if requests.get("http://127.0.0.1:%d/readyz" % port, timeout=5).status_code == 200:
                startup = time.monotonic() - started
                break
        except requests.RequestException:
            pass
        time.sleep(0.02)
    if startup is None:
        proc.kill()
        raise RuntimeError("invoice-bridge run did not become ready (see %s/daemon.log)" % workdir)
    t0 = time.monotonic()
    prod = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    for line in lines:
        v = json.loads(line)
        key = "%s|%s|%s" % (v["company"], v["vendor_account"], v["invoice_number"])
        while True:
            try:
                prod.produce(topic, value=line.encode(), key=key.encode())
                break
            except BufferError:
                prod.poll(0.05)
        prod.poll(0)
    if prod.flush(120) != 0:
        raise RuntimeError("producer did not flush")
    produced = time.monotonic() - t0
    limit = t0 + (duration or 600)
    wall = first = consumed = None
    while time.monotonic() < limit and proc.poll() is None:
        o, n = outcomes(port)
        if consumed is None and n > 0:
            consumed = time.monotonic() - t0
        records = sim.stats()["records"]
        if first is None and records > 0:
            first = time.monotonic() - t0
        if sum(o.values()) >= len(lines) and records >= unique:
            wall = time.monotonic() - t0
            break
        time.sleep(0.05)
    if wall is None:
        wall = time.monotonic() - t0
    o, _ = outcomes(port)
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(120)
    return {"imported": o.get("imported", 0) + o.get("recovered", 0), "duplicates": o.get("duplicate", 0),
            "failed": o.get("rejected", 0) + o.get("exhausted", 0), "conflicts": o.get("conflict", 0),
            "invalid": o.get("invalid", 0), "outcomes": o, "exit": rc, "first_record_s": first,
            "startup_s": round(startup, 3), "produced_s": round(produced, 3), "first_consumed_s": consumed}, wall


def run_client(name, args, sim, stream_file, workdir, duration=None, operation=None, fallback=None):
    """Runs one client to its end (or its duration); returns (its summary, wall seconds)."""
    if name == "daemon":
        return run_daemon(args, sim, stream_file, workdir, duration)
    summary = os.path.join(workdir, name + ".summary.json")
    if name in naive_clients.CLIENTS:
        cmd = [sys.executable, os.path.join(HERE, "naive_clients.py"), name, "--base", sim.base,
               "--input", stream_file, "--summary-json", summary]
        if duration:
            cmd += ["--duration", str(duration)]
    else:
        cfg = os.path.join(workdir, name + ".yaml")
        ib_config(cfg, sim.base, operation, fallback=fallback)
        cmd = [args.ib, "import", "--config", cfg, "--no-progress", "--summary-json", summary,
               "--rejects", os.path.join(workdir, name + ".rejects.ndjson"), stream_file]
        if duration:
            cmd += ["--deadline", str(duration)]
    t0 = time.monotonic()
    with open(os.path.join(workdir, name + ".log"), "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - t0
    with open(summary) as f:
        s = json.load(f)
    s["exit"] = rc
    return s, wall


def reported(s):
    """(created, duplicates, given up) in the client's own words."""
    if "imported" in s:  # invoice-bridge import's summary
        return s["imported"], s["duplicates"], s["failed"] + s["conflicts"] + s["invalid"]
    return s["created"], s["duplicates"], s["failed"]


def exec_ms(st):
    if "execution_ms" in st:
        return st["execution_ms"], "execution_ms from /_sim/stats"
    return st["operations"] * OP_COST_MS, "operations x %g ms (limits.operation_cost_ms)" % OP_COST_MS


def row(name, s, wall, st, expected, stored, true_dups):
    created, dups, failed = reported(s)
    ex, ex_src = exec_ms(st)
    multi = st.get("keys_created_more_than_once", [])
    return {"client": name, "wall_s": round(wall, 3), "invoices": len(expected),
            "invoices_per_s": round(len(expected & stored) / wall, 1),
            "requests": st["requests"], "requests_per_invoice": round(st["requests"] / len(expected), 4),
            "exec_ms_per_invoice": round(ex / len(expected), 3), "exec_source": ex_src,
            "reported_created": created, "reported_duplicates": dups, "true_duplicates": true_dups,
            "duplicates_right": dups == true_dups, "reported_failed": failed,
            "lost": len(expected - stored), "created_twice": len(multi),
            "throttled_429": st["requests_by_status"].get("429", 0), "exit": s.get("exit"),
            "first_record_s": s.get("first_record_s"), "startup_s": s.get("startup_s"),
            "produced_s": s.get("produced_s"), "first_consumed_s": s.get("first_consumed_s")}


def scenario_latency(args, out):
    stream, ndup = make_stream(args.unique, args.dup_pct)
    rows = []
    for name in args.clients:
        wd = tempfile.mkdtemp(prefix="cb-%s-" % name, dir=args.workdir)
        sf = os.path.join(wd, "stream.ndjson")
        with open(sf, "w") as f:
            f.writelines(json.dumps(v) + "\n" for v in stream)
        expected = {(v["vendor_account"], v["invoice_number"]) for v in stream}
        sim = Sim(args.sim, wd, {"faults": LATENCY})
        try:
            s, wall = run_client(name, args, sim, sf, wd)
            r = row(name, s, wall, sim.stats(), expected, sim.keys(), ndup)
        finally:
            sim.stop()
        print(json.dumps(r), flush=True)
        rows.append(r)
    out["latency"] = {"unique": args.unique, "dup_pct": args.dup_pct, "events": len(stream), "rows": rows}


def held_record(inv):
    """The simulator record of an invoice D365 already holds (the default mapping's fields)."""
    return {"VendorAccount": inv["vendor_account"], "InvoiceNumber": inv["invoice_number"],
            "Company": inv["company"], "InvoiceDate": inv["invoice_date"], "Currency": inv["currency"],
            "Amount": float(inv["amount"])}  # 2 decimals: exact as a JSON number


def scenario_bulk(args, out):
    ops = [("$batch", None, None)]
    avail = {}
    for op in ("create_multiple", "upsert_multiple"):
        avail[op] = supports_operation(args.ib, args.workdir, op)
        if avail[op] and op == "create_multiple":
            ops += [("CreateMultiple", op, "batch"), ("CreateMultiple bisect", op, "bisect")]
        elif avail[op]:
            ops.append(("UpsertMultiple", op, None))
    rows = []
    cases = [(0, "stream"), (1, "stream"), (5, "stream"), (1, "d365"), (5, "d365")]
    for pct, where in cases:
        if where == "stream":
            stream, ndup = make_stream(args.unique, pct)
            held = []
        else:  # a unique stream, pct % of which D365 holds already, spread over the stream
            stream, _ = make_stream(args.unique, 0)
            ndup = round(args.unique * pct / 100.0)
            held = [held_record(v) for v in random.Random(16).sample(stream, ndup)]
        expected = {(v["vendor_account"], v["invoice_number"]) for v in stream}
        for label, op, fallback in ops:
            wd = tempfile.mkdtemp(prefix="cb-bulk-", dir=args.workdir)
            sf = os.path.join(wd, "stream.ndjson")
            with open(sf, "w") as f:
                f.writelines(json.dumps(v) + "\n" for v in stream)
            sim = Sim(args.sim, wd, {"faults": LATENCY}, records=held)
            try:
                s, wall = run_client("import", args, sim, sf, wd, operation=op, fallback=fallback)
                st = sim.stats()
                r = row("import " + label, s, wall, st, expected, sim.keys(), ndup)
            finally:
                sim.stop()
            r.update(dup_pct=pct, duplicates_where=where, bulk_messages=st.get("bulk_messages", 0),
                     bulk_rolled_back=st.get("bulk_rolled_back", 0))
            if op == "upsert_multiple" and where == "d365":
                # An upsert overwrites what D365 holds: those invoices are updated, not reported
                # as duplicates; every key is still held once.
                r["duplicates_right"] = r["reported_duplicates"] == 0 and r["lost"] == 0
            print(json.dumps(r), flush=True)
            rows.append(r)
    out["bulk"] = {"unique": args.unique, "available": avail, "rows": rows}


def scenario_limits(args, out):
    stream, ndup = make_stream(args.limits_unique, args.dup_pct)
    expected = {(v["vendor_account"], v["invoice_number"]) for v in stream}
    results = {}

    def one(name):
        wd = tempfile.mkdtemp(prefix="cb-lim-%s-" % name, dir=args.workdir)
        sf = os.path.join(wd, "stream.ndjson")
        with open(sf, "w") as f:
            f.writelines(json.dumps(v) + "\n" for v in stream)
        sim = Sim(args.sim, wd, {"faults": LATENCY, "limits": LIMITS})
        samples, at300 = [], {}
        done = threading.Event()

        def sampler():
            t0 = time.monotonic()
            while not done.is_set():
                t = time.monotonic() - t0
                st = sim.stats()
                samples.append({"t": round(t, 1), "records": st["records"], "requests": st["requests"]})
                if t >= 300 and not at300:
                    at300.update(st, t=t)
                done.wait(5 - (time.monotonic() - t0) % 5)
        th = threading.Thread(target=sampler)
        th.start()
        try:
            s, wall = run_client(name, args, sim, sf, wd, duration=args.limits_seconds)
            while not at300:  # a client that finished early: the window still runs to 300 s
                time.sleep(1)
            done.set()
            th.join()
            stored = sim.keys()
        finally:
            done.set()
            sim.stop()
        st = at300
        created, dups, failed = reported(s)
        ex, ex_src = exec_ms(st)
        answered = st["requests"]
        refused = st["requests_by_status"].get("429", 0)
        admitted = answered - refused
        attempted = created + dups  # what the client settled
        results[name] = {
            "client": name, "run_s": round(wall, 1), "window_s": round(st["t"], 1),
            "records_at_300s": st["records"], "sustained_invoices_per_s": round(st["records"] / st["t"], 1),
            "requests_at_300s": answered, "request_budget_used": round(admitted / LIMITS["max_requests"], 4),
            "exec_ms_at_300s": ex, "exec_source": ex_src,
            "exec_budget_used": round(ex / LIMITS["max_execution_ms"], 4),
            "refused_429": refused, "refused_share": round(refused / answered, 4) if answered else 0,
            "reported_created": created, "reported_duplicates": dups, "reported_failed": failed,
            "settled_not_stored": attempted - dups - len(stored & expected) if attempted else 0,
            "lost": failed + max(0, created - len(stored)), "created_twice": len(st.get("keys_created_more_than_once", [])),
            "stored_at_end": len(stored), "exit": s.get("exit"), "samples": samples}
        print(json.dumps({k: v for k, v in results[name].items() if k != "samples"}), flush=True)

    ths = [threading.Thread(target=one, args=(n,)) for n in args.clients]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    out["limits"] = {"unique": args.limits_unique, "dup_pct": args.dup_pct, "limits": LIMITS,
                     "rows": [results[n] for n in args.clients if n in results]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.environ.get("IB_BUILD_DIR", "build"))
    ap.add_argument("--scenario", action="append", choices=["latency", "limits", "bulk"])
    ap.add_argument("--clients", default="per_invoice,seed_recipe,import")
    ap.add_argument("--bootstrap", help="Kafka bootstrap (tests/kafka/kafka-broker.sh); needed by the daemon client")
    ap.add_argument("--unique", type=int, default=2000)
    ap.add_argument("--dup-pct", type=float, default=5)
    ap.add_argument("--limits-unique", type=int, default=150000)
    ap.add_argument("--limits-seconds", type=float, default=310)
    ap.add_argument("--out", required=True, help="JSON results (merged into an existing file)")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    args.clients = args.clients.split(",")
    if "daemon" in args.clients and not args.bootstrap:
        ap.error("the daemon client needs --bootstrap")
    args.sim = os.path.join(args.build, "daemon", "d365-sim")
    args.ib = os.path.join(args.build, "daemon", "invoice-bridge")
    keep = args.workdir is not None
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="client-bench-")
    os.makedirs(args.workdir, exist_ok=True)
    out = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            out = json.load(f)
    for sc in args.scenario or ["latency", "bulk", "limits"]:
        {"latency": scenario_latency, "limits": scenario_limits, "bulk": scenario_bulk}[sc](args, out)
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    if not keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
