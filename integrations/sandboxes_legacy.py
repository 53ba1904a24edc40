"""Run the sandbox systems (Kashflow and Dynamics AX emulators) as one process.

    python -m integrations.sandboxes prepare   # seed var/sandbox/ once (idempotent)
    python -m integrations.sandboxes serve     # serve both on loopback until Ctrl-C

Sandbox state lives in SQLite files under ``var/sandbox/``; credentials are generated at seeding
time and kept in ``var/sandbox/credentials.json`` (git-ignored), never in the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import string
import sys
import threading
from pathlib import Path
from typing import Any

from integrations.core.wsgi import ServerThread

AX_PORT_NAME = "LedgerbridgeServices"
AX_COMPANY = "GBSI"
DEFAULT_KASHFLOW_PORT = 8701
DEFAULT_AX_PORT = 8702


def sandbox_dir(var_dir: Path) -> Path:
    path = Path(var_dir) / "sandbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def kashflow_url(port: int = DEFAULT_KASHFLOW_PORT, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/v2"


def ax_url(port: int = DEFAULT_AX_PORT, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/MicrosoftDynamicsAXAif60/{AX_PORT_NAME}/xppservice.svc"


def _word(length: int) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


def new_credentials() -> dict[str, Any]:
    return {
        "kashflow": {"username": "studio@sandbox.kashflow.test", "password": secrets.token_urlsafe(12),
                     "memorable_word": _word(9)},
        "ax": {"username": "CONTOSO\\svc-ledgerbridge", "password": secrets.token_urlsafe(12),
               "company": AX_COMPANY},
    }


def ax_customers_from_kashflow(kf_store) -> list[dict[str, Any]]:
    """The AX side of the demo knows the same customers (AX is master for customers)."""
    customers = []
    page = 1
    while True:
        result = kf_store.list_customers(page=page, perpage=100)
        for item in result.items:
            doc = kf_store.get_customer(item["Code"]) or item
            address = (doc.get("Addresses") or [{}])[0] or {}
            lines = [address.get(f"Line{i}") for i in range(1, 5) if address.get(f"Line{i}")]
            customers.append({
                "account": doc["Code"], "name": doc["Name"], "group": "30", "company": AX_COMPANY,
                "currency": (doc.get("Currency") or {}).get("Code") or "GBP",
                "address": {"street": lines[0] if lines else "", "city": lines[-1] if len(lines) > 1 else "",
                            "zip": address.get("PostCode") or "", "country": "GBR"},
            })
        if page * 100 >= result.total:
            break
        page += 1
    return customers


def prepare(var_dir: Path, *, invoices: int = 60, customers: int = 12, reset: bool = False) -> dict[str, Any]:
    """Seed both sandboxes once; return the credentials the demo tenant's connections use."""
    from integrations.dynamics_ax.sandbox.seed import seed as seed_ax
    from integrations.dynamics_ax.sandbox.store import AxStore
    from integrations.kashflow.sandbox.seed import seed as seed_kashflow
    from integrations.kashflow.sandbox.store import Store

    folder = sandbox_dir(var_dir)
    creds_file, kf_file, ax_file = folder / "credentials.json", folder / "kashflow.sqlite3", folder / "ax.sqlite3"
    if reset:
        for path in (creds_file, kf_file, ax_file):
            path.unlink(missing_ok=True)
    if creds_file.exists() and kf_file.exists() and ax_file.exists():
        return json.loads(creds_file.read_text())
    for path in (kf_file, ax_file):
        path.unlink(missing_ok=True)
    creds = new_credentials()
    kf_store = Store(str(kf_file))
    seed_kashflow(kf_store, customers=customers, invoices=invoices, username=creds["kashflow"]["username"],
                  password=creds["kashflow"]["password"], memorable_word=creds["kashflow"]["memorable_word"])
    ax_store = AxStore(str(ax_file))
    seed_ax(ax_store, customers=ax_customers_from_kashflow(kf_store))
    kf_store.close()
    ax_store.close()
    creds_file.write_text(json.dumps(creds, indent=2))
    creds_file.chmod(0o600)
    return creds


def serve(var_dir: Path, *, kashflow_port: int, ax_port: int, host: str = "127.0.0.1") -> None:
    from integrations.dynamics_ax.sandbox.app import create_app as create_ax_app
    from integrations.dynamics_ax.sandbox.store import AxStore
    from integrations.kashflow.sandbox.app import create_app as create_kashflow_app
    from integrations.kashflow.sandbox.store import Store

    folder = sandbox_dir(var_dir)
    creds = prepare(var_dir)
    kashflow = ServerThread(create_kashflow_app(Store(str(folder / "kashflow.sqlite3"))), host, kashflow_port)
    ax = ServerThread(
        create_ax_app(AxStore(str(folder / "ax.sqlite3")), port_name=AX_PORT_NAME,
                      users={creds["ax"]["username"]: creds["ax"]["password"]}),
        host, ax_port,
    )
    kashflow.start()
    ax.start()
    print(f"Kashflow sandbox   {kashflow_url(kashflow.port, host)}", flush=True)
    print(f"Dynamics AX sandbox {ax_url(ax.port, host)}?wsdl", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    kashflow.stop()
    ax.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.sandboxes")
    parser.add_argument("command", choices=["prepare", "serve"])
    parser.add_argument("--var", default=os.environ.get("LEDGERBRIDGE_VAR_DIR", "var"))
    parser.add_argument("--kashflow-port", type=int, default=DEFAULT_KASHFLOW_PORT)
    parser.add_argument("--ax-port", type=int, default=DEFAULT_AX_PORT)
    parser.add_argument("--invoices", type=int, default=60)
    parser.add_argument("--reset", action="store_true")
    args = parser.parse_args(argv)
    var_dir = Path(args.var)
    if args.command == "prepare":
        prepare(var_dir, invoices=args.invoices, reset=args.reset)
        print(f"Sandboxes seeded in {sandbox_dir(var_dir)}")
    else:
        serve(var_dir, kashflow_port=args.kashflow_port, ax_port=args.ax_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
