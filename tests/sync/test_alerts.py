"""Alerts: one notification per episode, hooks that open and close episodes, one digest e-mail per window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.sync import alerts
from integrations.sync.models import Connection, Flow, Notification, SyncRecord, SyncRun


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=kf, target=ax)


def finished(flow, status, message=""):
    now = timezone.now()
    return SyncRun.objects.create(flow=flow, status=status, message=message, started_at=now, finished_at=now)


def test_notify_dedups_while_the_episode_is_open(tenant):
    first = alerts.notify("x", "Something broke", level="error", dedup_key="thing:1")
    assert first is not None
    assert alerts.notify("x", "Something broke again", level="error", dedup_key="thing:1") is None
    assert Notification.objects.count() == 1
    # other keys, and notifications without a key, are independent
    assert alerts.notify("x", "Other", level="warning", dedup_key="thing:2") is not None
    assert alerts.notify("x", "No key", level="info") is not None
    assert alerts.notify("x", "No key", level="info") is not None
    assert Notification.objects.count() == 4


def test_resolve_ends_the_episode_and_a_new_problem_opens_a_new_one(tenant):
    first = alerts.notify("x", "Broke", level="error", dedup_key="thing:1")
    assert alerts.resolve("thing:1") == 1
    first.refresh_from_db()
    assert first.resolved_at is not None
    assert alerts.resolve("thing:1") == 0
    second = alerts.notify("x", "Broke again", level="error", dedup_key="thing:1")
    assert second is not None and second.pk != first.pk
    assert Notification.objects.filter(dedup_key="thing:1", resolved_at__isnull=True).count() == 1


def test_secrets_are_scrubbed_from_notifications(tenant):
    n = alerts.notify("x", "Login failed for password=hunter2", "Authorization: Basic dXNlcjpodW50ZXIy",
                      level="error")
    assert "hunter2" not in n.title and "dXNlcjpodW50ZXIy" not in n.body


def test_a_failing_flow_alerts_once_until_a_run_succeeds(flow):
    alerts.on_run_finished(finished(flow, "failed", "Kashflow refused the credentials"))
    alerts.on_run_finished(finished(flow, "partial", "3 record(s) need attention"))
    alerts.on_run_finished(finished(flow, "failed", "again"))
    [alert] = Notification.objects.filter(dedup_key=f"flow:{flow.pk}:failing")
    assert alert.level == "error" and alert.flow == flow and "credentials" in alert.body
    assert alert.resolved_at is None

    alerts.on_run_finished(finished(flow, "succeeded"))
    alert.refresh_from_db()
    assert alert.resolved_at is not None

    alerts.on_run_finished(finished(flow, "partial", "1 record(s) need attention"))
    reopened = Notification.objects.filter(dedup_key=f"flow:{flow.pk}:failing", resolved_at__isnull=True).get()
    assert reopened.pk != alert.pk and reopened.level == "warning"


def test_a_run_that_never_started_says_nothing_about_the_flow(flow):
    run = SyncRun.objects.create(flow=flow, status="failed", finished_at=timezone.now(),
                                 message="Another run of this flow is in progress; this one was not started.")
    alerts.on_run_finished(run)
    assert not Notification.objects.exists()


def _failed_records(flow, run, n, start=0, **extra):
    for i in range(start, start + n):
        SyncRecord.objects.create(flow=flow, last_run=run, entity="invoice", source_id=str(i), source_version="v1",
                                  idempotency_key=f"k{flow.pk}-{i}", payload={}, status="failed", **extra)


def test_failed_records_past_the_threshold_raise_one_alert_and_clear_it(flow, settings):
    settings.ALERT_ERROR_THRESHOLD = 5
    run = finished(flow, "partial")
    _failed_records(flow, run, 4)
    _failed_records(flow, run, 3, start=100, resolution="ignored")  # dealt with: not counted
    alerts.on_run_finished(run)
    assert not Notification.objects.filter(kind="flow_errors").exists()
    _failed_records(flow, run, 1, start=4)
    alerts.on_run_finished(run)
    alerts.on_run_finished(run)
    [alert] = Notification.objects.filter(kind="flow_errors")
    assert alert.dedup_key == f"flow:{flow.pk}:errors" and "5 failed records" in alert.title

    SyncRecord.objects.filter(flow=flow, resolution="").update(resolution="replayed")
    alerts.on_run_finished(finished(flow, "succeeded"))
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_a_flow_can_set_its_own_threshold(flow, settings):
    settings.ALERT_ERROR_THRESHOLD = 100
    flow.options = {"alert_error_threshold": 2}
    flow.save()
    run = finished(flow, "partial")
    _failed_records(flow, run, 2)
    alerts.on_run_finished(run)
    assert Notification.objects.filter(kind="flow_errors").count() == 1
    flow.options = {"alert_error_threshold": "nonsense"}
    assert alerts.error_threshold(flow) == 100


def test_connection_paused_and_resumed(flow):
    alerts.on_connection_paused(flow.target, "AX timed out 5 times in a row")
    alerts.on_connection_paused(flow.target, "still timing out")
    [alert] = Notification.objects.filter(kind="connection_paused")
    assert alert.connection == flow.target and "5 times" in alert.body
    alerts.on_connection_resumed(flow.target)
    alert.refresh_from_db()
    assert alert.resolved_at is not None


# ---------------------------------------------------------------------------------------------- digest


def test_one_digest_for_many_notifications_then_none_within_the_window(tenant, make_user, mailoutbox, settings):
    settings.ALERT_DIGEST_MINUTES = 15
    make_user("admin", email="admin@alpha.test")
    make_user("viewer", email="viewer@alpha.test")
    make_user("operator", email="operator@alpha.test")
    for i in range(12):
        alerts.notify("x", f"Problem {i}", "token=abc123secret", level="warning")
    now = timezone.now()
    assert alerts.send_digests(now=now) == 12
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert sorted(mail.to) == ["admin@alpha.test", "owner@alpha.test"]
    assert "12 new alerts" in mail.subject and "Problem 0" in mail.body and "Problem 11" in mail.body
    assert "abc123secret" not in mail.body
    assert "http://alpha.localhost" in mail.body and "/notifications/" in mail.body
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()

    assert alerts.send_digests(now=now + timedelta(minutes=1)) == 0  # nothing new

    alerts.notify("x", "Later problem", level="error")
    assert alerts.send_digests(now=now + timedelta(minutes=5)) == 0  # inside the window
    assert alerts.send_digests(now=now + timedelta(minutes=14)) == 0
    assert len(mailoutbox) == 1
    assert alerts.send_digests(now=now + timedelta(minutes=16)) == 1
    assert len(mailoutbox) == 2 and "Later problem" in mailoutbox[1].body and "Problem 0" not in mailoutbox[1].body


def test_no_digest_when_there_is_nothing_new(tenant, mailoutbox):
    assert alerts.send_digests() == 0 and mailoutbox == []


def test_a_failed_send_is_retried_next_time(tenant, mailoutbox, monkeypatch):
    alerts.notify("x", "Problem", level="warning")

    def broken(*args, **kwargs):
        raise OSError("smtp down")

    monkeypatch.setattr(alerts, "send_mail", broken)
    assert alerts.send_digests() == 0
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 1
    monkeypatch.undo()
    assert alerts.send_digests() == 1 and len(mailoutbox) == 1


def test_a_long_digest_lists_the_first_ones_and_counts_the_rest(tenant, mailoutbox):
    for i in range(alerts.DIGEST_MAX_ITEMS + 7):
        alerts.notify("x", f"Problem {i}", level="info")
    assert alerts.send_digests() == alerts.DIGEST_MAX_ITEMS + 7
    assert "… and 7 more." in mailoutbox[0].body
