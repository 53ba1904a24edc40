"""Kashflow REST v2 emulator as a plain WSGI app (no Django).

It speaks the documented protocol closely enough that the production client runs against it unchanged:
two-step session-token login, ``Authorization: KfToken``, paged ``{MetaData, Data}`` envelopes with
absolute page URLs (built from ``request.root_url``, so they work when the instance is mounted under a
prefix), ``{Message, Error}`` error bodies, 201/200/204 status codes. Faults (``faults.py``) apply to data
routes only. Kashflow sends no webhooks; neither does this.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlencode

from integrations.core.wsgi import DropConnection, Request, Response, Router

from .documents import INVOICE, PURCHASE, DocKind
from .faults import INVALID_SESSION, SQL_TIMEOUT, KashflowFaults
from .model import COUNTRIES, EU_COUNTRIES, Page, StoreError, flag, invalid, not_found
from .parties import CUSTOMER, SUPPLIER, PartyKind
from .render import kf_error, kf_json
from .store import NOTE_OWNERS, Store

__all__ = ["INVALID_SESSION", "SQL_TIMEOUT", "FaultSwitch", "KashflowSandbox", "create_app", "envelope"]

log = logging.getLogger("ledgerbridge.kashflow.sandbox")

FaultSwitch = KashflowFaults  # the name older callers import

DEFAULT_PERPAGE = 50
MAX_PERPAGE = 1000  # real main lists accept at least 250; the exact ceiling is unknown
_TOKEN_PATH = re.compile(r"(/sessiontoken/)[^/]+", re.IGNORECASE)
_USER = "kashflow.user"

Handler = Callable[[Request], Response]


# --------------------------------------------------------------------------- request helpers


def _body(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError):
        raise invalid("The request body is not valid JSON.") from None


def _ci(data: Any, name: str) -> Any:
    if not isinstance(data, dict):
        return None
    lname = name.lower()
    return next((value for key, value in data.items() if str(key).lower() == lname), None)


def _int_arg(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.arg(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"The value '{raw}' is not valid for {name}.") from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid(f"{name} must be {limit}.")
    return value


def _paging(request: Request, default: int = DEFAULT_PERPAGE, maximum: int = MAX_PERPAGE) -> tuple[int, int]:
    skip = flag(request.arg("skipperpagevalidation"))
    perpage = _int_arg(request, "perpage", default, 1, None if skip else maximum)
    return _int_arg(request, "page", 1, 1), perpage


def _number(request: Request, name: str, label: str) -> int:
    raw = request.params[name]
    if not raw.isdigit():
        raise not_found(f"{label} {raw} not found.")
    return int(raw)


def envelope(request: Request, page: Page, page_no: int, perpage: int) -> dict[str, Any]:
    """``{MetaData, Data}`` with absolute page URLs on the instance's root that keep the caller's filters."""
    last = max(1, math.ceil(page.total / perpage))
    others = [(k, v) for k, values in request.query.items() if k.lower() not in ("page", "perpage") for v in values]
    base = f"{request.root_url}{quote(request.path)}"

    def url(n: int) -> str:
        return f"{base}?{urlencode([*others, ('page', n), ('perpage', perpage)])}"

    return {
        "MetaData": {
            "TotalRecords": page.total, "FirstPageUrl": url(1), "LastPageUrl": url(last),
            "PreviousPageUrl": url(min(page_no - 1, last)) if page_no > 1 else None,
            "NextPageUrl": url(page_no + 1) if page_no < last else None,
            "TotalAmount": page.total_amount, "InvoiceLimitReached": False,
        },
        "Data": page.items,
    }


def _saved(result: tuple[dict[str, Any], bool]) -> Response:
    """PUT answers 200, or 201 when the body renamed the record's key (Code / Number)."""
    record, renamed = result
    return kf_json(record, 201 if renamed else 200)


# --------------------------------------------------------------------------- the app


