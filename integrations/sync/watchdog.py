"""The run watchdog: no run is left "running" or "queued" by a worker or a queue that lost it.

* A *running* run whose heartbeat is older than ``SYNC_HEARTBEAT_STALE_SECONDS`` is dead only if its flow lock
  can be taken: the engine holds ``advisory_lock("flow:<key>")`` for the whole run, and PostgreSQL drops a
  session lock when its connection dies, so a free lock proves no worker is still on it (a slow but live run
  keeps its lock and is left alone).
* A *queued* run older than ``SYNC_QUEUED_STALE_SECONDS`` whose django-q task is no longer waiting or being
  worked on was lost (the queue dropped it, queueing failed, the task died before it started the run).

Either is marked failed with a clear message and a new run is requested (``trigger=resume``,
``resumed_from``); every transition is a compare-and-set on the status, so two watchdogs ticking at once
resume a dead run once. Runs inside the tenant's schema.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import DateTimeField
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.sync.engine import advisory_lock
from integrations.sync.models import Notification, SyncRecord, SyncRun

log = logging.getLogger("ledgerbridge.watchdog")

LIVE = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)


@dataclass
class WatchdogReport:
    resumed: list[int] = field(default_factory=list)  # dead or lost runs handled
    live: list[int] = field(default_factory=list)  # stale heartbeat but the worker still holds the lock
    waiting: list[int] = field(default_factory=list)  # old queued runs whose task is still in the queue

    def as_dict(self) -> dict[str, list[int]]:
        return {"resumed": self.resumed, "live": self.live, "waiting": self.waiting}


def check_runs(now: datetime | None = None) -> dict[str, list[int]]:
    now = now or timezone.now()
    report = WatchdogReport()
    _check_running(now, report)
    _check_queued(now, report)
    return report.as_dict()


# ---------------------------------------------------------------------------------------------- running


def _check_running(now: datetime, report: WatchdogReport) -> None:
    cutoff = now - timedelta(seconds=settings.SYNC_HEARTBEAT_STALE_SECONDS)
    stale = (SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
             .annotate(alive_at=Coalesce("heartbeat_at", "started_at", "created_at", output_field=DateTimeField()))
             .filter(alive_at__lt=cutoff).select_related("flow").order_by("pk"))
    for run in stale:
        outcome = settle_dead_run(run, now=now)
        if outcome == "live":
            report.live.append(run.pk)
        elif outcome == "resumed":
            report.resumed.append(run.pk)


def settle_dead_run(run: SyncRun, *, now: datetime) -> str:
    """Fail and resume one stale running run if its worker is gone: "resumed", "live" or "settled" (by another)."""
    with advisory_lock(f"flow:{run.flow.key}") as free:
        if not free:
            return "live"  # a worker still holds the flow: slow, not dead
        # Holding the lock, no run of this flow can start or finish: settle the dead one first.
        claimed = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED, finished_at=now, message="Interrupted: the worker stopped.")
        if not claimed:
            return "settled"  # finished, or settled by another watchdog, meanwhile
        SyncRecord.objects.filter(lease_run=run.pk).update(lease_run=None, lease_until=None)
    # The lock is released before the new run is queued, so its worker can take it at once.
    _carry_on(run, "Interrupted: the worker stopped")
    return "resumed"


# ---------------------------------------------------------------------------------------------- queued


def _check_queued(now: datetime, report: WatchdogReport) -> None:
    cutoff = now - timedelta(seconds=settings.SYNC_QUEUED_STALE_SECONDS)
    old = list(SyncRun.objects.filter(status=SyncRun.Status.QUEUED, created_at__lt=cutoff)
               .select_related("flow").order_by("pk")[:200])
    if not old:
        return
    in_queue = tasks_in_queue({run.task_id for run in old if run.task_id})
    finished = _finished_tasks({run.task_id for run in old if run.task_id})
    retry_cutoff = now - timedelta(seconds=settings.Q_CLUSTER.get("retry", 60))
    for run in old:
        if run.task_id and run.task_id not in finished:
            if in_queue is not None and run.task_id in in_queue:
                report.waiting.append(run.pk)
                continue
            if in_queue is None and run.created_at >= retry_cutoff:
                report.waiting.append(run.pk)  # a broker we cannot look into: give it the broker's retry time
                continue
        claimed = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.FAILED, finished_at=now,
            message="Lost before it started: its task is no longer in the queue.")
        if claimed:
            report.resumed.append(run.pk)
            _carry_on(run, "Lost before it started: its task is no longer in the queue")


def tasks_in_queue(task_ids: set[str]) -> set[str] | None:
    """Which of ``task_ids`` are still queued or being worked on; None when the broker cannot be inspected.

    With the ORM broker a task's row stays in ``django_q_ormq`` from enqueue until it is acknowledged after
    running (a worker only sets its ``lock``), so "not in the table" means gone. Payloads are signed, so the ids
    are read by decoding the rows; this runs only when an old queued run exists.
    """
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if not task_ids:
        return set()
    if not Conf.ORM:
        return None
    present = set()
    for row in OrmQ.objects.using(Conf.ORM).only("id", "payload").iterator(chunk_size=500):
        task_id = row.task_id()
        if task_id in task_ids:
            present.add(task_id)
            if present == task_ids:
                break
    return present


def _finished_tasks(task_ids: set[str]) -> set[str]:
    """Tasks django-q has a result for (success or failure): if their run is still queued, the task never ran it."""
    from django_q.models import Task

    if not task_ids:
        return set()
    return set(Task.objects.filter(id__in=task_ids).values_list("id", flat=True))


# ---------------------------------------------------------------------------------------------- resume


def _carry_on(dead: SyncRun, what: str) -> SyncRun | None:
    """Request the run that carries on from ``dead`` (already failed by our compare-and-set), and say so."""
    from integrations.sync import alerts
    from integrations.sync.services import flow_run_request

    flow = dead.flow
    successor = SyncRun.objects.filter(resumed_from=dead).first()
    other = SyncRun.objects.filter(flow=flow, status__in=LIVE).exclude(pk=dead.pk).order_by("pk").first()
    new_run = None
    if successor is not None:
        message = f"{what}; resumed as run #{successor.pk}."
    elif other is not None:
        message = f"{what}; run #{other.pk} (already {other.status}) carries on."
    elif not flow.enabled:
        message = f"{what}; not resumed because the flow is switched off."
    else:
        try:
            new_run = flow_run_request(flow=flow, trigger=SyncRun.Trigger.RESUME, resumed_from=dead)
        except Exception as error:  # the queue is down: the next trigger or tick carries on
            log.exception("could not queue the resume of run %s", dead.pk)
            message = f"{what}; the resume could not be queued ({error.__class__.__name__}), the next run carries on."
            alerts.notify("run_interrupted", f"“{flow.name}”: an interrupted run could not be resumed",
                          message, level=Notification.Level.WARNING, flow=flow, dedup_key=f"flow:{flow.pk}:resume")
        else:
            message = f"{what}; resumed as run #{new_run.pk}."
    SyncRun.objects.filter(pk=dead.pk, status=SyncRun.Status.FAILED).update(message=message)
    log.warning("run %s of %s: %s", dead.pk, flow.key, message)
    return new_run
