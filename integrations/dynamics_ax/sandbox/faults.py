"""Switchable faults of the AX sandbox: the common set plus what an IIS-hosted AIF port does when things break.

Common faults (``integrations.core.faults``) apply to every request on the port endpoint (WSDL and SOAP):

* ``rate_limit`` — IIS has no request-rate limit of its own; what a throttled AX web server answers is the
  HTTP.SYS / application-pool "503 Service Unavailable" page (queue full, app pool recycling). The sandbox
  answers **503** with ``Retry-After`` by default; ``{"status": 429}`` emulates a gateway or reverse proxy that
  rate-limits in front of IIS.
* ``server_error`` — the IIS HTML error page for the status (500 by default).
* ``slow_ms``, ``timeout``, ``drop`` — as everywhere.

AX extras apply to SOAP calls only:

* ``timeout_after_commit`` ``{"hang_ms": 0}`` — the call commits, then the exchange fails (IIS 500 after
  ``hang_ms``): the client cannot tell that AX processed the message. A retry with the same MessageId gets
  ``DuplicateMessage``.
* ``aif_timeout`` ``{"hang_ms": 0}`` — the AOS call exceeded the WCF send timeout: nothing is committed and the
  answer is an AifFault with XppExceptionType 15 (Timeout) and the WCF timeout text.
* ``aos_unavailable`` — IIS is up but cannot reach the AOS: a SOAP fault (faultcode ``s:Server``) carrying the
  WCF ``EndpointNotFoundException`` text, no AifFault detail.
"""

from __future__ import annotations

from typing import ClassVar

from integrations.core.faults import FaultSwitch
from integrations.core.wsgi import Response

_IIS_PAGES = {
    500: ("500 - Internal server error.", "There is a problem with the resource you are looking for, and it "
          "cannot be displayed."),
    502: ("502 - Web server received an invalid response while acting as a gateway or proxy server.",
          "There is a problem with the page you are looking for, and it cannot be displayed."),
    503: ("Service Unavailable", "HTTP Error 503. The service is unavailable."),
}


def iis_page(status: int) -> Response:
    """The HTML body IIS answers a failed request with."""
    title, text = _IIS_PAGES.get(status, _IIS_PAGES[500])
    body = (f'<!DOCTYPE html><html><head><title>{title}</title></head><body><h2>{title}</h2><hr><p>{text}</p>'
            "</body></html>").encode()
    return Response(status, body, content_type="text/html; charset=us-ascii")


class AxFaultSwitch(FaultSwitch):
    EXTRA: ClassVar[tuple[str, ...]] = ("timeout_after_commit", "aif_timeout", "aos_unavailable")

    def rate_limited(self, retry_after: int | float) -> Response:
        status = int((self.spec("rate_limit") or {}).get("status", 503))
        if status == 429:
            response = Response(429, b"Too Many Requests", content_type="text/plain")
        else:
            response = iis_page(503)
        response.headers.append(("Retry-After", str(retry_after)))
        return response

    def server_error(self, status: int) -> Response:
        return iis_page(status)


# Kept for callers of the first sandbox version (``create_app(faults=Faults({...}))``).
Faults = AxFaultSwitch
