"""Transport for Kashflow's REST API v2: login, paging and error classification.

Written against the documented protocol only, so it runs unchanged against api.kashflow.com and the
sandbox. Every failure leaves as one of the typed errors in ``integrations.core.errors`` with a message
a tenant can read; secrets (password, memorable word, tokens) never reach logs or exception text.
Not thread-safe: use one client per worker.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from integrations.core.errors import (
    AuthError,
    ConfigurationError,
    ConnectorError,
    NotFoundError,
    TargetValidationError,
    TransientError,
)
from integrations.core.http import parse_retry_after

log = logging.getLogger("ledgerbridge.kashflow")

SYSTEM = "Kashflow"
_TOKEN_IN_PATH = re.compile(r"(/sessiontoken/)[^/?#\s\"']+", re.IGNORECASE)
_SQL_CODE = re.compile(r"^-?\d{6,}$")


class _RedactSessionPaths(logging.Filter):
    """urllib3 logs request lines at DEBUG; the logout URL carries the session token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_TOKEN_IN_PATH.sub(r"\1***", a) if isinstance(a, str) else a for a in args)
        return True


_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _RedactSessionPaths) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(_RedactSessionPaths())


# --------------------------------------------------------------------------- classification


@dataclass(frozen=True)
class _Rule:
    """One row of the status -> error table; first match wins."""

    statuses: tuple[int, ...]
    error: type[ConnectorError]
    message: str  # may use {message} (Kashflow's text) and {status}
    codes: tuple[str, ...] = ()  # match on body "Error" (case-insensitive); empty = any
    sql_timeout: bool = False  # match only Kashflow's SQL-exception-as-400 answers
    during_login: bool | None = None  # None = either phase


_5XX = tuple(range(500, 600))

ERROR_TABLE: tuple[_Rule, ...] = (
    _Rule(
        (400, 401, 403),
        AuthError,
        "Kashflow has locked this user after repeated failed logins; an administrator must unlock it in "
        "Kashflow before the connection can work again.",
        codes=("accountlocked",),
    ),
    _Rule(
        (400, 401),
        AuthError,
        "Kashflow says the password for this user has expired; set a new one in Kashflow and update the "
        "connection.",
        codes=("passwordexpired",),
    ),
    _Rule(
        (400,),
        TransientError,
        "Kashflow's database timed out; the request will be retried.",
        sql_timeout=True,
    ),
    _Rule(
        (400,),
        AuthError,
        "Kashflow refused the user name, password or memorable word.",
        codes=("invalidcredentials", "invalidmemorableword", "invalidusernameorpassword"),
    ),
    _Rule(
        (400, 401, 403),
        AuthError,
        "Kashflow refused the user name, password or memorable word.",
        during_login=True,
    ),
    _Rule(
        (401,),
        AuthError,
        "Kashflow rejected the session even after logging in again.",
        codes=("invalidsessiontoken",),
    ),
    _Rule((401, 403), AuthError, "Kashflow refused access for this user: {message}"),
    _Rule((404,), NotFoundError, "Kashflow has no such record: {message}"),
    _Rule((408, 429), TransientError, "Kashflow is busy (HTTP {status}); will retry."),
    _Rule(_5XX, TransientError, "Kashflow had a server problem (HTTP {status}); will retry."),
    _Rule((400, 409, 422), TargetValidationError, "Kashflow rejected the request: {message}"),
)


def _is_sql_timeout(code: str, message: str) -> bool:
    return bool(_SQL_CODE.match(code.strip())) or "execution timeout expired" in message.lower()


# --------------------------------------------------------------------------- resources


