"""Storefront orders -> Kashflow customers, sales invoices and payments (the front of order-to-cash).

A storefront posts signed webhooks (``integrations/sync/webhooks.py``) for two events, documented with an
example in ``docs/order-to-cash.md``:

* ``order.created`` — an order: customer, lines, shipping, totals, payment block;
* ``payment.confirmed`` — the payment gateway confirmed a payment for an order (maybe long after the order).

Receiving: :func:`validate_event` checks a body strictly *before* it is stored (the webhook answers 400 naming
the field), so everything stored is well-formed; then the delivery is stored and acknowledged, and its handler
(:func:`handle_delivery`) only asks for a run of this flow. The stored deliveries are the flow's source: nothing
is lost even when the queue or the worker is down (the schedule or the next delivery runs the flow).

Change detection: the flow reads the endpoint's stored deliveries past a cursor (the highest delivery id whose
records are all settled). Records are per order (``order:<id>``) and per payment (``payment:<order>:<transaction>``);
the latest delivery of a record wins and its digest is the hash of the body, so a re-delivered order (another
delivery id, same content) is seen as unchanged, and one with different content after the invoice was posted is
recorded, not sent again (the posted invoice stands).

Writes, all safe to repeat (Kashflow has no idempotency keys, so every write is preceded by a natural-key look-up):

* the customer: by the order's customer code, else the mapped or already-known e-mail, else a code derived from
  the e-mail (``WEB-`` + 8 hex digits of its hash); created when missing;
* the sales invoice: looked up by its customer reference (= the order id) first, created only when absent. Lines
  carry the SKU as product code, the VAT rate and the nominal code (the Kashflow product's own, a mapped one, or
  ``sales_nominal``); shipping is a line on ``shipping_nominal``;
* a payment: one payment line on that invoice (``POST /invoices/bulk/payments``) whose note names the gateway's
  transaction id; the invoice's payment lines are read first, so the same transaction is never paid twice. A
  payment whose order has no invoice yet stays in the outbox and is retried by the next run.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from integrations.core.canonical import InvoiceLine, Party, Payment, SalesInvoice, StructuredAddress, content_hash
from integrations.core.errors import (
    AUTH,
    CONFIGURATION,
    ConnectorError,
    NotFoundError,
    TargetValidationError,
    TransientError,
)
from integrations.sync.connectors import kashflow_client_for
from integrations.sync.limits import CircuitOpen
from integrations.sync.models import Binding, InboundWebhook, SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

FLOW_KEY = "storefront_orders_to_kashflow"
ORDER_CREATED = "order.created"
PAYMENT_CONFIRMED = "payment.confirmed"
EVENTS = (ORDER_CREATED, PAYMENT_CONFIRMED)
SOURCE_SYSTEM = "storefront"
PAGE_SIZE = 500

CENT = Decimal("0.01")
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,49}$")  # Kashflow CustomerReference holds 50 characters
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CODE_LIMIT = 20  # Kashflow customer codes
CODE_FORBIDDEN = "/\\?#%"
NAME_LIMIT = 100
DESCRIPTION_LIMIT = 255
PAYMENT_STATUSES = ("pending", "authorized", "paid")
DEFAULT_PAYMENT_METHODS = {"stripe": "Credit/Debit Card", "paypal": "PayPal", "gocardless": "Direct Debit",
                           "bank_transfer": "BACS", "card": "Credit/Debit Card"}


def default_rules() -> dict[str, Any]:
    """``sales_nominal``: Kashflow nominal for a line whose SKU is not a Kashflow product (and not in
    ``product_nominals``: SKU -> nominal); ``shipping_nominal`` (+ ``shipping_product``, optional product code)
    for the shipping line; ``payment_methods``: gateway -> Kashflow invoice payment method (name or id);
    ``bank_account``: the Kashflow bank account (its nominal code, e.g. 1200) payments go to;
    ``customer_codes``: e-mail -> Kashflow customer code; ``customer_code_prefix`` for derived codes."""
    return {"sales_nominal": 4000, "shipping_nominal": 4905, "shipping_product": "", "product_nominals": {},
            "payment_methods": dict(DEFAULT_PAYMENT_METHODS), "bank_account": 1200, "customer_codes": {},
            "customer_code_prefix": "WEB-", "routing": []}


# ====================================================================== validation (before storing)


class OrderInvalid(ValueError):
    """A body that does not follow the documented shape; the message names the field."""


def validate_event(event: str, body: dict[str, Any]) -> str | None:
    """None when ``body`` is a valid ``event``, else the reason (the webhook answers 400 with it)."""
    try:
        if event == ORDER_CREATED:
            parse_order(body.get("order"))
        elif event == PAYMENT_CONFIRMED:
            parse_payment(body.get("payment"))
    except OrderInvalid as error:
        return str(error)
    return None


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OrderInvalid(f"{name} must be an object")
    return value


def _text(data: dict[str, Any], key: str, name: str, *, required: bool = True, limit: int = 255) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise OrderInvalid(f"{name}.{key} is required")
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise OrderInvalid(f"{name}.{key} must be a string")
    text = str(value).strip()
    if len(text) > limit:
        raise OrderInvalid(f"{name}.{key} is longer than {limit} characters")
    return text


def _money(data: dict[str, Any], key: str, name: str, *, positive: bool = False) -> Decimal:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OrderInvalid(f"{name}.{key} must be an amount (a number or a decimal string)")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise OrderInvalid(f"{name}.{key} is not a number: {value!r}") from None
    if not amount.is_finite() or amount != amount.quantize(CENT) or amount < 0 or (positive and amount == 0):
        raise OrderInvalid(f"{name}.{key} must be {'greater than zero' if positive else 'zero or more'} "
                           f"with at most 2 decimals, not {value!r}")
    return amount.quantize(CENT)


def _quantity(data: dict[str, Any], name: str) -> Decimal:
    value = data.get("quantity")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OrderInvalid(f"{name}.quantity must be a number")
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise OrderInvalid(f"{name}.quantity is not a number: {value!r}") from None
    if not quantity.is_finite() or quantity <= 0 or quantity != quantity.quantize(Decimal("0.0001")):
        raise OrderInvalid(f"{name}.quantity must be greater than zero with at most 4 decimals, not {value!r}")
    return quantity


def _vat_rate(data: dict[str, Any], name: str) -> Decimal | None:
    """A percentage (20, 5, 0) or "exempt" (None)."""
    value = data.get("vat_rate")
    if isinstance(value, str) and value.strip().lower() == "exempt":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OrderInvalid(f"{name}.vat_rate must be a percentage (e.g. 20) or \"exempt\"")
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise OrderInvalid(f"{name}.vat_rate is not a number: {value!r}") from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise OrderInvalid(f"{name}.vat_rate must be between 0 and 100, not {value!r}")
    return rate


def _timestamp(data: dict[str, Any], key: str, name: str, *, required: bool = True) -> str:
    raw = _text(data, key, name, required=required, limit=40)
    if not raw:
        return ""
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise OrderInvalid(f"{name}.{key} must be an ISO 8601 date-time, not {raw!r}") from None
    if when.tzinfo is None:
        raise OrderInvalid(f"{name}.{key} must carry a time zone (e.g. 2026-11-23T10:15:00Z)")
    return when.astimezone(UTC).isoformat()


def _address(value: Any, name: str) -> dict[str, str]:
    data = _obj(value, name)
    country = _text(data, "country", name, limit=2).upper()
    if not COUNTRY.match(country):
        raise OrderInvalid(f"{name}.country must be an ISO 3166-1 alpha-2 code (GB, IE, FR...), not {country!r}")
    return {"line1": _text(data, "line1", name, limit=100), "line2": _text(data, "line2", name, required=False,
                                                                          limit=100),
            "city": _text(data, "city", name, limit=100), "county": _text(data, "county", name, required=False,
                                                                          limit=100),
            "postcode": _text(data, "postcode", name, required=False, limit=20), "country": country}


def _vat_of(net: Decimal, rate: Decimal | None) -> Decimal:
    return Decimal("0.00") if rate is None else (net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_order(value: Any) -> dict[str, Any]:
    """The order, normalised (Decimals as strings, timestamps in UTC); OrderInvalid naming the first bad field."""
    order = _obj(value, "order")
    order_id = _text(order, "id", "order", limit=50)
    if not ORDER_ID.match(order_id):
        raise OrderInvalid(f"order.id {order_id!r} may hold letters, digits and . _ : - only (at most 50)")
    placed_at = _timestamp(order, "placed_at", "order")
    currency = _text(order, "currency", "order", limit=3).upper()
    if not CURRENCY.match(currency):
        raise OrderInvalid(f"order.currency must be an ISO 4217 code (GBP, EUR...), not {currency!r}")
    customer = _obj(order.get("customer"), "order.customer")
    email = _text(customer, "email", "order.customer", limit=254).lower()
    if not EMAIL.match(email):
        raise OrderInvalid(f"order.customer.email {email!r} is not an e-mail address")
    billing = _address(customer.get("billing_address"), "order.customer.billing_address")
    shipping_address = (_address(customer["shipping_address"], "order.customer.shipping_address")
                        if customer.get("shipping_address") is not None else dict(billing))
    raw_lines = order.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise OrderInvalid("order.lines must be a list with at least one line")
    if len(raw_lines) > 500:
        raise OrderInvalid("order.lines has more than 500 lines")
    lines, net, vat = [], Decimal(0), Decimal(0)
    for n, raw in enumerate(raw_lines):
        where = f"order.lines[{n}]"
        line = _obj(raw, where)
        quantity, unit_price = _quantity(line, where), _money(line, "unit_price", where)
        rate = _vat_rate(line, where)
        line_net = (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
        line_vat = _vat_of(line_net, rate)
        net, vat = net + line_net, vat + line_vat
        lines.append({"sku": _text(line, "sku", where, limit=30), "description": _text(line, "description", where,
                                                                                        limit=DESCRIPTION_LIMIT),
                      "quantity": str(quantity), "unit_price": str(unit_price),
                      "vat_rate": "exempt" if rate is None else str(rate), "net": str(line_net), "vat": str(line_vat)})
    shipping = None
    if order.get("shipping") is not None:
        raw_shipping = _obj(order["shipping"], "order.shipping")
        amount = _money(raw_shipping, "amount", "order.shipping")
        rate = _vat_rate(raw_shipping, "order.shipping")
        shipping_vat = _vat_of(amount, rate)
        net, vat = net + amount, vat + shipping_vat
        shipping = {"description": _text(raw_shipping, "description", "order.shipping", required=False,
                                         limit=DESCRIPTION_LIMIT) or "Shipping",
                    "amount": str(amount), "vat_rate": "exempt" if rate is None else str(rate),
                    "vat": str(shipping_vat)}
    totals = _obj(order.get("totals"), "order.totals")
    for key, expected in (("net", net), ("vat", vat), ("gross", net + vat)):
        given = _money(totals, key, "order.totals")
        if given != expected:
            raise OrderInvalid(f"order.totals.{key} is {given} but the lines and shipping make {expected} "
                               "(VAT is rounded per line, half up, to the penny)")
    payment = _obj(order.get("payment"), "order.payment")
    status = _text(payment, "status", "order.payment", limit=20).lower()
    if status not in PAYMENT_STATUSES:
        raise OrderInvalid(f"order.payment.status must be one of {', '.join(PAYMENT_STATUSES)}, not {status!r}")
    gateway = _text(payment, "gateway", "order.payment", limit=40).lower()
    transaction_id = _text(payment, "transaction_id", "order.payment", required=status == "paid", limit=80)
    code = _text(customer, "code", "order.customer", required=False, limit=CODE_LIMIT)
    if code and any(ch in code for ch in CODE_FORBIDDEN):
        raise OrderInvalid(f"order.customer.code {code!r} may not contain any of {CODE_FORBIDDEN}")
    return {
        "id": order_id, "placed_at": placed_at, "currency": currency,
        "customer": {"email": email, "name": _text(customer, "name", "order.customer", limit=NAME_LIMIT),
                     "code": code, "phone": _text(customer, "phone", "order.customer", required=False, limit=40),
                     "billing_address": billing, "shipping_address": shipping_address},
        "lines": lines, "shipping": shipping,
        "totals": {"net": str(net), "vat": str(vat), "gross": str(net + vat)},
        "payment": {"gateway": gateway, "status": status, "transaction_id": transaction_id},
    }


def parse_payment(value: Any) -> dict[str, Any]:
    payment = _obj(value, "payment")
    order_id = _text(payment, "order_id", "payment", limit=50)
    if not ORDER_ID.match(order_id):
        raise OrderInvalid(f"payment.order_id {order_id!r} is not a valid order id")
    currency = _text(payment, "currency", "payment", limit=3).upper()
    if not CURRENCY.match(currency):
        raise OrderInvalid(f"payment.currency must be an ISO 4217 code, not {currency!r}")
    return {"order_id": order_id, "gateway": _text(payment, "gateway", "payment", limit=40).lower(),
            "transaction_id": _text(payment, "transaction_id", "payment", limit=80),
            "amount": str(_money(payment, "amount", "payment", positive=True)), "currency": currency,
            "confirmed_at": _timestamp(payment, "confirmed_at", "payment")}


def order_source_id(order_id: str) -> str:
    return f"order:{order_id}"


def payment_source_id(order_id: str, transaction_id: str) -> str:
    return f"payment:{order_id}:{transaction_id}"


def source_ids_of(event: str, body: dict[str, Any]) -> list[str]:
    """The flow records a stored delivery feeds (an order paid at checkout also carries its payment)."""
    try:
        if event == ORDER_CREATED:
            order = parse_order(body.get("order"))
            ids = [order_source_id(order["id"])]
            if order["payment"]["status"] == "paid":
                ids.append(payment_source_id(order["id"], order["payment"]["transaction_id"]))
            return ids
        if event == PAYMENT_CONFIRMED:
            payment = parse_payment(body.get("payment"))
            return [payment_source_id(payment["order_id"], payment["transaction_id"])]
    except OrderInvalid:
        return []
    return []


# ====================================================================== webhook handler


def handle_delivery(delivery: InboundWebhook) -> dict[str, Any]:
    """A stored order or payment: ask for a run of the storefront flow(s) of the endpoint's connection.

    The flow reads the stored delivery itself, so a run already waiting picks this one up too."""
    from integrations.sync.models import Flow, SyncRun
    from integrations.sync.services import flow_run_request

    runs = []
    for flow in Flow.objects.filter(key=FLOW_KEY, source=delivery.endpoint.connection, enabled=True):
        if flow.runs.filter(status=SyncRun.Status.QUEUED).exists():
            continue
        runs.append(flow_run_request(flow=flow, trigger=SyncRun.Trigger.WEBHOOK).pk)
    return {"records": source_ids_of(delivery.event, delivery.body or {}), "runs": runs}


def register() -> None:
    """Hook the events into the webhook registry (``webhooks.load_handlers`` calls this before each use; an
    entry already there, e.g. a test's or a deployment's own, is left alone)."""
    from integrations.sync import webhooks

    for event in EVENTS:
        webhooks.HANDLERS.setdefault(event, handle_delivery)
        webhooks.VALIDATORS.setdefault(event, _VALIDATORS[event])


_VALIDATORS = {event: (lambda body, event=event: validate_event(event, body)) for event in EVENTS}


# ====================================================================== canonical records


def _address_record(address: dict[str, str]) -> StructuredAddress:
    street = "\n".join(part for part in (address.get("line1"), address.get("line2")) if part)
    return StructuredAddress(street=street, city=address.get("city", ""), county=address.get("county", ""),
                             zip_code=address.get("postcode", ""), country_code=address.get("country", ""))


def order_records(order: dict[str, Any]) -> dict[str, Any]:
    """The canonical customer (Party) and sales invoice of a normalised order, plus the order's addresses."""
    customer = order["customer"]
    party = Party(source_system=SOURCE_SYSTEM, source_id=customer["email"], kind="customer",
                  code=customer["code"], name=customer["name"], address=_address_record(customer["billing_address"]),
                  email=customer["email"], phone=customer["phone"], currency=order["currency"])
    lines = [InvoiceLine(number=n, description=line["description"], quantity=Decimal(line["quantity"]),
                         unit_price=Decimal(line["unit_price"]), net_amount=Decimal(line["net"]),
                         tax_amount=Decimal(line["vat"]),
                         tax_rate=None if line["vat_rate"] == "exempt" else Decimal(line["vat_rate"]),
                         account_code="", product_code=line["sku"])
             for n, line in enumerate(order["lines"], start=1)]
    if order["shipping"]:
        shipping = order["shipping"]
        lines.append(InvoiceLine(number=len(lines) + 1, description=shipping["description"], quantity=Decimal(1),
                                 unit_price=Decimal(shipping["amount"]), net_amount=Decimal(shipping["amount"]),
                                 tax_amount=Decimal(shipping["vat"]),
                                 tax_rate=None if shipping["vat_rate"] == "exempt" else Decimal(shipping["vat_rate"]),
                                 account_code="shipping"))
    totals = order["totals"]
    paid = Decimal(totals["gross"]) if order["payment"]["status"] == "paid" else Decimal(0)
    invoice = SalesInvoice(
        source_system=SOURCE_SYSTEM, source_id=order["id"], number=order["id"], customer_code=customer["code"],
        customer_name=customer["name"], issue_date=date.fromisoformat(order["placed_at"][:10]), due_date=None,
        currency=order["currency"], exchange_rate=Decimal(1), net_amount=Decimal(totals["net"]),
        tax_amount=Decimal(totals["vat"]), gross_amount=Decimal(totals["gross"]), paid_amount=paid,
        status="paid" if paid else "unpaid", customer_reference=order["id"], lines=tuple(lines))
    return {"kind": "order", "customer": party.to_dict(), "invoice": invoice.to_dict(),
            "shipping_address": _address_record(customer["shipping_address"]).to_dict(),
            "billing_address": customer["billing_address"], "delivery_address": customer["shipping_address"]}


