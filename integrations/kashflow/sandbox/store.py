"""The Kashflow sandbox's state: every resource area combined into one :class:`Store` (one account).

Also holds what spans areas: notes on customers/suppliers/invoices/purchases, ``/metadata``, the bulk loader
seeding uses, and the short names (``list_invoices``, ``get_customer``...) older callers rely on.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from integrations.core.sandbox import SharedParty

from .base import COUNTED_TABLES, DEFAULT_SETTINGS, LoginChallenge, ManualClock, dumps_doc, loads_doc
from .documents import INVOICE, KINDS, PURCHASE, DocKind, PaymentIn, build_document, read_payments, status_of
from .model import (
    BANK_ACCOUNT_FIELDS,
    CUSTOMER_FIELDS,
    FOUR_DP,
    INVOICE_FIELDS,
    JOURNAL_FIELDS,
    NOTE_FIELDS,
    PURCHASE_FIELDS,
    SUPPLIER_FIELDS,
    Page,
    StoreError,
    canonical_keys,
    invalid,
    not_found,
    parse_date,
    positive,
    text,
)
from .parties import CUSTOMER, SUPPLIER, PartiesMixin, PartyKind

__all__ = [
    "COUNTED_TABLES", "CUSTOMER", "DEFAULT_SETTINGS", "INVOICE", "KINDS", "PURCHASE", "SUPPLIER", "LoginChallenge",
    "ManualClock", "Page", "Store", "StoreError",
]

# Notes sub-resource: Kashflow's objectType numbers and the names clients also use.
NOTE_OWNERS: dict[str, tuple[int, PartyKind | DocKind]] = {
    "1": (1, CUSTOMER), "customers": (1, CUSTOMER), "customer": (1, CUSTOMER),
    "2": (2, SUPPLIER), "suppliers": (2, SUPPLIER), "supplier": (2, SUPPLIER),
    "3": (3, INVOICE), "invoices": (3, INVOICE), "invoice": (3, INVOICE),
    "5": (5, PURCHASE), "purchases": (5, PURCHASE), "purchase": (5, PURCHASE),
}


class Store(PartiesMixin):
    """All the state of one sandbox Kashflow account. ``clock`` returns epoch seconds (tests move time)."""

    # ------------------------------------------------------------------ short names (kept for callers)

    def list_invoices(self, *, page: int, perpage: int, sortby: str | None = None, order: str | None = "asc",
                      customercode: str | None = None, statusfilter: str | None = None,
                      issuedatefrom: str | None = None, issuedateto: str | None = None,
                      projectnumber: str | None = None, searchtext: str | None = None) -> Page:
        return self.list_documents(INVOICE, page=page, perpage=perpage, sortby=sortby, order=order,
                                   party_code=customercode, status=statusfilter, date_from=issuedatefrom,
                                   date_to=issuedateto, project=projectnumber, search=searchtext)

    def get_invoice(self, number: int) -> dict[str, Any] | None:
        try:
            return self.get_document(INVOICE, number)
        except StoreError:
            return None

    def create_invoice(self, payload: Any) -> dict[str, Any]:
        return self.create_document(INVOICE, payload)

    def list_customers(self, *, page: int, perpage: int, sortby: str | None = None, order: str | None = "asc",
                       namestartswith: str | None = None, searchtext: str | None = None) -> Page:
        return self.list_parties(CUSTOMER, page=page, perpage=perpage, sortby=sortby, order=order,
                                 namestartswith=namestartswith, searchtext=searchtext)

    def get_customer(self, code: str) -> dict[str, Any] | None:
        try:
            return self.get_party(CUSTOMER, code)
        except StoreError:
            return None

    def create_customer(self, payload: Any) -> dict[str, Any]:
        return self.create_party(CUSTOMER, payload)

    # ------------------------------------------------------------------ notes

    def list_notes(self, object_type: str, key: str) -> list[dict[str, Any]]:
        type_no, owner_id = self._note_owner(object_type, key)
        rows = self._query("SELECT * FROM notes WHERE object_type = ? AND object_id = ? ORDER BY number",
                           (type_no, owner_id))
        return [_render_note(r) for r in rows]

    def get_note(self, object_type: str, key: str, number: int) -> dict[str, Any]:
        type_no, owner_id = self._note_owner(object_type, key)
        row = self._one("SELECT * FROM notes WHERE object_type = ? AND object_id = ? AND number = ?",
                        (type_no, owner_id, number))
        if row is None:
            raise not_found(f"Note {number} not found.")
        return _render_note(row)

    def create_note(self, object_type: str, key: str, payload: Any, user: str) -> dict[str, Any]:
        note = _note_text(payload)
        type_no, owner_id = self._note_owner(object_type, key)
        with self.transaction() as db:
            top = db.execute("SELECT MAX(number) FROM notes WHERE object_type = ? AND object_id = ?",
                             (type_no, owner_id)).fetchone()[0]
            number = int(top or 0) + 1
            db.execute("INSERT INTO notes(object_type, object_id, number, text, date, modified_by)"
                       " VALUES (?, ?, ?, ?, ?, ?)", (type_no, owner_id, number, note, self.now(), user))
        return self.get_note(object_type, key, number)

    def update_note(self, object_type: str, key: str, number: int, payload: Any, user: str) -> dict[str, Any]:
        note = _note_text(payload)
        type_no, owner_id = self._note_owner(object_type, key)
        with self.transaction() as db:
            if not db.execute("UPDATE notes SET text = ?, date = ?, modified_by = ? WHERE object_type = ?"
                              " AND object_id = ? AND number = ?",
                              (note, self.now(), user, type_no, owner_id, number)).rowcount:
                raise not_found(f"Note {number} not found.")
        return self.get_note(object_type, key, number)

    def delete_note(self, object_type: str, key: str, number: int) -> None:
        type_no, owner_id = self._note_owner(object_type, key)
        with self.transaction() as db:
            if not db.execute("DELETE FROM notes WHERE object_type = ? AND object_id = ? AND number = ?",
                              (type_no, owner_id, number)).rowcount:
                raise not_found(f"Note {number} not found.")

    def _note_owner(self, object_type: str, key: str) -> tuple[int, int]:
        found = NOTE_OWNERS.get(object_type.strip().lower())
        if found is None:
            raise invalid(f"The value '{object_type}' is not valid for objectType.")
        type_no, owner = found
        if isinstance(owner, PartyKind):
            row = self._one(f"SELECT id FROM {owner.table} WHERE code = ?", (key,))  # noqa: S608
        else:
            row = self._one(f"SELECT id FROM {owner.table} WHERE number = ?",  # noqa: S608
                            (positive(key, "objectNumber"),))
        if row is None:
            raise not_found(f"{owner.label} {key} not found.")
        return type_no, int(row["id"])

    # ------------------------------------------------------------------ parties for the other side of a pair

    def shared_parties(self) -> list[SharedParty]:
        """Customers and suppliers as the control plane shares them with an ERP sandbox."""
        out = []
        for kind in (CUSTOMER, SUPPLIER):
            for row in self._query(f"SELECT code, name, doc FROM {kind.table} ORDER BY id"):  # noqa: S608
                doc = loads_doc(row["doc"])
                where = ((doc.get("Addresses") or [None])[0] if kind is CUSTOMER else doc.get("Address")) or {}
                contact = (doc.get("Contacts") or [{}])[0]
                out.append(SharedParty(
                    code=row["code"], name=row["name"], kind=kind.name,
                    address_lines=[where[f"Line{i}"] for i in range(1, 5) if where.get(f"Line{i}")],
                    postcode=where.get("PostCode") or "", country=where.get("CountryCode") or "GB",
                    currency=(doc.get("Currency") or {}).get("Code") or "GBP",
                    email=doc.get("Email") or contact.get("Email") or "",
                    phone=doc.get("TelephoneNumber") or contact.get("Telephone") or "",
                ))
        return out

    # ------------------------------------------------------------------ account metadata

    def metadata(self) -> dict[str, Any]:
        counts = self.counts()
        balance = sum((a["BankBalance"] for a in self.list_bank_accounts(include_archived=True)), Decimal(0))
        return {
            "TotalBankBalance": balance.quantize(FOUR_DP), "TotalCustomerCount": counts["customers"],
            "TotalInvoiceCount": counts["invoices"], "TotalLoginCount": self.total_logins(),
            "TotalNominalCount": counts["nominals"], "TotalProductCount": counts["products"],
            "UserHasAmazonFiles": False, "AmazonFilesMarkedforMigration": False,
            "TotalSupplierCount": counts["suppliers"], "PayrollProvisioningStatus": "NotInitiated",
        }

    # ------------------------------------------------------------------ bulk loading (seeding)

    def load(self, *, new_uuid: Callable[[], uuid.UUID | str], settings: dict[str, Any] | None = None,
             vat_rates: Sequence[tuple[Decimal, str]] = (), currencies: Sequence[dict[str, Any]] = (),
             payment_methods: Sequence[tuple[int, str, str]] = (), nominals: Sequence[dict[str, Any]] = (),
             bank_accounts: Sequence[dict[str, Any]] = (), products: Sequence[dict[str, Any]] = (),
             customers: Sequence[dict[str, Any]] = (), suppliers: Sequence[dict[str, Any]] = (),
             invoices: Sequence[dict[str, Any]] = (), purchases: Sequence[dict[str, Any]] = (),
             journals: Sequence[dict[str, Any]] = ()) -> dict[str, int]:
        """Insert a whole account in one transaction, validated and computed exactly as the API would.

        Payloads use the API's field names. Much faster than one POST each: reference data is read once,
        rows go in with executemany and explicit ids, and payment totals are computed in memory.
        """
        with self.transaction() as db:
            for key, value in (settings or {}).items():
                db.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET"
                           " value = excluded.value", (key, json.dumps(value)))
            self._refs = None
            db.executemany("INSERT INTO vat_rates(rate, text) VALUES (?, ?)", [(float(r), t) for r, t in vat_rates])
            db.executemany("INSERT INTO payment_methods(id, kind, name) VALUES (?, ?, ?)", payment_methods)
            for currency in currencies:
                code = str(currency["Code"]).upper()
                db.execute("INSERT INTO currencies(code, doc) VALUES (?, ?)",
                           (code, dumps_doc(self._currency_doc(code, canonical_keys(currency, ())))))
            for nominal in nominals:
                doc, classification, nomtype = self._nominal_doc(nominal, special=int(nominal.get("Special") or 0))
                db.execute("INSERT INTO nominals(code, name, classification, nomtype, archived, doc)"
                           " VALUES (?, ?, ?, ?, 0, ?)", (int(nominal["Code"]), doc.pop("Name"), classification,
                                                          nomtype, dumps_doc(doc)))
            self._refs = None
            for account in bank_accounts:
                self.create_bank_account(canonical_keys(account, BANK_ACCOUNT_FIELDS))
            for product in products:
                self.create_product(product)
            parties = {CUSTOMER.name: self._load_parties(db, CUSTOMER, customers, new_uuid),
                       SUPPLIER.name: self._load_parties(db, SUPPLIER, suppliers, new_uuid)}
            self._load_documents(db, INVOICE, invoices, parties[CUSTOMER.name], new_uuid)
            self._load_documents(db, PURCHASE, purchases, parties[SUPPLIER.name], new_uuid)
            for journal in journals:
                data = canonical_keys(journal, JOURNAL_FIELDS)
                self._write_journal(db, None, self._new_journal_number(db, data.get("Number")), data,
                                    created=f"{parse_date(data['JournalDate'], 'JournalDate')} 17:00:00")
        self._refs = None
        return {k: v for k, v in self.counts().items() if k != "sessions"}

    def _load_parties(self, db: sqlite3.Connection, kind: PartyKind, payloads: Sequence[dict[str, Any]],
                      new_uuid: Callable[[], uuid.UUID | str]) -> dict[str, dict[str, Any]]:
        refs, days = self.refs(), int(self.get_setting("default_payment_terms_days"))
        fields = CUSTOMER_FIELDS if kind is CUSTOMER else SUPPLIER_FIELDS
        first = int(db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {kind.table}").fetchone()[0]) + 1  # noqa: S608
        rows, out = [], {}
        for offset, payload in enumerate(payloads):
            data = canonical_keys(payload, fields)
            code, name = str(data["Code"]), str(data["Name"])
            doc = kind.build(data, refs, days)
            doc["Key"] = str(new_uuid())
            created = str(data.get("CreatedDate") or self.now())
            rows.append((first + offset, code, name, int(doc["IsArchived"]), created, created, dumps_doc(doc)))
            out[code.upper()] = doc | {"id": first + offset, "code": code, "name": name}
        db.executemany(f"INSERT INTO {kind.table}(id, code, name, archived, created_at, updated_at, doc)"  # noqa: S608
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return out

    def _load_documents(self, db: sqlite3.Connection, kind: DocKind, payloads: Sequence[dict[str, Any]],
                        parties: dict[str, dict[str, Any]], new_uuid: Callable[[], uuid.UUID | str]) -> None:
        refs, today = self.refs(), self.today()
        days = int(self.get_setting("default_payment_terms_days"))
        fields = INVOICE_FIELDS if kind is INVOICE else PURCHASE_FIELDS
        first = int(db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {kind.table}").fetchone()[0]) + 1  # noqa: S608
        number = self._next_number(db, kind)
        docs, pays = [], []
        for offset, payload in enumerate(payloads):
            data = canonical_keys(payload, fields)
            party = parties.get(str(data[kind.party_field]).upper())
            if party is None:
                raise invalid(f"{kind.party_field} '{data[kind.party_field]}' is not among the seeded parties.")
            built = build_document(kind, data, party=party, refs=refs, today=today, default_days=days,
                                   new_guid=new_uuid)
            payments = read_payments(kind, data.get("PaymentLines"), refs, today)
            paid = sum((p.amount for p in payments), Decimal(0))
            last = max((p.date for p in payments), default=None)
            status = status_of(built.gross, paid)
            doc_id, num = first + offset, int(data.get("Number") or number)
            number = max(number, num + 1)
            created = f"{built.issued.isoformat()} 09:00:00"
            docs.append((doc_id, num, party["id"], party["code"], party["name"], built.reference,
                         built.issued.isoformat(), built.due.isoformat(), built.currency, built.project, built.type,
                         float(built.net), float(built.vat), float(built.gross), float(paid), status,
                         last.isoformat() if last and status == "Paid" else None,
                         last.isoformat() if last else None, created, created, dumps_doc(built.doc)))
            pays += [_payment_row(kind, doc_id, p, new_uuid) for p in payments]
        db.executemany(
            f"INSERT INTO {kind.table}(id, number, party_id, party_code, party_name, reference, issued_date,"  # noqa: S608
            " due_date, currency, project_number, type, net, vat, gross, paid, status, paid_date, last_payment_date,"
            " created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            docs,
        )
        db.executemany("INSERT INTO payments(kind, parent_id, date, amount, method, account_id, reference, note,"
                       " guid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", pays)


def _payment_row(kind: DocKind, doc_id: int, pay: PaymentIn,
                 new_uuid: Callable[[], uuid.UUID | str]) -> tuple[Any, ...]:
    return (kind.name, doc_id, pay.date.isoformat(), float(pay.amount), pay.method, pay.account_id, pay.reference,
            pay.note, str(new_uuid()))


def _note_text(payload: Any) -> str:
    data = canonical_keys(payload, NOTE_FIELDS)
    note = text(data.get("Text"), "Text", 4000).strip()
    if not note:
        raise invalid("Text is required.")
    return note


def _render_note(row: sqlite3.Row) -> dict[str, Any]:
    return {"Number": row["number"], "Text": row["text"], "Date": row["date"], "LastModifiedBy": row["modified_by"]}

