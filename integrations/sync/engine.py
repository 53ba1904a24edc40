"""Engine pieces shared by every flow: runs, record persistence, locks, idempotency keys, binding."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from integrations.core.canonical import content_hash
from integrations.core.errors import ConnectorError
from integrations.sync.models import Binding, Flow, SyncRecord, SyncRun

log = logging.getLogger("ledgerbridge.sync")

HEARTBEAT_SECONDS = 2.0  # at most this often a running run writes its progress


class FlowAborted(Exception):
    """Stop the run early (e.g. the target keeps failing); pending records wait for the next run."""


class RecordBusy(Exception):
    """Another worker holds this record right now."""


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


@contextmanager
def record_lock(key: str) -> Iterator[None]:
    """One worker at a time per record: raises RecordBusy when another holds it."""
    with advisory_lock(f"record:{key}") as acquired:
        if not acquired:
            raise RecordBusy(key)
        yield


@dataclass
class RunRecorder:
    """Keeps a SyncRun's counters, progress and heartbeat current while a flow runs.

    The heartbeat is written at most every ``HEARTBEAT_SECONDS`` (and whenever asked), so a long run shows
    progress and the watchdog can tell a live run from one whose worker died.
    """

    run: SyncRun
    _last_beat: float = 0.0
    errors: list[str] = field(default_factory=list)
    retrying: int = 0  # records that could not be posted yet (transient) and wait for the next run
    last_transient: str = ""

    def retry_later(self, n: int, error: str) -> None:
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
        if not error and run.records_held:
            run.message = (run.message + " " if run.message else "") + \
                f"{run.records_held} record(s) wait for approval."
        run.finished_at = run.heartbeat_at = timezone.now()
        run.save()
        return run


def persist_record(flow: Flow, run: SyncRun, *, entity: str, source_id: str, payload: dict) -> SyncRecord:
    """Store the extracted record before anything is posted (nothing is lost after this point)."""
    version = content_hash(payload)[:32]
    key = idempotency_key(flow, entity, source_id, version)
    record, created = SyncRecord.objects.get_or_create(
        idempotency_key=key,
        defaults={"flow": flow, "last_run": run, "entity": entity, "source_id": source_id,
                  "source_version": version, "payload": payload},
    )
    if not created and record.last_run_id != run.pk:
        record.last_run = run
        record.save(update_fields=["last_run", "updated_at"])
    return record


def record_unreadable(flow: Flow, run: SyncRun, *, entity: str, source_id: str, raw: object,
                      error: ConnectorError) -> SyncRecord:
    """A source record we could not even convert: keep the raw data and the reason, lose nothing."""
    raw = json.loads(json.dumps(raw, default=str)) if isinstance(raw, dict | list) else str(raw)
    payload = {"unreadable": True, "raw": raw}
    record = persist_record(flow, run, entity=entity, source_id=source_id, payload=payload)
    mark_failed(record, error)
    return record


def find_binding(flow: Flow, entity: str, source_id: str) -> Binding | None:
    return Binding.objects.filter(
        connection=flow.target, entity=entity, source_connection=flow.source, source_id=source_id
    ).first()


def bind(flow: Flow, record: SyncRecord, external_id: str, *, target_payload: dict | None = None) -> None:
    """Eager commit straight after the external create: binding and record status together."""
    with transaction.atomic():
        Binding.objects.update_or_create(
            connection=flow.target, entity=record.entity, source_connection=flow.source,
            source_id=record.source_id,
            defaults={"external_id": external_id, "payload_hash": record.source_version,
                      "synced_at": timezone.now()},
        )
        record.status = SyncRecord.Status.POSTED
        record.target_id = external_id
        record.last_error = record.error_kind = ""
        if target_payload is not None:
            record.target_payload = target_payload
        record.save()


def mark_failed(record: SyncRecord, error: ConnectorError, *, target_payload: dict | None = None) -> None:
    record.attempts += 1
    record.last_error = str(error)
    record.error_kind = error.kind
    record.status = SyncRecord.Status.PENDING if error.retryable else SyncRecord.Status.FAILED
    if target_payload is not None:
        record.target_payload = target_payload
    record.save()
