"""Protocol tests for the Kashflow sandbox, called in-process through WSGI (no sockets, no database)."""

from __future__ import annotations

import io
import json
import time
from datetime import date
from decimal import Decimal
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from integrations.kashflow.sandbox import (
    SEED_NOMINAL_CODES,
    FaultSwitch,
    ManualClock,
    Store,
    create_app,
    seed,
)

USER, PASSWORD, WORD = "studio", "correct horse", "Pineapple"
TODAY = date(2025, 6, 30)


class Reply:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = dict(headers)
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: Any,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> Reply:
    path, _, query = path.partition("?")
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(data)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(data),
        "HTTP_HOST": "sandbox.test",
    }
    for key, value in (headers or {}).items():
        environ["HTTP_" + key.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    captured: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = status, hdrs

    chunks = app(environ, start_response)
    return Reply(captured["status"], captured["headers"], b"".join(chunks))


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
        months=6,
        rng_seed=1,
        username=USER,
        password=PASSWORD,
        memorable_word=WORD,
        today=TODAY,
    )
    return s


@pytest.fixture
def app(store: Store) -> Any:
    return create_app(store)


def step1(app: Any, username: str = USER, password: str = PASSWORD) -> Reply:
    return call(app, "POST", "/v2/sessiontoken", {"UserName": username, "Password": password})


def answers(challenge: dict[str, Any], word: str = WORD) -> list[dict[str, Any]]:
    return [
        {"Position": p["Position"], "Value": word[p["Position"] - 1]} for p in challenge["MemorableWordList"]
    ]


def login(app: Any) -> dict[str, str]:
    challenge = step1(app).json()
    reply = call(
        app,
        "PUT",
        "/v2/sessiontoken",
        {"TemporaryToken": challenge["TemporaryToken"], "MemorableWordList": answers(challenge)},
    )
    assert reply.status == 200, reply.body
    return {"Authorization": f"KfToken {reply.json()['SessionToken']}"}


# --------------------------------------------------------------------------- login


def test_two_step_login_issues_session_token(app: Any) -> None:
    reply = step1(app)
    assert reply.status == 201
    challenge = reply.json()
    positions = [p["Position"] for p in challenge["MemorableWordList"]]
    assert len(set(positions)) == 3 and all(1 <= p <= len(WORD) for p in positions)
    assert all(p["Value"] == "" for p in challenge["MemorableWordList"])
    assert challenge["TemporaryToken"] and challenge["IsLockedOut"] is False

    upper = [{"position": a["Position"], "value": a["Value"].upper()} for a in answers(challenge)]
    reply = call(
        app,
        "PUT",
        "/v2/sessiontoken",
        {"temporarytoken": challenge["TemporaryToken"], "memorablewordlist": upper},
    )  # keys and chars any case
    assert reply.status == 200
    body = reply.json()
    assert body["SessionToken"] and body["CompanyName"]
    assert (
        call(app, "GET", "/v2/invoices", headers={"Authorization": f"KfToken {body['SessionToken']}"}).status
        == 200
    )


def test_lower_case_login_keys_accepted(app: Any) -> None:
    assert call(app, "POST", "/v2/sessiontoken", {"username": USER, "password": PASSWORD}).status == 201


def test_wrong_password_and_wrong_word_are_invalid_credentials(app: Any) -> None:
    reply = step1(app, password="nope")
    assert reply.status == 400
    assert reply.json()["Error"] == "InvalidCredentials" and reply.json()["Message"]

    challenge = step1(app).json()
    wrong = [{"Position": a["Position"], "Value": "#"} for a in answers(challenge)]
    reply = call(
        app,
        "PUT",
        "/v2/sessiontoken",
        {"TemporaryToken": challenge["TemporaryToken"], "MemorableWordList": wrong},
    )
    assert reply.status == 400 and reply.json()["Error"] == "InvalidCredentials"


