#!/usr/bin/env python3
"""The clients a user would write instead of running invoice-bridge (issue 15).

Both read the same NDJSON stream (one invoice a line, docs/invoice-model.md field names)
and write to a Dataverse-like OData endpoint (the d365-sim process). They are written the way
a user would write them with `requests`: no local dedup store, no pacing, a sleep on 429.

- `per_invoice`: one POST per invoice; 204 = created, 412/409 = duplicate.
- `seed_recipe`: the recipe of the seed thread: per batch of 100 invoices, GET pre-checks
  with `$filter` of `or`-ed key pairs (at most 20 keys per GET), then one atomic `$batch`
  (one change set) creating the rest. If the change set fails (a duplicate inside the same
  batch, any 4xx), the batch is sent again one POST per invoice, as the thread's
  "fall back to single creates" advice reads; what that finds is counted honestly.

Each returns a dict: created, duplicates (what the client believes), failed (given up =
lost as far as the client knows), requests (HTTP calls it made), throttled (429 answers).
"""
import json
import time
import uuid

import requests

ENTITY = "VendorInvoices"
ROOT = "/api/data/v9.2"
MAX_RETRIES = 3


def body_of(inv):
    return {
        "VendorAccount": inv["vendor_account"],
        "InvoiceNumber": inv["invoice_number"],
        "Company": inv["company"],
        "InvoiceDate": inv["invoice_date"],
        "Currency": inv["currency"],
        "Amount": float(inv["amount"]),
    }


class Counters:
    def __init__(self):
        self.c = {"created": 0, "duplicates": 0, "failed": 0, "requests": 0, "throttled": 0}

    def __getitem__(self, k):
        return self.c[k]

    def add(self, k, n=1):
        self.c[k] += n


def send(session, counters, method, url, deadline, **kw):
    """One request, repeated after Retry-After on 429 and after 1 s on 5xx/connection errors
    (MAX_RETRIES times). Returns the response, or None when given up or past the deadline."""
    errors = 0
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            return None
        counters.add("requests")
        try:
            r = session.request(method, url, timeout=120, **kw)
        except requests.RequestException:
            r = None
        if r is not None and r.status_code == 429:
            counters.add("throttled")
            time.sleep(float(r.headers.get("Retry-After", "1")))
            continue
        if r is None or r.status_code >= 500:
            errors += 1
            if errors > MAX_RETRIES:
                return None
            time.sleep(1)
            continue
        return r


def post_one(session, base, inv, counters, deadline):
    r = send(session, counters, "POST", base + ROOT + "/" + ENTITY, deadline, json=body_of(inv))
    if r is None:
        if deadline is None or time.monotonic() < deadline:
            counters.add("failed")
        return False
    if r.status_code in (200, 201, 204):
        counters.add("created")
    elif r.status_code in (409, 412):
        counters.add("duplicates")
    else:
        counters.add("failed")
    return True


def per_invoice(base, invoices, deadline=None):
    counters = Counters()
    with requests.Session() as s:
        for inv in invoices:
            if not post_one(s, base, inv, counters, deadline):
                if deadline is not None and time.monotonic() >= deadline:
                    break
    return counters.c


def odata_str(v):
    return "'" + v.replace("'", "''") + "'"


def existing_keys(session, base, invs, counters, deadline):
    """GET pre-check: which of these invoices' keys are already in D365 (≤ 20 per GET)."""
    found = set()
    for i in range(0, len(invs), 20):
        part = invs[i:i + 20]
        flt = " or ".join("(VendorAccount eq %s and InvoiceNumber eq %s)"
                          % (odata_str(v["vendor_account"]), odata_str(v["invoice_number"]))
                          for v in part)
        r = send(session, counters, "GET", base + ROOT + "/" + ENTITY, deadline,
                 params={"$filter": flt, "$select": "VendorAccount,InvoiceNumber"})
        if r is None:
            return None
        if r.status_code != 200:
            return None
        for rec in r.json().get("value", []):
            found.add((rec["VendorAccount"], rec["InvoiceNumber"]))
    return found


def changeset_body(invs):
    batch = "batch_" + uuid.uuid4().hex
    cs = "changeset_" + uuid.uuid4().hex
    out = ["--" + batch, "Content-Type: multipart/mixed; boundary=" + cs, ""]
    for n, inv in enumerate(invs, 1):
        out += ["--" + cs, "Content-Type: application/http", "Content-Transfer-Encoding: binary",
                "Content-ID: %d" % n, "",
                "POST %s/%s HTTP/1.1" % (ROOT, ENTITY), "Content-Type: application/json", "",
                json.dumps(body_of(inv))]
    out += ["--" + cs + "--", "--" + batch + "--", ""]
    return batch, "\r\n".join(out)


def seed_recipe(base, invoices, deadline=None, batch_size=100):
    counters = Counters()
    with requests.Session() as s:
        for i in range(0, len(invoices), batch_size):
            if deadline is not None and time.monotonic() >= deadline:
                break
            chunk = invoices[i:i + batch_size]
            found = existing_keys(s, base, chunk, counters, deadline)
            if found is None:
                if deadline is None or time.monotonic() < deadline:
                    counters.add("failed", len(chunk))
                continue
            rest = [v for v in chunk if (v["vendor_account"], v["invoice_number"]) not in found]
            counters.add("duplicates", len(chunk) - len(rest))
            if not rest:
                continue
            boundary, body = changeset_body(rest)
            r = send(s, counters, "POST", base + ROOT + "/$batch", deadline, data=body.encode(),
                     headers={"Content-Type": "multipart/mixed; boundary=" + boundary,
                              "OData-Version": "4.0", "OData-MaxVersion": "4.0"})
            if r is not None and r.status_code == 200 and "changesetresponse" in r.text:
                counters.add("created", len(rest))
                continue
            # The change set was rolled back (or no answer): one POST per invoice.
            for inv in rest:
                if not post_one(s, base, inv, counters, deadline):
                    if deadline is not None and time.monotonic() >= deadline:
                        break
    return counters.c


CLIENTS = {"per_invoice": per_invoice, "seed_recipe": seed_recipe}


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("client", choices=sorted(CLIENTS))
    ap.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--input", required=True, help="NDJSON invoices")
    ap.add_argument("--duration", type=float, help="stop sending after this many seconds")
    ap.add_argument("--summary-json", required=True)
    a = ap.parse_args()
    with open(a.input) as f:
        invs = [json.loads(line) for line in f if line.strip()]
    deadline = time.monotonic() + a.duration if a.duration else None
    res = CLIENTS[a.client](a.base, invs, deadline)
    with open(a.summary_json, "w") as f:
        json.dump(res, f)
