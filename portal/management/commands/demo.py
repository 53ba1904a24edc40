"""python manage.py demo — everything a newcomer needs, in one process tree; Ctrl-C stops it all."""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from integrations.core.errors import ConnectorError
from integrations.sandboxes import DEFAULT_PORTS, SandboxHub
from integrations.sandboxes.activity import SandboxActivity
from portal.db import var_dir

BASE = Path(__file__).resolve().parents[3]


class Command(BaseCommand):
    help = "Run the demo: embedded PostgreSQL, sandboxes, demo tenant, worker and portal."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(settings.PORTAL_PORT))
        for name, default in DEFAULT_PORTS.items():
            parser.add_argument(f"--{name.replace('_', '-')}-port", type=int, default=default, dest=f"{name}_port",
                                help=f"sandbox {name} port")
        parser.add_argument("--invoices", type=int, default=200, help="sandbox invoices to seed (first run)")
        parser.add_argument("--reset-sandboxes", action="store_true", help="re-seed the sandbox systems")
        parser.add_argument("--activity-seconds", type=int, default=60,
                            help="every N seconds each demo company raises and settles invoices in Kashflow "
                                 "(0: never)")
        parser.add_argument("--no-serve", action="store_true", help="set everything up, then exit")

    def handle(self, *args, port, invoices, reset_sandboxes, no_serve, activity_seconds, **options):
        sandbox_ports = {name: options[f"{name}_port"] for name in DEFAULT_PORTS}
        for p in (port, *sandbox_ports.values()):
            if not no_serve and _port_busy(p):
                raise CommandError(f"Port {p} is already in use (is another demo running?).")
        self.stdout.write("Migrating the database…")
        call_command("migrate_schemas", interactive=False, verbosity=0)
        from portal.schedules import ensure_system_schedules

        ensure_system_schedules()  # the dispatcher the worker runs every minute (schedules, watchdog, alerts)
        state = _demo_state()
        from portal.demo import DEMOS, demo_sandbox, demo_tenant_setup

        self.stdout.write("Preparing the sandbox systems…")
        hub = SandboxHub(settings.SANDBOX_ROOT)
        root_urls = {name: f"http://127.0.0.1:{p}" for name, p in sandbox_ports.items() if name != "control"}
        tenants, kashflow_fields, fresh_tenants = [], [], set()
        for demo in DEMOS:
            fresh = demo_sandbox(hub, demo, invoices=invoices, reset=reset_sandboxes)
            fields = hub.connection_fields(demo.instance, root_urls)
            tenants.append(demo_tenant_setup(demo, password=state["password"], connection_fields=fields,
                                             fresh_data=fresh))
            if fresh:
                fresh_tenants.add(tenants[-1].schema_name)
            kashflow_fields.append(fields["kashflow"])
        _ensure_staff(state["password"])
        if no_serve:
            self._banner(port, state, 0)
            return
        children = []
        try:
            children.append(_spawn([sys.executable, "manage.py", "sandbox", "serve", *[
                arg for name, p in sandbox_ports.items() for arg in (f"--{name.replace('_', '-')}-port", str(p))]]))
            for p in sandbox_ports.values():
                _wait_for_port(p)
            children.append(_spawn([sys.executable, "manage.py", "qcluster"]))
            children.append(_spawn([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]))
            _wait_for_port(port, timeout=60)
            for tenant in tenants:
                self._first_sync(tenant.schema_name, everything=tenant.schema_name in fresh_tenants)
            self._banner(port, state, activity_seconds)
            activity = [SandboxActivity(fields, seed=n) for n, fields in enumerate(kashflow_fields, start=1)]
            next_activity = time.monotonic() + activity_seconds
            stop = {"flag": False}
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.update(flag=True))
            while not stop["flag"]:
                for child in children:
                    if child.poll() is not None:
                        raise CommandError(f"{' '.join(child.args[1:3])} stopped unexpectedly; shutting down.")
                if activity_seconds and time.monotonic() >= next_activity:
                    # The companies keep trading: new invoices and payments in Kashflow for the flows to move.
                    for demo, actor, tenant in zip(DEMOS, activity, tenants, strict=True):
                        result = actor.tick()
                        shop = _storefront_round(tenant.schema_name, demo.subdomain, port)
                        self.stdout.write(f"  [{time.strftime('%H:%M:%S')}] {demo.company}: {result}; {shop}")
                    next_activity = time.monotonic() + activity_seconds
                time.sleep(0.5)
        finally:
            self.stdout.write("\nStopping the demo…")
            # SIGINT, not SIGTERM: children then exit through their atexit hooks, which is how the
            # embedded PostgreSQL learns that its last user has gone and stops.
            for child in reversed(children):
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()

    def _first_sync(self, schema: str, *, everything: bool = False) -> None:
        """A first run of each flow that never ran (of every flow when the sandbox data is new)."""
        from integrations.sync.models import Flow, SyncRun
        from integrations.sync.services import flow_run_request

        with schema_context(schema):
            for flow in Flow.objects.filter(enabled=True):
                if everything or not flow.runs.exists():
                    flow_run_request(flow=flow, trigger=SyncRun.Trigger.MANUAL)

    def _banner(self, port: int, state: dict, activity_seconds: int) -> None:
        from portal.demo import DEMOS

        line = "─" * 64
        self.stdout.write(self.style.SUCCESS(f"\n{line}\n Ledgerbridge demo is running\n{line}"))
        for demo in DEMOS:
            pair = {"dynamics_ax": "Kashflow ↔ Dynamics AX", "sage100": "Kashflow ↔ Sage 100"}[demo.erp]
            if demo.summarised:
                pair = "… summarised (batch)"
            self.stdout.write(f"  {pair:<24}http://{demo.subdomain}.localhost:{port}/  ({demo.company})")
            self.stdout.write(f"  {'':<24}login {demo.owner}  /  {state['password']}")
        self.stdout.write(f"  Staff admin             http://localhost:{port}/admin/  "
                          "(staff@ledgerbridge.test, same password)")
        self.stdout.write(f"  Sign up                 http://localhost:{port}/signup/")
        self.stdout.write("  Sync now                .venv/bin/python manage.py sync_now --tenant demo "
                          "--flow kashflow_invoices_to_ax")
        self.stdout.write("  Sandboxes               .venv/bin/python manage.py sandbox list    "
                          "(docs/sandbox.md: seed, inspect, faults)")
        trading = (f"; the companies raise and pay invoices in Kashflow every {activity_seconds} s"
                   if activity_seconds else "")
        self.stdout.write(f"{line}\n  Every flow of both pairs is on, every 5 minutes{trading}.\n"
                          "  Ctrl-C stops everything.\n")


