"""Engine pieces shared by every flow: the run recorder, idempotency keys, advisory locks.

The record pipeline itself (persistence, leases, outbox, binding) is integrations/sync/pipeline.py."""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from integrations.sync.models import Flow, SyncRun

log = logging.getLogger("ledgerbridge.sync")

HEARTBEAT_SECONDS = 2.0  # at most this often a running run writes its progress


class FlowAborted(Exception):
    """Stop the run early (e.g. the target keeps failing); pending records wait for the next run."""


def idempotency_key(flow: Flow, entity: str, source_id: str, source_version: str) -> str:
    """Stable per (tenant, flow, source id, source version): the same write always carries the same key."""
    raw = f"{connection.schema_name}|{flow.key}|{entity}|{source_id}|{source_version}"
    return hashlib.sha256(raw.encode()).hexdigest()[:48]


@contextmanager
def advisory_lock(key: str) -> Iterator[bool]:
    """Try a PostgreSQL advisory lock on ``key`` (scoped to the tenant); yields whether it was taken.

    Session-level (not transaction-level) so the lock spans external calls without holding a
    transaction open across the network, and is shared by every worker on every machine.
    """
    lock_id = zlib.crc32(f"{connection.schema_name}:{key}".encode()) - 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


# Error codes meaning "waits for another record to reach the target first" (see RunRecorder.retry_later).
WAITING_CODES = frozenset({"awaiting_invoice", "awaiting_dependency"})


@dataclass
class RunRecorder:
    """Keeps a SyncRun's counters, progress and heartbeat current while a flow runs.

    The heartbeat is written at most every ``HEARTBEAT_SECONDS`` (and whenever asked), so a long run shows
    progress and the watchdog can tell a live run from one whose worker died.
    """

    run: SyncRun
    _last_beat: float = 0.0
    retrying: int = 0  # records that could not be posted yet (transient) and wait for the next run
    last_transient: str = ""
    # Records waiting for another record to reach the target first (a payment for its invoice): expected, not a
    # fault of this run, so they do not make it "finished with errors"; they are posted by a later run.
    waiting: int = 0
    last_waiting: str = ""

    def retry_later(self, n: int, error: str, code: str = "") -> None:
        if code in WAITING_CODES:
            self.waiting += n
            self.last_waiting = error
            return
        self.retrying += n
        self.last_transient = error

    FIELDS = {"seen": "records_seen", "posted": "records_posted", "skipped": "records_skipped",
              "failed": "records_failed", "held": "records_held"}

    def start(self) -> None:
        now = timezone.now()
        self.run.status = SyncRun.Status.RUNNING
        self.run.started_at = self.run.started_at or now
        self.run.heartbeat_at = now
        self.run.save(update_fields=["status", "started_at", "heartbeat_at", "mapping_version"])
        self._last_beat = time.monotonic()

    def count(self, outcome: str, n: int = 1) -> None:
        if n <= 0:
            return
        field_name = self.FIELDS[outcome]
        setattr(self.run, field_name, getattr(self.run, field_name) + n)
        if time.monotonic() - self._last_beat >= HEARTBEAT_SECONDS:
            self.beat()

    def beat(self) -> None:
        self._last_beat = time.monotonic()
        self.run.heartbeat_at = timezone.now()
        self.run.save(update_fields=["heartbeat_at", "target_calls", *self.FIELDS.values()])

    def finish(self, *, error: str = "") -> SyncRun:
        run = self.run
        if error:
            run.status = SyncRun.Status.FAILED
            run.message = error
        elif run.records_failed or self.retrying:
            run.status = SyncRun.Status.PARTIAL
            parts = []
            if run.records_failed:
                parts.append(f"{run.records_failed} record(s) need attention in the error inbox.")
            if self.retrying:
                parts.append(f"{self.retrying} record(s) could not be posted yet and are retried by the next run "
                             f"(last error: {self.last_transient[:200]}).")
            run.message = " ".join(parts)
        else:
            run.status = SyncRun.Status.SUCCEEDED
            run.message = ""
        if not error and self.waiting:
            run.message = (run.message + " " if run.message else "") + (
                f"{self.waiting} record(s) wait for a record they depend on to reach the target first "
                f"(e.g. {self.last_waiting[:200]}).")
        if not error and run.records_held:
            run.message = (run.message + " " if run.message else "") + \
                f"{run.records_held} record(s) wait for approval."
        run.finished_at = run.heartbeat_at = timezone.now()
        run.save()
        return run
