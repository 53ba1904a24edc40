"""Sandbox systems served in-process on loopback, and a tenant wired to them."""

from __future__ import annotations

import pytest

from integrations.core.wsgi import ServerThread
from integrations.sandboxes_legacy import AX_COMPANY, AX_PORT_NAME, ax_customers_from_kashflow

KF_USER, KF_PASSWORD, KF_WORD = "studio@sandbox.kashflow.test", "kf-sandbox-pass-1", "pineapple"
AX_USER, AX_PASSWORD = "CONTOSO\\svc-ledgerbridge", "ax-sandbox-pass-1"


@pytest.fixture
def kashflow_sandbox():
    from integrations.kashflow.sandbox.app import create_app
    from integrations.kashflow.sandbox.seed import seed
    from integrations.kashflow.sandbox.store import Store

    store = Store(":memory:")
    seed(store, customers=6, invoices=30, username=KF_USER, password=KF_PASSWORD, memorable_word=KF_WORD)
    app = create_app(store)
    with ServerThread(app) as server:
        server.store, server.app = store, app
        yield server


@pytest.fixture
def ax_sandbox(kashflow_sandbox):
    from integrations.dynamics_ax.sandbox.app import create_app
    from integrations.dynamics_ax.sandbox.seed import seed
    from integrations.dynamics_ax.sandbox.store import AxStore

    store = AxStore(":memory:")
    seed(store, customers=ax_customers_from_kashflow(kashflow_sandbox.store))
    app = create_app(store, port_name=AX_PORT_NAME, users={AX_USER: AX_PASSWORD})
    with ServerThread(app) as server:
        server.store, server.app = store, app
        yield server


@pytest.fixture
def invoice_flow(tenant, kashflow_sandbox, ax_sandbox):
    from integrations.sync.models import Connection, Flow

    kf = Connection.objects.create(
        name="Kashflow (sandbox)", system="kashflow", base_url=f"{kashflow_sandbox.url}/v2", username=KF_USER,
        password=KF_PASSWORD, memorable_word=KF_WORD, is_sandbox=True)
    ax = Connection.objects.create(
        name="Dynamics AX (sandbox)", system="dynamics_ax", is_sandbox=True,
        base_url=f"{ax_sandbox.url}/MicrosoftDynamicsAXAif60/{AX_PORT_NAME}/xppservice.svc",
        username=AX_USER, password=AX_PASSWORD, settings={"company": AX_COMPANY, "auth": "basic"})
    return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices to AX", source=kf, target=ax,
                               options={"paid_only": True})
