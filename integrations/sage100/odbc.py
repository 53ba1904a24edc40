"""Read Sage 100 tables over ODBC with pyodbc, and poll them for changes.

Against a real site the driver is Sage's ProvideX driver ("MAS 90 4.0 ODBC Driver", usually through a DSN such
as ``SOTAMAS90``, with ``Company=ABC;UID=..;PWD=..``); against the sandbox it is the SQLite ODBC driver, opened
read-only. The same queries run on both, because they keep to what the ProvideX driver handles well:

* one table per statement: no joins, subqueries, functions, CAST, ORDER BY, TOP or LIMIT (their support is
  version-dependent); sorting, paging and look-ups across tables happen in Python;
* explicit column lists, never ``SELECT *`` (history tables are wide);
* dates as ``{d 'YYYY-MM-DD'}`` escapes (date parameter markers are untested on ProvideX), other values as
  ``?`` parameters; filters on leading key columns where possible (others scan the file);
* autocommit, and only SELECT: the driver is read-only for Sage 100, writes go through the agent.

Values come back normalised: strings without the fixed-width padding, numbers as ``Decimal`` at the column's
scale, dates as ``datetime.date`` with the 1753-01-01 "no date" sentinel as None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.core.errors import AuthError, ConfigurationError, ConnectorError, TransientError

from .layouts import Layout, layout
from .values import NULL_DATE, parse_decimal_hours

SYSTEM = "Sage 100"
DEFAULT_LOOKBACK = timedelta(minutes=15)
FETCH_SIZE = 1000
IN_CHUNK = 50  # values per IN list: short statements, which the ProvideX driver handles well
# Sub-account segments of a formatted G/L account (``400-02-00``) by segment number, under the dimension names the
# Kashflow -> Sage flows give them (integrations.sync.flows.kashflow_invoices_to_sage.segmented_account).
SEGMENT_DIMENSIONS = {2: "Division", 3: "Department"}
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SECRET = re.compile(r"(PWD|PASSWORD)\s*=\s*[^;]*", re.IGNORECASE)

Row = dict[str, Any]


# --------------------------------------------------------------------------- connection strings


def connection_string(settings: Mapping[str, Any], *, user: str = "", password: str = "") -> str:
    """The ODBC connection string for a Sage 100 connection's settings.

    ``settings["odbc"]`` is a full string (the sandbox's, or a site's DSN-less ``Driver={MAS 90 4.0 ODBC Driver};
    Directory=..``); otherwise ``settings["dsn"]`` names a DSN (default ``SOTAMAS90``). ``Company``, ``UID`` and
    ``PWD`` are added when the string lacks them: without them the ProvideX driver opens a logon dialog, which
    hangs a service.
    """
    base = str(settings.get("odbc") or f"DSN={settings.get('dsn') or 'SOTAMAS90'}").strip().rstrip(";")
    present = {part.split("=", 1)[0].strip().upper() for part in base.split(";") if "=" in part}
    extra = [("Company", str(settings.get("company") or "")), ("UID", user), ("PWD", password)]
    parts = [base] + [f"{name}={value}" for name, value in extra if value and name.upper() not in present]
    return ";".join(parts) + ";"


def redact(text: str) -> str:
    return _SECRET.sub(r"\1=***", text)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class _Rule:
    error: type[ConnectorError]
    message: str
    states: tuple[str, ...] = ()
    pattern: str = ""


ERROR_TABLE: tuple[_Rule, ...] = (
    _Rule(ConfigurationError, "The Sage 100 ODBC driver or DSN is not installed where Ledgerbridge reads",
          ("IM002", "IM003"), r"can't open lib|data source name not found"),
    _Rule(AuthError, "Sage 100 refused the ODBC user", ("28000",), r"password|logon|login"),
    _Rule(TransientError, "Sage 100 ODBC timed out", ("HYT00", "HYT01"), r"timeout|timed out"),
    _Rule(TransientError, "Sage 100 files are busy", (), r"database is locked|busy|in use"),
    _Rule(TransientError, "The Sage 100 ODBC connection failed", ("08001", "08S01", "08004", "08003"), ""),
    _Rule(ConfigurationError, "Sage 100 has no such table or column", ("42S02", "42S22"),
          r"no such (table|column)|not found"),
    _Rule(ConfigurationError, "The Sage 100 company data cannot be opened", (), r"connect failed|unable to open"),
    _Rule(ConfigurationError, "Sage 100 refused the query", ("42000", "37000"), r"syntax"),
)


def classify_odbc_error(exc: Exception) -> ConnectorError:
    """A typed error for a pyodbc failure, by SQLSTATE first and message second; secrets are redacted."""
    state = str(exc.args[0]) if exc.args else ""
    detail = redact(str(exc.args[-1]) if exc.args else str(exc))[:300]
    for rule in ERROR_TABLE:
        if state in rule.states or (rule.pattern and re.search(rule.pattern, detail, re.IGNORECASE)):
            return rule.error(f"{rule.message}: {detail}", system=SYSTEM, code=state)
    return TransientError(f"Sage 100 ODBC failed: {detail}", system=SYSTEM, code=state)


# --------------------------------------------------------------------------- change cursor


@dataclass
class ChangeCursor:
    """Where change polling of one table stands: the last (stamp, key) emitted and what was emitted recently.

    ``recent`` holds identities (key and stamp) emitted within the look-back window, so rows re-read in the
    overlap are not emitted twice while rows that show up late inside the window still are.
    """

    stamp: datetime
    key: tuple[str, ...]
    recent: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {"stamp": self.stamp.isoformat(), "key": list(self.key), "recent": sorted(self.recent)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChangeCursor:
        return cls(datetime.fromisoformat(data["stamp"]), tuple(data["key"]), set(data.get("recent", ())))


@dataclass
class ChangePage:
    rows: list[Row]
    cursor: ChangeCursor | None
    more: bool  # stopped at ``limit``: poll again at once


# --------------------------------------------------------------------------- reader


class SageOdbcReader:
    """Read-only access to one Sage 100 company. Not thread-safe: one reader per worker."""

    def __init__(self, connection_string: str, *, timeout: int = 30,
                 connect: Callable[..., Any] | None = None) -> None:
        self._connection_string = connection_string
        self.timeout = timeout
        self._connect = connect
        self._conn: Any = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *, user: str = "", password: str = "",
                      timeout: int = 30) -> SageOdbcReader:
        return cls(connection_string(settings, user=user, password=password), timeout=timeout)

    def __enter__(self) -> SageOdbcReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._conn is None:
            import pyodbc

            connect = self._connect or pyodbc.connect
            try:
                self._conn = connect(self._connection_string, autocommit=True, timeout=self.timeout)
                self._conn.timeout = self.timeout
            except pyodbc.Error as exc:
                raise classify_odbc_error(exc) from None
        return self._conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[list[str], Sequence[Any]]]:
        """Run one SELECT; yields (column names, row) pairs, fetching in batches."""
        import pyodbc

        if not sql.lstrip().upper().startswith("SELECT"):
            raise ConfigurationError("The Sage 100 ODBC reader only runs SELECT statements", system=SYSTEM)
        try:
            cursor = self._connection().cursor()
            cursor.execute(sql, *params)
            names = [column[0] for column in cursor.description]
            while True:
                batch = cursor.fetchmany(FETCH_SIZE)
                if not batch:
                    break
                for row in batch:
                    yield names, row
            cursor.close()
        except pyodbc.Error as exc:
            self.close()
            raise classify_odbc_error(exc) from None

    # -- reads ------------------------------------------------------------------------------------------------

    def tables(self) -> list[str]:
        import pyodbc

        try:
            return sorted(row.table_name for row in self._connection().cursor().tables(tableType="TABLE"))
        except pyodbc.Error as exc:
            raise classify_odbc_error(exc) from None

    def select(self, table: str, columns: Sequence[str] | None = None, *, where: Mapping[str, str] | None = None,
               since: date | None = None) -> Iterator[Row]:
        """Rows of ``table`` (all layout columns unless ``columns``), optionally filtered by equality on columns
        and by ``DateUpdated``/``DateCreated`` on or after ``since``."""
        spec = layout(table)
        names = _checked_columns(spec, columns)
        clauses, params = [], []
        for name, value in (where or {}).items():
            clauses.append(f"{_checked_columns(spec, [name])[0]} = ?")
            params.append(value)
        if since is not None:
            literal = f"{{d '{since.isoformat()}'}}"
            clauses.append(f"(DateUpdated >= {literal} OR DateCreated >= {literal})"
                           if "DateCreated" in spec.by_name else f"DateUpdated >= {literal}")
        sql = f"SELECT {', '.join(names)} FROM {spec.table}"  # noqa: S608 - names checked against the layout
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        for found, row in self.execute(sql, params):
            yield normalise(spec, found, row)

    def read(self, table: str, columns: Sequence[str] | None = None, **where: str) -> list[Row]:
        return list(self.select(table, columns, where=where or None))

    def gl_chart(self) -> dict[str, tuple[str, str]]:
        """The company's chart of accounts: formatted Account (``400-00-00``) -> (AccountKey, Status)."""
        return {str(r["Account"]): (str(r["AccountKey"]), str(r.get("Status") or "A"))
                for r in self.read("GL_Account", ["AccountKey", "Account", "Status"])}

    def segment_codes(self) -> dict[str, set[str]]:
        """The codes of the G/L account's sub-account segments, named as the Ledgerbridge flows use them
        (:data:`SEGMENT_DIMENSIONS`: the second segment is the ``Division``, the third the ``Department``), so the
        values a mapping writes can be checked before a run composes accounts with them. Read from GL_SubAccount
        (active codes); a company file without that table (the sandbox's) gives the segments of its active
        formatted accounts instead. A segment no account has is left out."""
        codes: dict[str, set[str]] = {}
        try:
            rows = [dict(zip(names, row, strict=True)) for names, row in self.execute(
                "SELECT SegmentNo, SubAccountCode, Status FROM GL_SubAccount")]
        except ConfigurationError:  # no such table: read the segments off the accounts
            for account, (_key, status) in self.gl_chart().items():
                parts = account.split("-")
                for number, name in SEGMENT_DIMENSIONS.items():
                    if status == "A" and len(parts) >= number:
                        codes.setdefault(name, set()).add(parts[number - 1].strip())
            return codes
        for row in rows:
            name = SEGMENT_DIMENSIONS.get(_segment_number(row.get("SegmentNo")))
            if name and str(row.get("Status") or "A").strip() in ("A", ""):
                codes.setdefault(name, set()).add(str(row.get("SubAccountCode") or "").strip())
        return codes


    def select_in(self, table: str, columns: Sequence[str] | None, column: str, values: Sequence[str], *,
                  where: Mapping[str, str] | None = None, chunk: int = IN_CHUNK) -> Iterator[Row]:
        """Rows of ``table`` whose ``column`` is one of ``values`` (and equal to ``where``): one statement per
        ``chunk`` distinct values (``column IN (?, ..)``), so a batch of look-ups costs a few reads, not one each.
        No statement at all for no values. Text and number columns only (dates need literals)."""
        spec = layout(table)
        name = _checked_columns(spec, [column])[0]
        if spec.column(name).kind == "date":
            raise ConfigurationError(f"select_in does not take date column {name}", system=SYSTEM)
        names = _checked_columns(spec, columns)
        extra = [(f"{_checked_columns(spec, [key])[0]} = ?", value) for key, value in (where or {}).items()]
        distinct = list(dict.fromkeys(values))
        for start in range(0, len(distinct), max(1, chunk)):
            part = distinct[start:start + max(1, chunk)]
            clauses = [f"{name} IN ({', '.join('?' * len(part))})", *(clause for clause, _v in extra)]
            sql = f"SELECT {', '.join(names)} FROM {spec.table} WHERE {' AND '.join(clauses)}"  # noqa: S608
            for found, row in self.execute(sql, [*part, *(value for _c, value in extra)]):
                yield normalise(spec, found, row)

    def read_in(self, table: str, columns: Sequence[str] | None, column: str, values: Sequence[str], *,
                chunk: int = IN_CHUNK, **where: str) -> list[Row]:
        return list(self.select_in(table, columns, column, values, where=where or None, chunk=chunk))

    def key_scan(self, table: str) -> set[tuple[str, ...]]:
        """Every primary key in ``table``: compare with what was synced to find deletions (polling cannot)."""
        spec = layout(table)
        return {tuple(row[name] for name in spec.primary_key) for row in self.select(table, spec.primary_key)}

    def changes(self, table: str, cursor: ChangeCursor | None = None, *, columns: Sequence[str] | None = None,
                lookback: timedelta = DEFAULT_LOOKBACK, limit: int | None = None) -> ChangePage:
        """Rows changed since ``cursor`` (every row when None), oldest first, with the cursor to store after.

        ProvideX filters dates to the day, so the query re-reads from the start of the look-back day; rows are
        ordered by (stamp, key) in Python and those already emitted in the window are skipped.
        """
        spec = layout(table)
        if not spec.has_audit_columns:
            raise ConfigurationError(f"{table} has no DateUpdated/TimeUpdated; poll its header table instead",
                                     system=SYSTEM)
        wanted = list(dict.fromkeys([*(columns or spec.names), *spec.primary_key, "DateCreated", "TimeCreated",
                                     "DateUpdated", "TimeUpdated"]))
        floor = cursor.stamp - lookback if cursor else None
        candidates = []
        for row in self.select(table, wanted, since=floor.date() if floor else None):
            stamp = row_stamp(row)
            if floor is None or stamp >= floor:
                candidates.append((stamp, _key(spec, row), row))
        candidates.sort(key=lambda item: (item[0], item[1]))
        return _page(candidates, cursor, lookback, limit)


