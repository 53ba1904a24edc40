"""The dispatcher: one tick per active tenant; a due schedule fires exactly once, even with ticks racing."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations.sync import dispatcher, scheduling
from integrations.sync.models import Connection, Flow, FlowSchedule, Notification, SyncRun


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=kf, target=ax)


def due_schedule(flow, *, minutes_ago: float = 0.5, **extra) -> FlowSchedule:
    return FlowSchedule.objects.create(flow=flow, kind="interval", interval_minutes=15,
                                       next_run_at=timezone.now() - timedelta(minutes=minutes_ago), **extra)


# ---------------------------------------------------------------------------------------------- firing


def test_a_due_schedule_fires_once_and_moves_to_its_next_time(flow):
    schedule = due_schedule(flow)
    now = timezone.now()
    result = dispatcher.fire_due_schedules(now=now)
    assert result["fired"] == [flow.pk]
    run = SyncRun.objects.get(flow=flow)
    assert run.trigger == "schedule" and run.status == "queued" and run.task_id
    schedule.refresh_from_db()
    assert schedule.last_fired_at == now
    assert schedule.next_run_at == scheduling.next_fire_for(schedule, after=now) and schedule.next_run_at > now
    assert dispatcher.fire_due_schedules(now=now)["fired"] == []  # not due any more
    assert SyncRun.objects.filter(flow=flow).count() == 1


def test_missed_fires_are_not_replayed(flow):
    schedule = due_schedule(flow, minutes_ago=5 * 60)  # the cluster was down for five hours
    now = timezone.now()
    assert dispatcher.fire_due_schedules(now=now)["fired"] == [flow.pk]
    schedule.refresh_from_db()
    assert now < schedule.next_run_at <= now + timedelta(minutes=16)
    assert SyncRun.objects.filter(flow=flow).count() == 1


def test_a_switched_off_flow_moves_on_without_firing(flow):
    flow.enabled = False
    flow.save()
    schedule = due_schedule(flow)
    old = schedule.next_run_at
    result = dispatcher.fire_due_schedules()
    assert result["skipped"] == [flow.pk] and result["fired"] == []
    schedule.refresh_from_db()
    assert schedule.next_run_at > old and schedule.last_fired_at is None
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("status", ["queued", "running"])
def test_a_flow_with_a_live_run_moves_on_without_firing(flow, status):
    SyncRun.objects.create(flow=flow, status=status, trigger="manual", task_id="t")
    schedule = due_schedule(flow)
    assert dispatcher.fire_due_schedules()["skipped"] == [flow.pk]
    schedule.refresh_from_db()
    assert schedule.next_run_at > timezone.now()
    assert SyncRun.objects.filter(flow=flow).count() == 1


def test_a_disabled_schedule_or_one_not_due_does_nothing(flow):
    FlowSchedule.objects.create(flow=flow, kind="interval", interval_minutes=5, enabled=False,
                                next_run_at=timezone.now() - timedelta(minutes=1))
    assert dispatcher.fire_due_schedules() == {"fired": [], "skipped": [], "claimed_elsewhere": []}
    FlowSchedule.objects.filter(flow=flow).update(enabled=True, next_run_at=timezone.now() + timedelta(minutes=1))
    assert dispatcher.fire_due_schedules()["fired"] == []


def test_a_schedule_without_a_next_time_is_planned_not_fired(flow):
    schedule = FlowSchedule.objects.create(flow=flow, kind="cron", cron="*/5 * * * *", next_run_at=None)
    assert dispatcher.fire_due_schedules()["fired"] == []
    schedule.refresh_from_db()
    assert schedule.next_run_at > timezone.now()


def test_an_invalid_stored_schedule_raises_one_alert_and_does_not_stop_the_tick(flow):
    FlowSchedule.objects.create(flow=flow, kind="cron", cron="not a cron at all",
                                next_run_at=timezone.now() - timedelta(minutes=1))
    dispatcher.fire_due_schedules()
    dispatcher.fire_due_schedules()
    assert Notification.objects.filter(kind="schedule_invalid", flow=flow).count() == 1
    assert not SyncRun.objects.exists()


def test_the_claim_is_a_compare_and_set(flow):
    schedule = due_schedule(flow)
    old, new = schedule.next_run_at, schedule.next_run_at + timedelta(minutes=15)
    now = timezone.now()
    assert dispatcher.claim(schedule.pk, old_next_run_at=old, new_next_run_at=new, fired_at=now) is True
    assert dispatcher.claim(schedule.pk, old_next_run_at=old, new_next_run_at=new, fired_at=now) is False
    schedule.refresh_from_db()
    assert schedule.next_run_at == new and schedule.last_fired_at == now


def test_a_tick_that_read_the_schedule_late_does_not_fire_it_again(flow, monkeypatch):
    """Two ticks read the same due row; the second one's claim matches nothing, so only one run is requested."""
    schedule = due_schedule(flow)
    stale_copy = FlowSchedule.objects.get(pk=schedule.pk)
    real_claim = dispatcher.claim
    raced = {}

    def other_tick_wins_first(schedule_id, **kwargs):
        if not raced:
            raced["other"] = real_claim(schedule_id, old_next_run_at=stale_copy.next_run_at,
                                        new_next_run_at=stale_copy.next_run_at + timedelta(minutes=15))
        return real_claim(schedule_id, **kwargs)

    monkeypatch.setattr(dispatcher, "claim", other_tick_wins_first)
    result = dispatcher.fire_due_schedules()
    assert raced["other"] is True
    assert result == {"fired": [], "skipped": [], "claimed_elsewhere": [schedule.pk]}
    assert not SyncRun.objects.exists()


