"""Pure conversions between Sage 100 rows / agent operations and the canonical model.

Sage -> canonical: rows read over ODBC (:mod:`integrations.sage100.odbc`, values already normalised) become
:class:`Party`, :class:`Product` (as JSON, with Sage's item type alongside), :class:`StockLevel`,
:class:`OrderStatus`, or the payload of a settled A/R invoice. Canonical -> Sage: canonical records become the
fields or operations the Ledgerbridge agent applies (``AR_Customer_bus`` / ``AP_Vendor_bus`` fields,
``AR_CashReceipts_bus``, ``AP_Invoice_bus`` and ``GL_GeneralJournal_bus`` operations).

Why pure: mapping look-ups that need a system (a G/L AccountKey read from GL_Account, the invoice a receipt is
applied to) are passed in as values or callables, so this module has no Django, database or network dependency
and is unit-tested on its own (``tests/sage100/test_adapter.py``). The flows in ``integrations/sync/flows/``
keep the flow logic: polling, look-ups, sending and idempotency.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.core.canonical import (
    Journal,
    OrderStatus,
    Party,
    Payment,
    Product,
    PurchaseInvoice,
    StockLevel,
    StructuredAddress,
)
from integrations.core.countries import ISO2_TO_ISO3, ISO3_TO_ISO2
from integrations.core.errors import TargetValidationError

from .layouts import Layout
from .odbc import row_stamp

SOURCE_SYSTEM = "sage100"
ZERO = Decimal(0)
CENT = Decimal("0.01")

# (division, number, name) columns of a party's master table, by canonical kind.
PARTY_COLUMNS = {"customer": ("ARDivisionNo", "CustomerNo", "CustomerName"),
                 "supplier": ("APDivisionNo", "VendorNo", "VendorName")}

# Sage OrderStatus -> canonical status (an open order with shipping invoiced is "shipped").
ORDER_STATUSES = {"N": "open", "O": "released", "H": "on_hold", "C": "invoiced"}
ALL_WAREHOUSES = "*"

CHECK_PREFIX = "KF"  # CheckNo of a receipt that came from Kashflow (kashflow_payments_to_sage writes it)
CHECK_LENGTH = 10
RECEIPT_COMMENT_LENGTH = 30
AP_COMMENT_LENGTH = 30
JOURNAL_COMMENT_LENGTH = 30
KASHFLOW_COMMENT = re.compile(r"^Kashflow invoice (\d+)\b")
TOWN_STATE = re.compile(r"^(.*?)[,\s]+([A-Za-z]{2})$")


def _text(row: Mapping[str, Any], name: str) -> str:
    return str(row.get(name) or "").strip()


def money(value: Any) -> Decimal:
    """A Sage amount to the cent (0 when it is missing or not a number)."""
    try:
        return Decimal(str(value if value is not None else 0)).quantize(CENT)
    except InvalidOperation:
        return ZERO


def iso_date(value: Any) -> str:
    """``YYYY-MM-DD`` of a date (or of the first 10 characters of a string)."""
    return value.isoformat()[:10] if hasattr(value, "isoformat") else str(value or "")[:10]


# ====================================================================== Sage -> canonical


def sage_party(row: Mapping[str, Any], kind: str, division_column: str = "", number_column: str = "",
               name_column: str = "") -> Party:
    """The canonical party of an AR_Customer (``kind`` customer) / AP_Vendor (supplier) row; its code and source id
    are ``DD-NUMBER`` (division-number). The columns default to the kind's table."""
    default_division, default_number, default_name = PARTY_COLUMNS[kind]
    division = _text(row, division_column or default_division)
    number = _text(row, number_column or default_number)
    key = f"{division}-{number}"
    street = "\n".join(line for line in (_text(row, "AddressLine1"), _text(row, "AddressLine2"),
                                         _text(row, "AddressLine3")) if line)
    country = _text(row, "CountryCode").upper()
    phone = _text(row, "TelephoneNo")
    if phone and _text(row, "TelephoneExt"):
        phone = f"{phone} x{_text(row, 'TelephoneExt')}"
    status = _text(row, "CustomerStatus") if kind == "customer" else ""
    return Party(
        source_system=SOURCE_SYSTEM, source_id=key, kind=kind, code=key, name=_text(row, name_column or default_name),
        address=StructuredAddress(street=street, city=_text(row, "City"), county=_text(row, "State"),
                                  zip_code=_text(row, "ZipCode"), country_code=ISO3_TO_ISO2.get(country, country)),
        email=_text(row, "EmailAddress"), phone=phone, payment_terms=_text(row, "TermsCode"),
        blocked=status == "I", division=division,
    )


