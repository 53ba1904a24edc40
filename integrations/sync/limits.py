"""Per-connection limits shared by every worker: rate limiter, concurrency cap, daily budget, circuit breaker.

State lives in the ``ConnectionThrottle`` row of the tenant's schema and is changed by single atomic SQL
statements, so any number of workers on any number of machines share one token bucket per connection (process
memory would let N workers send N times the allowed rate). Concurrency slots are PostgreSQL advisory locks,
which the database frees by itself when a worker dies.

    gate = ConnectionGate(connection)
    gate.check()                      # raises CircuitOpen while the connection is paused
    result = gate.call(lambda: client.create(...))

``call`` waits for a token (and a slot), calls, retries transient errors with full-jitter backoff (a
``Retry-After`` from the system blocks the whole bucket, for every worker), and feeds the circuit breaker:
after ``failure_threshold`` transient failures in a row the connection is paused, the tenant is told why, and
after a cool-down (growing on each re-open, up to ``max_cooldown``) the next call tries again; a success closes
the breaker and the connection is working again.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import requests
from django.db import connection as db
from django.utils import timezone

from integrations.core.errors import TRANSIENT, ConnectorError, TransientError
from integrations.core.http import parse_retry_after
from integrations.sync.models import Connection, ConnectionThrottle
from integrations.sync.retry import RetryPolicy

log = logging.getLogger("ledgerbridge.sync.limits")
T = TypeVar("T")
TABLE = ConnectionThrottle._meta.db_table


class CircuitOpen(TransientError):
    """The connection is paused after repeated failures; records wait for the next run."""


class BudgetExhausted(TransientError):
    """The connection's daily request budget is used up; records wait for tomorrow."""


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    cooldown: float = 30.0  # seconds, first opening
    max_cooldown: float = 1800.0