def payment_record(order_id: str, gateway: str, transaction_id: str, amount: str, currency: str,
                   confirmed_at: str, customer_code: str = "") -> dict[str, Any]:
    payment = Payment(source_system=SOURCE_SYSTEM, source_id=payment_source_id(order_id, transaction_id),
                      kind="customer", party_code=customer_code, invoice_number=order_id,
                      payment_date=date.fromisoformat(confirmed_at[:10]), amount=Decimal(amount), currency=currency,
                      method=gateway, reference=transaction_id)
    return {"kind": "payment", "payment": payment.to_dict()}


# ====================================================================== the flow


class StorefrontOrdersToKashflow(RecordFlow):
    """Source: the stored ``order.created`` / ``payment.confirmed`` deliveries of the webhook endpoints on the
    flow's source connection (the Kashflow connection the storefront posts to). Target: that Kashflow account.

    Options: ``page_size`` (stored deliveries read per page, default 500), ``match_customers_by_email``
    (default true: list Kashflow's customers once per run to find one by a contact's e-mail), ``lease_seconds``.
    """

    entity = "storefront_order"
    stream = "storefront"
    batch_size = 1  # Kashflow has no batch API: one order (or payment) per call sequence

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.page_size = max(1, min(5000, int(self.options.get("page_size", PAGE_SIZE))))
        self.match_by_email = bool(self.options.get("match_customers_by_email", True))
        self._top: int | None = None
        self._product_nominals: dict[str, int] | None = None
        self._emails: dict[str, str] | None = None
        self._bank_accounts: dict[int, int] | None = None
        self._methods: dict[str, int] | None = None

    def open(self) -> None:
        self.kashflow = kashflow_client_for(self.flow.target, gate=self.target_gate)
        # Look-ups made while transforming run while a write may be in flight on the sender thread: own client.
        self.lookup = kashflow_client_for(self.flow.target, gate=self.target_gate)

    # ------------------------------------------------------------------ change detection

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        after = int(cursor.get("after") or 0)
        deliveries = (InboundWebhook.objects.filter(endpoint__connection=self.flow.source, event__in=EVENTS)
                      .order_by("pk"))
        while True:
            rows = list(deliveries.filter(pk__gt=after).values("pk", "event", "body", "received_at")[:self.page_size])
            if not rows:
                break
            latest: dict[str, Candidate] = {}
            for row in rows:
                for candidate in self._candidates_of(row):
                    latest[candidate.source_id] = candidate  # the newest delivery of a record wins
            # Orders before payments: a payment's invoice is created by the order sent ahead of it.
            page = sorted(latest.values(), key=lambda c: (not c.source_id.startswith("order:"), c.number))
            self._top = rows[-1]["pk"]
            if page:
                yield page
            after = rows[-1]["pk"]
            if len(rows) < self.page_size:
                break
        scan.complete = True

    def _candidates_of(self, row: dict[str, Any]) -> list[Candidate]:
        body, event, pk = row["body"] or {}, row["event"], row["pk"]
        received = row["received_at"].isoformat()
        summary = {"delivery": pk, "event": event, "body": body, "received_at": received}
        ids = source_ids_of(event, body)
        if not ids:  # stored before validation existed, or edited since: the inbox says why
            return [Candidate(source_id=f"delivery:{pk}", digest=content_hash(body)[:32], number=pk, summary=summary)]
        out = []
        for source_id in ids:
            part = {**summary, "record": source_id}
            out.append(Candidate(source_id=source_id, digest=content_hash([source_id, body])[:32], number=pk,
                                 summary=part))
        return out

    def next_cursor(self, cursor: dict[str, Any], scan: Scan) -> dict[str, Any]:
        """Past every delivery read, unless a record is still unsettled (then just below the first one)."""
        if self._top is None:
            return cursor
        top = self._top
        if scan.unsettled_numbers:
            top = min(top, min(scan.unsettled_numbers) - 1)
        return {**cursor, "after": max(int(cursor.get("after") or 0), top)}

    def load(self, candidate: Candidate) -> Any:
        return candidate.summary  # the stored delivery, read with the page

    def canonical(self, raw: Any) -> dict[str, Any]:
        record, event, body = raw.get("record", ""), raw.get("event"), raw.get("body") or {}
        try:
            if record.startswith("order:"):
                return order_records(parse_order(body.get("order")))
            if record.startswith("payment:") and event == ORDER_CREATED:
                order = parse_order(body.get("order"))
                return payment_record(order["id"], order["payment"]["gateway"], order["payment"]["transaction_id"],
                                      order["totals"]["gross"], order["currency"], order["placed_at"],
                                      order["customer"]["code"])
            if record.startswith("payment:"):
                payment = parse_payment(body.get("payment"))
                return payment_record(payment["order_id"], payment["gateway"], payment["transaction_id"],
                                      payment["amount"], payment["currency"], payment["confirmed_at"])
            parse_order(body.get("order")) if event == ORDER_CREATED else parse_payment(body.get("payment"))
        except OrderInvalid as error:
            raise TargetValidationError(f"Storefront delivery {raw.get('delivery')} is not a valid {event}: {error}",
                                        system="Storefront", code="invalid_value") from None
        raise TargetValidationError(f"Storefront delivery {raw.get('delivery')} carries no order or payment.",
                                    system="Storefront", code="invalid_value")

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        try:
            if payload.get("kind") == "payment":
                return self.transform_payment(Payment.from_dict(payload["payment"]), rules)
            return self.transform_order(payload, rules)
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise TargetValidationError(f"The stored storefront record is not valid ({error}).",
                                        system="Ledgerbridge", code="invalid_payload") from None

    def transform_order(self, payload: dict[str, Any], rules: dict[str, Any]) -> Transformed:
        invoice = SalesInvoice.from_dict(payload["invoice"])
        party = Party.from_dict(payload["customer"])
        warnings: list[str] = []
        code = self.customer_code(party, rules, warnings)
        customer = kashflow_customer(party, code, payload.get("billing_address") or {},
                                     payload.get("delivery_address") or {})
        lines = [self.line(line, rules) for line in invoice.lines]
        document = {
            "CustomerCode": code, "CustomerReference": invoice.customer_reference,
            "IssuedDate": f"{invoice.issue_date.isoformat()} 12:00:00", "Currency": {"Code": invoice.currency},
            "LineItems": lines, "Address": customer["Addresses"][0],
        }
        delivery = customer.get("DeliveryAddresses") or []
        if delivery and _address_key(delivery[0]) != _address_key(customer["Addresses"][0]):
            document["DeliveryAddress"] = delivery[0]
            document["UseCustomDeliveryAddress"] = True
        return Transformed(document={"kind": "order", "order_id": invoice.customer_reference, "customer": customer,
                                     "invoice": document, "gross": str(invoice.gross_amount)}, warnings=warnings)

    def transform_payment(self, payment: Payment, rules: dict[str, Any]) -> Transformed:
        gateway = payment.method
        methods = {str(k).lower(): v for k, v in (rules.get("payment_methods") or {}).items()}
        if gateway not in methods:
            raise TargetValidationError(
                f"No Kashflow payment method is mapped for storefront gateway {gateway!r}; map it in payment_methods.",
                system="Mapping", code="mapping_missing", payload={"gateway": gateway})
        method = self.payment_method(methods[gateway], gateway)
        account = self.bank_account(rules.get("bank_account"))
        day = payment.payment_date.isoformat()
        bulk = {"Date": f"{day} 12:00:00", "AccountId": account, "Method": method,
                "Comment": payment_note(payment.reference, gateway, payment.invoice_number),
                "PaymentItems": [{"ObjectNumber": None, "Amount": float(payment.amount),
                                  "PaidDate": f"{day} 12:00:00"}]}
        return Transformed(document={"kind": "payment", "order_id": payment.invoice_number,
                                     "transaction_id": payment.reference, "currency": payment.currency,
                                     "amount": str(payment.amount), "bulk": bulk})

    def customer_code(self, party: Party, rules: dict[str, Any], warnings: list[str]) -> str:
        """The order's code, else the mapped e-mail, else a Kashflow customer with that e-mail, else derived."""
        code = party.code or str((rules.get("customer_codes") or {}).get(party.email) or "")
        if not code and self.match_by_email:
            code = self.customers_by_email().get(party.email, "")
            if code:
                warnings.append(f"Matched Kashflow customer {code} by the e-mail address {party.email}.")
        if not code:
            prefix = str(rules.get("customer_code_prefix") or "")
            code = prefix + hashlib.sha256(party.email.encode()).hexdigest()[:8].upper()
        if len(code) > CODE_LIMIT or any(ch in code for ch in CODE_FORBIDDEN):
            raise TargetValidationError(
                f"Customer code {code!r} is not a valid Kashflow code (1-{CODE_LIMIT} characters, none of "
                f"{CODE_FORBIDDEN}); shorten customer_code_prefix or map the e-mail in customer_codes.",
                system="Mapping", code="invalid_value", payload={"code": code})
        return code

    def line(self, line: InvoiceLine, rules: dict[str, Any]) -> dict[str, Any]:
        if line.account_code == "shipping":
            nominal = _nominal(rules.get("shipping_nominal"), "shipping_nominal")
            product = str(rules.get("shipping_product") or "")
        else:
            product = line.product_code
            mapped = (rules.get("product_nominals") or {}).get(product)
            nominal = (_nominal(mapped, f"product_nominals[{product}]") if mapped not in (None, "")
                       else self.product_nominals().get(product.upper()))
            if nominal is None:
                nominal = _nominal(rules.get("sales_nominal"), "sales_nominal")
        out: dict[str, Any] = {"Number": line.number, "Description": line.description[:DESCRIPTION_LIMIT],
                               "Quantity": float(line.quantity), "Rate": float(line.unit_price),
                               "VATAmount": float(line.tax_amount), "NominalCode": nominal}
        if line.tax_rate is None:
            out |= {"VATExempt": True, "VATLevel": 0}
        else:
            out |= {"VATExempt": False, "VATLevel": float(line.tax_rate)}
        if product:
            out["ProductCode"] = product
        return out

    # ------------------------------------------------------------------ look-ups (once per run)

    def product_nominals(self) -> dict[str, int]:
        if self._product_nominals is None:
            products = self.target_gate.call(lambda: list(self.lookup.products.list()), metered=False)
            found: dict[str, int] = {}
            for product in products:
                found.setdefault(str(product.get("Code") or "").upper(), int(product.get("NominalCode") or 0))
            self._product_nominals = {k: v for k, v in found.items() if k and v}
        return self._product_nominals

    def customers_by_email(self) -> dict[str, str]:
        if self._emails is None:
            customers = self.target_gate.call(lambda: list(self.lookup.list_customers()), metered=False)
            emails: dict[str, str] = {}
            for customer in customers:
                addresses = [customer.get("Email")] + [c.get("Email") for c in customer.get("Contacts") or []]
                for email in addresses:
                    if email:
                        emails.setdefault(str(email).strip().lower(), str(customer.get("Code")))
            self._emails = emails
        return self._emails

    def bank_account(self, wanted: Any) -> int:
        if self._bank_accounts is None:
            accounts = self.target_gate.call(lambda: list(self.lookup.bank_accounts.list()), metered=False)
            self._bank_accounts = {int(a.get("Code") or 0): int(a["Id"]) for a in accounts if a.get("Id")}
        code = _nominal(wanted, "bank_account")
        if code not in self._bank_accounts:
            raise TargetValidationError(
                f"Kashflow has no bank account with code {code}; set bank_account to one of "
                f"{sorted(self._bank_accounts)}.", system="Mapping", code="mapping_missing",
                payload={"bank_account": code})
        return self._bank_accounts[code]

    def payment_method(self, wanted: Any, gateway: str) -> int:
        if self._methods is None:
            methods = self.target_gate.call(lambda: self.lookup.list_payment_methods("invoice"), metered=False)
            self._methods = {str(m.get("Name") or "").strip().lower(): int(m["Id"]) for m in methods if m.get("Id")}
        if isinstance(wanted, int) or str(wanted).isdigit():
            if int(wanted) in self._methods.values():
                return int(wanted)
        elif str(wanted).strip().lower() in self._methods:
            return self._methods[str(wanted).strip().lower()]
        raise TargetValidationError(
            f"Kashflow has no invoice payment method {wanted!r} (mapped for gateway {gateway!r}); use one of "
            f"{', '.join(sorted(self._methods))}.", system="Mapping", code="mapping_missing",
            payload={"gateway": gateway, "method": str(wanted)})

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        out: list[str | ConnectorError] = []
        for document in documents:
            try:
                out.append(self.post_payment(document) if document.get("kind") == "payment"
                           else self.post_order(document))
            except ConnectorError as error:
                if error.kind in (AUTH, CONFIGURATION) or isinstance(error, CircuitOpen):
                    raise  # nothing of this record was decided: the run stops, the outbox is re-sent later
                out.append(error)  # this record's outcome; retryable ones stay in the outbox
        return out

    def post_order(self, document: dict[str, Any]) -> str:
        """Customer (find or create), then the invoice unless one with this order's reference exists."""
        self.ensure_customer(document["customer"])
        existing = find_invoice(self.kashflow, document["order_id"], document["invoice"]["CustomerCode"])
        if existing is not None:
            return str(existing["Number"])
        created = self.kashflow.create_invoice(document["invoice"])
        return str(created["Number"])

    def ensure_customer(self, customer: dict[str, Any]) -> None:
        try:
            self.kashflow.get_customer(customer["Code"])
            return
        except NotFoundError:
            pass
        try:
            self.kashflow.create_customer(customer)
        except TargetValidationError as error:
            if not _duplicate(error):
                raise
            self.kashflow.get_customer(customer["Code"])  # created meanwhile (a lost answer): it exists now

    def post_payment(self, document: dict[str, Any]) -> str:
        """One payment line on the order's invoice, unless the invoice already has this transaction."""
        invoice = find_invoice(self.kashflow, document["order_id"])
        if invoice is None:
            raise TransientError(f"Storefront order {document['order_id']} has no Kashflow invoice yet; the payment "
                                 f"{document['transaction_id']} is posted once it has.", system="Kashflow",
                                 code="invoice_not_yet")
        invoice = self.kashflow.get_invoice(invoice["Number"])
        paid = find_payment_line(invoice, document["transaction_id"])
        if paid is not None:
            return f"payment-{paid['Id']}"
        currency = (invoice.get("Currency") or {}).get("Code")
        if currency and currency != document["currency"]:
            raise TargetValidationError(
                f"Payment {document['transaction_id']} is in {document['currency']} but Kashflow invoice "
                f"{invoice['Number']} is in {currency}.", system="Mapping", code="invalid_value")
        bulk = dict(document["bulk"])
        bulk["PaymentItems"] = [{**item, "ObjectNumber": invoice["Number"]} for item in bulk["PaymentItems"]]
        self.kashflow.create_bulk_payment("invoices", bulk)
        paid = find_payment_line(self.kashflow.get_invoice(invoice["Number"]), document["transaction_id"])
        if paid is None:
            raise TransientError(f"Kashflow accepted payment {document['transaction_id']} but invoice "
                                 f"{invoice['Number']} does not show it yet.", system="Kashflow", code="not_visible")
        return f"payment-{paid['Id']}"

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        if document.get("kind") == "payment":
            invoice = find_invoice(self.kashflow, document.get("order_id", ""))
            if invoice is None:
                return None
            line = find_payment_line(self.kashflow.get_invoice(invoice["Number"]), document.get("transaction_id", ""))
            return f"payment-{line['Id']}" if line else None
        invoice = find_invoice(self.kashflow, document.get("order_id", ""))
        return str(invoice["Number"]) if invoice else None


