"""Canonical records: the shape every adapter converts to and from.

Money is always ``Decimal``; currency and exchange rate are explicit; every record says which system
and id it came from, and carries a content hash used as its *version* for idempotency and change
detection (sources such as Kashflow invoices have no modified-since field).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

_PLAIN = (str, int, float, bool, type(None))


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k: (v if type(v) in _PLAIN else _jsonable(v)) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else _jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 117.5000 and 117.5 are the same amount
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def content_hash(data: Any) -> str:
    """Stable SHA-256 of a JSON-able structure (Decimals and dates normalised)."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_default).encode()
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...] = ()
    postcode: str = ""
    country_code: str = ""


@dataclass(frozen=True)
class InvoiceLine:
    number: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    tax_rate: Decimal | None  # percentage; None when exempt
    account_code: str  # source GL account (Kashflow nominal code)
    product_code: str = ""


@dataclass(frozen=True)
class SalesInvoice:
    source_system: str
    source_id: str
    number: str
    customer_code: str
    customer_name: str
    issue_date: date
    due_date: date | None
    currency: str
    exchange_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    gross_amount: Decimal
    paid_amount: Decimal
    status: str  # "paid" | "part_paid" | "unpaid"
    customer_reference: str = ""
    lines: tuple[InvoiceLine, ...] = field(default_factory=tuple)

    entity = "sales_invoice"

    def to_dict(self) -> dict[str, Any]:
        # Field by field (dataclasses.asdict deep-copies every value: a third of a record's conversion time).
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "lines"}
        data["lines"] = [{name: getattr(line, name) for name in line.__dataclass_fields__} for line in self.lines]
        return _jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SalesInvoice:
        """The record back from its stored (JSON) form; ValueError/KeyError/InvalidOperation when malformed."""
        lines = tuple(
            InvoiceLine(
                number=int(line.get("number") or 0), description=str(line.get("description") or ""),
                quantity=Decimal(str(line["quantity"])), unit_price=Decimal(str(line["unit_price"])),
                net_amount=Decimal(str(line["net_amount"])), tax_amount=Decimal(str(line.get("tax_amount") or 0)),
                tax_rate=None if line.get("tax_rate") in (None, "") else Decimal(str(line["tax_rate"])),
                account_code=str(line["account_code"]), product_code=str(line.get("product_code") or ""))
            for line in data.get("lines") or ())
        due = data.get("due_date")
        return cls(
            source_system=str(data.get("source_system") or ""), source_id=str(data["source_id"]),
            number=str(data["number"]), customer_code=str(data["customer_code"]),
            customer_name=str(data.get("customer_name") or ""), issue_date=date.fromisoformat(data["issue_date"]),
            due_date=date.fromisoformat(due) if due else None, currency=str(data["currency"]),
            exchange_rate=Decimal(str(data.get("exchange_rate") or 1)), net_amount=Decimal(str(data["net_amount"])),
            tax_amount=Decimal(str(data["tax_amount"])), gross_amount=Decimal(str(data["gross_amount"])),
            paid_amount=Decimal(str(data.get("paid_amount") or 0)), status=str(data.get("status") or ""),
            customer_reference=str(data.get("customer_reference") or ""), lines=lines)

    @property
    def version(self) -> str:
        return content_hash(self.to_dict())[:32]
