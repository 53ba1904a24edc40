"""Lookups business objects validate against, with the texts Sage-style objects fail with.

Two families of text, on purpose: a record a document *refers to* that is missing "is not on file" (customer,
vendor, item, invoice: Ledgerbridge can sync it first), while a bad *code* is "Invalid ..." (division, terms,
G/L account, warehouse: someone has to fix the mapping).
"""

from __future__ import annotations

from .base import BoiError, Record
from .db import CompanyDb


class Checks:
    def __init__(self, db: CompanyDb) -> None:
        self.db = db

    def division(self, division_no: str) -> None:
        if not self.db.exists("AR_Division", ARDivisionNo=division_no):
            raise BoiError(f"Invalid division {division_no}.")

    def customer(self, division_no: str, customer_no: str) -> Record:
        row = self.db.get("AR_Customer", ARDivisionNo=division_no, CustomerNo=customer_no)
        if row is None:
            raise BoiError(f"Customer {division_no}-{customer_no} is not on file.")
        if row.get("CustomerStatus") == "I":
            raise BoiError(f"Customer {division_no}-{customer_no} is inactive.")
        return row

    def vendor(self, division_no: str, vendor_no: str) -> Record:
        row = self.db.get("AP_Vendor", APDivisionNo=division_no, VendorNo=vendor_no)
        if row is None:
            raise BoiError(f"Vendor {division_no}-{vendor_no} is not on file.")
        return row

    def item(self, item_code: str) -> Record:
        row = self.db.get("CI_Item", ItemCode=item_code)
        if row is None:
            raise BoiError(f"Item {item_code} is not on file.")
        if row.get("InactiveItem") == "Y":
            raise BoiError(f"Item {item_code} is inactive.")
        return row

    def warehouse(self, warehouse_code: str) -> None:
        if not self.db.exists("IM_Warehouse", WarehouseCode=warehouse_code):
            raise BoiError(f"Invalid warehouse code {warehouse_code}.")

    def gl_account(self, account_key: str) -> Record:
        row = self.db.get("GL_Account", AccountKey=account_key)
        if row is None:
            raise BoiError(f"Invalid G/L account key {account_key}.")
        if row.get("Status") != "A":
            raise BoiError(f"Invalid G/L account {row['Account']}: the account is inactive.")
        return row

    def terms_code(self, table: str, terms_code: str) -> Record:
        row = self.db.get(table, TermsCode=terms_code)
        if row is None:
            raise BoiError(f"Invalid terms code {terms_code}.")
        return row

    def payment_type(self, payment_type: str) -> Record:
        row = self.db.get("AR_PaymentType", PaymentType=payment_type)
        if row is None:
            raise BoiError(f"Invalid payment type {payment_type}.")
        return row

    def salesperson(self, division_no: str, salesperson_no: str) -> None:
        if not self.db.exists("AR_Salesperson", SalespersonDivisionNo=division_no, SalespersonNo=salesperson_no):
            raise BoiError(f"Invalid salesperson {division_no}-{salesperson_no}.")
