"""SQLite state for the Kashflow sandbox.

Records are kept as JSON documents (the shape Kashflow returns) next to a few indexed columns used for
lookups, filters and sorting, so new resources (suppliers, products, purchases, nominals, ...) are one
migration plus a document builder each. The server is threaded: one connection guarded by a re-entrant
lock keeps ``:memory:`` databases usable and writes serialised, which is all a sandbox needs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

Clock = Callable[[], float]

CENT = Decimal("0.01")
FOUR_DP = Decimal("0.0001")

DEFAULT_SETTINGS: dict[str, Any] = {
    "company_name": "Ledgerbridge Sandbox Ltd",
    "session_ttl_seconds": 60 * 60,  # Kashflow: 60 minutes of inactivity ("configurable")
    "temp_token_ttl_seconds": 5 * 60,  # Kashflow: "x minutes"; not published
    "lockout_threshold": 5,
    "default_payment_terms_days": 30,
    "first_invoice_number": 1,
    "home_currency": "GBP",
}

CURRENCIES: dict[str, dict[str, Any]] = {
    "GBP": {"Id": 0, "Name": "British Pounds", "Symbol": "£", "DisplaySymbolOnRight": False},
    "EUR": {"Id": 1, "Name": "Euros", "Symbol": "€", "DisplaySymbolOnRight": False},
    "USD": {"Id": 2, "Name": "US Dollars", "Symbol": "$", "DisplaySymbolOnRight": False},
    "AUD": {"Id": 3, "Name": "Australian Dollars", "Symbol": "$", "DisplaySymbolOnRight": False},
}

COUNTRIES = {"GB": "United Kingdom", "IE": "Ireland", "FR": "France", "DE": "Germany", "BR": "Brazil"}

# Each entry is applied once, in order; PRAGMA user_version records how many ran. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE credentials (
        username TEXT PRIMARY KEY COLLATE NOCASE,
        password_salt TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        memorable_word TEXT NOT NULL,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked INTEGER NOT NULL DEFAULT 0,
        is_admin INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE temp_tokens (
        token TEXT PRIMARY KEY,
        username TEXT NOT NULL COLLATE NOCASE,
        positions TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE sessions (
        token TEXT PRIMARY KEY,
        username TEXT NOT NULL COLLATE NOCASE,
        created_at REAL NOT NULL,
        last_seen REAL NOT NULL
    );
    CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX customers_name ON customers(name);
    CREATE TABLE invoices (
        id INTEGER PRIMARY KEY,
        number INTEGER NOT NULL UNIQUE,
        customer_code TEXT NOT NULL COLLATE NOCASE,
        customer_name TEXT NOT NULL DEFAULT '',
        customer_reference TEXT NOT NULL DEFAULT '',
        issued_date TEXT NOT NULL,
        due_date TEXT,
        paid_date TEXT,
        status TEXT NOT NULL,
        net REAL NOT NULL,
        vat REAL NOT NULL,
        gross REAL NOT NULL,
        paid REAL NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX invoices_customer ON invoices(customer_code);
    CREATE INDEX invoices_issued ON invoices(issued_date);
    """,
)


class StoreError(Exception):
    """A request the sandbox refuses; rendered by the app as ``{"Message", "Error"}`` with ``status``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


@dataclass(frozen=True)
class LoginChallenge:
    temporary_token: str
    positions: tuple[int, ...]
    is_admin: bool


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    total_amount: Decimal


class ManualClock:
    """A clock tests (and demos) move by hand: ``Store(clock=ManualClock())`` then ``clock.advance(3600)``."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


# --------------------------------------------------------------------------- helpers


def money(value: Any, places: Decimal = CENT) -> Decimal:
    """Decimal rounded half-up (Kashflow/UK VAT convention); raises StoreError on junk input."""
    if isinstance(value, Decimal) and value.is_finite():
        return value.quantize(places, rounding=ROUND_HALF_UP)
    if value is None or value == "":
        return Decimal(0).quantize(places)
    if isinstance(value, bool):
        raise StoreError(400, "InvalidParameter", f"'{value}' is not a valid number.")
    try:
        dec = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise StoreError(400, "InvalidParameter", f"'{value}' is not a valid number.") from None
    if not dec.is_finite():
        raise StoreError(400, "InvalidParameter", f"'{value}' is not a valid number.")
    return dec.quantize(places, rounding=ROUND_HALF_UP)


def parse_date(value: Any, field: str) -> date:
    """Accept the forms clients send: date, 'YYYY-MM-DD', '... HH:mm:ss', '... +05:30', ISO 'T' forms."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StoreError(400, "InvalidParameter", f"'{text}' is not a valid date for {field}.") from None


def kf_date(value: date | None) -> str | None:
    """Kashflow renders document dates at noon without an offset."""
    return None if value is None else f"{value.isoformat()} 12:00:00"


def dumps_doc(doc: Any) -> str:
    """Storage encoding: C-speed json, Decimals as floats (exact for 4 dp values; re-read as Decimal)."""
    return json.dumps(doc, default=_storage_default, separators=(",", ":"), ensure_ascii=False)


def _storage_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


def loads_doc(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


@functools.lru_cache(maxsize=64)
def _key_lookup(names: tuple[str, ...]) -> dict[str, str]:
    return {name.lower(): name for name in names}


def canonical_keys(data: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Rename keys to Kashflow's casing (ASP.NET binds JSON case-insensitively); unknown keys kept."""
    if not isinstance(data, dict):
        raise StoreError(400, "InvalidParameter", "Expected a JSON object.")
    lookup = _key_lookup(names)
    return {lookup.get(str(key).lower(), key): value for key, value in data.items()}


