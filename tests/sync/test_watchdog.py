"""The run watchdog: dead runs are resumed once, live ones are left alone, lost queued runs are requested again."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations.sync import watchdog
from integrations.sync.engine import advisory_lock
from integrations.sync.models import Connection, Flow, SyncRecord, SyncRun


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=kf, target=ax)


def running(flow, *, beat_seconds_ago: float, **extra) -> SyncRun:
    at = timezone.now() - timedelta(seconds=beat_seconds_ago)
    return SyncRun.objects.create(flow=flow, status="running", created_at=at, started_at=at, heartbeat_at=at,
                                  trigger="schedule", **extra)


def leased_record(flow, run, source_id="1"):
    return SyncRecord.objects.create(flow=flow, last_run=run, entity="invoice", source_id=source_id,
                                     source_version="v1", idempotency_key=f"key-{source_id}", payload={},
                                     lease_run=run.pk, lease_until=timezone.now() + timedelta(minutes=5))


class HeldElsewhere:
    """Hold an advisory lock from another database session (another thread = another connection)."""

    def __init__(self, tenant, key: str):
        self.tenant, self.key = tenant, key
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)
        self.error: BaseException | None = None

    def _hold(self):
        from django.db import connection as thread_connection

        try:
            thread_connection.set_tenant(self.tenant)
            with advisory_lock(self.key) as acquired:
                assert acquired
                self.held.set()
                self.release.wait(10)
        except BaseException as error:  # surfaced in the test
            self.error = error
            self.held.set()
        finally:
            thread_connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(10)
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(10)


def test_a_stale_run_whose_worker_died_is_failed_released_and_resumed_once(flow, settings):
    settings.SYNC_HEARTBEAT_STALE_SECONDS = 120
    dead = running(flow, beat_seconds_ago=300)
    record = leased_record(flow, dead)

    report = watchdog.check_runs()
    assert report["resumed"] == [dead.pk]
    dead.refresh_from_db()
    resumed = SyncRun.objects.get(resumed_from=dead)
    assert dead.status == "failed" and dead.finished_at is not None
    assert dead.message == f"Interrupted: the worker stopped; resumed as run #{resumed.pk}."
    assert resumed.trigger == "resume" and resumed.status == "queued" and resumed.task_id
    record.refresh_from_db()
    assert record.lease_run is None and record.lease_until is None

    # ticking again (or a second watchdog) does not resume it again
    assert watchdog.check_runs()["resumed"] == []
    assert SyncRun.objects.filter(resumed_from=dead).count() == 1


def test_a_fresh_heartbeat_is_left_alone(flow):
    run = running(flow, beat_seconds_ago=5)
    assert watchdog.check_runs() == {"resumed": [], "live": [], "waiting": []}
    run.refresh_from_db()
    assert run.status == "running"


def test_a_stale_heartbeat_with_the_flow_lock_held_is_a_live_worker(flow, tenant):
    run = running(flow, beat_seconds_ago=600)
    record = leased_record(flow, run)
    with HeldElsewhere(tenant, f"flow:{flow.key}"):
        report = watchdog.check_runs()
    assert report["live"] == [run.pk] and report["resumed"] == []
    run.refresh_from_db()
    record.refresh_from_db()
    assert run.status == "running" and record.lease_run == run.pk
    assert not SyncRun.objects.filter(resumed_from=run).exists()
    # the worker is gone now: the next check resumes it
    assert watchdog.check_runs()["resumed"] == [run.pk]


def test_the_compare_and_set_resumes_a_run_once_even_when_two_watchdogs_saw_it(flow):
    dead = running(flow, beat_seconds_ago=300)
    seen_by_the_slower_one = SyncRun.objects.select_related("flow").get(pk=dead.pk)  # read as "running"
    assert watchdog.check_runs()["resumed"] == [dead.pk]
    assert watchdog.settle_dead_run(seen_by_the_slower_one, now=timezone.now()) == "settled"
    assert SyncRun.objects.filter(resumed_from=dead).count() == 1


def test_a_run_already_queued_carries_on_instead_of_a_new_one(flow):
    dead = running(flow, beat_seconds_ago=300)
    waiting = SyncRun.objects.create(flow=flow, status="queued", trigger="schedule", task_id="t-1")
    watchdog.check_runs()
    dead.refresh_from_db()
    assert dead.status == "failed" and f"run #{waiting.pk} (already queued) carries on" in dead.message
    assert not SyncRun.objects.filter(resumed_from=dead).exists()


def test_a_switched_off_flow_is_not_resumed(flow):
    flow.enabled = False
    flow.save()
    dead = running(flow, beat_seconds_ago=300)
    watchdog.check_runs()
    dead.refresh_from_db()
    assert dead.status == "failed" and "switched off" in dead.message
    assert not SyncRun.objects.filter(resumed_from=dead).exists()


def test_a_run_without_a_heartbeat_is_judged_by_its_start(flow):
    old = timezone.now() - timedelta(minutes=30)
    run = SyncRun.objects.create(flow=flow, status="running", created_at=old, started_at=old)
    assert watchdog.check_runs()["resumed"] == [run.pk]


def test_when_the_resume_cannot_be_queued_the_run_is_still_not_left_running(flow, monkeypatch):
    def queue_down(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("integrations.sync.services.flow_run_request", queue_down)
    dead = running(flow, beat_seconds_ago=300)
    watchdog.check_runs()
    dead.refresh_from_db()
    assert dead.status == "failed" and "could not be queued" in dead.message
    assert flow.notifications.filter(kind="run_interrupted").count() == 1


# ---------------------------------------------------------------------------------------------- queued


def queued(flow, *, minutes_ago: float, task_id: str = "") -> SyncRun:
    return SyncRun.objects.create(flow=flow, status="queued", trigger="schedule", task_id=task_id,
                                  created_at=timezone.now() - timedelta(minutes=minutes_ago))


def test_a_queued_run_whose_task_left_the_queue_is_requested_again(flow, settings):
    settings.SYNC_QUEUED_STALE_SECONDS = 600
    lost = queued(flow, minutes_ago=30, task_id="0123456789abcdef0123456789abcdef")
    report = watchdog.check_runs()
    assert report["resumed"] == [lost.pk]
    lost.refresh_from_db()
    again = SyncRun.objects.get(resumed_from=lost)
    assert lost.status == "failed" and lost.message.startswith("Lost before it started")
    assert f"resumed as run #{again.pk}" in lost.message
    assert again.status == "queued" and again.trigger == "resume"
    assert watchdog.check_runs()["resumed"] == []  # the new one is young; the old one is settled


def test_a_queued_run_that_never_got_a_task_is_requested_again(flow):
    lost = queued(flow, minutes_ago=30)
    assert watchdog.check_runs()["resumed"] == [lost.pk]


def test_an_old_queued_run_still_in_the_queue_waits(flow):
    from integrations.sync.services import flow_run_request

    run = flow_run_request(flow=flow, trigger="schedule")  # really queued with django-q (ORM broker)
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert watchdog.tasks_in_queue({run.task_id}) == {run.task_id}
    report = watchdog.check_runs()
    assert report["waiting"] == [run.pk] and report["resumed"] == []
    run.refresh_from_db()
    assert run.status == "queued"


def test_a_young_queued_run_is_not_looked_at(flow):
    run = queued(flow, minutes_ago=1)
    assert watchdog.check_runs()["resumed"] == []
    run.refresh_from_db()
    assert run.status == "queued"


def test_a_queued_run_whose_task_finished_without_running_it_is_lost(flow):
    from django_q.models import Task

    run = queued(flow, minutes_ago=30, task_id="fedcba9876543210fedcba9876543210")
    now = timezone.now()
    Task.objects.create(id=run.task_id, name="alpha:run", func="portal.tasks.run_in_tenant", started=now,
                        stopped=now, success=False)
    assert watchdog.check_runs()["resumed"] == [run.pk]


def test_with_a_broker_that_cannot_be_looked_into_old_runs_wait_for_the_retry_time(flow, monkeypatch, settings):
    monkeypatch.setattr(watchdog, "tasks_in_queue", lambda ids: None)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "retry": 3600}
    young = queued(flow, minutes_ago=30, task_id="aaaa")
    report = watchdog.check_runs()
    assert report["waiting"] == [young.pk]
    SyncRun.objects.filter(pk=young.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert watchdog.check_runs()["resumed"] == [young.pk]


def test_the_watchdog_only_sees_its_own_tenant(flow, use_tenant):
    dead = running(flow, beat_seconds_ago=300)
    use_tenant("beta")
    assert connection.schema_name == "beta"
    assert watchdog.check_runs()["resumed"] == []
    use_tenant("alpha")
    dead.refresh_from_db()
    assert dead.status == "running"
