"""Kashflow's switchable faults: the common ones (``integrations.core.faults``) plus two of its own.

    sql_timeout      {"every": 1}  -> 400 {"Error": "-2146232060", "Message": "Execution Timeout Expired..."}
                                      (how the real API surfaces a .NET SqlException on a busy account)
    expire_sessions  {"every": 1, "times": 1}  -> the caller's session is expired on the spot and the request
                                      answers the documented 401 InvalidSessionToken: the client must log in again

Faults apply to data routes only, never to ``/sessiontoken``, so a client can always log in again.
"""

from __future__ import annotations

from typing import Any, ClassVar

from integrations.core.faults import FaultSwitch
from integrations.core.wsgi import Response

from .render import kf_error, kf_json

INVALID_SESSION = {"Error": "InvalidSessionToken", "Message": "Session token provided is invalid."}
SQL_TIMEOUT = {
    "Error": "-2146232060",
    "Message": "Execution Timeout Expired.  The timeout period elapsed prior to completion of the operation "
    "or the server is not responding.",
}
_IIS_ERROR = (
    "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' Application."
    "</h1><h2><i>Runtime Error</i></h2></body></html>"
)


class KashflowFaults(FaultSwitch):
    EXTRA: ClassVar[tuple[str, ...]] = ("sql_timeout", "expire_sessions")

    def rate_limited(self, retry_after: int | float) -> Response:
        return kf_error(429, "TooManyRequests", "Too many requests; try again later.",
                        [("Retry-After", str(retry_after))])

    def server_error(self, status: int) -> Response:
        return Response(status, _IIS_ERROR.encode(), content_type="text/html; charset=utf-8")

    def intercept(self) -> Response | None:
        response = super().intercept()
        if response is None and self.fires("sql_timeout"):
            response = kf_json(SQL_TIMEOUT, 400)
        return response

    def expires_session(self) -> bool:
        """Count one authenticated request; True when the caller's session must expire now."""
        return self.fires("expire_sessions") is not None

    def describe(self) -> dict[str, Any]:
        return {"names": list(self.names()), **self.snapshot()}
