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


# ---------------------------------------------------------------------------------------------------------------
# The rest of the canonical model. Every record type below is a frozen dataclass with ``source_system`` and
# ``source_id``, serialises with ``to_dict`` (JSON-able: Decimals as strings, dates ISO) and back with
# ``from_dict``, and has a ``version`` (content hash). ``Record.from_dict`` is generic: it follows the field
# annotations, so a new field needs no serialisation code.
# ---------------------------------------------------------------------------------------------------------------


def _to_python(kind: Any, value: Any) -> Any:
    """Convert a JSON value back to the annotated type (Decimal, date, nested record, tuple of records)."""
    if value is None:
        return None
    if isinstance(kind, str):
        kind = _ANNOTATIONS.get(kind, kind)
    if kind in ("Decimal", "Decimal | None") or kind is Decimal:
        return Decimal(str(value))
    if kind in ("date", "date | None") or kind is date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if isinstance(kind, type) and issubclass(kind, Record):
        return value if isinstance(value, kind) else kind.from_dict(value)
    if isinstance(kind, tuple) and kind and kind[0] == "tuple":  # ("tuple", RecordClass or "str")
        return tuple(_to_python(kind[1], item) for item in value)
    if isinstance(kind, str) and kind.startswith("tuple") and isinstance(value, list | tuple):
        return _tuples(value)
    return value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(item) for item in value) if isinstance(value, list | tuple) else value


_ANNOTATIONS: dict[str, Any] = {}


class Record:
    """Mixin for the canonical dataclasses below."""

    entity = ""
    # field name -> nested type for fields holding records or tuples of records (annotations are strings here)
    nested: dict[str, Any] = {}

    def to_dict(self) -> dict[str, Any]:
        data = {}
        for name in self.__dataclass_fields__:  # type: ignore[attr-defined]
            value = getattr(self, name)
            if isinstance(value, Record):
                value = value.to_dict()
            elif isinstance(value, tuple) and value and isinstance(value[0], Record):
                value = [item.to_dict() for item in value]
            data[name] = value
        return _jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """The record back from its stored (JSON) form; ValueError/KeyError/InvalidOperation when malformed.
        Missing optional fields take their defaults."""
        values = {}
        for name, spec in cls.__dataclass_fields__.items():  # type: ignore[attr-defined]
            if name not in data:
                continue
            kind = cls.nested.get(name, spec.type)
            values[name] = _to_python(kind, data[name])
        return cls(**values)

    @property
    def version(self) -> str:
        return content_hash(self.to_dict())[:32]


@dataclass(frozen=True)
class StructuredAddress(Record):
    """An address as ERPs keep it (AX LogisticsPostalAddress, Sage AddressLine1-3/City/State/ZipCode)."""

    street: str = ""  # may hold several lines separated by "\n"
    city: str = ""
    county: str = ""  # county (UK) or state (US)
    zip_code: str = ""
    country_code: str = ""  # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class Party(Record):
    """A customer or a supplier. ``kind`` is "customer" or "supplier"."""

    source_system: str
    source_id: str
    kind: str
    code: str
    name: str
    address: StructuredAddress = field(default_factory=StructuredAddress)
    email: str = ""
    phone: str = ""
    currency: str = ""
    group: str = ""  # AX CustGroup/VendGroup, Sage customer type
    tax_number: str = ""
    credit_limit: Decimal | None = None
    payment_terms: str = ""
    blocked: bool = False
    division: str = ""  # Sage ARDivisionNo / APDivisionNo

    nested = {"address": StructuredAddress}

    @property
    def entity(self) -> str:  # type: ignore[override]
        return self.kind


@dataclass(frozen=True)
class Product(Record):
    source_system: str
    source_id: str
    code: str
    name: str
    description: str = ""
    sales_price: Decimal | None = None
    purchase_price: Decimal | None = None
    sales_account: str = ""  # GL account sales of it go to (Kashflow nominal, AX main account, Sage account)
    tax_code: str = ""
    stock_managed: bool = False
    unit: str = ""

    entity = "product"