def test_temporary_token_is_single_use_and_expires(app: Any, clock: ManualClock) -> None:
    challenge = step1(app).json()
    body = {"TemporaryToken": challenge["TemporaryToken"], "MemorableWordList": answers(challenge)}
    assert call(app, "PUT", "/v2/sessiontoken", body).status == 200
    assert call(app, "PUT", "/v2/sessiontoken", body).status == 400

    challenge = step1(app).json()
    clock.advance(301)
    reply = call(
        app,
        "PUT",
        "/v2/sessiontoken",
        {"TemporaryToken": challenge["TemporaryToken"], "MemorableWordList": answers(challenge)},
    )
    assert reply.status == 400


def test_lockout_after_five_failures(app: Any, store: Store) -> None:
    statuses = [step1(app, password=f"bad{i}").status for i in range(5)]
    assert statuses == [400, 400, 400, 400, 401]
    reply = step1(app)  # even the right password is refused now
    assert reply.status == 401
    assert reply.json() == {
        "Message": "User account is locked, please contact administrator.",
        "Error": "AccountLocked",
    }
    store.unlock(USER)
    assert step1(app).status == 201


def test_successful_login_resets_failure_count(app: Any, store: Store) -> None:
    for _ in range(4):
        step1(app, password="bad")
    login(app)
    assert store.login_state(USER) == {"failed_logins": 0, "locked": False}


def test_session_sliding_expiry_and_logout(app: Any, clock: ManualClock) -> None:
    headers = login(app)
    for _ in range(3):  # 3 x 59 minutes of activity keeps it alive
        clock.advance(59 * 60)
        assert call(app, "GET", "/v2/customers", headers=headers).status == 200
    clock.advance(61 * 60)
    reply = call(app, "GET", "/v2/customers", headers=headers)
    assert reply.status == 401
    assert reply.json() == {"Message": "Session token provided is invalid.", "Error": "InvalidSessionToken"}

    headers = login(app)
    token = headers["Authorization"].split()[1]
    assert call(app, "DELETE", f"/v2/sessiontoken/{token}").status == 204
    assert call(app, "GET", "/v2/customers", headers=headers).status == 401


@pytest.mark.parametrize(
    "header", [None, "Bearer abc", "KfToken", "KfToken 00000000-0000-0000-0000-000000000000"]
)
def test_routes_require_kftoken(app: Any, header: str | None) -> None:
    reply = call(app, "GET", "/v2/invoices", headers={"Authorization": header} if header else None)
    assert reply.status == 401 and reply.json()["Error"] == "InvalidSessionToken"


# --------------------------------------------------------------------------- lists


def test_paging_envelope_and_last_page(app: Any, store: Store) -> None:
    headers = login(app)
    first = call(app, "GET", "/v2/invoices?perpage=25", headers=headers).json()
    meta = first["MetaData"]
    assert set(meta) == {
        "TotalRecords",
        "FirstPageUrl",
        "LastPageUrl",
        "PreviousPageUrl",
        "NextPageUrl",
        "TotalAmount",
        "InvoiceLimitReached",
    }
    assert meta["TotalRecords"] == 60 and meta["PreviousPageUrl"] is None
    assert (
        meta["NextPageUrl"].startswith("http://sandbox.test/v2/invoices?") and "page=2" in meta["NextPageUrl"]
    )
    assert "page=3" in meta["LastPageUrl"]
    assert len(first["Data"]) == 25
    assert all("PaymentLines" not in item for item in first["Data"])

    numbers = [i["Number"] for i in first["Data"]]
    url = meta["NextPageUrl"].replace("http://sandbox.test", "")
    while url:
        page = call(app, "GET", url, headers=headers).json()
        numbers += [i["Number"] for i in page["Data"]]
        url = (page["MetaData"]["NextPageUrl"] or "").replace("http://sandbox.test", "")
    assert page["MetaData"]["NextPageUrl"] is None and len(page["Data"]) == 10
    assert numbers == list(range(1, 61))

    gross = sum(Decimal(str(store.get_invoice(n)["GrossAmount"])) for n in numbers)
    assert Decimal(str(meta["TotalAmount"])) == gross
    default = call(app, "GET", "/v2/invoices", headers=headers).json()
    assert len(default["Data"]) == 50


