"""SQLite state for the Kashflow sandbox: one account per database file.

Records are JSON documents (the shape Kashflow returns) next to the indexed columns lookups, filters and
sorting need. Payment lines live in their own table so bank balances, bulk payments and ``Paid`` status come
from one place. The server is threaded: one connection guarded by a re-entrant lock keeps ``:memory:``
databases usable and writes serialised, which is all a sandbox needs.

The resources are split by area (``banking``, ``ledger``, ``documents``, ``parties``), each a mixin on the one
below it; ``store.Store`` is the top of that stack.
"""

from __future__ import annotations

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
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from .model import FOUR_DP, Page, RefData, StoreError, money, stamp

Clock = Callable[[], float]

DEFAULT_SETTINGS: dict[str, Any] = {
    "company_name": "Ledgerbridge Sandbox Ltd",
    "session_ttl_seconds": 60 * 60,  # Kashflow: 60 minutes of inactivity ("configurable")
    "temp_token_ttl_seconds": 5 * 60,  # Kashflow: "x minutes"; not published
    "lockout_threshold": 5,
    "default_payment_terms_days": 30,
    "first_invoice_number": 1,
    "first_purchase_number": 1,
    "first_journal_number": 1,
    "home_currency": "GBP",
    "standard_vat_rate": 20,
}

