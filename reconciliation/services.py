"""Reconciliation services: request a run (now or daily), run it in the worker, re-sync what it found.

Runs go through the same django-q2 queue as flow runs (``enqueue_for_tenant``), so a reconciliation never holds a
web request open while it reads two systems. Every action a person takes is audited like the inbox's.

Re-sync ("re-sync these") hands records back to the flow's own pipeline rather than writing anything itself:

* a record still waiting in the inbox (failed, held, pending) is replayed with the current mapping
  (:func:`integrations.sync.inbox.replay`);
* a record the flow posted (or set aside) whose ERP copy is gone is queued again as a *fresh version* of the
  record: a new idempotency key, so a new AIF message id and a new agent operation key — re-sending the old
  ones would only fetch the stored answer for a document that no longer exists. Its binding stays until the
  new post replaces it, so a scan meanwhile does not post the same invoice a second time;
* a record the flow never stored is re-scanned: its settled digest is forgotten and the next run lists every
  invoice (full sweep), so the pipeline fetches it like any changed invoice.

Mismatches a flow cannot repair (missing in Kashflow, different amounts: a posted ERP invoice is not amended)
are listed for a person; they are never re-synced.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from integrations.sync import inbox
from integrations.sync.engine import idempotency_key
from integrations.sync.flows import FLOWS
from integrations.sync.models import Flow, SourceState, SyncRecord, SyncRun
from integrations.sync.services import flow_run_request
from portal.accounts.audit import audit
from portal.tasks import enqueue_for_tenant
from reconciliation.models import Mismatch, ReconciliationRun
from reconciliation.reconcilers import REGISTRY, reconciler_for

log = logging.getLogger("ledgerbridge.reconciliation")

MAX_PERIOD_DAYS = 366


class ReconciliationError(Exception):
    """A request that cannot be carried out, with a message for the person who made it."""


def default_period(today: date | None = None) -> tuple[date, date]:
    """The daily run's period: the last ``LEDGERBRIDGE_RECONCILE_DAYS`` (31) days up to today."""
    today = today or timezone.localdate()
    days = int(getattr(settings, "LEDGERBRIDGE_RECONCILE_DAYS", 31))
    return today - timedelta(days=days - 1), today


def reconcilable_flows():
    return Flow.objects.filter(key__in=list(REGISTRY)).select_related("source", "target")


