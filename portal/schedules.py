"""The django-q2 Schedule rows the product needs, kept in the public schema.

There is exactly one: the dispatcher, every minute. Every tenant's periodic work (flow schedules, the run
watchdog, the webhook sweeper, alert digests) hangs off it, so nothing per tenant is registered with django-q
and nothing has to be deregistered when a tenant or a schedule changes (peer-lessons §2 #1-2).
Idempotent: run it at every start; it creates what is missing and puts back what was edited.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django_q.models import Schedule
from django_tenants.utils import schema_context

SYSTEM_SCHEDULES = [
    {"name": "ledgerbridge:dispatch", "func": "integrations.sync.dispatcher.dispatch",
     "schedule_type": Schedule.MINUTES, "minutes": 1},
]


def ensure_system_schedules() -> list[Schedule]:
    """Create or update the system schedules (one row per name, duplicates removed)."""
    kept = []
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        for spec in SYSTEM_SCHEDULES:
            rows = list(Schedule.objects.select_for_update().filter(name=spec["name"]).order_by("pk"))
            schedule = rows[0] if rows else Schedule(name=spec["name"])
            for extra in rows[1:]:
                extra.delete()
            changed = schedule.pk is None
            for attr, value in {**spec, "args": None, "kwargs": None, "hook": None, "repeats": -1,
                                "cron": None, "cluster": None}.items():
                if getattr(schedule, attr) != value:
                    setattr(schedule, attr, value)
                    changed = True
            if changed:
                schedule.save()
            kept.append(schedule)
    return kept
