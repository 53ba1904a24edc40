"""Kashflow REST v2 emulator as a plain WSGI app (no Django).

It speaks the documented protocol (see docs/sandbox.md and the research notes) closely enough that the
production client runs against it unchanged: two-step session-token login, ``KfToken`` header, paged
``{MetaData, Data}`` envelopes with absolute ``NextPageUrl``, ``{Message, Error}`` error bodies. Faults
real accounts show (429s, SQL timeouts surfaced as 400, 5xx, slowness) can be switched on at runtime.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from integrations.core.wsgi import Request, Response, Router

from .store import FOUR_DP, Page, Store, StoreError

log = logging.getLogger("ledgerbridge.kashflow.sandbox")

DEFAULT_PERPAGE = 50
MAX_PERPAGE = 1000  # real main lists accept at least 250; the exact ceiling is unknown

INVALID_SESSION = {"Error": "InvalidSessionToken", "Message": "Session token provided is invalid."}
SQL_TIMEOUT = {
    "Error": "-2146232060",
    "Message": "Execution Timeout Expired.  The timeout period elapsed prior to completion of the operation "
    "or the server is not responding.",
}


# --------------------------------------------------------------------------- JSON out


_MARK_ID = secrets.token_hex(4)  # per process, so no stored text can imitate the marker
_DECIMAL_MARK = f"\x00kfdec{_MARK_ID}:"
_DECIMAL_TOKEN = re.compile(rf'"\\u0000kfdec{_MARK_ID}:(-?[0-9]+\.[0-9]+)"')


def _mark_decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value.quantize(FOUR_DP):f}"
    return str(value)


def render_json(data: Any) -> str:
    """JSON with Decimals as 4-dp numbers (``117.5000``), which is how Kashflow prints money.

    The C encoder cannot emit a custom number literal, so Decimals go out as marked strings and the
    quotes are stripped afterwards: about ten times faster than a pure-Python encoder on big pages.
    """
    text = json.dumps(data, default=_mark_decimal, ensure_ascii=False, separators=(",", ":"))
    return _DECIMAL_TOKEN.sub(r"\1", text)


def kf_json(data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, render_json(data).encode("utf-8"), headers=headers or [])


def kf_error(status: int, error: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return kf_json({"Message": message, "Error": error}, status, headers)


# --------------------------------------------------------------------------- faults


class FaultSwitch:
    """Opt-in misbehaviour, thread-safe, changeable while the server runs.

    Config keys (each optional):
      ``rate_limit``   ``{"every": N, "retry_after": 2, "times": K}`` -> 429 + ``Retry-After``
      ``sql_timeout``  ``{"every": N, "times": K}`` -> 400 ``{"Error": "-2146232060", ...}``
      ``server_error`` ``{"every": N, "times": K, "status": 500}`` -> 5xx with a non-JSON body
      ``slow_ms``      ``200`` -> sleep before answering every /v2 request
    ``every`` N fires on every Nth data request (1 = always); ``times`` caps how often it fires in total.
    Faults hit data routes only, never /sessiontoken, so a client can always log in.
    """

    NAMES = ("rate_limit", "sql_timeout", "server_error", "slow_ms")

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._config: dict[str, Any] = {}
        self._seen: dict[str, int] = {}
        self._fired: dict[str, int] = {}
        self.set(config or {})

    @classmethod
    def validate(cls, config: Any) -> dict[str, Any]:
        if not isinstance(config, dict):
            raise ValueError("fault config must be a JSON object")
        clean: dict[str, Any] = {}
        for name, value in config.items():
            if name not in cls.NAMES:
                raise ValueError(f"unknown fault '{name}'; known: {', '.join(cls.NAMES)}")
            if value in (None, False, 0, {}):
                continue
            if name == "slow_ms":
                if not isinstance(value, int | float) or value < 0:
                    raise ValueError("slow_ms must be a non-negative number")
                clean[name] = value
                continue
            if not isinstance(value, dict):
                raise ValueError(f'{name} must be an object like {{"every": 3}}')
            every = value.get("every", 1)
            if not isinstance(every, int) or every < 1:
                raise ValueError(f"{name}.every must be a positive integer")
            clean[name] = dict(value, every=every)
        return clean

    def set(self, config: dict[str, Any]) -> None:
        """Replace the whole configuration and reset counters."""
        clean = self.validate(config)
        with self._lock:
            self._config = clean
            self._seen = {}
            self._fired = {}

    def clear(self) -> None:
        self.set({})

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"config": dict(self._config), "seen": dict(self._seen), "fired": dict(self._fired)}

    @property
    def slow_seconds(self) -> float:
        with self._lock:
            return float(self._config.get("slow_ms") or 0) / 1000.0

    def _fires(self, name: str) -> dict[str, Any] | None:
        spec = self._config.get(name)
        if not spec:
            return None
        self._seen[name] = self._seen.get(name, 0) + 1
        if self._seen[name] % spec["every"]:
            return None
        if "times" in spec and self._fired.get(name, 0) >= int(spec["times"]):
            return None
        self._fired[name] = self._fired.get(name, 0) + 1
        return spec

    def intercept(self) -> Response | None:
        """Decide, for one data request, whether a fault replaces the real answer."""
        with self._lock:
            spec = self._fires("rate_limit")
            if spec:
                retry = spec.get("retry_after", 2)
                return kf_error(429, "TooManyRequests", "Too many requests.", [("Retry-After", str(retry))])
            spec = self._fires("server_error")
            if spec:
                status = int(spec.get("status", 500))
                body = b"<html><body><h1>Server Error</h1><p>Runtime Error</p></body></html>"
                return Response(status, body, content_type="text/html; charset=utf-8")
            if self._fires("sql_timeout"):
                return kf_json(SQL_TIMEOUT, 400)
        return None


# --------------------------------------------------------------------------- helpers


def _body(request: Request) -> dict[str, Any]:
    try:
        data = request.json()
    except (ValueError, UnicodeDecodeError):
        raise StoreError(400, "InvalidParameter", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise StoreError(400, "InvalidParameter", "The request body must be a JSON object.")
    return data


def _ci(data: dict[str, Any], name: str) -> Any:
    lname = name.lower()
    for key, value in data.items():
        if str(key).lower() == lname:
            return value
    return None


def _int_arg(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.arg(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StoreError(400, "InvalidParameter", f"The value '{raw}' is not valid for {name}.") from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise StoreError(400, "InvalidParameter", f"{name} must be {limit}.")
    return value


def _paging(request: Request) -> tuple[int, int]:
    skip = (request.arg("skipperpagevalidation") or "").lower() == "true"
    perpage = _int_arg(request, "perpage", DEFAULT_PERPAGE, 1, None if skip else MAX_PERPAGE)
    return _int_arg(request, "page", 1, 1), perpage


def envelope(request: Request, page: Page, page_no: int, perpage: int, *, amount: bool) -> dict[str, Any]:
    """``{MetaData, Data}`` with absolute page URLs that keep the caller's filters."""
    last = max(1, math.ceil(page.total / perpage))
    others = [
        (k, v) for k, values in request.query.items() if k.lower() not in ("page", "perpage") for v in values
    ]
    base = f"{request.base_url}{quote(request.path)}"

    def url(n: int) -> str:
        return f"{base}?{urlencode([*others, ('page', n), ('perpage', perpage)])}"

    return {
        "MetaData": {
            "TotalRecords": page.total,
            "FirstPageUrl": url(1),
            "LastPageUrl": url(last),
            "PreviousPageUrl": url(min(page_no - 1, last)) if page_no > 1 else None,
            "NextPageUrl": url(page_no + 1) if page_no < last else None,
            "TotalAmount": page.total_amount if amount else Decimal(0),
            "InvoiceLimitReached": False,
        },
        "Data": page.items,
    }


