"""Connection limits held in the database: shared token bucket, Retry-After, daily budget, circuit breaker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.core.errors import AuthError, TransientError
from integrations.sync.limits import BreakerPolicy, BudgetExhausted, CircuitOpen, ConnectionGate
from integrations.sync.models import Connection, ConnectionThrottle
from integrations.sync.retry import RetryPolicy


@pytest.fixture
def conn(tenant):
    return Connection.objects.create(name="ERP", system="dynamics_ax", base_url="http://127.0.0.1:1/x")


def test_the_bucket_is_shared_by_every_gate_of_a_connection(conn):
    conn.rate_per_second, conn.burst = 40, 1
    conn.save()
    first, second = ConnectionGate(conn), ConnectionGate(conn)  # two workers
    started = time.perf_counter()
    for _ in range(10):
        first.acquire()
        second.acquire()
    elapsed = time.perf_counter() - started
    assert elapsed >= 19 / 40 * 0.95  # 20 tokens at 40/s from a bucket of 1: at least 19 waits of 25 ms
    assert ConnectionThrottle.objects.get(connection=conn).requests_total == 20


def test_unlimited_connections_do_not_wait(conn):
    gate, slept = ConnectionGate(conn, sleep=lambda s: pytest.fail("must not wait")), []
    for _ in range(100):
        gate.acquire()
    assert slept == []


def test_retry_after_blocks_the_bucket_and_the_call_is_retried(conn):
    waits, calls = [], []
    conn.rate_per_second, conn.burst = 1000, 10
    conn.save()

    def rate_limited_once():
        calls.append(1)
        if len(calls) == 1:
            raise TransientError("slow down", status=429, retry_after=0.2)
        return "ok"

    gate = ConnectionGate(conn, sleep=lambda s: (waits.append(s), time.sleep(s)))
    assert gate.call(rate_limited_once) == "ok"
    assert len(calls) == 2 and sum(waits) >= 0.15
    row = ConnectionThrottle.objects.get(connection=conn)
    assert row.failures_in_a_row == 0 and row.breaker == "closed"  # throttling is not a failure


def test_daily_budget_stops_calls_until_tomorrow(conn):
    conn.daily_budget = 3
    conn.save()
    gate = ConnectionGate(conn)
    for _ in range(3):
        gate.call(lambda: "ok")
    with pytest.raises(BudgetExhausted) as caught:
        gate.call(lambda: "ok")
    assert "daily budget of 3" in str(caught.value) and caught.value.retry_after > 0
    ConnectionThrottle.objects.filter(connection=conn).update(budget_day=timezone.now().date() - timedelta(days=1))
    assert gate.call(lambda: "ok") == "ok"  # a new day, a new budget


def test_breaker_pauses_after_repeated_failures_and_resumes_by_itself(conn):
    calls = []

    def down():
        calls.append(1)
        raise TransientError("503 Service Unavailable", status=503)

    gate = ConnectionGate(conn, retry=RetryPolicy(attempts=10, base=0.001), breaker=BreakerPolicy(failure_threshold=3),
                          sleep=lambda s: None)
    with pytest.raises(CircuitOpen):
        gate.call(down)
    assert len(calls) == 3  # opened at the threshold, no hammering after
    conn.refresh_from_db()
    assert conn.status == Connection.Status.PAUSED
    assert "3 failures in a row" in conn.status_message and "resumes by itself" in conn.status_message
    other_worker = ConnectionGate(conn)
    with pytest.raises(CircuitOpen):
        other_worker.call(lambda: pytest.fail("no call while paused"))

    ConnectionThrottle.objects.filter(connection=conn).update(open_until=timezone.now() - timedelta(seconds=1))
    assert ConnectionGate(conn).call(lambda: "back") == "back"
    conn.refresh_from_db()
    row = ConnectionThrottle.objects.get(connection=conn)
    assert conn.status == Connection.Status.OK and row.breaker == "closed" and row.failures_in_a_row == 0


def test_a_failed_trial_reopens_with_a_longer_cooldown(conn):
    gate = ConnectionGate(conn, retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(failure_threshold=1, cooldown=10),
                          sleep=lambda s: None)
    boom = TransientError("timeout")
    with pytest.raises(TransientError):
        gate.call(lambda: (_ for _ in ()).throw(boom))
    first = ConnectionThrottle.objects.get(connection=conn)
    ConnectionThrottle.objects.filter(connection=conn).update(open_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TransientError):
        gate.call(lambda: (_ for _ in ()).throw(boom))
    second = ConnectionThrottle.objects.get(connection=conn)
    assert second.breaker == "open" and second.open_count == 2
    assert (second.open_until - second.opened_at) > (first.open_until - first.opened_at)


def test_non_transient_errors_pass_straight_through(conn):
    with pytest.raises(AuthError):
        ConnectionGate(conn).call(lambda: (_ for _ in ()).throw(AuthError("no")))
    assert ConnectionThrottle.objects.get(connection=conn).failures_in_a_row == 0