def _hash_password(password: str, salt: str) -> str:
    # A sandbox: modest iteration count keeps login-heavy tests fast while never storing the plain text.
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 20_000).hex()


def _now_iso(clock: Clock) -> str:
    return datetime.fromtimestamp(clock(), UTC).strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------- field vocabularies

INVOICE_FIELDS = (
    "Id",
    "Number",
    "CustomerCode",
    "CustomerId",
    "CustomerName",
    "CustomerReference",
    "IssuedDate",
    "DueDate",
    "PaidDate",
    "ProjectNumber",
    "Currency",
    "Address",
    "DeliveryAddress",
    "UseCustomDeliveryAddress",
    "UpdateCustomerAddress",
    "UpdateCustomerDeliveryAddress",
    "AutomaticCreditControlEnabled",
    "IsCISReverseCharge",
    "CustomerKey",
    "LineItems",
    "PaymentLines",
    "SuppressNumber",
    "InvoiceInECMemberState",
    "InvoiceOutsideECMemberState",
    "PayOnlinePaymentProcessor",
    "IsWhtDeductionToBeApplied",
    "VATNumber",
    "NetAmount",
    "VATAmount",
    "GrossAmount",
    "TotalPaidAmount",
    "Status",
)
LINE_FIELDS = (
    "Number",
    "Description",
    "Quantity",
    "Rate",
    "VATLevel",
    "VATExempt",
    "VATAmount",
    "NominalCode",
    "ProductCode",
    "ProductName",
    "TaxCode",
    "Disallowed",
    "ProjectNumber",
    "HomeCurrencyRate",
    "HomeCurrencyVATAmount",
)
PAYMENT_FIELDS = (
    "Id",
    "Date",
    "Amount",
    "Method",
    "AccountId",
    "Reference",
    "Note",
    "BulkId",
    "BFSTransactionId",
    "PaymentProcessor",
    "IsExternalRefund",
)
CURRENCY_FIELDS = ("Code", "ExchangeRate", "Id", "Name", "Symbol", "DisplaySymbolOnRight", "AutoUpdate")
ADDRESS_FIELDS = ("Name", "Line1", "Line2", "Line3", "Line4", "PostCode", "CountryCode", "CountryName")
CUSTOMER_FIELDS = (
    "Id",
    "Code",
    "Name",
    "DisplayName",
    "Email",
    "TelephoneNumber",
    "MobileNumber",
    "FaxNumber",
    "Website",
    "Contacts",
    "Addresses",
    "DeliveryAddresses",
    "UseCustomDeliveryAddress",
    "VATNumber",
    "IsRegisteredInEC",
    "IsRegisteredOutsideEC",
    "AutoIncludeVATNumber",
    "Currency",
    "PaymentTerms",
    "DiscountRate",
    "ShowDiscount",
    "ReceivesWholesalePricing",
    "DefaultNominalCode",
    "DefaultCustomerReference",
    "Note",
    "IsArchived",
    "CustomTextBoxes",
    "CustomCheckBoxes",
    "CreateCustomerCodeIfDuplicate",
    "CreateCustomerNameIfEmptyOrNull",
    "Source",
    "Key",
    "CustomerKey",
    "EmailTemplateNumber",
    "PDFThemeId",
    "InvoiceFileFormat",
    "OverrideInvoiceFileFormat",
    "AutomaticCreditControlEnabled",
    "EnableCreditLimit",
    "CreditLimit",
    "TradeBorderType",
    "IsCISReverseCharge",
    "ApplyWHT",
    "WHTRate",
    "WHTReferences",
    "UniqueEntityNumber",
)
CONTACT_FIELDS = (
    "Id",
    "IsPrimary",
    "ReceiveEmails",
    "Name",
    "Title",
    "Firstname",
    "LastName",
    "Telephone",
    "Fax",
    "Mobile",
    "Website",
    "Email",
)

# Response-only aggregates a client may echo back; never stored from input.
_INVOICE_COMPUTED = (
    "Id",
    "CustomerId",
    "CustomerName",
    "NetAmount",
    "VATAmount",
    "GrossAmount",
    "TotalPaidAmount",
    "Status",
    "HomeCurrencyGrossAmount",
    "DueAmount",
    "LastPaymentDate",
    "Permalink",
    "PackingSlipPermalink",
    "PreviousNumber",
    "NextNumber",
    "OverdueDays",
    "CreatedDate",
)

INVOICE_SORT = {  # Kashflow enum (int) -> SQL; names accepted too (ASP.NET enum binding)
    0: "number",
    1: "customer_reference",
    2: "customer_name",
    3: "issued_date",
    4: "due_date",
    5: "gross",
    6: "net",
    7: "status",
    8: "paid_date",
    9: "(gross - paid)",
    10: "number",
    11: "vat",
    12: "number",
}
INVOICE_SORT_NAMES = {
    "number": 0,
    "customerref": 1,
    "customerreference": 1,
    "customername": 2,
    "invoicedate": 3,
    "issueddate": 3,
    "paymentduedate": 4,
    "duedate": 4,
    "grossamount": 5,
    "netamount": 6,
    "status": 7,
    "paymentpaiddate": 8,
    "paiddate": 8,
    "dueamount": 9,
    "type": 10,
    "vatamount": 11,
    "vat": 11,
    "project": 12,
}
CUSTOMER_SORT = {0: "c.name", 1: "c.code", 3: "paid", 4: "(gross - paid)"}
CUSTOMER_SORT_NAMES = {"name": 0, "code": 1, "totalpaidamount": 3, "outstandingbalance": 4}