def test_page_urls_keep_filters(app: Any) -> None:
    headers = login(app)
    meta = call(app, "GET", "/v2/invoices?statusfilter=Paid&perpage=5", headers=headers).json()["MetaData"]
    assert "statusfilter=Paid" in meta["NextPageUrl"] and "perpage=5" in meta["NextPageUrl"]


def test_invoice_filters_and_sorting(app: Any, store: Store) -> None:
    headers = login(app)
    everything = call(app, "GET", "/v2/invoices?perpage=100", headers=headers).json()["Data"]
    code = everything[0]["CustomerCode"]
    mine = call(app, "GET", f"/v2/invoices?customercode={code.lower()}&perpage=100", headers=headers).json()
    assert mine["Data"] and {i["CustomerCode"] for i in mine["Data"]} == {code}
    assert mine["MetaData"]["TotalRecords"] == sum(1 for i in everything if i["CustomerCode"] == code)

    paid = call(app, "GET", "/v2/invoices?statusfilter=paid&perpage=100", headers=headers).json()["Data"]
    unpaid = call(app, "GET", "/v2/invoices?statusfilter=Unpaid&perpage=100", headers=headers).json()["Data"]
    assert {i["Status"] for i in paid} == {"Paid"} and {i["Status"] for i in unpaid} == {"Unpaid"}
    assert len(paid) + len(unpaid) == 60

    window = call(
        app,
        "GET",
        "/v2/invoices?issuedatefrom=2025-03-01&issuedateto=2025-03-31 00:00:00&perpage=100",
        headers=headers,
    ).json()["Data"]
    assert window and all("2025-03-01" <= i["IssuedDate"][:10] <= "2025-03-31" for i in window)

    by_name = call(
        app, "GET", "/v2/invoices?sortby=GrossAmount&order=DESC&perpage=100", headers=headers
    ).json()
    by_int = call(app, "GET", "/v2/invoices?sortby=5&order=desc&perpage=100", headers=headers).json()
    grosses = [i["GrossAmount"] for i in by_name["Data"]]
    assert grosses == sorted(grosses, reverse=True)
    assert [i["Number"] for i in by_name["Data"]] == [i["Number"] for i in by_int["Data"]]

    bad = call(app, "GET", "/v2/invoices?sortby=Colour", headers=headers)
    assert bad.status == 400 and set(bad.json()) == {"Message", "Error"}


def test_customers_list_and_detail(app: Any) -> None:
    headers = login(app)
    page = call(app, "GET", "/v2/customers?perpage=5&sortby=Code", headers=headers).json()
    assert page["MetaData"]["TotalRecords"] == 12 and len(page["Data"]) == 5
    codes = [c["Code"] for c in page["Data"]]
    assert codes == sorted(codes)
    detail = call(app, "GET", f"/v2/customers/{codes[0]}", headers=headers).json()
    address = detail["Addresses"][0]
    assert address["CountryCode"] == "GB" and address["PostCode"] and address["Line1"]
    assert detail["InvoiceCount"] >= 0 and "OutstandingBalance" in detail


# --------------------------------------------------------------------------- errors


def test_error_bodies(app: Any) -> None:
    headers = login(app)
    missing = call(app, "GET", "/v2/invoices/999999", headers=headers)
    assert missing.status == 404 and set(missing.json()) == {"Message", "Error"}
    assert call(app, "GET", "/v2/customers/NOPE99", headers=headers).status == 404
    assert call(app, "GET", "/v2/nothing-here", headers=headers).status == 404
    assert call(app, "PATCH", "/v2/invoices", headers=headers).status == 405
    broken = call(app, "POST", "/v2/invoices", headers=headers, raw=b"{not json")
    assert broken.status == 400 and set(broken.json()) == {"Message", "Error"}
    broken = call(app, "POST", "/v2/sessiontoken", raw=b"[1,2")
    assert broken.status == 400 and set(broken.json()) == {"Message", "Error"}


