"""Flow schedules: validate them and compute when they fire next (UTC).

Two kinds: every N minutes (on a grid anchored at the Unix epoch, so "every 15 minutes" fires at :00, :15, …)
and a 5-field cron expression read in UTC. Each fire is moved later by a small jitter that is deterministic per
(tenant, flow) — at most ``min(MAX_JITTER_SECONDS, 10 % of the period)`` — so a thousand tenants scheduled
"every hour" do not all hit their systems in the same second, yet a flow's own fire times stay predictable.
Missed fires are never replayed: the next fire is always the first one strictly after "now".
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadDateError, croniter
from django.db import connection
from django.utils import timezone

from integrations.sync import alerts
from integrations.sync.models import Flow, FlowSchedule
from portal.accounts.audit import audit, diff

MIN_INTERVAL_MINUTES = 1
MAX_INTERVAL_MINUTES = 7 * 24 * 60  # a week; rarer runs read better as a cron expression
MAX_JITTER_SECONDS = 60
JITTER_SHARE = 0.10  # of the period between two fires

# The usual nicknames, written out; @reboot has no meaning for us.
CRON_ALIASES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
CRON_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_CRON_NAMES = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
               "sun", "mon", "tue", "wed", "thu", "fri", "sat", "l"}
_CRON_FIELD_CHARS = re.compile(r"^[0-9A-Za-z*,/#\-]+$")


class ScheduleError(ValueError):
    """An invalid schedule; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ScheduleSpec:
    kind: str
    interval_minutes: int | None  # None: not given for a cron schedule (the stored value is kept)
    cron: str

    @classmethod
    def of(cls, schedule: FlowSchedule) -> ScheduleSpec:
        return cls(schedule.kind, schedule.interval_minutes, schedule.cron)


# ---------------------------------------------------------------------------------------------- validation


def validate_interval(minutes: object) -> int:
    try:
        value = int(minutes)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ScheduleError("Enter the number of minutes between runs.", field="interval_minutes") from None
    if value < MIN_INTERVAL_MINUTES:
        raise ScheduleError(f"The interval must be at least {MIN_INTERVAL_MINUTES} minute.",
                            field="interval_minutes")
    if value > MAX_INTERVAL_MINUTES:
        raise ScheduleError(f"The interval can be at most {MAX_INTERVAL_MINUTES} minutes (a week); use a cron "
                            "expression for rarer runs.", field="interval_minutes")
    return value


def validate_cron(expression: object) -> str:
    """The expression normalised (single spaces, nicknames written out), or ScheduleError saying what is wrong."""
    text = " ".join(str(expression or "").split())
    if not text:
        raise ScheduleError("Enter a cron expression, e.g. */15 * * * * or 0 6 * * 1-5.", field="cron")
    text = CRON_ALIASES.get(text.lower(), text)
    fields = text.split(" ")
    if len(fields) != 5:
        raise ScheduleError(
            f"A cron expression has 5 fields (minute hour day-of-month month day-of-week); this one has "
            f"{len(fields)}.", field="cron")
    for name, value in zip(CRON_FIELDS, fields, strict=True):
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", value)}
        if not _CRON_FIELD_CHARS.match(value) or words - _CRON_NAMES:
            raise ScheduleError(f"The {name} field “{value}” is not valid: use numbers, names (jan, mon), "
                                f"*, ranges a-b, lists a,b and steps */n.", field="cron")
    if not croniter.is_valid(text):
        raise ScheduleError(_cron_problem(text, fields), field="cron")
    try:
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        raise ScheduleError(f"“{text}” never fires (no such date).", field="cron") from None
    return text


def _cron_problem(text: str, fields: list[str]) -> str:
    """Name the first field croniter refuses, for a message a person can act on."""
    for index, name in enumerate(CRON_FIELDS):
        probe = ["*"] * 5
        probe[index] = fields[index]
        if not croniter.is_valid(" ".join(probe)):
            return f"The {name} field “{fields[index]}” is out of range or malformed."
    return f"“{text}” is not a valid cron expression."


def validate(kind: str, interval_minutes: object, cron: object) -> ScheduleSpec:
    """Check the field that matters for ``kind``. An interval schedule clears the cron text; a cron schedule
    keeps a valid interval it was given (so switching back is one click) and otherwise ignores it."""
    if kind == FlowSchedule.Kind.INTERVAL:
        return ScheduleSpec(FlowSchedule.Kind.INTERVAL, validate_interval(interval_minutes), "")
    if kind == FlowSchedule.Kind.CRON:
        try:
            keep: int | None = validate_interval(interval_minutes)
        except ScheduleError:
            keep = None
        return ScheduleSpec(FlowSchedule.Kind.CRON, keep, validate_cron(cron))
    raise ScheduleError("Choose every N minutes or a cron expression.", field="kind")


