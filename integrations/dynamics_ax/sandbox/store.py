"""SQLite state of the AX 2012 sandbox, using AX table and column names.

Why AX names: a later issue exposes these tables over ODBC (SQLite ODBC driver) so the read/CDC side of the
connector can be written against the same SQL it will run on SQL Server. Conventions copied from AX (reference
§6.1):

* every row has RECID (bigint, allocated per table from SYSTEMSEQUENCES starting at 5637144576 — start value
  inferred), RECVERSION (1 on insert, random on every update) and PARTITION (RecId of the "initial" PARTITIONS
  row, R2+);
* per-company tables carry DATAAREAID in **lowercase**; shared tables (MAINACCOUNT, DIRPARTYTABLE, DIMENSION*,
  CURRENCY, LOGISTICS*) have none;
* foreign keys point at RECID (CUSTTABLE.PARTY, CUSTINVOICELINE.PARENTRECID, …LEDGERDIMENSION,
  …DEFAULTDIMENSION);
* dates are ISO text ``YYYY-MM-DD`` (AX's "empty" date is 1900-01-01), datetimes UTC text; money
  NUMERIC(32,16).

Simplifications (differences from a real AX database) are listed in ``SIMPLIFICATIONS`` for docs/sandbox.md.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

FIRST_RECID = 5637144576
EMPTY_DATE = "1900-01-01"

SIMPLIFICATIONS = [
    "RecIds come from one SYSTEMSEQUENCES row per table starting at 5637144576 (real AX allocates blocks per"
    " AOS; TABID values are sandbox numbers, not AX table ids).",
    "DATAAREA carries no currency; the accounting currency is on LEDGER.ACCOUNTINGCURRENCY (as in AX), but "
    "LEDGER.PRIMARYFORLEGALENTITY points at DATAAREA.RECID instead of COMPANYINFO.RECID.",
    "Dimension values live in DIMENSIONATTRIBUTEVALUE with a DISPLAYVALUE column (D365-style); real AX 2012 "
    "keeps only ENTITYINSTANCE pointing into the backing entity (operating units, DIMENSIONFINANCIALTAG "
    "...).",
    "One account structure (DIMENSIONHIERARCHY 'Manufacturing P&L') applies to every main account; no "
    "advanced rules.",
    "AIFMESSAGELOG is a simplified message log (AX has AifMessageLog/AifDocumentLog with more columns); "
    "ENTITYKEYS holds the produced keys as 'Field=Value;...' text.",
    "Amounts are SQLite NUMERIC (floating point on read); AX uses numeric(32,16).",
]

# Sandbox table ids for SYSTEMSEQUENCES.TABID (NOT the real AX ids).
TABLE_IDS = {
    "PARTITIONS": 1,
    "DATAAREA": 2,
    "LEDGER": 3,
    "CURRENCY": 4,
    "PAYMTERM": 5,
    "LEDGERCHARTOFACCOUNTS": 6,
    "MAINACCOUNT": 7,
    "DIMENSIONATTRIBUTE": 8,
    "DIMENSIONATTRIBUTEVALUE": 9,
    "DIMENSIONHIERARCHY": 10,
    "DIMENSIONHIERARCHYLEVEL": 11,
    "DIMENSIONATTRIBUTEVALUESET": 12,
    "DIMENSIONATTRIBUTEVALUESETITEM": 13,
    "DIMENSIONATTRIBUTEVALUECOMBINATION": 14,
    "CUSTGROUP": 15,
    "DIRPARTYTABLE": 16,
    "LOGISTICSLOCATION": 17,
    "LOGISTICSPOSTALADDRESS": 18,
    "DIRPARTYLOCATION": 19,
    "CUSTTABLE": 20,
    "CUSTINVOICETABLE": 21,
    "CUSTINVOICELINE": 22,
    "AIFMESSAGELOG": 23,
}

_SYS = "RECID BIGINT PRIMARY KEY, RECVERSION INTEGER NOT NULL DEFAULT 1, PARTITION BIGINT NOT NULL DEFAULT 0"
_CO = "DATAAREAID NVARCHAR(4) NOT NULL"
_STAMPS = "CREATEDDATETIME DATETIME, MODIFIEDDATETIME DATETIME"
_MONEY = "NUMERIC(32,16) NOT NULL DEFAULT 0"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS SYSTEMSEQUENCES (ID INTEGER NOT NULL, NAME NVARCHAR(40) NOT NULL, TABID INTEGER
NOT NULL,
    NEXTVAL BIGINT NOT NULL, MINVAL BIGINT NOT NULL, MAXVAL BIGINT NOT NULL, CYCLE INTEGER NOT NULL DEFAULT 0,
    DATAAREAID NVARCHAR(4) NOT NULL DEFAULT 'dat', PRIMARY KEY (TABID));
CREATE TABLE IF NOT EXISTS PARTITIONS ({_SYS}, PARTITIONKEY NVARCHAR(8) NOT NULL UNIQUE, NAME NVARCHAR(60));
CREATE TABLE IF NOT EXISTS DATAAREA ({_SYS}, ID NVARCHAR(4) NOT NULL UNIQUE, NAME NVARCHAR(40),
    ISVIRTUAL INTEGER NOT NULL DEFAULT 0, ALWAYSNATIVE INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS LEDGER ({_SYS}, NAME NVARCHAR(20) NOT NULL, DESCRIPTION NVARCHAR(60),
    ACCOUNTINGCURRENCY NVARCHAR(3) NOT NULL, REPORTINGCURRENCY NVARCHAR(3), CHARTOFACCOUNTS BIGINT,
    PRIMARYFORLEGALENTITY BIGINT);
CREATE TABLE IF NOT EXISTS CURRENCY ({_SYS}, CURRENCYCODE NVARCHAR(3) NOT NULL UNIQUE, TXT NVARCHAR(120));
CREATE TABLE IF NOT EXISTS PAYMTERM ({_SYS}, {_CO}, PAYMTERMID NVARCHAR(10) NOT NULL, DESCRIPTION
NVARCHAR(60),
    NUMOFDAYS INTEGER NOT NULL DEFAULT 0, UNIQUE (DATAAREAID, PAYMTERMID));
CREATE TABLE IF NOT EXISTS LEDGERCHARTOFACCOUNTS ({_SYS}, NAME NVARCHAR(60) NOT NULL UNIQUE, DESCRIPTION
NVARCHAR(60));
CREATE TABLE IF NOT EXISTS MAINACCOUNT ({_SYS}, MAINACCOUNTID NVARCHAR(20) NOT NULL, NAME NVARCHAR(60),
    TYPE INTEGER NOT NULL DEFAULT 0, LEDGERCHARTOFACCOUNTS BIGINT NOT NULL, CURRENCYCODE NVARCHAR(3) DEFAULT
    '',
    UNIQUE (LEDGERCHARTOFACCOUNTS, MAINACCOUNTID));
CREATE TABLE IF NOT EXISTS DIMENSIONATTRIBUTE ({_SYS}, NAME NVARCHAR(30) NOT NULL UNIQUE, TYPE INTEGER NOT
NULL DEFAULT 0,
    BACKINGENTITYTYPE INTEGER NOT NULL DEFAULT 0, VIEWNAME NVARCHAR(40) DEFAULT '');
CREATE TABLE IF NOT EXISTS DIMENSIONATTRIBUTEVALUE ({_SYS}, DIMENSIONATTRIBUTE BIGINT NOT NULL,
    ENTITYINSTANCE BIGINT NOT NULL DEFAULT 0, DISPLAYVALUE NVARCHAR(30) NOT NULL, DESCRIPTION NVARCHAR(60),
    ISDELETED INTEGER NOT NULL DEFAULT 0, ISSUSPENDED INTEGER NOT NULL DEFAULT 0, ISBLOCKEDFORMANUALENTRY
    INTEGER
    NOT NULL DEFAULT 0, UNIQUE (DIMENSIONATTRIBUTE, DISPLAYVALUE));
CREATE TABLE IF NOT EXISTS DIMENSIONHIERARCHY ({_SYS}, NAME NVARCHAR(60) NOT NULL UNIQUE, STRUCTURETYPE
INTEGER NOT NULL
    DEFAULT 1, DESCRIPTION NVARCHAR(60));
CREATE TABLE IF NOT EXISTS DIMENSIONHIERARCHYLEVEL ({_SYS}, DIMENSIONHIERARCHY BIGINT NOT NULL, LEVEL_
INTEGER NOT NULL,
    DIMENSIONATTRIBUTE BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS DIMENSIONATTRIBUTEVALUESET ({_SYS}, HASH NVARCHAR(40) NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS DIMENSIONATTRIBUTEVALUESETITEM ({_SYS}, DIMENSIONATTRIBUTEVALUESET BIGINT NOT NULL,
    DIMENSIONATTRIBUTEVALUE BIGINT NOT NULL, DISPLAYVALUE NVARCHAR(30) NOT NULL);
CREATE TABLE IF NOT EXISTS DIMENSIONATTRIBUTEVALUECOMBINATION ({_SYS}, DISPLAYVALUE NVARCHAR(500) NOT NULL,
    MAINACCOUNT BIGINT NOT NULL, ACCOUNTSTRUCTURE BIGINT NOT NULL DEFAULT 0, LEDGERDIMENSIONTYPE INTEGER NOT
    NULL
    DEFAULT 0, HASH NVARCHAR(40) NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS CUSTGROUP ({_SYS}, {_CO}, CUSTGROUP NVARCHAR(10) NOT NULL, NAME NVARCHAR(60),
    PAYMTERMID NVARCHAR(10) DEFAULT '', UNIQUE (DATAAREAID, CUSTGROUP));
CREATE TABLE IF NOT EXISTS DIRPARTYTABLE ({_SYS}, NAME NVARCHAR(100) NOT NULL, NAMEALIAS NVARCHAR(20)
DEFAULT '',
    PARTYNUMBER NVARCHAR(40) NOT NULL UNIQUE, LANGUAGEID NVARCHAR(7) DEFAULT 'en-us', INSTANCERELATIONTYPE
    INTEGER NOT
    NULL DEFAULT 0, PRIMARYADDRESSLOCATION BIGINT NOT NULL DEFAULT 0, {_STAMPS});
CREATE TABLE IF NOT EXISTS LOGISTICSLOCATION ({_SYS}, DESCRIPTION NVARCHAR(60), LOCATIONID NVARCHAR(30) NOT
NULL UNIQUE,
    ISPOSTALADDRESS INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS LOGISTICSPOSTALADDRESS ({_SYS}, LOCATION BIGINT NOT NULL, STREET NVARCHAR(250)
DEFAULT '',
    CITY NVARCHAR(60) DEFAULT '', STATE NVARCHAR(10) DEFAULT '', ZIPCODE NVARCHAR(10) DEFAULT '',
    COUNTRYREGIONID NVARCHAR(10) DEFAULT '', ADDRESS NVARCHAR(250) DEFAULT '', VALIDFROM DATETIME, VALIDTO
    DATETIME);
CREATE TABLE IF NOT EXISTS DIRPARTYLOCATION ({_SYS}, PARTY BIGINT NOT NULL, LOCATION BIGINT NOT NULL,
    ISPRIMARY INTEGER NOT NULL DEFAULT 0, ISPOSTALADDRESS INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS CUSTTABLE ({_SYS}, {_CO}, ACCOUNTNUM NVARCHAR(20) NOT NULL, PARTY BIGINT NOT NULL,
    CUSTGROUP NVARCHAR(10) NOT NULL, CURRENCY NVARCHAR(3) NOT NULL, PAYMTERMID NVARCHAR(10) DEFAULT '',
    INVOICEACCOUNT NVARCHAR(20) DEFAULT '', BLOCKED INTEGER NOT NULL DEFAULT 0, DEFAULTDIMENSION BIGINT NOT
    NULL DEFAULT 0,
    TAXGROUP NVARCHAR(10) DEFAULT '', VATNUM NVARCHAR(20) DEFAULT '', CREDITMAX {_MONEY}, {_STAMPS},
    UNIQUE (DATAAREAID, ACCOUNTNUM));
CREATE TABLE IF NOT EXISTS CUSTINVOICETABLE ({_SYS}, {_CO}, ORDERACCOUNT NVARCHAR(20) NOT NULL,
    INVOICEACCOUNT NVARCHAR(20) NOT NULL, NAME NVARCHAR(100) DEFAULT '', CURRENCYCODE NVARCHAR(3) NOT NULL,
    CUSTOMERREF NVARCHAR(60) DEFAULT '', DOCUMENTNUM NVARCHAR(20) DEFAULT '', DOCUMENTDATE DATE DEFAULT
    '{EMPTY_DATE}',
    INVOICEDATE DATE DEFAULT '{EMPTY_DATE}', DUEDATE DATE DEFAULT '{EMPTY_DATE}', PAYMENT NVARCHAR(10)
    DEFAULT '',
    PAYMMODE NVARCHAR(10) DEFAULT '', POSTINGPROFILE NVARCHAR(10) DEFAULT '', TAXGROUP NVARCHAR(10) DEFAULT
    '',
    LANGUAGEID NVARCHAR(7) DEFAULT '', DEFAULTDIMENSION BIGINT NOT NULL DEFAULT 0, INVOICEID NVARCHAR(20)
    DEFAULT '',
    POSTED INTEGER NOT NULL DEFAULT 0, INVOICEAMOUNT {_MONEY}, {_STAMPS});
CREATE TABLE IF NOT EXISTS CUSTINVOICELINE ({_SYS}, {_CO}, PARENTRECID BIGINT NOT NULL, LINENUM
NUMERIC(32,16) NOT NULL,
    DESCRIPTION NVARCHAR(60) DEFAULT '', QUANTITY {_MONEY}, UNITPRICE {_MONEY}, AMOUNTCUR {_MONEY},
    LEDGERDIMENSION BIGINT NOT NULL DEFAULT 0, DEFAULTDIMENSION BIGINT NOT NULL DEFAULT 0,
    TAXGROUP NVARCHAR(10) DEFAULT '', TAXITEMGROUP NVARCHAR(10) DEFAULT '', {_STAMPS});
CREATE TABLE IF NOT EXISTS AIFMESSAGELOG ({_SYS}, MESSAGEID NVARCHAR(38) NOT NULL UNIQUE, PORTNAME
NVARCHAR(40),
    ACTIONID NVARCHAR(250), COMPANY NVARCHAR(4), SUBMITTINGUSER NVARCHAR(100), ENTITYKEYS NVARCHAR(1000)
    DEFAULT '',
    {_STAMPS});
"""


