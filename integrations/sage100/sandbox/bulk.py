"""Bulk loading for seeding: rows collected per table, then one executemany per table in one transaction."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from integrations.sage100.layouts import LAYOUTS


class Rows:
    """Rows per table, in a fixed column order per table (the first row's keys)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[str]] = {}
        self._known: dict[str, frozenset[str]] = {}
        self.rows: dict[str, list[tuple]] = defaultdict(list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        columns = self.columns.get(table)
        if columns is None:
            unknown = set(row) - set(LAYOUTS[table].by_name)
            if unknown:
                raise ValueError(f"{table} has no column(s) {', '.join(sorted(unknown))}")
            columns = self.columns[table] = list(row)
            self._known[table] = frozenset(columns)
        elif not row.keys() <= self._known[table]:
            raise ValueError(f"{table} row has columns the first row lacked: {set(row) - self._known[table]}")
        converters = _CONVERTERS
        self.rows[table].append(tuple([converters[type(value)](value) if type(value) in converters else value
                                       for value in map(row.get, columns)]))

    def load(self, conn: sqlite3.Connection) -> dict[str, int]:
        conn.execute("BEGIN")
        for table, rows in self.rows.items():
            columns = self.columns[table]
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608
        conn.execute("COMMIT")
        return {table: len(rows) for table, rows in self.rows.items()}


_CONVERTERS = {Decimal: "{:f}".format, date: date.isoformat}  # what SQLite cannot bind as is
