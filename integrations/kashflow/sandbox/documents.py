"""Sales invoices and purchases: lines, server-computed totals, payment lines, bulk payments, stock movements.

Both are the same kind of record in Kashflow (a numbered document for a customer or a supplier, with
``LineItems`` and ``PaymentLines``), so one implementation serves both, parameterised by :class:`DocKind`.
"""

from __future__ import annotations

import calendar
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .base import dumps_doc, loads_doc
from .ledger import LedgerMixin
from .model import (
    BULK_FIELDS,
    BULK_ITEM_FIELDS,
    CENT,
    FOUR_DP,
    INVOICE_FIELDS,
    LINE_FIELDS,
    PAYMENT_FIELDS,
    PURCHASE_FIELDS,
    STOCK_INFO_FIELDS,
    Page,
    RefData,
    address,
    canonical_keys,
    direction,
    f4,
    flag,
    invalid,
    kf_date,
    like,
    money,
    not_found,
    objects,
    optional_date,
    parse_date,
    positive,
    resolve_sort,
    text,
    whole,
)

_DOC_SORT = {
    0: "t.number", 1: "t.reference", 2: "t.party_name", 3: "t.issued_date", 4: "t.due_date", 5: "t.gross",
    6: "t.net", 7: "t.status", 8: "t.paid_date", 9: "(t.gross - t.paid)", 10: "t.type",
}
INVOICE_SORT = _DOC_SORT | {11: "t.vat", 12: "t.project_number"}
PURCHASE_SORT = _DOC_SORT | {11: "t.project_number", 12: "t.vat"}
_SORT_NAMES = {
    "number": 0, "paymentduedate": 4, "duedate": 4, "grossamount": 5, "netamount": 6, "status": 7,
    "paiddate": 8, "dueamount": 9, "type": 10,
}
INVOICE_SORT_NAMES = _SORT_NAMES | {
    "customerref": 1, "customerreference": 1, "customername": 2, "invoicedate": 3, "issueddate": 3,
    "paymentpaiddate": 8, "vatamount": 11, "vat": 11, "project": 12,
}
PURCHASE_SORT_NAMES = _SORT_NAMES | {
    "supplierreference": 1, "supplierref": 1, "suppliername": 2, "purchasedate": 3, "issueddate": 3,
    "project": 11, "vat": 12, "vatamount": 12,
}
STATUS_FILTERS = {
    "paid": "t.status = 'Paid'",
    "unpaid": "t.status = 'Unpaid'",
    "partpaid": "t.status = 'Unpaid' AND t.paid > 0",
    "partiallypaid": "t.status = 'Unpaid' AND t.paid > 0",
    "overdue": "t.status = 'Unpaid' AND t.due_date < ?",
}


@dataclass(frozen=True)
class DocKind:
    name: str  # "invoice" / "purchase" (also the payment kind)
    table: str
    label: str
    party_table: str
    party_label: str
    party_field: str  # CustomerCode / SupplierCode
    party_id_field: str
    party_name_field: str
    reference_field: str
    fields: tuple[str, ...]
    permalink: str
    payment_permalink: str
    sort: dict[int, str]
    sort_names: dict[str, int]
    stock_sign: int  # sales take stock out, received purchases put it in


INVOICE = DocKind(
    "invoice", "invoices", "Invoice", "customers", "Customer", "CustomerCode", "CustomerId", "CustomerName",
    "CustomerReference", INVOICE_FIELDS, "invoice", "invoice/payment", INVOICE_SORT, INVOICE_SORT_NAMES, -1,
)
PURCHASE = DocKind(
    "purchase", "purchases", "Purchase", "suppliers", "Supplier", "SupplierCode", "SupplierId", "SupplierName",
    "SupplierReference", PURCHASE_FIELDS, "purchaseorder", "purchase/payment", PURCHASE_SORT, PURCHASE_SORT_NAMES, 1,
)
KINDS = {"invoices": INVOICE, "purchases": PURCHASE}


@dataclass
class PaymentIn:
    """A validated payment line ready for the payments table."""

    id: int | None
    date: date
    amount: Decimal
    method: int
    account_id: int
    reference: str = ""
    note: str = ""


@dataclass
class Built:
    """A validated document: its stored JSON plus the values the indexed columns hold."""

    doc: dict[str, Any]
    issued: date
    due: date
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    reference: str
    project: int
    type: str
    stock: dict[tuple[int, str], int] = field(default_factory=dict)


def due_date(issued: date, terms: dict[str, Any] | None, default_days: int) -> date:
    days = int((terms or {}).get("Days") if (terms or {}).get("Days") is not None else default_days)
    if (terms or {}).get("Type") == "AfterMonthEnd":
        issued = issued.replace(day=calendar.monthrange(issued.year, issued.month)[1])
    return issued + timedelta(days=days)


def status_of(gross: Decimal, paid: Decimal) -> str:
    return "Paid" if paid >= gross else "Unpaid"


