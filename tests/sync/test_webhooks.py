"""Signed inbound webhooks: every rejection has its status and reason; accepted ones are stored first."""

from __future__ import annotations

import json
import time

import pytest

from integrations.sync import webhooks
from integrations.sync.models import Connection, Flow, InboundWebhook, SyncRun, WebhookEndpoint


@pytest.fixture
def endpoint(tenant):
    shop = Connection.objects.create(name="Shop", system="kashflow", base_url="http://127.0.0.1:1/v2")
    erp = Connection.objects.create(name="ERP", system="dynamics_ax", base_url="http://127.0.0.1:2/x")
    Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=shop, target=erp)
    return WebhookEndpoint.objects.create(connection=shop)


def post(client, endpoint, body: bytes, signature: str | None = None, **headers):
    if signature is None:
        signature = webhooks.sign(str(endpoint.secret), body)
    return client.post(f"/webhooks/{endpoint.token}/", data=body, content_type="application/json",
                       HTTP_X_LEDGERBRIDGE_SIGNATURE=signature, **headers)


def test_a_signed_delivery_is_stored_acknowledged_then_processed(tenant_client, endpoint):
    body = json.dumps({"id": "evt_1", "type": "kashflow.changed"}).encode()
    answer = post(tenant_client, endpoint, body)
    assert answer.status_code == 202
    delivery = InboundWebhook.objects.get(pk=answer.json()["id"])
    assert delivery.status == "received" and delivery.event == "kashflow.changed" and delivery.delivery_id == "evt_1"
    assert webhooks.process_delivery(delivery.pk) == {"status": "processed"}
    delivery.refresh_from_db()
    run = SyncRun.objects.get(pk=delivery.result["runs"][0])
    assert run.trigger == "webhook" and run.status == "queued"
    assert webhooks.process_delivery(delivery.pk) == {"skipped": "already processed or being processed"}


def test_the_same_delivery_id_is_stored_once(tenant_client, endpoint):
    body = json.dumps({"id": "evt_2"}).encode()
    first, second = post(tenant_client, endpoint, body), post(tenant_client, endpoint, body)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"] and InboundWebhook.objects.count() == 1


@pytest.mark.parametrize("make_signature, reason", [
    (lambda secret, body: "", "missing or malformed"),
    (lambda secret, body: webhooks.sign("whsec_wrong", body), "does not match"),
    (lambda secret, body: webhooks.sign(secret, body + b" "), "does not match"),
    (lambda secret, body: webhooks.sign(secret, body, int(time.time()) - 3600), "stale"),
    (lambda secret, body: "t=soon,v1=ab", "not a number"),
])
def test_bad_signatures_are_401_with_a_reason(tenant_client, endpoint, make_signature, reason):
    body = b'{"id": "evt_3"}'
    answer = post(tenant_client, endpoint, body, make_signature(str(endpoint.secret), body))
    assert answer.status_code == 401 and reason in answer.json()["error"]
    assert str(endpoint.secret) not in answer.content.decode()
    assert not InboundWebhook.objects.exists()


def test_malformed_oversize_and_unknown(tenant_client, endpoint):
    assert post(tenant_client, endpoint, b"{not json").status_code == 400
    assert post(tenant_client, endpoint, b"[1, 2]").status_code == 400
    big = json.dumps({"pad": "x" * (webhooks.MAX_BODY + 10)}).encode()
    assert post(tenant_client, endpoint, big).status_code == 413
    other = tenant_client.post("/webhooks/nope/", data=b"{}", content_type="application/json")
    assert other.status_code == 404
    endpoint.enabled = False
    endpoint.save()
    assert post(tenant_client, endpoint, b"{}").status_code == 404
    assert tenant_client.get(f"/webhooks/{endpoint.token}/").status_code == 405
    assert not InboundWebhook.objects.exists()


def test_a_failing_handler_keeps_the_delivery_with_its_error(tenant_client, endpoint, monkeypatch):
    def broken(delivery):
        raise ValueError("order has no lines")

    monkeypatch.setitem(webhooks.HANDLERS, "partner.event", broken)
    answer = post(tenant_client, endpoint, json.dumps({"id": "o1", "type": "partner.event"}).encode())
    webhooks.process_delivery(answer.json()["id"])
    delivery = InboundWebhook.objects.get()
    assert delivery.status == "failed" and "order has no lines" in delivery.error and delivery.body["id"] == "o1"


def test_the_sweeper_processes_deliveries_nobody_picked_up(tenant_client, endpoint):
    post(tenant_client, endpoint, b'{"id": "evt_9"}')
    assert webhooks.sweep_received(older_than=3600) == 0
    assert webhooks.sweep_received(older_than=-1) == 1
    assert InboundWebhook.objects.get().status == "processed"
