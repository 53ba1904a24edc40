"""Retry policy: exponential backoff with full jitter that honours the server's Retry-After.

Full jitter (sleep a uniform random time in [0, min(cap, base * 2**attempt)]) spreads retries of many workers
out, so a rate-limited or recovering system is not hit by a synchronised wave. When the server says how long to
wait (``Retry-After``), that is a floor: we never come back sooner than asked.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from integrations.core.errors import ConnectorError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in total, the first included
    base: float = 0.5  # seconds
    cap: float = 30.0  # longest single wait, unless Retry-After asks for more
    max_retry_after: float = 300.0  # a Retry-After beyond this is not waited for in-process: the record waits

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` counts failed tries, from 1)."""
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        jittered = (rng or random).uniform(0, ceiling)
        if retry_after is not None and retry_after > 0:
            return max(float(retry_after), jittered)
        return jittered


class RetriesExhausted(Exception):
    def __init__(self, error: ConnectorError, attempts: int) -> None:
        super().__init__(f"{error} (gave up after {attempts} tries)")
        self.error = error
        self.attempts = attempts


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy = RetryPolicy(), *,
                      sleep: Callable[[float], None] = time.sleep,
                      on_retry: Callable[[ConnectorError, float], None] | None = None,
                      rng: random.Random | None = None) -> T:
    """Call ``fn``; retry transient ConnectorErrors with backoff; re-raise anything else at once.

    Raises the last transient error when the tries are used up or the server asks for a wait longer than
    ``policy.max_retry_after`` (the record then stays pending for a later run rather than holding a worker).
    """
    attempt = 0
    while True:
        try:
            return fn()
        except ConnectorError as error:
            attempt += 1
            if not error.retryable or attempt >= policy.attempts:
                raise
            if error.retry_after is not None and error.retry_after > policy.max_retry_after:
                raise
            wait = policy.delay(attempt, error.retry_after, rng)
            if on_retry is not None:
                on_retry(error, wait)
            sleep(wait)
