"""The record pipeline every record-by-record flow runs on.

    recover in-flight writes -> queued records (replays, approvals, retries) -> scan the source for changes
    -> persist SyncRecords -> lease -> transform (mapping version) -> route (hold / skip) -> outbox
    -> send a batch to the target -> bind (one commit) -> settle source digests -> advance the cursor

Guarantees, and where they come from:

* **Nothing lost.** Every changed source record is persisted before anything is posted; a source digest
  (``SourceState``) is written only in the transaction that settles the record, and a cursor only moves
  past records that are settled. Whatever a crash interrupts is seen as changed by the next run.
* **Nothing posted twice.** A write is recorded in the record's outbox (``message_id``, the target document)
  and committed *before* it leaves. After a crash, records still carrying a message id are re-sent with the
  same id and content, which the target recognises (AX ``DuplicateMessage``, the Sage agent's applied keys);
  the created key is then looked up. Successful writes are bound in one commit straight after the call.
* **One worker per record.** A run holds the flow's advisory lock, and each record is leased
  (``lease_run``/``lease_until``) before work on it starts; a dead worker's lease simply expires.

Flows describe only what differs (where changes come from, how to fetch, convert, transform and send) by
subclassing :class:`RecordFlow`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db import connection as db
from django.db.models import Q
from django.utils import timezone

from integrations.core.canonical import content_hash
from integrations.core.errors import AUTH, CONFIGURATION, ConnectorError, DuplicateError, TargetValidationError
from integrations.sync.engine import FlowAborted, RunRecorder, idempotency_key
from integrations.sync.limits import CircuitOpen, ConnectionGate
from integrations.sync.models import (
    Binding,
    Flow,
    FlowCursor,
    Resolution,
    SourceState,
    SyncRecord,
)
from mapping.models import MappingVersion
from mapping.versions import published_version

log = logging.getLogger("ledgerbridge.sync.pipeline")

STEPS = ("extract", "persist", "claim", "transform", "outbox", "send", "bind", "cursor")
MAX_FAILURES_IN_A_ROW = 3
MESSAGE_NAMESPACE = uuid.UUID("6f1c7a52-3d0e-4b8e-9a43-1c5b2f7e9d10")

# Tests set this to a callable(step) that raises, to stand in for a worker killed at that step.
crash_hook: Callable[[str], None] | None = None


def checkpoint(step: str) -> None:
    if crash_hook is not None:
        crash_hook(step)


@dataclass
class Candidate:
    """A source record as listed: enough to decide whether it changed since it was last settled."""

    source_id: str
    digest: str
    number: int | None = None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Transformed:
    """What the mapping made of a record: a target document, or a reason to hold or skip it."""

    document: dict[str, Any] | None = None
    hold: str = ""
    skip: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Scan:
    """What a scan of the source saw; the flow turns it into its next cursor."""

    complete: bool = False
    numbers_seen: list[int] = field(default_factory=list)
    unsettled_numbers: list[int] = field(default_factory=list)
    full_sweep: bool = False


class RecordFlow(ABC):
    """One flow's specifics. The pipeline calls these; every call to a system goes through the gates."""

    entity: str = ""
    stream: str = ""
    batch_size: int = 50
    # Documents (invoices) are posted once: a change after posting is recorded, not re-sent. Master data
    # (customers, products) is written again whenever the source changes it.
    resend_changes: bool = False

    def __init__(self, flow: Flow, *, source_gate: ConnectionGate, target_gate: ConnectionGate) -> None:
        self.flow = flow
        self.options = flow.options or {}
        self.source_gate = source_gate
        self.target_gate = target_gate

    def open(self) -> None:  # noqa: B027 - optional hook
        """Create the protocol clients (with the gates' metered sessions)."""

    @abstractmethod
    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        """Pages of source records that may have changed since ``cursor``; set ``scan.complete`` at the end."""

    @abstractmethod
    def load(self, candidate: Candidate) -> Any:
        """The full source record (one call to the source)."""

    @abstractmethod
    def canonical(self, raw: Any) -> dict[str, Any]:
        """The canonical record as JSON; ConnectorError when the source record cannot be read."""

    def unwanted(self, payload: dict[str, Any]) -> str:
        """A reason not to carry this record at all (e.g. "not paid yet"), or ""."""
        return ""

    def unwanted_listed(self, candidate: Candidate) -> str:
        """The same judgement from the listing alone, when it can be made there (saves fetching the record)."""
        return ""

    @abstractmethod
    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        """Apply the mapping; ConnectorError (TargetValidationError code ``mapping_missing``...) on failure."""

    @abstractmethod
    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        """Create ``documents`` in the target in one call carrying ``message_id``; their ids, in order.

        Either all-or-nothing (one target transaction, like an AIF message: raise on failure, and raise
        DuplicateError when the target has already processed ``message_id``), or per record (like the Sage
        agent's batches, each operation with its own idempotency key): then an element may be the
        ConnectorError of that record, and a repeat must return the stored outcome."""

    @abstractmethod
    def find_existing(self, record: SyncRecord) -> str | None:
        """The target id of what an earlier (answer-lost) write created for this record, if it exists."""

    def next_cursor(self, cursor: dict[str, Any], scan: Scan) -> dict[str, Any]:
        return cursor

    def waits_for(self, error: ConnectorError, record: SyncRecord) -> str:
        """Why a record the target refused is expected to go through later without anyone fixing it (e.g. its
        customer is being created by another flow), or "" when the refusal is an error for the inbox."""
        return ""


