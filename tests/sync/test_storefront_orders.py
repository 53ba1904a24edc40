"""Storefront order and payment events: strict validation (400 naming the field), stored once, the records they feed."""

from __future__ import annotations

import copy
import json

import pytest

from integrations.sync import webhooks
from integrations.sync.flows.storefront_orders import (
    order_records,
    parse_order,
    source_ids_of,
    validate_event,
)
from integrations.sync.models import Connection, InboundWebhook, WebhookEndpoint

ORDER = {
    "id": "SF-10042", "placed_at": "2026-11-23T10:15:00Z", "currency": "GBP",
    "customer": {"email": "Maya.Penrose@example.net", "name": "Maya Penrose",
                 "billing_address": {"line1": "12 Park Road", "city": "Bristol", "postcode": "BS8 1TH",
                                     "country": "GB"}},
    "lines": [{"sku": "RET-FRAME-A3", "description": "Oak frame A3", "quantity": 2, "unit_price": "32.00",
               "vat_rate": 20},
              {"sku": "CAR-POST", "description": "Royal Mail postage", "quantity": 1, "unit_price": 4.85,
               "vat_rate": "exempt"}],
    "shipping": {"description": "Standard delivery", "amount": "4.95", "vat_rate": 20},
    "totals": {"net": "73.80", "vat": "13.79", "gross": "87.59"},
    "payment": {"gateway": "stripe", "status": "authorized", "transaction_id": "pi_1"},
}


def changed(path: str, value):
    order = copy.deepcopy(ORDER)
    *parents, last = path.split(".")
    target = order
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return order


def test_the_documented_example_is_valid_and_normalised():
    assert validate_event("order.created", {"order": ORDER}) is None
    order = parse_order(ORDER)
    assert order["customer"]["email"] == "maya.penrose@example.net"
    assert order["customer"]["shipping_address"] == order["customer"]["billing_address"]
    assert [line["vat"] for line in order["lines"]] == ["12.80", "0.00"] and order["shipping"]["vat"] == "0.99"
    records = order_records(order)
    invoice = records["invoice"]
    assert invoice["customer_reference"] == "SF-10042" and invoice["issue_date"] == "2026-11-23"
    assert [line["account_code"] for line in invoice["lines"]] == ["", "", "shipping"]
    assert invoice["lines"][1]["tax_rate"] is None  # exempt
    assert (invoice["net_amount"], invoice["tax_amount"], invoice["gross_amount"]) == ("73.8", "13.79", "87.59")


@pytest.mark.parametrize("path, value, named", [
    ("id", KeyError, "order.id is required"),
    ("id", "SF 1/2", "order.id"),
    ("placed_at", "2026-11-23 10:15", "order.placed_at must carry a time zone"),
    ("currency", "pounds", "order.currency"),
    ("customer.email", "nobody", "order.customer.email"),
    ("customer.billing_address.country", "GBR", "order.customer.billing_address.country"),
    ("lines", [], "order.lines"),
    ("lines.0.quantity", 0, "order.lines[0].quantity"),
    ("lines.0.unit_price", "32.001", "order.lines[0].unit_price"),
    ("lines.1.vat_rate", "standard", "order.lines[1].vat_rate"),
    ("totals.vat", "13.80", "order.totals.vat is 13.80 but the lines and shipping make 13.79"),
    ("totals.gross", "87.60", "order.totals.gross"),
    ("payment.status", "captured", "order.payment.status"),
    ("payment.transaction_id", KeyError, None),  # fine while the payment is only authorized
    ("customer.code", "A/B", "order.customer.code"),
])
def test_each_invalid_field_is_named(path, value, named):
    problem = validate_event("order.created", {"order": changed(path, value)})
    if named is None:
        assert problem is None
    else:
        assert problem is not None and named in problem


def test_a_paid_order_needs_its_transaction_and_feeds_its_payment_too():
    paid = changed("payment.status", "paid")
    assert source_ids_of("order.created", {"order": paid}) == ["order:SF-10042", "payment:SF-10042:pi_1"]
    del paid["payment"]["transaction_id"]
    assert "order.payment.transaction_id is required" in validate_event("order.created", {"order": paid})
    payment = {"order_id": "SF-10042", "gateway": "stripe", "transaction_id": "pi_1", "amount": "0",
               "currency": "GBP", "confirmed_at": "2026-11-23T10:17:02Z"}
    assert "payment.amount must be greater than zero" in validate_event("payment.confirmed", {"payment": payment})
    payment["amount"] = "87.59"
    assert source_ids_of("payment.confirmed", {"payment": payment}) == ["payment:SF-10042:pi_1"]


@pytest.fixture
def endpoint(tenant):
    kashflow = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:1/v2")
    return WebhookEndpoint.objects.create(connection=kashflow)


def post(client, endpoint, body: dict, delivery: str):
    raw = json.dumps(body).encode()
    return client.post(f"/webhooks/{endpoint.token}/", data=raw, content_type="application/json",
                       HTTP_X_LEDGERBRIDGE_SIGNATURE=webhooks.sign(str(endpoint.secret), raw),
                       HTTP_X_LEDGERBRIDGE_DELIVERY=delivery, HTTP_X_LEDGERBRIDGE_EVENT="order.created")


def test_the_webhook_refuses_a_bad_order_naming_the_field_and_stores_a_good_one_once(tenant_client, endpoint):
    bad = post(tenant_client, endpoint, {"order": changed("lines.0.quantity", -1)}, "evt_bad")
    assert bad.status_code == 400 and "order.lines[0].quantity" in bad.json()["error"]
    assert not InboundWebhook.objects.exists()
    first = post(tenant_client, endpoint, {"order": ORDER}, "evt_1")
    again = post(tenant_client, endpoint, {"order": ORDER}, "evt_1")
    assert (first.status_code, again.status_code) == (202, 200)
    delivery = InboundWebhook.objects.get()
    assert delivery.event == "order.created" and delivery.body["order"]["id"] == "SF-10042"
    assert webhooks.process_delivery(delivery.pk) == {"status": "processed"}
    delivery.refresh_from_db()
    assert delivery.result == {"records": ["order:SF-10042"], "runs": []}  # no storefront flow set up here
