"""Account set-up: VAT rates, currencies, payment methods and bank accounts (each bank account is also a
nominal code, as in Kashflow)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from .base import StoreBase, dumps_doc, loads_doc
from .model import (
    AVAILABLE_CURRENCIES,
    BANK_ACCOUNT_FIELDS,
    CURRENCY_FIELDS,
    FOUR_DP,
    Page,
    canonical_keys,
    direction,
    f4,
    flag,
    invalid,
    kf_date,
    money,
    not_found,
    optional_date,
    text,
    whole,
)


def check_nominal_code(code: int) -> None:
    if not 1 <= code <= 99999:
        raise invalid("Code must be a number between 1 and 99999.")


def _payment_type(value: Any, methods: dict[int, str], what: str) -> dict[str, Any] | None:
    if not value:
        return None
    data = canonical_keys(value, ("Id", "Name"), what)
    method = whole(data.get("Id"), f"{what}.Id")
    if method not in methods:
        raise invalid(f"{what}: payment method {method} does not exist.")
    return {"Id": method, "Name": methods[method]}


class BankingMixin(StoreBase):
    # ------------------------------------------------------------------ VAT rates

    def list_vat_rates(self) -> list[dict[str, Any]]:
        return [{"VATId": r["id"], "VATRate": Decimal(str(r["rate"])).quantize(FOUR_DP), "VATText": r["text"]}
                for r in self._query("SELECT * FROM vat_rates ORDER BY rate DESC")]

    def add_vat_rate(self, raw: str) -> None:
        rate = money(raw, FOUR_DP, "vatRate")
        if not 0 <= rate <= 100:
            raise invalid("A VAT rate must be between 0 and 100.")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM vat_rates WHERE rate = ?", (float(rate),)).fetchone():
                raise invalid(f"VAT rate {rate.normalize():f} already exists.", "DuplicateVATRate")
            db.execute("INSERT INTO vat_rates(rate, text) VALUES (?, ?)", (float(rate), f"{rate.normalize():f}%"))
        self._changed_refs()

    def delete_vat_rate(self, rate_id: int) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT rate FROM vat_rates WHERE id = ?", (rate_id,)).fetchone()
            if row is None:
                raise not_found(f"VAT rate with Id {rate_id} not found.")
            if money(row["rate"], FOUR_DP) == self.refs().standard_rate:
                raise invalid("The standard VAT rate cannot be deleted.")
            db.execute("DELETE FROM vat_rates WHERE id = ?", (rate_id,))
        self._changed_refs()

    # ------------------------------------------------------------------ currencies

    def available_currencies(self) -> list[dict[str, Any]]:
        return [{"Id": n, "Code": code, "Name": name, "Symbol": symbol}
                for n, (code, (name, symbol)) in enumerate(AVAILABLE_CURRENCIES.items())]

    def list_currencies(self) -> list[dict[str, Any]]:
        return [self._render_currency(r) for r in self._query("SELECT * FROM currencies ORDER BY id")]

    def get_currency(self, code: str) -> dict[str, Any]:
        row = self._one("SELECT * FROM currencies WHERE code = ?", (code,))
        if row is None:
            raise not_found(f"Currency {code} is not set up for this account.")
        return self._render_currency(row)

    def create_currency(self, payload: Any) -> dict[str, Any]:
        data = canonical_keys(payload, CURRENCY_FIELDS)
        code = str(data.get("Code") or "").strip().upper()
        if code not in AVAILABLE_CURRENCIES:
            raise invalid(f"Currency code '{code}' is not one Kashflow offers.")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM currencies WHERE code = ?", (code,)).fetchone():
                raise invalid(f"Currency {code} is already set up.", "DuplicateCode")
            doc = self._currency_doc(code, data)
            db.execute("INSERT INTO currencies(code, doc) VALUES (?, ?)", (code, dumps_doc(doc)))
        self._changed_refs()
        return self.get_currency(code)

    def update_currency(self, code: str, payload: Any) -> dict[str, Any]:
        data = canonical_keys(payload, CURRENCY_FIELDS)
        with self.transaction() as db:
            row = db.execute("SELECT * FROM currencies WHERE code = ?", (code,)).fetchone()
            if row is None:
                raise not_found(f"Currency {code} is not set up for this account.")
            if data.get("Code") and str(data["Code"]).upper() != row["code"].upper():
                raise invalid("A currency's Code cannot be changed.")
            db.execute("UPDATE currencies SET doc = ? WHERE id = ?",
                       (dumps_doc(self._currency_doc(row["code"].upper(), data)), row["id"]))
        self._changed_refs()
        return self.get_currency(code)

    def delete_currency(self, code: str) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM currencies WHERE code = ?", (code,)).fetchone()
            if row is None:
                raise not_found(f"Currency {code} is not set up for this account.")
            upper = row["code"].upper()
            if upper == self.refs().home_currency:
                raise invalid("The home currency cannot be deleted.")
            for table in ("invoices", "purchases"):
                if db.execute(f"SELECT 1 FROM {table} WHERE currency = ? LIMIT 1", (upper,)).fetchone():  # noqa: S608
                    raise invalid(f"Currency {upper} is used by {table} and cannot be deleted.")
            db.execute("DELETE FROM currencies WHERE id = ?", (row["id"],))
        self._changed_refs()

    def _currency_doc(self, code: str, data: dict[str, Any]) -> dict[str, Any]:
        name, symbol = AVAILABLE_CURRENCIES[code]
        rate = Decimal(1) if code == self.refs().home_currency else money(
            data.get("ExchangeRate") or 1, FOUR_DP, "ExchangeRate")
        if rate <= 0:
            raise invalid("ExchangeRate must be greater than zero.")
        return {"Name": data.get("Name") or name, "Symbol": data.get("Symbol") or symbol,
                "ExchangeRate": f4(rate), "DisplaySymbolOnRight": flag(data.get("DisplaySymbolOnRight"))}

    @staticmethod
    def _render_currency(row: sqlite3.Row) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        return {"Id": row["id"], "Code": row["code"].upper(), "Name": doc["Name"], "Symbol": doc["Symbol"],
                "DisplaySymbolOnRight": doc["DisplaySymbolOnRight"], "ExchangeRate": doc["ExchangeRate"]}

    # ------------------------------------------------------------------ payment methods

    def list_payment_methods(self, kind: str) -> list[dict[str, Any]]:
        kind = kind.strip().lower()
        if kind not in ("invoice", "purchase"):
            raise invalid(f"The value '{kind}' is not valid for type; use invoice or purchase.")
        return [{"Id": r["id"], "Name": r["name"]}
                for r in self._query("SELECT * FROM payment_methods WHERE kind = ? ORDER BY id", (kind,))]

    # ------------------------------------------------------------------ bank accounts

    def list_bank_accounts(self, *, include_archived: bool = False) -> list[dict[str, Any]]:
        where = "" if include_archived else "WHERE archived = 0"
        balances = self._bank_balances()
        return [self._render_bank_account(r, balances, detail=False)
                for r in self._query(f"SELECT * FROM bank_accounts {where} ORDER BY code")]  # noqa: S608

    def page_bank_accounts(self, *, page: int, perpage: int, order: str | None = None,
                           include_archived: bool = False) -> Page:
        balances = self._bank_balances()
        where = [] if include_archived else ["t.archived = 0"]
        way = direction(order)
        return self._page("bank_accounts", where, [], f"t.code {way}", page, perpage,
                          lambda r: self._render_bank_account(r, balances, detail=False))

    def get_bank_account(self, account_id: int) -> dict[str, Any]:
        row = self._one("SELECT * FROM bank_accounts WHERE id = ?", (account_id,))
        if row is None:
            raise not_found(f"Bank account with Id {account_id} not found.")
        return self._render_bank_account(row, self._bank_balances(), detail=True)

    def suggested_bank_code(self) -> int:
        used = {r[0] for r in self._query("SELECT code FROM nominals")}
        return next(code for code in range(1200, 99999, 10) if code not in used)

    def create_bank_account(self, payload: Any) -> dict[str, Any]:
        data = canonical_keys(payload, BANK_ACCOUNT_FIELDS)
        with self.transaction() as db:
            code = whole(data.get("Code"), "Code") or self.suggested_bank_code()
            check_nominal_code(code)
            if db.execute("SELECT 1 FROM nominals WHERE code = ?", (code,)).fetchone():
                raise invalid(f"Code {code} is already used by a nominal code or bank account.", "DuplicateCode")
            name, doc, is_default = self._bank_doc(data)
            first = not db.execute("SELECT 1 FROM bank_accounts").fetchone()
            db.execute("INSERT INTO nominals(code, name, classification, nomtype, archived, doc) VALUES"
                       " (?, ?, 5, 3, ?, ?)", (code, name, int(doc["IsArchived"]), dumps_doc(_bank_nominal_doc())))
            cur = db.execute("INSERT INTO bank_accounts(code, name, archived, is_default, doc) VALUES (?, ?, ?, 0, ?)",
                             (code, name, int(doc["IsArchived"]), dumps_doc(doc)))
            if is_default or first:
                self._make_default(db, int(cur.lastrowid or 0))
        self._changed_refs()
        return self.get_bank_account(int(cur.lastrowid or 0))

    def update_bank_account(self, account_id: int, payload: Any) -> dict[str, Any]:
        data = canonical_keys(payload, BANK_ACCOUNT_FIELDS)
        with self.transaction() as db:
            row = db.execute("SELECT * FROM bank_accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise not_found(f"Bank account with Id {account_id} not found.")
            code = whole(data.get("Code"), "Code") or row["code"]
            if code != row["code"]:
                check_nominal_code(code)
                if db.execute("SELECT 1 FROM nominals WHERE code = ?", (code,)).fetchone():
                    raise invalid(f"Code {code} is already used by a nominal code or bank account.", "DuplicateCode")
            name, doc, is_default = self._bank_doc(data)
            if row["is_default"] and doc["IsArchived"]:
                raise invalid("The default bank account cannot be archived.")
            db.execute("UPDATE nominals SET code = ?, name = ?, archived = ? WHERE code = ?",
                       (code, name, int(doc["IsArchived"]), row["code"]))
            db.execute("UPDATE bank_accounts SET code = ?, name = ?, archived = ?, doc = ? WHERE id = ?",
                       (code, name, int(doc["IsArchived"]), dumps_doc(doc), account_id))
            if is_default:
                self._make_default(db, account_id)
        self._changed_refs()
        return self.get_bank_account(account_id)

    def delete_bank_account(self, account_id: int) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM bank_accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise not_found(f"Bank account with Id {account_id} not found.")
            if row["is_default"]:
                raise invalid("The default bank account cannot be deleted.")
            if db.execute("SELECT 1 FROM payments WHERE account_id = ? LIMIT 1", (account_id,)).fetchone():
                raise invalid("The bank account has transactions and cannot be deleted; archive it instead.")
            db.execute("DELETE FROM bank_accounts WHERE id = ?", (account_id,))
            db.execute("DELETE FROM nominals WHERE code = ?", (row["code"],))
        self._changed_refs()

    def _bank_doc(self, data: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        name = text(data.get("AccountName"), "AccountName", 60).strip()
        if not name:
            raise invalid("AccountName is required.")
        methods = self.refs().payment_methods
        start = optional_date(data.get("StartingDate"), "StartingDate")
        lock = optional_date(data.get("TransactionLockDate"), "TransactionLockDate")
        reconciled = optional_date(data.get("ReconcileDate"), "ReconcileDate")
        doc = {
            "TransactionLockEnabled": flag(data.get("TransactionLockEnabled")),
            "TransactionLockDate": lock.isoformat() if lock else None,  # date-only fields, as Kashflow prints them
            "ReconcileDate": reconciled.isoformat() if reconciled else None,
            "IsArchived": flag(data.get("IsArchived")), "Order": whole(data.get("Order"), "Order"),
            "IconId": whole(data.get("IconId"), "IconId"),
            "DefaultInvoicePaymentType": _payment_type(data.get("DefaultInvoicePaymentType"),
                                                       methods.get("invoice", {}), "DefaultInvoicePaymentType"),
            "DefaultPurchasePaymentType": _payment_type(data.get("DefaultPurchasePaymentType"),
                                                        methods.get("purchase", {}), "DefaultPurchasePaymentType"),
            "StartingDate": kf_date(start) if start else "1970-01-01 12:00:00",
            "StartingAmount": f4(money(data.get("StartingAmount"), FOUR_DP, "StartingAmount")),
            "ShowPaidInFirst": flag(data.get("ShowPaidInFirst")),
            "IncludeOnDashBoard": flag(data.get("IncludeOnDashBoard", True)), "Note": data.get("Note") or "",
        }
        return name, doc, flag(data.get("IsDefaultAccount"))

    @staticmethod
    def _make_default(db: sqlite3.Connection, account_id: int) -> None:
        db.execute("UPDATE bank_accounts SET is_default = (id = ?)", (account_id,))

    def _bank_balances(self) -> dict[int, Decimal]:
        rows = self._query(
            "SELECT account_id, SUM(CASE kind WHEN 'invoice' THEN amount ELSE -amount END) AS net, COUNT(*) AS n"
            " FROM payments GROUP BY account_id"
        )
        return {r["account_id"]: money(r["net"], FOUR_DP) for r in rows}

    def _render_bank_account(self, row: sqlite3.Row, balances: dict[int, Decimal], *, detail: bool) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        moved = balances.get(row["id"])
        out = {
            "Id": row["id"], "AccountName": row["name"], "Code": row["code"],
            "IsDefaultAccount": bool(row["is_default"]),
            "TransactionLockEnabled": doc["TransactionLockEnabled"],
            "TransactionLockDate": doc["TransactionLockDate"], "ReconcileDate": doc["ReconcileDate"],
            "IsArchived": bool(row["archived"]), "FeedAccountNumber": "", "FeedSiteName": "", "FeedAccountName": "",
            "FeedAccountHolder": "", "FeedSource": "", "LastTransactionImportDate": None, "BankFeedsAccountId": 0,
            "BankBalance": (Decimal(str(doc["StartingAmount"])) + (moved or 0)).quantize(FOUR_DP),
            "IsBankEmpty": moved is None, "Order": doc["Order"], "Period": 0, "IconId": doc["IconId"],
            "DefaultInvoicePaymentType": doc["DefaultInvoicePaymentType"],
            "DefaultPurchasePaymentType": doc["DefaultPurchasePaymentType"],
        }
        if detail:
            out |= {k: doc[k] for k in ("StartingDate", "StartingAmount", "ShowPaidInFirst", "IncludeOnDashBoard",
                                        "Note")} | {"OverrideTransactionLock": False}
        return out


def _bank_nominal_doc() -> dict[str, Any]:
    return {"Sa103Code": "", "Disallowed": False, "ComplianceCode": "", "Archived": False, "DigitalService": False,
            "IsProduct": 0, "AutoFillLineItem": False, "Price": 0.0, "WholeSalePrice": 0.0, "VATRate": 0.0,
            "VATExempt": False, "Description": "", "Special": 1, "ManageStockLevel": False, "QuantityInStock": 0,
            "StockWarningQuantity": 0, "IncrementStockLevelsOnPurchase": False, "IncludeInECSalesList": False,
            "PlOption": 0, "BsOption": 0}