class Pipeline:
    def __init__(self, flow: Flow, recorder: RunRecorder, spec_class: type[RecordFlow]) -> None:
        self.flow = flow
        self.recorder = recorder
        self.run = recorder.run
        self.source_gate = gate_for(flow.source)
        self.target_gate = gate_for(flow.target)
        self.spec = spec_class(flow, source_gate=self.source_gate, target_gate=self.target_gate)
        self.version = published_version(flow)
        self.run.mapping_version = self.version
        self._versions: dict[int, MappingVersion] = {self.version.pk: self.version}
        self._failures_in_a_row = 0
        self._unsettled: set[str] = set()
        self._numbers: dict[str, int] = {}  # source id -> number of what this run's scan saw changed
        self._sender: ThreadPoolExecutor | None = None
        self._in_flight: tuple | None = None
        self.lease = timedelta(seconds=int(self.flow.options.get("lease_seconds", 900)))
        self._anomaly_gate: Any = False  # built on first use: None when the co-pilot does not score this flow
        self._scored: list[SyncRecord] = []

    def anomaly_gate(self):
        """The co-pilot's scoring gate for this run's records (None: not transactions, or scoring is off)."""
        if self._anomaly_gate is False:
            from ai_copilot.anomaly_service import AnomalyGate

            self._anomaly_gate = AnomalyGate.for_flow(self.flow, self.spec.entity)
        return self._anomaly_gate

    # ------------------------------------------------------------------ the run

    def execute(self) -> None:
        self.spec.open()
        self.recover_in_flight()
        with self.sending_alongside():
            self.process_queued()
            cursor_row, _ = FlowCursor.objects.get_or_create(flow=self.flow, stream=self.spec.stream)
            scan = Scan()
            for page in self.spec.candidates(dict(cursor_row.value or {}), scan):
                self.recorder.count("seen", len(page))
                checkpoint("extract")
                self.scan_page(page, scan)
            self.collect()
        if scan.complete:
            scan.unsettled_numbers = [n for sid, n in self._numbers.items() if sid in self._unsettled]
            checkpoint("cursor")
            cursor_row.value = self.spec.next_cursor(dict(cursor_row.value or {}), scan)
            cursor_row.save(update_fields=["value", "updated_at"])
        self.recorder.beat()

    @contextmanager
    def sending_alongside(self) -> Iterator[None]:
        """Let target calls run on a second thread while this one reads the source (one message in flight).

        The thread does network I/O and the gate's bookkeeping only; it shares this thread's database
        connection (psycopg serialises commands), so it sees exactly what this thread sees, transaction
        included. Every result is bound here, in order.
        """
        main = connections[DEFAULT_DB_ALIAS]
        main.inc_thread_sharing()

        def adopt_connection() -> None:
            connections[DEFAULT_DB_ALIAS] = main

        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"send:{self.flow.key}",
                                      initializer=adopt_connection)
        self._sender = executor
        try:
            yield
        finally:
            self._sender = None
            executor.shutdown(wait=True)  # nothing may use the connection once we return
            main.dec_thread_sharing()

    # ------------------------------------------------------------------ 1. writes whose outcome is unknown

    def recover_in_flight(self) -> None:
        """Records whose write left but whose answer never came back: re-send the same message."""
        in_flight = (SyncRecord.objects.filter(flow=self.flow, status=SyncRecord.Status.PENDING)
                     .exclude(message_id="").order_by("message_id", "pk"))
        groups: dict[str, list[int]] = {}
        for pk, message_id in in_flight.values_list("pk", "message_id"):
            groups.setdefault(message_id, []).append(pk)
        for message_id, pks in groups.items():
            self.recorder.count("seen", len(pks))
            records = self.claim(pks, in_flight=True)
            if len(records) != len(pks):
                continue  # another worker holds part of the message; it resolves it
            documents = [r.target_payload for r in records]
            self.send(list(zip(records, documents, strict=True)), message_id=message_id, resend=True)

    # ------------------------------------------------------------------ 2. replays, approvals and retries

    def process_queued(self) -> None:
        queued = (SyncRecord.objects.filter(flow=self.flow, status=SyncRecord.Status.PENDING, message_id="")
                  .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now()))
                  .order_by("pk").values_list("pk", flat=True))
        pks = list(queued[:100_000])
        self.recorder.count("seen", len(pks))
        for start in range(0, len(pks), self.spec.batch_size):
            self.process(pks[start:start + self.spec.batch_size], digests={})

    # ------------------------------------------------------------------ 3. the source scan

    def scan_page(self, page: list[Candidate], scan: Scan) -> None:
        by_id = {c.source_id: c for c in page}
        settled = dict(SourceState.objects.filter(flow=self.flow, stream=self.spec.stream,
                                                  source_id__in=list(by_id)).values_list("source_id", "digest"))
        changed = [c for c in page if settled.get(c.source_id) != c.digest]
        self.recorder.count("skipped", len(page) - len(changed))
        for candidate in changed:
            if candidate.number is not None:
                self._numbers[candidate.source_id] = candidate.number
        # Batch by batch: the target works on one batch while the next is read (and database work comes in
        # small slices, so a rate-limited source is never left idle for long).
        for start in range(0, len(changed), self.spec.batch_size):
            self.scan_chunk(changed[start:start + self.spec.batch_size], scan)

    def scan_chunk(self, changed: list[Candidate], scan: Scan) -> None:
        loaded: list[tuple[Candidate, dict[str, Any]]] = []
        unwanted: list[Candidate] = []
        for candidate in changed:
            if self.spec.unwanted_listed(candidate):
                unwanted.append(candidate)
                continue
            try:
                raw = self.source_gate.call(lambda c=candidate: self.spec.load(c), metered=False)
            except ConnectorError as error:
                self._source_failure(error, candidate, scan)
                continue
            self._failures_in_a_row = 0
            try:
                payload = self.spec.canonical(raw)
            except ConnectorError as error:
                self.keep_unreadable(candidate, raw, error)
                continue
            reason = self.spec.unwanted(payload)
            if reason:
                unwanted.append(candidate)
                continue
            loaded.append((candidate, payload))
        if unwanted:
            self.settle_digests(unwanted)
            self.recorder.count("skipped", len(unwanted))
        records = self.persist(loaded)
        checkpoint("persist")
        digests = {c.source_id: c for c, _payload in loaded}
        ready: list[int] = []
        already: list[SyncRecord] = []
        for record in records:
            if record.status == SyncRecord.Status.PENDING:
                if not record.message_id:  # else it is on its way already
                    ready.append(record.pk)
            else:
                already.append(record)  # same content as before: settled then, settle the digest now
        if already:
            self.settle_digests([digests[r.source_id] for r in already])
            self.recorder.count("skipped", len(already))
        self.process(ready, digests=digests, known={r.pk: r for r in records})

    def _source_failure(self, error: ConnectorError, candidate: Candidate, scan: Scan) -> None:
        if error.kind in {AUTH, CONFIGURATION} or isinstance(error, CircuitOpen):
            raise error
        if not error.retryable:
            self.keep_unreadable(candidate, None, error)
            return
        self._unsettled = self._unsettled | {candidate.source_id}
        self.recorder.retry_later(1, str(error))
        self._failures_in_a_row += 1
        log.info("could not read %s %s: %s", self.spec.entity, candidate.source_id, error)
        if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
            raise FlowAborted(f"{self.flow.source.name} failed {self._failures_in_a_row} times in a row ({error}); "
                              "the next run continues where this one stopped.")

    def persist(self, loaded: list[tuple[Candidate, dict[str, Any]]]) -> list[SyncRecord]:
        """Store every changed record before anything is posted (one insert, one select)."""
        if not loaded:
            return []
        now = timezone.now()
        rows, keys = [], []
        for candidate, payload in loaded:
            encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"))
            version = hashlib.sha256(encoded.encode()).hexdigest()[:32]
            key = idempotency_key(self.flow, self.spec.entity, candidate.source_id, version)
            keys.append(key)
            rows.append((self.flow.pk, self.run.pk, self.spec.entity, candidate.source_id, version, key, encoded,
                         now, now))
        # One statement for the page (the ORM's bulk_create costs ~1 ms a row in Python for this model).
        columns = ("flow_id, last_run_id, entity, source_id, source_version, idempotency_key, payload, "
                   "created_at, updated_at, status, attempts, last_error, error_kind, error_code, suggested_fix, "
                   "message_id, hold_reason, replay_mapping, resolution, target_id, warnings, anomaly_flagged, "
                   "anomaly_reasons")
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, 'pending', 0, '', '', '', '', '', '', '', "
                            "'', '', '[]'::jsonb, false, '[]'::jsonb)"] * len(rows))
        with db.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SyncRecord._meta.db_table} ({columns}) VALUES {values} "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING id, idempotency_key", [v for row in rows for v in row])
            inserted = dict((key, pk) for pk, key in cursor.fetchall())
        records = []
        for (_candidate, payload), row in zip(loaded, rows, strict=True):
            pk = inserted.get(row[5])
            if pk is not None:  # new: built here rather than read back
                record = SyncRecord(id=pk, flow=self.flow, last_run=self.run, entity=row[2], source_id=row[3],
                                    source_version=row[4], idempotency_key=row[5], payload=payload, created_at=now,
                                    updated_at=now)
                record._state.adding = False
                records.append(record)
        seen_before = [key for key in keys if key not in inserted]
        if seen_before:
            records += list(SyncRecord.objects.filter(idempotency_key__in=seen_before))
        # A record that changed after it was posted: the posted version stands (record it, don't re-send).
        bound = set() if self.spec.resend_changes else set(Binding.objects.filter(
            connection=self.flow.target, entity=self.spec.entity, source_connection=self.flow.source,
            source_id__in=[r.source_id for r in records if r.status == SyncRecord.Status.PENDING],
        ).values_list("source_id", flat=True))
        for record in records:
            if record.status == SyncRecord.Status.PENDING and record.source_id in bound and not record.message_id:
                record.status = SyncRecord.Status.SKIPPED
                record.last_error = (f"Changed in {self.flow.source.name} after it was posted to "
                                     f"{self.flow.target.name}; the posted version stands and was not sent again.")
                record.save(update_fields=["status", "last_error", "updated_at"])
        return records

    def keep_unreadable(self, candidate: Candidate, raw: Any, error: ConnectorError) -> None:
        raw = json.loads(json.dumps(raw, default=str)) if isinstance(raw, dict | list) else str(raw or "")
        payload = {"unreadable": True, "raw": raw}
        version = content_hash(payload)[:32]
        record, _ = SyncRecord.objects.get_or_create(
            idempotency_key=idempotency_key(self.flow, self.spec.entity, candidate.source_id, version),
            defaults={"flow": self.flow, "last_run": self.run, "entity": self.spec.entity,
                      "source_id": candidate.source_id, "source_version": version, "payload": payload})
        with transaction.atomic():
            self._fail(record, error)
            self.settle_digests([candidate])
        self.recorder.count("failed")

    # ------------------------------------------------------------------ lease, transform, route

    def claim(self, pks: Sequence[int], known: dict[int, SyncRecord] | None = None, *,
              in_flight: bool = False) -> list[SyncRecord]:
        """Lease pending records for this run (records another live run holds are left alone).

        Records in the outbox (a message id set: on their way to the target) are only ever claimed to resolve
        that message (``in_flight=True``), never to be sent afresh. ``known``: records already loaded by the
        caller (the lease only changes lease fields)."""
        if not pks:
            return []
        outbox = "message_id <> ''" if in_flight else "message_id = ''"
        with db.cursor() as cursor:
            cursor.execute(
                f"UPDATE {SyncRecord._meta.db_table} SET lease_run = %s, lease_until = %s "  # noqa: S608
                f"WHERE id = ANY(%s) AND status = 'pending' AND {outbox} "
                "AND (lease_until IS NULL OR lease_until < %s OR lease_run = %s) RETURNING id",
                [self.run.pk, timezone.now() + self.lease, list(pks), timezone.now(), self.run.pk])
            claimed = {row[0] for row in cursor.fetchall()}
        checkpoint("claim")
        known = known or {}
        missing = [pk for pk in claimed if pk not in known]
        loaded = {r.pk: r for r in SyncRecord.objects.filter(pk__in=missing)} if missing else {}
        return [known.get(pk) or loaded[pk] for pk in sorted(claimed)]

    def rules_for(self, record: SyncRecord) -> tuple[MappingVersion, dict[str, Any]]:
        if record.replay_mapping == "ran" and record.mapping_version_id:
            version = self._versions.get(record.mapping_version_id)
            if version is None:
                version = MappingVersion.objects.get(pk=record.mapping_version_id)
                self._versions[version.pk] = version
            return version, version.rules
        return self.version, self.version.rules

    def process(self, pks: Sequence[int], *, digests: dict[str, Candidate],
                known: dict[int, SyncRecord] | None = None) -> None:
        records = self.claim(pks, known)
        ready: list[tuple[SyncRecord, dict[str, Any]]] = []
        self.prepare_scoring(records)
        for record in records:
            version, rules = self.rules_for(record)
            record.mapping_version = version
            try:
                if record.payload.get("unreadable"):
                    raise TargetValidationError("The source record could not be read; fix it in the source.",
                                                system="Ledgerbridge", code="unreadable")
                held_as_anomaly = self.score(record)
                result = self.spec.transform(record.payload, rules, record)
                if held_as_anomaly and not result.skip and not result.hold:
                    result.hold = held_as_anomaly
            except ConnectorError as error:
                with transaction.atomic():
                    self._fail(record, error)
                    self.settle_digests([digests[record.source_id]] if record.source_id in digests else [])
                self.recorder.count("failed")
                continue
            if result.skip:
                self.settle(record, SyncRecord.Status.SKIPPED, result.skip, digests)
                self.recorder.count("skipped")
            elif result.hold and record.resolution != Resolution.APPROVED:
                self.settle(record, SyncRecord.Status.HELD, result.hold, digests, target_payload=result.document)
                self.recorder.count("held")
            else:
                record.warnings = list(result.warnings)
                ready.append((record, result.document))
        self.save_scores()
        checkpoint("transform")
        self._unsettled = self._unsettled | {r.source_id for r, _doc in ready}
        for start in range(0, len(ready), self.spec.batch_size):
            self.send(ready[start:start + self.spec.batch_size], digests=digests)

    def prepare_scoring(self, records: list[SyncRecord]) -> None:
        """Let the co-pilot read what this batch's records refer to in one go (never one query per record)."""
        gate = self.anomaly_gate() if records else None
        if gate is not None:
            try:
                gate.prepare(records)
            except Exception:  # as in score(): the co-pilot never stops a run
                log.exception("co-pilot could not prepare scoring for %s", self.flow.key)

    def score(self, record: SyncRecord) -> str:
        """Score the record before it is transformed (routing rules may read ``anomaly_score``); the hold reason
        when the tenant holds flagged records, else "". An approved record is scored again but never re-held."""
        gate = self.anomaly_gate()
        if gate is None:
            return ""
        try:
            verdict = gate.check(record)
        except Exception:  # scoring must never stop a record: it posts unscored, as without the co-pilot
            log.exception("co-pilot could not score record %s of %s", record.pk, self.flow.key)
            return ""
        if verdict is None or record.resolution == Resolution.APPROVED:
            return ""
        self._scored.append(record)
        return verdict.hold

    def save_scores(self) -> None:
        """Store this batch's anomaly scores in one statement (records settled later keep them too)."""
        scored, self._scored = self._scored, []
        if not scored:
            return
        rows = [(r.pk, r.anomaly_score, bool(r.anomaly_flagged), json.dumps(r.anomaly_reasons or [])) for r in scored]
        values = ", ".join(["(%s::bigint, %s::double precision, %s::boolean, %s::jsonb)"] * len(rows))
        with db.cursor() as cursor:
            cursor.execute(
                f"UPDATE {SyncRecord._meta.db_table} AS t SET anomaly_score = v.score, "  # noqa: S608
                f"anomaly_flagged = v.flagged, anomaly_reasons = v.reasons FROM (VALUES {values}) "
                "AS v(id, score, flagged, reasons) WHERE t.id = v.id", [x for row in rows for x in row])

    def settle(self, record: SyncRecord, status: str, reason: str, digests: dict[str, Candidate], *,
               target_payload: dict[str, Any] | None = None) -> None:
        with transaction.atomic():
            record.status = status
            record.lease_run = record.lease_until = None
            if status == SyncRecord.Status.HELD:
                record.hold_reason = reason[:300]
                record.resolution = ""
                record.target_payload = target_payload
            else:
                record.last_error = reason
            record.replay_mapping = ""
            record.save()
            self.settle_digests([digests[record.source_id]] if record.source_id in digests else [])

    # ------------------------------------------------------------------ outbox, send, bind

    def send(self, items: list[tuple[SyncRecord, dict[str, Any]]], *, digests: dict[str, Candidate] | None = None,
             message_id: str = "", resend: bool = False, wait: bool = False) -> None:
        if not items:
            return
        digests = digests or {}
        records = [r for r, _doc in items]
        documents = [doc for _r, doc in items]
        if not message_id:
            message_id = message_id_for_batch([r.idempotency_key for r in records])
        if not resend:
            self.outbox(items, message_id)
        checkpoint("outbox")
        self.run.target_calls += 1
        call = partial(self._call_target, records, documents, message_id)
        if self._sender is None or wait:
            try:
                ids = call()
            except ConnectorError as error:
                self._send_failed(items, error, message_id, digests)
                return
            self._sent(records, ids, digests)
            return
        self.collect()  # one message in flight: the previous one is bound before the next leaves
        self._in_flight = (self._sender.submit(call), items, digests, message_id)

    def _call_target(self, records: list[SyncRecord], documents: list[dict[str, Any]], message_id: str) -> list[str]:
        try:
            return self.target_gate.call(lambda: self.spec.send(documents, message_id), metered=False)
        except DuplicateError:
            # The target already processed this very message (an earlier answer was lost): look the keys up.
            return [self.target_gate.call(lambda r=r: self.spec.find_existing(r), metered=False) or
                    f"MessageId:{message_id}#{index}" for index, r in enumerate(records)]

    def collect(self) -> None:
        """Wait for the message in flight (if any) and settle its records."""
        if self._in_flight is None:
            return
        future, items, digests, message_id = self._in_flight
        self._in_flight = None
        try:
            ids = future.result()
        except ConnectorError as error:
            self._send_failed(items, error, message_id, digests)
            return
        self._sent([r for r, _doc in items], ids, digests)

    def _sent(self, records: list[SyncRecord], ids: list, digests: dict[str, Candidate]) -> None:
        self._failures_in_a_row = 0
        checkpoint("send")
        refused = [(r, out) for r, out in zip(records, ids, strict=True) if isinstance(out, ConnectorError)]
        if refused:  # a per-record target: bind what was created, deal with the rest one by one
            posted = [(r, out) for r, out in zip(records, ids, strict=True) if not isinstance(out, ConnectorError)]
            records, ids = [r for r, _o in posted], [o for _r, o in posted]
            for record, error in refused:
                if error.retryable:
                    record.last_error, record.error_kind, record.error_code = str(error), error.kind, error.code or ""
                    record.save(update_fields=["last_error", "error_kind", "error_code", "updated_at"])
                    self.recorder.retry_later(1, str(error), error.code or "")
                    self._unsettled = self._unsettled | {record.source_id}
                    continue  # stays in the outbox: re-sent under the same key, which the target recognises
                if self._waits(record, error):
                    continue
                with transaction.atomic():
                    SyncRecord.objects.filter(pk=record.pk).update(message_id="")
                    self._fail(record, error)
                    self.settle_digests([digests[record.source_id]] if record.source_id in digests else [])
                self.recorder.count("failed")
        if records:
            self.bind(records, ids, digests)
        checkpoint("bind")

    def outbox(self, items: list[tuple[SyncRecord, dict[str, Any]]], message_id: str) -> None:
        """Record the write before it leaves (committed): a crash from here on is recovered by re-sending."""
        for record, document in items:
            record.message_id = message_id
            record.target_payload = document
            record.attempts += 1
        version = items[0][0].mapping_version
        update_column(SyncRecord, "target_payload", [(r.pk, json.dumps(d)) for r, d in items], cast="jsonb",
                      extra="message_id = %s, mapping_version_id = %s, attempts = t.attempts + 1, updated_at = %s",
                      extra_params=[message_id, version.pk if version else None, timezone.now()])
        warned = [(r.pk, json.dumps(r.warnings)) for r, _d in items if r.warnings]
        update_column(SyncRecord, "warnings", warned, cast="jsonb")

    def _send_failed(self, items, error: ConnectorError, message_id: str, digests) -> None:
        records = [r for r, _doc in items]
        if error.kind in {AUTH, CONFIGURATION} or isinstance(error, CircuitOpen):
            raise error  # nothing was written; the outbox entry is re-sent when the connection works
        if error.retryable:
            # Unknown outcome (timeout) or refused for now: keep the outbox, re-send the same message later.
            for record in records:
                record.last_error, record.error_kind, record.error_code = str(error), error.kind, error.code or ""
            SyncRecord.objects.bulk_update(records, ["last_error", "error_kind", "error_code"])
            self.recorder.retry_later(len(records), str(error))
            self._unsettled = self._unsettled | {r.source_id for r in records}
            self._failures_in_a_row += 1
            if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                raise FlowAborted(f"{self.flow.target.name} failed {self._failures_in_a_row} times in a row "
                                  f"({error}); the remaining records are posted by the next run.")
            return
        # Refused for good: the target rejected the whole message, so nothing of it was created.
        SyncRecord.objects.filter(pk__in=[r.pk for r in records]).update(message_id="")
        for record in records:
            record.message_id = ""
        if len(items) > 1:
            for item in items:  # find the culprit(s): each on its own message
                self.send([item], digests=digests, wait=True)
            return
        record = records[0]
        if self._waits(record, error):
            return
        with transaction.atomic():
            self._fail(record, error)
            self.settle_digests([digests[record.source_id]] if record.source_id in digests else [])
        self.recorder.count("failed")

    def _waits(self, record: SyncRecord, error: ConnectorError) -> bool:
        """A refusal the flow expects to clear by itself (``RecordFlow.waits_for``): nothing was created, so the
        record goes back to the queue (no message) and the next run tries it again; not an inbox error."""
        waiting = self.spec.waits_for(error, record)
        if not waiting:
            return False
        SyncRecord.objects.filter(pk=record.pk).update(
            status=SyncRecord.Status.PENDING, message_id="", last_error=waiting[:2000], error_kind=error.kind,
            error_code="awaiting_dependency", lease_run=None, lease_until=None, updated_at=timezone.now())
        record.message_id = ""
        self.recorder.retry_later(1, waiting, "awaiting_dependency")
        self._unsettled = self._unsettled | {record.source_id}
        return True

    def bind(self, records: list[SyncRecord], ids: list[str], digests: dict[str, Candidate]) -> None:
        """Bindings, record status, auto-resolution and source digests in one commit."""
        records, ids = self._unclaimed_targets(records, ids, digests)
        if not records:
            return
        now = timezone.now()
        with transaction.atomic():
            rows = [(self.flow.target_id, r.entity, self.flow.source_id, r.source_id, str(external_id),
                     r.source_version, now) for r, external_id in zip(records, ids, strict=True)]
            with db.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {Binding._meta.db_table} (connection_id, entity, source_connection_id, "  # noqa: S608
                    f"source_id, external_id, payload_hash, synced_at) "
                    f"VALUES {', '.join(['(%s, %s, %s, %s, %s, %s, %s)'] * len(rows))} "
                    "ON CONFLICT (connection_id, entity, source_connection_id, source_id) DO UPDATE SET "
                    "external_id = EXCLUDED.external_id, payload_hash = EXCLUDED.payload_hash, "
                    "synced_at = EXCLUDED.synced_at", [v for row in rows for v in row])
            for record, external_id in zip(records, ids, strict=True):
                record.status = SyncRecord.Status.POSTED
                record.target_id = str(external_id)
                record.message_id = ""
                record.lease_run = record.lease_until = None
                record.last_error = record.error_kind = record.error_code = record.suggested_fix = ""
                if record.replay_mapping and not record.resolution:
                    record.resolution = Resolution.REPLAYED
                    record.resolved_at = now
                record.replay_mapping = ""
            # One statement (each UPDATE rewrites these wide rows): posted, target id, outbox and lease cleared.
            replayed = "t.replay_mapping IN ('ran', 'current') AND t.resolution = ''"
            update_column(SyncRecord, "target_id", [(r.pk, r.target_id) for r in records], extra=(
                f"status = 'posted', message_id = '', lease_run = NULL, lease_until = NULL, last_error = '', "
                f"error_kind = '', error_code = '', suggested_fix = '', replay_mapping = '', updated_at = %s, "
                f"resolution = CASE WHEN {replayed} THEN 'replayed' ELSE t.resolution END, "
                f"resolved_at = CASE WHEN {replayed} THEN %s ELSE t.resolved_at END"), extra_params=[now, now])
            # Older attempts at the same source records are resolved by this post.
            SyncRecord.objects.filter(
                flow=self.flow, entity=self.spec.entity, source_id__in=[r.source_id for r in records],
                status__in=[SyncRecord.Status.FAILED, SyncRecord.Status.PENDING, SyncRecord.Status.HELD],
                message_id="",
            ).exclude(pk__in=[r.pk for r in records]).update(
                status=SyncRecord.Status.SKIPPED, resolution=Resolution.AUTO_RESOLVED, resolved_at=now,
                lease_run=None, lease_until=None, replay_mapping="")
            self.settle_digests([digests[r.source_id] for r in records if r.source_id in digests])
        self._unsettled = self._unsettled - {r.source_id for r in records}
        self.recorder.count("posted", len(records))

    def _unclaimed_targets(self, records: list[SyncRecord], ids: list, digests: dict[str, Candidate]
                           ) -> tuple[list[SyncRecord], list]:
        """Records whose target object is not already bound to another source record; the others fail.

        A target object belongs to one source record. When the target answers with an object already linked to a
        different source (two sources mapped onto one ERP account, a sandbox reset behind the tenant's back), the
        record goes to the inbox naming both, instead of the binding silently moving or the run crashing."""
        external = {str(i) for i in ids}
        taken = {external_id: source_id if source_connection == self.flow.source_id else f"{source_id} (another "
                                                                                              "connection)"
                 for external_id, source_connection, source_id in Binding.objects.filter(
                     connection_id=self.flow.target_id, entity=self.spec.entity, external_id__in=external,
                 ).values_list("external_id", "source_connection_id", "source_id")}
        seen: dict[str, str] = {}
        keep, keep_ids = [], []
        for record, external_id in zip(records, ids, strict=True):
            owner = seen.get(str(external_id)) or taken.get(str(external_id))
            if owner is None or owner == record.source_id:
                seen[str(external_id)] = record.source_id
                keep.append(record)
                keep_ids.append(external_id)
                continue
            error = TargetValidationError(
                f"{self.flow.target.name} answered with {self.spec.entity} {external_id}, which is already linked to "
                f"source record {owner}; the two source records may be duplicates, or mapped onto one target.",
                system="Ledgerbridge", code="binding_conflict",
                payload={"external_id": str(external_id), "linked_to": owner})
            with transaction.atomic():
                self._fail(record, error)
                self.settle_digests([digests[record.source_id]] if record.source_id in digests else [])
            self.recorder.count("failed")
        return keep, keep_ids

    # ------------------------------------------------------------------ helpers

    def _fail(self, record: SyncRecord, error: ConnectorError) -> None:
        from integrations.sync.suggestions import suggest_fix

        record.attempts = max(record.attempts, 1)
        record.last_error = str(error)
        record.error_kind = error.kind
        record.error_code = (error.code or "")[:60]
        record.status = SyncRecord.Status.FAILED
        record.message_id = ""
        record.lease_run = record.lease_until = None
        record.replay_mapping = ""
        if record.resolution in (Resolution.REPLAYED, Resolution.EDITED, Resolution.APPROVED):
            record.resolution = ""  # back in the inbox
        record.suggested_fix = suggest_fix(record)
        record.save()

    def settle_digests(self, candidates: list[Candidate]) -> None:
        if not candidates:
            return
        now = timezone.now()
        rows = [(self.flow.pk, self.spec.stream, c.source_id, c.number, c.digest, now) for c in candidates]
        with db.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SourceState._meta.db_table} (flow_id, stream, source_id, number, digest, seen_at) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s, %s, %s, %s)'] * len(rows))} "
                "ON CONFLICT (flow_id, stream, source_id) DO UPDATE SET digest = EXCLUDED.digest, "
                "number = EXCLUDED.number, seen_at = EXCLUDED.seen_at", [v for row in rows for v in row])