# ---------------------------------------------------------------------- conversions and look-ups


def kashflow_customer(party: Party, code: str, billing: dict[str, str], delivery: dict[str, str]) -> dict[str, Any]:
    first, _, last = party.name.partition(" ")
    customer: dict[str, Any] = {
        "Code": code, "Name": party.name[:NAME_LIMIT], "Email": party.email,
        "Contacts": [{"Name": party.name[:NAME_LIMIT], "Firstname": first, "LastName": last, "Email": party.email,
                      "Telephone": party.phone, "IsPrimary": True, "ReceiveEmails": True}],
        "Addresses": [kashflow_address(billing)], "Currency": {"Code": party.currency},
    }
    if party.phone:
        customer["TelephoneNumber"] = party.phone
    if delivery:
        customer["DeliveryAddresses"] = [{"Name": party.name[:NAME_LIMIT], **kashflow_address(delivery)}]
    return customer


def kashflow_address(address: dict[str, str]) -> dict[str, Any]:
    lines = [address.get(k) or "" for k in ("line1", "line2", "city", "county")]
    lines = [line for line in lines if line]
    return {**{f"Line{i}": lines[i - 1] if i <= len(lines) else None for i in range(1, 5)},
            "PostCode": address.get("postcode") or None, "CountryCode": address.get("country") or None}


