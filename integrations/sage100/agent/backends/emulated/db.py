"""The emulated company's tables: reads, writes in transactions, and Sage's audit stamps.

Values in Python are what a BOI object holds: strings, ``Decimal`` for numbers, ISO strings for dates (as the
tables store them). Every write stamps DateUpdated/TimeUpdated/UserUpdatedKey, and the Created trio on insert,
as Sage does on every business-object write.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from integrations.sage100.layouts import LAYOUTS, Layout
from integrations.sage100.sandbox.schema import connect
from integrations.sage100.values import decimal_hours

Row = dict[str, Any]


class CompanyDb:
    def __init__(self, path: Path | str, clock: Callable[[], datetime] = datetime.now) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no Sage company database at {self.path}")
        self.conn = connect(self.path)
        self.conn.row_factory = sqlite3.Row
        self.clock = clock
        self.lock = threading.RLock()
        self._counters: dict[str, int] = {}

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[CompanyDb]:
        with self.lock:
            if self.conn.in_transaction:
                yield self
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # -- reads ------------------------------------------------------------------------------------------------

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        with self.lock:
            return [_typed(dict(row)) for row in self.conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def get(self, table: str, **key: Any) -> Row | None:
        where = " AND ".join(f"{name} = ?" for name in key)
        return self.one(f"SELECT * FROM {table} WHERE {where}", tuple(key.values()))  # noqa: S608

    def exists(self, table: str, **key: Any) -> bool:
        where = " AND ".join(f"{name} = ?" for name in key)
        with self.lock:
            found = self.conn.execute(f"SELECT 1 FROM {table} WHERE {where} LIMIT 1",  # noqa: S608
                                      tuple(key.values())).fetchone()
        return found is not None

    # -- writes (inside a transaction) --------------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any], *, user_key: str) -> None:
        layout = LAYOUTS[table]
        values = dict(row)
        self._stamp(layout, values, user_key, created=True)
        names = [name for name in values if name in layout.by_name]
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"  # noqa: S608
        with self.lock:
            self.conn.execute(sql, tuple(_stored(values[name]) for name in names))

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any], *, user_key: str) -> None:
        layout = LAYOUTS[table]
        changes = {name: value for name, value in values.items() if name in layout.by_name and name not in key}
        self._stamp(layout, changes, user_key, created=False)
        if not changes:
            return
        sets = ", ".join(f"{name} = ?" for name in changes)
        where = " AND ".join(f"{name} = ?" for name in key)
        with self.lock:
            self.conn.execute(f"UPDATE {table} SET {sets} WHERE {where}",  # noqa: S608
                              (*(_stored(v) for v in changes.values()), *key.values()))

    def delete(self, table: str, **key: Any) -> None:
        where = " AND ".join(f"{name} = ?" for name in key)
        with self.lock:
            self.conn.execute(f"DELETE FROM {table} WHERE {where}", tuple(key.values()))  # noqa: S608

    def add(self, table: str, key: Mapping[str, Any], column: str, amount: Decimal, *, user_key: str) -> None:
        """Add ``amount`` to a numeric column of one row (balances, quantities), stamping the row."""
        row = self.get(table, **key)
        if row is not None:
            self.update(table, key, {column: (row.get(column) or Decimal(0)) + amount}, user_key=user_key)

    def _stamp(self, layout: Layout, values: dict[str, Any], user_key: str, *, created: bool) -> None:
        now = self.clock()
        stamps = {"DateUpdated": now.date().isoformat(), "TimeUpdated": decimal_hours(now), "UserUpdatedKey": user_key}
        if created:
            stamps |= {"DateCreated": stamps["DateUpdated"], "TimeCreated": stamps["TimeUpdated"],
                       "UserCreatedKey": user_key}
        values.update({name: value for name, value in stamps.items() if name in layout.by_name})

    # -- numbering --------------------------------------------------------------------------------------------

    def next_number(self, counter: str, sql: str, width: int) -> str:
        """Next zero-filled number after the highest numeric value ``sql`` finds (cached after the first call)."""
        with self.lock:
            if counter not in self._counters:
                values = [row[0] for row in self.conn.execute(sql).fetchall() if row[0]]
                self._counters[counter] = max((int(v) for v in values if str(v).isdigit()), default=0)
            self._counters[counter] += 1
            return str(self._counters[counter]).zfill(width)

    def forget_counters(self) -> None:
        with self.lock:
            self._counters.clear()


def _stored(value: Any) -> Any:
    return f"{value:f}" if isinstance(value, Decimal) else value


def _typed(row: Row) -> Row:
    """Numbers come back as Decimal (exact enough: the tables hold at most 15 significant digits)."""
    return {name: Decimal(str(value)) if isinstance(value, float | int) and not isinstance(value, bool) else value
            for name, value in row.items()}
