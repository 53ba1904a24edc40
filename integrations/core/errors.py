"""One error hierarchy for every connector.

Clients raise these; the sync engine decides what to do from ``kind`` alone (ARCHITECTURE §5), so a
new connector never needs engine changes to be retried, paused or sent to the error inbox correctly.
Messages are written for the tenant: they must be readable and must never contain a secret.
"""

from __future__ import annotations

from typing import Any

TRANSIENT = "transient"
AUTH = "auth"
VALIDATION = "validation"
INTEGRITY = "integrity"
DUPLICATE = "duplicate"
CONFIGURATION = "configuration"


class ConnectorError(Exception):
    """A failure talking to an external system, classified for the engine."""

    kind: str = VALIDATION

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        code: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        details: list[str] | None = None,
        payload: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.details = details or []
        self.payload = payload

    @property
    def retryable(self) -> bool:
        return self.kind == TRANSIENT

    def __str__(self) -> str:
        prefix = f"{self.system}: " if self.system else ""
        text = f"{prefix}{self.message}"
        if self.details:
            text += " (" + "; ".join(self.details) + ")"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "system": self.system,
            "code": self.code,
            "status": self.status,
            "message": self.message,
            "details": self.details,
        }


class TransientError(ConnectorError):
    """Worth retrying later: timeouts, 429, 5xx, connection resets, server-side SQL timeouts."""

    kind = TRANSIENT


class AuthError(ConnectorError):
    """Credentials refused or session expired beyond one re-login; the connection needs attention."""

    kind = AUTH


class TargetValidationError(ConnectorError):
    """The target rejected the record itself; a person must fix data or mapping."""

    kind = VALIDATION


class IntegrityError(ConnectorError):
    """A dependency is missing in the target (unknown customer, account...)."""

    kind = INTEGRITY


class DuplicateError(ConnectorError):
    """The target says it already processed this write (e.g. AX ``DuplicateMessage``)."""

    kind = DUPLICATE


class ConfigurationError(ConnectorError):
    """The connection itself is misconfigured (bad URL, missing WSDL, unknown company)."""

    kind = CONFIGURATION


class NotFoundError(ConnectorError):
    """The requested record does not exist in the remote system."""

    kind = VALIDATION
