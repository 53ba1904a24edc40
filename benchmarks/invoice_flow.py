"""Throughput of the Kashflow -> AX invoice flow against the in-process sandboxes.

    .venv/bin/python benchmarks/invoice_flow.py [--invoices 500 2000]

Creates a throw-away tenant in the local database, runs the flow once (everything new) and again
(nothing new), prints a table and writes benchmarks/results/invoice_flow.json. The tenant's schema is
dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, nargs="+", default=[500, 2000])
    args = parser.parse_args()

    from portal.db import ensure_embedded_postgres

    ensure_embedded_postgres()
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from integrations.sandboxes import Ports, SandboxServers
    from integrations.sync.models import SyncRun
    from integrations.sync.sandbox_setup import connect_sandbox
    from integrations.sync.services import flow_run_request
    from portal.tenants.models import Tenant
    from portal.tenants.services import tenant_create

    call_command("migrate_schemas", interactive=False, verbosity=0)
    rows = []
    for count in args.invoices:
        sub = f"bench-{secrets.token_hex(3)}"
        tenant = tenant_create(company_name="Benchmark", subdomain=sub, owner_email="bench@example.test",
                               owner_password=secrets.token_urlsafe(16)).tenant
        try:
            with tempfile.TemporaryDirectory() as tmp, SandboxServers(Path(tmp), Ports.ephemeral()) as servers, \
                    schema_context(tenant.schema_name):
                servers.hub.create(erp="dynamics_ax", size=count, instance_id="bench", rng_seed=1)
                flow = connect_sandbox(instance_id="bench", fields=servers.connection_fields("bench")).flows[0]
                timings = []
                for _ in range(2):
                    start = time.perf_counter()
                    run = flow_run_request(flow=flow, trigger=SyncRun.Trigger.COMMAND, inline=True)
                    timings.append(time.perf_counter() - start)
                    run.refresh_from_db()
                    assert run.status == SyncRun.Status.SUCCEEDED, run.message
                    if len(timings) == 1:
                        posted = run.records_posted
                rows.append({
                    "invoices": count, "posted": posted, "first_run_s": round(timings[0], 2),
                    "posted_per_s": round(posted / timings[0], 1), "rerun_s": round(timings[1], 2),
                    "listed_per_s_rerun": round(count / timings[1], 1),
                })
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')  # noqa: S608
            Tenant.objects.filter(pk=tenant.pk).delete()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    header = f"{'invoices':>9} {'posted':>7} {'1st run s':>10} {'posted/s':>9} {'rerun s':>8} {'listed/s':>9}"
    print(header)
    for r in rows:
        print(f"{r['invoices']:>9} {r['posted']:>7} {r['first_run_s']:>10} {r['posted_per_s']:>9} "
              f"{r['rerun_s']:>8} {r['listed_per_s_rerun']:>9}")
    print(f"peak RSS {peak_mb:.0f} MB (benchmark process: web-side engine + both sandboxes)")
    out = ROOT / "benchmarks" / "results" / "invoice_flow.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "invoice_flow", "rows": rows, "peak_rss_mb": round(peak_mb),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "note": "Engine, Kashflow sandbox and AX sandbox in one process on loopback; embedded PostgreSQL.",
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
