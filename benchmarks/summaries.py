"""Summarised posting at volume: 10,000 paid Kashflow invoices over ~30 days -> one GL journal per day.

    .venv/bin/python benchmarks/summaries.py                       # AX and Sage, 10,000 invoices, 30 days
    .venv/bin/python benchmarks/summaries.py --invoices 2000 --days 10 --targets ax

For each target pair the sandboxes run in their own process (as remote systems would, zero latency) and a
fresh instance is seeded with the ERP's demo data plus ``--invoices`` paid Kashflow invoices (1-3 lines on the
sales nominal codes, VAT 20 % or exempt, one payment line each, paid 0-3 days after issue) spread over the
``--days`` closed days before today. A worker process then runs the summary flow once, inline, on a throw-away
tenant (its own schema): every invoice listed and fetched, staged with its receipt, summarised into one
journal per day, recorded with its lines and drill-down, sent and bound. A second run follows (what a
scheduled run costs when nothing changed).

Measured per target: wall time of the run, journals posted, target (write) calls, source (Kashflow HTTP)
requests, source records staged and journaled, drill-down rows, peak RSS of the worker, and the second run's
time and calls. The posted journals are checked against the seed: every day balanced, its AR debit equal to the
day's invoice totals. Prints a table and writes benchmarks/results/summaries.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
PYTHON = sys.executable
PAIRS = {"ax": ("dynamics_ax", "kashflow_summary_to_ax"), "sage": ("sage100", "kashflow_summary_to_sage")}
CATALOGUE = [(4000, Decimal("24.50")), (4001, Decimal("180.00")), (4002, Decimal("12.75")), (4905, Decimal("7.50"))]


# --------------------------------------------------------------------------- child: seeded sandbox servers

def serve(root: str, erp: str, invoices: int, days: int) -> None:
    import django

    django.setup()
    from integrations.sandboxes import Ports, SandboxServers

    with SandboxServers(Path(root), Ports.ephemeral()) as servers:
        servers.hub.create(erp=erp, size=30, instance_id="bench", rng_seed=1)
        store = servers.hub.app("kashflow", "bench").store
        started = time.perf_counter()
        seed(store, invoices, days)
        expected = ar_by_day(store)
        seeded = time.perf_counter() - started
        print(json.dumps({"fields": servers.connection_fields("bench"), "expected": expected,
                          "seed_s": round(seeded, 2)}), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def seed(store, count: int, days: int) -> dict:
    """``count`` paid invoices over the ``days`` days before today; the AR debit per day, per currency."""
    rng = random.Random(11)
    customers, page = [], 1
    while True:
        result = store.list_customers(page=page, perpage=100)
        customers += result.items
        if page * 100 >= result.total:
            break
        page += 1
    today = date.today()
    ar: dict[str, Decimal] = {}
    for n in range(count):
        issued = today - timedelta(days=1 + (n * days) // count)
        paid = min(today - timedelta(days=1), issued + timedelta(days=rng.choice((0, 0, 1, 3))))
        customer = customers[rng.randrange(len(customers))]
        currency = (customer.get("Currency") or {}).get("Code") or "GBP"
        lines, gross = [], Decimal(0)
        for number in range(1, rng.choice((1, 2, 2, 3)) + 1):
            nominal, rate = rng.choice(CATALOGUE)
            quantity = rng.randint(1, 12)
            exempt = nominal == 4905 and rng.random() < 0.5
            net = quantity * rate
            vat = Decimal(0) if exempt else (net * Decimal("0.2")).quantize(Decimal("0.01"))
            gross += net + vat
            lines.append({"Number": number, "Description": f"Item {nominal}", "NominalCode": nominal,
                          "Quantity": quantity, "Rate": rate, "VATLevel": 0 if exempt else 20, "VATAmount": vat,
                          "VATExempt": exempt})
        store.create_invoice({
            "CustomerCode": customer["Code"], "IssuedDate": issued.isoformat(), "Currency": {"Code": currency},
            "LineItems": lines,
            "PaymentLines": [{"Amount": gross, "Date": paid.isoformat(), "Method": 3, "AccountId": 1}]})
        key = f"{issued.isoformat()}/{currency}"
        ar[key] = ar.get(key, Decimal(0)) + gross
    return {k: str(v) for k, v in ar.items()}


def ar_by_day(store) -> dict[str, str]:
    """What the AR debits of the journals must be: every invoice issued before today (the demo seed's and ours),
    its exact line amounts (net = quantity x rate to the penny, plus VAT unless exempt), per day and currency."""
    totals: dict[str, Decimal] = {}
    page = 1
    while True:
        result = store.list_invoices(page=page, perpage=250)
        for item in result.items:
            invoice = store.get_invoice(int(item["Number"]))
            issued = str(invoice["IssuedDate"])[:10]
            if issued >= date.today().isoformat():
                continue
            gross = Decimal(0)
            for line in invoice["LineItems"]:
                gross += (Decimal(str(line["Quantity"])) * Decimal(str(line["Rate"]))).quantize(Decimal("0.01"))
                if not line.get("VATExempt"):
                    gross += Decimal(str(line.get("VATAmount") or 0)).quantize(Decimal("0.01"))
            key = f"{issued}/{invoice['Currency']['Code']}"
            totals[key] = totals.get(key, Decimal(0)) + gross
        if page * 250 >= result.total:
            break
        page += 1
    return {k: str(v.quantize(Decimal("0.01"))) for k, v in totals.items() if v}


# --------------------------------------------------------------------------- child: the worker

def worker(fields: dict, flow_key: str) -> dict:
    from portal.db import ensure_embedded_postgres

    ensure_embedded_postgres()
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.db import connection
    from django_tenants.utils import schema_context

    from integrations.sync.models import SyncRun
    from integrations.sync.sandbox_setup import connect_sandbox
    from integrations.sync.services import flow_run_request
    from integrations.sync.summary_models import SummaryContribution, SummaryJournal, SummaryLine, SummarySource
    from portal.tenants.models import Tenant
    from portal.tenants.services import tenant_create

    sub = f"bench-{secrets.token_hex(3)}"
    tenant = tenant_create(company_name="Summary benchmark", subdomain=sub, owner_email="bench@example.test",
                           owner_password=secrets.token_urlsafe(16)).tenant
    try:
        with schema_context(tenant.schema_name):
            flow = next(f for f in connect_sandbox(instance_id="bench", fields=fields).flows if f.key == flow_key)
            flow.enabled = True
            flow.options = {**flow.options, "close_after_hours": 0}
            flow.save()

            import requests

            counts = {"source": 0, "target": 0}
            send = requests.Session.send
            source_url = flow.source.base_url.rstrip("/")

            def counting_send(session, request, **kwargs):
                counts["source" if request.url.startswith(source_url) else "target"] += 1
                return send(session, request, **kwargs)

            requests.Session.send = counting_send

            def requests_so_far() -> int:
                return counts["source"]

            start = time.perf_counter()
            run = flow_run_request(flow=flow, trigger=SyncRun.Trigger.COMMAND, inline=True)
            elapsed = time.perf_counter() - start
            run.refresh_from_db()
            source_requests = requests_so_far()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            start = time.perf_counter()
            again = flow_run_request(flow=flow, trigger=SyncRun.Trigger.COMMAND, inline=True)
            again_s = time.perf_counter() - start
            again.refresh_from_db()
            journals = SummaryJournal.objects.filter(flow=flow)
            ar: dict[str, str] = {}
            for line in SummaryLine.objects.filter(journal__flow=flow, role="ar_invoice"):
                key = f"{line.journal.period_start.isoformat()}/{line.currency}"
                ar[key] = str((Decimal(ar.get(key, "0")) + line.debit).quantize(Decimal("0.01")))
            balanced = all(j.total_debit == j.total_credit for j in journals)
            result = {
                "status": run.status, "message": run.message, "seconds": elapsed, "seen": run.records_seen,
                "posted_sources": run.records_posted, "failed": run.records_failed,
                "journals": journals.filter(status="posted").count(), "target_calls": run.target_calls,
                "source_requests": source_requests, "target_requests": counts["target"],
                "sources_staged": SummarySource.objects.filter(flow=flow).count(),
                "sources_journaled": SummarySource.objects.filter(flow=flow, journal__isnull=False).count(),
                "journal_lines": SummaryLine.objects.filter(journal__flow=flow).count(),
                "drill_down_rows": SummaryContribution.objects.filter(line__journal__flow=flow).count(),
                "peak_rss_mb": peak, "balanced": balanced, "ar_by_day": ar,
                "second_run": {"status": again.status, "seconds": again_s, "posted": again.records_posted,
                               "target_calls": again.target_calls,
                               "source_requests": requests_so_far() - source_requests},
            }
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')  # noqa: S608
        Tenant.objects.filter(pk=tenant.pk).delete()
    return result


# --------------------------------------------------------------------------- the parent

def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--targets", nargs="+", default=["ax", "sage"], choices=sorted(PAIRS))
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        role, *rest = args.child
        if role == "serve":
            serve(rest[0], rest[1], int(rest[2]), int(rest[3]))
        else:
            print(json.dumps(worker(json.loads(rest[0]), rest[1])))
        return 0

    from portal.db import ensure_embedded_postgres

    ensure_embedded_postgres()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", interactive=False, verbosity=0)
    rows = []
    for target in args.targets:
        erp, flow_key = PAIRS[target]
        with tempfile.TemporaryDirectory() as root:
            print(f"… {target}: seeding {args.invoices} paid invoices over {args.days} days", flush=True)
            server = subprocess.Popen([PYTHON, __file__, "--child", "serve", root, erp, str(args.invoices),
                                       str(args.days)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                hello = json.loads(server.stdout.readline())
                print(f"… {target}: running {flow_key}", flush=True)
                out = subprocess.run([PYTHON, __file__, "--child", "worker", json.dumps(hello["fields"]), flow_key],
                                     capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    raise SystemExit(f"worker failed:\n{out.stderr[-3000:]}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
            finally:
                server.stdin.close()
                server.wait(timeout=60)
        matches = result.pop("ar_by_day") == hello["expected"]
        if result["status"] != "succeeded" or not result["balanced"] or not matches:
            raise SystemExit(f"{target}: the journals do not match the seed: {result}")
        rows.append({
            "target": target, "flow": flow_key, "invoices": args.invoices, "days": args.days,
            "seed_s": hello["seed_s"], "run_s": round(result["seconds"], 2),
            "sources_per_s": round(result["posted_sources"] / result["seconds"], 1),
            "journals": result["journals"], "target_calls": result["target_calls"],
            "source_requests": result["source_requests"], "target_http_requests": result["target_requests"],
            "sources_journaled": result["sources_journaled"],
            "journal_lines": result["journal_lines"], "drill_down_rows": result["drill_down_rows"],
            "worker_peak_mb": round(result["peak_rss_mb"]), "ar_matches_seed": matches,
            "second_run_s": round(result["second_run"]["seconds"], 2),
            "second_run_target_calls": result["second_run"]["target_calls"],
            "second_run_source_requests": result["second_run"]["source_requests"],
            "second_run_posted": result["second_run"]["posted"],
        })

    print()
    print(f"{'target':>6} {'invoices':>8} {'run s':>7} {'src/s':>7} {'journals':>8} {'tgt calls':>9} "
          f"{'src calls':>9} {'lines':>6} {'drill rows':>10} {'peak MB':>8} {'2nd run s':>9} {'2nd calls':>9}")
    for r in rows:
        print(f"{r['target']:>6} {r['invoices']:>8} {r['run_s']:>7} {r['sources_per_s']:>7} {r['journals']:>8} "
              f"{r['target_calls']:>9} {r['source_requests']:>9} {r['journal_lines']:>6} {r['drill_down_rows']:>10} "
              f"{r['worker_peak_mb']:>8} {r['second_run_s']:>9} {r['second_run_target_calls']:>9}")
    out = ROOT / "benchmarks" / "results" / "summaries.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "summaries", "rows": rows,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "note": "Sandboxes in their own process on loopback, zero latency; the worker in a fresh process on a "
                "throw-away tenant; embedded PostgreSQL. sources = invoices + receipts (one payment each). "
                "src calls = Kashflow HTTP requests (login, list pages, one GET per invoice); a second run lists "
                "only (no invoice changed) and writes nothing.",
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