def normalize_message_id(message_id: str) -> str:
    """AX compares MessageIds as GUIDs: case-insensitive, braces optional. Raises ValueError if not a GUID."""
    return str(uuid.UUID(message_id.strip().strip("{}"))).upper()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class AxStore:
    """Thread-safe access to the sandbox database (one connection guarded by a re-entrant lock)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._rng = random.Random()  # noqa: S311 - RECVERSION only needs to change, not to be secret
        with self._lock:
            self._conn.executescript(SCHEMA)
            if not self._conn.execute("SELECT 1 FROM PARTITIONS").fetchone():
                with self.transaction():
                    self.insert(
                        "PARTITIONS", {"PARTITIONKEY": "initial", "NAME": "Default partition"}, partition=0
                    )
        self.partition = self._conn.execute(
            "SELECT RECID FROM PARTITIONS WHERE PARTITIONKEY='initial'"
        ).fetchone()[0]

    # -- plumbing --------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[AxStore]:
        """All-or-nothing unit of work (like an X++ ttsbegin/ttscommit), serialised across threads."""
        with self._lock:
            if self._conn.in_transaction:
                yield self
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def query(self, sql: str, params: tuple | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: tuple | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def next_recid(self, table: str) -> int:
        with self.transaction():
            tabid = TABLE_IDS[table]
            row = self._conn.execute("SELECT NEXTVAL FROM SYSTEMSEQUENCES WHERE TABID=?", (tabid,)).fetchone()
            if row is None:
                recid = FIRST_RECID
                self._conn.execute(
                    "INSERT INTO SYSTEMSEQUENCES (ID, NAME, TABID, NEXTVAL, MINVAL, MAXVAL) VALUES "
                    "(-1,'SEQNO',?,?,?,?)",
                    (tabid, recid + 1, FIRST_RECID, 2**63 - 1),
                )
            else:
                recid = row[0]
                self._conn.execute("UPDATE SYSTEMSEQUENCES SET NEXTVAL=? WHERE TABID=?", (recid + 1, tabid))
            return recid

    def insert(self, table: str, values: Mapping[str, Any], *, partition: int | None = None) -> int:
        """Insert with AX system columns filled in; returns the new RECID."""
        row = dict(values)
        with self.transaction():
            row["RECID"] = self.next_recid(table)
            row.setdefault("RECVERSION", 1)
            row["PARTITION"] = self.partition if partition is None else partition
            columns = self._columns(table)
            if "CREATEDDATETIME" in columns:
                row.setdefault("CREATEDDATETIME", _now())
                row.setdefault("MODIFIEDDATETIME", row["CREATEDDATETIME"])
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            self._conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))  # noqa: S608
            return row["RECID"]

    def update(self, table: str, recid: int, values: Mapping[str, Any]) -> None:
        """Update a row; RECVERSION gets a new random value as in AX (never a usable cursor)."""
        row = dict(values)
        row["RECVERSION"] = self._rng.randint(2, 2**31 - 1)
        if "MODIFIEDDATETIME" in self._columns(table):
            row["MODIFIEDDATETIME"] = _now()
        assignments = ", ".join(f"{name}=?" for name in row)
        with self.transaction():
            self._conn.execute(f"UPDATE {table} SET {assignments} WHERE RECID=?", (*row.values(), recid))  # noqa: S608

    def _columns(self, table: str) -> set[str]:
        with self._lock:
            return {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}

    # -- reference data lookups ------------------------------------------------------------------------------
    def company(self, company: str) -> dict[str, Any] | None:
        """DATAAREA row joined with its ledger currency; company ids are case-insensitive (UI upper, SQL
        lower)."""
        return self.one(
            "SELECT D.*, L.ACCOUNTINGCURRENCY FROM DATAAREA D LEFT JOIN LEDGER L ON L.PRIMARYFORLEGALENTITY "
            "= D.RECID WHERE D.ID = ?",
            (company.lower(),),
        )

    def customer(self, dataareaid: str, account: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT C.*, P.NAME AS PARTYNAME, P.LANGUAGEID FROM CUSTTABLE C JOIN DIRPARTYTABLE P ON P.RECID "
            "= C.PARTY WHERE C.DATAAREAID = ? AND C.ACCOUNTNUM = ?",
            (dataareaid.lower(), account),
        )

    def main_account(self, account_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM MAINACCOUNT WHERE MAINACCOUNTID = ?", (account_id,))

    def dimension_value(self, name: str, value: str) -> tuple[dict | None, dict | None]:
        """(DIMENSIONATTRIBUTE row, DIMENSIONATTRIBUTEVALUE row) for a dimension name and value code."""
        attribute = self.one("SELECT * FROM DIMENSIONATTRIBUTE WHERE NAME = ?", (name,))
        if attribute is None:
            return None, None
        row = self.one(
            "SELECT * FROM DIMENSIONATTRIBUTEVALUE WHERE DIMENSIONATTRIBUTE = ? AND DISPLAYVALUE = ? AND "
            "ISDELETED = 0",
            (attribute["RECID"], value),
        )
        return attribute, row

    def account_structure(self) -> tuple[int, list[str]]:
        """(hierarchy RECID, dimension names in segment order) of the single sandbox account structure."""
        hierarchy = self.one("SELECT RECID FROM DIMENSIONHIERARCHY ORDER BY RECID LIMIT 1")
        if hierarchy is None:
            return 0, []
        rows = self.query(
            "SELECT A.NAME FROM DIMENSIONHIERARCHYLEVEL L JOIN DIMENSIONATTRIBUTE A ON A.RECID = "
            "L.DIMENSIONATTRIBUTE WHERE L.DIMENSIONHIERARCHY = ? ORDER BY L.LEVEL_",
            (hierarchy["RECID"],),
        )
        return hierarchy["RECID"], [row["NAME"] for row in rows]

    def payment_term(self, dataareaid: str, term: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT * FROM PAYMTERM WHERE DATAAREAID = ? AND PAYMTERMID = ?", (dataareaid.lower(), term)
        )

    def currency(self, code: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM CURRENCY WHERE CURRENCYCODE = ?", (code,))

    # -- dimension storage -----------------------------------------------------------------------------------
    def value_set(self, values: list[tuple[dict, dict]]) -> int:
        """RECID of the DIMENSIONATTRIBUTEVALUESET for (attribute, value) pairs; 0 for an empty set (as in
        AX)."""
        if not values:
            return 0
        key = "|".join(
            f"{attr['RECID']}={val['RECID']}" for attr, val in sorted(values, key=lambda p: p[0]["RECID"])
        )
        digest = hashlib.sha1(key.encode()).hexdigest()  # noqa: S324 - identity hash, not security
        with self.transaction():
            row = self.one("SELECT RECID FROM DIMENSIONATTRIBUTEVALUESET WHERE HASH = ?", (digest,))
            if row:
                return row["RECID"]
            recid = self.insert("DIMENSIONATTRIBUTEVALUESET", {"HASH": digest})
            for _attribute, value in values:
                self.insert(
                    "DIMENSIONATTRIBUTEVALUESETITEM",
                    {
                        "DIMENSIONATTRIBUTEVALUESET": recid,
                        "DIMENSIONATTRIBUTEVALUE": value["RECID"],
                        "DISPLAYVALUE": value["DISPLAYVALUE"],
                    },
                )
            return recid

    def ledger_combination(self, display_value: str, main_account_recid: int, structure: int) -> int:
        """RECID of the DIMENSIONATTRIBUTEVALUECOMBINATION for a ledger account display value (created on
        demand)."""
        digest = hashlib.sha1(f"{main_account_recid}|{display_value}".encode()).hexdigest()  # noqa: S324
        with self.transaction():
            row = self.one("SELECT RECID FROM DIMENSIONATTRIBUTEVALUECOMBINATION WHERE HASH = ?", (digest,))
            if row:
                return row["RECID"]
            return self.insert(
                "DIMENSIONATTRIBUTEVALUECOMBINATION",
                {
                    "DISPLAYVALUE": display_value,
                    "MAINACCOUNT": main_account_recid,
                    "ACCOUNTSTRUCTURE": structure,
                    "LEDGERDIMENSIONTYPE": 0,
                    "HASH": digest,
                },
            )

    # -- AIF message log -------------------------------------------------------------------------------------
    def processed_message(self, message_id: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT * FROM AIFMESSAGELOG WHERE MESSAGEID = ?", (normalize_message_id(message_id),)
        )

    def log_message(
        self, message_id: str, *, port: str, action: str, company: str, user: str, keys: Mapping[str, str]
    ) -> int:
        return self.insert(
            "AIFMESSAGELOG",
            {
                "MESSAGEID": normalize_message_id(message_id),
                "PORTNAME": port,
                "ACTIONID": action,
                "COMPANY": company.upper(),
                "SUBMITTINGUSER": user,
                "ENTITYKEYS": ";".join(f"{field}={value}" for field, value in keys.items()),
            },
        )

    # -- convenience for tests / demo ------------------------------------------------------------------------
    def free_text_invoices(self, company: str | None = None) -> list[dict[str, Any]]:
        """Headers with their lines (``lines`` key), newest last."""
        where, params = ("WHERE DATAAREAID = ?", (company.lower(),)) if company else ("", ())
        headers = self.query(f"SELECT * FROM CUSTINVOICETABLE {where} ORDER BY RECID", params)  # noqa: S608
        for header in headers:
            header["lines"] = self.query(
                "SELECT * FROM CUSTINVOICELINE WHERE PARENTRECID = ? ORDER BY LINENUM", (header["RECID"],)
            )
        return headers