# ------------------------------------------------------------------- racing ticks on two real connections


def in_thread(tenant, fn):
    """Run ``fn`` on its own database connection (a new thread), committed, inside ``tenant``'s schema."""
    out = {}

    def target():
        from django.db import connection as thread_connection

        try:
            thread_connection.set_tenant(tenant)
            out["value"] = fn()
        except BaseException as error:
            out["error"] = error
        finally:
            thread_connection.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def run_in_thread(tenant, fn):
    thread, out = in_thread(tenant, fn)
    thread.join(20)
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture
def committed_flow(tenant):
    """A flow with a due schedule, committed (visible to other connections), removed afterwards."""
    tag = uuid.uuid4().hex[:8]

    def create():
        kf = Connection.objects.create(name=f"kf-{tag}", system="kashflow", base_url="http://127.0.0.1:9/v2")
        ax = Connection.objects.create(name=f"ax-{tag}", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
        flow = Flow.objects.create(key=f"race-{tag}", name=f"Race {tag}", source=kf, target=ax)
        FlowSchedule.objects.create(flow=flow, kind="interval", interval_minutes=15,
                                    next_run_at=timezone.now() - timedelta(seconds=30))
        return flow

    def cleanup():
        flows = Flow.objects.filter(key=f"race-{tag}")
        SyncRun.objects.filter(flow__in=flows).delete()
        Notification.objects.filter(flow__in=flows).delete()
        FlowSchedule.objects.filter(flow__in=flows).delete()
        flows.delete()
        Connection.objects.filter(name__in=[f"kf-{tag}", f"ax-{tag}"]).delete()

    flow = run_in_thread(tenant, create)
    try:
        yield flow
    finally:
        run_in_thread(tenant, cleanup)


def test_two_ticks_on_two_connections_fire_a_due_schedule_exactly_once(tenant, committed_flow, monkeypatch):
    requested = []
    monkeypatch.setattr("integrations.sync.services.flow_run_request",
                        lambda **kwargs: requested.append(kwargs["flow"].pk))
    both_read_it = threading.Barrier(2, timeout=10)
    real_claim = dispatcher.claim
    schedule_pk = FlowSchedule.objects.get(flow=committed_flow).pk

    def claim_together(schedule_id, **kwargs):
        if schedule_id == schedule_pk:
            both_read_it.wait()  # both ticks have read the same old next_run_at: now they race
        return real_claim(schedule_id, **kwargs)

    monkeypatch.setattr(dispatcher, "claim", claim_together)
    ticks = [in_thread(tenant, dispatcher.tenant_tick) for _ in range(2)]
    for thread, _ in ticks:
        thread.join(20)
    results = [out for _, out in ticks]
    assert all("error" not in out for out in results), results
    assert requested == [committed_flow.pk]
    outcomes = sorted((r["value"]["schedules"]["fired"], r["value"]["schedules"]["claimed_elsewhere"])
                      for r in results)
    assert outcomes == [([], [schedule_pk]), ([committed_flow.pk], [])]


# ---------------------------------------------------------------------------------------------- the tick


def test_tenant_tick_runs_every_step_even_when_one_fails(flow, monkeypatch):
    due_schedule(flow)
    monkeypatch.setattr("integrations.sync.watchdog.check_runs", lambda now=None: 1 / 0)
    summary = dispatcher.tenant_tick()
    assert summary["watchdog"] == "error: ZeroDivisionError"
    assert summary["schedules"]["fired"] == [flow.pk]
    assert summary["webhooks"] == 0 and summary["digest"] == 0


def test_tenant_tick_refuses_the_public_schema(public_schema):
    with pytest.raises(RuntimeError):
        dispatcher.tenant_tick()


def test_the_tick_task_runs_inside_the_tenant_it_names(flow):
    from portal.tasks import run_in_tenant

    due_schedule(flow)
    connection.set_schema_to_public()
    summary = run_in_tenant("alpha", dispatcher.TICK)
    assert summary["schedules"]["fired"] == [flow.pk]
    assert connection.schema_name == "public"


# ---------------------------------------------------------------------------------------------- dispatch


def _queued_ticks() -> list[str]:
    from django_q.models import OrmQ

    return sorted(row.name() for row in OrmQ.objects.all() if (row.name() or "").endswith(":tick"))


def _active_schemas() -> list[str]:
    from portal.tenants.models import Tenant

    return sorted(Tenant.objects.filter(is_active=True).exclude(schema_name="public")
                  .values_list("schema_name", flat=True))


def test_dispatch_queues_one_tick_per_active_tenant(public_schema, other_tenant):
    result = dispatcher.dispatch()
    assert {"alpha", "beta"} <= set(_active_schemas())
    assert result["queued"] == len(_active_schemas()) and result["failed"] == []
    assert _queued_ticks() == [f"{s}:tick" for s in _active_schemas()]


def test_dispatch_skips_suspended_tenants(public_schema, other_tenant):
    other_tenant.is_active = False
    other_tenant.save()
    dispatcher.dispatch()
    assert "beta:tick" not in _queued_ticks() and "alpha:tick" in _queued_ticks()


def test_dispatch_does_not_pile_up_ticks_when_the_workers_are_behind(public_schema):
    dispatcher.dispatch()
    second = dispatcher.dispatch()
    assert second["queued"] == 0 and sorted(second["skipped"]) == _active_schemas()
    assert _queued_ticks() == [f"{s}:tick" for s in _active_schemas()]


def test_a_tick_being_worked_on_does_not_block_the_next(public_schema):
    from django_q.models import OrmQ

    dispatcher.dispatch()
    OrmQ.objects.update(lock=timezone.now() + timedelta(minutes=5))  # picked up by a worker
    assert dispatcher.dispatch()["queued"] == len(_active_schemas())


def test_dispatch_keeps_going_when_one_tenant_cannot_be_queued(public_schema, monkeypatch):
    calls = []

    def flaky(schema, func, **kwargs):
        calls.append(schema)
        if schema == "alpha":
            raise ConnectionError("broker hiccup")
        return "task-id"

    monkeypatch.setattr(dispatcher, "enqueue_for_tenant", flaky)
    result = dispatcher.dispatch()
    assert calls == _active_schemas() and result["failed"] == ["alpha"] and result["queued"] == len(calls) - 1


def test_system_schedules_are_created_once_and_put_back(public_schema):
    from django_q.models import Schedule

    from portal.schedules import ensure_system_schedules

    ensure_system_schedules()
    ensure_system_schedules()
    [row] = Schedule.objects.filter(name="ledgerbridge:dispatch")
    assert row.func == "integrations.sync.dispatcher.dispatch"
    assert row.schedule_type == Schedule.MINUTES and row.minutes == 1 and row.repeats == -1
    Schedule.objects.filter(pk=row.pk).update(minutes=30)
    Schedule.objects.create(name="ledgerbridge:dispatch", func="x.y", schedule_type=Schedule.MINUTES, minutes=5)
    ensure_system_schedules()
    [row] = Schedule.objects.filter(name="ledgerbridge:dispatch")
    assert row.minutes == 1 and row.func == "integrations.sync.dispatcher.dispatch"


def test_system_schedules_land_in_the_public_schema_even_from_a_tenant(tenant):
    from django_q.models import Schedule

    from portal.schedules import ensure_system_schedules

    ensure_system_schedules()
    assert connection.schema_name == "alpha"
    connection.set_schema_to_public()
    assert Schedule.objects.filter(name="ledgerbridge:dispatch").count() == 1


def test_the_tick_prunes_resolved_errors_once_an_hour(flow, monkeypatch):
    from datetime import datetime

    pruned = []
    monkeypatch.setattr("integrations.sync.inbox.prune", lambda f: pruned.append(f.key) or 0)
    assert dispatcher.tenant_tick(now=datetime(2026, 1, 5, 10, 7, tzinfo=UTC))["retention"] is None
    assert pruned == []
    summary = dispatcher.tenant_tick(now=datetime(2026, 1, 5, 11, 0, tzinfo=UTC))
    assert summary["retention"] == {flow.key: 0} and pruned == [flow.key]
