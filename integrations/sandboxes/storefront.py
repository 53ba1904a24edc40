"""A storefront simulator: realistic web-shop orders, signed and posted to a tenant's webhook endpoint.

It plays the part of a shop (Shopify/WooCommerce-like) in front of a sandbox pair: it sells the products and
bills the customers the pair's Kashflow account already has (read through Kashflow's own REST API, so it works
against the sandbox servers in another process), signs each event with the endpoint's secret exactly as a real
shop would (``X-Ledgerbridge-Signature``, see ``integrations/sync/webhooks.py``) and POSTs it to the portal's
webhook URL. The event shapes are documented in ``docs/order-to-cash.md``.

    shop = Storefront(webhook_url, secret, kashflow=client)     # client: a KashflowClient on the sandbox
    order = shop.place_order()                                   # order.created (payment pending)
    shop.confirm_payment(order)                                  # payment.confirmed, later

:func:`simulate` does a round (some orders, then their payment confirmations) and is what the demo calls
periodically; :func:`simulate_for_tenant` finds the tenant's sandbox Kashflow connection and its webhook endpoint
(creating the endpoint when missing) and runs a round against it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

log = logging.getLogger("ledgerbridge.sandboxes.storefront")

CENT = Decimal("0.01")
GATEWAYS = ("stripe", "paypal", "stripe", "gocardless")
SHIPPING = (("Standard delivery (2-3 days)", Decimal("4.95")), ("Next-day courier", Decimal("9.95")),
            ("Free delivery", Decimal("0.00")))
# (path, body, headers) -> (HTTP status, parsed answer)
Transport = Callable[[str, bytes, dict[str, str]], tuple[int, dict[str, Any]]]


class StorefrontError(Exception):
    """The portal refused an event (the message carries its status and reason)."""


@dataclass
class Catalogue:
    products: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    currency: str = "GBP"


@dataclass
class SentEvent:
    event: str
    delivery_id: str
    status: int
    answer: dict[str, Any]
    body: dict[str, Any] = field(repr=False, default_factory=dict)


def http_transport(timeout: float = 15) -> Transport:
    import requests

    def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = requests.post(url, data=body, headers=headers, timeout=timeout)
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": response.text[:200]}
        return response.status_code, answer

    return post


def catalogue_from_kashflow(client, *, currency: str | None = None) -> Catalogue:
    """What the shop sells and who buys: Kashflow products with a price, and the customers billed in the shop's
    currency (a web shop prices in one; by default the one most of Kashflow's customers are billed in)."""
    products = [p for p in client.products.list() if Decimal(str(p.get("Price") or 0)) > 0]
    everyone = [c for c in client.list_customers() if not c.get("IsArchived")]
    if currency is None:
        counts = Counter((c.get("Currency") or {}).get("Code") or "GBP" for c in everyone)
        currency = counts.most_common(1)[0][0] if counts else "GBP"
    customers = []
    for item in everyone:
        if ((item.get("Currency") or {}).get("Code") or "GBP") != currency:
            continue
        email = next((c.get("Email") for c in item.get("Contacts") or [] if c.get("Email")), "")
        # A shop account always has an e-mail; customers Kashflow knows without one get a shop login address.
        slug = "".join(ch for ch in str(item.get("Code") or "").lower() if ch.isalnum())
        customers.append({**item, "_email": email or f"{slug or 'customer'}@shop-accounts.example"})
    if not products or not customers:
        raise StorefrontError("The Kashflow account has no priced products or no customers to build orders from.")
    return Catalogue(products, customers, currency)


class Storefront:
    def __init__(self, webhook_url: str, secret: str, *, kashflow=None, catalogue: Catalogue | None = None,
                 transport: Transport | None = None, rng: random.Random | None = None, prefix: str = "SF",
                 currency: str | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.url = webhook_url
        self._secret = secret
        self._kashflow = kashflow
        self._catalogue = catalogue
        self.transport = transport or http_transport()
        self.rng = rng or random.Random()  # noqa: S311 - simulated orders, not secrets
        self.prefix = prefix
        self.currency = currency
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sent: list[SentEvent] = []

    def __repr__(self) -> str:  # the secret never shows
        return f"Storefront({self.url!r})"

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            if self._kashflow is None:
                raise StorefrontError("The storefront needs a catalogue or a Kashflow client to read one from.")
            self._catalogue = catalogue_from_kashflow(self._kashflow, currency=self.currency)
        return self._catalogue

    # ------------------------------------------------------------------ orders

    def make_order(self, *, order_id: str | None = None, customer: dict[str, Any] | None = None,
                   lines: int | None = None, paid_at_checkout: bool = False, new_customer: bool = False,
                   products: list[dict[str, Any]] | None = None) -> dict:
        """A realistic order (``order`` object of an ``order.created`` event); totals computed as documented.
        ``products``: Kashflow products to sell (else ``lines`` products picked from the catalogue)."""
        rng, catalogue = self.rng, self.catalogue
        order_id = order_id or f"{self.prefix}-{rng.getrandbits(40):010X}"
        chosen = list(products) if products else rng.sample(
            catalogue.products, k=min(len(catalogue.products), lines or rng.choice((1, 1, 2, 3))))
        order_lines, net, vat = [], Decimal(0), Decimal(0)
        for product in chosen:
            quantity = rng.choice((1, 1, 2, 3)) if Decimal(str(product["Price"])) >= 5 else rng.choice((10, 25))
            price = Decimal(str(product["Price"])).quantize(CENT)
            exempt = bool(product.get("VATExempt"))
            rate = None if exempt else Decimal(str(product.get("VATRate") or 0))
            line_net = (price * quantity).quantize(CENT, ROUND_HALF_UP)
            line_vat = Decimal(0) if rate is None else (line_net * rate / 100).quantize(CENT, ROUND_HALF_UP)
            net, vat = net + line_net, vat + line_vat
            order_lines.append({"sku": product["Code"], "description": product.get("Name") or product["Code"],
                                "quantity": quantity, "unit_price": str(price),
                                "vat_rate": "exempt" if rate is None else int(rate) if rate == rate.to_integral()
                                else str(rate)})
        ship_name, ship_amount = rng.choice(SHIPPING)
        ship_vat = (ship_amount * 20 / 100).quantize(CENT, ROUND_HALF_UP)
        net, vat = net + ship_amount, vat + ship_vat
        if new_customer:
            who = self._new_customer()
        else:
            who = self._known_customer(customer or rng.choice(catalogue.customers))
        gateway = rng.choice(GATEWAYS)
        placed = self.clock().replace(microsecond=0)
        return {
            "id": order_id, "placed_at": placed.isoformat().replace("+00:00", "Z"), "currency": catalogue.currency,
            "customer": who, "lines": order_lines,
            "shipping": {"description": ship_name, "amount": str(ship_amount), "vat_rate": 20},
            "totals": {"net": str(net), "vat": str(vat), "gross": str(net + vat)},
            "payment": {"gateway": gateway, "status": "paid" if paid_at_checkout else "authorized",
                        "transaction_id": self._transaction_id(gateway)},
        }

    def _known_customer(self, customer: dict[str, Any]) -> dict[str, Any]:
        address = (customer.get("Addresses") or [{}])[0] or {}
        lines = [address.get(f"Line{i}") for i in range(1, 5) if address.get(f"Line{i}")]
        billing = {"line1": lines[0] if lines else "1 High Street", "line2": lines[1] if len(lines) > 2 else "",
                   "city": lines[-1] if len(lines) > 1 else "London", "postcode": address.get("PostCode") or "",
                   "country": address.get("CountryCode") or "GB"}
        return {"email": customer["_email"], "name": customer["Name"], "code": customer["Code"],
                "billing_address": billing}

    def _new_customer(self) -> dict[str, Any]:
        first = self.rng.choice(("Maya", "Leo", "Isla", "Noah", "Ava", "Finn", "Zara", "Ollie"))
        last = self.rng.choice(("Whitfield", "Ashworth", "Penrose", "Kaur", "Doyle", "Marsh"))
        town, postcode = self.rng.choice((("Bristol", "BS8 1TH"), ("Leeds", "LS6 2AB"), ("Bath", "BA2 4QD")))
        address = {"line1": f"{self.rng.randint(2, 180)} Park Road", "city": town, "postcode": postcode,
                   "country": "GB"}
        delivery = {"line1": f"Flat {self.rng.randint(1, 9)}, {self.rng.randint(2, 90)} Mill Street", "city": town,
                    "postcode": postcode, "country": "GB"}
        return {"email": f"{first}.{last}.{self.rng.randint(10, 99)}@example.net".lower(), "name": f"{first} {last}",
                "phone": f"07{self.rng.randint(100000000, 999999999)}", "billing_address": address,
                "shipping_address": delivery}

    def _transaction_id(self, gateway: str) -> str:
        prefixes = {"stripe": "pi_", "paypal": "PAYID-", "gocardless": "PM"}
        return prefixes.get(gateway, "TX") + f"{self.rng.getrandbits(64):016x}".upper()

    # ------------------------------------------------------------------ sending

    def send(self, event: str, body: dict[str, Any], delivery_id: str) -> SentEvent:
        """Sign and POST one event; a storefront re-sends a delivery with the same id until it gets a 2xx."""
        from integrations.sync.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._secret, raw),
                   DELIVERY_HEADER: delivery_id, EVENT_HEADER: event}
        status, answer = self.transport(self.url, raw, headers)
        sent = SentEvent(event, delivery_id, status, answer, body)
        self.sent.append(sent)
        if status >= 300:
            raise StorefrontError(f"{event} {delivery_id} refused with HTTP {status}: "
                                  f"{answer.get('error') or answer}")
        return sent

    def place_order(self, order: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
        order = order or self.make_order(**options)
        self.send("order.created", {"type": "order.created", "order": order}, _delivery("order", order["id"]))
        return order

    def confirm_payment(self, order: dict[str, Any], *, amount: str | None = None) -> dict[str, Any]:
        """The gateway's confirmation of the order's payment (the full gross unless ``amount``)."""
        payment = {"order_id": order["id"], "gateway": order["payment"]["gateway"],
                   "transaction_id": order["payment"]["transaction_id"],
                   "amount": amount or order["totals"]["gross"], "currency": order["currency"],
                   "confirmed_at": self.clock().replace(microsecond=0).isoformat().replace("+00:00", "Z")}
        self.send("payment.confirmed", {"type": "payment.confirmed", "payment": payment},
                  _delivery("payment", order["id"], payment["transaction_id"]))
        return payment


def _delivery(*parts: str) -> str:
    return "evt_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def simulate(shop: Storefront, *, orders: int = 3, confirm: bool = True, new_customers: int = 1) -> dict[str, Any]:
    """One round of shop traffic: ``orders`` orders (the first ``new_customers`` from people Kashflow does not
    know yet), then the gateway confirms their payments. Returns what was sent."""
    placed = [shop.place_order(new_customer=n < new_customers) for n in range(orders)]
    payments = [shop.confirm_payment(order) for order in placed] if confirm else []
    return {"orders": [o["id"] for o in placed], "payments": [p["transaction_id"] for p in payments]}


def simulate_for_tenant(portal_url: str, *, orders: int = 3, confirm: bool = True, seed: int | None = None,
                        transport: Transport | None = None) -> dict[str, Any]:
    """For the demo: run a round against the current tenant (call inside its schema, e.g. ``schema_context``).

    Uses the tenant's sandbox Kashflow connection (its catalogue and customers) and that connection's webhook
    endpoint, created when missing; ``portal_url`` is the tenant's portal address (``http://acme.localhost:8000``).
    """
    from integrations.sync.connectors import kashflow_client_for
    from integrations.sync.models import Connection, System, WebhookEndpoint

    connection = Connection.objects.filter(system=System.KASHFLOW, is_sandbox=True).order_by("pk").first()
    if connection is None:
        raise StorefrontError("This tenant has no sandbox Kashflow connection; start a sandbox integration first.")
    endpoint = (WebhookEndpoint.objects.filter(connection=connection, enabled=True).order_by("pk").first()
                or WebhookEndpoint.objects.create(connection=connection))
    shop = Storefront(f"{portal_url.rstrip('/')}/webhooks/{endpoint.token}/", str(endpoint.secret),
                      kashflow=kashflow_client_for(connection), transport=transport,
                      rng=random.Random(seed) if seed is not None else None)  # noqa: S311
    return simulate(shop, orders=orders, confirm=confirm)
