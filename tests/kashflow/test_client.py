"""KashflowClient against the sandbox served over real HTTP on 127.0.0.1 (ServerThread, port 0)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from integrations.core.errors import (
    AuthError,
    ConfigurationError,
    NotFoundError,
    TargetValidationError,
    TransientError,
)
from integrations.core.http import parse_retry_after
from integrations.core.wsgi import ServerThread
from integrations.kashflow.adapter import iter_sales_invoices
from integrations.kashflow.client import KashflowClient
from integrations.kashflow.sandbox import (
    SEED_NOMINAL_CODES,
    FaultSwitch,
    ManualClock,
    Store,
    create_app,
    seed,
)

USER, PASSWORD, WORD = "studio.admin", "S3cret-Pa55phrase", "Marmalade"
SECRETS = (PASSWORD, WORD)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> Store:
    s = Store(":memory:", clock=clock)
    seed(
        s,
        customers=12,
        invoices=60,
        rng_seed=3,
        username=USER,
        password=PASSWORD,
        memorable_word=WORD,
        today=date(2025, 6, 30),
    )
    return s


@pytest.fixture
def faults() -> FaultSwitch:
    return FaultSwitch()


class _Swappable:
    """One socket server per module (stopping a ServerThread costs its 0.5 s poll); apps swap per test."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def _shared_server() -> Iterator[tuple[ServerThread, _Swappable]]:
    holder = _Swappable()
    with ServerThread(holder) as srv:
        yield srv, holder


@pytest.fixture
def server(
    _shared_server: tuple[ServerThread, _Swappable], store: Store, faults: FaultSwitch
) -> ServerThread:
    srv, holder = _shared_server
    holder.app = create_app(store, faults)
    return srv


@pytest.fixture
def client(server: ServerThread) -> Iterator[KashflowClient]:
    with KashflowClient(f"{server.url}/v2", USER, PASSWORD, WORD, timeout=5) as c:
        yield c


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in text.lower()


def test_check_logs_in_and_returns_company(client: KashflowClient) -> None:
    assert client.check() == "Inkwell & Grain Design Studio Ltd"


def test_pages_through_all_invoices(client: KashflowClient, store: Store) -> None:
    items = list(client.list_invoices(perpage=7))
    assert [i["Number"] for i in items] == list(range(1, 61))
    assert isinstance(items[0]["GrossAmount"], Decimal)  # money never goes through float
    assert all("PaymentLines" not in i for i in items)
    customers = list(client.list_customers(perpage=5))
    assert len(customers) == 12


def test_filters_and_detail(client: KashflowClient) -> None:
    code = next(client.list_invoices())["CustomerCode"]
    mine = list(client.list_invoices(customer_code=code, perpage=10))
    assert mine and {i["CustomerCode"] for i in mine} == {code}
    since = list(client.list_invoices(issuedatefrom=date(2025, 5, 1)))
    assert since and all(i["IssuedDate"] >= "2025-05-01" for i in since)
    invoice = client.get_invoice(mine[0]["Number"])
    assert invoice["PaymentLines"] is not None and invoice["LineItems"]
    assert client.get_customer(code)["Code"] == code


def test_relogin_once_after_session_expiry(client: KashflowClient, clock: ManualClock) -> None:
    client.get("invoices", {"perpage": 1})
    first = client._token
    clock.advance(61 * 60)
    assert client.get("invoices", {"perpage": 1})["Data"]
    assert client._token and client._token != first


