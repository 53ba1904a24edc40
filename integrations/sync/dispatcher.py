"""The one scheduler: a public dispatcher that fans out one tick per active tenant every minute.

``dispatch`` is the only django-q2 Schedule (see ``portal/schedules.py``); it runs in the public schema, never
activates anything itself, and queues ``tenant_tick`` for each active tenant with the schema name as the task's
first argument. ``tenant_tick`` does the tenant's periodic work inside its schema: fire due flow schedules,
run the watchdog, sweep stored webhooks and send the alert digest.

Exactly-once firing does not depend on there being one dispatcher or one tick: each due schedule is claimed
with a compare-and-set on its ``next_run_at``, and only the tick whose UPDATE matched requests the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from integrations.sync import alerts, scheduling
from integrations.sync.models import FlowSchedule, Notification, SyncRun
from portal.tasks import enqueue_for_tenant

log = logging.getLogger("ledgerbridge.dispatcher")

TICK = "integrations.sync.dispatcher.tenant_tick"
DUE_BATCH = 500  # schedules handled per tick; the rest are due still and go next minute


# ---------------------------------------------------------------------------------------------- public side


def dispatch(now: datetime | None = None) -> dict[str, Any]:
    """Queue one ``tenant_tick`` per active tenant (public schema). Skips a tenant whose last tick still waits."""
    from portal.tenants.models import Tenant

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        schemas = list(Tenant.objects.filter(is_active=True).exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
                       .order_by("schema_name").values_list("schema_name", flat=True))
        waiting = ticks_waiting()
    queued, skipped, failed = [], [], []
    for schema in schemas:
        if schema in waiting:
            skipped.append(schema)  # the workers are behind: one waiting tick per tenant is enough
            continue
        try:
            enqueue_for_tenant(schema, TICK, task_name=tick_name(schema))
        except Exception:  # one tenant's failure must not starve the others
            log.exception("could not queue the tick of %s", schema)
            failed.append(schema)
        else:
            queued.append(schema)
    try:  # the co-pilot's opt-in global prior, refreshed daily (it checks its own age)
        from ai_copilot.tasks import prior_due

        prior_due()
    except Exception:
        log.exception("could not queue the co-pilot's global prior")
    if skipped:
        log.info("dispatch at %s: %d tick(s) still waiting, not queued again", now or timezone.now(), len(skipped))
    return {"queued": len(queued), "skipped": skipped, "failed": failed}


def tick_name(schema: str) -> str:
    return f"{schema}:tick"


def ticks_waiting() -> set[str]:
    """Schemas whose tick is queued and not yet picked up (ORM broker only; elsewhere nothing is known)."""
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if not Conf.ORM:
        return set()
    waiting = set()
    rows = OrmQ.objects.using(Conf.ORM).filter(lock__lte=timezone.now()).only("id", "payload")
    for row in rows.iterator(chunk_size=500):
        name = row.name() or ""
        if name.endswith(":tick"):
            waiting.add(name[: -len(":tick")])
    return waiting


# ---------------------------------------------------------------------------------------------- tenant side


def tenant_tick(now: datetime | None = None) -> dict[str, Any]:
    """A tenant's periodic work (inside its schema). Each step is isolated: one failing does not stop the rest."""
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("tenant_tick runs inside a tenant schema (queue it with enqueue_for_tenant)")
    from integrations.sync import watchdog, webhooks

    now = now or timezone.now()
    steps: list[tuple[str, Callable[[], Any]]] = [
        # The watchdog first: a run it resumes is queued before schedules look for live runs.
        ("watchdog", lambda: watchdog.check_runs(now=now)),
        ("schedules", lambda: fire_due_schedules(now=now)),
        ("webhooks", webhooks.sweep_received),
        ("digest", lambda: alerts.send_digests(now=now)),
        # Once a day per flow (from 02:00 UTC): Kashflow against the ERP (reconciliation/services.py).
        ("reconciliation", lambda: _reconcile_daily(now)),
        # Once a day, or soon after new labels: the co-pilot's models are refitted (ai_copilot/tasks.py).
        ("copilot", lambda: _copilot_due(now)),
        # Once an hour: resolved errors beyond the newest 20,000 of each flow are deleted (never unresolved ones).
        ("retention", lambda: prune_errors() if now.minute == 0 else None),
    ]
    summary: dict[str, Any] = {}
    for name, step in steps:
        try:
            summary[name] = step()
        except Exception as error:
            log.exception("tick of %s: %s failed", connection.schema_name, name)
            summary[name] = f"error: {error.__class__.__name__}"
    return summary


