#!/usr/bin/env python3
"""Draws deploy/grafana/invoice-bridge.json as a PNG from real Prometheus data.

No Grafana (or its image renderer) is available from the package registries we use, so
this runs every panel's queries, exactly as they stand in the dashboard JSON, against a
real Prometheus server as range queries and plots the results with matplotlib, laid out
by the panels' gridPos. The data is the Prometheus storage that the integration test
keeps of its run:

    IB_OPS_UNIQUE=10000 IB_OPS_KEEP_TSDB=/tmp/ib-tsdb \\
        ctest --test-dir build -R ops_prometheus_dashboard_test
    python3 -m venv /tmp/mpl && /tmp/mpl/bin/pip install matplotlib
    /tmp/mpl/bin/python scripts/render-dashboard.py --tsdb /tmp/ib-tsdb --out docs/dashboard.png

The script starts its own prometheus (Debian's package) on a free loopback port over a
copy of that storage, and stops it at the end.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_prometheus(tsdb, workdir):
    data = os.path.join(workdir, "data")
    shutil.copytree(tsdb, data)
    config = os.path.join(workdir, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    log = open(os.path.join(workdir, "prometheus.log"), "w+")
    proc = subprocess.Popen(
        [os.environ.get("IB_PROMETHEUS", "prometheus"), f"--config.file={config}",
         f"--storage.tsdb.path={data}", "--web.listen-address=127.0.0.1:0",
         "--storage.tsdb.retention.time=3650d"],
        stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r'msg="Listening on" address=([0-9.]+:[0-9]+)', log.read())
        if m:
            base = "http://" + m.group(1)
            try:
                if b"Ready" in urllib.request.urlopen(base + "/-/ready", timeout=2).read():
                    return proc, base
            except OSError:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("prometheus did not start; see " + log.name)


def api(base, path, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    body = json.load(urllib.request.urlopen(url, timeout=30))
    if body["status"] != "success":
        raise RuntimeError(f"{url}: {body}")
    return body["data"]


def legend(fmt, labels):
    if not fmt:
        return ",".join(f"{k}={v}" for k, v in labels.items() if k != "__name__")
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def interpolate(expr, variables):
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", variables[name]).replace("$" + name, variables[name])
    return expr


def panels_of(dashboard):
    for p in dashboard["panels"]:
        yield p
        yield from p.get("panels", [])


def fmt_value(v, unit):
    if unit == "percentunit":
        return f"{v * 100:.1f}%"
    if unit == "bytes":
        return f"{v / 1024:.0f} KiB" if v < 1 << 20 else f"{v / (1 << 20):.1f} MiB"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tsdb", required=True, help="Prometheus storage kept by the test (IB_OPS_KEEP_TSDB)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "dashboard.png"))
    ap.add_argument("--dashboard", default=os.path.join(ROOT, "deploy", "grafana", "invoice-bridge.json"))
    ap.add_argument("--rate-interval", default="10s", help="what $__rate_interval stands for")
    args = ap.parse_args()

    dashboard = json.load(open(args.dashboard))
    workdir = tempfile.mkdtemp(prefix="ib-render-")
    proc, base = start_prometheus(args.tsdb, workdir)
    try:
        head = api(base, "/api/v1/status/tsdb")["headStats"]
        start, end = head["minTime"] / 1000.0, head["maxTime"] / 1000.0
        span = max(int(end - start) + 1, 1)
        variables = {"job": "invoice-bridge", "instance": ".*", "__rate_interval": args.rate_interval,
                     "__range": f"{span}s", "__interval": "1s"}

        panels = [p for p in panels_of(dashboard)]
        height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
        fig = plt.figure(figsize=(24, height * 0.42), dpi=80)
        fig.suptitle(f"{dashboard['title']} — real run, {datetime.fromtimestamp(start, timezone.utc):%Y-%m-%d %H:%M} UTC, "
                     f"{span} s (rendered from Prometheus with matplotlib; no Grafana)", fontsize=14, y=0.995)
        for p in panels:
            g = p["gridPos"]
            left, width = g["x"] / 24, g["w"] / 24
            bottom, h = 1 - (g["y"] + g["h"]) / height, g["h"] / height
            if p["type"] == "row":
                fig.text(0.005, bottom + h * 0.2, p["title"], fontsize=13, weight="bold")
                continue
            ax = fig.add_axes([left + 0.025, bottom + 0.12 * h, width - 0.035, h * 0.72])
            ax.set_title(p["title"], fontsize=11, loc="left")
            unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
            if p["type"] == "stat":
                ax.axis("off")
                texts = []
                for t in p["targets"]:
                    res = api(base, "/api/v1/query", query=interpolate(t["expr"], variables), time=end)["result"]
                    texts += [fmt_value(float(r["value"][1]), unit) for r in res]
                ax.text(0.5, 0.45, "  ".join(texts) or "no data", ha="center", va="center", fontsize=30,
                        color="#2a7f2a")
                continue
            for t in p["targets"]:
                res = api(base, "/api/v1/query_range", query=interpolate(t["expr"], variables),
                          start=start, end=end, step="1s")["result"]
                for r in res:
                    xs = [datetime.fromtimestamp(float(ts), timezone.utc) for ts, _ in r["values"]]
                    ys = [float(v) for _, v in r["values"]]
                    ax.plot(xs, ys, linewidth=1.2, label=legend(t.get("legendFormat", ""), r["metric"]))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
            ax.tick_params(labelsize=8)
            if unit == "percentunit":
                ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7, loc="upper right", ncol=2)
            else:
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center")
        fig.savefig(args.out)
        print(f"wrote {args.out} ({len(panels)} panels, {span} s of data)")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
