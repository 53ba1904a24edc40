"""The storefront simulator: orders that pass the strict validation, signed as documented, stable delivery ids."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from integrations.sandboxes.storefront import Catalogue, Storefront, StorefrontError, simulate
from integrations.sync.flows.storefront_orders import validate_event
from integrations.sync.webhooks import verify

PRODUCTS = [
    {"Code": "RET-FRAME-A3", "Name": "Oak frame A3", "Price": "32.00", "VATRate": "20", "VATExempt": False},
    {"Code": "CAR-POST", "Name": "Royal Mail postage", "Price": "4.85", "VATRate": "0", "VATExempt": True},
    {"Code": "PRT-LABEL", "Name": "Safety labels", "Price": "1.40", "VATRate": "5", "VATExempt": False},
]
CUSTOMERS = [{"Code": "BRIG01", "Name": "Brighton Bakehouse Co", "_email": "accounts@brighton.co.uk",
              "Addresses": [{"Line1": "12 Gloucester Road", "Line2": "North Laine", "Line3": "Brighton",
                             "PostCode": "BN1 4AD", "CountryCode": "GB"}]}]


def shop(answers=None, seed=3):
    sent = []

    def transport(url, body, headers):
        sent.append((url, body, headers))
        return (answers or {}).get(len(sent), (202, {"status": "stored"}))

    store = Storefront("http://acme.localhost:8000/webhooks/tok/", "whsec_test", transport=transport,
                       catalogue=Catalogue(PRODUCTS, CUSTOMERS, "GBP"), rng=random.Random(seed),
                       clock=lambda: datetime(2026, 11, 23, 10, 15, tzinfo=UTC))
    return store, sent


def test_orders_and_payments_are_valid_signed_and_redeliverable():
    store, sent = shop()
    result = simulate(store, orders=4, new_customers=2)
    assert len(result["orders"]) == 4 and len(result["payments"]) == 4 and len(sent) == 8
    for _url, body, headers in sent:
        data = json.loads(body)
        assert validate_event(headers["X-Ledgerbridge-Event"], data) is None, data
        assert verify("whsec_test", headers["X-Ledgerbridge-Signature"], body) is None
        assert headers["X-Ledgerbridge-Delivery"].startswith("evt_")
    orders = [json.loads(body)["order"] for _u, body, h in sent if h["X-Ledgerbridge-Event"] == "order.created"]
    assert [bool(o["customer"].get("code")) for o in orders] == [False, False, True, True]
    assert orders[2]["customer"]["code"] == "BRIG01" and orders[2]["customer"]["billing_address"]["city"] == "Brighton"
    assert all(o["placed_at"] == "2026-11-23T10:15:00Z" and o["currency"] == "GBP" for o in orders)
    # Sending the same order again uses the same delivery id (the portal answers 200 and stores it once).
    store.place_order(orders[0])
    assert sent[-1][2]["X-Ledgerbridge-Delivery"] == sent[0][2]["X-Ledgerbridge-Delivery"]


def test_a_refusal_is_raised_with_the_portals_reason_and_the_secret_never_shows():
    store, _sent = shop(answers={1: (400, {"error": "order.totals.vat is 1 but ..."})})
    with pytest.raises(StorefrontError, match="HTTP 400: order.totals.vat"):
        store.place_order()
    assert "whsec_test" not in repr(store)
