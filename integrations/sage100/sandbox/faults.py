"""The Sage sandbox's faults: the common ones, plus BOI errors and the agent being down.

    boi_error   {"every": 1, "message": "...", "objects": ["AR_Invoice_bus"]}
                operations fail as BOI fails them (ret 0 with the text; default: the record is in use),
                counted per operation, optionally only for some business objects; nothing is written
    agent_down  {"every": 1, "mode": "503" | "drop"}
                the agent's Windows service is stopped: HTTP.sys answers 503 "Service Unavailable" for its
                URL reservation, or (``drop``) the connection closes, as when nothing listens at all
"""

from __future__ import annotations

from typing import Any, ClassVar

from integrations.core.faults import FaultSwitch
from integrations.core.wsgi import DropConnection, Response
from integrations.sage100.agent.app import error
from integrations.sage100.agent.operations import Operation
from integrations.sage100.agent.runner import Outcome

RECORD_IN_USE = "The record is in use by another user. Try again later."
# What HTTP.sys sends for a reserved URL whose service is not running.
HTTPSYS_503 = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
               b'<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n<META HTTP-EQUIV="Content-Type" '
               b'Content="text/html; charset=us-ascii"></HEAD>\r\n<BODY><h2>Service Unavailable</h2>\r\n<hr><p>'
               b"HTTP Error 503. The service is unavailable.</p>\r\n</BODY></HTML>\r\n")


class SageFaultSwitch(FaultSwitch):
    EXTRA: ClassVar[tuple[str, ...]] = ("boi_error", "agent_down")

    @classmethod
    def validate(cls, config: Any) -> dict[str, Any]:
        clean = super().validate(config)
        mode = (clean.get("agent_down") or {}).get("mode", "503")
        if mode not in ("503", "drop"):
            raise ValueError('agent_down.mode must be "503" or "drop"')
        objects = (clean.get("boi_error") or {}).get("objects")
        if objects is not None and (not isinstance(objects, list) or not all(isinstance(o, str) for o in objects)):
            raise ValueError('boi_error.objects must be a list of business object names like ["AR_Invoice_bus"]')
        return clean

    def rate_limited(self, retry_after: int | float) -> Response:
        return error(429, "rate_limited", "Too many requests; retry later.", [("Retry-After", str(retry_after))])

    def intercept(self) -> Response | None:
        spec = self.fires("agent_down")
        if spec:
            if spec.get("mode") == "drop":
                raise DropConnection()
            return Response(503, HTTPSYS_503, content_type="text/html; charset=us-ascii",
                            headers=[("Server", "Microsoft-HTTPAPI/2.0")])
        return super().intercept()

    def boi_failure(self, operation: Operation) -> str | None:
        """The BOI error text for this operation when ``boi_error`` fires for it, else None."""
        spec = self.spec("boi_error")
        if not spec or (spec.get("objects") and operation.object not in spec["objects"]):
            return None
        fired = self.fires("boi_error")
        return str(fired.get("message") or RECORD_IN_USE) if fired else None


class FaultyBackend:
    """Wraps a backend so ``boi_error`` fails operations before they reach the business objects."""

    def __init__(self, inner: Any, faults: SageFaultSwitch) -> None:
        self.inner = inner
        self.faults = faults
        self.name = inner.name
        self.company = inner.company

    def apply(self, operation: Operation) -> Outcome:
        message = self.faults.boi_failure(operation)
        if message:
            return Outcome(0, message)
        return self.inner.apply(operation)

    def check(self) -> None:
        self.inner.check()

    def close(self) -> None:
        self.inner.close()
