"""How fast the sandbox systems seed (records/s) and serve (requests/s): the floor under every other benchmark.

    .venv/bin/python benchmarks/sandboxes.py [--sizes 1000 20000 100000] [--seconds 5] [--threads 4]

Seeds a fresh instance per ERP and size through the hub (ERP first, then Kashflow with its parties), then
serves one instance of each pair on loopback and drives each system's typical calls from a few client threads.
Prints a table and writes benchmarks/results/sandboxes.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def seed_rows(sizes: list[int]) -> list[dict]:
    from integrations.sandboxes import SandboxHub

    rows = []
    for erp in ("dynamics_ax", "sage100"):
        for size in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                hub = SandboxHub(Path(tmp))
                started = time.perf_counter()
                instance = hub.create(erp=erp, size=size, instance_id="bench", rng_seed=1)
                total = time.perf_counter() - started
                state = hub.inspect("bench")["state"]
                for system in instance.systems:
                    counts = state[system]["counts"]
                    records = sum(v for v in counts.values() if isinstance(v, int))
                    seconds = instance.seeded_in_s[system]
                    rows.append({"pair": f"kashflow+{erp}", "system": system, "invoices": size, "records": records,
                                 "seconds": round(seconds, 2), "records_per_s": round(records / max(seconds, 1e-6)),
                                 "pair_total_s": round(total, 2)})
    return rows


def drive(name: str, call: Callable[[], None], seconds: float, threads: int) -> dict:
    """Call ``call`` from ``threads`` threads for ``seconds``; count successes and errors."""
    done, errors = [0] * threads, [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            try:
                call()
                done[i] += 1
            except Exception:  # noqa: BLE001 - counted, reported
                errors[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    return {"workload": name, "threads": threads, "requests": sum(done), "errors": sum(errors),
            "requests_per_s": round(sum(done) / elapsed, 1)}


def per_thread(factory: Callable[[], object]) -> Callable[[], object]:
    """One client per thread (sessions are not shared), built on first use."""
    local = threading.local()

    def get() -> object:
        if not hasattr(local, "client"):
            local.client = factory()
        return local.client

    return get


def workloads(system: str, fields: dict) -> dict[str, Callable[[], None]]:
    """Each system's typical calls, through the production clients (what a flow pays per request)."""
    import random

    if system == "kashflow":
        from integrations.kashflow.client import KashflowClient

        client = per_thread(lambda: KashflowClient(fields["base_url"], fields["username"], fields["password"],
                                                   fields["memorable_word"]))
        return {
            "GET /invoices page of 50": lambda: client().get("/invoices", {"page": random.randint(1, 10),
                                                                            "perpage": 50}),
            "GET /invoices/{number}": lambda: client().get_invoice(random.randint(1, 500)),
        }
    if system == "dynamics_ax":
        from integrations.dynamics_ax.aif_client import AifClient
        from integrations.dynamics_ax.sql import AxSqlReader

        settings = fields["settings"]
        client = per_thread(lambda: AifClient(fields["base_url"], company=settings["company"],
                                              username=fields["username"], password=fields["password"],
                                              auth=settings["auth"]))
        reader = per_thread(lambda: AxSqlReader.from_settings(settings).open())
        accounts = [c["ACCOUNTNUM"] for c in AxSqlReader.from_settings(settings).open().customers()][:50]
        return {
            "CustomerService.read (zeep)": lambda: client().read_customer(random.choice(accounts)),
            "ODBC: all customers of GBSI": lambda: reader().customers(),
        }
    from integrations.sage100.agent_client import AgentClient
    from integrations.sage100.odbc import SageOdbcReader

    client = per_thread(lambda: AgentClient(fields["base_url"], fields["password"]))
    reader = per_thread(lambda: SageOdbcReader.from_settings(fields["settings"]))
    return {
        "agent GET /v1/health": lambda: client().health(),
        "ODBC: AR_Customer (all rows)": lambda: reader().read("AR_Customer"),
    }


def serve_rows(seconds: float, threads: int) -> list[dict]:
    from integrations.sandboxes import Ports, SandboxServers

    rows = []
    with tempfile.TemporaryDirectory() as tmp, SandboxServers(Path(tmp), Ports.ephemeral()) as servers:
        for erp in ("dynamics_ax", "sage100"):
            instance = f"serve-{erp.replace('_', '-')}"
            servers.hub.create(erp=erp, size=500, instance_id=instance, rng_seed=2)
            fields = servers.connection_fields(instance)
            for system in ((erp, "kashflow") if erp == "dynamics_ax" else (erp,)):
                for name, call in workloads(system, fields[system]).items():
                    rows.append({"system": system} | drive(name, call, seconds, threads))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000, 100000])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    seeding = seed_rows(args.sizes)
    print(f"{'pair':<22} {'system':<12} {'invoices':>9} {'records':>9} {'seconds':>8} {'records/s':>10}")
    for r in seeding:
        print(f"{r['pair']:<22} {r['system']:<12} {r['invoices']:>9} {r['records']:>9} {r['seconds']:>8} "
              f"{r['records_per_s']:>10}")
    serving = serve_rows(args.seconds, args.threads)
    print(f"\n{'system':<12} {'workload':<34} {'threads':>7} {'requests':>9} {'errors':>6} {'req/s':>8}")
    for r in serving:
        print(f"{r['system']:<12} {r['workload']:<34} {r['threads']:>7} {r['requests']:>9} {r['errors']:>6} "
              f"{r['requests_per_s']:>8}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = ROOT / "benchmarks" / "results" / "sandboxes.json"
    out.write_text(json.dumps({
        "benchmark": "sandboxes", "seeding": seeding, "serving": serving, "peak_rss_mb": round(peak_mb),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "note": "Servers and client threads in one process on loopback (the GIL is shared: a floor, not a ceiling).",
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