SCHEMA_ID = 0x4B460002  # PRAGMA application_id: "KF" + schema generation; older files must be reseeded

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
        is_admin INTEGER NOT NULL DEFAULT 1,
        logins INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE temp_tokens (
        token TEXT PRIMARY KEY, username TEXT NOT NULL COLLATE NOCASE, positions TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE sessions (
        token TEXT PRIMARY KEY, username TEXT NOT NULL COLLATE NOCASE, created_at REAL NOT NULL,
        last_seen REAL NOT NULL
    );
    CREATE TABLE customers (
        id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL DEFAULT '',
        archived INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, doc TEXT NOT NULL
    );
    CREATE INDEX customers_name ON customers(name);
    CREATE TABLE suppliers (
        id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL DEFAULT '',
        archived INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, doc TEXT NOT NULL
    );
    CREATE INDEX suppliers_name ON suppliers(name);
    CREATE TABLE invoices (
        id INTEGER PRIMARY KEY, number INTEGER NOT NULL UNIQUE, party_id INTEGER NOT NULL,
        party_code TEXT NOT NULL COLLATE NOCASE, party_name TEXT NOT NULL DEFAULT '',
        reference TEXT NOT NULL DEFAULT '', issued_date TEXT NOT NULL, due_date TEXT, paid_date TEXT,
        last_payment_date TEXT, status TEXT NOT NULL, net REAL NOT NULL, vat REAL NOT NULL, gross REAL NOT NULL,
        paid REAL NOT NULL DEFAULT 0, currency TEXT NOT NULL, project_number INTEGER NOT NULL DEFAULT 0,
        type TEXT NOT NULL DEFAULT 'Invoice',
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, doc TEXT NOT NULL
    );
    CREATE INDEX invoices_party ON invoices(party_id);
    CREATE INDEX invoices_code ON invoices(party_code);
    CREATE INDEX invoices_issued ON invoices(issued_date);
    CREATE TABLE purchases (
        id INTEGER PRIMARY KEY, number INTEGER NOT NULL UNIQUE, party_id INTEGER NOT NULL,
        party_code TEXT NOT NULL COLLATE NOCASE, party_name TEXT NOT NULL DEFAULT '',
        reference TEXT NOT NULL DEFAULT '', issued_date TEXT NOT NULL, due_date TEXT, paid_date TEXT,
        last_payment_date TEXT, status TEXT NOT NULL, net REAL NOT NULL, vat REAL NOT NULL, gross REAL NOT NULL,
        paid REAL NOT NULL DEFAULT 0, currency TEXT NOT NULL, project_number INTEGER NOT NULL DEFAULT 0,
        type TEXT NOT NULL DEFAULT 'Purchase',
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, doc TEXT NOT NULL
    );
    CREATE INDEX purchases_party ON purchases(party_id);
    CREATE INDEX purchases_code ON purchases(party_code);
    CREATE INDEX purchases_issued ON purchases(issued_date);
    CREATE TABLE payments (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, parent_id INTEGER NOT NULL, date TEXT NOT NULL,
        amount REAL NOT NULL, method INTEGER NOT NULL, account_id INTEGER NOT NULL,
        reference TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', bulk_id INTEGER NOT NULL DEFAULT 0,
        bulk_number INTEGER NOT NULL DEFAULT 0, guid TEXT NOT NULL
    );
    CREATE INDEX payments_parent ON payments(kind, parent_id);
    CREATE INDEX payments_account ON payments(account_id);
    CREATE TABLE bulk_payments (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, number INTEGER NOT NULL, doc TEXT NOT NULL,
        UNIQUE (kind, number)
    );
    CREATE TABLE nominals (
        id INTEGER PRIMARY KEY, code INTEGER NOT NULL UNIQUE, name TEXT NOT NULL,
        classification INTEGER NOT NULL, nomtype INTEGER NOT NULL, archived INTEGER NOT NULL DEFAULT 0,
        doc TEXT NOT NULL
    );
    CREATE TABLE products (
        id INTEGER PRIMARY KEY, nominal_code INTEGER NOT NULL, code TEXT NOT NULL COLLATE NOCASE,
        name TEXT NOT NULL, in_use INTEGER NOT NULL DEFAULT 1, manage_stock INTEGER NOT NULL DEFAULT 0,
        quantity INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL, UNIQUE (nominal_code, code)
    );
    CREATE TABLE bank_accounts (
        id INTEGER PRIMARY KEY, code INTEGER NOT NULL UNIQUE, name TEXT NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0, is_default INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL
    );
    CREATE TABLE journals (
        id INTEGER PRIMARY KEY, number INTEGER NOT NULL UNIQUE, journal_date TEXT NOT NULL,
        category INTEGER NOT NULL DEFAULT 0, total REAL NOT NULL, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, doc TEXT NOT NULL
    );
    CREATE TABLE vat_rates (id INTEGER PRIMARY KEY, rate REAL NOT NULL UNIQUE, text TEXT NOT NULL);
    CREATE TABLE currencies (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE COLLATE NOCASE, doc TEXT NOT NULL);
    CREATE TABLE payment_methods (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL);
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY, object_type INTEGER NOT NULL, object_id INTEGER NOT NULL, number INTEGER NOT NULL,
        text TEXT NOT NULL, date TEXT NOT NULL, modified_by TEXT NOT NULL, UNIQUE (object_type, object_id, number)
    );
    """,
)

COUNTED_TABLES = (
    "customers", "suppliers", "products", "invoices", "purchases", "payments", "bulk_payments", "nominals",
    "bank_accounts", "journals", "vat_rates", "currencies", "payment_methods", "notes", "sessions",
)


@dataclass(frozen=True)
class LoginChallenge:
    temporary_token: str
    positions: tuple[int, ...]
    is_admin: bool


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


def dumps_doc(doc: Any) -> str:
    """Storage encoding: C-speed json; builders already store money as floats (see ``model.f4``)."""
    return json.dumps(doc, default=_storage_default, separators=(",", ":"), ensure_ascii=False)


def _storage_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


def loads_doc(raw: str) -> Any:
    return json.loads(raw, parse_float=Decimal)


def _hash_password(password: str, salt: str) -> str:
    # A sandbox: a modest iteration count keeps login-heavy tests fast while never storing the plain text.
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 20_000).hex()


def _locked() -> StoreError:
    return StoreError(401, "AccountLocked", "User account is locked, please contact administrator.")


class StoreBase:
    """Connection, schema, transactions, settings, login and sessions; the resource mixins build on it."""

    def __init__(self, path: str = ":memory:", *, clock: Clock | None = None) -> None:
        self.path = path
        self.clock: Clock = clock or time.time
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._refs: RefData | None = None
        self._migrate()

    # ------------------------------------------------------------------ plumbing

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
            if version and app_id != SCHEMA_ID:
                raise RuntimeError(f"{self.path} was written by an older Kashflow sandbox; reseed the instance")
            for index, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.executescript(
                    f"BEGIN; {script}; PRAGMA user_version = {index}; PRAGMA application_id = {SCHEMA_ID}; COMMIT;"
                )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialised across server threads (re-entrant: nested calls join it)."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                self._refs = None
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def _one(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = self._query(sql, args)
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def now(self) -> str:
        return stamp(self.clock())

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def counts(self) -> dict[str, int]:
        return {t: self._query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in COUNTED_TABLES}  # noqa: S608

    def _page(
        self,
        table: str,
        where: list[str],
        args: list[Any],
        order_by: str,
        page: int,
        perpage: int,
        render: Callable[[sqlite3.Row], dict[str, Any]] | None = None,
        *,
        render_page: Callable[[list[sqlite3.Row]], list[dict[str, Any]]] | None = None,
        amount: str | None = None,
        select: str = "*",
        joins: str = "",
    ) -> Page:
        """Count, total and one page; sorts and slices on narrow columns before reading documents.

        ``render`` turns one row into a record; ``render_page`` the whole page at once (to batch look-ups).
        """
        sql_where = " AND ".join(where) or "1=1"
        total_sql = f"COALESCE(SUM({amount}), 0)" if amount else "0"
        head = self._query(f"SELECT COUNT(*), {total_sql} FROM {table} t WHERE {sql_where}", args)[0]  # noqa: S608
        rows = self._query(
            f"SELECT {select} FROM {table} t {joins} WHERE t.id IN (SELECT t.id FROM {table} t {joins}"  # noqa: S608
            f" WHERE {sql_where} ORDER BY {order_by} LIMIT ? OFFSET ?) ORDER BY {order_by}",
            [*args, perpage, (page - 1) * perpage],
        )
        if render_page is not None:
            items = render_page(rows)
        else:
            assert render is not None, "_page needs render or render_page"
            items = [render(r) for r in rows]
        return Page(items, int(head[0]), money(head[1], FOUR_DP))

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str) -> Any:
        row = self._one("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(row["value"]) if row else DEFAULT_SETTINGS.get(key)

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )
        self._refs = None

    # ------------------------------------------------------------------ reference data

    def refs(self) -> RefData:
        """Nominals, products, VAT rates, currencies, bank accounts, payment methods (cached until changed)."""
        cached = self._refs
        if cached is not None:
            return cached
        with self._lock:
            refs = RefData(
                home_currency=str(self.get_setting("home_currency")),
                standard_rate=money(self.get_setting("standard_vat_rate"), Decimal("0.0001")),
            )
            for row in self._db.execute("SELECT id, code, name FROM nominals"):
                refs.nominals[row["code"]] = {"Id": row["id"], "Name": row["name"]}
            for row in self._db.execute("SELECT id, nominal_code, code, name, manage_stock, doc FROM products"):
                key = (row["nominal_code"], row["code"].upper())
                refs.products[key] = loads_doc(row["doc"]) | {
                    "Id": row["id"], "Code": row["code"], "Name": row["name"], "NominalCode": row["nominal_code"],
                    "ManageStockLevel": bool(row["manage_stock"]),
                }
                refs.products_by_code.setdefault(key[1], []).append(key)
            rates = self._db.execute("SELECT rate FROM vat_rates")
            refs.vat_rates = {money(r["rate"], Decimal("0.0001")) for r in rates}
            for row in self._db.execute("SELECT id, code, doc FROM currencies"):
                refs.currencies[row["code"].upper()] = loads_doc(row["doc"]) | {"Id": row["id"]}
            for row in self._db.execute("SELECT id, code, name, is_default, doc FROM bank_accounts"):
                refs.bank_accounts[row["id"]] = loads_doc(row["doc"]) | {
                    "Id": row["id"], "Code": row["code"], "AccountName": row["name"]
                }
                if row["is_default"]:
                    refs.default_account = row["id"]
            for row in self._db.execute("SELECT id, kind, name FROM payment_methods"):
                refs.payment_methods.setdefault(row["kind"], {})[row["id"]] = row["name"]
            self._refs = refs
            return refs

    def _changed_refs(self) -> None:
        self._refs = None

    # ------------------------------------------------------------------ credentials & sessions

    def set_credentials(self, username: str, password: str, memorable_word: str, *, is_admin: bool = True) -> None:
        """Create or replace a login (and unlock it)."""
        if len(memorable_word) < 3:
            raise ValueError("Kashflow asks for three characters, so the memorable word needs at least 3")
        salt = secrets.token_hex(16)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO credentials(username, password_salt, password_hash, memorable_word, is_admin)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(username) DO UPDATE SET"
                " password_salt = excluded.password_salt, password_hash = excluded.password_hash,"
                " memorable_word = excluded.memorable_word, is_admin = excluded.is_admin,"
                " failed_logins = 0, locked = 0",
                (username, salt, _hash_password(password, salt), memorable_word, int(is_admin)),
            )

    def unlock(self, username: str | None = None) -> int:
        """Unlock one user (or every user); returns how many were locked."""
        with self.transaction() as db:
            sql = "UPDATE credentials SET locked = 0, failed_logins = 0 WHERE locked = 1"
            return db.execute(sql + (" AND username = ?" if username else ""), (username,) if username else ()).rowcount

    def login_state(self, username: str) -> dict[str, Any] | None:
        row = self._one("SELECT failed_logins, locked FROM credentials WHERE username = ?", (username,))
        return {"failed_logins": row["failed_logins"], "locked": bool(row["locked"])} if row else None

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
            if not secrets.compare_digest(_hash_password(password, row["password_salt"]), row["password_hash"]):
                error: StoreError | None = self._fail_login(db, row["username"])
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
            tmp = db.execute("SELECT * FROM temp_tokens WHERE token = ?",
                             (str(temporary_token or "").lower(),)).fetchone()
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
                if error is not None and error.error == "InvalidCredentials":
                    error = StoreError(400, "InvalidCredentials", "The memorable word characters are incorrect.")
            else:
                error = None
                token = str(uuid.uuid4()).upper()
                now = self.clock()
                db.execute(
                    "UPDATE credentials SET failed_logins = 0, logins = logins + 1 WHERE username = ?",
                    (row["username"],),
                )
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

    def locked_users(self) -> list[str]:
        return [r[0] for r in self._query("SELECT username FROM credentials WHERE locked = 1")]

    def total_logins(self) -> int:
        return int(self._query("SELECT COALESCE(SUM(logins), 0) FROM credentials")[0][0])


def new_guid(source: Callable[[], uuid.UUID] | None = None) -> str:
    return str((source or uuid.uuid4)())