def _page(candidates: list[tuple[datetime, tuple[str, ...], Row]], cursor: ChangeCursor | None,
          lookback: timedelta, limit: int | None) -> ChangePage:
    recent = set(cursor.recent) if cursor else set()
    emitted: list[tuple[datetime, tuple[str, ...], Row]] = []
    more = False
    for stamp, key, row in candidates:
        identity = _identity(key, stamp)
        if identity in recent:
            continue
        if limit is not None and len(emitted) >= limit:
            more = True
            break
        emitted.append((stamp, key, row))
        recent.add(identity)
    if not emitted:
        return ChangePage([], cursor, False)
    last_stamp, last_key, _row = emitted[-1]
    if cursor and (cursor.stamp, cursor.key) > (last_stamp, last_key):
        last_stamp, last_key = cursor.stamp, cursor.key
    floor = last_stamp - lookback
    kept = {identity for identity in recent if _identity_stamp(identity) >= floor}
    return ChangePage([row for _s, _k, row in emitted], ChangeCursor(last_stamp, last_key, kept), more)


def row_stamp(row: Row) -> datetime:
    """When a row last changed: the later of (DateUpdated, TimeUpdated) and (DateCreated, TimeCreated)."""
    stamps = [_moment(row.get("DateUpdated"), row.get("TimeUpdated")),
              _moment(row.get("DateCreated"), row.get("TimeCreated"))]
    return max((s for s in stamps if s is not None), default=datetime.min)