# --------------------------------------------------------------------------- the app


class KashflowSandbox:
    """WSGI callable; ``store`` and ``faults`` are exposed so tests and the demo can poke at them."""

    def __init__(self, store: Store, faults: FaultSwitch | None = None) -> None:
        self.store = store
        self.faults = faults or FaultSwitch()
        self.router = Router()
        self._public: set[Callable[[Request], Response]] = set()
        self._control: set[Callable[[Request], Response]] = set()
        self._routes()

    # ------------------------------------------------------------------ WSGI entry

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        try:
            response = self.handle(request)
        except StoreError as exc:
            response = kf_error(exc.status, exc.error, exc.message)
        except Exception:  # an emulator bug must still look like Kashflow's generic 500
            log.exception("sandbox error on %s %s", request.method, request.path)
            response = kf_json({"Message": "An error has occurred."}, 500)
        return response(start_response)

    def handle(self, request: Request) -> Response:
        handler, path_seen = self.router.resolve(request)
        if handler is None:
            if path_seen:
                return kf_json(
                    {"Message": f"The requested resource does not support http method '{request.method}'."},
                    405,
                )
            return kf_error(
                404, "NotFound", f"No HTTP resource was found that matches the request URI '{request.path}'."
            )
        if handler in self._control:
            return handler(request)
        slow = self.faults.slow_seconds
        if slow:
            time.sleep(slow)
        if handler in self._public:
            return handler(request)
        fault = self.faults.intercept()
        if fault is not None:
            return fault
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.strip().partition(" ")
        if (
            scheme.lower() != "kftoken"
            or not token.strip()
            or self.store.touch_session(token.strip()) is None
        ):
            return kf_json(INVALID_SESSION, 401)
        return handler(request)

    # ------------------------------------------------------------------ routes

    def _routes(self) -> None:
        r = self.router
        store = self.store

        def public(fn: Callable[[Request], Response]) -> Callable[[Request], Response]:
            self._public.add(fn)
            return fn

        def control(fn: Callable[[Request], Response]) -> Callable[[Request], Response]:
            self._control.add(fn)
            return fn

        @r.route("POST", "/v2/sessiontoken")
        @public
        def login_step1(request: Request) -> Response:
            data = _body(request)
            username, password = _ci(data, "UserName"), _ci(data, "Password")
            if not username or not password:
                raise StoreError(400, "InvalidCredentials", "Invalid username or password.")
            challenge = store.start_login(str(username), str(password))
            return kf_json(
                {
                    "HasTemporaryPassword": False,
                    "IsAdmin": challenge.is_admin,
                    "PackageName": "Business",
                    "PartnerBrandingOptOut": True,
                    "MemorableWordList": [{"Position": p, "Value": ""} for p in challenge.positions],
                    "PartnerId": 0,
                    "SubscriptionExpired": False,
                    "IsLockedOut": False,
                    "TemporaryToken": challenge.temporary_token,
                },
                201,
            )

        @r.route("PUT", "/v2/sessiontoken")
        @public
        def login_step2(request: Request) -> Response:
            data = _body(request)
            entries = _ci(data, "MemorableWordList")
            answers: dict[int, str] = {}
            if isinstance(entries, list):
                for entry in entries:
                    if isinstance(entry, dict):
                        try:
                            answers[int(_ci(entry, "Position"))] = str(_ci(entry, "Value") or "")
                        except (TypeError, ValueError):
                            continue
            token = store.complete_login(str(_ci(data, "TemporaryToken") or ""), answers)
            return kf_json(
                {
                    "SessionToken": token,
                    "CompanyName": store.get_setting("company_name"),
                    "IsAdmin": True,
                    "SubscriptionExpired": False,
                    "SubscriptionExpiryDate": None,
                    "PartnerId": 0,
                    "PackageName": "Business",
                    "PartnerBrandingOptOut": True,
                    "StartPageUrl": "/dashboard",
                    "HasTemporaryPassword": False,
                }
            )

        @r.route("DELETE", "/v2/sessiontoken/{token}")
        @public
        def logout(request: Request) -> Response:
            if store.delete_session(request.params["token"]):
                return Response.empty(204)
            return kf_json(INVALID_SESSION, 401)

        @r.route("GET", "/v2/invoices")
        def list_invoices(request: Request) -> Response:
            page_no, perpage = _paging(request)
            page = store.list_invoices(
                page=page_no,
                perpage=perpage,
                sortby=request.arg("sortby"),
                order=request.arg("order") or "asc",
                customercode=request.arg("customercode"),
                statusfilter=request.arg("statusfilter"),
                issuedatefrom=request.arg("issuedatefrom"),
                issuedateto=request.arg("issuedateto"),
            )
            return kf_json(envelope(request, page, page_no, perpage, amount=True))

        @r.route("GET", "/v2/invoices/{number}")
        def get_invoice(request: Request) -> Response:
            raw = request.params["number"]
            invoice = store.get_invoice(int(raw)) if raw.isdigit() else None
            if invoice is None:
                return kf_error(404, "NotFound", f"Invoice with number {raw} not found.")
            return kf_json(invoice)

        @r.route("POST", "/v2/invoices")
        def create_invoice(request: Request) -> Response:
            return kf_json(store.create_invoice(_body(request)), 201)

        @r.route("GET", "/v2/customers")
        def list_customers(request: Request) -> Response:
            page_no, perpage = _paging(request)
            page = store.list_customers(
                page=page_no,
                perpage=perpage,
                sortby=request.arg("sortby"),
                order=request.arg("order") or "asc",
                namestartswith=request.arg("namestartswith"),
                searchtext=request.arg("searchtext"),
            )
            return kf_json(envelope(request, page, page_no, perpage, amount=False))

        @r.route("GET", "/v2/customers/{code}")
        def get_customer(request: Request) -> Response:
            customer = store.get_customer(request.params["code"])
            if customer is None:
                return kf_error(404, "NotFound", f"Customer with code {request.params['code']} not found.")
            return kf_json(customer)

        @r.route("POST", "/v2/customers")
        def create_customer(request: Request) -> Response:
            return kf_json(store.create_customer(_body(request)), 201)

        @r.route("GET", "/_sandbox/faults")
        @control
        def read_faults(request: Request) -> Response:
            return Response.json(self.faults.snapshot())

        @r.route("POST", "/_sandbox/faults")
        @control
        def write_faults(request: Request) -> Response:
            try:
                self.faults.set(json.loads(request.body or b"{}"))
            except ValueError as exc:
                return Response.json({"Message": str(exc), "Error": "InvalidFaultConfig"}, 400)
            return Response.json(self.faults.snapshot())


def create_app(store: Store, faults: FaultSwitch | None = None) -> KashflowSandbox:
    """Build the sandbox WSGI app around a store (and an optional shared fault switch)."""
    return KashflowSandbox(store, faults)