class Resource:
    """CRUD on one Kashflow resource, in its own URL shapes.

    ``key`` is a record's Code or Number (a ``(nominal_code, code)`` pair for products). ``list`` follows
    ``NextPageUrl`` for paged lists and returns bare-array lists as they are. Updates are full replacements
    in Kashflow (an omitted field is reset): read the record, change it, send it back.
    """

    def __init__(self, client: KashflowClient, path: str, *, list_path: str | None = None, paged: bool = True,
                 perpage: int = 100) -> None:
        self.client = client
        self.path = path
        self.list_path = list_path or path
        self.paged = paged
        self.perpage = perpage

    def _item(self, key: Any) -> str:
        parts = key if isinstance(key, tuple) else (key,)
        return "/".join([self.path, *(quote(str(part), safe="") for part in parts)])

    def list(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every record; filters use Kashflow's query names (snake_case is accepted: customer_code)."""
        params = {key.replace("_", "").lower(): value for key, value in filters.items()}
        if not self.paged:
            return iter(self.client.get(self.list_path, params or None) or [])
        perpage = int(params.pop("perpage", self.perpage))
        return self.client.iter_pages(self.list_path, params, perpage=perpage)

    def get(self, key: Any) -> dict[str, Any]:
        return self.client.get(self._item(key))

    def create(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST. A timeout here is ambiguous: look the record up by its Code/Number before retrying."""
        return self.client.post(self.path, dict(payload))

    def update(self, key: Any, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT (full replacement). A different Code/Number in ``payload`` renames the record."""
        return self.client.put(self._item(key), dict(payload))

    def delete(self, key: Any) -> None:
        self.client.delete(self._item(key))


# --------------------------------------------------------------------------- client


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return f"{value.isoformat()} 12:00:00"
    raise TypeError(f"cannot send {type(value).__name__} to Kashflow")


def _param(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class KashflowClient:
    """Kashflow REST v2 session: logs in lazily, re-logs in once on an expired token."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        memorable_word: str,
        *,
        timeout: float = 30,
        session: requests.Session | None = None,
    ) -> None:
        base = (base_url or "").strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                "The Kashflow base URL must look like https://api.kashflow.com/v2",
                system=SYSTEM,
                code="BadBaseUrl",
            )
        self.base_url = base
        self._origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        self._base_path = parts.path.rstrip("/")
        self.username = username
        self._password = password
        self._word = memorable_word
        self.timeout = timeout
        self.http = session or requests.Session()
        self._token: str | None = None
        self.company_name: str | None = None
        self.customers = Resource(self, "customers")
        self.suppliers = Resource(self, "suppliers")
        self.invoices = Resource(self, "invoices")
        self.purchases = Resource(self, "purchases")
        self.products = Resource(self, "products", list_path="products/list", perpage=100)
        self.nominals = Resource(self, "nominals", paged=False)
        self.bank_accounts = Resource(self, "bankaccounts", paged=False)
        self.journals = Resource(self, "journals")
        self.currencies = Resource(self, "currencies", list_path="currencies/list", paged=False)

    def __repr__(self) -> str:  # never show secrets, even in debuggers and error reports
        return f"KashflowClient({self.base_url!r}, user={self.username!r})"

    def __enter__(self) -> KashflowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.logout()

    # ------------------------------------------------------------------ URLs & secrets

    def _url(self, path: str) -> str:
        """Absolute, host-relative ('/v2/...') or base-relative ('invoices?page=2') -> URL on our host.

        Absolute URLs are re-rooted on the configured origin so the session token never travels to a
        host (or scheme) other than the one the tenant configured.
        """
        if "://" in path:
            parts = urlsplit(path)
            return urlunsplit((*urlsplit(self._origin)[:2], parts.path, parts.query, ""))
        if self._base_path and (path == self._base_path or path.startswith(self._base_path + "/")):
            return self._origin + path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _scrub(self, text: str) -> str:
        for secret in (self._password, self._word, self._token):
            if secret and len(secret) >= 3:
                text = re.sub(re.escape(secret), "***", text, flags=re.IGNORECASE)
        return _TOKEN_IN_PATH.sub(r"\1***", text)

    def _for_log(self, url: str) -> str:
        parts = urlsplit(url)
        return self._scrub(parts.path + (f"?{parts.query}" if parts.query else ""))

    # ------------------------------------------------------------------ HTTP

    def _send(
        self, method: str, url: str, *, params: Mapping[str, Any] | None, body: Any, headers: dict[str, str]
    ) -> requests.Response:
        """One HTTP exchange; transport failures become TransientError without echoing the URL."""
        data = None if body is None else json.dumps(body, default=_encode)
        headers = {"Accept": "application/json", **headers}
        if data is not None:
            headers["Content-Type"] = "application/json"
        clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = self.http.request(
                method, url, params=clean_params or None, data=data, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            log.debug("%s %s timed out", method, self._for_log(url))
            raise TransientError(
                f"Kashflow did not answer within {self.timeout:g} seconds; will retry.",
                system=SYSTEM,
                code="Timeout",
            ) from None
        except requests.ConnectionError:
            log.debug("%s %s connection failed", method, self._for_log(url))
            raise TransientError(
                f"Could not connect to Kashflow at {urlsplit(url).netloc}; will retry.",
                system=SYSTEM,
                code="ConnectionError",
            ) from None
        except requests.RequestException as exc:
            raise TransientError(
                f"Talking to Kashflow failed ({type(exc).__name__}); will retry.",
                system=SYSTEM,
                code=type(exc).__name__,
            ) from None
        log.debug("%s %s -> %s", method, self._for_log(response.url or url), response.status_code)
        return response

    @staticmethod
    def _json(response: requests.Response) -> Any:
        """Parsed body (money as Decimal) or None when it is empty or not JSON."""
        if not response.content:
            return None
        try:
            return json.loads(response.content.decode(response.encoding or "utf-8-sig"), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            return None

    def _error(self, response: requests.Response, *, during_login: bool) -> ConnectorError:
        """Map a failed response through ERROR_TABLE; message readable and free of secrets."""
        body = self._json(response)
        code = message = ""
        if isinstance(body, dict):
            lowered = {str(k).lower(): v for k, v in body.items()}
            code = str(lowered.get("error") or "")
            message = str(lowered.get("message") or "")
        status = response.status_code
        if not message:
            message = f"HTTP {status} {response.reason or ''}".strip()
        message = self._scrub(message)[:500]
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if status in (429, 503) else None
        for rule in ERROR_TABLE:
            if status not in rule.statuses:
                continue
            if rule.codes and code.lower() not in rule.codes:
                continue
            if rule.sql_timeout and not _is_sql_timeout(code, message):
                continue
            if rule.during_login is not None and rule.during_login != during_login:
                continue
            error_cls, text = rule.error, rule.message.format(message=message, status=status)
            break
        else:
            error_cls = TransientError if status >= 500 else TargetValidationError
            text = f"Kashflow answered HTTP {status}: {message}"
        if during_login and error_cls is NotFoundError:
            error_cls = ConfigurationError
            text = "No Kashflow API answered at this address; the base URL should end in /v2."
        log.debug("Kashflow error %s %s -> %s", status, code or "-", error_cls.__name__)
        return error_cls(
            text,
            system=SYSTEM,
            code=code or str(status),
            status=status,
            retry_after=retry_after,
            payload=None if error_cls is AuthError else (body if isinstance(body, dict | list) else None),
        )

    # ------------------------------------------------------------------ session

    def login(self) -> str:
        """Two-step login (password, then 3 memorable-word characters); returns the company name."""
        self._token = None
        step1 = self._send(
            "POST",
            self._url("sessiontoken"),
            params=None,
            body={"UserName": self.username, "Password": self._password},
            headers={},
        )
        if step1.status_code not in (200, 201):
            raise self._error(step1, during_login=True)
        data = self._json(step1)
        if not isinstance(data, dict) or not data.get("TemporaryToken"):
            raise ConfigurationError(
                "Kashflow's login answer was not understood; check the base URL ends in /v2.",
                system=SYSTEM,
                code="UnexpectedLoginResponse",
                status=step1.status_code,
            )
        answers = []
        for entry in data.get("MemorableWordList") or []:
            try:
                position = int(entry["Position"])
            except (KeyError, TypeError, ValueError):
                raise ConfigurationError(
                    "Kashflow's login answer was not understood (memorable word positions).",
                    system=SYSTEM,
                    code="UnexpectedLoginResponse",
                ) from None
            if not 1 <= position <= len(self._word):
                raise AuthError(
                    "Kashflow asked for a memorable-word character beyond the stored word's length; "
                    "check the memorable word.",
                    system=SYSTEM,
                    code="MemorableWordTooShort",
                )
            answers.append({"Position": position, "Value": self._word[position - 1]})
        step2 = self._send(
            "PUT",
            self._url("sessiontoken"),
            params=None,
            body={"TemporaryToken": data["TemporaryToken"], "MemorableWordList": answers},
            headers={},
        )
        if step2.status_code not in (200, 201):
            raise self._error(step2, during_login=True)
        final = self._json(step2)
        token = final.get("SessionToken") if isinstance(final, dict) else None
        if not token:
            raise ConfigurationError(
                "Kashflow's login answer had no session token.",
                system=SYSTEM,
                code="UnexpectedLoginResponse",
                status=step2.status_code,
            )
        self._token = str(token)
        self.company_name = str(final.get("CompanyName") or "") or None
        log.debug("logged in to Kashflow as %s", self.username)
        return self.company_name or ""

    def logout(self) -> bool:
        """Expire the session token now (best effort: a failed logout never fails a sync)."""
        if not self._token:
            return False
        token, self._token = self._token, None
        try:
            response = self._send(
                "DELETE",
                self._url(f"sessiontoken/{quote(token, safe='')}"),
                params=None,
                body=None,
                headers={"Authorization": f"KfToken {token}"},
            )
        except ConnectorError as exc:
            log.debug("Kashflow logout failed: %s", exc.code)
            return False
        return response.status_code in (200, 204)

    def check(self) -> str:
        """'Test connection': a fresh login; returns the company name Kashflow reports."""
        return self.login() or self.username

    # ------------------------------------------------------------------ requests

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        """Authenticated call; re-logs in exactly once when Kashflow says the token is invalid."""
        url = self._url(path)
        for attempt in (1, 2):
            if not self._token:
                self.login()
            response = self._send(
                method, url, params=params, body=body, headers={"Authorization": f"KfToken {self._token}"}
            )
            if response.status_code == 401 and attempt == 1:
                body_json = self._json(response)
                code = str(body_json.get("Error") or "") if isinstance(body_json, dict) else ""
                if code.lower() != "accountlocked":
                    log.debug("Kashflow session rejected (%s); logging in again", code or "401")
                    self._token = None
                    continue
            if response.status_code >= 400:
                raise self._error(response, during_login=False)
            if response.status_code == 204 or not response.content:
                return None
            parsed = self._json(response)
            if parsed is None:
                raise TransientError(
                    f"Kashflow answered HTTP {response.status_code} with a body that is not JSON; "
                    "will retry.",
                    system=SYSTEM,
                    code="NotJson",
                    status=response.status_code,
                )
            return parsed
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body=body)

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, perpage: int = 100
    ) -> Iterator[Any]:
        """Yield every item of ``Data`` across pages, following ``MetaData.NextPageUrl`` until null."""
        query = {"page": 1, "perpage": perpage, **(params or {})}
        page = self.get(path, query)
        seen: set[str] = set()
        while True:
            if isinstance(page, list):  # some Kashflow lists are bare arrays
                yield from page
                return
            if not isinstance(page, dict):
                raise TargetValidationError(
                    "Kashflow returned a list page that is not understood.",
                    system=SYSTEM,
                    code="UnexpectedPage",
                )
            yield from page.get("Data") or []
            next_url = (page.get("MetaData") or {}).get("NextPageUrl")
            if not next_url:
                return
            target = self._url(str(next_url))
            if target in seen:
                raise TransientError(
                    "Kashflow's paging went round in a loop; will retry.", system=SYSTEM, code="PagingLoop"
                )
            seen.add(target)
            page = self.get(target)

    # ------------------------------------------------------------------ resources

    def list_invoices(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Invoice list items (no PaymentLines). Filters use Kashflow's names: customercode, statusfilter,
        issuedatefrom, issuedateto, sortby, order; snake_case (customer_code) is accepted too."""
        perpage = int(filters.pop("perpage", 100))
        params = {key.replace("_", "").lower(): value for key, value in filters.items()}
        return self.iter_pages("invoices", params, perpage=perpage)

    def get_invoice(self, number: int | str) -> dict[str, Any]:
        return self.get(f"invoices/{quote(str(number), safe='')}")

    def list_customers(self, **filters: Any) -> Iterator[dict[str, Any]]:
        perpage = int(filters.pop("perpage", 100))
        params = {key.replace("_", "").lower(): value for key, value in filters.items()}
        return self.iter_pages("customers", params, perpage=perpage)

    def get_customer(self, code: str) -> dict[str, Any]:
        return self.get(f"customers/{quote(str(code), safe='')}")

    def create_invoice(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /invoices. A timeout here is ambiguous: look the Number up before retrying."""
        return self.post("invoices", dict(payload))

    def create_customer(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.post("customers", dict(payload))

    # ------------------------------------------------------------------ payments, stock, notes, set-up

    def create_bulk_payment(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST /{invoices|purchases}/bulk/payments: add payment lines to documents without rewriting them
        (``PaymentItems: [{ObjectNumber, Amount, PaidDate}]`` plus ``Date, AccountId, Method, Comment``)."""
        return self.post(f"{_document_kind(kind)}/bulk/payments", dict(payload))

    def get_bulk_payment(self, kind: str, number: int) -> dict[str, Any]:
        return self.get(f"{_document_kind(kind)}/bulk/payments/{int(number)}")

    def delete_bulk_payment(self, kind: str, number: int) -> None:
        self.delete(f"{_document_kind(kind)}/bulk/payments/{int(number)}")

    def set_stock_level(self, nominal_code: int, code: str, quantity: int) -> dict[str, Any]:
        """Set a product's QuantityInStock (read-modify-write: Kashflow's PUT replaces the whole product)."""
        product = self.products.get((nominal_code, code))
        product["QuantityInStock"] = int(quantity)
        return self.products.update((nominal_code, code), product)

    def list_notes(self, object_type: str, key: Any) -> list[dict[str, Any]]:
        """Notes on customers/suppliers (by Code) or invoices/purchases (by Number)."""
        return self.get(f"{object_type}/{quote(str(key), safe='')}/notes") or []

    def add_note(self, object_type: str, key: Any, text: str) -> dict[str, Any]:
        return self.post(f"{object_type}/{quote(str(key), safe='')}/notes", {"Text": text})

    def update_note(self, object_type: str, key: Any, number: int, text: str) -> dict[str, Any]:
        return self.put(f"{object_type}/{quote(str(key), safe='')}/notes/{int(number)}", {"Text": text})

    def delete_note(self, object_type: str, key: Any, number: int) -> None:
        self.delete(f"{object_type}/{quote(str(key), safe='')}/notes/{int(number)}")

    def list_vat_rates(self) -> list[dict[str, Any]]:
        return self.get("vat/settings/vatrates") or []

    def list_payment_methods(self, kind: str) -> list[dict[str, Any]]:
        return self.get(f"paymentmethods/{'invoice' if kind.startswith('invoice') else 'purchase'}") or []

    def metadata(self) -> dict[str, Any]:
        return self.get("metadata")

    def next_number(self, kind: str) -> int:
        """The number Kashflow would give the next invoice/purchase."""
        return int(self.get(f"nextavailable{_document_kind(kind)[:-1]}number"))


def _document_kind(kind: str) -> str:
    kinds = {"invoice": "invoices", "invoices": "invoices", "purchase": "purchases", "purchases": "purchases"}
    if kind.lower() not in kinds:
        raise ValueError(f"kind must be 'invoices' or 'purchases', not {kind!r}")
    return kinds[kind.lower()]