# --------------------------------------------------------------------------- writes


def test_invoice_create_computes_totals(app: Any) -> None:
    headers = login(app)
    customer = call(
        app, "POST", "/v2/customers", {"Name": "Totals Test Ltd", "Code": "TOTA01"}, headers=headers
    )
    assert customer.status == 201
    payload = {
        "customercode": "TOTA01",  # case-insensitive keys, as ASP.NET binds them
        "IssuedDate": "2025-06-01",
        "LineItems": [
            {"Description": "half-up", "Quantity": 1, "Rate": 30.425, "VATLevel": 20, "NominalCode": 4001},
            {
                "Description": "given VAT",
                "Quantity": 2,
                "Rate": 10,
                "VATLevel": 20,
                "VATAmount": 3.99,
                "NominalCode": 4002,
            },
            {
                "Description": "exempt",
                "Quantity": 1,
                "Rate": 5,
                "VATExempt": 1,
                "VATLevel": 20,
                "NominalCode": 4905,
            },
        ],
        "PaymentLines": [{"Amount": 10, "Date": "2025-06-02 12:00:00", "Method": 1, "AccountId": 1}],
    }
    reply = call(app, "POST", "/v2/invoices", payload, headers=headers)
    assert reply.status == 201, reply.body
    assert b'"NetAmount":55.4300' in reply.body  # 4 dp on the wire
    inv = reply.json()
    assert Decimal(str(inv["NetAmount"])) == Decimal("55.43")  # 30.43 (half-up) + 20 + 5
    assert Decimal(str(inv["VATAmount"])) == Decimal("10.08")  # 6.09 (half-up of 6.085) + 3.99 + 0
    assert Decimal(str(inv["GrossAmount"])) == Decimal("65.51")
    assert inv["LineItems"][0]["VATAmount"] == 6.09 and inv["LineItems"][2]["VATAmount"] == 0
    assert inv["TotalPaidAmount"] == 10 and inv["Status"] == "Unpaid"
    assert inv["Number"] == 61 and inv["IssuedDate"] == "2025-06-01 12:00:00"
    assert (
        inv["CustomerName"] == "Totals Test Ltd" and inv["PaymentLines"][0]["Date"] == "2025-06-02 12:00:00"
    )
    assert call(app, "GET", "/v2/invoices/61", headers=headers).json()["GrossAmount"] == inv["GrossAmount"]

    paid = dict(payload, Number=500, PaymentLines=[{"Amount": 65.51, "Date": "2025-06-03"}])
    inv = call(app, "POST", "/v2/invoices", paid, headers=headers).json()
    assert inv["Number"] == 500 and inv["Status"] == "Paid" and inv["PaidDate"] == "2025-06-03 12:00:00"
    assert call(app, "POST", "/v2/invoices", dict(payload), headers=headers).json()["Number"] == 501

    dup = call(app, "POST", "/v2/invoices", paid, headers=headers)
    assert dup.status == 400 and "500" in dup.json()["Message"]
    nobody = call(app, "POST", "/v2/invoices", dict(payload, customercode="ZZZZ99"), headers=headers)
    assert nobody.status == 400
    nocode = call(app, "POST", "/v2/invoices", {"LineItems": []}, headers=headers)
    assert nocode.status == 400 and "CustomerCode" in nocode.json()["Message"]


def test_customer_code_uniqueness(app: Any) -> None:
    headers = login(app)
    assert (
        call(app, "POST", "/v2/customers", {"Name": "Acme", "Code": "ACME01"}, headers=headers).status == 201
    )
    dup = call(app, "POST", "/v2/customers", {"Name": "Acme 2", "Code": "acme01"}, headers=headers)
    assert dup.status == 400 and set(dup.json()) == {"Message", "Error"}
    ok = call(
        app,
        "POST",
        "/v2/customers",
        {"Name": "Acme 2", "Code": "ACME01", "CreateCustomerCodeIfDuplicate": True},
        headers=headers,
    )
    assert ok.status == 201 and ok.json()["Code"] != "ACME01"
    generated = call(app, "POST", "/v2/customers", {"name": "Zebra Crossing Cafe"}, headers=headers).json()
    assert generated["Code"] == "ZEBR01" and "CreateCustomerCodeIfDuplicate" not in generated


