"""Sync services: request a run, execute it (task body), test a connection."""

from __future__ import annotations

import logging

from django.db import connection as db_connection
from django.utils import timezone

from integrations.core.errors import AUTH, CONFIGURATION, ConnectorError
from integrations.sync.connectors import client_for
from integrations.sync.engine import FlowAborted, RunRecorder, advisory_lock
from integrations.sync.flows import FLOWS
from integrations.sync.models import Connection, Flow, SyncRecord, SyncRun
from portal.tasks import enqueue_for_tenant

log = logging.getLogger("ledgerbridge.sync")


class FlowBusy(Exception):
    pass


def flow_run_request(*, flow: Flow, trigger: str = SyncRun.Trigger.MANUAL, inline: bool = False,
                     requested_by=None, resumed_from: SyncRun | None = None) -> SyncRun:
    """Create a queued run and hand it to the worker (or run it right here when ``inline``)."""
    user = requested_by if getattr(requested_by, "is_authenticated", False) else None
    run = SyncRun.objects.create(flow=flow, trigger=trigger, status=SyncRun.Status.QUEUED, requested_by=user,
                                 resumed_from=resumed_from)
    task_id = enqueue_for_tenant(db_connection.schema_name, "integrations.sync.services.execute_run", run.pk,
                                 task_name=f"{db_connection.schema_name}:{flow.key}:run{run.pk}", sync=inline)
    SyncRun.objects.filter(pk=run.pk).update(task_id=task_id or "")
    run.refresh_from_db()
    return run


def execute_run(run_id: int) -> dict:
    """Task body (already inside the tenant's schema): run one flow once."""
    run = SyncRun.objects.select_related("flow__source", "flow__target").filter(pk=run_id).first()
    if run is None:  # e.g. a task that outlived its run (the flow or tenant data was deleted)
        log.warning("run %s no longer exists; nothing to do", run_id)
        return {"status": "missing"}
    if run.status != SyncRun.Status.QUEUED:
        # Delivered late or twice (the watchdog may already have failed and re-requested it): a run's status
        # only ever moves forward.
        log.info("run %s is %s, not queued; not started again", run.pk, run.status)
        return {"status": run.status}
    flow = run.flow
    definition = FLOWS.get(flow.key)
    recorder = RunRecorder(run)
    if definition is None:
        recorder.finish(error=f"Unknown flow {flow.key!r}")
        return {"status": run.status}
    if not flow.enabled:
        recorder.finish(error="The flow is switched off.")
        return {"status": run.status}
    # One run per flow at a time, across all workers.
    with advisory_lock(f"flow:{flow.key}") as acquired:
        if not acquired:
            # Compare-and-set: if this very run is what the other worker is running, leave it alone.
            SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
                status=SyncRun.Status.FAILED, finished_at=timezone.now(),
                message="Another run of this flow is in progress; this one was not started.")
            run.refresh_from_db()
            return {"status": run.status}
        if not SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).exists():
            run.refresh_from_db()
            return {"status": run.status}
        _close_interrupted_runs(flow, current=run)
        recorder.start()
        try:
            definition.run(flow, recorder)
        except ConnectorError as error:
            _note_connection_failure(flow, error)
            recorder.finish(error=str(error))
        except FlowAborted as error:
            recorder.finish(error=str(error))
        except Exception as error:  # a run must never be left "running"
            log.exception("run %s of %s crashed", run.pk, flow.key)
            recorder.finish(error=f"Internal error ({error.__class__.__name__}); the team has been notified.")
            raise
        else:
            recorder.finish()
            _note_connections_working(flow)
    _alert(run)
    return {"status": run.status, "posted": run.records_posted, "failed": run.records_failed,
            "seen": run.records_seen}


def _alert(run: SyncRun) -> None:
    from integrations.sync import alerts

    try:
        alerts.on_run_finished(run)
    except Exception:  # an alert must never turn a finished run into a crashed task
        log.exception("alerting on run %s failed", run.pk)


def _close_interrupted_runs(flow: Flow, *, current: SyncRun) -> None:
    """Holding the flow lock proves no other run of this flow is alive: any 'running' one was cut off, and
    any record lease of the flow is left over from such a run."""
    SyncRun.objects.filter(flow=flow, status=SyncRun.Status.RUNNING).exclude(pk=current.pk).update(
        status=SyncRun.Status.FAILED, finished_at=timezone.now(),
        message=f"Interrupted (the worker stopped); run #{current.pk} resumed where it left off.",
    )
    SyncRecord.objects.filter(flow=flow, lease_run__isnull=False).exclude(lease_run=current.pk).update(
        lease_run=None, lease_until=None)


# ConnectorError.system (the name clients put in their messages) -> the connection's system.
_SYSTEM_OF_ERROR = {"Kashflow": "kashflow", "Dynamics AX": "dynamics_ax", "Sage 100": "sage100"}


def _note_connection_failure(flow: Flow, error: ConnectorError) -> None:
    if error.kind not in {AUTH, CONFIGURATION}:
        return
    for conn in (flow.source, flow.target):
        if error.system and _SYSTEM_OF_ERROR.get(error.system) != conn.system:
            continue
        conn.status = Connection.Status.AUTH_FAILED if error.kind == AUTH else Connection.Status.FAILING
        conn.status_message = str(error)[:500]
        conn.last_checked_at = timezone.now()
        conn.save(update_fields=["status", "status_message", "last_checked_at"])


def _note_connections_working(flow: Flow) -> None:
    """A run that read and wrote proves both connections work."""
    Connection.objects.filter(pk__in=[flow.source_id, flow.target_id]).exclude(status=Connection.Status.OK).update(
        status=Connection.Status.OK, status_message="", last_checked_at=timezone.now())


def connection_test(*, connection: Connection) -> tuple[bool, str]:
    """Try the credentials and endpoint; store and return a readable outcome."""
    try:
        client = client_for(connection)
        detail = client.check()
    except ConnectorError as error:
        ok, message = False, str(error)
        connection.status = Connection.Status.AUTH_FAILED if error.kind == AUTH else Connection.Status.FAILING
    else:
        ok, message = True, f"Connected{f' to {detail}' if isinstance(detail, str) and detail else ''}."
        connection.status = Connection.Status.OK
    connection.status_message = message[:500]
    connection.last_checked_at = timezone.now()
    connection.save(update_fields=["status", "status_message", "last_checked_at"])
    return ok, message
