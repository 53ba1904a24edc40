"""Customers and suppliers: unique codes, the ``Create...IfDuplicate`` flags, renames, aggregates.

Both are addressed by ``Code`` and share their rules, so one implementation serves both, parameterised by
:class:`PartyKind`; only the document shapes differ (customers have ``Addresses[]``, suppliers one
``Address``; ``VATNumber`` vs ``VatNumber``).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .base import dumps_doc, loads_doc
from .documents import INVOICE, PURCHASE, DocKind, DocumentsMixin
from .model import (
    CUSTOMER_FIELDS,
    FOUR_DP,
    NEVER,
    SUPPLIER_FIELDS,
    Page,
    RefData,
    address,
    canonical_keys,
    contacts,
    direction,
    f4,
    flag,
    invalid,
    kf_date,
    like,
    money,
    name_values,
    not_found,
    parse_date,
    payment_terms,
    resolve_sort,
    text,
    whole,
)

CODE_LIMIT = 20  # not published; Kashflow's UI codes are short (e.g. "PDRI91")
_PAID = "COALESCE(s.paid, 0)"
_OUTSTANDING = "COALESCE(s.gross - s.paid, 0)"


def build_customer(data: dict[str, Any], refs: RefData, default_days: int) -> dict[str, Any]:
    """The stored customer document (Code, Name, dates and aggregates live in columns / are computed)."""
    people = contacts(data.get("Contacts"))
    addresses = [address(a) for a in data.get("Addresses") or []]
    currency = refs.currency(data.get("Currency"))
    return {
        "Email": data.get("Email") or (people[0].get("Email") if people else "") or "",
        "TelephoneNumber": data.get("TelephoneNumber") or "", "MobileNumber": data.get("MobileNumber") or "",
        "FaxNumber": data.get("FaxNumber") or "", "Website": data.get("Website") or "", "Contacts": people,
        "Addresses": addresses,
        "DeliveryAddresses": [address(a, "DeliveryAddresses") for a in data.get("DeliveryAddresses") or []],
        "UseCustomDeliveryAddress": flag(data.get("UseCustomDeliveryAddress")),
        "VATNumber": text(data.get("VATNumber"), "VATNumber", 20),
        "IsRegisteredInEC": flag(data.get("IsRegisteredInEC")),
        "IsRegisteredOutsideEC": flag(data.get("IsRegisteredOutsideEC")),
        "AutoIncludeVATNumber": flag(data.get("AutoIncludeVATNumber")),
        "Currency": {k: currency[k] for k in ("Code", "ExchangeRate", "Name", "Symbol")}
        | {"DisplaySymbolOnRight": currency["DisplaySymbolOnRight"]},
        "PaymentTerms": payment_terms(data.get("PaymentTerms"), default_days),
        "DiscountRate": f4(money(data.get("DiscountRate"), FOUR_DP, "DiscountRate")),
        "ShowDiscount": flag(data.get("ShowDiscount")),
        "ReceivesWholesalePricing": flag(data.get("ReceivesWholesalePricing")),
        "DefaultNominalCode": whole(data.get("DefaultNominalCode"), "DefaultNominalCode"),
        "DefaultCustomerReference": data.get("DefaultCustomerReference") or "", "Note": data.get("Note") or "",
        "IsArchived": flag(data.get("IsArchived")),
        "CustomTextBoxes": name_values(data.get("CustomTextBoxes"), "CustomTextBoxes"),
        "CustomCheckBoxes": name_values(data.get("CustomCheckBoxes"), "CustomCheckBoxes"),
        "Source": whole(data.get("Source"), "Source"), "SourceName": "", "IsSchedule": False,
        "EmailTemplateNumber": whole(data.get("EmailTemplateNumber"), "EmailTemplateNumber"),
        "PDFThemeId": whole(data.get("PDFThemeId"), "PDFThemeId"),
        "InvoiceFileFormat": data.get("InvoiceFileFormat") or "",
        "OverrideInvoiceFileFormat": flag(data.get("OverrideInvoiceFileFormat")),
        "AutomaticCreditControlEnabled": flag(data.get("AutomaticCreditControlEnabled")),
        "EnableCreditLimit": flag(data.get("EnableCreditLimit")),
        "CreditLimit": f4(money(data.get("CreditLimit"), FOUR_DP, "CreditLimit")),
        "TradeBorderType": whole(data.get("TradeBorderType"), "TradeBorderType"),
        "IsCISReverseCharge": flag(data.get("IsCISReverseCharge")), "ApplyWHT": flag(data.get("ApplyWHT")),
        "WHTRate": f4(money(data.get("WHTRate"), FOUR_DP, "WHTRate")),
        "WHTReferences": name_values(data.get("WHTReferences"), "WHTReferences"),
        "UniqueEntityNumber": data.get("UniqueEntityNumber") or "", "IsGoCardlessMandateSet": False,
    }


def build_supplier(data: dict[str, Any], refs: RefData, default_days: int) -> dict[str, Any]:
    currency = refs.currency(data.get("Currency"))
    bank = canonical_keys(data.get("BankAccount") or {}, ("Name", "Number", "SortCode"), "BankAccount")
    method = whole(data.get("PaymentMethod"), "PaymentMethod")
    if method and method not in refs.payment_methods.get("purchase", {}):
        raise invalid(f"PaymentMethod {method} is not a purchase payment method.")
    return {
        "Address": address(data.get("Address")), "Contacts": contacts(data.get("Contacts")),
        "BankAccount": {k: bank.get(k) or "" for k in ("Name", "Number", "SortCode")},
        "VatNumber": text(data.get("VatNumber"), "VatNumber", 20), "PaymentMethod": method,
        "DefaultNominalCode": whole(data.get("DefaultNominalCode"), "DefaultNominalCode"),
        "PaymentTerms": payment_terms(data.get("PaymentTerms"), default_days),
        "Currency": {k: currency[k] for k in ("Code", "ExchangeRate", "Name", "Symbol")}
        | {"DisplaySymbolOnRight": currency["DisplaySymbolOnRight"]},
        "WithholdingTaxRate": f4(money(data.get("WithholdingTaxRate", -1), FOUR_DP, "WithholdingTaxRate")),
        "ApplyWithholdingTax": flag(data.get("ApplyWithholdingTax")),
        "WithholdingTaxReferences": name_values(data.get("WithholdingTaxReferences"), "WithholdingTaxReferences")
        or None,
        "UniqueEntityNumber": data.get("UniqueEntityNumber") or "", "Note": data.get("Note") or "",
        "DefaultPdfTheme": whole(data.get("DefaultPdfTheme"), "DefaultPdfTheme"),
        "TradeBorderType": whole(data.get("TradeBorderType"), "TradeBorderType"),
        "IsArchived": flag(data.get("IsArchived")), "IsCISReverseCharge": flag(data.get("IsCISReverseCharge")),
        "IsRegisteredInEC": flag(data.get("IsRegisteredInEC")), "IsVatRateEnabled": flag(data.get("IsVatRateEnabled")),
        "DefaultVatRate": f4(money(data.get("DefaultVatRate"), FOUR_DP, "DefaultVatRate")),
        "VatExempt": flag(data.get("VatExempt")), "SourceName": "", "UsesDefaultPdftTheme": True,
        "DoesSupplierHasTransactionsInVATReturn": False,
    }


@dataclass(frozen=True)
class PartyKind:
    name: str
    table: str
    label: str
    documents: DocKind
    fields: tuple[str, ...]
    code_flag: str
    name_flag: str
    sort: dict[int, str]
    sort_names: dict[str, int]
    code_required: bool
    build: Callable[[dict[str, Any], RefData, int], dict[str, Any]]
    list_keys: tuple[str, ...]


CUSTOMER = PartyKind(
    "customer", "customers", "Customer", INVOICE, CUSTOMER_FIELDS, "CreateCustomerCodeIfDuplicate",
    "CreateCustomerNameIfEmptyOrNull", {0: "t.name", 1: "t.code", 3: _PAID, 4: _OUTSTANDING},
    {"name": 0, "code": 1, "totalpaidamount": 3, "outstandingbalance": 4}, False, build_customer,
    ("Id", "Code", "Name", "TotalPaidAmount", "OutstandingBalance", "IsSchedule", "SourceName", "DefaultNominalCode",
     "IsArchived", "VATNumber", "TradeBorderType", "IsCISReverseCharge", "ApplyWithholdingTax", "CustomerKey",
     "Contacts", "Addresses", "Currency"),
)
SUPPLIER = PartyKind(
    "supplier", "suppliers", "Supplier", PURCHASE, SUPPLIER_FIELDS, "CreateSupplierCodeIfDuplicate",
    "CreateSupplierNameIfEmptyOrNull", {0: "t.name", 1: "t.code", 2: _PAID, 3: _OUTSTANDING},
    {"name": 0, "code": 1, "totalpaidamount": 2, "outstandingbalance": 3}, True, build_supplier,
    ("Id", "Code", "Name", "TotalPaidAmount", "OutstandingBalance", "DefaultNominalCode", "IsArchived", "VatNumber",
     "Contacts", "Address", "Currency", "PaymentTerms"),
)


def suggest_code(name: str, taken: Callable[[str], bool]) -> str:
    """Kashflow-style code: four letters of the name and a two-digit counter (ACME01, ACME02...)."""
    stem = ("".join(ch for ch in name.upper() if ch.isalnum()) + "XXXX")[:4]
    for n in range(1, 10_000):
        code = f"{stem}{n:02d}"
        if not taken(code):
            return code
    raise invalid("Could not generate a unique code.")


def check_code(code: str, label: str) -> str:
    if len(code) > CODE_LIMIT:
        raise invalid(f"{label} code must be at most {CODE_LIMIT} characters.")
    if any(ch in code for ch in "/\\?#%"):
        raise invalid(f"{label} code cannot contain / \\ ? # or %.")
    return code


class PartiesMixin(DocumentsMixin):
    def list_parties(
        self, kind: PartyKind, *, page: int, perpage: int, sortby: str | None = None, order: str | None = None,
        namestartswith: str | None = None, searchtext: str | None = None, filterarchived: str | None = None,
        startcreationdate: str | None = None, endcreationdate: str | None = None,
    ) -> Page:
        where, args = [], []
        if namestartswith:
            where.append("t.name LIKE ? ESCAPE '\\'")
            args.append(like(namestartswith) + "%")
        if searchtext:
            where.append("(t.name LIKE ? ESCAPE '\\' OR t.code LIKE ? ESCAPE '\\')")
            args += [f"%{like(searchtext)}%"] * 2
        if flag(filterarchived):
            where.append("t.archived = 0")
        if startcreationdate:
            where.append("substr(t.created_at, 1, 10) >= ?")
            args.append(parse_date(startcreationdate, "startcreationdate").isoformat())
        if endcreationdate:
            where.append("substr(t.created_at, 1, 10) <= ?")
            args.append(parse_date(endcreationdate, "endcreationdate").isoformat())
        sort = resolve_sort(sortby, kind.sort, kind.sort_names, 0)
        way = direction(order)
        joins = ""
        if "s." in sort:  # aggregate only when the sort needs it
            joins = (f"LEFT JOIN (SELECT party_id, SUM(paid) AS paid, SUM(gross) AS gross FROM {kind.documents.table}"  # noqa: S608
                     " GROUP BY party_id) s ON s.party_id = t.id")

        def render_page(rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
            stats = self._party_stats(kind, [r["id"] for r in rows])  # one aggregate query per page
            return [self._list_item(kind, self._render_party(kind, r, stats)) for r in rows]

        return self._page(kind.table, where, args, f"{sort} {way}, t.code {way}", page, perpage,
                          render_page=render_page, select="t.*", joins=joins)

    def get_party(self, kind: PartyKind, code: str) -> dict[str, Any]:
        row = self._one(f"SELECT * FROM {kind.table} WHERE code = ?", (code,))  # noqa: S608
        if row is None:
            raise not_found(f"{kind.label} with code {code} not found.")
        return self._render_party(kind, row, self._party_stats(kind, [row["id"]]))

    def create_party(self, kind: PartyKind, payload: Any) -> dict[str, Any]:
        """POST: Code unique unless the Create...CodeIfDuplicate flag asks for a generated one."""
        data = canonical_keys(payload, kind.fields)
        with self.transaction() as db:
            name = text(data.get("Name"), "Name", 100).strip()
            if not name:
                if not flag(data.get(kind.name_flag)):
                    raise invalid(f"{kind.label} name is required.")
                count = db.execute(f"SELECT COUNT(*) FROM {kind.table}").fetchone()[0]  # noqa: S608
                name = f"{kind.label} {count + 1}"
            code = check_code(text(data.get("Code"), "Code").strip(), kind.label)
            exists = bool(code) and self._code_taken(db, kind, code)
            if exists and not flag(data.get(kind.code_flag)):
                raise invalid(f"{kind.label} code '{code}' already exists.", "DuplicateCode")
            if not code and kind.code_required and not flag(data.get(kind.code_flag)):
                raise invalid(f"{kind.label} code is required.")
            if not code or exists:
                code = suggest_code(name, lambda c: self._code_taken(db, kind, c))
            doc = kind.build(data, self.refs(), int(self.get_setting("default_payment_terms_days")))
            doc["Key"] = str(uuid.uuid4())
            now = self.now()
            db.execute(f"INSERT INTO {kind.table}(code, name, archived, created_at, updated_at, doc)"  # noqa: S608
                       " VALUES (?, ?, ?, ?, ?, ?)", (code, name, int(doc["IsArchived"]), now, now, dumps_doc(doc)))
        return self.get_party(kind, code)

    def update_party(self, kind: PartyKind, code: str, payload: Any, *, update_invoice_addresses: bool = False
                     ) -> tuple[dict[str, Any], bool]:
        """PUT: a full replacement; (party, renamed). A new Code renames it (Kashflow answers 201)."""
        data = canonical_keys(payload, kind.fields)
        with self.transaction() as db:
            row = db.execute(f"SELECT * FROM {kind.table} WHERE code = ?", (code,)).fetchone()  # noqa: S608
            if row is None:
                raise not_found(f"{kind.label} with code {code} not found.")
            name = text(data.get("Name"), "Name", 100).strip()
            if not name:
                raise invalid(f"{kind.label} name is required.")
            new_code = check_code(text(data.get("Code"), "Code").strip() or row["code"], kind.label)
            renamed = new_code.upper() != row["code"].upper()
            if renamed and self._code_taken(db, kind, new_code):
                raise invalid(f"{kind.label} code '{new_code}' already exists.", "DuplicateCode")
            doc = kind.build(data, self.refs(), int(self.get_setting("default_payment_terms_days")))
            doc["Key"] = loads_doc(row["doc"]).get("Key")
            db.execute(f"UPDATE {kind.table} SET code = ?, name = ?, archived = ?, updated_at = ?, doc = ?"  # noqa: S608
                       " WHERE id = ?", (new_code, name, int(doc["IsArchived"]), self.now(), dumps_doc(doc), row["id"]))
            db.execute(f"UPDATE {kind.documents.table} SET party_code = ?, party_name = ? WHERE party_id = ?",  # noqa: S608
                       (new_code, name, row["id"]))
            if update_invoice_addresses and kind is CUSTOMER:
                self._cascade_address(db, row["id"], (doc.get("Addresses") or [None])[0])
        return self.get_party(kind, new_code), renamed

    def delete_party(self, kind: PartyKind, code: str) -> None:
        """DELETE: removes the party with its documents (as Kashflow's customer deletion does)."""
        with self.transaction() as db:
            row = db.execute(f"SELECT * FROM {kind.table} WHERE code = ?", (code,)).fetchone()  # noqa: S608
            if row is None:
                raise not_found(f"{kind.label} with code {code} not found.")
            docs = db.execute(f"SELECT * FROM {kind.documents.table} WHERE party_id = ?",  # noqa: S608
                              (row["id"],)).fetchall()
            self._purge_documents(db, kind.documents, docs)
            db.execute("DELETE FROM notes WHERE object_type = ? AND object_id = ?",
                       (1 if kind is CUSTOMER else 2, row["id"]))
            db.execute(f"DELETE FROM {kind.table} WHERE id = ?", (row["id"],))  # noqa: S608

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _code_taken(db: sqlite3.Connection, kind: PartyKind, code: str) -> bool:
        return db.execute(f"SELECT 1 FROM {kind.table} WHERE code = ?", (code,)).fetchone() is not None  # noqa: S608

    def _cascade_address(self, db: sqlite3.Connection, party_id: int, new: dict[str, Any] | None) -> None:
        unpaid = db.execute("SELECT id, doc FROM invoices WHERE party_id = ? AND status = 'Unpaid'", (party_id,))
        for row in unpaid.fetchall():
            doc = loads_doc(row["doc"])
            doc["Address"] = new or address(None)
            db.execute("UPDATE invoices SET doc = ? WHERE id = ?", (dumps_doc(doc), row["id"]))

    def _party_stats(self, kind: PartyKind, ids: list[int]) -> dict[int, sqlite3.Row]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(
            "SELECT party_id, COUNT(*) n, SUM(net) net, SUM(vat) vat, SUM(gross) gross, SUM(paid) paid,"  # noqa: S608
            " MIN(issued_date) first, MAX(issued_date) last,"
            " SUM(CASE WHEN status = 'Unpaid' AND due_date < ? THEN gross - paid ELSE 0 END) overdue"
            f" FROM {kind.documents.table} WHERE party_id IN ({marks}) GROUP BY party_id",
            [self.today().isoformat(), *ids],
        )
        return {r["party_id"]: r for r in rows}

    def _render_party(self, kind: PartyKind, row: sqlite3.Row, stats: dict[int, sqlite3.Row]) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        s = stats.get(row["id"])

        def total(column: str) -> Decimal:
            return money((s[column] if s else 0) or 0, FOUR_DP)

        def day(column: str) -> str | None:
            return kf_date(date.fromisoformat(s[column])) if s and s[column] else NEVER

        out = {"Id": row["id"], "Code": row["code"], "Name": row["name"], **doc,
               "CreatedDate": row["created_at"], "LastUpdatedDate": row["updated_at"],
               "TotalPaidAmount": total("paid"),
               "OutstandingBalance": (total("gross") - total("paid")).quantize(FOUR_DP)}
        if kind is CUSTOMER:
            postcode = (doc.get("Addresses") or [{}])[0].get("PostCode") if doc.get("Addresses") else ""
            out |= {
                "DisplayName": f"{row['name']}, {postcode}" if postcode else row["name"],
                "CustomerKey": doc.get("Key"), "ApplyWithholdingTax": doc.get("ApplyWHT", False),
                "InvoiceCount": int(s["n"]) if s else 0, "InvoicedNetAmount": total("net"),
                "InvoicedVATAmount": total("vat"), "OverdueAmount": total("overdue"),
                "FirstInvoiceDate": day("first"), "LastInvoiceDate": day("last"), "AverageDaysToPay": 0,
            }
        else:
            out |= {
                "BilledNetAmount": total("net"), "BilledVatAmount": total("vat"),
                "TotalDueAmount": out["OutstandingBalance"], "FirstPurchaseDate": day("first"),
                "LastPurchaseDate": day("last"),
            }
        return out

    @staticmethod
    def _list_item(kind: PartyKind, full: dict[str, Any]) -> dict[str, Any]:
        return {key: full.get(key) for key in kind.list_keys}

