"""Alerts: in-app notifications, one per episode, and a digest e-mail per window (never a storm).

An *episode* is identified by a dedup key (``flow:3:failing``): while a notification with that key is
unresolved, further ``notify`` calls for it do nothing; ``resolve`` ends the episode, and the next problem
opens a new one. E-mail goes out as one digest to the tenant's owners and admins at most every
``ALERT_DIGEST_MINUTES``, listing whatever was raised since the last one.

Every function here runs inside the tenant's schema.
"""

from __future__ import annotations

import logging
import zlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from integrations.sync.models import Connection, Flow, Notification, SyncRecord, SyncRun
from portal.logging import redact

log = logging.getLogger("ledgerbridge.alerts")

DIGEST_MAX_ITEMS = 50  # listed in one e-mail; the rest are counted
BODY_LIMIT = 2000


def _xact_lock(key: str) -> None:
    """Block until this transaction holds the tenant-scoped lock ``key`` (released at commit/rollback)."""
    lock_id = zlib.crc32(f"{db_connection.schema_name}:alerts:{key}".encode()) - 2**31
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def notify(kind: str, title: str, body: str = "", *, level: str, flow: Flow | None = None,
           connection: Connection | None = None, dedup_key: str = "") -> Notification | None:
    """Raise a notification; None when an unresolved one with the same ``dedup_key`` already covers it."""
    title, body = redact(title)[:200], redact(body)[:BODY_LIMIT]
    dedup_key = dedup_key[:120]
    with transaction.atomic():
        if dedup_key:
            # Serialise concurrent workers on the key, so one episode gets one notification.
            _xact_lock(dedup_key)
            if Notification.objects.filter(dedup_key=dedup_key, resolved_at__isnull=True).exists():
                return None
        return Notification.objects.create(kind=kind[:40], level=level, title=title, body=body, flow=flow,
                                           connection=connection, dedup_key=dedup_key)


def resolve(dedup_key: str, *, now: datetime | None = None) -> int:
    """End the episode: the next ``notify`` with this key creates a new notification."""
    if not dedup_key:
        return 0
    return Notification.objects.filter(dedup_key=dedup_key[:120], resolved_at__isnull=True).update(
        resolved_at=now or timezone.now())


# ---------------------------------------------------------------------------------------------- hooks


def failing_key(flow: Flow | int) -> str:
    return f"flow:{getattr(flow, 'pk', flow)}:failing"


def errors_key(flow: Flow | int) -> str:
    return f"flow:{getattr(flow, 'pk', flow)}:errors"


def paused_key(connection: Connection | int) -> str:
    return f"connection:{getattr(connection, 'pk', connection)}:paused"


def error_threshold(flow: Flow) -> int:
    value = (flow.options or {}).get("alert_error_threshold", settings.ALERT_ERROR_THRESHOLD)
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return settings.ALERT_ERROR_THRESHOLD


def on_run_finished(run: SyncRun) -> None:
    """After every finished run: open or close the flow's "failing" and "too many errors" episodes.

    A run that never started (refused because another run of the flow held it, or the flow was switched off)
    says nothing about the flow's health and is ignored.
    """
    if run.started_at is None:
        return
    flow = run.flow
    if run.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL):
        failed = run.status == SyncRun.Status.FAILED
        notify("flow_failing", f"“{flow.name}” {'failed' if failed else 'finished with errors'} (run #{run.pk})",
               run.message, level=Notification.Level.ERROR if failed else Notification.Level.WARNING, flow=flow,
               dedup_key=failing_key(flow))
    elif run.status == SyncRun.Status.SUCCEEDED:
        resolve(failing_key(flow))
    else:
        return  # queued / running: nothing finished
    open_errors = SyncRecord.objects.filter(flow=flow, status=SyncRecord.Status.FAILED, resolution="").count()
    threshold = error_threshold(flow)
    if open_errors >= threshold:
        notify("flow_errors", f"“{flow.name}” has {open_errors} failed records waiting",
               f"{open_errors} records of this flow failed and wait in the error inbox (alert threshold "
               f"{threshold}).", level=Notification.Level.WARNING, flow=flow, dedup_key=errors_key(flow))
    else:
        resolve(errors_key(flow))


def on_connection_paused(connection: Connection, reason: str) -> None:
    notify("connection_paused", f"Connection “{connection.name}” is paused", reason,
           level=Notification.Level.ERROR, connection=connection, dedup_key=paused_key(connection))


def on_connection_resumed(connection: Connection) -> None:
    resolve(paused_key(connection))


# ---------------------------------------------------------------------------------------------- digest


def _recipients() -> list[str]:
    from portal.accounts.models import Role, User

    return list(User.objects.filter(is_active=True, role__in=[Role.OWNER, Role.ADMIN]).exclude(email="")
                .order_by("email").values_list("email", flat=True))


def send_digests(now: datetime | None = None) -> int:
    """E-mail un-emailed notifications to the owners and admins, at most once per window. Returns how many.

    The notifications are claimed (``emailed_at`` set) in the same transaction that checks the window, under a
    tenant lock, so two workers ticking at once send one e-mail; if sending fails the claim is undone.
    """
    now = now or timezone.now()
    window = timedelta(minutes=settings.ALERT_DIGEST_MINUTES)
    with transaction.atomic():
        _xact_lock("digest")
        pending = Notification.objects.filter(emailed_at__isnull=True)
        if not pending.exists():
            return 0
        last = Notification.objects.filter(emailed_at__isnull=False).aggregate(last=Max("emailed_at"))["last"]
        if last is not None and last > now - window:
            return 0
        recipients = _recipients()
        if not recipients:
            return 0
        items = list(pending.select_related("flow", "connection").order_by("created_at"))
        ids = [n.pk for n in items]
        Notification.objects.filter(pk__in=ids).update(emailed_at=now)
    subject, text = _digest_text(items)
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        Notification.objects.filter(pk__in=ids, emailed_at=now).update(emailed_at=None)
        log.exception("could not send the alert digest for %s; it is retried next tick", db_connection.schema_name)
        return 0
    return len(ids)


def _digest_text(items: list[Notification]) -> tuple[str, str]:
    from portal.tenants.models import Tenant
    from portal.tenants.services import tenant_url

    tenant = Tenant.objects.filter(schema_name=db_connection.schema_name).first()
    name = tenant.name if tenant else db_connection.schema_name
    worst = "error" if any(n.level == Notification.Level.ERROR for n in items) else "alert"
    subject = f"[Ledgerbridge] {name}: {len(items)} new {worst}{'s' if len(items) != 1 else ''}"
    lines = [f"Ledgerbridge raised {len(items)} alert{'s' if len(items) != 1 else ''} for {name}:", ""]
    for n in items[:DIGEST_MAX_ITEMS]:
        state = " (resolved since)" if n.resolved_at else ""
        lines.append(f"* [{n.get_level_display()}] {n.created_at:%Y-%m-%d %H:%M} UTC  {n.title}{state}")
        if n.body:
            lines.append(f"  {n.body[:300]}")
    if len(items) > DIGEST_MAX_ITEMS:
        lines.append(f"… and {len(items) - DIGEST_MAX_ITEMS} more.")
    lines.append("")
    if tenant is not None:
        try:
            lines.append(f"See them all: {tenant_url(tenant, '/notifications/')}")
        except Exception:  # no primary domain: the list above is enough
            log.warning("tenant %s has no primary domain for the digest link", tenant.schema_name)
    lines.append(f"You receive this as an owner or admin; at most one e-mail every {settings.ALERT_DIGEST_MINUTES} "
                 "minutes.")
    return subject, redact("\n".join(lines))