def _address_key(address: dict[str, Any]) -> tuple:
    return tuple(str(address.get(k) or "").upper() for k in ("Line1", "Line2", "Line3", "Line4", "PostCode",
                                                                "CountryCode"))


def payment_note(transaction_id: str, gateway: str, order_id: str) -> str:
    """The payment line's note: the gateway's transaction id is how a repeat finds the payment."""
    return f"{gateway} {transaction_id} (order {order_id})"[:255]


def find_invoice(client, order_id: str, customer_code: str = "") -> dict[str, Any] | None:
    """The Kashflow invoice whose CustomerReference is exactly ``order_id`` (the natural key), if any."""
    if not order_id:
        return None
    filters: dict[str, Any] = {"searchtext": order_id}
    if customer_code:
        filters["customercode"] = customer_code
    for item in client.list_invoices(**filters):
        if str(item.get("CustomerReference") or "") == order_id:
            return item
    return None


def find_payment_line(invoice: dict[str, Any], transaction_id: str) -> dict[str, Any] | None:
    if not transaction_id:
        return None
    pattern = re.compile(rf"(^|\s){re.escape(transaction_id)}(\s|$)")
    for line in invoice.get("PaymentLines") or []:
        if pattern.search(str(line.get("Note") or "")) or str(line.get("Reference") or "") == transaction_id:
            return line
    return None


def _nominal(value: Any, rule: str) -> int:
    try:
        code = int(str(value).strip())
    except (TypeError, ValueError):
        raise TargetValidationError(f"The mapping rule {rule} must be a Kashflow nominal code, not {value!r}.",
                                    system="Mapping", code="mapping_missing", payload={"rule": rule}) from None
    if code <= 0:
        raise TargetValidationError(f"The mapping rule {rule} must be a Kashflow nominal code, not {value!r}.",
                                    system="Mapping", code="mapping_missing", payload={"rule": rule})
    return code


def _duplicate(error: ConnectorError) -> bool:
    return (error.code or "").lower() == "duplicatecode" or "already exists" in str(error).lower()


def bound_invoice(flow, order_id: str) -> str | None:
    """The Kashflow invoice number this flow posted for a storefront order (for the status flows and tests)."""
    binding = Binding.objects.filter(connection=flow.target, source_connection=flow.source,
                                     entity=StorefrontOrdersToKashflow.entity,
                                     source_id=order_source_id(order_id)).first()
    return binding.external_id if binding else None
