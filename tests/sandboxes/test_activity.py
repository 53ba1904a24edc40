"""The demo's business activity: invoices raised and settled through Kashflow's REST API, nothing rewritten."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from integrations.kashflow.client import KashflowClient
from integrations.sandboxes import Ports, SandboxServers
from integrations.sandboxes.activity import SandboxActivity


@pytest.fixture(scope="module")
def kashflow(tmp_path_factory):
    with SandboxServers(tmp_path_factory.mktemp("activity"), Ports.ephemeral()) as servers:
        instance = servers.hub.create(erp="sage100", size=30, instance_id="activity", rng_seed=3)
        yield servers.connection_fields(instance.id)["kashflow"]


def _client(fields) -> KashflowClient:
    return KashflowClient(fields["base_url"], fields["username"], fields["password"], fields["memorable_word"])


def _paid(invoice) -> Decimal:
    return sum((Decimal(str(p["Amount"])) for p in invoice.get("PaymentLines") or []), Decimal(0))


def test_tick_raises_and_settles_invoices_through_the_api(kashflow):
    client = _client(kashflow)
    before = {item["Number"] for item in client.list_invoices(perpage=100)}
    activity = SandboxActivity(kashflow, seed=2, today=date(2026, 11, 20))
    results = [activity.tick() for _ in range(4)]
    assert not [e for r in results for e in r.errors]
    raised = [n for r in results for n in r.invoices]
    assert raised and not set(raised) & before
    for number in raised:
        invoice = client.get_invoice(number)
        assert invoice["IssuedDate"].startswith("2026-11-20") and invoice["LineItems"]
        paid = _paid(invoice)
        if any(number in r.paid for r in results):
            assert paid == Decimal(str(invoice["GrossAmount"])) and invoice["Status"] == "Paid"
    settled = [n for r in results for n in r.settled]
    assert settled
    for number in settled:
        invoice = client.get_invoice(number)
        assert _paid(invoice) == Decimal(str(invoice["GrossAmount"])) and invoice["Status"] == "Paid"


def test_tick_reports_errors_instead_of_raising(kashflow):
    activity = SandboxActivity({**kashflow, "password": "wrong"}, seed=1)
    result = activity.tick()
    assert result.errors and not result.invoices


def test_a_slip_keys_a_recent_invoice_twice_for_the_copilot_to_catch(kashflow, monkeypatch):
    from integrations.sandboxes import activity as module

    monkeypatch.setattr(module, "SLIP_CHANCE", 1.0)
    client = _client(kashflow)
    result = SandboxActivity(kashflow, seed=5, today=date(2026, 11, 21)).tick(max_invoices=1)
    assert len(result.slips) == 1 and not result.errors
    twice = client.get_invoice(result.slips[0])
    same = [client.get_invoice(n) for n in {item["Number"] for item in client.list_invoices(perpage=100)}
            if n != twice["Number"]]
    assert any(inv["CustomerCode"] == twice["CustomerCode"] and inv["GrossAmount"] == twice["GrossAmount"]
               and inv.get("CustomerReference") != twice.get("CustomerReference") for inv in same)