def _copilot_due(now: datetime) -> str | None:
    from ai_copilot.tasks import due

    return due(now)


def _reconcile_daily(now: datetime) -> list[int]:
    from reconciliation.services import schedule_due

    return schedule_due(now=now)


def prune_errors() -> dict[str, int]:
    from integrations.sync import inbox
    from integrations.sync.models import Flow

    return {flow.key: inbox.prune(flow) for flow in Flow.objects.all()}


def claim(schedule_id: int, *, old_next_run_at: datetime | None, new_next_run_at: datetime | None,
          fired_at: datetime | None = None) -> bool:
    """Compare-and-set a schedule's next fire time: True only for the one caller that moved it from the old value.

    One UPDATE ... WHERE pk = %s AND next_run_at = <old>: PostgreSQL makes a concurrent second UPDATE wait for the
    first, re-read the row, find next_run_at changed and match nothing.
    """
    match = Q(next_run_at__isnull=True) if old_next_run_at is None else Q(next_run_at=old_next_run_at)
    changes: dict[str, Any] = {"next_run_at": new_next_run_at}
    if fired_at is not None:
        changes["last_fired_at"] = fired_at
    return FlowSchedule.objects.filter(match, pk=schedule_id, enabled=True).update(**changes) == 1


def fire_due_schedules(now: datetime | None = None) -> dict[str, list[int]]:
    """Fire every enabled schedule that is due, once, then move it to its next future time.

    A missed fire (the cluster was down for an hour) is not replayed: the schedule fires once and moves to the
    first time after now. A due schedule whose flow is switched off, or already has a run queued or running,
    is moved on without firing.
    """
    from integrations.sync.services import flow_run_request

    now = now or timezone.now()
    fired: list[int] = []
    skipped: list[int] = []
    lost: list[int] = []  # another tick claimed it first
    _plan_unplanned(now)
    due = (FlowSchedule.objects.filter(enabled=True, next_run_at__lte=now).select_related("flow")
           .order_by("next_run_at")[:DUE_BATCH])
    for schedule in due:
        flow = schedule.flow
        try:
            following = scheduling.next_fire_for(schedule, after=now)
        except scheduling.ScheduleError as error:
            _report_invalid(schedule, error)
            claim(schedule.pk, old_next_run_at=schedule.next_run_at, new_next_run_at=None)
            continue
        busy = SyncRun.objects.filter(flow=flow, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING])
        fire = flow.enabled and not busy.exists()
        if not claim(schedule.pk, old_next_run_at=schedule.next_run_at, new_next_run_at=following,
                     fired_at=now if fire else None):
            lost.append(schedule.pk)
            continue
        if not fire:
            skipped.append(flow.pk)
            continue
        try:
            flow_run_request(flow=flow, trigger=SyncRun.Trigger.SCHEDULE)
        except Exception:  # the run row (if created) stays queued and the watchdog re-requests it
            log.exception("schedule of %s: could not request the run", flow.key)
            continue
        fired.append(flow.pk)
    return {"fired": fired, "skipped": skipped, "claimed_elsewhere": lost}


def _plan_unplanned(now: datetime) -> None:
    """An enabled schedule without a next time (made in the admin or the shell) gets one; it does not fire now."""
    for schedule in FlowSchedule.objects.filter(enabled=True, next_run_at__isnull=True)[:DUE_BATCH]:
        try:
            following = scheduling.next_fire_for(schedule, after=now)
        except scheduling.ScheduleError as error:
            _report_invalid(schedule, error)
            continue
        claim(schedule.pk, old_next_run_at=None, new_next_run_at=following)


def _report_invalid(schedule: FlowSchedule, error: Exception) -> None:
    alerts.notify("schedule_invalid", f"The schedule of “{schedule.flow.name}” is not valid", str(error),
                  level=Notification.Level.ERROR, flow=schedule.flow, dedup_key=f"flow:{schedule.flow_id}:schedule")