def _moment(day: date | None, hours: Any) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time()) + timedelta(hours=float(parse_decimal_hours(hours)))


def _key(spec: Layout, row: Row) -> tuple[str, ...]:
    return tuple(str(row.get(name) or "") for name in spec.primary_key)


def _identity(key: tuple[str, ...], stamp: datetime) -> str:
    return f"{stamp.isoformat()}|{'|'.join(key)}"


def _identity_stamp(identity: str) -> datetime:
    return datetime.fromisoformat(identity.split("|", 1)[0])


def _checked_columns(spec: Layout, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(spec.names)
    checked = []
    for name in columns:
        column = spec.column(name)
        if column is None or not _IDENTIFIER.match(name):
            raise ConfigurationError(f"{spec.table} has no column {name!r}", system=SYSTEM)
        checked.append(column.name)
    return checked


def normalise(spec: Layout, names: Sequence[str], values: Sequence[Any]) -> Row:
    """One row as Ledgerbridge uses it, whatever the driver returned (ProvideX or SQLite)."""
    row: Row = {}
    for name, value in zip(names, values, strict=True):
        column = spec.column(name)
        row[column.name if column else name] = _value(column.kind if column else "", column, value)
    return row


def _value(kind: str, column: Any, value: Any) -> Any:
    if value is None:
        return None
    if kind == "decimal":
        try:
            return Decimal(str(value)).quantize(column.quantum)
        except InvalidOperation:
            return None
    if kind == "date":
        if isinstance(value, datetime):
            value = value.date()
        elif isinstance(value, str):
            value = date.fromisoformat(value.strip()[:10]) if value.strip() else None
        return None if value == NULL_DATE else value
    if isinstance(value, str):
        return value.rstrip()
    return value


def _segment_number(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def gl_chart_for(settings: Mapping[str, Any]) -> dict[str, tuple[str, str]] | None:
    """:meth:`SageOdbcReader.gl_chart` over a connection's ODBC settings; None when it has none (the mapping must
    then hold AccountKeys)."""
    if not (settings.get("odbc") or settings.get("dsn")):
        return None
    with SageOdbcReader.from_settings(settings) as reader:
        return reader.gl_chart()
