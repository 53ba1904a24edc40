"""Ledgerbridge's side of the Sage 100 agent: send operations, read answers, raise typed errors.

Transport failures (connection refused or reset, timeouts, 429, 5xx: the agent's service stopped, the site's
link is down) are TransientError; a refused key is AuthError. Each operation's own result maps by its ``code``
(ERROR_TABLE below), so the sync engine retries, pauses or files it in the error inbox without knowing Sage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from integrations.core.errors import (
    AuthError,
    ConfigurationError,
    ConnectorError,
    DuplicateError,
    IntegrityError,
    NotFoundError,
    TargetValidationError,
    TransientError,
)
from integrations.core.http import parse_retry_after

log = logging.getLogger("ledgerbridge.sage100.agent_client")

SYSTEM = "Sage 100"

# Result code -> (error class, message prefix). Codes are the agent's (agent/operations.py).
ERROR_TABLE: dict[str, tuple[type[ConnectorError], str]] = {
    "validation": (TargetValidationError, "Sage 100 refused the record"),
    "not_on_file": (IntegrityError, "Sage 100 is missing a record this one needs"),
    "duplicate": (DuplicateError, "Sage 100 already has this record"),
    "not_found": (NotFoundError, "Sage 100 has no such record"),
    "in_use": (TransientError, "The record is in use in Sage 100"),
    "invalid_operation": (TargetValidationError, "The agent rejected the operation"),
    "key_reused": (TargetValidationError, "The idempotency key was used for another write"),
    "unknown_outcome": (TargetValidationError, "The outcome of an earlier attempt is unknown"),
    "session_failed": (ConfigurationError, "The agent cannot log in to Sage 100"),
    "boi_failure": (TransientError, "Sage 100's business objects failed"),
}
SUCCESS = {"ok", "warning"}


@dataclass(frozen=True)
class OperationResult:
    key: str
    object: str
    action: str
    ret: int
    code: str
    last_error: str
    record_key: dict[str, str]
    warnings: list[str]
    replayed: bool

    @property
    def ok(self) -> bool:
        return self.ret != 0 and self.code in SUCCESS

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OperationResult:
        return cls(str(data.get("key", "")), str(data.get("object", "")), str(data.get("action", "")),
                   int(data.get("ret", 0)), str(data.get("code", "")), str(data.get("last_error", "")),
                   dict(data.get("record_key") or {}), list(data.get("warnings") or []),
                   bool(data.get("replayed", False)))

    def error(self) -> ConnectorError | None:
        """The typed error for a failed operation (None when it succeeded)."""
        if self.ok:
            return None
        cls, prefix = ERROR_TABLE.get(self.code, (TargetValidationError, "Sage 100 refused the operation"))
        what = f"{self.object} {self.action}"
        return cls(f"{prefix}: {self.last_error or 'no message'} ({what})", system=SYSTEM, code=self.code,
                   payload={"key": self.key, "record_key": self.record_key})

    def raise_for_error(self) -> OperationResult:
        failure = self.error()
        if failure is not None:
            raise failure
        return self


class AgentClient:
    """HTTP client for one agent. Thread-safe as far as ``requests.Session`` is (use one per worker)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 120.0,
                 session: requests.Session | None = None) -> None:
        if not base_url:
            raise ConfigurationError("The Sage 100 connection has no agent URL", system=SYSTEM)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    # -- calls ------------------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/v1/health")

    def check(self) -> str:
        """What a connection test shows: the agent answers and accepts our key."""
        health = self.health()
        if health.get("session", "ok") != "ok":
            raise ConfigurationError(f"The Sage 100 agent answers but cannot open Sage: {health['session']}",
                                     system=SYSTEM)
        company = health.get("company") or ""
        return f"the Ledgerbridge agent{f' for company {company}' if company else ''}"

    def apply(self, operations: Sequence[Mapping[str, Any]]) -> list[OperationResult]:
        """Apply a batch; results in the same order. Failed operations do not raise: check ``.ok``/``.error()``."""
        if not operations:
            return []
        body = self._call("POST", "/v1/batches", json={"operations": list(operations)})
        results = [OperationResult.from_json(item) for item in body.get("results", [])]
        if len(results) != len(operations):
            raise TransientError(f"The agent answered {len(results)} results for {len(operations)} operations",
                                 system=SYSTEM)
        return results

    def apply_one(self, operation: Mapping[str, Any]) -> OperationResult:
        """Apply one operation and raise its typed error if it failed."""
        return self.apply([operation])[0].raise_for_error()

    def applied(self, key: str) -> OperationResult | None:
        """What the agent applied under ``key``, or None (nothing, or a claim that did not complete)."""
        try:
            body = self._call("GET", f"/v1/applied/{key}")
        except NotFoundError:
            return None
        result = body.get("result")
        return OperationResult.from_json(result) if result else None

    # -- transport --------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.base_url + path
        try:
            response = self.session.request(method, url, headers=self._headers, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise TransientError("The Sage 100 agent did not answer in time", system=SYSTEM) from None
        except requests.ConnectionError:
            raise TransientError("The Sage 100 agent cannot be reached (is its service running?)",
                                 system=SYSTEM) from None
        if response.status_code >= 400:
            raise self._http_error(response)
        try:
            body = response.json()
        except ValueError:
            raise ConfigurationError(f"{self.base_url} did not answer like a Ledgerbridge agent", system=SYSTEM,
                                     status=response.status_code) from None
        if not isinstance(body, dict):
            raise ConfigurationError(f"{self.base_url} did not answer like a Ledgerbridge agent", system=SYSTEM)
        return body

    def _http_error(self, response: requests.Response) -> ConnectorError:
        status = response.status_code
        message = _error_text(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in (401, 403):
            return AuthError(f"The Sage 100 agent refused the API key: {message}", system=SYSTEM, status=status)
        if status == 404 and "not_applied" in response.text:
            return NotFoundError(message, system=SYSTEM, status=status)
        if status == 404:
            return ConfigurationError(f"No Ledgerbridge agent API at {self.base_url}", system=SYSTEM, status=status)
        if status == 429 or status >= 500:
            what = "is busy" if status == 429 else f"is unavailable (HTTP {status})"
            return TransientError(f"The Sage 100 agent {what}: {message}", system=SYSTEM, status=status,
                                  retry_after=retry_after)
        return TargetValidationError(f"The Sage 100 agent rejected the request: {message}", system=SYSTEM,
                                     status=status)


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} {response.reason or ''}".strip()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"].get("code") or "")[:300]
    return f"HTTP {response.status_code}"