@dataclass(frozen=True)
class StockLevel(Record):
    source_system: str
    source_id: str  # "<product code>@<warehouse>"
    product_code: str
    warehouse: str
    quantity_on_hand: Decimal
    as_of: str = ""  # ISO timestamp of the source change

    entity = "stock_level"


@dataclass(frozen=True)
class Payment(Record):
    """A customer receipt (``kind`` "customer") or a supplier payment ("supplier") settling one invoice."""

    source_system: str
    source_id: str
    kind: str
    party_code: str
    invoice_number: str  # the source invoice it settles
    payment_date: date
    amount: Decimal
    currency: str
    exchange_rate: Decimal = Decimal(1)
    method: str = ""  # source payment method (mapped to AX method of payment / Sage cash account)
    bank_account: str = ""  # source bank account (Kashflow bank nominal code)
    reference: str = ""

    entity = "payment"


@dataclass(frozen=True)
class PurchaseInvoice(Record):
    source_system: str
    source_id: str
    number: str
    supplier_code: str
    supplier_name: str
    issue_date: date
    due_date: date | None
    currency: str
    exchange_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    gross_amount: Decimal
    paid_amount: Decimal = Decimal(0)
    status: str = ""  # "paid" | "part_paid" | "unpaid"
    supplier_reference: str = ""
    lines: tuple[InvoiceLine, ...] = ()

    entity = "purchase_invoice"

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "lines"}
        data["lines"] = [{name: getattr(line, name) for name in line.__dataclass_fields__} for line in self.lines]
        return _jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PurchaseInvoice:
        lines = SalesInvoice.from_dict({"source_id": "", "number": "", "customer_code": "", "issue_date":
                                        "2000-01-01", "currency": "", "net_amount": 0, "tax_amount": 0,
                                        "gross_amount": 0, "lines": data.get("lines") or []}).lines
        base = super().from_dict({k: v for k, v in data.items() if k != "lines"})
        return cls(**{**{n: getattr(base, n) for n in cls.__dataclass_fields__ if n != "lines"}, "lines": lines})


@dataclass(frozen=True)
class JournalLine(Record):
    account_code: str
    amount: Decimal  # signed: + debit, - credit
    description: str = ""
    tax_code: str = ""
    tax_amount: Decimal = Decimal(0)
    dimensions: tuple[tuple[str, str], ...] = ()  # (dimension name, value) pairs
    source_ids: tuple[str, ...] = ()  # summarised journals: the source records this line totals

    @property
    def debit(self) -> Decimal:
        return self.amount if self.amount > 0 else Decimal(0)

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < 0 else Decimal(0)


@dataclass(frozen=True)
class Journal(Record):
    """A balanced general-ledger journal (lines sum to zero in the journal currency)."""

    source_system: str
    source_id: str
    number: str
    journal_date: date
    currency: str
    description: str = ""
    exchange_rate: Decimal = Decimal(1)
    lines: tuple[JournalLine, ...] = ()

    entity = "journal"
    nested = {"lines": ("tuple", JournalLine)}

    @property
    def imbalance(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def balanced(self) -> bool:
        return self.imbalance == 0


@dataclass(frozen=True)
class GLAccount(Record):
    source_system: str
    source_id: str
    code: str
    name: str
    account_class: str = ""  # asset | liability | equity | income | expense
    active: bool = True

    entity = "gl_account"


@dataclass(frozen=True)
class TaxCode(Record):
    source_system: str
    source_id: str
    code: str
    name: str
    rate: Decimal  # percentage

    entity = "tax_code"


@dataclass(frozen=True)
class OrderStatus(Record):
    """Where an ERP sales order stands (open, released, shipped, invoiced, cancelled) and the invoice it is for."""

    source_system: str
    source_id: str  # ERP order number
    status: str  # open | released | shipped | invoiced | cancelled | on_hold
    invoice_number: str = ""  # the Kashflow invoice it belongs to, when known
    customer_code: str = ""
    changed_at: str = ""  # ISO timestamp
    detail: str = ""  # ERP's own status text

    entity = "order_status"
