"""Schedules: interval and cron fire times (UTC), deterministic jitter, validation and the audited save."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.sync import scheduling
from integrations.sync.models import Connection, Flow, FlowSchedule
from integrations.sync.scheduling import ScheduleError, ScheduleSpec, next_fire
from portal.accounts.models import AuditEntry

T0 = datetime(2025, 3, 14, 10, 7, 30, tzinfo=UTC)


def interval(n: int) -> ScheduleSpec:
    return ScheduleSpec("interval", n, "")


def cron(expr: str) -> ScheduleSpec:
    return ScheduleSpec("cron", None, expr)


def test_interval_fires_on_the_grid_strictly_after_now():
    assert next_fire(interval(15), after=T0) == datetime(2025, 3, 14, 10, 15, tzinfo=UTC)
    assert next_fire(interval(15), after=datetime(2025, 3, 14, 10, 15, tzinfo=UTC)) == \
        datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
    assert next_fire(interval(1), after=T0) == datetime(2025, 3, 14, 10, 8, tzinfo=UTC)
    assert next_fire(interval(60), after=T0) == datetime(2025, 3, 14, 11, 0, tzinfo=UTC)


def test_a_long_outage_gives_one_next_fire_in_the_future_not_a_backlog():
    much_later = T0 + timedelta(hours=5, minutes=3)
    assert next_fire(interval(15), after=much_later) == datetime(2025, 3, 14, 15, 15, tzinfo=UTC)


def test_cron_is_read_in_utc():
    assert next_fire(cron("*/15 * * * *"), after=T0) == datetime(2025, 3, 14, 10, 15, tzinfo=UTC)
    # Friday 14 March 2025, 10:07 -> next weekday 06:00 is Monday 17th
    assert next_fire(cron("0 6 * * 1-5"), after=T0) == datetime(2025, 3, 17, 6, 0, tzinfo=UTC)
    assert next_fire(cron("30 10 * * *"), after=T0) == datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
    assert next_fire(cron("0 0 1 * *"), after=T0).tzinfo is not None


def test_fire_times_from_another_timezone_are_the_same_instant():
    from zoneinfo import ZoneInfo

    local = T0.astimezone(ZoneInfo("America/New_York"))
    assert next_fire(cron("0 12 * * *"), after=local) == datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("spec, period", [(interval(1), 60), (interval(15), 900), (interval(240), 14400),
                                          (cron("*/5 * * * *"), 300), (cron("0 * * * *"), 3600)])
def test_jitter_stays_inside_the_window(spec, period):
    bound = min(60, period * 0.1)
    for fraction in (0.0, 0.37, 0.999999):
        fire = next_fire(spec, after=T0, jitter=fraction)
        plain = next_fire(spec, after=T0 - timedelta(seconds=bound + 1))
        offset = (fire - plain).total_seconds() % period
        assert 0 <= offset < max(bound, 1)
        assert fire > T0


def test_jitter_is_deterministic_per_tenant_and_flow_and_spreads_them():
    assert scheduling.jitter_fraction("alpha", 1) == scheduling.jitter_fraction("alpha", 1)
    fractions = {scheduling.jitter_fraction(f"tenant{i}", 7) for i in range(50)}
    assert len(fractions) == 50 and all(0 <= f < 1 for f in fractions)
    fires = {next_fire(interval(60), after=T0, jitter=f) for f in fractions}
    assert len(fires) > 30  # not everybody at :00
    assert all(f.minute == 0 and f.hour == 11 for f in fires)


def test_a_jittered_fire_not_yet_reached_is_still_the_next_one():
    # jitter 59 s on an hourly schedule: at 11:00:30 the 11:00:59 fire has not happened yet
    at = datetime(2025, 3, 14, 11, 0, 30, tzinfo=UTC)
    assert next_fire(interval(60), after=at, jitter=0.99) == datetime(2025, 3, 14, 11, 0, 59, tzinfo=UTC)
    assert next_fire(cron("0 * * * *"), after=at, jitter=0.99) == datetime(2025, 3, 14, 11, 0, 59, tzinfo=UTC)


@pytest.mark.parametrize("value, message", [
    (0, "at least 1 minute"), (-5, "at least 1 minute"), ("abc", "number of minutes"), (None, "number of minutes"),
    (10081, "at most"),
])
def test_invalid_intervals_are_refused_with_a_reason(value, message):
    with pytest.raises(ScheduleError) as error:
        scheduling.validate("interval", value, "")
    assert message in str(error.value) and error.value.field == "interval_minutes"


@pytest.mark.parametrize("expression, message", [
    ("", "Enter a cron expression"),
    ("* * * *", "has 5 fields"),
    ("0 * * * * *", "has 5 fields"),
    ("61 * * * *", "minute field"),
    ("0 25 * * *", "hour field"),
    ("0 0 32 * *", "day of month field"),
    ("0 0 * 13 *", "month field"),
    ("0 0 * * 8", "day of week field"),
    ("R * * * *", "minute field"),
    ("H * * * *", "minute field"),
    ("every minute x y z", "not valid"),
    ("0 0 30 2 *", "never fires"),
    ("@reboot", "has 5 fields"),
])
def test_invalid_cron_expressions_are_refused_with_a_clear_message(expression, message):
    with pytest.raises(ScheduleError) as error:
        scheduling.validate("cron", None, expression)
    assert message in str(error.value) and error.value.field == "cron"


def test_valid_cron_is_normalised():
    assert scheduling.validate_cron("  */15   *  * * * ") == "*/15 * * * *"
    assert scheduling.validate_cron("@hourly") == "0 * * * *"
    assert scheduling.validate_cron("0 6 * JAN-MAR mon-fri") == "0 6 * JAN-MAR mon-fri"
    assert scheduling.validate_cron("0 0 L * *") == "0 0 L * *"


def test_unknown_kind_is_refused():
    with pytest.raises(ScheduleError) as error:
        scheduling.validate("hourly", 5, "")
    assert error.value.field == "kind"


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=kf, target=ax)


def test_save_schedule_sets_the_next_fire_and_audits(flow, make_user):
    user = make_user("operator")
    schedule = scheduling.save_schedule(flow, "interval", 15, "", True, user, now=T0)
    jitter = scheduling.jitter_fraction("alpha", flow.pk)
    assert schedule.next_run_at == next_fire(interval(15), after=T0, jitter=jitter)
    assert datetime(2025, 3, 14, 10, 15, tzinfo=UTC) <= schedule.next_run_at < \
        datetime(2025, 3, 14, 10, 16, tzinfo=UTC)
    entry = AuditEntry.objects.get(action="flow.schedule_changed")
    assert entry.actor == user and entry.target_id == str(flow.pk)
    assert entry.changes["interval_minutes"] == [None, 15] and entry.changes["enabled"] == [None, True]

    schedule = scheduling.save_schedule(flow, "cron", "", "0 6 * * 1-5", True, user, now=T0)
    assert schedule.kind == "cron" and schedule.interval_minutes == 15  # kept for switching back
    assert schedule.next_run_at.date().isoformat() == "2025-03-17"
    assert FlowSchedule.objects.filter(flow=flow).count() == 1
    latest = AuditEntry.objects.filter(action="flow.schedule_changed").order_by("-at", "-pk").first()
    assert latest.changes == {"kind": ["interval", "cron"], "cron": ["", "0 6 * * 1-5"]}


def test_saving_the_same_schedule_again_is_not_audited_twice(flow, make_user):
    user = make_user("operator")
    scheduling.save_schedule(flow, "interval", 30, "", True, user, now=T0)
    scheduling.save_schedule(flow, "interval", 30, "", True, user, now=T0)
    assert AuditEntry.objects.filter(action="flow.schedule_changed").count() == 1


def test_a_disabled_schedule_has_no_next_fire(flow, make_user):
    schedule = scheduling.save_schedule(flow, "interval", 5, "", False, make_user("admin"), now=T0)
    assert schedule.next_run_at is None and scheduling.describe(schedule) == "Not scheduled"


def test_an_invalid_save_changes_nothing(flow, make_user):
    with pytest.raises(ScheduleError):
        scheduling.save_schedule(flow, "cron", None, "99 * * * *", True, make_user("admin"))
    assert not FlowSchedule.objects.exists() and not AuditEntry.objects.filter(
        action="flow.schedule_changed").exists()
