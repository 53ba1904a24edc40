"""The chart of accounts: nominal codes, products (with stock) and journals."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

from .banking import BankingMixin, check_nominal_code
from .base import dumps_doc, loads_doc
from .model import (
    AREA_NAMES,
    AREAS,
    CENT,
    CLASSIFICATION_NAMES,
    CLASSIFICATIONS,
    CODE_RANGES,
    FOUR_DP,
    JOURNAL_CATEGORIES,
    JOURNAL_FIELDS,
    JOURNAL_LINE_FIELDS,
    NOMINAL_FIELDS,
    PRODUCT_FIELDS,
    Page,
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
    positive,
    resolve_sort,
    sum_money,
    text,
    whole,
)

# Control accounts Kashflow manages itself: they cannot be deleted (AllowDelete false).
CONTROL_ACCOUNTS = {1100: "Debtors Control", 2100: "Creditors Control", 2200: "VAT on Sales",
                    2201: "VAT on Purchases", 2202: "VAT Liability", 3200: "Retained Profit"}

PRODUCT_SORT = {0: "t.code", 1: "t.name", 2: "t.nominal_code"}
PRODUCT_SORT_NAMES = {"productcode": 0, "code": 0, "productname": 1, "name": 1, "nominalcode": 2}
JOURNAL_SORT = {0: "t.number", 1: "t.journal_date", 2: "t.total"}
JOURNAL_SORT_NAMES = {"number": 0, "journaldate": 1, "date": 1, "totalamount": 2, "amount": 2}


def _enum(value: Any, numbers: dict[int, str], names: dict[str, int], what: str) -> int | None:
    """An enum filter or field given as its number or its name; None for 'All'/empty."""
    if value in (None, "") or str(value).strip().lower() == "all":
        return None
    raw = str(value).strip()
    number = int(raw) if raw.lstrip("-").isdigit() else names.get(raw.lower().replace(" ", ""), -1)
    if number not in numbers:
        raise invalid(f"The value '{value}' is not valid for {what}.")
    return number


class LedgerMixin(BankingMixin):
    # ------------------------------------------------------------------ nominal codes

    def list_nominals(self, *, type: str | None = None, area: str | None = None,  # noqa: A002 - Kashflow's name
                      searchtext: str | None = None) -> list[dict[str, Any]]:
        where, args = ["1=1"], []
        classification = _enum(type, CLASSIFICATIONS, CLASSIFICATION_NAMES, "type")
        if classification is not None:
            where.append("classification = ?")
            args.append(classification)
        nomtype = _enum(area, AREAS, AREA_NAMES, "area")
        if nomtype is not None:
            where.append("nomtype = ?")
            args.append(nomtype)
        if searchtext:
            where.append("(name LIKE ? ESCAPE '\\' OR CAST(code AS TEXT) LIKE ? ESCAPE '\\')")
            args += [f"%{like(searchtext)}%"] * 2
        rows = self._query(f"SELECT * FROM nominals WHERE {' AND '.join(where)} ORDER BY code", args)  # noqa: S608
        defaults = self._default_products()
        return [self._render_nominal(r, default_product=defaults.get(r["code"]), listing=True) for r in rows]

    def get_nominal(self, code: int | None = None, *, nominal_id: int | None = None) -> dict[str, Any]:
        if nominal_id is not None:
            row = self._one("SELECT * FROM nominals WHERE id = ?", (nominal_id,))
        else:
            row = self._one("SELECT * FROM nominals WHERE code = ?", (code,))
        if row is None:
            raise not_found(f"Nominal code {code if nominal_id is None else f'with Id {nominal_id}'} not found.")
        return self._render_nominal(row)

    def create_nominal(self, payload: Any) -> tuple[dict[str, Any], bool]:
        """POST /nominals -> (nominal, created); CreateWhenNotPresent returns the existing one instead of 400."""
        data = canonical_keys(payload, NOMINAL_FIELDS)
        with self.transaction() as db:
            code = whole(data.get("Code"), "Code") or None
            if code is not None:
                existing = db.execute("SELECT * FROM nominals WHERE code = ?", (code,)).fetchone()
                if existing is not None:
                    if flag(data.get("CreateWhenNotPresent")):
                        return self._render_nominal(existing), False
                    raise invalid(f"Nominal code {code} already exists.", "DuplicateCode")
            doc, classification, nomtype = self._nominal_doc(data, special=0)
            if code is None:
                code = self._free_nominal_code(db, classification)
            check_nominal_code(code)
            cur = db.execute(
                "INSERT INTO nominals(code, name, classification, nomtype, archived, doc) VALUES (?, ?, ?, ?, ?, ?)",
                (code, doc.pop("Name"), classification, nomtype, int(doc["Archived"]), dumps_doc(doc)),
            )
            row = db.execute("SELECT * FROM nominals WHERE id = ?", (cur.lastrowid,)).fetchone()
        self._changed_refs()
        return self._render_nominal(row), True

    def update_nominal(self, code: int, payload: Any) -> dict[str, Any]:
        data = canonical_keys(payload, NOMINAL_FIELDS)
        with self.transaction() as db:
            row = db.execute("SELECT * FROM nominals WHERE code = ?", (code,)).fetchone()
            if row is None:
                raise not_found(f"Nominal code {code} not found.")
            if data.get("Code") not in (None, "") and whole(data["Code"], "Code") != code:
                raise invalid("A nominal's Code cannot be changed; create a new code and delete this one.")
            old = loads_doc(row["doc"])
            doc, classification, nomtype = self._nominal_doc(data, special=int(old.get("Special") or 0))
            db.execute(
                "UPDATE nominals SET name = ?, classification = ?, nomtype = ?, archived = ?, doc = ? WHERE id = ?",
                (doc.pop("Name"), classification, nomtype, int(doc["Archived"]), dumps_doc(doc), row["id"]),
            )
            row = db.execute("SELECT * FROM nominals WHERE id = ?", (row["id"],)).fetchone()
        self._changed_refs()
        return self._render_nominal(row)

    def delete_nominal(self, code: int, assigned_code: int | None = None) -> None:
        """DELETE /nominals/{code}?assignedCode=: lines using the code move to ``assigned_code`` first."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM nominals WHERE code = ?", (code,)).fetchone()
            if row is None:
                raise not_found(f"Nominal code {code} not found.")
            if code in CONTROL_ACCOUNTS or loads_doc(row["doc"]).get("Special"):
                raise invalid(f"Nominal code {code} is a system code and cannot be deleted.")
            if db.execute("SELECT 1 FROM bank_accounts WHERE code = ?", (code,)).fetchone():
                raise invalid(f"Nominal code {code} belongs to a bank account; delete the bank account instead.")
            users = self._documents_using_nominal(db, code)
            if users and assigned_code is None:
                raise invalid(f"Nominal code {code} is used by {len(users)} transactions; pass assignedCode to "
                              "move them to another code.")
            if assigned_code is not None:
                if assigned_code == code or not db.execute(
                        "SELECT 1 FROM nominals WHERE code = ?", (assigned_code,)).fetchone():
                    raise invalid(f"assignedCode {assigned_code} is not another existing nominal code.")
                self._reassign_nominal(db, users, code, assigned_code)
            db.execute("DELETE FROM products WHERE nominal_code = ?", (code,))
            db.execute("DELETE FROM nominals WHERE id = ?", (row["id"],))
        self._changed_refs()

    def _nominal_doc(self, data: dict[str, Any], *, special: int) -> tuple[dict[str, Any], int, int]:
        name = text(data.get("Name"), "Name", 60).strip()
        if not name:
            raise invalid("Name is required.")
        classification = _enum(data.get("Classification"), CLASSIFICATIONS, CLASSIFICATION_NAMES, "Classification")
        nomtype = _enum(data.get("NomType"), AREAS, AREA_NAMES, "NomType")
        if nomtype is None:
            nomtype = _enum(data.get("Type"), AREAS, AREA_NAMES, "Type")
        classification = classification or 1
        nomtype = nomtype or {1: 1, 2: 2, 3: 2, 4: 2}.get(classification, 3)
        doc = {
            "Name": name, "Sa103Code": data.get("Sa103Code") or "", "Disallowed": flag(data.get("Disallowed")),
            "ComplianceCode": data.get("ComplianceCode") or "", "Archived": flag(data.get("Archived")),
            "DigitalService": flag(data.get("DigitalService")), "IsProduct": 1 if flag(data.get("IsProduct")) else 0,
            "AutoFillLineItem": flag(data.get("AutoFillLineItem")),
            "Price": f4(money(data.get("Price"), FOUR_DP, "Price")),
            "WholeSalePrice": f4(money(data.get("WholeSalePrice"), FOUR_DP, "WholeSalePrice")),
            "VATRate": f4(money(data.get("VATRate"), FOUR_DP, "VATRate")), "VATExempt": flag(data.get("VATExempt")),
            "Description": data.get("Description") or "", "Special": special,
            "ManageStockLevel": flag(data.get("ManageStockLevel")),
            "QuantityInStock": whole(data.get("QuantityInStock"), "QuantityInStock"),
            "StockWarningQuantity": whole(data.get("StockWarningQuantity"), "StockWarningQuantity"),
            "IncrementStockLevelsOnPurchase": flag(data.get("IncrementStockLevelsOnPurchase")),
            "IncludeInECSalesList": flag(data.get("IncludeInECSalesList")),
            "PlOption": whole(data.get("PlOption"), "PlOption"), "BsOption": whole(data.get("BsOption"), "BsOption"),
        }
        return doc, classification, nomtype

    @staticmethod
    def _free_nominal_code(db: sqlite3.Connection, classification: int) -> int:
        low, high = CODE_RANGES[classification]
        used = {r[0] for r in db.execute("SELECT code FROM nominals WHERE code BETWEEN ? AND ?", (low, high))}
        for code in range(low, high + 1):
            if code not in used:
                return code
        raise invalid(f"No free nominal code is left for {CLASSIFICATIONS[classification]}.")

    def _render_nominal(self, row: sqlite3.Row, *, default_product: dict[str, Any] | None = None,
                        listing: bool = False) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        code = row["code"]
        out = {
            "Id": row["id"], "Code": code, "Name": row["name"], "Type": AREAS[row["nomtype"]],
            "NomType": row["nomtype"], "Classification": CLASSIFICATIONS[row["classification"]],
            "ControlAccountClassification": CONTROL_ACCOUNTS.get(code, ""),
            **doc,
            "AllowDelete": code not in CONTROL_ACCOUNTS and not doc.get("Special"),
            "IRISCoAName": "", "IsIRISCoA": False,
        }
        if listing:
            out["DefaultProduct"] = default_product
        return out

    def _default_products(self) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for row in self._query("SELECT * FROM products ORDER BY id"):
            doc = loads_doc(row["doc"])
            if doc.get("IsDefault") and row["nominal_code"] not in found:
                found[row["nominal_code"]] = {
                    k: doc.get(k) for k in ("AutoFillLineItem", "Price", "WholeSalePrice", "VATRate", "VATExempt",
                                            "Description")
                } | {"Code": row["code"], "Name": row["name"], "InUse": bool(row["in_use"])}
        return found

    @staticmethod
    def _documents_using_nominal(db: sqlite3.Connection, code: int) -> list[tuple[str, int]]:
        users: list[tuple[str, int]] = []
        for table in ("invoices", "purchases", "journals"):
            rows = db.execute(
                f"SELECT t.id FROM {table} t WHERE EXISTS (SELECT 1 FROM json_each(t.doc, '$.LineItems') l"  # noqa: S608
                " WHERE json_extract(l.value, '$.NominalCode') = ?)",
                (code,),
            )
            users += [(table, r[0]) for r in rows]
        return users

    def _reassign_nominal(self, db: sqlite3.Connection, users: list[tuple[str, int]], old: int, new: int) -> None:
        name = db.execute("SELECT id, name FROM nominals WHERE code = ?", (new,)).fetchone()
        for table, row_id in users:
            doc = loads_doc(db.execute(f"SELECT doc FROM {table} WHERE id = ?", (row_id,)).fetchone()[0])  # noqa: S608
            for line in doc.get("LineItems") or []:
                if line.get("NominalCode") == old:
                    line["NominalCode"] = new
                    if "NominalName" in line:  # journals keep the name; documents resolve it when rendering
                        line.update(NominalId=name["id"], NominalName=name["name"])
            db.execute(f"UPDATE {table} SET doc = ? WHERE id = ?", (dumps_doc(doc), row_id))  # noqa: S608

    # ------------------------------------------------------------------ products

    def list_products(self, *, page: int, perpage: int, sortby: str | None = None, order: str | None = None,
                      nominalcode: int | None = None, filterbycharacter: str | None = None,
                      filterbyinuseonly: bool = False) -> Page:
        where, args = ["1=1"], []
        if nominalcode is not None:
            if not self._one("SELECT 1 FROM nominals WHERE code = ?", (nominalcode,)):
                raise not_found(f"Nominal code {nominalcode} not found.")
            where.append("t.nominal_code = ?")
            args.append(nominalcode)
        if filterbycharacter:
            where.append("t.name LIKE ? ESCAPE '\\'")
            args.append(like(filterbycharacter) + "%")
        if filterbyinuseonly:
            where.append("t.in_use = 1")
        sort = resolve_sort(sortby, PRODUCT_SORT, PRODUCT_SORT_NAMES, 0)
        way = direction(order)
        return self._page("products", where, args, f"{sort} {way}, t.id {way}", page, perpage, self._render_product)

    def get_product(self, nominal_code: int, code: str) -> dict[str, Any]:
        row = self._one("SELECT * FROM products WHERE nominal_code = ? AND code = ?", (nominal_code, code))
        if row is None:
            raise not_found(f"Product {code} under nominal code {nominal_code} not found.")
        return self._render_product(row)

    def create_product(self, payload: Any) -> dict[str, Any]:
        data = canonical_keys(payload, PRODUCT_FIELDS)
        with self.transaction() as db:
            nominal = self._product_nominal(db, data.get("NominalCode"))
            code = self._product_code(data)
            if db.execute("SELECT 1 FROM products WHERE nominal_code = ? AND code = ?", (nominal, code)).fetchone():
                raise invalid(f"Product code '{code}' already exists under nominal code {nominal}.", "DuplicateCode")
            row_id = self._write_product(db, None, nominal, code, data)
            row = db.execute("SELECT * FROM products WHERE id = ?", (row_id,)).fetchone()
        self._changed_refs()
        return self._render_product(row)

    def update_product(self, nominal_code: int, code: str, payload: Any) -> tuple[dict[str, Any], bool]:
        """PUT /products/{nominal}/{code}: a full replacement; (product, moved) when Code/NominalCode changed."""
        data = canonical_keys(payload, PRODUCT_FIELDS)
        with self.transaction() as db:
            row = db.execute("SELECT * FROM products WHERE nominal_code = ? AND code = ?",
                             (nominal_code, code)).fetchone()
            if row is None:
                raise not_found(f"Product {code} under nominal code {nominal_code} not found.")
            nominal = self._product_nominal(db, data.get("NominalCode") or nominal_code)
            new_code = self._product_code(data, default=row["code"])
            moved = nominal != row["nominal_code"] or new_code != row["code"]
            if moved and db.execute("SELECT 1 FROM products WHERE nominal_code = ? AND code = ? AND id != ?",
                                    (nominal, new_code, row["id"])).fetchone():
                raise invalid(f"Product code '{new_code}' already exists under nominal code {nominal}.",
                              "DuplicateCode")
            self._write_product(db, row["id"], nominal, new_code, data)
            row = db.execute("SELECT * FROM products WHERE id = ?", (row["id"],)).fetchone()
        self._changed_refs()
        return self._render_product(row), moved

    def delete_product(self, nominal_code: int, code: str) -> None:
        with self.transaction() as db:
            gone = db.execute("DELETE FROM products WHERE nominal_code = ? AND code = ?", (nominal_code, code))
            if not gone.rowcount:
                raise not_found(f"Product {code} under nominal code {nominal_code} not found.")
        self._changed_refs()

    def set_stock(self, nominal_code: int, code: str, quantity: int) -> dict[str, Any]:
        """Sandbox helper (and what an ERP push amounts to): set QuantityInStock directly."""
        with self.transaction() as db:
            if not db.execute("UPDATE products SET quantity = ? WHERE nominal_code = ? AND code = ?",
                              (quantity, nominal_code, code)).rowcount:
                raise not_found(f"Product {code} under nominal code {nominal_code} not found.")
        return self.get_product(nominal_code, code)

    @staticmethod
    def _product_nominal(db: sqlite3.Connection, value: Any) -> int:
        nominal = positive(value, "NominalCode")
        if not db.execute("SELECT 1 FROM nominals WHERE code = ?", (nominal,)).fetchone():
            raise invalid(f"Nominal code {nominal} does not exist.")
        return nominal

    @staticmethod
    def _product_code(data: dict[str, Any], default: str = "") -> str:
        code = text(data.get("Code") or default, "Code", 30).strip()
        if not code:
            raise invalid("Product Code is required.")
        if "/" in code:
            raise invalid("Product Code cannot contain '/'.")
        return code

    def _write_product(self, db: sqlite3.Connection, row_id: int | None, nominal: int, code: str,
                       data: dict[str, Any]) -> int:
        name = text(data.get("Name"), "Name", 100).strip()
        if not name:
            raise invalid("Product Name is required.")
        doc = {
            "IsDefault": flag(data.get("IsDefault")), "AutoFillLineItem": flag(data.get("AutoFillLineItem", True)),
            "Price": f4(money(data.get("Price"), FOUR_DP, "Price")),
            "WholeSalePrice": f4(money(data.get("WholeSalePrice"), FOUR_DP, "WholeSalePrice")),
            "VATRate": f4(money(data.get("VATRate", self.refs().standard_rate), FOUR_DP, "VATRate")),
            "VATExempt": flag(data.get("VATExempt")), "Description": data.get("Description") or "",
            "StockWarningQuantity": whole(data.get("StockWarningQuantity"), "StockWarningQuantity"),
            "PurchaseNominalId": whole(data.get("PurchaseNominalId"), "PurchaseNominalId"),
            "PurchaseSubNominalId": whole(data.get("PurchaseSubNominalId"), "PurchaseSubNominalId"),
        }
        values = (nominal, code, name, int(flag(data.get("InUse", True))), int(flag(data.get("ManageStockLevel"))),
                  whole(data.get("QuantityInStock"), "QuantityInStock"), dumps_doc(doc))
        if row_id is None:
            return int(db.execute(
                "INSERT INTO products(nominal_code, code, name, in_use, manage_stock, quantity, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", values).lastrowid or 0)
        db.execute("UPDATE products SET nominal_code = ?, code = ?, name = ?, in_use = ?, manage_stock = ?,"
                   " quantity = ?, doc = ? WHERE id = ?", (*values, row_id))
        return row_id

    def _render_product(self, row: sqlite3.Row) -> dict[str, Any]:
        nominal = self.refs().nominals.get(row["nominal_code"]) or {}
        return {
            "Id": row["id"], "NominalId": nominal.get("Id", 0), "Code": row["code"], "Name": row["name"],
            "NominalCode": row["nominal_code"], **loads_doc(row["doc"]), "ManageStockLevel": bool(row["manage_stock"]),
            "QuantityInStock": row["quantity"], "InUse": bool(row["in_use"]),
        }

    def _apply_stock(self, db: sqlite3.Connection, deltas: dict[tuple[int, str], int]) -> None:
        """Move stock for stock-managed products (sales take it out, received purchases put it back)."""
        changes = [(qty, nominal, code) for (nominal, code), qty in deltas.items() if qty]
        if changes:
            db.executemany("UPDATE products SET quantity = quantity + ? WHERE nominal_code = ? AND code = ?"
                           " AND manage_stock = 1", changes)

    # ------------------------------------------------------------------ journals

    def list_journals(self, *, page: int, perpage: int, sortby: str | None = None, order: str | None = None) -> Page:
        sort = resolve_sort(sortby, JOURNAL_SORT, JOURNAL_SORT_NAMES, 0)
        way = direction(order)
        return self._page("journals", [], [], f"{sort} {way}, t.number {way}", page, perpage, self._journal_list_item,
                          amount="t.total")

    def get_journal(self, number: int) -> dict[str, Any]:
        row = self._one("SELECT * FROM journals WHERE number = ?", (number,))
        if row is None:
            raise not_found(f"Journal with number {number} not found.")
        return self._render_journal(row)

    def create_journal(self, payload: Any) -> dict[str, Any]:
        data = canonical_keys(payload, JOURNAL_FIELDS)
        with self.transaction() as db:
            number = self._new_journal_number(db, data.get("Number"))
            row_id = self._write_journal(db, None, number, data)
            row = db.execute("SELECT * FROM journals WHERE id = ?", (row_id,)).fetchone()
        return self._render_journal(row)

    def update_journal(self, number: int, payload: Any) -> tuple[dict[str, Any], bool]:
        """PUT /journals/{number}: full replacement; (journal, renumbered)."""
        data = canonical_keys(payload, JOURNAL_FIELDS)
        with self.transaction() as db:
            row = db.execute("SELECT * FROM journals WHERE number = ?", (number,)).fetchone()
            if row is None:
                raise not_found(f"Journal with number {number} not found.")
            new_number = positive(data.get("Number") or number, "Number")
            if new_number != number and db.execute("SELECT 1 FROM journals WHERE number = ?", (new_number,)).fetchone():
                raise invalid(f"Journal number {new_number} already exists.", "DuplicateNumber")
            self._write_journal(db, row["id"], new_number, data, created=row["created_at"])
            row = db.execute("SELECT * FROM journals WHERE id = ?", (row["id"],)).fetchone()
        return self._render_journal(row), new_number != number

    def delete_journal(self, number: int) -> None:
        with self.transaction() as db:
            if not db.execute("DELETE FROM journals WHERE number = ?", (number,)).rowcount:
                raise not_found(f"Journal with number {number} not found.")

    def next_journal_number(self) -> int:
        with self._lock:
            return self._new_journal_number(self._db, None)

    def _new_journal_number(self, db: sqlite3.Connection, value: Any) -> int:
        if value not in (None, "", 0):
            number = positive(value, "Number")
            if db.execute("SELECT 1 FROM journals WHERE number = ?", (number,)).fetchone():
                raise invalid(f"Journal number {number} already exists.", "DuplicateNumber")
            return number
        top = db.execute("SELECT MAX(number) FROM journals").fetchone()[0]
        return int(top) + 1 if top is not None else int(self.get_setting("first_journal_number"))

    def build_journal(self, data: dict[str, Any]) -> tuple[dict[str, Any], Decimal, str]:
        """Validate a journal (lines on known nominals, debits equal credits) -> (doc, total, date)."""
        refs = self.refs()
        journal_date = optional_date(data.get("JournalDate"), "JournalDate") or self.today()
        category = whole(data.get("Category"), "Category")
        if category not in JOURNAL_CATEGORIES:
            raise invalid(f"The value '{category}' is not valid for Category.")
        lines = []
        for n, line in enumerate(objects(data.get("LineItems"), JOURNAL_LINE_FIELDS, "LineItems"), start=1):
            where = f"line {n}"
            code, nominal = refs.nominal(line.get("NominalCode"), where)
            debit = money(line.get("Debit"), CENT, f"{where} Debit")
            credit = money(line.get("Credit"), CENT, f"{where} Credit")
            if debit < 0 or credit < 0 or (debit and credit) or not (debit or credit):
                raise invalid(f"Each journal line needs either a Debit or a Credit above zero ({where}).")
            lines.append({"Id": n, "NominalCode": code, "NominalName": nominal["Name"],
                          "Comment": line.get("Comment") or "",
                          "Debit": f4(debit), "Credit": f4(credit),
                          "ProjectNumber": whole(line.get("ProjectNumber"), f"{where} ProjectNumber"),
                          "ProjectName": "", "Disallowed": flag(line.get("Disallowed"))})
        if len(lines) < 2:
            raise invalid("A journal needs at least two lines.")
        debits = sum_money(Decimal(str(x["Debit"])) for x in lines)
        credits = sum_money(Decimal(str(x["Credit"])) for x in lines)
        if debits != credits:
            raise invalid(f"The journal does not balance: debits {debits:.2f}, credits {credits:.2f}.",
                          "JournalNotBalanced")
        doc = {
            "JournalDate": kf_date(journal_date), "Comment": data.get("Comment") or "", "Note": data.get("Note") or "",
            "Category": category, "CategoryDescription": JOURNAL_CATEGORIES[category],
            "ExcludedFromProfitAndLoss": flag(data.get("ExcludedFromProfitAndLoss")), "TradeBorderType": 0,
            "LineItems": lines,
        }
        return doc, debits, journal_date.isoformat()

    def _write_journal(self, db: sqlite3.Connection, row_id: int | None, number: int, data: dict[str, Any],
                       created: str | None = None) -> int:
        doc, total, journal_date = self.build_journal(data)
        now = self.now()
        values = (number, journal_date, doc["Category"], float(total), created or now, now, dumps_doc(doc))
        if row_id is None:
            return int(db.execute("INSERT INTO journals(number, journal_date, category, total, created_at,"
                                  " updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)", values).lastrowid or 0)
        db.execute("UPDATE journals SET number = ?, journal_date = ?, category = ?, total = ?, created_at = ?,"
                   " updated_at = ?, doc = ? WHERE id = ?", (*values, row_id))
        return row_id

    def _render_journal(self, row: sqlite3.Row) -> dict[str, Any]:
        return {"Id": row["id"], "Number": row["number"], **loads_doc(row["doc"]),
                "TotalAmount": money(row["total"], FOUR_DP), "IsTemplate": False, "VATReturnId": 0}

    def _journal_list_item(self, row: sqlite3.Row) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        return {"Number": row["number"], "JournalName": doc["Comment"],
                "CategoryDescription": doc["CategoryDescription"], "Category": doc["Category"],
                "JournalDate": doc["JournalDate"], "TotalAmount": money(row["total"], FOUR_DP),
                "LockedBankLines": False, "Comment": doc["Comment"],
                "ExcludedFromProfitAndLoss": doc["ExcludedFromProfitAndLoss"], "IsTemplate": False, "TemplateName": "",
                "VATReturnId": 0, "TradeBorderType": 0}