def update_column(model, column: str, values: list[tuple[int, Any]], *, cast: str = "", extra: str = "",
                  extra_params: Sequence[Any] = ()) -> None:
    """``UPDATE table SET column = v.value FROM (VALUES (pk, value), ...) v`` — one statement for a batch
    where each row gets its own value (Django's bulk_update builds a CASE per row, far slower)."""
    if not values:
        return
    table = model._meta.db_table
    placeholders = ", ".join(["(%s::bigint, %s)"] * len(values))
    params = [item for pair in values for item in pair]
    value = f"v.value::{cast}" if cast else "v.value"
    more = f", {extra}" if extra else ""
    with db.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {column} = {value}{more} "  # noqa: S608
            f"FROM (VALUES {placeholders}) AS v(id, value) WHERE t.id = v.id", [*extra_params, *params])


def gate_for(connection) -> ConnectionGate:
    from django.conf import settings

    from integrations.sync.limits import BreakerPolicy
    from integrations.sync.retry import RetryPolicy

    return ConnectionGate(connection, retry=RetryPolicy(base=settings.SYNC_RETRY_BASE_SECONDS),
                          breaker=BreakerPolicy(cooldown=settings.SYNC_BREAKER_COOLDOWN_SECONDS))


def message_id_for_batch(idempotency_keys: Sequence[str]) -> str:
    """One message id per exact set of records: the same batch always travels under the same id."""
    digest = hashlib.sha256("|".join(sorted(idempotency_keys)).encode()).hexdigest()
    return str(uuid.uuid5(MESSAGE_NAMESPACE, digest)).upper()
