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

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from integrations import sandboxes
from portal.db import var_dir

BASE = Path(__file__).resolve().parents[3]


class Command(BaseCommand):
    help = "Run the demo: embedded PostgreSQL, sandboxes, demo tenant, worker and portal."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(settings.PORTAL_PORT))
        parser.add_argument("--kashflow-port", type=int, default=sandboxes.DEFAULT_KASHFLOW_PORT)
        parser.add_argument("--ax-port", type=int, default=sandboxes.DEFAULT_AX_PORT)
        parser.add_argument("--invoices", type=int, default=60, help="sandbox invoices to seed (first run)")
        parser.add_argument("--reset-sandboxes", action="store_true", help="re-seed the sandbox systems")
        parser.add_argument("--no-serve", action="store_true", help="set everything up, then exit")

    def handle(self, *args, port, kashflow_port, ax_port, invoices, reset_sandboxes, no_serve, **options):
        for p in (port, kashflow_port, ax_port):
            if not no_serve and _port_busy(p):
                raise CommandError(f"Port {p} is already in use (is another demo running?).")
        self.stdout.write("Migrating the database…")
        call_command("migrate_schemas", interactive=False, verbosity=0)
        state = _demo_state()
        creds = sandboxes.prepare(var_dir(), invoices=invoices, reset=reset_sandboxes)
        from portal.demo import demo_tenant_setup

        tenant = demo_tenant_setup(password=state["password"], creds=creds, kashflow_port=kashflow_port,
                                   ax_port=ax_port)
        _ensure_staff(state["password"])
        if no_serve:
            self._banner(port, state)
            return
        children = []
        try:
            children.append(_spawn([sys.executable, "-m", "integrations.sandboxes", "serve", "--var", str(var_dir()),
                                    "--kashflow-port", str(kashflow_port), "--ax-port", str(ax_port)]))
            _wait_for_port(kashflow_port)
            _wait_for_port(ax_port)
            children.append(_spawn([sys.executable, "manage.py", "qcluster"]))
            children.append(_spawn([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]))
            _wait_for_port(port, timeout=60)
            self._first_sync(tenant.schema_name)
            self._banner(port, state)
            stop = {"flag": False}
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.update(flag=True))
            while not stop["flag"]:
                for child in children:
                    if child.poll() is not None:
                        raise CommandError(f"{' '.join(child.args[1:3])} stopped unexpectedly; shutting down.")
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

    def _first_sync(self, schema: str) -> None:
        from integrations.sync.models import Flow, SyncRun
        from integrations.sync.services import flow_run_request

        with schema_context(schema):
            for flow in Flow.objects.filter(enabled=True):
                if not flow.runs.exists():
                    flow_run_request(flow=flow, trigger=SyncRun.Trigger.MANUAL)

    def _banner(self, port: int, state: dict) -> None:
        line = "─" * 64
        self.stdout.write(self.style.SUCCESS(f"\n{line}\n Ledgerbridge demo is running\n{line}"))
        self.stdout.write(f"  Portal      http://demo.localhost:{port}/")
        self.stdout.write(f"  Login       owner@demo.ledgerbridge.test  /  {state['password']}")
        self.stdout.write(f"  Staff admin http://localhost:{port}/admin/  (staff@ledgerbridge.test, same password)")
        self.stdout.write(f"  Sign up     http://localhost:{port}/signup/")
        self.stdout.write("  Sync now    .venv/bin/python manage.py sync_now --tenant demo "
                          "--flow kashflow_invoices_to_ax")
        self.stdout.write(f"{line}\n  Ctrl-C stops everything.\n")


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