class ConnectionGate:
    def __init__(self, connection: Connection, *, retry: RetryPolicy | None = None,
                 breaker: BreakerPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = 600.0) -> None:
        self.conn = connection
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or BreakerPolicy()
        self.sleep = sleep
        self.max_wait = max_wait
        self._failures_seen = False
        self._next_check = 0.0
        self._limited = bool(connection.rate_per_second or connection.daily_budget)
        ConnectionThrottle.objects.get_or_create(connection=connection,
                                                 defaults={"tokens": float(max(1, connection.burst))})

    # ------------------------------------------------------------------ circuit breaker

    def check(self) -> None:
        """Raise CircuitOpen while paused; move an expired pause to half-open (the next call is a trial).

        While all is well the shared state is read at most once a second per gate (another worker's pause
        is noticed within that second)."""
        if not self._failures_seen and time.monotonic() < self._next_check:
            return
        row = ConnectionThrottle.objects.get(connection=self.conn)
        if row.breaker == ConnectionThrottle.Breaker.CLOSED:
            self._next_check = time.monotonic() + 1.0
            return
        self._failures_seen = True
        now = timezone.now()
        if row.breaker == ConnectionThrottle.Breaker.OPEN:
            if row.open_until and row.open_until > now:
                raise CircuitOpen(f"{self.conn.name} is paused until {row.open_until:%H:%M:%S} UTC: {row.reason}",
                                  retry_after=(row.open_until - now).total_seconds())
            ConnectionThrottle.objects.filter(connection=self.conn, breaker=ConnectionThrottle.Breaker.OPEN).update(
                breaker=ConnectionThrottle.Breaker.HALF_OPEN)

    def record_success(self) -> None:
        if not self._failures_seen:
            return
        self._failures_seen = False
        row = ConnectionThrottle.objects.filter(connection=self.conn)
        was_paused = row.exclude(breaker=ConnectionThrottle.Breaker.CLOSED).exists()
        row.update(
            breaker=ConnectionThrottle.Breaker.CLOSED, failures_in_a_row=0, open_count=0, open_until=None, reason="")
        if was_paused:
            Connection.objects.filter(pk=self.conn.pk, status=Connection.Status.PAUSED).update(
                status=Connection.Status.OK, status_message="Working again.", last_checked_at=timezone.now())
            log.info("connection %s resumed", self.conn.pk)
            _alert("on_connection_resumed", self.conn)

    def record_failure(self, error: ConnectorError) -> None:
        """Count a transient failure; open the breaker (pause the connection) at the threshold."""
        self._failures_seen = True
        with db.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET failures_in_a_row = failures_in_a_row + 1 WHERE connection_id = %s "  # noqa: S608
                "RETURNING failures_in_a_row, breaker, open_count", [self.conn.pk])
            failures, state, open_count = cursor.fetchone()
        half_open = state == ConnectionThrottle.Breaker.HALF_OPEN
        if state == ConnectionThrottle.Breaker.OPEN or (failures < self.breaker.failure_threshold and not half_open):
            return
        cooldown = min(self.breaker.max_cooldown, self.breaker.cooldown * (2 ** open_count))
        now = timezone.now()
        until = now + timedelta(seconds=cooldown)
        reason = f"{failures} failures in a row, last: {error}"[:500]
        opened = ConnectionThrottle.objects.filter(connection=self.conn).exclude(
            breaker=ConnectionThrottle.Breaker.OPEN).update(
            breaker=ConnectionThrottle.Breaker.OPEN, opened_at=now, open_until=until, open_count=open_count + 1,
            reason=reason)
        if opened:
            message = (f"Paused: {reason}. Ledgerbridge tries again at {until:%H:%M:%S} UTC and resumes by "
                       "itself when it works.")
            Connection.objects.filter(pk=self.conn.pk).update(status=Connection.Status.PAUSED,
                                                              status_message=message[:500], last_checked_at=now)
            log.warning("connection %s paused for %.0f s: %s", self.conn.pk, cooldown, reason)
            _alert("on_connection_paused", self.conn, message)

    # ------------------------------------------------------------------ rate and budget

    def acquire(self, n: int = 1) -> None:
        """Take ``n`` tokens from the shared bucket (and the daily budget), waiting as long as needed."""
        if not self._limited:
            return
        deadline = time.monotonic() + self.max_wait
        while True:
            wait = self._try_take(n)
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                raise TransientError(f"{self.conn.name}: no request slot within {self.max_wait:.0f} s",
                                     retry_after=wait)
            self.sleep(wait)

    def _try_take(self, n: int) -> float:
        """One atomic attempt: 0 when taken, else the seconds to wait. Raises BudgetExhausted."""
        rate = self.conn.rate_per_second or 0.0
        burst = float(max(1, self.conn.burst, n))
        budget = self.conn.daily_budget
        available = ("LEAST(%(burst)s, t.tokens + EXTRACT(EPOCH FROM (now.ts - t.refilled_at)) * %(rate)s)"
                     if rate else "%(burst)s")
        budget_ok = ("(t.budget_day IS DISTINCT FROM (now.ts AT TIME ZONE 'UTC')::date "
                     "OR t.budget_used + %(n)s <= %(budget)s)" if budget else "TRUE")
        params = {"id": self.conn.pk, "rate": rate, "burst": burst, "n": n, "budget": budget}
        with db.cursor() as cursor:
            cursor.execute(
                f"""WITH now AS (SELECT clock_timestamp() AS ts)
                UPDATE {TABLE} t SET tokens = {available} - %(n)s, refilled_at = now.ts,
                    requests_total = t.requests_total + %(n)s,
                    budget_used = CASE WHEN t.budget_day = (now.ts AT TIME ZONE 'UTC')::date
                                       THEN t.budget_used + %(n)s ELSE %(n)s END,
                    budget_day = (now.ts AT TIME ZONE 'UTC')::date
                FROM now
                WHERE t.connection_id = %(id)s AND (t.blocked_until IS NULL OR t.blocked_until <= now.ts)
                  AND {available} >= %(n)s AND {budget_ok}
                RETURNING t.tokens""",  # noqa: S608 - table and expressions are ours, values are parameters
                params)
            if cursor.fetchone() is not None:
                return 0.0
            cursor.execute(
                f"""SELECT {available}, EXTRACT(EPOCH FROM (t.blocked_until - now.ts)),
                           t.budget_day = (now.ts AT TIME ZONE 'UTC')::date AND NOT {budget_ok}
                    FROM {TABLE} t, (SELECT clock_timestamp() AS ts) now WHERE t.connection_id = %(id)s""",  # noqa: S608
                params)
            tokens, blocked_for, over_budget = cursor.fetchone()
        if over_budget:
            midnight = (timezone.now() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            raise BudgetExhausted(f"{self.conn.name}: the daily budget of {budget} requests is used up",
                                  retry_after=(midnight - timezone.now()).total_seconds())
        if blocked_for and blocked_for > 0:
            return float(blocked_for)
        return max(0.001, (n - float(tokens)) / rate) if rate else 0.001

    def block_for(self, seconds: float) -> None:
        """The system asked every client to wait (Retry-After): block the shared bucket that long."""
        until = timezone.now() + timedelta(seconds=seconds)
        ConnectionThrottle.objects.filter(connection=self.conn).update(blocked_until=until)
        self._limited = True  # from now on every call of this gate consults the bucket

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of ``max_concurrency`` slots (advisory locks) for the duration of a request."""
        limit = self.conn.max_concurrency
        if not limit:
            yield
            return
        keys = [zlib.crc32(f"{db.schema_name}:slot:{self.conn.pk}:{i}".encode()) - 2**31 for i in range(limit)]
        deadline = time.monotonic() + self.max_wait
        held = None
        with db.cursor() as cursor:
            while held is None:
                for key in keys:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                    if cursor.fetchone()[0]:
                        held = key
                        break
                else:
                    if time.monotonic() > deadline:
                        raise TransientError(f"{self.conn.name}: no free concurrency slot")
                    self.sleep(0.005)
        try:
            yield
        finally:
            with db.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [held])

    # ------------------------------------------------------------------ the whole thing

    def call(self, fn: Callable[[], T], *, cost: int = 1, metered: bool = True) -> T:
        """Check the breaker, take a token and a slot, call; retry transient failures with backoff.

        ``metered=False`` when ``fn`` talks through a :class:`GatedSession` of this gate, which already takes a
        token and a slot for every HTTP request it sends (logins and paging included).
        """
        self.check()
        attempt = 0
        while True:
            if metered:
                self.acquire(cost)
            try:
                if metered:
                    with self.slot():
                        result = fn()
                else:
                    result = fn()
            except ConnectorError as error:
                if error.kind != TRANSIENT or isinstance(error, CircuitOpen | BudgetExhausted):
                    raise
                attempt += 1
                if error.status == 429 or error.retry_after:
                    # Throttling is the system working as designed: slow everyone down, don't trip the breaker.
                    self.block_for(min(error.retry_after or self.retry.base, self.retry.max_retry_after))
                else:
                    self.record_failure(error)
                    self.check()
                if attempt >= self.retry.attempts or (error.retry_after or 0) > self.retry.max_retry_after:
                    raise
                if not error.retry_after:
                    self.sleep(self.retry.delay(attempt))
                continue
            self.record_success()
            return result


def _alert(hook: str, *args) -> None:
    from integrations.sync import alerts

    try:
        getattr(alerts, hook)(*args)
    except Exception:  # telling the tenant must never break the call path
        log.exception("alert %s failed", hook)


class GatedSession(requests.Session):
    """A requests session whose every HTTP request goes through the connection's shared limits.

    Hand it to any protocol client (``KashflowClient(..., session=...)``, ``AifClient``, ``AgentClient``): each
    request waits for a token of the shared bucket and a concurrency slot, counts against the daily budget,
    and a ``Retry-After`` on a 429/503 answer blocks the bucket for every worker. Retrying is left to
    :meth:`ConnectionGate.call` around the logical operation.
    """

    def __init__(self, gate: ConnectionGate) -> None:
        super().__init__()
        self.gate = gate

    def send(self, request, **kwargs):  # noqa: ANN001 - requests' signature
        self.gate.acquire()
        with self.gate.slot():
            response = super().send(request, **kwargs)
        if response.status_code in (429, 503):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait:
                self.gate.block_for(min(wait, self.gate.retry.max_retry_after))
        return response
