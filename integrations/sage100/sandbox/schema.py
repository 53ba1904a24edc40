"""The sandbox company database: one SQLite file per Sage 100 company, tables and columns as in Sage.

Sage keeps one set of files (Standard/Advanced) or one SQL database (Premium) per company and no company
column in its tables, so a sandbox instance is one file for company ``ABC``. The file runs in WAL mode so ODBC
readers (the SQLite ODBC driver, opened read-only) see committed rows while the agent writes.

Types follow the layouts (``VARCHAR(n)``, ``DATE``, ``DECIMAL(p,s)``, ``TEXT``): dates are ISO text and empty
dates NULL, decimals are stored as numbers (the reader quantizes them to the column scale), and
``TimeCreated``/``TimeUpdated`` are decimal hours as text (``"13.52450"``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from integrations.sage100.layouts import LAYOUTS, Layout

DB_FILE = "company.sqlite3"

# Alternate indexes the emulated business objects look records up by; named after Sage's where it has one.
INDEXES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("AR_Customer", "KNAME", ("CustomerName",), False),
    ("AR_InvoiceHistoryHeader", "KCUSTOMER", ("ARDivisionNo", "CustomerNo", "InvoiceNo"), False),
    ("AR_CashReceiptsHistory", "KEY1", ("ARDivisionNo", "CustomerNo", "InvoiceNo"), False),
    ("AR_CashReceiptsHistory", "KDEPOSIT", ("DepositNo", "ARDivisionNo", "CustomerNo", "CheckNo"), False),
    ("SO_SalesOrderHeader", "KCUSTOMER", ("ARDivisionNo", "CustomerNo"), False),
    ("SO_InvoiceHeader", "KSALESORDER", ("SalesOrderNo",), False),
    ("GL_Account", "KACCOUNT", ("Account",), True),
    ("GL_DetailPosting", "KACCOUNT", ("AccountKey", "PostingDate"), False),
)


def table_ddl(layout: Layout) -> str:
    columns = [
        f"{column.name} {column.sql_type}" + (" NOT NULL" if column.key else "") for column in layout.columns
    ]
    if layout.primary_key:
        columns.append(f"PRIMARY KEY ({', '.join(layout.primary_key)})")
    return f"CREATE TABLE IF NOT EXISTS {layout.table} ({', '.join(columns)})"


def create_schema(conn: sqlite3.Connection) -> None:
    for layout in LAYOUTS.values():
        conn.execute(table_ddl(layout))
    for table, name, columns, unique in INDEXES:
        kind = "UNIQUE INDEX" if unique else "INDEX"
        conn.execute(f"CREATE {kind} IF NOT EXISTS {table}_{name} ON {table} ({', '.join(columns)})")


def connect(path: Path | str) -> sqlite3.Connection:
    """A writer connection: WAL, autocommit mode (callers open transactions explicitly), a busy timeout."""
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def open_readonly(path: Path | str) -> sqlite3.Connection:
    """A read-only connection (inspect, parties): never creates or changes the file."""
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def odbc_connection_string(path: Path | str) -> str:
    """How pyodbc reaches the file through the SQLite ODBC driver, read-only like the ProvideX driver."""
    return f"Driver=SQLite3;Database=file:{quote(str(Path(path).resolve()))}?mode=ro"

