#!/usr/bin/python3
"""The clients a user would write instead of running invoice-bridge, as the benchmark runs them
(tests/bench/clients_bench.py, docs/benchmarks.md "Against the clients users write").

Both read the NDJSON stream `invoice-bridge import` reads (one invoice a line: vendor_account,
invoice_number, company, invoice_date, currency, amount) and send each invoice to the D365 Web
API (`VendorInvoices`, alternate key VendorAccount + InvoiceNumber) with python3-requests,
written the plain way: one session, sequential, no threads, no local dedup store.

  per-invoice  one POST per invoice; 412/409 (key exists) = duplicate.
  seed-recipe  the seed thread's recipe: per batch of 100 invoices, GET pre-checks with
               `or`-ed key filters of up to 20 keys each; the keys found are duplicates; the
               rest goes in one atomic `$batch` change set. Our reading of what the thread
               does when the change set fails (an invoice of the batch exists after all, e.g.
               an upstream copy inside the same batch, which the pre-check cannot see): check
               again and send the batch once more; when that fails too, log the batch as
               failed and go on (its invoices are lost).

Both obey 429: sleep Retry-After (1 s when absent), send the same request again.
With --duration S a client takes no new invoice after S seconds (the under-limits scenario);
what it did not reach is reported as `unsent`, not lost.

Writes a JSON result {"imported","duplicates","failed","unsent","requests","throttled"};
"failed" = invoices the client gave up on.
"""
import argparse
import json
import sys
import time
import uuid

import requests

ENTITY = "VendorInvoices"
BATCH = 100
KEYS_PER_GET = 20


def body_of(inv):
    return {
        "VendorAccount": inv["vendor_account"],
        "InvoiceNumber": inv["invoice_number"],
        "Company": inv["company"],
        "InvoiceDate": inv["invoice_date"],
        "Currency": inv["currency"],
        "Amount": float(inv["amount"]),
    }


def literal(text):
    return "'" + text.replace("'", "''") + "'"


class Client:
    def __init__(self, base, deadline):
        self.api = base.rstrip("/") + "/api/data/v9.2/"
        self.http = requests.Session()
        self.deadline = deadline
        self.result = {"imported": 0, "duplicates": 0, "failed": 0, "unsent": 0,
                       "requests": 0, "throttled": 0}

    def expired(self):
        return self.deadline is not None and time.monotonic() >= self.deadline

    def send(self, method, url, **kw):
        """One request; a 429 is waited out (Retry-After) and the request sent again."""
        while True:
            self.result["requests"] += 1
            r = self.http.request(method, self.api + url, timeout=120, **kw)
            if r.status_code != 429:
                return r
            self.result["throttled"] += 1
            time.sleep(float(r.headers.get("Retry-After", "1")))


def per_invoice(c, invoices):
    for i, inv in enumerate(invoices):
        if c.expired():
            c.result["unsent"] += len(invoices) - i
            return
        r = c.send("POST", ENTITY, json=body_of(inv))
        if r.status_code in (201, 204):
            c.result["imported"] += 1
        elif r.status_code in (409, 412):
            c.result["duplicates"] += 1
        else:
            print("failed %s %s: %d %s" % (inv["vendor_account"], inv["invoice_number"],
                                          r.status_code, r.text[:200]), file=sys.stderr)
            c.result["failed"] += 1


def existing_keys(c, batch):
    """The GET pre-check: which keys of the batch D365 has, 20 keys per `or` filter."""
    found = set()
    for i in range(0, len(batch), KEYS_PER_GET):
        flt = " or ".join("(VendorAccount eq %s and InvoiceNumber eq %s)"
                          % (literal(v["vendor_account"]), literal(v["invoice_number"]))
                          for v in batch[i:i + KEYS_PER_GET])
        r = c.send("GET", ENTITY, params={"$select": "VendorAccount,InvoiceNumber",
                                          "$filter": flt})
        r.raise_for_status()
        found.update((rec["VendorAccount"], rec["InvoiceNumber"]) for rec in r.json()["value"])
    return found


def change_set(c, invoices):
    """One $batch holding one change set of POSTs; True when it was applied."""
    b, cs = "batch_" + uuid.uuid4().hex, "changeset_" + uuid.uuid4().hex
    parts = ["--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n" % (b, cs)]
    for n, inv in enumerate(invoices, 1):
        parts.append("--%s\r\nContent-Type: application/http\r\n"
                     "Content-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n"
                     "POST /api/data/v9.2/%s HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
                     "%s\r\n" % (cs, n, ENTITY, json.dumps(body_of(inv))))
    parts.append("--%s--\r\n--%s--\r\n" % (cs, b))
    r = c.send("POST", "$batch", data="".join(parts).encode(),
               headers={"Content-Type": "multipart/mixed; boundary=" + b})
    return r.status_code == 200


def seed_recipe(c, invoices):
    for start in range(0, len(invoices), BATCH):
        if c.expired():
            c.result["unsent"] += len(invoices) - start
            return
        batch = invoices[start:start + BATCH]
        for _ in range(2):
            found = existing_keys(c, batch)
            rest = [v for v in batch if (v["vendor_account"], v["invoice_number"]) not in found]
            if not rest or change_set(c, rest):
                c.result["duplicates"] += len(batch) - len(rest)
                c.result["imported"] += len(rest)
                break
        else:
            print("batch at line %d failed twice, skipped (%d invoices)" % (start + 1, len(rest)),
                  file=sys.stderr)
            c.result["duplicates"] += len(batch) - len(rest)
            c.result["failed"] += len(rest)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("client", choices=["per-invoice", "seed-recipe"])
    p.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--input", required=True)
    p.add_argument("--result", required=True)
    p.add_argument("--duration", type=float)
    a = p.parse_args()
    with open(a.input) as f:
        invoices = [json.loads(line) for line in f if line.strip()]
    c = Client(a.base, time.monotonic() + a.duration if a.duration else None)
    (per_invoice if a.client == "per-invoice" else seed_recipe)(c, invoices)
    with open(a.result, "w") as f:
        json.dump(c.result, f)


if __name__ == "__main__":
    main()
