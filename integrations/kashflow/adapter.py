"""Kashflow invoice JSON -> canonical ``SalesInvoice``.

Kashflow's payloads are loose (numbers as floats or 4-dp decimals, ``VATExempt`` as bool or 0/1, dates with
or without an offset, nulls for empty strings), so every field is read defensively and a record that cannot
be understood raises ``TargetValidationError`` naming the invoice and the field, never a bare KeyError.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from integrations.core.canonical import (
    InvoiceLine,
    Journal,
    JournalLine,
    Party,
    Payment,
    PurchaseInvoice,
    SalesInvoice,
    StructuredAddress,
)
from integrations.core.errors import NotFoundError, TargetValidationError

log = logging.getLogger("ledgerbridge.kashflow")

SOURCE_SYSTEM = "kashflow"
_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_CENT = Decimal("0.01")


class InvoiceSource(Protocol):
    def list_invoices(self, **filters: Any) -> Iterator[dict[str, Any]]: ...

    def get_invoice(self, number: int | str) -> dict[str, Any]: ...


def _bad(raw: dict[str, Any], problem: str) -> TargetValidationError:
    number = raw.get("Number") if isinstance(raw, dict) else None
    label = f"Kashflow invoice {number}" if number not in (None, "") else "A Kashflow invoice"
    return TargetValidationError(
        f"{label} could not be read: {problem}", system="Kashflow", code="MalformedInvoice", payload=raw
    )


def _plain(number: Decimal) -> Decimal:
    """One representation per value (117.5000, 117.5 and float 117.5 all -> 117.5; 100.00 -> 100).

    Kashflow prints 4 dp, but a float-parsing caller sees fewer; without this the canonical content
    hash (the record's version) would change with the parser, not the data.
    """
    number = number.normalize()
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number


def _dec(raw: dict[str, Any], value: Any, field: str, default: Decimal | None = None) -> Decimal:
    if value is None or value == "":
        if default is None:
            raise _bad(raw, f"{field} is missing")
        return _plain(default)
    if isinstance(value, bool):
        raise _bad(raw, f"{field} is not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _bad(raw, f"{field} is not a number ({value!r})") from None
    if not number.is_finite():
        raise _bad(raw, f"{field} is not a number ({value!r})")
    return _plain(number)


def _date(raw: dict[str, Any], value: Any, field: str, *, required: bool) -> date | None:
    """'YYYY-MM-DD HH:mm:ss', '... +05:30', ISO 'T' forms; the calendar date as written is kept.

    Kashflow's 1900-01-01 / 0001-01-01 sentinels mean "no date".
    """
    if isinstance(value, date):
        return value
    match = _DATE.match(str(value or ""))
    if not match:
        if required:
            raise _bad(raw, f"{field} is missing or not a date ({value!r})")
        return None
    try:
        parsed = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise _bad(raw, f"{field} is not a valid date ({value!r})") from None
    if parsed.year <= 1900:
        if required:
            raise _bad(raw, f"{field} holds Kashflow's empty-date placeholder")
        return None
    return parsed


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _line(raw: dict[str, Any], line: Any, index: int) -> InvoiceLine:
    if not isinstance(line, dict):
        raise _bad(raw, f"line {index} is not an object")
    where = f"line {index}"
    quantity = _dec(raw, line.get("Quantity"), f"{where} Quantity", Decimal(0))
    rate = _dec(raw, line.get("Rate"), f"{where} Rate", Decimal(0))
    exempt = _flag(line.get("VATExempt"))
    nominal = line.get("NominalCode")
    if nominal in (None, "") or isinstance(nominal, bool):
        raise _bad(raw, f"{where} has no NominalCode")
    if isinstance(nominal, Decimal | float) and nominal == int(nominal):
        nominal = int(nominal)
    return InvoiceLine(
        number=int(_dec(raw, line.get("Number"), f"{where} Number", Decimal(index))),
        description=_text(line.get("Description")),
        quantity=quantity,
        unit_price=rate,
        net_amount=_plain((quantity * rate).quantize(_CENT, rounding=ROUND_HALF_UP)),
        tax_amount=Decimal(0)
        if exempt
        else _dec(raw, line.get("VATAmount"), f"{where} VATAmount", Decimal(0)),
        tax_rate=None if exempt else _dec(raw, line.get("VATLevel"), f"{where} VATLevel", Decimal(0)),
        account_code=_text(nominal),
        product_code=_text(line.get("ProductCode")),
    )


def payment_status(status: Any, paid: Decimal, gross: Decimal) -> str:
    """Kashflow only says Paid/Unpaid; part payment is read from TotalPaidAmount vs GrossAmount."""
    if _text(status).lower() == "paid" or (gross > 0 and paid >= gross):
        return "paid"
    return "part_paid" if paid > 0 else "unpaid"


def invoice_to_canonical(raw: dict[str, Any]) -> SalesInvoice:
    """Convert one full Kashflow invoice (GET /invoices/{number}) to the canonical record."""
    if not isinstance(raw, dict):
        raise TargetValidationError(
            "A Kashflow invoice was not a JSON object.", system="Kashflow", code="MalformedInvoice"
        )
    number = raw.get("Number")
    if number in (None, "") or isinstance(number, bool):
        raise _bad(raw, "Number is missing")
    number_text = _text(int(number) if isinstance(number, Decimal | float) else number)
    customer_code = _text(raw.get("CustomerCode"))
    if not customer_code:
        raise _bad(raw, "CustomerCode is missing")
    raw_lines = raw.get("LineItems") or []
    if not isinstance(raw_lines, list):
        raise _bad(raw, "LineItems is not a list")
    lines = tuple(_line(raw, line, i) for i, line in enumerate(raw_lines, start=1))

    net_default = sum((ln.net_amount for ln in lines), Decimal(0))
    tax_default = sum((ln.tax_amount for ln in lines), Decimal(0))
    net = _dec(raw, raw.get("NetAmount"), "NetAmount", net_default)
    tax = _dec(raw, raw.get("VATAmount"), "VATAmount", tax_default)
    gross = _dec(raw, raw.get("GrossAmount"), "GrossAmount", net + tax)
    paid = _dec(raw, raw.get("TotalPaidAmount"), "TotalPaidAmount", Decimal(0))

    currency = raw.get("Currency") if isinstance(raw.get("Currency"), dict) else {}
    rate = _dec(raw, currency.get("ExchangeRate"), "Currency.ExchangeRate", Decimal(1))
    return SalesInvoice(
        source_system=SOURCE_SYSTEM,
        source_id=number_text,
        number=number_text,
        customer_code=customer_code,
        customer_name=_text(raw.get("CustomerName")),
        issue_date=_date(raw, raw.get("IssuedDate"), "IssuedDate", required=True),  # type: ignore[arg-type]
        due_date=_date(raw, raw.get("DueDate"), "DueDate", required=False),
        currency=(_text(currency.get("Code")) or "GBP").upper(),
        exchange_rate=rate if rate > 0 else Decimal(1),
        net_amount=net,
        tax_amount=tax,
        gross_amount=gross,
        paid_amount=paid,
        status=payment_status(raw.get("Status"), paid, gross),
        customer_reference=_text(raw.get("CustomerReference")),
        lines=lines,
    )


def _list_item_is_paid(item: dict[str, Any]) -> bool:
    try:
        paid = Decimal(str(item.get("TotalPaidAmount") or 0))
        gross = Decimal(str(item.get("GrossAmount") or 0))
    except InvalidOperation:
        paid = gross = Decimal(0)
    return payment_status(item.get("Status"), paid, gross) == "paid"


def iter_sales_invoices(
    client: InvoiceSource,
    *,
    paid_only: bool,
    on_error: Callable[[TargetValidationError], None] | None = None,
    **filters: Any,
) -> Iterator[SalesInvoice]:
    """Walk the invoice list (oldest number first), fetch full details for the ones wanted, convert.

    The list is only used to choose: list items lack PaymentLines and may be summaries, so each selected
    invoice is read in full. Without ``on_error`` a malformed record raises; with it, the error is handed
    over and the walk continues (so one bad invoice does not block a tenant's whole sync).
    """
    for item in client.list_invoices(sortby=0, order="Asc", **filters):
        if paid_only and not _list_item_is_paid(item):
            continue
        number = item.get("Number") if isinstance(item, dict) else None
        try:
            if number in (None, ""):
                raise _bad(item if isinstance(item, dict) else {}, "the list item has no Number")
            try:
                raw = client.get_invoice(number)
            except NotFoundError:
                log.debug("Kashflow invoice %s vanished between list and fetch; skipped", number)
                continue
            yield invoice_to_canonical(raw)
        except TargetValidationError as exc:
            if on_error is None:
                raise
            on_error(exc)


# ---------------------------------------------------------------------- customers and suppliers


def _primary_contact(raw: dict[str, Any]) -> dict[str, Any]:
    people = [c for c in raw.get("Contacts") or [] if isinstance(c, dict)]
    return next((c for c in people if _flag(c.get("IsPrimary"))), people[0] if people else {})


def structured_address(address: dict[str, Any] | None) -> StructuredAddress:
    """Kashflow's free address lines as a structured address (:func:`mapping.addresses.parse_address`: UK and US
    shapes, postcodes inside a line, the country inferred from the postcode when Kashflow has none)."""
    from mapping.addresses import parse_address

    address = address or {}
    lines = [_text(address.get(f"Line{n}")) for n in range(1, 5)]
    parsed, _warnings = parse_address([line for line in lines if line], _text(address.get("PostCode")),
                                      _text(address.get("CountryCode")).upper())
    return parsed


def party_to_canonical(raw: dict[str, Any], kind: str) -> Party:
    """A Kashflow customer or supplier (``GET /customers/{code}``, ``/suppliers/{code}``) as a Party.

    Customers keep their first address in ``Addresses[]`` and e-mail/phone on the record; suppliers have one
    ``Address`` and reach their e-mail/phone through the primary contact."""
    if not isinstance(raw, dict) or not _text(raw.get("Code")):
        raise TargetValidationError(f"The Kashflow {kind} has no Code.", system="Kashflow", code="unreadable")
    contact = _primary_contact(raw)
    if kind == "customer":
        address = (raw.get("Addresses") or [None])[0]
        email = _text(raw.get("Email")) or _text(contact.get("Email"))
        phone = _text(raw.get("TelephoneNumber")) or _text(contact.get("Telephone"))
        tax_number = _text(raw.get("VATNumber"))
    else:
        address = raw.get("Address")
        email, phone = _text(contact.get("Email")), _text(contact.get("Telephone"))
        tax_number = _text(raw.get("VatNumber"))
    return Party(
        source_system=SOURCE_SYSTEM, source_id=_text(raw["Code"]), kind=kind, code=_text(raw["Code"]),
        name=_text(raw.get("Name")), address=structured_address(address if isinstance(address, dict) else None),
        email=email, phone=phone, currency=_text((raw.get("Currency") or {}).get("Code")).upper(),
        tax_number=tax_number, blocked=_flag(raw.get("IsArchived")),
    )


# ---------------------------------------------------------------------- payments, purchases, journals


def _number_text(raw: dict[str, Any], _what: str = "") -> str:
    number = raw.get("Number")
    if number in (None, "") or isinstance(number, bool):
        raise _bad(raw, "Number is missing")
    return _text(int(number) if isinstance(number, Decimal | float) else number)


def invoice_payments(raw: dict[str, Any]) -> list[Payment]:
    """The payment lines of one full Kashflow invoice (``PaymentLines[]``) as canonical customer payments.

    ``source_id`` is the payment line's ``Id`` (unique within the account), ``method`` the Kashflow payment
    method id and ``bank_account`` the Kashflow bank account id (``AccountId``) the money went into; both are
    what mapping rules look up. ``reference`` is the line's Reference, or its Note when it has none."""
    if not isinstance(raw, dict):
        raise TargetValidationError("A Kashflow invoice was not a JSON object.", system="Kashflow",
                                    code="MalformedInvoice")
    number = _number_text(raw, "")
    currency = raw.get("Currency") if isinstance(raw.get("Currency"), dict) else {}
    rate = _dec(raw, currency.get("ExchangeRate"), "Currency.ExchangeRate", Decimal(1))
    out = []
    for index, line in enumerate(raw.get("PaymentLines") or [], start=1):
        if not isinstance(line, dict):
            raise _bad(raw, f"payment line {index} is not an object")
        where = f"payment line {index}"
        if line.get("Id") in (None, ""):
            raise _bad(raw, f"{where} has no Id")
        out.append(Payment(
            source_system=SOURCE_SYSTEM, source_id=_text(line.get("Id")), kind="customer",
            party_code=_text(raw.get("CustomerCode")), invoice_number=number,
            payment_date=_date(raw, line.get("Date"), f"{where} Date", required=True),  # type: ignore[arg-type]
            amount=_dec(raw, line.get("Amount"), f"{where} Amount"),
            currency=(_text(currency.get("Code")) or "GBP").upper(), exchange_rate=rate if rate > 0 else Decimal(1),
            method=_text(line.get("Method")), bank_account=_text(line.get("AccountId")),
            reference=_text(line.get("Reference")) or _text(line.get("Note")),
        ))
    return out


def payment_note(line: dict[str, Any]) -> str:
    """The Note of a raw Kashflow payment line (where Ledgerbridge marks the payments it wrote itself)."""
    return _text(line.get("Note"))


def _relabelled(what: str, convert: Callable[[], Any]) -> Any:
    """Run a conversion whose field readers report "Kashflow invoice N": name the document it really is."""
    try:
        return convert()
    except TargetValidationError as error:
        if error.code != "MalformedInvoice":
            raise
        raise TargetValidationError(error.message.replace("Kashflow invoice", f"Kashflow {what}", 1)
                                    .replace("A Kashflow invoice", f"A Kashflow {what}", 1), system="Kashflow",
                                    code=f"Malformed{what.title()}", payload=error.payload) from None


def purchase_to_canonical(raw: dict[str, Any]) -> PurchaseInvoice:
    """One full Kashflow purchase (``GET /purchases/{number}``) as a canonical PurchaseInvoice."""
    return _relabelled("purchase", lambda: _purchase_to_canonical(raw))


def _purchase_to_canonical(raw: dict[str, Any]) -> PurchaseInvoice:
    if not isinstance(raw, dict):
        raise TargetValidationError("A Kashflow purchase was not a JSON object.", system="Kashflow",
                                    code="MalformedPurchase")
    number = _number_text(raw, "")
    supplier = _text(raw.get("SupplierCode"))
    if not supplier:
        raise _bad(raw, "SupplierCode is missing")
    raw_lines = raw.get("LineItems") or []
    if not isinstance(raw_lines, list):
        raise _bad(raw, "LineItems is not a list")
    lines = tuple(_line(raw, line, i) for i, line in enumerate(raw_lines, start=1))
    net = _dec(raw, raw.get("NetAmount"), "NetAmount", sum((ln.net_amount for ln in lines), Decimal(0)))
    tax = _dec(raw, raw.get("VATAmount"), "VATAmount", sum((ln.tax_amount for ln in lines), Decimal(0)))
    gross = _dec(raw, raw.get("GrossAmount"), "GrossAmount", net + tax)
    paid = _dec(raw, raw.get("TotalPaidAmount"), "TotalPaidAmount", Decimal(0))
    currency = raw.get("Currency") if isinstance(raw.get("Currency"), dict) else {}
    rate = _dec(raw, currency.get("ExchangeRate"), "Currency.ExchangeRate", Decimal(1))
    return PurchaseInvoice(
        source_system=SOURCE_SYSTEM, source_id=number, number=number, supplier_code=supplier,
        supplier_name=_text(raw.get("SupplierName")),
        issue_date=_date(raw, raw.get("IssuedDate"), "IssuedDate", required=True),  # type: ignore[arg-type]
        due_date=_date(raw, raw.get("DueDate"), "DueDate", required=False),
        currency=(_text(currency.get("Code")) or "GBP").upper(), exchange_rate=rate if rate > 0 else Decimal(1),
        net_amount=net, tax_amount=tax, gross_amount=gross, paid_amount=paid,
        status=payment_status(raw.get("Status"), paid, gross), supplier_reference=_text(raw.get("SupplierReference")),
        lines=lines,
    )


def journal_to_canonical(raw: dict[str, Any], *, currency: str = "GBP") -> Journal:
    """One full Kashflow journal (``GET /journals/{number}``) as a canonical Journal.

    Kashflow journals are in the account's home currency (they carry none); each line has a Debit or a Credit
    on a nominal code, which becomes a signed amount (+ debit, - credit). Balance is not checked here: the
    flow refuses an unbalanced journal with a message naming it."""
    return _relabelled("journal", lambda: _journal_to_canonical(raw, currency))


def _journal_to_canonical(raw: dict[str, Any], currency: str) -> Journal:
    if not isinstance(raw, dict):
        raise TargetValidationError("A Kashflow journal was not a JSON object.", system="Kashflow",
                                    code="MalformedJournal")
    number = _number_text(raw, "")
    raw_lines = raw.get("LineItems") or []
    if not isinstance(raw_lines, list):
        raise _bad(raw, "LineItems is not a list")
    lines = []
    for index, line in enumerate(raw_lines, start=1):
        if not isinstance(line, dict):
            raise _bad(raw, f"journal line {index} is not an object")
        where = f"journal line {index}"
        nominal = line.get("NominalCode")
        if nominal in (None, "") or isinstance(nominal, bool):
            raise _bad(raw, f"{where} has no NominalCode")
        debit = _dec(raw, line.get("Debit"), f"{where} Debit", Decimal(0))
        credit = _dec(raw, line.get("Credit"), f"{where} Credit", Decimal(0))
        if debit and credit:
            raise _bad(raw, f"{where} has both a Debit and a Credit")
        project = _text(line.get("ProjectNumber"))
        lines.append(JournalLine(
            account_code=_text(int(nominal) if isinstance(nominal, Decimal | float) else nominal),
            amount=_plain(debit - credit), description=_text(line.get("Comment")),
            dimensions=(("Project", project),) if project not in ("", "0") else (),
        ))
    return Journal(
        source_system=SOURCE_SYSTEM, source_id=number, number=number,
        journal_date=_date(raw, raw.get("JournalDate"), "JournalDate", required=True),  # type: ignore[arg-type]
        currency=currency.upper(), description=_text(raw.get("Comment")) or _text(raw.get("Note")),
        lines=tuple(lines),
    )
