"""Sandbox systems served in-process on loopback, the way the product serves them, and a tenant wired to them.

One set of sandbox servers per test session; every test gets fresh instances (so faults and data never leak
between tests), created through the same hub the portal's "Start a sandbox integration" uses.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from integrations.sandboxes import Ports, SandboxServers

_ids = itertools.count(1)


@pytest.fixture(scope="session")
def sandbox_servers(tmp_path_factory):
    with SandboxServers(tmp_path_factory.mktemp("sandboxes"), Ports.ephemeral()) as servers:
        yield servers


def _instance(servers: SandboxServers, erp: str, size: int = 30) -> SimpleNamespace:
    instance = servers.hub.create(erp=erp, size=size, instance_id=f"e2e-{next(_ids)}", rng_seed=7)
    return SimpleNamespace(id=instance.id, fields=servers.connection_fields(instance.id), hub=servers.hub)


def _system(instance: SimpleNamespace, name: str) -> SimpleNamespace:
    app = instance.hub.app(name, instance.id)
    return SimpleNamespace(app=app, store=app.store, fields=instance.fields[name])


@pytest.fixture
def ax_pair(sandbox_servers):
    return _instance(sandbox_servers, "dynamics_ax")


@pytest.fixture
def kashflow_sandbox(ax_pair):
    return _system(ax_pair, "kashflow")


@pytest.fixture
def ax_sandbox(ax_pair):
    return _system(ax_pair, "dynamics_ax")


@pytest.fixture
def invoice_flow(tenant, ax_pair, kashflow_sandbox, ax_sandbox):
    """The tenant wired to the instance exactly as "Start a sandbox integration" wires it."""
    from integrations.sync.sandbox_setup import connect_sandbox

    flows = connect_sandbox(instance_id=ax_pair.id, fields=ax_pair.fields).flows
    return next(f for f in flows if f.key == "kashflow_invoices_to_ax")


@pytest.fixture
def sage_pair(sandbox_servers):
    return _instance(sandbox_servers, "sage100")


@pytest.fixture
def sage_kashflow_sandbox(sage_pair):
    """The Kashflow account of the Sage pair (seeded with Sage's customers, codes like ``01-ABF``)."""
    return _system(sage_pair, "kashflow")


@pytest.fixture
def sage_sandbox(sage_pair):
    """The Sage 100 sandbox: the agent app (with its fault switch) and the company file it writes."""
    from integrations.sage100.sandbox.schema import DB_FILE

    app = sage_pair.hub.app("sage100", sage_pair.id)
    return SimpleNamespace(app=app, fields=sage_pair.fields["sage100"],
                           company_db=sage_pair.hub.folder(sage_pair.id) / "sage100" / DB_FILE)


@pytest.fixture
def sage_invoice_flow(tenant, sage_pair, sage_kashflow_sandbox, sage_sandbox):
    """The tenant wired to the Sage pair exactly as "Start a sandbox integration" wires it."""
    from integrations.sync.sandbox_setup import connect_sandbox

    flows = connect_sandbox(instance_id=sage_pair.id, fields=sage_pair.fields).flows
    return next(f for f in flows if f.key == "kashflow_invoices_to_sage")