def resolve_sort(value: str | None, table: dict[int, str], names: dict[str, int], default: int) -> str:
    """``sortby`` as enum int or name -> SQL expression; unknown values are a 400 like ASP.NET binding."""
    if value is None or value == "":
        return table[default]
    key = value.strip()
    if key.lstrip("-").isdigit():
        number = int(key)
    else:
        number = names.get(key.lower(), -1)
    if number not in table:
        raise StoreError(400, "InvalidParameter", f"The value '{value}' is not valid for sortby.")
    return table[number]


# --------------------------------------------------------------------------- the store


class Store:
    """All sandbox state. ``clock`` returns epoch seconds so tests can move time (session expiry)."""

    def __init__(self, path: str = ":memory:", *, clock: Clock | None = None) -> None:
        self.path = path
        self.clock: Clock = clock or time.time
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    # ------------------------------------------------------------------ plumbing

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for index, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.executescript(f"BEGIN; {script}; PRAGMA user_version = {index}; COMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialised across server threads."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str) -> Any:
        rows = self._query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else DEFAULT_SETTINGS.get(key)

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    # ------------------------------------------------------------------ credentials & sessions

    def set_credentials(
        self, username: str, password: str, memorable_word: str, *, is_admin: bool = True
    ) -> None:
        """Create or replace a login (and unlock it)."""
        if len(memorable_word) < 3:
            raise ValueError("Kashflow asks for three characters, so the memorable word needs at least 3")
        salt = secrets.token_hex(16)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO credentials(username, password_salt, password_hash, memorable_word, is_admin)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(username) DO UPDATE SET"
                " password_salt = excluded.password_salt, password_hash = excluded.password_hash,"
                " memorable_word = excluded.memorable_word,"
                " is_admin = excluded.is_admin, failed_logins = 0, locked = 0",
                (username, salt, _hash_password(password, salt), memorable_word, int(is_admin)),
            )

    def unlock(self, username: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE credentials SET locked = 0, failed_logins = 0 WHERE username = ?", (username,))

    def login_state(self, username: str) -> dict[str, Any] | None:
        rows = self._query("SELECT failed_logins, locked FROM credentials WHERE username = ?", (username,))
        return (
            {"failed_logins": rows[0]["failed_logins"], "locked": bool(rows[0]["locked"])} if rows else None
        )

    def _fail_login(self, db: sqlite3.Connection, username: str) -> StoreError:
        """Count a failure; the attempt that reaches the threshold already answers AccountLocked."""
        threshold = int(self.get_setting("lockout_threshold"))
        db.execute("UPDATE credentials SET failed_logins = failed_logins + 1 WHERE username = ?", (username,))
        row = db.execute("SELECT failed_logins FROM credentials WHERE username = ?", (username,)).fetchone()
        if row["failed_logins"] >= threshold:
            db.execute("UPDATE credentials SET locked = 1 WHERE username = ?", (username,))
            return _locked()
        return StoreError(400, "InvalidCredentials", "Invalid username or password.")

    def start_login(self, username: str, password: str) -> LoginChallenge:
        """Step 1: check the password and hand out a single-use temporary token plus 3 positions."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM credentials WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise StoreError(400, "InvalidCredentials", "Invalid username or password.")
            if row["locked"]:
                raise _locked()
            if not secrets.compare_digest(
                _hash_password(password, row["password_salt"]), row["password_hash"]
            ):
                error = self._fail_login(db, row["username"])
            else:
                error = None
                word_len = len(row["memorable_word"])
                positions = tuple(sorted(secrets.SystemRandom().sample(range(1, word_len + 1), 3)))
                token = str(uuid.uuid4())
                ttl = float(self.get_setting("temp_token_ttl_seconds"))
                db.execute("DELETE FROM temp_tokens WHERE expires_at < ?", (self.clock(),))
                db.execute(
                    "INSERT INTO temp_tokens(token, username, positions, expires_at) VALUES (?, ?, ?, ?)",
                    (token, row["username"], json.dumps(positions), self.clock() + ttl),
                )
        if error is not None:  # raised outside the block so the failure count is committed
            raise error
        return LoginChallenge(token, positions, bool(row["is_admin"]))

    def complete_login(self, temporary_token: str, answers: dict[int, str]) -> str:
        """Step 2: check the memorable-word characters (case-insensitive); returns a session token."""
        with self.transaction() as db:
            tmp = db.execute(
                "SELECT * FROM temp_tokens WHERE token = ?", (str(temporary_token or "").lower(),)
            ).fetchone()
            if tmp is not None:
                db.execute("DELETE FROM temp_tokens WHERE token = ?", (tmp["token"],))  # single use
            if tmp is None or tmp["expires_at"] < self.clock():
                raise StoreError(400, "InvalidCredentials", "Temporary token is invalid or has expired.")
            row = db.execute("SELECT * FROM credentials WHERE username = ?", (tmp["username"],)).fetchone()
            if row is None:
                raise StoreError(400, "InvalidCredentials", "Invalid username or password.")
            if row["locked"]:
                raise _locked()
            word = row["memorable_word"]
            wanted = json.loads(tmp["positions"])
            ok = set(answers) == set(wanted) and all(
                len(answers[p]) == 1 and answers[p].lower() == word[p - 1].lower() for p in wanted
            )
            if not ok:
                error: StoreError | None = self._fail_login(db, row["username"])
                if error.error == "InvalidCredentials":
                    error = StoreError(
                        400, "InvalidCredentials", "The memorable word characters are incorrect."
                    )
            else:
                error = None
                token = str(uuid.uuid4()).upper()
                now = self.clock()
                db.execute("UPDATE credentials SET failed_logins = 0 WHERE username = ?", (row["username"],))
                db.execute(
                    "INSERT INTO sessions(token, username, created_at, last_seen) VALUES (?, ?, ?, ?)",
                    (token, row["username"], now, now),
                )
        if error is not None:
            raise error
        return token

    def touch_session(self, token: str) -> str | None:
        """Validate a session token and slide its expiry; returns the user name or None."""
        ttl = float(self.get_setting("session_ttl_seconds"))
        now = self.clock()
        with self.transaction() as db:
            row = db.execute("SELECT * FROM sessions WHERE token = ?", (token.upper(),)).fetchone()
            if row is None:
                return None
            if now - row["last_seen"] > ttl:
                db.execute("DELETE FROM sessions WHERE token = ?", (row["token"],))
                return None
            db.execute("UPDATE sessions SET last_seen = ? WHERE token = ?", (now, row["token"]))
            return str(row["username"])

    def delete_session(self, token: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM sessions WHERE token = ?", (token.upper(),)).rowcount > 0

    # ------------------------------------------------------------------ customers

    def get_customer(self, code: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM customers WHERE code = ?", (code,))
        return self._render_customer(rows[0], self._customer_stats([rows[0]["code"]])) if rows else None

    def create_customer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /customers: Code unique unless CreateCustomerCodeIfDuplicate; Code generated when omitted."""
        data = canonical_keys(payload, CUSTOMER_FIELDS)
        with self.transaction() as db:
            name = str(data.get("Name") or "").strip()
            if not name:
                if not data.get("CreateCustomerNameIfEmptyOrNull"):
                    raise StoreError(400, "InvalidParameter", "Customer name is required.")
                count = db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
                name = f"Customer {count + 1}"
            code = str(data.get("Code") or "").strip()
            if code and len(code) > 20:
                raise StoreError(400, "InvalidParameter", "Customer code must be at most 20 characters.")
            exists = code and db.execute("SELECT 1 FROM customers WHERE code = ?", (code,)).fetchone()
            if exists and not data.get("CreateCustomerCodeIfDuplicate"):
                raise StoreError(400, "DuplicateCode", f"Customer code '{code}' already exists.")
            if not code or exists:
                code = self._suggest_code(db, name)
            now = _now_iso(self.clock)
            doc = build_customer(data, code=code, name=name, created=now)
            cur = db.execute(
                "INSERT INTO customers(code, name, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?)",
                (code, name, now, now, dumps_doc(doc)),
            )
            row = db.execute("SELECT * FROM customers WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._render_customer(row, {})

    @staticmethod
    def _suggest_code(db: sqlite3.Connection, name: str) -> str:
        stem = ("".join(ch for ch in name.upper() if ch.isalnum()) + "XXXX")[:4]
        for n in range(1, 10_000):
            code = f"{stem}{n:02d}"
            if not db.execute("SELECT 1 FROM customers WHERE code = ?", (code,)).fetchone():
                return code
        raise StoreError(400, "InvalidParameter", "Could not generate a unique customer code.")

    def list_customers(
        self,
        *,
        page: int,
        perpage: int,
        sortby: str | None = None,
        order: str = "asc",
        namestartswith: str | None = None,
        searchtext: str | None = None,
    ) -> Page:
        where, args = ["1=1"], []
        if namestartswith:
            where.append("c.name LIKE ? ESCAPE '\\'")
            args.append(_like(namestartswith) + "%")
        if searchtext:
            where.append("(c.name LIKE ? ESCAPE '\\' OR c.code LIKE ? ESCAPE '\\')")
            args += ["%" + _like(searchtext) + "%"] * 2
        sort = resolve_sort(sortby, CUSTOMER_SORT, CUSTOMER_SORT_NAMES, 0)
        direction = _direction(order)
        sql_where = " AND ".join(where)
        if "paid" in sort:  # aggregate only when sorting needs it
            select = "c.*, COALESCE(s.paid, 0) AS paid, COALESCE(s.gross, 0) AS gross FROM customers c"
            select += (
                " LEFT JOIN (SELECT customer_code, SUM(paid) AS paid, SUM(gross) AS gross FROM invoices"
                " GROUP BY customer_code) s ON s.customer_code = c.code"
            )
        else:
            select = "c.* FROM customers c"
        total = self._query(f"SELECT COUNT(*) FROM customers c WHERE {sql_where}", args)[0][0]  # noqa: S608
        rows = self._query(
            f"SELECT {select} WHERE {sql_where} ORDER BY {sort} {direction}, c.code {direction}"  # noqa: S608
            " LIMIT ? OFFSET ?",
            [*args, perpage, (page - 1) * perpage],
        )
        stats = self._customer_stats([r["code"] for r in rows])
        items = [_customer_list_item(self._render_customer(r, stats)) for r in rows]
        return Page(items, total, Decimal(0))

    def _customer_stats(self, codes: list[str]) -> dict[str, dict[str, Any]]:
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        rows = self._query(
            "SELECT customer_code, COUNT(*) n, SUM(net) net, SUM(vat) vat, SUM(gross) gross, SUM(paid) paid,"  # noqa: S608 - placeholders only
            " MIN(issued_date) first, MAX(issued_date) last FROM invoices"
            f" WHERE customer_code IN ({marks}) GROUP BY customer_code",
            codes,
        )
        return {r["customer_code"].upper(): dict(r) for r in rows}

    def _render_customer(self, row: sqlite3.Row, stats: dict[str, dict[str, Any]]) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        s = stats.get(row["code"].upper(), {})
        doc["Id"] = row["id"]
        doc["InvoiceCount"] = int(s.get("n") or 0)
        doc["InvoicedNetAmount"] = money(s.get("net") or 0, FOUR_DP)
        doc["InvoicedVATAmount"] = money(s.get("vat") or 0, FOUR_DP)
        doc["TotalPaidAmount"] = money(s.get("paid") or 0, FOUR_DP)
        doc["OutstandingBalance"] = money((s.get("gross") or 0) - (s.get("paid") or 0), FOUR_DP)
        never = "1900-01-01 12:00:00"
        doc["FirstInvoiceDate"] = kf_date(date.fromisoformat(s["first"])) if s.get("first") else never
        doc["LastInvoiceDate"] = kf_date(date.fromisoformat(s["last"])) if s.get("last") else never
        doc["LastUpdatedDate"] = row["updated_at"]
        return doc

    # ------------------------------------------------------------------ invoices

    def get_invoice(self, number: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM invoices WHERE number = ?", (number,))
        return self._render_invoice(rows[0], neighbours=True) if rows else None

    def create_invoice(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /invoices: validate, compute totals server-side, assign Number when omitted."""
        data = canonical_keys(payload, INVOICE_FIELDS)
        with self.transaction() as db:
            code = str(data.get("CustomerCode") or "").strip()
            if not code:
                raise StoreError(400, "InvalidParameter", "CustomerCode is required.")
            cust_row = db.execute("SELECT * FROM customers WHERE code = ?", (code,)).fetchone()
            if cust_row is None:
                raise StoreError(400, "InvalidParameter", f"Customer with code '{code}' does not exist.")
            number = data.get("Number")
            if number in (None, "", 0):
                number = self._next_invoice_number(db)
            else:
                number = _positive_int(number, "Number")
                if db.execute("SELECT 1 FROM invoices WHERE number = ?", (number,)).fetchone():
                    raise StoreError(400, "DuplicateNumber", f"Invoice number {number} already exists.")
            payment_id = int(self.get_setting("next_payment_id") or 1)
            doc, payment_id = build_invoice(
                data,
                number=number,
                customer=loads_doc(cust_row["doc"]) | {"Id": cust_row["id"]},
                default_terms=int(self.get_setting("default_payment_terms_days")),
                today=self.today(),
                next_payment_id=payment_id,
                new_uuid=uuid.uuid4,
            )
            now = _now_iso(self.clock)
            doc["CreatedDate"] = now
            cur = db.execute(_INSERT_INVOICE, _invoice_row(doc, now))
            db.execute(
                "INSERT INTO settings(key, value) VALUES ('next_payment_id', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (json.dumps(payment_id),),
            )
            row = db.execute("SELECT * FROM invoices WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._render_invoice(row, neighbours=True)

    def _next_invoice_number(self, db: sqlite3.Connection) -> int:
        top = db.execute("SELECT MAX(number) FROM invoices").fetchone()[0]
        return int(top) + 1 if top is not None else int(self.get_setting("first_invoice_number"))

    def list_invoices(
        self,
        *,
        page: int,
        perpage: int,
        sortby: str | None = None,
        order: str = "asc",
        customercode: str | None = None,
        statusfilter: str | None = None,
        issuedatefrom: str | None = None,
        issuedateto: str | None = None,
    ) -> Page:
        where, args = ["1=1"], []
        if customercode:
            where.append("customer_code = ?")
            args.append(customercode)
        if statusfilter and statusfilter.strip().lower() not in ("all", "0"):
            status = statusfilter.strip().lower().replace(" ", "").replace("_", "")
            clause = {
                "paid": "status = 'Paid'",
                "unpaid": "status = 'Unpaid'",
                "partpaid": "status = 'Unpaid' AND paid > 0",
                "partiallypaid": "status = 'Unpaid' AND paid > 0",
                "overdue": "status = 'Unpaid' AND due_date < ?",
            }.get(status)
            if clause is None:
                raise StoreError(
                    400, "InvalidParameter", f"The value '{statusfilter}' is not valid for statusfilter."
                )
            where.append(clause)
            if "?" in clause:
                args.append(self.today().isoformat())
        if issuedatefrom:
            where.append("issued_date >= ?")
            args.append(parse_date(issuedatefrom, "issuedatefrom").isoformat())
        if issuedateto:
            where.append("issued_date <= ?")
            args.append(parse_date(issuedateto, "issuedateto").isoformat())
        sort = resolve_sort(sortby, INVOICE_SORT, INVOICE_SORT_NAMES, 0)
        direction = _direction(order)
        sql_where = " AND ".join(where)
        head = self._query(f"SELECT COUNT(*), COALESCE(SUM(gross), 0) FROM invoices WHERE {sql_where}", args)  # noqa: S608
        # Sort and slice on the narrow columns first, then read only this page's documents.
        rows = self._query(
            f"SELECT * FROM invoices WHERE id IN (SELECT id FROM invoices WHERE {sql_where}"  # noqa: S608
            f" ORDER BY {sort} {direction}, number {direction} LIMIT ? OFFSET ?)"
            f" ORDER BY {sort} {direction}, number {direction}",
            [*args, perpage, (page - 1) * perpage],
        )
        items = [_invoice_list_item(self._render_invoice(r, neighbours=False)) for r in rows]
        return Page(items, int(head[0][0]), money(head[0][1], FOUR_DP))

    def _render_invoice(self, row: sqlite3.Row, *, neighbours: bool) -> dict[str, Any]:
        doc = loads_doc(row["doc"])
        doc["Id"] = row["id"]
        due = doc.get("DueDate")
        overdue = 0
        if doc.get("Status") != "Paid" and due:
            overdue = max(0, (self.today() - date.fromisoformat(due[:10])).days)
        doc["OverdueDays"] = overdue
        if neighbours:
            prev = self._query("SELECT MAX(number) FROM invoices WHERE number < ?", (row["number"],))[0][0]
            nxt = self._query("SELECT MIN(number) FROM invoices WHERE number > ?", (row["number"],))[0][0]
            doc["PreviousNumber"] = prev or 0
            doc["NextNumber"] = nxt or 0
        return doc

    # ------------------------------------------------------------------ bulk (seeding)

    def bulk_load(
        self,
        *,
        customers: list[dict[str, Any]],
        invoices: list[dict[str, Any]],
        new_uuid: Callable[[], uuid.UUID],
    ) -> tuple[int, int]:
        """Insert prepared payloads in one transaction (fast seeding); totals computed as on POST."""
        now = _now_iso(self.clock)
        with self.transaction() as db:
            cust_docs: dict[str, dict[str, Any]] = {}
            for payload in customers:
                data = canonical_keys(payload, CUSTOMER_FIELDS)
                created = str(data.pop("CreatedDate", "") or now)
                doc = build_customer(
                    data, code=data["Code"], name=data["Name"], created=created, new_uuid=new_uuid
                )
                cur = db.execute(
                    "INSERT INTO customers(code, name, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?)",
                    (doc["Code"], doc["Name"], created, created, dumps_doc(doc)),
                )
                cust_docs[doc["Code"].upper()] = doc | {"Id": cur.lastrowid}
            payment_id = int(self.get_setting("next_payment_id") or 1)
            number = self._next_invoice_number(db)
            terms = int(self.get_setting("default_payment_terms_days"))
            rows = []
            for payload in invoices:
                data = canonical_keys(payload, INVOICE_FIELDS)
                customer = cust_docs.get(str(data["CustomerCode"]).upper())
                if customer is None:
                    row = db.execute(
                        "SELECT * FROM customers WHERE code = ?", (data["CustomerCode"],)
                    ).fetchone()
                    if row is None:
                        raise StoreError(400, "InvalidParameter", f"Unknown customer {data['CustomerCode']}")
                    customer = loads_doc(row["doc"]) | {"Id": row["id"]}
                num = int(data.get("Number") or number)
                number = max(number, num + 1)
                doc, payment_id = build_invoice(
                    data,
                    number=num,
                    customer=customer,
                    default_terms=terms,
                    today=self.today(),
                    next_payment_id=payment_id,
                    new_uuid=new_uuid,
                )
                created = f"{doc['IssuedDate'][:10]} 09:00:00"
                doc["CreatedDate"] = created
                rows.append(_invoice_row(doc, created))
            db.executemany(_INSERT_INVOICE, rows)
            db.execute(
                "INSERT INTO settings(key, value) VALUES ('next_payment_id', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (json.dumps(payment_id),),
            )
        return len(customers), len(invoices)

    def counts(self) -> dict[str, int]:
        return {
            "customers": self._query("SELECT COUNT(*) FROM customers")[0][0],
            "invoices": self._query("SELECT COUNT(*) FROM invoices")[0][0],
            "sessions": self._query("SELECT COUNT(*) FROM sessions")[0][0],
        }


# --------------------------------------------------------------------------- document builders

_INSERT_INVOICE = (
    "INSERT INTO invoices(number, customer_code, customer_name, customer_reference, issued_date, due_date,"
    " paid_date, status, net, vat, gross, paid, created_at, updated_at, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _invoice_row(doc: dict[str, Any], now: str) -> tuple[Any, ...]:
    return (
        doc["Number"],
        doc["CustomerCode"],
        doc.get("CustomerName") or "",
        doc.get("CustomerReference") or "",
        doc["IssuedDate"][:10],
        (doc.get("DueDate") or "")[:10] or None,
        (doc.get("PaidDate") or "")[:10] or None,
        doc["Status"],
        float(doc["NetAmount"]),
        float(doc["VATAmount"]),
        float(doc["GrossAmount"]),
        float(doc["TotalPaidAmount"]),
        now,
        now,
        dumps_doc(doc),
    )


def _locked() -> StoreError:
    return StoreError(401, "AccountLocked", "User account is locked, please contact administrator.")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _direction(order: str | None) -> str:
    value = (order or "asc").strip().lower()
    if value not in ("asc", "desc", "ascending", "descending", "0", "1"):
        raise StoreError(400, "InvalidParameter", f"The value '{order}' is not valid for order.")
    return "DESC" if value in ("desc", "descending", "1") else "ASC"


def _positive_int(value: Any, field: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise StoreError(400, "InvalidParameter", f"{field} can only be numeric.") from None
    if number <= 0:
        raise StoreError(400, "InvalidParameter", f"{field} must be greater than zero.")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _address(raw: Any) -> dict[str, Any]:
    data = canonical_keys(raw or {}, ADDRESS_FIELDS)
    out = {f: data.get(f) for f in ("Line1", "Line2", "Line3", "Line4", "PostCode")}
    code = (data.get("CountryCode") or "GB") if any(out.values()) else data.get("CountryCode")
    out["CountryCode"] = code
    out["CountryName"] = COUNTRIES.get(str(code or "").upper(), data.get("CountryName")) if code else None
    if "Name" in data:
        out = {"Name": data["Name"], **out}
    return out


def currency_doc(raw: Any, home: str = "GBP") -> dict[str, Any]:
    """Resolve a currency by Code; only Code and ExchangeRate are read on write (as in Kashflow)."""
    data = canonical_keys(raw or {}, CURRENCY_FIELDS)
    code = str(data.get("Code") or home).upper()
    known = CURRENCIES.get(code)
    if known is None:
        raise StoreError(400, "InvalidParameter", f"Currency '{code}' is not set up for this account.")
    rate = money(data.get("ExchangeRate") or 1, FOUR_DP)
    if code == home:
        rate = Decimal("1.0000")
    if rate <= 0:
        raise StoreError(400, "InvalidParameter", "ExchangeRate must be greater than zero.")
    return {
        "Code": code,
        "ExchangeRate": rate,
        "Id": known["Id"],
        "Name": known["Name"],
        "Symbol": known["Symbol"],
        "DisplaySymbolOnRight": known["DisplaySymbolOnRight"],
        "AutoUpdate": False,
    }


def build_customer(
    data: dict[str, Any],
    *,
    code: str,
    name: str,
    created: str,
    new_uuid: Callable[[], uuid.UUID] = uuid.uuid4,
) -> dict[str, Any]:
    """The stored customer document (aggregates are added at render time)."""
    contacts = [canonical_keys(c, CONTACT_FIELDS) for c in data.get("Contacts") or []]
    addresses = [_address(a) for a in data.get("Addresses") or []]
    terms = canonical_keys(data.get("PaymentTerms") or {}, ("Days", "Type"))
    postcode = addresses[0]["PostCode"] if addresses and addresses[0].get("PostCode") else ""
    doc = {
        "Code": code,
        "Name": name,
        "DisplayName": f"{name}, {postcode}" if postcode else name,
        "Email": data.get("Email") or (contacts[0].get("Email") if contacts else "") or "",
        "TelephoneNumber": data.get("TelephoneNumber") or "",
        "MobileNumber": data.get("MobileNumber") or "",
        "FaxNumber": data.get("FaxNumber") or "",
        "Website": data.get("Website") or "",
        "Contacts": contacts,
        "Addresses": addresses,
        "DeliveryAddresses": [_address(a) for a in data.get("DeliveryAddresses") or []],
        "UseCustomDeliveryAddress": _bool(data.get("UseCustomDeliveryAddress")),
        "VATNumber": data.get("VATNumber") or "",
        "IsRegisteredInEC": _bool(data.get("IsRegisteredInEC")),
        "IsRegisteredOutsideEC": _bool(data.get("IsRegisteredOutsideEC")),
        "Currency": currency_doc(data.get("Currency")),
        "PaymentTerms": {
            "Days": int(terms.get("Days") or 30),
            "Type": terms.get("Type") or "AfterIssuedDate",
        },
        "DiscountRate": money(data.get("DiscountRate"), FOUR_DP),
        "ShowDiscount": _bool(data.get("ShowDiscount")),
        "ReceivesWholesalePricing": _bool(data.get("ReceivesWholesalePricing")),
        "DefaultNominalCode": int(data.get("DefaultNominalCode") or 0),
        "DefaultCustomerReference": data.get("DefaultCustomerReference") or "",
        "Note": data.get("Note") or "",
        "IsArchived": _bool(data.get("IsArchived")),
        "CustomTextBoxes": data.get("CustomTextBoxes") or [],
        "CustomCheckBoxes": data.get("CustomCheckBoxes") or [],
        "Source": int(data.get("Source") or 0),
        "SourceName": "",
        "Key": str(new_uuid()),
        "CreatedDate": created,
        "IsSchedule": False,
        "TradeBorderType": int(data.get("TradeBorderType") or 0),
        "IsCISReverseCharge": _bool(data.get("IsCISReverseCharge")),
        "ApplyWHT": _bool(data.get("ApplyWHT")),
        "AutomaticCreditControlEnabled": _bool(data.get("AutomaticCreditControlEnabled")),
    }
    return doc


def build_invoice(
    data: dict[str, Any],
    *,
    number: int,
    customer: dict[str, Any],
    default_terms: int,
    today: date,
    next_payment_id: int,
    new_uuid: Callable[[], uuid.UUID],
) -> tuple[dict[str, Any], int]:
    """Compute the stored invoice document: line VAT, Net/VAT/Gross, payments and Status."""
    issued = parse_date(data["IssuedDate"], "IssuedDate") if data.get("IssuedDate") else today
    terms_days = int((customer.get("PaymentTerms") or {}).get("Days") or default_terms)
    due = (
        parse_date(data["DueDate"], "DueDate") if data.get("DueDate") else issued + timedelta(days=terms_days)
    )
    currency = currency_doc(data.get("Currency") or customer.get("Currency"))
    raw_lines = data.get("LineItems") or []
    if not isinstance(raw_lines, list):
        raise StoreError(400, "InvalidParameter", "LineItems must be a list.")
    lines: list[dict[str, Any]] = []
    net_total = vat_total = Decimal(0)
    for index, raw in enumerate(raw_lines, start=1):
        line = canonical_keys(raw, LINE_FIELDS)
        qty = money(line.get("Quantity", 1), FOUR_DP)
        rate = money(line.get("Rate"), FOUR_DP)
        exempt = _bool(line.get("VATExempt"))
        level = Decimal(0) if exempt else money(line.get("VATLevel"), FOUR_DP)
        line_net = (qty * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        if exempt:
            vat = Decimal(0)
        elif line.get("VATAmount") not in (None, ""):
            vat = money(line["VATAmount"])
        else:
            vat = (qty * rate * level / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        nominal = line.get("NominalCode")
        if nominal in (None, ""):
            raise StoreError(400, "InvalidParameter", f"NominalCode is required on line {index}.")
        net_total += line_net
        vat_total += vat
        lines.append(
            {
                "Number": int(line.get("Number") or index),
                "Description": line.get("Description") or "",
                "Quantity": qty,
                "Rate": rate,
                "VATLevel": level,
                "VATExempt": exempt,
                "VATAmount": vat.quantize(FOUR_DP),
                "NominalCode": _positive_int(nominal, "NominalCode"),
                "ProductCode": line.get("ProductCode") or "",
                "ProductName": line.get("ProductName") or "",
                "ProjectNumber": int(line.get("ProjectNumber") or 0),
                "HomeCurrencyRate": (rate / currency["ExchangeRate"]).quantize(
                    FOUR_DP, rounding=ROUND_HALF_UP
                ),
                "HomeCurrencyVATAmount": (vat / currency["ExchangeRate"]).quantize(
                    FOUR_DP, rounding=ROUND_HALF_UP
                ),
            }
        )
    payments: list[dict[str, Any]] = []
    paid = Decimal(0)
    last_payment: date | None = None
    for raw in data.get("PaymentLines") or []:
        pay = canonical_keys(raw, PAYMENT_FIELDS)
        amount = money(pay.get("Amount"))
        pay_date = parse_date(pay["Date"], "PaymentLines.Date") if pay.get("Date") else today
        last_payment = max(last_payment or pay_date, pay_date)
        paid += amount
        payments.append(
            {
                "Id": next_payment_id,
                "InvoiceNumber": number,
                "Date": kf_date(pay_date),
                "Amount": amount.quantize(FOUR_DP),
                "Method": int(pay.get("Method") or 0),
                "AccountId": int(pay.get("AccountId") or 0),
                "Reference": pay.get("Reference") or "",
                "Note": pay.get("Note") or "",
                "Permalink": f"/v2/documents/invoice/payment/{new_uuid()}",
            }
        )
        next_payment_id += 1
    net = net_total.quantize(FOUR_DP)
    vat_amt = vat_total.quantize(FOUR_DP)
    gross = (net_total + vat_total).quantize(FOUR_DP)
    status = "Paid" if paid >= gross else "Unpaid"
    addresses = customer.get("Addresses") or [{}]
    address = _address(data["Address"]) if data.get("Address") else dict(addresses[0])
    permalink = new_uuid()
    doc = {
        "Number": number,
        "CustomerCode": customer["Code"],
        "CustomerId": customer.get("Id", 0),
        "CustomerName": customer.get("Name"),
        "CustomerReference": data.get("CustomerReference") or "",
        "CustomerDiscount": customer.get("DiscountRate", Decimal(0)),
        "IssuedDate": kf_date(issued),
        "DueDate": kf_date(due),
        "PaidDate": kf_date(last_payment) if status == "Paid" and payments else None,
        "LastPaymentDate": kf_date(last_payment),
        "Address": address,
        "DeliveryAddress": _address(data["DeliveryAddress"]) if data.get("DeliveryAddress") else None,
        "UseCustomDeliveryAddress": _bool(data.get("UseCustomDeliveryAddress")),
        "UpdateCustomerAddress": False,
        "UpdateCustomerDeliveryAddress": False,
        "Currency": currency,
        "LineItems": lines,
        "PaymentLines": payments,
        "NetAmount": net,
        "VATAmount": vat_amt,
        "GrossAmount": gross,
        "HomeCurrencyGrossAmount": (gross / currency["ExchangeRate"]).quantize(
            FOUR_DP, rounding=ROUND_HALF_UP
        ),
        "TotalPaidAmount": paid.quantize(FOUR_DP),
        "DueAmount": (gross - paid).quantize(FOUR_DP),
        "Status": status,
        "ProjectNumber": int(data.get("ProjectNumber") or 0),
        "AutomaticCreditControlEnabled": _bool(data.get("AutomaticCreditControlEnabled")),
        "EmailCount": 0,
        "SuppressNumber": 0,
        "InvoiceInECMemberState": False,
        "InvoiceOutsideECMemberState": False,
        "IsWhtDeductionToBeApplied": False,
        "PayOnlinePaymentProcessor": 0,
        "VATNumber": customer.get("VATNumber") or "",
        "Permalink": f"/v2/documents/invoice/{permalink}",
        "PackingSlipPermalink": f"v2/documents/packingslip/{permalink}",
        "ReminderLetters": [],
    }
    return doc, next_payment_id


_LIST_OMIT_INVOICE = ("PaymentLines", "ReminderLetters", "Permalink", "PackingSlipPermalink")
_LIST_KEEP_CUSTOMER = (
    "Id",
    "Code",
    "Name",
    "TotalPaidAmount",
    "OutstandingBalance",
    "IsSchedule",
    "SourceName",
    "DefaultNominalCode",
    "IsArchived",
    "VATNumber",
    "TradeBorderType",
    "IsCISReverseCharge",
    "ApplyWHT",
    "Contacts",
    "Addresses",
    "Currency",
)


def _invoice_list_item(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _LIST_OMIT_INVOICE}


def _customer_list_item(doc: dict[str, Any]) -> dict[str, Any]:
    item = {k: doc[k] for k in _LIST_KEEP_CUSTOMER if k in doc}
    item["ApplyWithholdingTax"] = item.pop("ApplyWHT", False)
    item["CustomerKey"] = doc.get("Key")
    return item