# ---------------------------------------------------------------------------------------------- fire times


def jitter_fraction(schema_name: str, flow_id: int) -> float:
    """A stable number in [0, 1) for this tenant's flow."""
    digest = hashlib.sha256(f"{schema_name}:{flow_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def jitter_seconds(fraction: float, period: timedelta) -> int:
    bound = min(MAX_JITTER_SECONDS, JITTER_SHARE * period.total_seconds())
    return int(fraction * bound)


def next_fire(spec: ScheduleSpec, *, after: datetime, jitter: float = 0.0) -> datetime:
    """The first fire time strictly after ``after`` (aware, UTC)."""
    after = after.astimezone(UTC)
    if spec.kind == FlowSchedule.Kind.INTERVAL:
        period = validate_interval(spec.interval_minutes) * 60
        offset = jitter_seconds(jitter, timedelta(seconds=period))
        slot = math.floor((after.timestamp() - offset) / period) + 1
        return datetime.fromtimestamp(slot * period + offset, tz=UTC)
    if spec.kind == FlowSchedule.Kind.CRON:
        try:
            bases = croniter(spec.cron, after - timedelta(seconds=MAX_JITTER_SECONDS + 1))
            base = bases.get_next(datetime)
            while True:
                following = bases.get_next(datetime)
                fire = base + timedelta(seconds=jitter_seconds(jitter, following - base))
                if fire > after:
                    return fire.astimezone(UTC)
                base = following
        except ValueError as error:  # croniter's errors are ValueErrors
            raise ScheduleError(f"Invalid cron expression “{spec.cron}”: {error}", field="cron") from None
    raise ScheduleError(f"Unknown schedule kind {spec.kind!r}.", field="kind")


def next_fire_for(schedule: FlowSchedule, *, after: datetime | None = None) -> datetime:
    """Next fire of a stored schedule, jittered for the current tenant and the schedule's flow."""
    return next_fire(ScheduleSpec.of(schedule), after=after or timezone.now(),
                     jitter=jitter_fraction(connection.schema_name, schedule.flow_id))


def upcoming(schedule: FlowSchedule, *, count: int = 3, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` fire times (for the schedule page)."""
    times: list[datetime] = []
    moment = after or timezone.now()
    for _ in range(count):
        moment = next_fire_for(schedule, after=moment)
        times.append(moment)
    return times


def describe(schedule: FlowSchedule | None) -> str:
    if schedule is None or not schedule.enabled:
        return "Not scheduled"
    if schedule.kind == FlowSchedule.Kind.INTERVAL:
        n = schedule.interval_minutes
        return "Every minute" if n == 1 else f"Every {n} minutes"
    return f"Cron {schedule.cron} (UTC)"


# ---------------------------------------------------------------------------------------------- service


def save_schedule(flow: Flow, kind: str, interval_minutes: object, cron: object, enabled: bool, actor: object,
                  *, now: datetime | None = None) -> FlowSchedule:
    """Validate, store, work out the next fire time and audit the change. Raises ScheduleError."""
    spec = validate(kind, interval_minutes, cron)
    schedule = FlowSchedule.objects.filter(flow=flow).first()
    before = _snapshot(schedule) if schedule is not None else {}
    if schedule is None:
        schedule = FlowSchedule(flow=flow)
    schedule.kind, schedule.cron = spec.kind, spec.cron
    if spec.interval_minutes is not None:
        schedule.interval_minutes = spec.interval_minutes
    schedule.enabled = bool(enabled)
    schedule.next_run_at = next_fire_for(schedule, after=now) if schedule.enabled else None
    schedule.save()
    alerts.resolve(f"flow:{flow.pk}:schedule")  # an "invalid schedule" alert, if the dispatcher raised one
    changes = diff(before, _snapshot(schedule))
    if changes:
        audit(actor, "flow.schedule_changed", flow, changes)
    return schedule


def _snapshot(schedule: FlowSchedule) -> dict[str, object]:
    return {"kind": schedule.kind, "interval_minutes": schedule.interval_minutes, "cron": schedule.cron,
            "enabled": schedule.enabled}
