"""Fixtures for the Dynamics AX sandbox/client tests (no database; SQLite files and loopback HTTP only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from integrations.core.wsgi import ServerThread
from integrations.dynamics_ax.aif_client import AifClient
from integrations.dynamics_ax.sandbox import SYSTEM
from integrations.dynamics_ax.sandbox.app import AxSandbox, create_app
from integrations.dynamics_ax.sandbox.seed import seed
from integrations.dynamics_ax.sandbox.store import AxStore

CUSTOMERS = [
    {
        "account": "BRIG01",
        "name": "Brighton Bike Co",
        "group": "30",
        "currency": "GBP",
        "address": {"street": "1 Marine Parade", "city": "Brighton", "zip": "BN2 1TL", "country": "GBR"},
    },
    {
        "account": "US-001",
        "name": "Contoso Retail Seattle",
        "group": "10",
        "currency": "USD",
        "company": "USMF",
    },
]
PORT_PATH = "/MicrosoftDynamicsAXAif60/LedgerbridgeServices/xppservice.svc"
TODAY = date(2024, 6, 28)


@pytest.fixture
def store() -> Iterator[AxStore]:
    store = seed(AxStore(":memory:"), customers=CUSTOMERS)
    yield store
    store.close()


@pytest.fixture
def app(store: AxStore) -> AxSandbox:
    return create_app(store)


class _Dispatch:
    """WSGI shim so one loopback server (whose shutdown costs ~0.5 s) serves each test's own sandbox app."""

    app: Any = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def _shared_server() -> Iterator[tuple[ServerThread, _Dispatch]]:
    dispatch = _Dispatch()
    with ServerThread(dispatch) as server:
        yield server, dispatch


@pytest.fixture
def server(app: AxSandbox, _shared_server) -> Iterator[ServerThread]:
    server, dispatch = _shared_server
    dispatch.app = app
    yield server
    dispatch.app = None


@pytest.fixture
def endpoint(server: ServerThread) -> str:
    return server.url + PORT_PATH


# -- a whole seeded instance, as the control plane creates it ---------------------------------------------------


@dataclass
class Instance:
    folder: Path
    credentials: dict[str, Any]
    app: AxSandbox
    url: str

    @property
    def endpoint(self) -> str:
        return self.url + PORT_PATH

    @property
    def store(self) -> AxStore:
        return self.app.store

    @property
    def odbc(self) -> str:
        return SYSTEM.connection_fields(self.url, self.folder, self.credentials)["settings"]["odbc"]

    def client(self, *, company: str = "GBSI", timeout: float = 10, password: str | None = None) -> AifClient:
        return AifClient(self.endpoint, company=company, username=self.credentials["username"],
                         password=password or self.credentials["password"], auth="basic", timeout=timeout)


@pytest.fixture(scope="session")
def _seeded_template(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """One seeded instance folder per session; each test gets a copy (seeding is deterministic)."""
    folder = tmp_path_factory.mktemp("ax-template")
    credentials = {"username": "CONTOSO\\svc-test", "password": "Sandbox-Test-Pass-1"}
    SYSTEM.seed(folder, credentials, size=60, rng_seed=11, today=TODAY)
    return folder, credentials


@pytest.fixture
def instance(_seeded_template, tmp_path, _shared_server) -> Iterator[Instance]:
    template, credentials = _seeded_template
    folder = tmp_path / "dynamics_ax"
    folder.mkdir()
    for item in template.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    app = SYSTEM.make_app(folder, credentials)
    app.options.today = lambda: TODAY
    server, dispatch = _shared_server
    dispatch.app = app
    yield Instance(folder, credentials, app, server.url)
    dispatch.app = None
    SYSTEM.close_app(app)


@pytest.fixture
def aif(instance: Instance) -> AifClient:
    return instance.client()
