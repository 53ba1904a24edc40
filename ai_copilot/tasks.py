"""The co-pilot's background work (django-q2), tenant by tenant.

* ``retrain_tenant`` (inside a tenant schema, queued with ``enqueue_for_tenant``): refit the anomaly scorer on the
  tenant's history and labels, refresh each flow's GL suggester, and apply the tenant's auto-accept threshold if
  it set one.
* ``due(now)``: the per-tenant tick's step; queues ``retrain_tenant`` once a day (and soon after new labels).
* ``rebuild_prior``: public-schema task; the opt-in global prior, daily (``ai_copilot.prior``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils import timezone

log = logging.getLogger("ledgerbridge.copilot.tasks")

RETRAIN_EVERY = timedelta(hours=24)
QUEUED_MARK = timedelta(hours=1)  # one queued retrain per tenant at a time (a dead worker's mark expires)
TASK = "ai_copilot.tasks.retrain_tenant"


def retrain_tenant() -> dict[str, Any]:
    """Refit every model of the current tenant. Each part is isolated: one failing does not stop the rest."""
    from ai_copilot import anomaly_service, charts, gl_service
    from ai_copilot.models import CopilotSettings
    from integrations.sync.models import Flow

    schema = connection.schema_name
    summary: dict[str, Any] = {}
    try:
        if CopilotSettings.current().anomaly_mode != CopilotSettings.AnomalyMode.OFF:
            summary["anomaly"] = anomaly_service.train()
    except Exception as error:
        log.exception("co-pilot: anomaly training failed in %s", schema)
        summary["anomaly"] = f"error: {error.__class__.__name__}"
    for flow in Flow.objects.select_related("source", "target").filter(enabled=True):
        try:
            if not gl_service.supports(flow):
                continue
            gl_service.suggester(flow)
            summary[f"gl:{flow.key}"] = {"auto_accepted": gl_service.auto_accept(flow)}
        except charts.ChartUnavailable as error:
            summary[f"gl:{flow.key}"] = f"chart unavailable: {error.message}"
        except Exception as error:
            log.exception("co-pilot: GL suggester of %s failed in %s", flow.key, schema)
            summary[f"gl:{flow.key}"] = f"error: {error.__class__.__name__}"
    CopilotSettings.objects.update(retrain_queued_at=None)
    return summary


def request_retrain(*, sync: bool | None = None) -> str | None:
    """Queue a retrain of the current tenant unless one is already queued. Returns the task id, or None."""
    from ai_copilot.models import CopilotSettings
    from portal.tasks import enqueue_for_tenant

    schema = connection.schema_name
    now = timezone.now()
    CopilotSettings.current()
    # One conditional UPDATE claims the mark: of several workers ticking at once, exactly one queues the retrain.
    claimed = CopilotSettings.objects.filter(Q(retrain_queued_at__isnull=True)
                                             | Q(retrain_queued_at__lt=now - QUEUED_MARK)).update(retrain_queued_at=now)
    if not claimed:
        return None
    return enqueue_for_tenant(schema, TASK, task_name=f"{schema}:copilot-retrain", sync=sync)


def due(now: datetime | None = None) -> str | None:
    """Tick step: queue a retrain when the anomaly model is missing or a day old, or new labels arrived since."""
    from ai_copilot.models import AnomalyLabel, GLFeedback, StoredModel

    now = now or timezone.now()
    row = StoredModel.objects.filter(scope="anomaly").only("trained_at").first()
    stale = row is None or now - row.trained_at >= RETRAIN_EVERY
    if not stale and now - row.trained_at >= timedelta(minutes=10):
        newer = AnomalyLabel.objects.filter(created_at__gt=row.trained_at).exists() or \
            GLFeedback.objects.filter(created_at__gt=row.trained_at, automatic=False).exists()
        stale = newer or _history_grew(row)
    return request_retrain() if stale else None


def _history_grew(row) -> bool:
    """Much more history than the model learnt from (a new tenant's first runs): worth refitting today."""
    from ai_copilot.anomaly_service import ENTITY_KIND
    from integrations.sync.models import SyncRecord

    posted = SyncRecord.objects.filter(entity__in=list(ENTITY_KIND), status=SyncRecord.Status.POSTED)
    return posted[: 2 * row.training_rows + 101].count() > 2 * row.training_rows + 100


def rebuild_prior() -> dict[str, Any]:
    from ai_copilot.prior import rebuild

    return rebuild()


def prior_due() -> str | None:
    """Public tick: queue the global prior's rebuild at most once every few hours (it checks its own age)."""
    from django_q.tasks import async_task

    if not cache.add("copilot:prior-queued", "1", 6 * 3600):
        return None
    return async_task("ai_copilot.tasks.rebuild_prior", task_name="copilot-global-prior")
