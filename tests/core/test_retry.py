import random

import pytest

from integrations.core.errors import AuthError, TransientError
from integrations.sync.retry import RetryPolicy, call_with_retries


def test_full_jitter_stays_under_the_exponential_ceiling():
    policy, rng = RetryPolicy(base=0.5, cap=8), random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1), (3, 2), (4, 4), (5, 8), (9, 8)]:
        delays = [policy.delay(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not a fixed value


def test_retry_after_is_a_floor():
    policy = RetryPolicy(base=0.5, cap=8)
    assert all(policy.delay(1, retry_after=3, rng=random.Random(i)) >= 3 for i in range(50))


def test_transient_errors_are_retried_until_success():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("busy", retry_after=1.5)
        return "ok"

    assert call_with_retries(flaky, RetryPolicy(attempts=5), sleep=waits.append) == "ok"
    assert len(calls) == 3 and len(waits) == 2 and all(w >= 1.5 for w in waits)


def test_non_transient_errors_are_not_retried():
    calls = []

    def refused():
        calls.append(1)
        raise AuthError("wrong password")

    with pytest.raises(AuthError):
        call_with_retries(refused, sleep=lambda s: None)
    assert len(calls) == 1


def test_gives_up_after_the_policy_attempts_and_on_very_long_retry_after():
    calls = []

    def always():
        calls.append(1)
        raise TransientError("down")

    with pytest.raises(TransientError):
        call_with_retries(always, RetryPolicy(attempts=4), sleep=lambda s: None)
    assert len(calls) == 4
    with pytest.raises(TransientError):
        call_with_retries(lambda: (_ for _ in ()).throw(TransientError("later", retry_after=3600)),
                          sleep=lambda s: pytest.fail("must not sleep an hour"))