def sage_product(row: Mapping[str, Any], sales_account: str) -> dict[str, Any]:
    """The canonical product (JSON) of a CI_Item row, with Sage's item type and status alongside under ``sage``
    (the canonical Product has no fields for them). ``sales_account``: the formatted G/L account of the item's
    SalesAcctKey (the caller reads GL_Account)."""
    item_type = _text(row, "ItemType")
    price = row.get("StandardUnitPrice")
    product = Product(source_system=SOURCE_SYSTEM, source_id=_text(row, "ItemCode"), code=_text(row, "ItemCode"),
                      name=_text(row, "ItemCodeDesc"), description=_text(row, "ItemCodeDesc"),
                      sales_price=Decimal(str(price)) if price is not None else None, sales_account=sales_account,
                      tax_code=_text(row, "TaxClass"), stock_managed=item_type == "1",
                      unit=_text(row, "SalesUnitOfMeasure"))
    return {**product.to_dict(), "sage": {"item_type": item_type, "inactive": _text(row, "InactiveItem") == "Y"}}


def quantities_on_hand(rows: Iterable[Mapping[str, Any]], items: Iterable[str],
                       warehouse: str = "") -> dict[str, tuple[Decimal, datetime | None]]:
    """Item -> (QuantityOnHand summed over its IM_ItemWarehouse rows, or ``warehouse``'s only; the latest change
    stamp of those rows), for the ``items`` asked for. Items without a row are left out."""
    wanted = set(items)
    levels: dict[str, tuple[Decimal, datetime | None]] = {}
    for row in rows:
        item = str(row.get("ItemCode") or "")
        if item not in wanted or (warehouse and str(row.get("WarehouseCode") or "") != warehouse):
            continue
        quantity, stamp = levels.get(item, (ZERO, None))
        moment = row_stamp(row)
        levels[item] = (quantity + Decimal(row.get("QuantityOnHand") or 0),
                        moment if stamp is None or moment > stamp else stamp)
    return levels


def stock_level(item: str, warehouse: str, quantity: Decimal, stamp: datetime | None) -> StockLevel:
    """The canonical stock level of an item in a warehouse (``ALL_WAREHOUSES`` when summed over all)."""
    warehouse = warehouse or ALL_WAREHOUSES
    return StockLevel(source_system=SOURCE_SYSTEM, source_id=f"{item}@{warehouse}", product_code=item,
                      warehouse=warehouse, quantity_on_hand=quantity, as_of=stamp.isoformat() if stamp else "")


def order_status(row: Mapping[str, Any], link_field: str, link_prefix: str, stamp: datetime) -> OrderStatus:
    """The canonical status of an SO_SalesOrderHeader row, with the Kashflow invoice its ``link_field`` names
    (or ""). N -> open, O -> released (shipped once a shipping invoice exists), H -> on_hold, C -> invoiced;
    any other code -> "" (not reflected)."""
    code = _text(row, "OrderStatus").upper()
    status = ORDER_STATUSES.get(code, "")
    detail = f"OrderStatus {code or '-'}"
    shipping = _text(row, "CurrentInvoiceNo") or _text(row, "LastInvoiceOrderNo")
    if status == "released" and shipping:
        status, detail = "shipped", f"shipping invoice {shipping}"
    return OrderStatus(source_system=SOURCE_SYSTEM, source_id=str(row.get("SalesOrderNo") or ""), status=status,
                       invoice_number=linked_invoice(row.get(link_field), link_prefix),
                       customer_code=f"{row.get('ARDivisionNo') or ''}-{row.get('CustomerNo') or ''}",
                       changed_at=stamp.isoformat() if stamp != datetime.min else "", detail=detail)


def linked_invoice(value: Any, prefix: str) -> str:
    """The Kashflow invoice number a link field holds ("" when it holds something else, such as a PO number)."""
    text = str(value or "").strip().upper()
    if prefix:
        if not text.startswith(prefix):
            return ""
        text = text[len(prefix):].strip()
    return str(int(text)) if text.isdigit() and int(text) > 0 else ""