def test_relogin_is_attempted_only_once(
    client: KashflowClient, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    client.login()
    logins = []
    real_login = client.login

    def counting_login() -> str:
        logins.append(1)
        return real_login()

    monkeypatch.setattr(client, "login", counting_login)
    monkeypatch.setattr(store, "touch_session", lambda token: None)  # every token now rejected
    with pytest.raises(AuthError) as info:
        client.get("invoices")
    assert len(logins) == 1 and info.value.status == 401


def test_wrong_password_is_readable_auth_error(
    server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad = KashflowClient(f"{server.url}/v2", USER, "Wr0ng-Pa55word-xyz", WORD)
    with pytest.raises(AuthError) as info:
        bad.check()
    assert str(info.value) == "Kashflow: Kashflow refused the user name, password or memorable word."
    assert "Wr0ng-Pa55word-xyz" not in str(info.value) and "Wr0ng-Pa55word-xyz" not in caplog.text
    assert "Wr0ng-Pa55word-xyz" not in repr(bad) and "Traceback" not in str(info.value)
    assert info.value.code == "InvalidCredentials" and not info.value.retryable


def test_wrong_memorable_word_and_lockout(
    server: ServerThread, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad = KashflowClient(f"{server.url}/v2", USER, PASSWORD, "Zzzzzzzzzz")
    for _ in range(4):
        with pytest.raises(AuthError, match="memorable word"):
            bad.check()
    with pytest.raises(AuthError, match="locked this user") as info:
        bad.check()
    assert info.value.code == "AccountLocked"
    with pytest.raises(AuthError, match="locked this user"):  # even correct secrets now
        KashflowClient(f"{server.url}/v2", USER, PASSWORD, WORD).check()
    assert_no_secrets(caplog.text)
    assert "zzzzzzzzzz" not in caplog.text.lower()


def test_secrets_and_tokens_never_logged(client: KashflowClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.check()
    token = client._token
    list(client.list_invoices(perpage=30))
    assert client.logout() is True
    assert token and token not in caplog.text and token.lower() not in caplog.text.lower()
    assert_no_secrets(caplog.text)
    assert "ledgerbridge.kashflow" in {r.name for r in caplog.records}


def test_logout_expires_token(client: KashflowClient, store: Store) -> None:
    client.check()
    token = client._token
    assert client.logout() is True
    assert store.touch_session(token) is None
    assert client.logout() is False  # nothing to do


def test_rate_limit_is_transient_with_retry_after(client: KashflowClient, faults: FaultSwitch) -> None:
    client.check()
    faults.set({"rate_limit": {"every": 1, "retry_after": 2}})
    with pytest.raises(TransientError) as info:
        client.get("invoices")
    assert info.value.retry_after == 2 and info.value.status == 429 and info.value.retryable


def test_sql_timeout_400_is_transient(client: KashflowClient, faults: FaultSwitch) -> None:
    faults.set({"sql_timeout": {"every": 1}})
    with pytest.raises(TransientError) as info:
        list(client.list_invoices())
    assert info.value.code == "-2146232060" and "timed out" in info.value.message


def test_server_error_with_html_body_is_transient(client: KashflowClient, faults: FaultSwitch) -> None:
    faults.set({"server_error": {"every": 1, "status": 503}})
    with pytest.raises(TransientError) as info:
        client.get_invoice(1)
    assert info.value.status == 503


def test_timeout_and_connection_errors_are_transient(server: ServerThread, faults: FaultSwitch) -> None:
    slow = KashflowClient(f"{server.url}/v2", USER, PASSWORD, WORD, timeout=0.2)
    slow.check()
    faults.set({"slow_ms": 600})
    with pytest.raises(TransientError, match="did not answer"):
        slow.get("invoices")
    faults.clear()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = KashflowClient(f"http://127.0.0.1:{port}/v2", USER, PASSWORD, WORD, timeout=1)
    with pytest.raises(TransientError, match="Could not connect") as info:
        dead.check()
    assert_no_secrets(str(info.value))


def test_not_found_and_validation(client: KashflowClient) -> None:
    with pytest.raises(NotFoundError):
        client.get_invoice(987654)
    with pytest.raises(TargetValidationError) as info:
        client.create_invoice({"CustomerCode": "NOBODY", "LineItems": []})
    assert "NOBODY" in info.value.message and info.value.status == 400


def test_create_invoice_round_trip(client: KashflowClient) -> None:
    code = next(client.list_customers())["Code"]
    created = client.create_invoice(
        {
            "CustomerCode": code,
            "IssuedDate": date(2025, 6, 1),
            "LineItems": [
                {
                    "Description": "Poster",
                    "Quantity": Decimal("2"),
                    "Rate": Decimal("12.50"),
                    "VATLevel": 20,
                    "NominalCode": 4002,
                }
            ],
        }
    )
    assert created["GrossAmount"] == Decimal("30.0000") and created["Status"] == "Unpaid"
    assert client.get_invoice(created["Number"])["IssuedDate"].startswith("2025-06-01")


def test_wrong_base_url_is_configuration_error(server: ServerThread) -> None:
    with pytest.raises(ConfigurationError):
        KashflowClient(f"{server.url}/v9", USER, PASSWORD, WORD).check()
    with pytest.raises(ConfigurationError):
        KashflowClient("api.kashflow.com", USER, PASSWORD, WORD)


def test_next_page_url_forms() -> None:
    c = KashflowClient("https://api.kashflow.com/v2", USER, PASSWORD, WORD, session=requests.Session())
    assert c._url("invoices") == "https://api.kashflow.com/v2/invoices"
    assert c._url("invoices?page=2&perpage=50") == "https://api.kashflow.com/v2/invoices?page=2&perpage=50"
    assert c._url("/v2/invoices?page=2") == "https://api.kashflow.com/v2/invoices?page=2"
    assert c._url("/invoices?page=2") == "https://api.kashflow.com/v2/invoices?page=2"
    # absolute URLs are re-rooted on the configured origin: the token never goes elsewhere
    assert (
        c._url("http://internal-lb:8080/v2/invoices?page=3") == "https://api.kashflow.com/v2/invoices?page=3"
    )


def test_iter_pages_accepts_relative_next_urls_and_bare_arrays() -> None:
    class Stub(KashflowClient):
        def __init__(self, pages: dict[str, Any]) -> None:
            super().__init__("https://kf.example/v2", USER, PASSWORD, WORD)
            self.pages, self.calls = pages, []

        def get(self, path: str, params: Any = None) -> Any:
            self.calls.append(self._url(path))
            return self.pages[self._url(path)]

    stub = Stub(
        {
            "https://kf.example/v2/things": {"MetaData": {"NextPageUrl": "things?page=2"}, "Data": [1, 2]},
            "https://kf.example/v2/things?page=2": {
                "MetaData": {"NextPageUrl": "/v2/things?page=3"},
                "Data": [3],
            },
            "https://kf.example/v2/things?page=3": {"MetaData": {"NextPageUrl": None}, "Data": [4]},
            "https://kf.example/v2/bare": [5, 6],
        }
    )
    assert list(stub.iter_pages("things")) == [1, 2, 3, 4]
    assert list(stub.iter_pages("bare")) == [5, 6]


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_adapter_end_to_end_against_sandbox(client: KashflowClient) -> None:
    paid = list(iter_sales_invoices(client, paid_only=True))
    everything = list(iter_sales_invoices(client, paid_only=False))
    assert paid and {i.status for i in paid} == {"paid"}
    assert {i.status for i in everything} == {"paid", "part_paid", "unpaid"} and len(everything) == 60
    codes = {line.account_code for inv in everything for line in inv.lines}
    assert codes <= {str(c) for c in SEED_NOMINAL_CODES}
    for inv in everything:
        assert inv.gross_amount == inv.net_amount + inv.tax_amount
        assert sum(line.net_amount for line in inv.lines) == inv.net_amount


# --------------------------------------------------------------------------- resources


def test_customer_and_supplier_resources_round_trip(client: KashflowClient) -> None:
    created = client.customers.create({"Name": "Round Trip Ltd", "Code": "ROUND1"})
    assert client.customers.get("ROUND1")["Id"] == created["Id"]
    renamed = client.customers.update("ROUND1", {**created, "Code": "ROUND2"})
    assert renamed["Code"] == "ROUND2"
    client.customers.delete("ROUND2")
    with pytest.raises(NotFoundError):
        client.customers.get("ROUND2")
    assert len(list(client.customers.list(perpage=5))) == 12
    suppliers = list(client.suppliers.list(sortby="Code"))
    assert suppliers and [s["Code"] for s in suppliers] == sorted(s["Code"] for s in suppliers)
    with pytest.raises(TargetValidationError) as info:
        client.suppliers.create({"Name": "Twice", "Code": suppliers[0]["Code"]})
    assert info.value.code == "DuplicateCode"


def test_purchase_resource_and_bulk_payment(client: KashflowClient) -> None:
    supplier = next(client.suppliers.list())["Code"]
    purchase = client.purchases.create({"SupplierCode": supplier, "SupplierReference": "SUP-1", "LineItems": [
        {"Description": "Card stock", "Quantity": 1, "Rate": Decimal("50"), "VATLevel": 20, "NominalCode": 5000}]})
    assert purchase["Status"] == "Unpaid" and purchase["GrossAmount"] == Decimal("60.0000")
    bulk = client.create_bulk_payment("purchases", {"Method": 13, "Date": date(2025, 6, 29), "PaymentItems": [
        {"ObjectNumber": purchase["Number"], "Amount": Decimal("60")}]})
    assert client.get_bulk_payment("purchases", bulk["Number"])["PaymentItems"][0]["Amount"] == Decimal("60.0000")
    assert client.purchases.get(purchase["Number"])["Status"] == "Paid"
    client.delete_bulk_payment("purchases", bulk["Number"])
    assert client.purchases.get(purchase["Number"])["Status"] == "Unpaid"
    assert client.next_number("purchase") == purchase["Number"] + 1
    assert any(p["Number"] == purchase["Number"] for p in client.purchases.list(suppliercode=supplier))


def test_invoice_payment_added_by_read_modify_write(client: KashflowClient) -> None:
    number = next(client.list_invoices(statusfilter="unpaid"))["Number"]
    invoice = client.invoices.get(number)
    invoice["PaymentLines"].append({"Amount": invoice["DueAmount"], "Date": date(2025, 6, 30), "Method": 3,
                                    "AccountId": 1})
    assert client.invoices.update(number, invoice)["Status"] == "Paid"


def test_stock_levels_notes_and_set_up_lists(client: KashflowClient) -> None:
    product = client.set_stock_level(4000, "RET-TOTE", 321)
    assert product["QuantityInStock"] == 321 and product["Name"] == "Branded tote bag"
    assert len(list(client.products.list())) == 21
    note = client.add_note("invoices", 1, "Order dispatched")
    assert client.update_note("invoices", 1, note["Number"], "Order delivered")["Text"] == "Order delivered"
    assert [n["Text"] for n in client.list_notes("invoices", 1)] == ["Order delivered"]
    client.delete_note("invoices", 1, note["Number"])
    assert client.list_notes("invoices", 1) == []
    assert {n["Code"] for n in client.nominals.list(type="Turnover")} >= {4000, 4001, 4002}
    assert [a["Code"] for a in client.bank_accounts.list()] == [1200, 1210, 1230]
    assert [c["Code"] for c in client.currencies.list()] == ["GBP", "EUR", "USD"]
    assert [r["VATRate"] for r in client.list_vat_rates()] == [Decimal(20), Decimal(5), Decimal(0)]
    assert {"Id": 13, "Name": "BACS"} in client.list_payment_methods("purchase")
    journal = client.journals.create({"JournalDate": date(2025, 6, 30), "Comment": "Test", "LineItems": [
        {"NominalCode": 7000, "Debit": Decimal("10")}, {"NominalCode": 2109, "Credit": Decimal("10")}]})
    assert journal["TotalAmount"] == Decimal("10.0000")
    assert client.metadata()["TotalInvoiceCount"] == 60
    with pytest.raises(ValueError):
        client.next_number("quote")