class KashflowSandbox:
    """WSGI callable; ``store`` and ``faults`` are exposed so tests, the demo and the control plane can reach
    them."""

    def __init__(self, store: Store, faults: KashflowFaults | None = None) -> None:
        self.store = store
        self.faults = faults or KashflowFaults()
        self.router = Router()
        self._public: set[Handler] = set()
        self._control: set[Handler] = set()
        self._routes()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        try:
            response = self.handle(request)
        except StoreError as exc:
            response = kf_error(exc.status, exc.error, exc.message)
        except DropConnection:
            raise  # the server closes the socket without an answer
        except Exception:  # an emulator bug must still look like Kashflow's generic 500
            log.exception("sandbox error on %s %s", request.method, _TOKEN_PATH.sub(r"\1***", request.path))
            response = kf_json({"Message": "An error has occurred."}, 500)
        return response(start_response)

    def handle(self, request: Request) -> Response:
        handler, path_seen = self.router.resolve(request)
        if handler is None:
            if path_seen:
                return kf_json({"Message": f"The requested resource does not support http method "
                                           f"'{request.method}'."}, 405)
            return kf_error(404, "NotFound",
                            f"No HTTP resource was found that matches the request URI '{request.path}'.")
        if handler in self._control or handler in self._public:
            return handler(request)
        fault = self.faults.intercept()
        if fault is not None:
            return fault
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        token = token.strip()
        user = self.store.touch_session(token) if scheme.lower() == "kftoken" and token else None
        if user is None:
            return kf_json(INVALID_SESSION, 401)
        if self.faults.expires_session():
            self.store.delete_session(token)
            return kf_json(INVALID_SESSION, 401)
        request.environ[_USER] = user
        return handler(request)

    # ------------------------------------------------------------------ routes

    def _routes(self) -> None:
        self._session_routes()
        for kind in (CUSTOMER, SUPPLIER):
            self._party_routes(kind)
        for kind in (INVOICE, PURCHASE):
            self._document_routes(kind)
        self._note_routes()
        self._ledger_routes()
        self._control_routes()

    def _on(self, method: str, pattern: str, handler: Handler, *, public: bool = False,
            control: bool = False) -> None:
        self.router.route(method, pattern)(handler)
        if public:
            self._public.add(handler)
        if control:
            self._control.add(handler)

    def _session_routes(self) -> None:
        store = self.store

        def login_step1(request: Request) -> Response:
            data = _body(request)
            username, password = _ci(data, "UserName"), _ci(data, "Password")
            if not username or not password:
                raise StoreError(400, "InvalidCredentials", "Invalid username or password.")
            challenge = store.start_login(str(username), str(password))
            return kf_json({
                "HasTemporaryPassword": False, "IsAdmin": challenge.is_admin, "PackageName": "Business",
                "PartnerBrandingOptOut": True,
                "MemorableWordList": [{"Position": p, "Value": ""} for p in challenge.positions],
                "PartnerId": 0, "SubscriptionExpired": False, "IsLockedOut": False,
                "TemporaryToken": challenge.temporary_token,
            }, 201)

        def login_step2(request: Request) -> Response:
            data = _body(request)
            answers: dict[int, str] = {}
            entries = _ci(data, "MemorableWordList")
            for entry in entries if isinstance(entries, list) else []:
                try:
                    answers[int(_ci(entry, "Position"))] = str(_ci(entry, "Value") or "")
                except (TypeError, ValueError):
                    continue
            token = store.complete_login(str(_ci(data, "TemporaryToken") or ""), answers)
            return kf_json({
                "SessionToken": token, "CompanyName": store.get_setting("company_name"), "IsAdmin": True,
                "SubscriptionExpired": False, "SubscriptionExpiryDate": None, "PartnerId": 0,
                "PackageName": "Business", "PartnerBrandingOptOut": True, "StartPageUrl": "/dashboard",
                "HasTemporaryPassword": False,
            })

        def logout(request: Request) -> Response:
            if store.delete_session(request.params["token"]):
                return Response.empty(204)
            return kf_json(INVALID_SESSION, 401)

        self._on("POST", "/v2/sessiontoken", login_step1, public=True)
        self._on("PUT", "/v2/sessiontoken", login_step2, public=True)
        self._on("DELETE", "/v2/sessiontoken/{token}", logout, public=True)

    def _party_routes(self, kind: PartyKind) -> None:
        store, base = self.store, f"/v2/{kind.table}"

        def listing(request: Request) -> Response:
            page_no, perpage = _paging(request)
            page = store.list_parties(
                kind, page=page_no, perpage=perpage, sortby=request.arg("sortby"), order=request.arg("order"),
                namestartswith=request.arg("namestartswith"), searchtext=request.arg("searchtext"),
                filterarchived=request.arg("filterarchived"), startcreationdate=request.arg("startcreationdate"),
                endcreationdate=request.arg("endcreationdate"),
            )
            return kf_json(envelope(request, page, page_no, perpage))

        def update(request: Request) -> Response:
            return _saved(store.update_party(kind, request.params["code"], _body(request),
                                             update_invoice_addresses=flag(request.arg("updateInvoicesAddress"))))

        def delete(request: Request) -> Response:
            store.delete_party(kind, request.params["code"])
            return Response.empty(204)

        self._on("GET", base, listing)
        self._on("POST", base, lambda r: kf_json(store.create_party(kind, _body(r)), 201))
        self._on("GET", base + "/{code}", lambda r: kf_json(store.get_party(kind, r.params["code"])))
        self._on("PUT", base + "/{code}", update)
        self._on("DELETE", base + "/{code}", delete)

    def _document_routes(self, kind: DocKind) -> None:
        store, base = self.store, f"/v2/{kind.table}"
        party_filter, status_filter = (("customercode", "statusfilter") if kind is INVOICE
                                       else ("suppliercode", "filterby"))

        def listing(request: Request) -> Response:
            page_no, perpage = _paging(request)
            page = store.list_documents(
                kind, page=page_no, perpage=perpage, sortby=request.arg("sortby"), order=request.arg("order"),
                party_code=request.arg(party_filter), status=request.arg(status_filter),
                project=request.arg("projectnumber"), date_from=request.arg("issuedatefrom"),
                date_to=request.arg("issuedateto"), search=request.arg("searchtext"),
                doc_type=request.arg("type") if kind is PURCHASE else None,
            )
            return kf_json(envelope(request, page, page_no, perpage))

        def number(request: Request) -> int:
            return _number(request, "number", f"{kind.label} with number")

        def delete(request: Request) -> Response:
            store.delete_document(kind, number(request))
            return Response.empty(204)

        def bulk_number(request: Request) -> int:
            return _number(request, "number", "Bulk payment")

        def bulk_delete(request: Request) -> Response:
            store.delete_bulk_payment(kind, bulk_number(request))
            return Response.empty(204)

        self._on("GET", base, listing)
        self._on("POST", base, lambda r: kf_json(store.create_document(kind, _body(r)), 201))
        self._on("POST", base + "/bulk/payments", lambda r: kf_json(store.create_bulk_payment(kind, _body(r)), 201))
        self._on("GET", base + "/bulk/payments/{number}",
                 lambda r: kf_json(store.get_bulk_payment(kind, bulk_number(r))))
        self._on("PUT", base + "/bulk/payments/{number}",
                 lambda r: kf_json(store.update_bulk_payment(kind, bulk_number(r), _body(r))))
        self._on("DELETE", base + "/bulk/payments/{number}", bulk_delete)
        self._on("GET", base + "/{number}", lambda r: kf_json(store.get_document(kind, number(r))))
        self._on("PUT", base + "/{number}", lambda r: _saved(store.update_document(kind, number(r), _body(r))))
        self._on("DELETE", base + "/{number}", delete)
        self._on("GET", f"/v2/nextavailable{kind.name}number", lambda r: kf_json(store.next_number(kind)))

    def _note_routes(self) -> None:
        """Notes on customers (1), suppliers (2), invoices (3) and purchases (5), by number or by name."""
        for alias in sorted(NOTE_OWNERS):
            self._note_routes_for(alias)

    def _note_routes_for(self, alias: str) -> None:
        store, base = self.store, f"/v2/{alias}/{{key}}/notes"

        def user(request: Request) -> str:
            return str(request.environ.get(_USER) or "")

        def number(request: Request) -> int:
            return _number(request, "number", "Note")

        def delete(request: Request) -> Response:
            store.delete_note(alias, request.params["key"], number(request))
            return Response.empty(204)

        self._on("GET", base, lambda r: kf_json(store.list_notes(alias, r.params["key"])))
        self._on("POST", base, lambda r: kf_json(store.create_note(alias, r.params["key"], _body(r), user(r)), 201))
        self._on("GET", base + "/{number}", lambda r: kf_json(store.get_note(alias, r.params["key"], number(r))))
        self._on("PUT", base + "/{number}",
                 lambda r: kf_json(store.update_note(alias, r.params["key"], number(r), _body(r), user(r))))
        self._on("DELETE", base + "/{number}", delete)

    def _ledger_routes(self) -> None:
        for register in (self._nominal_routes, self._product_routes, self._setup_routes, self._bank_routes,
                         self._journal_routes):
            register()

    def _nominal_routes(self) -> None:
        store = self.store

        def nominal_code(request: Request) -> int:
            return _number(request, "code", "Nominal code")

        def create_nominal(request: Request) -> Response:
            nominal, created = store.create_nominal(_body(request))
            return kf_json(nominal, 201 if created else 200)

        def delete_nominal(request: Request) -> Response:
            assigned = request.arg("assignedCode")
            store.delete_nominal(nominal_code(request), int(assigned) if assigned and assigned.isdigit() else None)
            return Response.empty(204)

        def nominal_products(request: Request) -> Response:
            page_no, perpage = _paging(request, 10, 100)
            page = store.list_products(page=page_no, perpage=perpage, sortby=request.arg("sortcolumn"),
                                       order=request.arg("order"), nominalcode=nominal_code(request),
                                       filterbycharacter=request.arg("filterbycharacter"),
                                       filterbyinuseonly=flag(request.arg("filterbyinuseonly") or "true"))
            return kf_json(envelope(request, page, page_no, perpage))

        self._on("GET", "/v2/nominals", lambda r: kf_json(store.list_nominals(
            type=r.arg("type"), area=r.arg("area"), searchtext=r.arg("searchText"))))
        self._on("POST", "/v2/nominals", create_nominal)
        self._on("GET", "/v2/nominals/Id/{id}", lambda r: kf_json(store.get_nominal(
            nominal_id=_number(r, "id", "Nominal with Id"))))
        self._on("GET", "/v2/nominals/{code}", lambda r: kf_json(store.get_nominal(nominal_code(r))))
        self._on("PUT", "/v2/nominals/{code}", lambda r: kf_json(store.update_nominal(nominal_code(r), _body(r))))
        self._on("DELETE", "/v2/nominals/{code}", delete_nominal)
        self._on("GET", "/v2/nominals/{code}/products", nominal_products)

    def _product_routes(self) -> None:
        store = self.store

        def products(request: Request, *, all_products: bool) -> Response:
            page_no, perpage = _paging(request, 10 if all_products else DEFAULT_PERPAGE, 100 if all_products
                                       else MAX_PERPAGE)
            in_use = request.arg("filterbyinuseonly") or ("true" if all_products else "false")
            page = store.list_products(page=page_no, perpage=perpage,
                                       sortby=request.arg("sortcolumn") or request.arg("sortby"),
                                       order=request.arg("order"), filterbycharacter=request.arg("filterbycharacter"),
                                       filterbyinuseonly=flag(in_use))
            return kf_json(envelope(request, page, page_no, perpage))

        def product_key(request: Request) -> tuple[int, str]:
            return _number(request, "nominal", "Nominal code"), request.params["code"]

        def delete_product(request: Request) -> Response:
            store.delete_product(*product_key(request))
            return Response.empty(204)

        self._on("GET", "/v2/products", lambda r: products(r, all_products=False))
        self._on("GET", "/v2/products/list", lambda r: products(r, all_products=True))
        self._on("POST", "/v2/products", lambda r: kf_json(store.create_product(_body(r)), 201))
        self._on("GET", "/v2/products/{nominal}/{code}", lambda r: kf_json(store.get_product(*product_key(r))))
        self._on("PUT", "/v2/products/{nominal}/{code}",
                 lambda r: _saved(store.update_product(*product_key(r), _body(r))))
        self._on("DELETE", "/v2/products/{nominal}/{code}", delete_product)

    def _setup_routes(self) -> None:
        """VAT rates, currencies, payment methods, countries and account metadata."""
        store = self.store

        def add_vat_rate(request: Request) -> Response:
            store.add_vat_rate(request.params["rate"])
            return kf_json({}, 201)

        def delete_vat_rate(request: Request) -> Response:
            store.delete_vat_rate(_number(request, "rate", "VAT rate with Id"))
            return Response.empty(204)

        self._on("GET", "/v2/vat/settings/vatrates", lambda r: kf_json(store.list_vat_rates()))
        self._on("POST", "/v2/vat/settings/vatrates/{rate}", add_vat_rate)
        self._on("DELETE", "/v2/vat/settings/vatrates/{rate}", delete_vat_rate)

        def delete_currency(request: Request) -> Response:
            store.delete_currency(request.params["code"])
            return Response.empty(204)

        self._on("GET", "/v2/currencies", lambda r: kf_json(store.available_currencies()))
        self._on("GET", "/v2/currencies/list", lambda r: kf_json(store.list_currencies()))
        self._on("POST", "/v2/currencies", lambda r: kf_json(store.create_currency(_body(r)), 201))
        self._on("GET", "/v2/currencies/{code}", lambda r: kf_json(store.get_currency(r.params["code"])))
        self._on("PUT", "/v2/currencies/{code}", lambda r: kf_json(store.update_currency(r.params["code"], _body(r))))
        self._on("DELETE", "/v2/currencies/{code}", delete_currency)
        self._on("GET", "/v2/paymentmethods/{type}", lambda r: kf_json(store.list_payment_methods(r.params["type"])))
        self._on("GET", "/v2/countries", lambda r: kf_json([
            {"Id": n, "Code": code, "Name": name, "IsEU": code in EU_COUNTRIES}
            for n, (code, name) in enumerate(COUNTRIES.items(), start=1) if code != "GR"]))
        self._on("GET", "/v2/metadata", lambda r: kf_json(store.metadata()))

    def _bank_routes(self) -> None:
        store = self.store

        def account_id(request: Request) -> int:
            return _number(request, "id", "Bank account with Id")

        def bank_list(request: Request) -> Response:
            page_no, perpage = _paging(request, 1000, 1000)
            page = store.page_bank_accounts(page=page_no, perpage=perpage, order=request.arg("order"),
                                            include_archived=flag(request.arg("includearchivedaccounts")))
            return kf_json(envelope(request, page, page_no, perpage))

        def delete_account(request: Request) -> Response:
            store.delete_bank_account(account_id(request))
            return Response.empty(204)

        self._on("GET", "/v2/bankaccounts", lambda r: kf_json(store.list_bank_accounts(
            include_archived=flag(r.arg("includeArchivedAccounts")))))
        self._on("GET", "/v2/bankaccounts/list", bank_list)
        self._on("GET", "/v2/bankaccounts/suggestedcode", lambda r: kf_json(store.suggested_bank_code()))
        self._on("POST", "/v2/bankaccounts", lambda r: kf_json(store.create_bank_account(_body(r)), 201))
        self._on("GET", "/v2/bankaccounts/{id}", lambda r: kf_json(store.get_bank_account(account_id(r))))
        self._on("PUT", "/v2/bankaccounts/{id}", lambda r: kf_json(store.update_bank_account(account_id(r), _body(r))))
        self._on("DELETE", "/v2/bankaccounts/{id}", delete_account)

    def _journal_routes(self) -> None:
        store = self.store

        def journal_no(request: Request) -> int:
            return _number(request, "number", "Journal with number")

        def journals(request: Request) -> Response:
            page_no, perpage = _paging(request)
            page = store.list_journals(page=page_no, perpage=perpage, sortby=request.arg("sortby"),
                                       order=request.arg("order"))
            return kf_json(envelope(request, page, page_no, perpage))

        def delete_journal(request: Request) -> Response:
            store.delete_journal(journal_no(request))
            return Response.empty(204)

        self._on("GET", "/v2/journals", journals)
        self._on("POST", "/v2/journals", lambda r: kf_json(store.create_journal(_body(r)), 201))
        self._on("GET", "/v2/journals/{number}", lambda r: kf_json(store.get_journal(journal_no(r))))
        self._on("PUT", "/v2/journals/{number}", lambda r: _saved(store.update_journal(journal_no(r), _body(r))))
        self._on("DELETE", "/v2/journals/{number}", delete_journal)

    def _control_routes(self) -> None:
        """Sandbox-only routes (not Kashflow's): fault switches and state, for the control plane and tests."""

        def write_faults(request: Request) -> Response:
            try:
                config = json.loads(request.body or b"{}")
                (self.faults.update if request.method == "PATCH" else self.faults.set)(config)
            except ValueError as exc:
                return Response.json({"Message": str(exc), "Error": "InvalidFaultConfig"}, 400)
            return Response.json(self.faults.snapshot())

        def unlock(request: Request) -> Response:
            return Response.json({"unlocked": self.store.unlock()})

        self._on("GET", "/_sandbox/faults", lambda r: Response.json(self.faults.snapshot()), control=True)
        self._on("POST", "/_sandbox/faults", write_faults, control=True)
        self._on("PATCH", "/_sandbox/faults", write_faults, control=True)
        self._on("GET", "/_sandbox/state", lambda r: Response.json({
            "company_name": self.store.get_setting("company_name"), "counts": self.store.counts(),
            "faults": self.faults.snapshot()}), control=True)
        self._on("POST", "/_sandbox/unlock", unlock, control=True)


def create_app(store: Store, faults: KashflowFaults | None = None) -> KashflowSandbox:
    """Build the sandbox WSGI app around a store (and an optional shared fault switch)."""
    return KashflowSandbox(store, faults)