def build_lines(kind: DocKind, raw_lines: Any, refs: RefData
                ) -> tuple[list[dict[str, Any]], Decimal, Decimal, dict[tuple[int, str], int]]:
    """Lines with server-computed VAT, in their stored (compact) form; returns (lines, net, vat, stock moved).

    Derived fields (NominalName, home-currency amounts...) are added when rendering: see ``render_line``.
    """
    lines: list[dict[str, Any]] = []
    net_total = vat_total = Decimal(0)
    stock: dict[tuple[int, str], int] = {}
    for n, line in enumerate(objects(raw_lines, LINE_FIELDS, "LineItems"), start=1):
        where = f"line {n}"
        code = text(line.get("ProductCode"), f"{where} ProductCode").strip()
        given_nominal = line.get("NominalCode")
        nominal_hint = None if given_nominal in (None, "") else whole(given_nominal, where)
        product = refs.product(nominal_hint, code) if code else None
        if given_nominal in (None, ""):
            if product is None:
                raise invalid(f"NominalCode is required on {where}.")
            given_nominal = product["NominalCode"]
        nominal, _ = refs.nominal(given_nominal, where)
        qty = money(line.get("Quantity", 1), FOUR_DP, f"{where} Quantity")
        unit = money(line["Rate"], FOUR_DP, f"{where} Rate") if line.get("Rate") not in (None, "") else (
            Decimal(str(product["Price"])) if product else Decimal(0))
        exempt = flag(line["VATExempt"]) if "VATExempt" in line else bool(product and product.get("VATExempt"))
        level_in = line.get("VATLevel")
        if level_in in (None, "") and product is not None:
            level_in = product.get("VATRate")
        level = Decimal(0) if exempt else refs.vat_level(level_in, where)
        line_net = (qty * unit).quantize(CENT, rounding=ROUND_HALF_UP)
        if exempt:
            vat = Decimal(0)
        elif line.get("VATAmount") not in (None, ""):
            vat = money(line["VATAmount"], CENT, f"{where} VATAmount")
        else:
            vat = (line_net * level / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        net_total += line_net
        vat_total += vat
        out: dict[str, Any] = {
            "Number": whole(line.get("Number"), f"{where} Number", n), "Description": line.get("Description") or "",
            "Quantity": f4(qty), "Rate": f4(unit), "VATLevel": f4(level), "VATExempt": exempt, "VATAmount": f4(vat),
            "NominalCode": nominal, "ProductCode": product["Code"] if product else code,
            "ProductName": product["Name"] if product else "",
            "ProjectNumber": whole(line.get("ProjectNumber"), f"{where} ProjectNumber"),
        }
        if line.get("TaxCode"):
            out["TaxCode"] = str(line["TaxCode"])
        if flag(line.get("Disallowed")):
            out["Disallowed"] = True
        managed = product is not None and product.get("ManageStockLevel")
        received = bool(managed)
        if kind is PURCHASE:
            duty = money(line.get("ImportDuty"), CENT, f"{where} ImportDuty")
            if duty:
                out["ImportDuty"] = f4(duty)
            out["StockInfo"] = _stock_info(line.get("StockInfo"), where) if managed else None
            received = bool(managed and out["StockInfo"]["Received"])
        if received and product is not None:
            key = (product["NominalCode"], product["Code"])
            stock[key] = stock.get(key, 0) + kind.stock_sign * int(qty.to_integral_value(ROUND_HALF_UP))
        lines.append(out)
    return lines, net_total, vat_total, stock


def render_line(kind: DocKind, line: dict[str, Any], refs: RefData, rate: Decimal) -> dict[str, Any]:
    """A stored line as Kashflow returns it: nominal name and id, home-currency amounts, defaults."""
    nominal = refs.nominals.get(line["NominalCode"]) or {}
    unit, vat = line["Rate"], line["VATAmount"]
    out = {
        "Number": line["Number"], "Description": line["Description"], "Quantity": line["Quantity"], "Rate": unit,
        "VATLevel": line["VATLevel"], "VATExempt": line["VATExempt"], "VATAmount": vat,
        "NominalCode": line["NominalCode"], "NominalId": nominal.get("Id", 0), "NominalName": nominal.get("Name", ""),
        "ProductCode": line["ProductCode"], "ProductName": line["ProductName"], "TaxCode": line.get("TaxCode"),
        "Disallowed": line.get("Disallowed", False), "ProjectNumber": line["ProjectNumber"], "ProjectName": "",
        "HomeCurrencyRate": unit if rate == 1 else (unit / rate).quantize(FOUR_DP, ROUND_HALF_UP),
        "HomeCurrencyVATAmount": vat if rate == 1 else (vat / rate).quantize(FOUR_DP, ROUND_HALF_UP),
    }
    if kind is PURCHASE:
        duty = line.get("ImportDuty", Decimal(0))
        out |= {"ImportDuty": duty, "HomeCurrencyImportDuty": duty if rate == 1 else (duty / rate).quantize(FOUR_DP),
                "DisableDisallowed": False, "StockInfo": dict(line["StockInfo"]) if line.get("StockInfo") else None}
    return out


def _stock_info(raw: Any, where: str) -> dict[str, Any]:
    info = canonical_keys(raw or {}, STOCK_INFO_FIELDS, f"{where} StockInfo")
    received = flag(info.get("Received"))
    on = optional_date(info.get("StockReceivedOn"), f"{where} StockInfo.StockReceivedOn")
    return {"QuantityInStock": 0, "Received": received, "StockReceivedOn": kf_date(on) if received and on else None,
            "Type": "Product"}


def build_document(kind: DocKind, data: dict[str, Any], *, party: dict[str, Any], refs: RefData, today: date,
                   default_days: int, new_guid: Callable[[], uuid.UUID | str] = uuid.uuid4) -> Built:
    """Validate a POST/PUT body for an invoice or purchase and compute everything Kashflow computes.

    The stored document keeps what was sent and computed; constants and derived values are added by
    ``DocumentsMixin._render_document``.
    """
    issued = optional_date(data.get("IssuedDate"), "IssuedDate") or today
    due = optional_date(data.get("DueDate"), "DueDate") or due_date(issued, party.get("PaymentTerms"), default_days)
    currency = refs.currency(data.get("Currency") or {"Code": (party.get("Currency") or {}).get("Code")})
    lines, net, vat, stock = build_lines(kind, data.get("LineItems"), refs)
    gross = net + vat
    reference = text(data.get(kind.reference_field), kind.reference_field, 50)
    project = whole(data.get("ProjectNumber"), "ProjectNumber")
    doc: dict[str, Any] = {
        kind.reference_field: reference, "IssuedDate": kf_date(issued), "DueDate": kf_date(due),
        "ProjectNumber": project, "Currency": {"Code": currency["Code"], "ExchangeRate": currency["ExchangeRate"]},
        "LineItems": lines, "NetAmount": f4(net), "VATAmount": f4(vat), "GrossAmount": f4(gross),
        "Guid": str(new_guid()),
    }
    for name in ("IsCISReverseCharge", "IsWhtDeductionToBeApplied"):
        if flag(data.get(name)):
            doc[name] = True
    doc_type = "Invoice"
    if kind is INVOICE:
        addresses = party.get("Addresses") or [{}]
        if party.get("VATNumber"):
            doc["VATNumber"] = party["VATNumber"]
        if party.get("DiscountRate"):
            doc["CustomerDiscount"] = party["DiscountRate"]
        doc["Address"] = address(data["Address"]) if data.get("Address") else dict(addresses[0] or {})
        if data.get("DeliveryAddress"):
            doc["DeliveryAddress"] = address(data["DeliveryAddress"], "DeliveryAddress")
        for name in ("UseCustomDeliveryAddress", "AutomaticCreditControlEnabled", "InvoiceInECMemberState",
                     "InvoiceOutsideECMemberState"):
            if flag(data.get(name)):
                doc[name] = True
        for name in ("SuppressNumber", "PayOnlinePaymentProcessor"):
            if data.get(name):
                doc[name] = whole(data[name], name)
    else:
        doc_type = str(data.get("Type") or "Purchase").strip().capitalize()
        if doc_type not in ("Purchase", "Expense"):
            raise invalid(f"Type '{data.get('Type')}' is not valid; use Purchase or Expense.")
        if data.get("AdditionalFieldValue"):
            doc["AdditionalFieldValue"] = str(data["AdditionalFieldValue"])
    return Built(doc, issued, due, currency["Code"], net, vat, gross, reference, project, doc_type, stock)


def read_payments(kind: DocKind, raw: Any, refs: RefData, today: date) -> list[PaymentIn]:
    out = []
    for n, pay in enumerate(objects(raw, PAYMENT_FIELDS, "PaymentLines"), start=1):
        where = f"payment line {n}"
        amount = money(pay.get("Amount"), CENT, f"{where} Amount")
        if amount <= 0:
            raise invalid(f"Amount must be greater than zero ({where}).")
        account = refs.account(pay.get("AccountId"), where)
        out.append(PaymentIn(
            id=whole(pay.get("Id"), f"{where} Id") or None,
            date=optional_date(pay.get("Date"), f"{where} Date") or today, amount=amount,
            method=refs.method(pay.get("Method"), kind.name, account, where), account_id=account["Id"],
            reference=text(pay.get("Reference"), f"{where} Reference", 50), note=text(pay.get("Note"), "Note", 255),
        ))
    return out


class DocumentsMixin(LedgerMixin):
    # ------------------------------------------------------------------ reads

    def list_documents(
        self, kind: DocKind, *, page: int, perpage: int, sortby: str | None = None, order: str | None = None,
        party_code: str | None = None, status: str | None = None, project: str | None = None,
        date_from: str | None = None, date_to: str | None = None, search: str | None = None,
        doc_type: str | None = None,
    ) -> Page:
        where, args = [], []
        if party_code:
            where.append("t.party_code = ?")
            args.append(party_code)
        if status and status.strip().lower() not in ("all", "0", ""):
            clause = STATUS_FILTERS.get(status.strip().lower().replace(" ", "").replace("_", ""))
            if clause is None:
                raise invalid(f"The value '{status}' is not valid for the status filter; use paid, unpaid, "
                              "partpaid, overdue or all.")
            where.append(clause)
            if "?" in clause:
                args.append(self.today().isoformat())
        if project not in (None, ""):
            where.append("t.project_number = ?")
            args.append(whole(project, "projectnumber"))
        if date_from:
            where.append("t.issued_date >= ?")
            args.append(parse_date(date_from, "issuedatefrom").isoformat())
        if date_to:
            where.append("t.issued_date <= ?")
            args.append(parse_date(date_to, "issuedateto").isoformat())
        if search:
            where.append("(CAST(t.number AS TEXT) LIKE ? ESCAPE '\\' OR t.reference LIKE ? ESCAPE '\\'"
                         " OR t.party_name LIKE ? ESCAPE '\\' OR t.party_code LIKE ? ESCAPE '\\')")
            args += [f"%{like(search)}%"] * 4
        if doc_type is not None and doc_type.strip().lower() not in ("", "all"):
            where.append("t.type = ?")
            args.append(str(doc_type).strip().capitalize())
        sort = resolve_sort(sortby, kind.sort, kind.sort_names, 0)
        way = direction(order)
        return self._page(kind.table, where, args, f"{sort} {way}, t.number {way}", page, perpage,
                          lambda row: self._render_document(kind, row, detail=False), amount="t.gross")

    def get_document(self, kind: DocKind, number: int) -> dict[str, Any]:
        row = self._one(f"SELECT * FROM {kind.table} WHERE number = ?", (number,))  # noqa: S608
        if row is None:
            raise not_found(f"{kind.label} with number {number} not found.")
        return self._render_document(kind, row, detail=True)

    def status_counts(self, kind: DocKind) -> dict[str, int]:
        """How many documents are paid, part paid and unpaid."""
        row = self._query(f"SELECT SUM(status = 'Paid'), SUM(status != 'Paid' AND paid > 0), SUM(status != 'Paid'"  # noqa: S608
                          f" AND paid = 0) FROM {kind.table}")[0]
        return {"paid": int(row[0] or 0), "part_paid": int(row[1] or 0), "unpaid": int(row[2] or 0)}

    def next_number(self, kind: DocKind) -> int:
        with self._lock:
            return self._next_number(self._db, kind)

    # ------------------------------------------------------------------ writes

    def create_document(self, kind: DocKind, payload: Any) -> dict[str, Any]:
        """POST /invoices or /purchases: validate, compute totals and status, assign Number when omitted."""
        data = canonical_keys(payload, kind.fields)
        with self.transaction() as db:
            party = self._document_party(db, kind, data.get(kind.party_field))
            number = self._claim_number(db, kind, data.get("Number"))
            built = self._build(kind, data, party)
            payments = read_payments(kind, data.get("PaymentLines"), self.refs(), self.today())
            _check_paid(kind, number, built.gross, sum(p.amount for p in payments))
            now = self.now()
            cur = db.execute(_insert_sql(kind), _row(built, number, party, now, now))
            self._replace_payments(db, kind, int(cur.lastrowid or 0), payments)
            self._apply_stock(db, built.stock)
        return self.get_document(kind, number)

    def update_document(self, kind: DocKind, number: int, payload: Any) -> tuple[dict[str, Any], bool]:
        """PUT: a full replacement (omitted LineItems/PaymentLines are cleared); (document, renumbered)."""
        data = canonical_keys(payload, kind.fields)
        with self.transaction() as db:
            row = self._document_row(db, kind, number)
            party = self._document_party(db, kind, data.get(kind.party_field) or row["party_code"])
            new_number = positive(data.get("Number") or number, "Number")
            if new_number != number and db.execute(
                    f"SELECT 1 FROM {kind.table} WHERE number = ?", (new_number,)).fetchone():  # noqa: S608
                raise invalid(f"{kind.label} number {new_number} already exists.", "DuplicateNumber")
            old_lines = loads_doc(row["doc"]).get("LineItems") or []
            built = self._build(kind, data, party, keep_guid=loads_doc(row["doc"]).get("Guid"))
            payments = read_payments(kind, data.get("PaymentLines"), self.refs(), self.today())
            _check_paid(kind, new_number, built.gross, sum(p.amount for p in payments))
            values = _row(built, new_number, party, row["created_at"], self.now())
            db.execute(_update_sql(kind), (*values, row["id"]))
            self._replace_payments(db, kind, row["id"], payments)
            self._apply_stock(db, _negate(self._stock_of(kind, old_lines)))
            self._apply_stock(db, built.stock)
        return self.get_document(kind, new_number), new_number != number

    def delete_document(self, kind: DocKind, number: int) -> None:
        with self.transaction() as db:
            self._purge_documents(db, kind, [self._document_row(db, kind, number)])

    # ------------------------------------------------------------------ bulk payments

    def get_bulk_payment(self, kind: DocKind, number: int) -> dict[str, Any]:
        row = self._one("SELECT * FROM bulk_payments WHERE kind = ? AND number = ?", (kind.name, number))
        if row is None:
            raise not_found(f"Bulk payment {number} not found.")
        return self._render_bulk(kind, row)

    def create_bulk_payment(self, kind: DocKind, payload: Any) -> dict[str, Any]:
        """POST /{invoices|purchases}/bulk/payments: one payment line on each listed document."""
        data = canonical_keys(payload, BULK_FIELDS)
        with self.transaction() as db:
            number = whole(data.get("Number"), "Number")
            if number and db.execute("SELECT 1 FROM bulk_payments WHERE kind = ? AND number = ?",
                                     (kind.name, number)).fetchone():
                raise invalid(f"Bulk payment number {number} already exists.", "DuplicateNumber")
            if not number:
                top = db.execute("SELECT MAX(number) FROM bulk_payments WHERE kind = ?", (kind.name,)).fetchone()[0]
                number = int(top or 0) + 1
            cur = db.execute("INSERT INTO bulk_payments(kind, number, doc) VALUES (?, ?, '{}')", (kind.name, number))
            self._write_bulk(db, kind, int(cur.lastrowid or 0), number, data)
        return self.get_bulk_payment(kind, number)

    def update_bulk_payment(self, kind: DocKind, number: int, payload: Any) -> dict[str, Any]:
        data = canonical_keys(payload, BULK_FIELDS)
        with self.transaction() as db:
            row = self._bulk_row(db, kind, number)
            self._drop_bulk_payments(db, kind, row["id"])
            self._write_bulk(db, kind, row["id"], number, data)
        return self.get_bulk_payment(kind, number)

    def delete_bulk_payment(self, kind: DocKind, number: int) -> None:
        with self.transaction() as db:
            row = self._bulk_row(db, kind, number)
            self._drop_bulk_payments(db, kind, row["id"])
            db.execute("DELETE FROM bulk_payments WHERE id = ?", (row["id"],))

    @staticmethod
    def _bulk_row(db: sqlite3.Connection, kind: DocKind, number: int) -> sqlite3.Row:
        row = db.execute("SELECT * FROM bulk_payments WHERE kind = ? AND number = ?", (kind.name, number)).fetchone()
        if row is None:
            raise not_found(f"Bulk payment {number} not found.")
        return row

    def _write_bulk(self, db: sqlite3.Connection, kind: DocKind, bulk_id: int, number: int,
                    data: dict[str, Any]) -> None:
        refs = self.refs()
        when = optional_date(data.get("Date"), "Date") or self.today()
        account = refs.account(data.get("AccountId"), "bulk payment")
        method = refs.method(data.get("Method"), kind.name, account, "bulk payment")
        items = objects(data.get("PaymentItems"), BULK_ITEM_FIELDS, "PaymentItems")
        if not items:
            raise invalid("PaymentItems must list at least one payment.")
        touched: set[int] = set()
        for n, item in enumerate(items, start=1):
            where = f"payment item {n}"
            target = self._document_row(db, kind, positive(item.get("ObjectNumber"), f"{where} ObjectNumber"),
                                        missing=invalid)
            amount = money(item.get("Amount"), CENT, f"{where} Amount")
            if amount <= 0:
                raise invalid(f"Amount must be greater than zero ({where}).")
            paid_on = optional_date(item.get("PaidDate"), f"{where} PaidDate") or when
            self._insert_payment(db, kind, target["id"], PaymentIn(None, paid_on, amount, method, account["Id"],
                                                                      note=str(data.get("Comment") or "")),
                                 bulk=(bulk_id, number))
            touched.add(target["id"])
        for doc_id in touched:
            self._refresh_paid(db, kind, doc_id)
        doc = {"Date": kf_date(when), "Comment": data.get("Comment") or "", "AccountId": account["Id"],
               "Method": method, "Reconciled": flag(data.get("Reconciled"))}
        db.execute("UPDATE bulk_payments SET doc = ? WHERE id = ?", (dumps_doc(doc), bulk_id))

    def _drop_bulk_payments(self, db: sqlite3.Connection, kind: DocKind, bulk_id: int) -> None:
        parents = [r[0] for r in db.execute("SELECT DISTINCT parent_id FROM payments WHERE kind = ? AND bulk_id = ?",
                                            (kind.name, bulk_id))]
        db.execute("DELETE FROM payments WHERE kind = ? AND bulk_id = ?", (kind.name, bulk_id))
        for parent in parents:
            self._refresh_paid(db, kind, parent)

    def _render_bulk(self, kind: DocKind, row: sqlite3.Row) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        items = self._query(
            f"SELECT p.id, p.amount, p.date, d.number, d.issued_date, d.due_date, d.party_name, d.party_code,"  # noqa: S608
            f" d.party_id, d.reference FROM payments p JOIN {kind.table} d ON d.id = p.parent_id"
            " WHERE p.kind = ? AND p.bulk_id = ? ORDER BY p.id", (kind.name, row["id"]))
        return {
            "Id": row["id"], "Number": row["number"], **doc,
            "PaymentItems": [{
                "Id": i["id"], "Amount": money(i["amount"], FOUR_DP), "PaidDate": _day(i["date"]),
                "ObjectNumber": i["number"], "ObjectIssuedDate": _day(i["issued_date"]),
                "ObjectDueDate": _day(i["due_date"]),
                "ContactName": i["party_name"], "ContactCode": i["party_code"], "ContactId": i["party_id"],
                "ContactReference": i["reference"], "VATReturnId": 0, "EmailAddress": "",
            } for i in items],
        }

    # ------------------------------------------------------------------ helpers

    def _build(self, kind: DocKind, data: dict[str, Any], party: sqlite3.Row, keep_guid: str | None = None) -> Built:
        built = build_document(kind, data, party=loads_doc(party["doc"]), refs=self.refs(), today=self.today(),
                               default_days=int(self.get_setting("default_payment_terms_days")))
        if keep_guid:  # permalinks survive updates
            built.doc["Guid"] = keep_guid
        return built

    def _document_row(self, db: sqlite3.Connection, kind: DocKind, number: int,
                      missing: Callable[[str], Exception] = not_found) -> sqlite3.Row:
        row = db.execute(f"SELECT * FROM {kind.table} WHERE number = ?", (number,)).fetchone()  # noqa: S608
        if row is None:
            raise missing(f"{kind.label} with number {number} not found.")
        return row

    def _document_party(self, db: sqlite3.Connection, kind: DocKind, code: Any) -> sqlite3.Row:
        code = str(code or "").strip()
        if not code:
            raise invalid(f"{kind.party_field} is required.")
        row = db.execute(f"SELECT * FROM {kind.party_table} WHERE code = ?", (code,)).fetchone()  # noqa: S608
        if row is None:
            raise invalid(f"{kind.party_label} with code '{code}' does not exist.")
        return row

    def _next_number(self, db: sqlite3.Connection, kind: DocKind) -> int:
        top = db.execute(f"SELECT MAX(number) FROM {kind.table}").fetchone()[0]  # noqa: S608
        return int(top) + 1 if top is not None else int(self.get_setting(f"first_{kind.name}_number") or 1)

    def _claim_number(self, db: sqlite3.Connection, kind: DocKind, value: Any) -> int:
        if value in (None, "", 0, "0"):
            return self._next_number(db, kind)
        number = positive(value, "Number")
        if db.execute(f"SELECT 1 FROM {kind.table} WHERE number = ?", (number,)).fetchone():  # noqa: S608
            raise invalid(f"{kind.label} number {number} already exists.", "DuplicateNumber")
        return number

    def _replace_payments(self, db: sqlite3.Connection, kind: DocKind, doc_id: int, payments: list[PaymentIn]) -> None:
        """PaymentLines as sent: known Ids are kept (updated), new lines added, the rest removed."""
        existing = {r["id"]: r for r in db.execute("SELECT * FROM payments WHERE kind = ? AND parent_id = ?",
                                                   (kind.name, doc_id))}
        keep = {p.id for p in payments if p.id in existing}
        for stale in set(existing) - keep:
            db.execute("DELETE FROM payments WHERE id = ?", (stale,))
        for pay in payments:
            if pay.id in existing:
                db.execute("UPDATE payments SET date = ?, amount = ?, method = ?, account_id = ?, reference = ?,"
                           " note = ? WHERE id = ?", (pay.date.isoformat(), float(pay.amount), pay.method,
                                                      pay.account_id, pay.reference, pay.note, pay.id))
            else:
                self._insert_payment(db, kind, doc_id, pay)
        self._refresh_paid(db, kind, doc_id)

    @staticmethod
    def _insert_payment(db: sqlite3.Connection, kind: DocKind, doc_id: int, pay: PaymentIn,
                        bulk: tuple[int, int] = (0, 0)) -> None:
        db.execute("INSERT INTO payments(kind, parent_id, date, amount, method, account_id, reference, note, bulk_id,"
                   " bulk_number, guid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (kind.name, doc_id, pay.date.isoformat(), float(pay.amount), pay.method, pay.account_id,
                    pay.reference, pay.note, bulk[0], bulk[1], str(uuid.uuid4())))

    def _refresh_paid(self, db: sqlite3.Connection, kind: DocKind, doc_id: int) -> None:
        """Recompute TotalPaidAmount, Status and PaidDate from the payment lines (refuses overpayment)."""
        doc = db.execute(f"SELECT number, gross FROM {kind.table} WHERE id = ?", (doc_id,)).fetchone()  # noqa: S608
        paid_raw, last = db.execute("SELECT COALESCE(SUM(amount), 0), MAX(date) FROM payments WHERE kind = ? AND"
                                    " parent_id = ?", (kind.name, doc_id)).fetchone()
        paid, gross = money(paid_raw), money(doc["gross"])
        _check_paid(kind, doc["number"], gross, paid)
        status = status_of(gross, paid)
        db.execute(f"UPDATE {kind.table} SET paid = ?, status = ?, paid_date = ?, last_payment_date = ?"  # noqa: S608
                   " WHERE id = ?", (float(paid), status, last if status == "Paid" else None, last, doc_id))

    def _purge_documents(self, db: sqlite3.Connection, kind: DocKind, rows: list[sqlite3.Row]) -> None:
        """Delete documents with their payment lines and notes, and put sold/received stock back."""
        for row in rows:
            self._apply_stock(db, _negate(self._stock_of(kind, loads_doc(row["doc"]).get("LineItems") or [])))
            db.execute("DELETE FROM payments WHERE kind = ? AND parent_id = ?", (kind.name, row["id"]))
            db.execute("DELETE FROM notes WHERE object_type = ? AND object_id = ?", (_NOTE_TYPE[kind.name], row["id"]))
            db.execute(f"DELETE FROM {kind.table} WHERE id = ?", (row["id"],))  # noqa: S608

    def _stock_of(self, kind: DocKind, lines: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
        """Stock a document's stored lines moved (so an update or delete can put it back)."""
        refs = self.refs()
        moved: dict[tuple[int, str], int] = {}
        for line in lines:
            product = refs.product(line.get("NominalCode"), str(line.get("ProductCode") or ""))
            if not product or not product.get("ManageStockLevel"):
                continue
            if kind is PURCHASE and not (line.get("StockInfo") or {}).get("Received"):
                continue
            key = (product["NominalCode"], product["Code"])
            qty = int(Decimal(str(line.get("Quantity") or 0)).to_integral_value(ROUND_HALF_UP))
            moved[key] = moved.get(key, 0) + kind.stock_sign * qty
        return moved

    def _render_document(self, kind: DocKind, row: sqlite3.Row, *, detail: bool) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        refs = self.refs()
        gross, paid = money(row["gross"], FOUR_DP), money(row["paid"], FOUR_DP)
        stored = doc.pop("Currency")
        rate = stored["ExchangeRate"]
        known = refs.currencies.get(stored["Code"]) or {}
        guid = doc.pop("Guid")
        overdue = 0
        if row["status"] != "Paid" and row["due_date"]:
            overdue = max(0, (self.today() - date.fromisoformat(row["due_date"])).days)
        out: dict[str, Any] = {
            "Id": row["id"], "Number": row["number"], kind.party_field: row["party_code"],
            kind.party_id_field: row["party_id"], kind.party_name_field: row["party_name"],
            **(INVOICE_DEFAULTS if kind is INVOICE else PURCHASE_DEFAULTS), **doc,
            "Currency": {"Code": stored["Code"], "ExchangeRate": rate, "Id": known.get("Id", 0),
                         "Name": known.get("Name", stored["Code"]), "Symbol": known.get("Symbol", ""),
                         "DisplaySymbolOnRight": known.get("DisplaySymbolOnRight", False), "AutoUpdate": False},
            "LineItems": [render_line(kind, line, refs, rate) for line in doc["LineItems"]],
            "HomeCurrencyGrossAmount": (gross / rate).quantize(FOUR_DP, ROUND_HALF_UP),
            "HomeCurrencyVATAmount": (doc["VATAmount"] / rate).quantize(FOUR_DP, ROUND_HALF_UP),
            "TotalPaidAmount": paid, "DueAmount": (gross - paid).quantize(FOUR_DP), "Status": row["status"],
            "PaidDate": _day(row["paid_date"]), "LastPaymentDate": _day(row["last_payment_date"]),
            "OverdueDays": overdue, "CreatedDate": row["created_at"],
        }
        if kind is PURCHASE:
            out["Type"] = row["type"]
            out["StockManagementApplicable"] = any(line.get("StockInfo") for line in out["LineItems"])
        if not detail:
            return out
        out["Permalink"] = f"/v2/documents/{kind.permalink}/{guid}"
        if kind is INVOICE:
            out["PackingSlipPermalink"] = f"v2/documents/packingslip/{guid}"
            out["ReminderLetters"] = []
        else:
            self._fill_stock_info(out["LineItems"])
        out["PaymentLines"] = self._payment_lines(kind, row)
        prev = self._query(f"SELECT MAX(number) FROM {kind.table} WHERE number < ?", (row["number"],))[0][0]  # noqa: S608
        nxt = self._query(f"SELECT MIN(number) FROM {kind.table} WHERE number > ?", (row["number"],))[0][0]  # noqa: S608
        out["PreviousNumber"], out["NextNumber"] = prev or 0, nxt or 0
        return out

    def _payment_lines(self, kind: DocKind, row: sqlite3.Row) -> list[dict[str, Any]]:
        lines = []
        for p in self._query("SELECT * FROM payments WHERE kind = ? AND parent_id = ? ORDER BY date, id",
                             (kind.name, row["id"])):
            line = {
                "Id": p["id"], "Date": _day(p["date"]), "Amount": money(p["amount"], FOUR_DP),
                "Method": p["method"], "AccountId": p["account_id"], "Reference": p["reference"], "Note": p["note"],
                "BulkId": p["bulk_id"], "BulkPaymentNumber": p["bulk_number"], "BankTransactionId": p["id"],
                "BFSTransactionId": 0, "PaymentProcessor": 0, "PaymentProcessorEnumValue": "",
                "IsExternalRefund": False, "IsPaymentCreditNote": False, "VATReturnId": 0,
                "Permalink": f"/v2/documents/{kind.payment_permalink}/{p['guid']}",
            }
            if kind is INVOICE:
                line["InvoiceNumber"] = row["number"]
            lines.append(line)
        return lines

    def _fill_stock_info(self, lines: list[dict[str, Any]]) -> None:
        """StockInfo.QuantityInStock is the product's current level, not a snapshot."""
        refs = self.refs()
        for line in lines:
            info = line.get("StockInfo")
            product = refs.product(line["NominalCode"], line["ProductCode"]) if info else None
            if info and product:
                found = self._one("SELECT quantity FROM products WHERE id = ?", (product["Id"],))
                info["QuantityInStock"] = found["quantity"] if found else 0


# Fields every document has that the sandbox does not model (stored only when a client sets them).
_COMMON_DEFAULTS: dict[str, Any] = {
    "IsCISReverseCharge": False, "IsWhtDeductionToBeApplied": False, "FileCount": 0, "IsArchived": False,
    "VATReturnId": 0, "CISRCNetAmount": Decimal(0), "CISRCVatAmount": Decimal(0), "TradeBorderType": 0,
}
INVOICE_DEFAULTS: dict[str, Any] = _COMMON_DEFAULTS | {
    "CustomerDiscount": Decimal(0), "VATNumber": "", "DeliveryAddress": None, "UseCustomDeliveryAddress": False,
    "UpdateCustomerAddress": False, "UpdateCustomerDeliveryAddress": False, "AutomaticCreditControlEnabled": False,
    "EmailCount": 0, "SuppressNumber": 0, "InvoiceInECMemberState": False, "InvoiceOutsideECMemberState": False,
    "PayOnlinePaymentProcessor": 0, "Type": "Invoice",
}
PURCHASE_DEFAULTS: dict[str, Any] = _COMMON_DEFAULTS | {
    "AdditionalFieldValue": "", "PurchaseInECMemberState": False, "IsEmailSent": False,
}
_NOTE_TYPE = {"customer": 1, "supplier": 2, "invoice": 3, "purchase": 5}
_COLUMNS = ("number, party_id, party_code, party_name, reference, issued_date, due_date, currency, project_number,"
            " type, net, vat, gross, paid, status, created_at, updated_at, doc")


def _insert_sql(kind: DocKind) -> str:
    return f"INSERT INTO {kind.table}({_COLUMNS}) VALUES ({', '.join('?' * len(_COLUMNS.split(',')))})"  # noqa: S608


def _update_sql(kind: DocKind) -> str:
    sets = ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(","))
    return f"UPDATE {kind.table} SET {sets} WHERE id = ?"  # noqa: S608


def _row(built: Built, number: int, party: sqlite3.Row | dict[str, Any], created: str, updated: str,
         paid: Decimal = Decimal(0)) -> tuple[Any, ...]:
    """Column values in _COLUMNS order; paid/status are refreshed from the payment lines afterwards."""
    return (number, party["id"], party["code"], party["name"], built.reference, built.issued.isoformat(),
            built.due.isoformat(), built.currency, built.project, built.type, float(built.net), float(built.vat),
            float(built.gross), float(paid), status_of(built.gross, paid), created, updated, dumps_doc(built.doc))


def _check_paid(kind: DocKind, number: int, gross: Decimal, paid: Decimal) -> None:
    if paid > 0 and paid > gross:
        raise invalid(f"Payments of {paid:.2f} exceed the gross amount {gross:.2f} of {kind.name} {number}.",
                      "PaymentExceedsAmountDue")


def _day(value: str | None) -> str | None:
    """A stored ISO date as Kashflow prints it (noon, no offset)."""
    return kf_date(date.fromisoformat(value)) if value else None


def _negate(moved: dict[tuple[int, str], int]) -> dict[tuple[int, str], int]:
    return {key: -qty for key, qty in moved.items()}

