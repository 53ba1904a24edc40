"""The applied-keys table: every operation the agent applied, by idempotency key, with the answer it gave.

Before applying, the agent *claims* the key (a ``pending`` row); after a successful write it stores the result
(``applied``); after a failure it releases the claim so the operation can be retried once fixed. A claim left
``pending`` by an agent process that stopped mid-write means the outcome is unknown: the agent will not guess,
and says so until an operator has checked Sage and released the key.

The table lives in the agent's own SQLite file, never in Sage's database.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .operations import Operation, Result

PENDING, APPLIED = "pending", "applied"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS applied_keys (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, object TEXT NOT NULL, action TEXT NOT NULL,
    state TEXT NOT NULL, result TEXT, owner TEXT NOT NULL, claimed_at TEXT NOT NULL, applied_at TEXT)
"""


@dataclass(frozen=True)
class Entry:
    key: str
    fingerprint: str
    object: str
    action: str
    state: str
    result: Result | None
    owner: str
    claimed_at: str
    applied_at: str | None

    def public(self) -> dict:
        return {"key": self.key, "object": self.object, "action": self.action, "state": self.state,
                "claimed_at": self.claimed_at, "applied_at": self.applied_at,
                "result": self.result.to_json() if self.result else None}


class AppliedKeys:
    def __init__(self, path: Path | str) -> None:
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(_SCHEMA)
        self.owner = uuid.uuid4().hex  # this process: a pending claim by another owner was left by a stopped agent
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def get(self, key: str) -> Entry | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT key, fingerprint, object, action, state, result, owner, claimed_at, applied_at "
                "FROM applied_keys WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        result = Result.from_json(json.loads(row[5])) if row[5] else None
        return Entry(*row[:5], result, *row[6:])

    def claim(self, operation: Operation) -> Entry | None:
        """Claim the key for this process; None if claimed now, else the existing entry (nothing changed)."""
        with self.lock:
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO applied_keys (key, fingerprint, object, action, state, owner, claimed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (operation.key, operation.fingerprint(), operation.object, operation.action, PENDING, self.owner,
                 _now()))
            claimed = cursor.rowcount == 1
        return None if claimed else self.get(operation.key)

    def complete(self, key: str, result: Result) -> Result:
        result.applied_at = _now()
        with self.lock:
            self.conn.execute("UPDATE applied_keys SET state = ?, result = ?, applied_at = ? WHERE key = ?",
                              (APPLIED, json.dumps(result.to_json()), result.applied_at, key))
        return result

    def release(self, key: str) -> bool:
        """Drop a pending claim. Applied keys stay: forgetting one would let the write happen twice."""
        with self.lock:
            return self.conn.execute("DELETE FROM applied_keys WHERE key = ? AND state = ?",
                                     (key, PENDING)).rowcount == 1

    def counts(self) -> dict[str, int]:
        with self.lock:
            rows = self.conn.execute("SELECT state, COUNT(*) FROM applied_keys GROUP BY state").fetchall()
        return {APPLIED: 0, PENDING: 0} | dict(rows)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
