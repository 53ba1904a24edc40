"""Canonical records: the shape every adapter converts to and from.

Money is always ``Decimal``; currency and exchange rate are explicit; every record says which system
and id it came from, and carries a content hash used as its *version* for idempotency and change
detection (sources such as Kashflow invoices have no modified-since field).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 117.5000 and 117.5 are the same amount
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def content_hash(data: Any) -> str:
    """Stable SHA-256 of a JSON-able structure (Decimals and dates normalised)."""
    encoded = json.dumps(_jsonable(data), sort_keys=True, separators=(",", ":")).encode()
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
        return _jsonable(asdict(self))

    @property
    def version(self) -> str:
        return content_hash(self.to_dict())[:32]
