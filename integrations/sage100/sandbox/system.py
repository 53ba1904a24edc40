"""The Sage 100 sandbox as a SandboxSystem: a seeded ABC company file plus the agent serving it.

An instance folder holds ``company.sqlite3`` (the company's tables, read over ODBC) and ``agent.sqlite3`` (the
agent's applied keys). The app is the real agent app on the emulated backend, behind the sandbox's faults.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from integrations.core.sandbox import SharedParty, size_to_invoices
from integrations.core.wsgi import Request, Response
from integrations.sage100.agent.app import AgentApp, hash_api_key
from integrations.sage100.agent.backends.emulated import EmulatedBackend
from integrations.sage100.agent.keys import AppliedKeys
from integrations.sage100.agent.service import Agent
from integrations.sage100.layouts import LAYOUTS

from .faults import FaultyBackend, SageFaultSwitch
from .parties import parties as seeded_parties
from .schema import DB_FILE, odbc_connection_string, open_readonly
from .seed import seed as seed_company

AGENT_FILE = "agent.sqlite3"
COMPANY = "ABC"


class SandboxAgentApp:
    """The agent app behind the fault switch, plus ``/_sandbox/faults`` (loopback only) like the other sandboxes."""

    def __init__(self, agent_app: AgentApp, faults: SageFaultSwitch, closers: list[Callable[[], None]]) -> None:
        self.agent_app = agent_app
        self.faults = faults
        self._closers = closers

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") == "/_sandbox/faults":
            return self._faults(Request.from_environ(environ))(start_response)
        answer = self.faults.intercept()
        if answer is not None:
            return answer(start_response)
        return self.agent_app(environ, start_response)

    def _faults(self, request: Request) -> Response:
        try:
            loopback = ipaddress.ip_address(request.environ.get("REMOTE_ADDR", "")).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return Response.json({"error": "fault switches only answer on loopback"}, 403)
        if request.method == "POST":
            try:
                self.faults.set(json.loads(request.body or b"{}"))
            except ValueError as exc:
                return Response.json({"error": str(exc)}, 400)
        elif request.method != "GET":
            return Response.json({"error": "GET or POST"}, 405)
        return Response.json(self.faults.snapshot())

    def close(self) -> None:
        for close in self._closers:
            close()


class Sage100Sandbox:
    name = "sage100"
    label = "Sage 100"

    def new_credentials(self) -> dict[str, Any]:
        return {"api_key": secrets.token_urlsafe(32), "sage_user": "lbagent",
                "sage_password": secrets.token_urlsafe(16)}

    def seed(self, folder: Path, credentials: dict[str, Any], *, size: int, rng_seed: int = 0,
             parties: list[SharedParty] | None = None) -> dict[str, int]:
        """Seed the ABC company. ``parties`` are ignored: the ERP is master for customers and vendors."""
        return seed_company(Path(folder), size=size_to_invoices(size), rng_seed=rng_seed,
                            agent_user=credentials["sage_user"], agent_password=credentials["sage_password"])

    def parties(self, folder: Path) -> list[SharedParty]:
        conn = open_readonly(Path(folder) / DB_FILE)
        try:
            return seeded_parties(conn)
        finally:
            conn.close()

    def make_app(self, folder: Path, credentials: dict[str, Any]) -> SandboxAgentApp:
        backend = EmulatedBackend(Path(folder) / DB_FILE, company=COMPANY, user=credentials["sage_user"],
                                  password=credentials["sage_password"])
        keys = AppliedKeys(Path(folder) / AGENT_FILE)
        faults = SageFaultSwitch()
        agent = Agent(FaultyBackend(backend, faults), keys)
        return SandboxAgentApp(AgentApp(agent, hash_api_key(credentials["api_key"])), faults,
                               [backend.close, keys.close])

    def close_app(self, app: SandboxAgentApp) -> None:
        app.close()

    def inspect(self, folder: Path) -> dict[str, Any]:
        conn = open_readonly(Path(folder) / DB_FILE)
        try:
            counts: dict[str, Any] = {
                table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - known names
                for table in LAYOUTS
            }
        finally:
            conn.close()
        agent_db = Path(folder) / AGENT_FILE
        if agent_db.exists():
            keys = AppliedKeys(agent_db)
            try:
                counts["agent_applied_keys"] = keys.counts()["applied"]
            finally:
                keys.close()
        return counts

    def connection_fields(self, root_url: str, folder: Path, credentials: dict[str, Any]) -> dict[str, Any]:
        return {"base_url": root_url, "password": credentials["api_key"],
                "settings": {"company": COMPANY, "odbc": odbc_connection_string(Path(folder) / DB_FILE)}}
