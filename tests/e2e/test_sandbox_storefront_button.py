"""The Sandbox page's web shop: signed orders delivered through the webhook path, then turned into invoices."""

from __future__ import annotations

from django.test import Client

from integrations.sync.models import InboundWebhook, SyncRun
from integrations.sync.sandbox_setup import connect_sandbox
from tests.conftest import TEST_PASSWORD
from tests.e2e.helpers import run_inline


def signed_in(role, make_user) -> Client:
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.login(username=make_user(role).email, password=TEST_PASSWORD)
    return client


def test_send_orders_from_the_sandbox_page(tenant, make_user, sage_pair, sage_kashflow_sandbox, monkeypatch):
    monkeypatch.setattr("integrations.sync.webhooks._enqueue", lambda delivery: None)  # no worker in tests
    flows = {f.key: f for f in connect_sandbox(instance_id=sage_pair.id, fields=sage_pair.fields).flows}
    before = {i["Number"] for i in sage_kashflow_sandbox.store.list_invoices(page=1, perpage=500).items}

    response = signed_in("operator", make_user).post("/sandbox/storefront/", {"orders": "2", "confirm": "on"},
                                                     follow=True)
    assert "sent 2 order(s) and 2 payment confirmation(s)" in response.content.decode()
    events = sorted(InboundWebhook.objects.values_list("event", flat=True))
    assert events == ["order.created", "order.created", "payment.confirmed", "payment.confirmed"]

    run = run_inline(flows["storefront_orders_to_kashflow"])
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    new = [i for i in sage_kashflow_sandbox.store.list_invoices(page=1, perpage=500).items
           if i["Number"] not in before]
    assert len(new) == 2 and all(i["Status"] == "Paid" for i in new)


def test_viewers_cannot_send_orders(tenant, make_user):
    response = signed_in("viewer", make_user).post("/sandbox/storefront/", {"orders": "2"})
    assert response.status_code in (302, 403)
    assert not InboundWebhook.objects.exists()