def settled_invoice(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The payload of an AR_OpenInvoice row Sage has settled (an invoice, type IN, at a zero balance), keyed
    ``DD-CUSTNO-InvoiceNo``; None for an open invoice or another type (credit memo...)."""
    if str(row.get("InvoiceType") or "IN") != "IN" or money(row.get("Balance")) != ZERO:
        return None
    key = f"{row['ARDivisionNo']}-{row['CustomerNo']}-{row['InvoiceNo']}"
    return {"source_id": key, "division": row["ARDivisionNo"], "customer": row["CustomerNo"],
            "invoice_no": row["InvoiceNo"], "invoice_date": iso_date(row.get("InvoiceDate")),
            "comment": row.get("Comment") or "", "settled_at": row_stamp(row).isoformat()}


def kashflow_invoice_number(comment: str) -> str:
    """The Kashflow invoice number in the comment ``kashflow_invoices_to_sage`` writes (``Kashflow invoice N``)."""
    found = KASHFLOW_COMMENT.match(str(comment or "").strip())
    return found.group(1) if found else ""


def from_kashflow(receipt: Mapping[str, Any]) -> bool:
    """Whether an AR_CashReceiptsHistory row is a receipt Ledgerbridge wrote from a Kashflow payment."""
    return str(receipt.get("CheckNo") or "").upper().startswith(CHECK_PREFIX)


# ====================================================================== canonical -> Sage


DIVISION_PREFIX = re.compile(r"^(\d{1,2})-(.+)$")


def party_key(code: str, accounts: Mapping[str, str] | None, default_division: str, *, length: int,
              label: str, number_label: str, rule: str, example: str) -> tuple[str, str]:
    """(division, number) of the Sage customer or vendor a Kashflow code stands for: the ``accounts`` rule
    first, then the code read as ``DD-NUMBER``, else ``default_division``. A number that does not fit Sage's
    column is an ``invalid_value`` error (never cut: it is a key)."""
    mapped = str((accounts or {}).get(code) or code).strip()
    found = DIVISION_PREFIX.match(mapped)
    division, number = (found.group(1), found.group(2)) if found else (default_division, mapped)
    division = str(division).zfill(2)
    number = number.strip().upper()
    if not number or len(number) > length:
        raise TargetValidationError(
            f"Kashflow {label} {code} maps to Sage {number_label} {number!r}, which is not 1-{length} characters; "
            f"map it in {rule} (\"{example}\").", system="Mapping", code="invalid_value",
            payload={"code": code, f"{label}_code": code})
    return division, number


def party_country(party: Party, countries: Mapping[str, str] | None = None) -> str:
    """Sage's country code for a party's ISO alpha-2 country (``countries`` first; "" without a country)."""
    country = party.address.country_code.strip().upper()
    if not country:
        return ""
    mapped = {str(k).upper(): str(v).upper() for k, v in (countries or {}).items()}
    found = mapped.get(country) or ISO2_TO_ISO3.get(country) or (country if len(country) == 3 else "")
    if not found:
        raise TargetValidationError(
            f"No Sage 100 country code is mapped for Kashflow country {country}; map it in countries.",
            system="Mapping", code="mapping_missing", payload={"country": country})
    return found


def party_fields(party: Party, table: Layout, name_column: str, *, label: str, warnings: list[str],
                 countries: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Name, address, e-mail and phone of a party in Sage's columns, cut to the lengths of ``table`` (each cut a
    warning). Street lines 1-3 -> AddressLine1-3; with two lines or more and no city, the last line is the town
    (``City, ST`` -> City and State); a region longer than Sage's two-letter State (a UK county) goes on a free
    street line, else after the town."""
    lines = [line.strip() for line in party.address.street.splitlines() if line.strip()]
    city, state = party.address.city.strip(), party.address.county.strip()
    if not city and len(lines) >= 2:
        town = lines.pop()
        found = TOWN_STATE.match(town)
        city, state = (found.group(1).strip(), found.group(2).upper()) if found else (town, "")
    if len(state) > 2:
        # Sage's State holds a two-letter state or province code; a UK county (or any longer region) goes on a
        # free street line, else after the town, rather than being cut to two letters.
        if len(lines) < 3:
            lines.append(state)
        else:
            city = f"{city}, {state}" if city else state
        state = ""
    if len(lines) > 3:
        warnings.append(f"Kashflow {label} {party.code} has {len(lines)} street lines; Sage keeps 3, so "
                        "the last ones were joined into AddressLine3.")
        lines = [*lines[:2], ", ".join(lines[2:])]
    values = {name_column: party.name, "AddressLine1": "", "AddressLine2": "", "AddressLine3": "",
              "City": city, "State": state, "ZipCode": party.address.zip_code.strip(),
              "EmailAddress": party.email, "TelephoneNo": party.phone}
    for n, line in enumerate(lines[:3], start=1):
        values[f"AddressLine{n}"] = line
    country = party_country(party, countries)
    if country:
        values["CountryCode"] = country
    fields: dict[str, Any] = {}
    for name, value in values.items():
        value = str(value or "").strip()
        if not value:
            continue
        limit = table.column(name).length
        if limit and len(value) > limit:
            warnings.append(f"Kashflow {label} {party.code}: {name} {value!r} is longer than Sage's "
                            f"{limit} characters; written as {value[:limit]!r}.")
            value = value[:limit].rstrip()
        fields[name] = value
    if not fields.get(name_column):
        raise TargetValidationError(f"Kashflow {label} {party.code} has no name; Sage needs one.",
                                    system="Mapping", code="invalid_value", payload={"code": party.code})
    return fields


def check_number(payment_id: str) -> str:
    """``KF`` + the Kashflow payment line Id (base 36 when the decimal Id does not fit Sage's 10 characters)."""
    text = f"{CHECK_PREFIX}{payment_id}"
    if len(text) <= CHECK_LENGTH or not payment_id.isdigit():
        return text[:CHECK_LENGTH]
    value, digits = int(payment_id), ""
    while value:
        value, rest = divmod(value, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rest] + digits
    return f"{CHECK_PREFIX}{digits}"[:CHECK_LENGTH]


def cash_receipt(payment: Payment, *, key: str, payment_type: str, bank_code: str) -> dict[str, Any]:
    """The receipt (as stored in the flow's document) for a canonical customer payment: its agent key, check
    number, date, amount, Sage PaymentType and one-character BankCode."""
    if len(bank_code) != 1:
        raise TargetValidationError(
            f"Sage bank code {bank_code!r} (for Kashflow bank account {payment.bank_account}) must be one "
            "character; fix bank_accounts.", system="Mapping", code="invalid_value",
            payload={"bank_account": payment.bank_account})
    if payment.amount <= 0:
        raise TargetValidationError(f"Kashflow payment {payment.source_id} on invoice {payment.invoice_number} has "
                                    f"amount {payment.amount}; Sage receipts must be positive.", system="Mapping",
                                    code="invalid_value", payload={"payment": payment.source_id})
    return {"key": key, "check": check_number(payment.source_id), "date": payment.payment_date.isoformat(),
            "amount": str(payment.amount), "payment_type": payment_type, "bank_code": bank_code,
            "comment": f"Kashflow payment {payment.source_id}"[:RECEIPT_COMMENT_LENGTH]}


def receipt_operation(invoice: tuple[str, str, str], receipt: Mapping[str, Any]) -> dict[str, Any]:
    """The ``AR_CashReceipts_bus`` create applying ``receipt`` in full to the A/R invoice
    (ARDivisionNo, CustomerNo, InvoiceNo); Sage assigns the DepositNo."""
    division, customer, invoice_no = invoice
    amount = float(Decimal(receipt["amount"]))
    return {"key": receipt["key"], "object": "AR_CashReceipts_bus", "action": "create",
            "fields": {"ARDivisionNo": division, "CustomerNo": customer, "CheckNo": receipt["check"],
                       "DepositType": "C", "DepositDate": receipt["date"], "BankCode": receipt["bank_code"],
                       "PaymentType": receipt["payment_type"], "PostingAmt": amount, "Comment": receipt["comment"]},
            "lines": [{"InvoiceNo": invoice_no, "InvoiceType": "IN", "AmountPosted": amount}]}


def ap_invoice_operation(purchase: PurchaseInvoice, *, key: str, division_no: str, vendor_no: str, invoice_no: str,
                         account_for: Callable[[str], str], tax_account_for: Callable[[], str]) -> dict[str, Any]:
    """The ``AP_Invoice_bus`` create for a canonical purchase: net lines on the AccountKey ``account_for`` gives
    for each nominal code, the VAT as one more line on ``tax_account_for()``, ``InvoiceAmt`` the gross (lines and
    VAT must add up to it)."""
    if not purchase.lines:
        raise TargetValidationError(f"Kashflow purchase {purchase.number} has no lines; Sage needs at least one.",
                                    system="Mapping", code="invalid_value")
    lines: list[dict[str, Any]] = [
        {"AccountKey": account_for(line.account_code),
         "CommentText": (line.description or f"Kashflow line {line.number}")[:AP_COMMENT_LENGTH],
         "QuantityInvoiced": float(line.quantity), "ExtensionAmt": float(line.net_amount)}
        for line in purchase.lines if line.net_amount]
    if purchase.tax_amount:
        lines.append({"AccountKey": tax_account_for(), "CommentText": "VAT",
                      "ExtensionAmt": float(purchase.tax_amount)})
    distributed = sum((line.net_amount for line in purchase.lines), ZERO) + purchase.tax_amount
    if distributed != purchase.gross_amount:
        raise TargetValidationError(
            f"Kashflow purchase {purchase.number}: lines and VAT add up to {distributed:.2f}, the gross amount is "
            f"{purchase.gross_amount:.2f}; Sage needs them equal.", system="Mapping", code="invalid_value")
    if not lines:
        raise TargetValidationError(f"Kashflow purchase {purchase.number} has a zero total; Sage refuses it.",
                                    system="Mapping", code="invalid_value")
    fields: dict[str, Any] = {"APDivisionNo": division_no, "VendorNo": vendor_no, "InvoiceNo": invoice_no,
                              "InvoiceDate": purchase.issue_date.isoformat(),
                              "InvoiceAmt": float(purchase.gross_amount),
                              "Comment": f"Kashflow purchase {purchase.number}"[:AP_COMMENT_LENGTH]}
    if purchase.due_date:
        fields["InvoiceDueDate"] = purchase.due_date.isoformat()
    return {"key": key, "object": "AP_Invoice_bus", "action": "create", "fields": fields, "lines": lines}


def gl_journal_operation(journal: Journal, *, key: str, source_journal: str,
                         account_for: Callable[[str], str]) -> dict[str, Any]:
    """The ``GL_GeneralJournal_bus`` create for a canonical journal (balanced, moving money): one line per
    non-zero Kashflow line on the AccountKey ``account_for`` gives, its debit or credit; Sage numbers the entry."""
    debits = sum((line.amount for line in journal.lines if line.amount > 0), ZERO)
    credits = -sum((line.amount for line in journal.lines if line.amount < 0), ZERO)
    if debits != credits:
        raise TargetValidationError(
            f"Kashflow journal {journal.number} is not balanced: debits {debits:.2f} and credits {credits:.2f} "
            f"differ by {abs(debits - credits):.2f}; Sage 100 posts balanced journal entries only.",
            system="Mapping", code="invalid_value", payload={"journal": journal.number})
    if not debits:
        raise TargetValidationError(f"Kashflow journal {journal.number} moves no money; nothing to post.",
                                    system="Mapping", code="invalid_value", payload={"journal": journal.number})
    lines = []
    for line in journal.lines:
        if not line.amount:
            continue
        entry: dict[str, Any] = {"AccountKey": account_for(line.account_code),
                                 "PostingComment": (line.description or journal.description
                                                    or f"Kashflow journal {journal.number}")[:JOURNAL_COMMENT_LENGTH]}
        if line.amount > 0:
            entry["DebitAmount"] = float(line.amount)
        else:
            entry["CreditAmount"] = float(-line.amount)
        lines.append(entry)
    source_journal = str(source_journal or "GJ").strip().upper()
    if not source_journal or len(source_journal) > 2:
        raise TargetValidationError(f"source_journal {source_journal!r} must be a 1-2 character Sage source "
                                    "journal code.", system="Mapping", code="invalid_value")
    comment = f"Kashflow journal {journal.number}" + (f": {journal.description}" if journal.description else "")
    return {"key": key, "object": "GL_GeneralJournal_bus", "action": "create",
            "fields": {"SourceJournal": source_journal, "PostingDate": journal.journal_date.isoformat(),
                       "JournalComment": comment[:JOURNAL_COMMENT_LENGTH]},
            "lines": lines}

