"""Fixtures for the Dynamics AX sandbox/client tests (pure: in-memory SQLite, loopback HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.core.wsgi import ServerThread
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

    app: AxSandbox | None = None

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