def _storefront_round(schema: str, subdomain: str, port: int) -> str:
    """One order (and its payment) from the company's web shop, sent as a signed webhook to its portal."""
    from integrations.sandboxes.storefront import StorefrontError, simulate_for_tenant

    try:
        with schema_context(schema):
            simulate_for_tenant(f"http://{subdomain}.localhost:{port}", orders=1,
                                transport=_loopback_transport(port))
    except (StorefrontError, OSError, ConnectorError) as error:
        return f"web shop order not sent ({error})"
    return "1 web shop order"


def _loopback_transport(port: int):
    """POST to the portal on 127.0.0.1 with the tenant's Host header (``*.localhost`` need not resolve here)."""
    import requests

    def post(url: str, body: bytes, headers: dict[str, str]):
        parts = urlsplit(url)
        local = urlunsplit((parts.scheme, f"127.0.0.1:{port}", parts.path, parts.query, ""))
        response = requests.post(local, data=body, headers={**headers, "Host": parts.netloc}, timeout=15)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {"error": response.text[:200]}

    return post


def _demo_state() -> dict:
    path = var_dir() / "demo.json"
    if path.exists():
        return json.loads(path.read_text())
    state = {"password": f"demo-{secrets.token_urlsafe(9)}"}
    path.write_text(json.dumps(state))
    path.chmod(0o600)
    return state


def _ensure_staff(password: str) -> None:
    from portal.accounts.models import User

    if not User.objects.filter(email="staff@ledgerbridge.test").exists():
        User.objects.create_superuser(email="staff@ledgerbridge.test", password=password)


def _spawn(cmd: list[str]) -> subprocess.Popen:
    # A demo started in the background inherits an ignored SIGINT; give children the default back so
    # they can be stopped gracefully (and run their atexit hooks).
    return subprocess.Popen(cmd, cwd=BASE, preexec_fn=_default_sigint)  # noqa: PLW1509


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_busy(port):
            return
        time.sleep(0.2)
    raise CommandError(f"Nothing is listening on port {port} after {timeout:.0f} s.")
