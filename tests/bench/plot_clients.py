#!/usr/bin/env python3
"""PNG plots of the client benchmark (docs/benchmarks.md, "Against the clients users write").

  tests/bench/plot.sh RESULTS.json docs/   (matplotlib from PyPI in a venv)

RESULTS.json is what tests/bench/client_bench.py --out writes; each scenario present is plotted:
  latency -> clientbench-latency.png  invoices/s (log scale) and requests/invoice per client
  bulk    -> clientbench-bulk.png     invoices/s and requests/invoice per operation, dup % and where
  limits  -> clientbench-limits.png   invoices stored over time per client, the 300 s window
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def bars(ax, labels, values, title, log=False, fmt="%g"):
    b = ax.bar(range(len(values)), values, color="tab:blue")
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    for rect, v in zip(b, values):
        ax.annotate(fmt % v, (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                    ha="center", va="bottom", fontsize=8)


def latency(sc, outdir):
    rows = sc["rows"]
    names = [r["client"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    bars(a, names, [r["invoices_per_s"] for r in rows], "invoices/s (log)", log=True)
    bars(b, names, [r["requests_per_invoice"] for r in rows], "API requests per invoice (log)",
         log=True, fmt="%.3g")
    fig.suptitle("20 ms/request + 1 ms/operation, %d invoices + %g%% upstream copies"
                 % (sc["unique"], sc["dup_pct"]))
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "clientbench-latency.png"), dpi=100)


def bulk(sc, outdir):
    rows = sc["rows"]
    labels = ["%s %g%%%s" % (r["client"].replace("import ", ""), r["dup_pct"],
                             " in D365" if r.get("duplicates_where") == "d365" else "") for r in rows]
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(14, 11))
    bars(a, labels, [r["invoices_per_s"] for r in rows], "import invoices/s")
    bars(b, labels, [r["requests_per_invoice"] for r in rows], "API requests per invoice",
         fmt="%.3g")
    bars(c, labels, [r["exec_ms_per_invoice"] for r in rows],
         "server execution ms per invoice (the simulator's cost model)", fmt="%.3g")
    missing = [op for op, ok in sc.get("available", {}).items() if not ok]
    fig.suptitle("import by operation; duplicates as upstream copies or already in D365"
                 + ("; not available in this build: " + ", ".join(missing) if missing else ""))
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "clientbench-bulk.png"), dpi=100)


def limits(sc, outdir):
    fig, (ax, rq) = plt.subplots(1, 2, figsize=(13, 4.5))
    for r in sc["rows"]:
        s = r.get("samples", [])
        ax.plot([p["t"] for p in s], [p["records"] for p in s], label=r["client"])
        rq.plot([p["t"] for p in s], [p["requests"] for p in s], label=r["client"])
    for a in (ax, rq):
        a.axvline(300, color="grey", linestyle="--", linewidth=1)
        a.annotate("300 s window", (300, 0), xytext=(4, 4), textcoords="offset points", fontsize=8)
        a.set_xlabel("seconds since start")
        a.legend()
    rq.axhline(sc["limits"]["max_requests"], color="red", linestyle=":", linewidth=1)
    rq.annotate("request budget", (0, sc["limits"]["max_requests"]), xytext=(4, -12),
                textcoords="offset points", fontsize=8, color="red")
    ax.set_ylabel("invoices stored in D365")
    ax.set_title("invoices stored")
    rq.set_ylabel("requests answered (429s included)")
    rq.set_title("requests")
    fig.suptitle("under the service protection limits (6,000 requests, 1,200 s execution per 300 s)")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "clientbench-limits.png"), dpi=100)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_clients.py RESULTS.json OUTDIR")
    with open(sys.argv[1]) as f:
        out = json.load(f)
    for name, fn in (("latency", latency), ("bulk", bulk), ("limits", limits)):
        if name in out:
            fn(out[name], sys.argv[2])
            print("wrote", os.path.join(sys.argv[2], "clientbench-%s.png" % name))


if __name__ == "__main__":
    main()