def request_run(*, flow: Flow, start: date, end: date, actor: Any = None,
                trigger: str = ReconciliationRun.Trigger.MANUAL, inline: bool = False,
                schedule_day: date | None = None) -> ReconciliationRun | None:
    """Queue a reconciliation of ``flow`` for invoices dated ``start``..``end`` (None: the day's scheduled run
    exists already)."""
    if flow.key not in REGISTRY:
        raise ReconciliationError(f"There is no reconciliation for the flow {flow.name}.")
    if end < start:
        raise ReconciliationError("The period ends before it starts.")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ReconciliationError(f"Reconcile at most {MAX_PERIOD_DAYS} days at a time.")
    user = actor if getattr(actor, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(flow=flow, period_start=start, period_end=end, trigger=trigger,
                                                   requested_by=user, schedule_day=schedule_day)
            audit(actor, "reconciliation.requested", run, {"flow": flow.key, "period": f"{start}..{end}",
                                                           "trigger": trigger},
                  label=f"Reconciliation of {flow.name} ({start} to {end})")
    except IntegrityError:
        return None  # another tick created today's scheduled run first
    schema = db_connection.schema_name
    task_id = enqueue_for_tenant(schema, "reconciliation.services.execute_run", run.pk,
                                 task_name=f"{schema}:reconcile:{flow.key}:{run.pk}", sync=inline)
    ReconciliationRun.objects.filter(pk=run.pk).update(task_id=task_id or "")
    run.refresh_from_db()
    return run


def execute_run(run_id: int) -> dict[str, Any]:
    """Task body (inside the tenant's schema): reconcile once. A run only moves forward from queued."""
    claimed = ReconciliationRun.objects.filter(pk=run_id, status=ReconciliationRun.Status.QUEUED).update(
        status=ReconciliationRun.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return {"status": "not queued"}
    run = ReconciliationRun.objects.select_related("flow__source", "flow__target").get(pk=run_id)
    try:
        result = reconciler_for(run.flow).reconcile(run.period_start, run.period_end)
    except Exception as error:  # noqa: BLE001 - any failure is the run's outcome, shown on the dashboard
        log.exception("reconciliation %s of %s failed", run.pk, run.flow.key)
        run.status = ReconciliationRun.Status.FAILED
        run.message = f"{error.__class__.__name__}: {error}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
        return {"status": run.status}
    with transaction.atomic():
        Mismatch.objects.bulk_create([
            Mismatch(run=run, kind=f.kind, reason=f.reason, source_id=f.source_id[:120], target_id=f.target_id[:120],
                     customer=f.customer[:60], kashflow_value=f.kashflow_value[:200], erp_value=f.erp_value[:200],
                     detail=f.detail, resyncable=f.resyncable) for f in result.mismatches], batch_size=500)
        run.summary = result.summary
        run.mismatch_count = len(result.mismatches)
        run.status = ReconciliationRun.Status.MISMATCHED if result.mismatches else ReconciliationRun.Status.MATCHED
        run.message = (f"{len(result.mismatches)} mismatch{'es' if len(result.mismatches) != 1 else ''}"
                       if result.mismatches else "Kashflow and the ERP agree for this period.")
        run.finished_at = timezone.now()
        run.save(update_fields=["summary", "mismatch_count", "status", "message", "finished_at"])
    return {"status": run.status, "mismatches": run.mismatch_count}


def schedule_due(now: datetime | None = None) -> list[int]:
    """The per-tenant tick's step: once a day (from ``LEDGERBRIDGE_RECONCILE_HOUR``, 02:00 UTC) one run per enabled
    reconcilable flow over the default period. Idempotent across ticks and workers (one run per flow and day)."""
    now = now or timezone.now()
    if now.hour < int(getattr(settings, "LEDGERBRIDGE_RECONCILE_HOUR", 2)):
        return []
    day = now.date()
    start, end = default_period(day)
    due = reconcilable_flows().filter(enabled=True).exclude(reconciliations__schedule_day=day)
    queued = []
    for flow in due:
        run = request_run(flow=flow, start=start, end=end, trigger=ReconciliationRun.Trigger.SCHEDULE,
                          schedule_day=day)
        if run is not None:
            queued.append(run.pk)
    return queued


def latest_per_flow() -> list[tuple[Flow, ReconciliationRun | None]]:
    """Each reconcilable flow with its latest finished run (for the dashboard)."""
    out = []
    for flow in reconcilable_flows():
        latest = flow.reconciliations.exclude(status__in=[ReconciliationRun.Status.QUEUED,
                                                          ReconciliationRun.Status.RUNNING]).first()
        out.append((flow, latest))
    return out


# ---------------------------------------------------------------------------------------------- re-sync


@dataclass
class ResyncOutcome:
    replayed: list[str] = field(default_factory=list)  # source ids queued again through the inbox
    rescanned: list[str] = field(default_factory=list)  # source ids the next run fetches afresh
    busy: list[str] = field(default_factory=list)  # a run is working on them right now
    not_eligible: list[int] = field(default_factory=list)  # mismatch ids re-sync cannot repair
    runs: list[SyncRun] = field(default_factory=list)

    @property
    def message(self) -> str:
        parts = []
        if self.replayed:
            parts.append(f"{len(self.replayed)} queued again")
        if self.rescanned:
            parts.append(f"{len(self.rescanned)} to be fetched again from Kashflow")
        if self.busy:
            parts.append(f"{len(self.busy)} busy (a run is working on them; try again shortly)")
        if self.not_eligible:
            parts.append(f"{len(self.not_eligible)} cannot be re-synced (correct them in the ERP)")
        return "; ".join(parts) or "Nothing to re-sync."


def resync(run: ReconciliationRun, mismatch_ids: list[int], actor: Any) -> ResyncOutcome:
    """Queue the records behind the chosen mismatches for the run's flow again (see the module docstring)."""
    ids = inbox.parse_ids(mismatch_ids)
    chosen = list(run.mismatches.filter(pk__in=ids))
    unknown = sorted(set(ids) - {m.pk for m in chosen})
    if unknown:
        raise ReconciliationError(f"Unknown mismatch id{'s' if len(unknown) > 1 else ''} for this run: "
                                  f"{', '.join(map(str, unknown[:20]))}.")
    flow = run.flow
    outcome = ResyncOutcome()
    eligible = [m for m in chosen if m.resyncable and m.source_id]
    outcome.not_eligible = [m.pk for m in chosen if m not in eligible]
    source_ids = list(dict.fromkeys(m.source_id for m in eligible))
    definition = FLOWS.get(flow.key)
    entity = definition.entity if definition else "sales_invoice"
    stream = getattr(definition.spec_class(), "stream", "") if definition else ""
    replay_ids: list[int] = []
    rescan: list[str] = []
    now = timezone.now()
    with transaction.atomic():
        for source_id in source_ids:
            latest = (SyncRecord.objects.select_for_update().filter(flow=flow, entity=entity, source_id=source_id)
                      .order_by("-created_at", "-pk").first())
            if latest is None:
                rescan.append(source_id)
            elif latest.message_id or (latest.lease_until and latest.lease_until > now):
                outcome.busy.append(source_id)
            elif latest.status == SyncRecord.Status.PENDING or (
                    latest.status in (SyncRecord.Status.FAILED, SyncRecord.Status.HELD) and not latest.resolution):
                replay_ids.append(latest.pk)
                outcome.replayed.append(source_id)
            else:  # posted (its ERP copy is gone) or set aside: a fresh version of the record
                replay_ids.append(_fresh_version(flow, latest, run).pk)
                outcome.replayed.append(source_id)
        if rescan:
            SourceState.objects.filter(flow=flow, stream=stream, source_id__in=rescan).delete()
            _force_full_sweep(flow, stream)
            outcome.rescanned = rescan
    # The inbox's replay commits, audits and only then requests the flow's run (a worker must see the records).
    if replay_ids:
        replayed = inbox.replay(replay_ids, mapping="current", actor=actor)
        outcome.runs = replayed.runs
        if replayed.busy:  # raced a run between our look and the inbox's lock
            busy = set(SyncRecord.objects.filter(pk__in=replayed.busy).values_list("source_id", flat=True))
            outcome.replayed = [s for s in outcome.replayed if s not in busy]
            outcome.busy += sorted(busy)
    with transaction.atomic():
        done = set(outcome.replayed) | set(outcome.rescanned)
        for mismatch in eligible:
            if mismatch.source_id in done:
                mismatch.resynced_at = now
                mismatch.resync_outcome = ("queued again" if mismatch.source_id in outcome.replayed
                                           else "to be fetched again from Kashflow")
                mismatch.save(update_fields=["resynced_at", "resync_outcome"])
        audit(actor, "reconciliation.resynced", run, {
            "flow": flow.key, "mismatches": inbox.compact_ids(m.pk for m in chosen),
            "replayed": ",".join(outcome.replayed)[:1000], "rescanned": ",".join(outcome.rescanned)[:1000],
            "busy": ",".join(outcome.busy)[:1000], "not_eligible": inbox.compact_ids(outcome.not_eligible)},
            label=f"Re-sync of {len(chosen)} mismatch{'es' if len(chosen) != 1 else ''} of {flow.name}")
    if rescan and not outcome.runs:
        outcome.runs = [flow_run_request(flow=flow, trigger=SyncRun.Trigger.REPLAY, requested_by=actor)]
    return outcome


def _fresh_version(flow: Flow, latest: SyncRecord, run: ReconciliationRun) -> SyncRecord:
    """A new pending version of a settled record (same payload, new idempotency key), to be sent afresh."""
    n = SyncRecord.objects.filter(flow=flow, entity=latest.entity, source_id=latest.source_id).count()
    version = hashlib.sha256(f"{latest.source_version}:resync:{run.pk}:{n}".encode()).hexdigest()[:32]
    return SyncRecord.objects.create(
        flow=flow, entity=latest.entity, source_id=latest.source_id, source_version=version,
        idempotency_key=idempotency_key(flow, latest.entity, latest.source_id, version), payload=latest.payload,
        status=SyncRecord.Status.PENDING, replay_mapping="current",
        last_error=f"Re-sync from reconciliation #{run.pk}: the ERP's copy of record #{latest.pk} is missing.")


def _force_full_sweep(flow: Flow, stream: str) -> None:
    """The next run of a Kashflow invoice flow lists every invoice (its cursor forgets the last full sweep)."""
    from integrations.sync.models import FlowCursor

    cursor = FlowCursor.objects.select_for_update().filter(flow=flow, stream=stream).first()
    if cursor is not None and (cursor.value or {}).get("last_sweep"):
        cursor.value = {**cursor.value, "last_sweep": None}
        cursor.save(update_fields=["value", "updated_at"])