# --------------------------------------------------------------------------- faults


def test_fault_switch_rate_limit_and_sql_timeout(store: Store) -> None:
    faults = FaultSwitch({"rate_limit": {"every": 2, "retry_after": 3}})
    app = create_app(store, faults)
    headers = login(app)  # login is never faulted
    first = call(app, "GET", "/v2/customers", headers=headers)
    second = call(app, "GET", "/v2/customers", headers=headers)
    assert first.status == 200 and second.status == 429 and second.headers["Retry-After"] == "3"

    reply = call(app, "POST", "/_sandbox/faults", {"sql_timeout": {"every": 1, "times": 1}})
    assert reply.status == 200 and reply.json()["config"] == {"sql_timeout": {"every": 1, "times": 1}}
    timeout = call(app, "GET", "/v2/invoices", headers=headers)
    assert timeout.status == 400 and timeout.json()["Error"] == "-2146232060"
    assert "Execution Timeout Expired" in timeout.json()["Message"]
    assert call(app, "GET", "/v2/invoices", headers=headers).status == 200  # times: 1
    assert call(app, "GET", "/_sandbox/faults").json()["fired"] == {"sql_timeout": 1}

    assert call(app, "POST", "/_sandbox/faults", {"server_error": {"every": 1}}).status == 200
    err = call(app, "GET", "/v2/invoices", headers=headers)
    assert err.status == 500 and err.headers["Content-Type"].startswith("text/html")
    assert call(app, "POST", "/_sandbox/faults", {"meteor": {}}).status == 400
    assert call(app, "POST", "/_sandbox/faults", {}).status == 200
    assert call(app, "GET", "/v2/invoices", headers=headers).status == 200


# --------------------------------------------------------------------------- seed


def test_seed_is_realistic_and_deterministic(clock: ManualClock) -> None:
    a, b = Store(clock=clock), Store(clock=clock)
    summary = seed(a, rng_seed=7, today=TODAY, invoices=200, customers=20)
    seed(b, rng_seed=7, today=TODAY, invoices=200, customers=20)
    assert summary["invoices"] == 200 and summary["customers"] == 20 and summary["username"]
    assert a.get_invoice(123) == b.get_invoice(123)
    page = a.list_invoices(page=1, perpage=1000)
    codes = {line["NominalCode"] for inv in page.items for line in inv["LineItems"]}
    assert codes <= set(SEED_NOMINAL_CODES) and len(codes) >= 3
    levels = {(line["VATExempt"], line["VATLevel"]) for inv in page.items for line in inv["LineItems"]}
    assert {(False, 20), (False, 5), (False, 0), (True, 0)} <= levels
    assert 0.40 <= summary["paid"] / 200 <= 0.70 and summary["part_paid"] > 10 and summary["unpaid"] > 30
    assert {inv["Currency"]["Code"] for inv in page.items} == {"GBP", "EUR"}
    assert all(
        Decimal(str(i["Currency"]["ExchangeRate"])) > 1 for i in page.items if i["Currency"]["Code"] == "EUR"
    )
    months = {inv["IssuedDate"][:7] for inv in page.items}
    assert len(months) >= 6
    customer = a.get_customer(page.items[0]["CustomerCode"])
    assert customer["Addresses"][0]["CountryCode"] == "GB" and len(customer["Code"]) == 6


def test_seed_scales(clock: ManualClock) -> None:
    store = Store(clock=clock)
    started = time.perf_counter()
    seed(store, invoices=3000, customers=150, today=TODAY)
    assert time.perf_counter() - started < 5  # ~0.25 ms per invoice; 100k load in well under a minute
    page = store.list_invoices(page=50, perpage=50, sortby="InvoiceDate", order="desc")
    assert page.total == 3000 and len(page.items) == 50
