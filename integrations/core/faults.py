"""Switchable faults shared by the sandbox emulators.

Every sandbox takes a fault configuration at run time (``POST /_sandbox/faults`` on the system, or the control
API, or ``app.faults.set({...})`` in-process). The common faults behave the same in every system; each system
adds its own (Kashflow's SQL timeout answered as 400, AX's timeout after commit, the agent being down...) by
subclassing and extending ``EXTRA`` and ``intercept``.

Configuration is a JSON object; each fault is ``{"every": N, "times": K, ...}`` where ``every`` N fires on
every Nth request it applies to (1 = always) and ``times`` caps how often it fires in total. A value of
``null``/``false``/``0``/``{}`` switches a fault off.

    rate_limit    {"every": 1, "retry_after": 2}  -> 429 with Retry-After (seconds)
                  {"per_second": 50, "burst": 5}   -> a real quota: once more than 50 requests/s (beyond a
                                                      burst of 5) arrive, 429 with Retry-After in whole seconds
    slow_ms       250                              -> sleep before answering every request
    timeout       {"every": 1, "hang_ms": 30000}  -> hang, then drop the connection (the client times out)
    server_error  {"every": 1, "status": 503}      -> 5xx with an HTML body, nothing processed
    drop          {"every": 1}                     -> close the connection without any answer
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, ClassVar

from .wsgi import DropConnection, Response

COMMON_FAULTS = ("rate_limit", "slow_ms", "timeout", "server_error", "drop")


class FaultSwitch:
    EXTRA: ClassVar[tuple[str, ...]] = ()
    SCALARS: ClassVar[tuple[str, ...]] = ("slow_ms",)

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._config: dict[str, Any] = {}
        self._seen: dict[str, int] = {}
        self._fired: dict[str, int] = {}
        self._bucket: tuple[float, float] | None = None
        self.set(config or {})

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return COMMON_FAULTS + tuple(n for n in cls.EXTRA if n not in COMMON_FAULTS)

    @classmethod
    def validate(cls, config: Any) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ValueError("fault config must be a JSON object")
        clean: dict[str, Any] = {}
        for name, value in config.items():
            if name not in cls.names():
                raise ValueError(f"unknown fault '{name}'; known: {', '.join(cls.names())}")
            if value in (None, False, 0, {}):
                continue
            if name in cls.SCALARS:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{name} must be a non-negative number")
                clean[name] = value
                continue
            if value is True:
                value = {}
            if not isinstance(value, dict):
                raise ValueError(f'{name} must be an object like {{"every": 3}}')
            every = value.get("every", 1)
            if isinstance(every, bool) or not isinstance(every, int) or every < 1:
                raise ValueError(f"{name}.every must be a positive integer")
            times = value.get("times")
            if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
                raise ValueError(f"{name}.times must be a non-negative integer")
            clean[name] = dict(value, every=every)
        return clean

    def set(self, config: dict[str, Any]) -> None:
        """Replace the whole configuration and reset the counters."""
        clean = self.validate(config)
        with self._lock:
            self._config = clean
            self._seen = {}
            self._fired = {}
            self._bucket = None

    def update(self, config: dict[str, Any]) -> None:
        """Merge into the configuration (a null value switches that fault off); counters are kept."""
        with self._lock:
            merged = dict(self._config)
        merged.update(config)
        clean = self.validate(merged)
        with self._lock:
            self._config = clean

    def clear(self) -> None:
        self.set({})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"config": dict(self._config), "seen": dict(self._seen), "fired": dict(self._fired)}

    @property
    def active(self) -> bool:
        with self._lock:
            return bool(self._config)

    def spec(self, name: str) -> Any:
        with self._lock:
            return self._config.get(name)

    @property
    def slow_seconds(self) -> float:
        with self._lock:
            return float(self._config.get("slow_ms") or 0) / 1000.0

    def fires(self, name: str) -> dict[str, Any] | None:
        """Count one request against fault ``name``; return its spec when it fires this time."""
        with self._lock:
            spec = self._config.get(name)
            if not spec or name in self.SCALARS:
                return None
            self._seen[name] = self._seen.get(name, 0) + 1
            if self._seen[name] % spec["every"]:
                return None
            if spec.get("times") is not None and self._fired.get(name, 0) >= int(spec["times"]):
                return None
            self._fired[name] = self._fired.get(name, 0) + 1
            return spec

    def _over_quota(self, rate: float, burst: float) -> float:
        """Token bucket of the ``per_second`` quota: 0 when this request may pass, else seconds to wait."""
        with self._lock:
            now = time.monotonic()
            tokens, stamp = self._bucket if self._bucket else (burst, now)
            tokens = min(burst, tokens + (now - stamp) * rate)
            self._seen["rate_limit"] = self._seen.get("rate_limit", 0) + 1
            if tokens >= 1:
                self._bucket = (tokens - 1, now)
                return 0.0
            self._bucket = (tokens, now)
            self._fired["rate_limit"] = self._fired.get("rate_limit", 0) + 1
            return (1 - tokens) / rate

    # -- how the common faults answer; systems override the bodies to look like themselves ----------

    def rate_limited(self, retry_after: int | float) -> Response:
        return Response.json({"Message": "Too many requests."}, 429, [("Retry-After", str(retry_after))])

    def server_error(self, status: int) -> Response:
        body = b"<html><body><h1>Server Error</h1><p>The service is unavailable.</p></body></html>"
        return Response(status, body, content_type="text/html; charset=utf-8")

    def intercept(self) -> Response | None:
        """Apply the common faults to one request: sleep, answer for the system, or drop the connection.

        Returns a Response to send instead of the real answer, None to process normally, or raises
        DropConnection. Subclasses call this first and then check their own faults.
        """
        delay = self.slow_seconds
        if delay:
            time.sleep(delay)
        if self.fires("drop"):
            raise DropConnection()
        spec = self.fires("timeout")
        if spec:
            time.sleep(float(spec.get("hang_ms", 30_000)) / 1000.0)
            raise DropConnection()
        quota = self.spec("rate_limit")
        if quota and quota.get("per_second"):
            wait = self._over_quota(float(quota["per_second"]), float(quota.get("burst", 1)))
            if wait:
                return self.rate_limited(max(1, math.ceil(wait)))  # delay-seconds: an integer, as real servers send
        else:
            spec = self.fires("rate_limit")
            if spec:
                return self.rate_limited(spec.get("retry_after", 2))
        spec = self.fires("server_error")
        if spec:
            return self.server_error(int(spec.get("status", 500)))
        return None
