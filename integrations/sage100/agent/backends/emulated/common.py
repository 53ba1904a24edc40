"""What the document objects share: customer defaults, line defaults from items, numbering helpers.

A/R invoices, cash receipts, A/P invoices and G/L entries post on ``nWrite``, as if the register/update ran at
once: they write the history and open-item tables Ledgerbridge reads, and a posted document can no longer be
changed. Sales orders stay editable, as in Sage.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .base import BoiError, EmulatedObject, Record, blank, code, division, money
from .checks import Checks

ZERO = Decimal(0)
INVOICE_TYPES = {"IN": "invoice", "CM": "credit memo", "DM": "debit memo", "FC": "finance charge"}


def invoice_type(value: str) -> str:
    text = value.strip().upper() or "IN"
    if text not in INVOICE_TYPES:
        raise BoiError(f"Invalid invoice type {text}.")
    return text


def seq(n: int, width: int = 6) -> str:
    return str(n).zfill(width)


class CustomerDocument(EmulatedObject):
    """Shared by documents sold to a customer: division first, then the customer, whose defaults apply."""

    FORMATS = {"ARDivisionNo": division, "CustomerNo": code(20)}

    def on_set(self, name: str, value: Any) -> str | None:
        checks = Checks(self.db)
        if name == "ARDivisionNo":
            checks.division(value)
        elif name == "CustomerNo":
            self._set_customer(value)
        elif name == "TermsCode" and not blank(value):
            checks.terms_code("AR_TermsCode", value)
        elif name == "WarehouseCode" and not blank(value):
            checks.warehouse(value)
        return None

    def _set_customer(self, value: str) -> None:
        division_no = self.record.get("ARDivisionNo")
        if blank(division_no):
            raise BoiError("Set ARDivisionNo before CustomerNo.")
        customer = Checks(self.db).customer(division_no, value)
        if self.record.get("CustomerNo") != customer["CustomerNo"]:
            self.record.update(self.customer_defaults(customer))

    def customer_defaults(self, customer: Record) -> Record:
        found = {
            "TermsCode": customer.get("TermsCode"), "TaxSchedule": customer.get("TaxSchedule"),
            "SalespersonDivisionNo": customer.get("SalespersonDivisionNo"),
            "SalespersonNo": customer.get("SalespersonNo"), "BillToName": customer.get("CustomerName"),
            "BillToAddress1": customer.get("AddressLine1"), "BillToAddress2": customer.get("AddressLine2"),
            "BillToAddress3": customer.get("AddressLine3"), "BillToCity": customer.get("City"),
            "BillToState": customer.get("State"), "BillToZipCode": customer.get("ZipCode"),
            "BillToCountryCode": customer.get("CountryCode"), "EmailAddress": customer.get("EmailAddress"),
            "ShipVia": customer.get("ShipMethod"),
        }
        return {name: value for name, value in found.items() if name in self.layout.by_name and not blank(value)}

    def customer_key(self) -> tuple[str, str]:
        return self.record["ARDivisionNo"], self.record["CustomerNo"]

    def due_dates(self, invoice_date: str, terms_code: str) -> tuple[str | None, str | None]:
        terms = self.db.get("AR_TermsCode", TermsCode=terms_code) or {}
        start = date.fromisoformat(invoice_date)
        due = start + timedelta(days=int(terms.get("DaysBeforeDue") or 0))
        discount_days = int(terms.get("DaysBeforeDiscountDue") or 0)
        return due.isoformat(), (start + timedelta(days=discount_days)).isoformat() if discount_days else None


def item_line_defaults(checks: Checks, item_code: str, line: Record, *, price_field: str) -> Record:
    """Defaults a line takes from the item; ``/`` codes are miscellaneous charges with no item record."""
    if item_code.startswith("/"):
        return {"ItemType": "5", "ItemCodeDesc": line.get("ItemCodeDesc") or item_code[1:]}
    item = checks.item(item_code)
    found = {
        "ItemCode": item["ItemCode"], "ItemType": item.get("ItemType"), "ItemCodeDesc": item.get("ItemCodeDesc"),
        "UnitOfMeasure": item.get("SalesUnitOfMeasure"), price_field: item.get("StandardUnitPrice"),
        "UnitCost": item.get("StandardUnitCost"), "SalesAcctKey": item.get("SalesAcctKey"),
        "CostOfGoodsSoldAcctKey": item.get("CostOfGoodsSoldAcctKey"), "ProductLine": item.get("ProductLine"),
        "Valuation": item.get("Valuation"), "WarehouseCode": line.get("WarehouseCode") or item.get(
            "DefaultWarehouseCode"),
    }
    return {name: value for name, value in found.items() if value is not None}


def extension(line: Record, quantity_field: str) -> Decimal:
    quantity = line.get(quantity_field) or ZERO
    price = line.get("UnitPrice") or ZERO
    discount = (line.get("LineDiscountPercent") or ZERO) / Decimal(100)
    return money(quantity * price * (Decimal(1) - discount))
