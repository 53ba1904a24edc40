"""Kashflow sandbox faults over real HTTP on loopback: drop, timeout, rate limit, 5xx, SQL timeout as 400,
latency, expired sessions; faults never touch login; the /_sandbox/faults switch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from integrations.core.errors import TransientError
from integrations.core.wsgi import ServerThread
from integrations.kashflow.client import KashflowClient
from integrations.kashflow.sandbox import KashflowFaults, KashflowSandbox

from .conftest import INVALID_SESSION, PASSWORD, USER, WORD, answers

SQL_TIMEOUT = {"Error": "-2146232060", "Message": "Execution Timeout Expired.  The timeout period elapsed prior "
               "to completion of the operation or the server is not responding."}


class _Swappable:
    """One socket server per module; each test plugs its own app in."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[ServerThread, _Swappable]]:
    holder = _Swappable()
    with ServerThread(holder) as server:
        yield server, holder


@pytest.fixture
def url(_server: tuple[ServerThread, _Swappable], app: KashflowSandbox) -> str:
    server, holder = _server
    holder.app = app
    return f"{server.url}/v2"


@pytest.fixture
def faults(app: KashflowSandbox) -> KashflowFaults:
    return app.faults


def http_login(url: str) -> requests.Session:
    session = requests.Session()
    challenge = session.post(f"{url}/sessiontoken", json={"UserName": USER, "Password": PASSWORD}, timeout=5).json()
    token = session.put(f"{url}/sessiontoken", json={"TemporaryToken": challenge["TemporaryToken"],
                                                     "MemorableWordList": answers(challenge)}, timeout=5)
    session.headers["Authorization"] = f"KfToken {token.json()['SessionToken']}"
    return session


def test_drop_closes_the_connection_without_an_answer(url: str, faults: KashflowFaults) -> None:
    session = http_login(url)
    faults.set({"drop": {"every": 1, "times": 1}})
    with pytest.raises(requests.ConnectionError):
        session.get(f"{url}/invoices", timeout=5)
    assert session.get(f"{url}/invoices", timeout=5).status_code == 200  # times: 1
    assert faults.snapshot()["fired"] == {"drop": 1}


def test_timeout_hangs_longer_than_the_client_waits(url: str, faults: KashflowFaults) -> None:
    session = http_login(url)
    faults.set({"timeout": {"every": 1, "hang_ms": 400}})
    started = time.perf_counter()
    with pytest.raises(requests.ReadTimeout):
        session.get(f"{url}/customers", timeout=0.15)
    assert time.perf_counter() - started < 0.4


def test_rate_limit_answers_429_with_retry_after_on_every_nth_request(url: str, faults: KashflowFaults) -> None:
    session = http_login(url)
    faults.set({"rate_limit": {"every": 2, "retry_after": 7, "times": 2}})
    statuses = [session.get(f"{url}/metadata", timeout=5) for _ in range(6)]
    assert [r.status_code for r in statuses] == [200, 429, 200, 429, 200, 200]
    limited = statuses[1]
    assert limited.headers["Retry-After"] == "7"
    assert limited.json() == {"Message": "Too many requests; try again later.", "Error": "TooManyRequests"}


def test_server_error_is_an_html_5xx(url: str, faults: KashflowFaults) -> None:
    session = http_login(url)
    faults.set({"server_error": {"status": 503}})
    reply = session.get(f"{url}/invoices/1", timeout=5)
    assert reply.status_code == 503 and reply.headers["Content-Type"].startswith("text/html")
    assert "Runtime Error" in reply.text


def test_sql_timeout_is_a_400_with_the_sql_exception_body(url: str, faults: KashflowFaults) -> None:
    session = http_login(url)
    faults.set({"sql_timeout": {"every": 1}})
    reply = session.get(f"{url}/invoices", timeout=5)
    assert reply.status_code == 400 and reply.json() == SQL_TIMEOUT


def test_slow_ms_delays_data_requests(url: str, faults: KashflowFaults) -> None:
    session = http_login(url)
    faults.set({"slow_ms": 150})
    started = time.perf_counter()
    assert session.get(f"{url}/metadata", timeout=5).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_expire_sessions_answers_401_until_the_client_logs_in_again(url: str, faults: KashflowFaults) -> None:
    session = http_login(url)
    faults.set({"expire_sessions": {"every": 1, "times": 1}})
    reply = session.get(f"{url}/invoices", timeout=5)
    assert reply.status_code == 401 and reply.json() == INVALID_SESSION
    assert session.get(f"{url}/invoices", timeout=5).json() == INVALID_SESSION  # the token really expired
    fresh = http_login(url)
    assert fresh.get(f"{url}/invoices", timeout=5).status_code == 200


def test_expire_sessions_every_n_requests(url: str, faults: KashflowFaults) -> None:
    faults.set({"expire_sessions": {"every": 3}})
    session = http_login(url)
    assert [session.get(f"{url}/metadata", timeout=5).status_code for _ in range(3)] == [200, 200, 401]


def test_the_client_logs_in_again_after_an_expired_session(url: str, faults: KashflowFaults) -> None:
    with KashflowClient(url, USER, PASSWORD, WORD, timeout=5) as client:
        client.check()
        first = client._token
        faults.set({"expire_sessions": {"times": 1}})
        assert client.metadata()["TotalInvoiceCount"] == 60
        assert client._token != first


def test_faults_never_touch_login(url: str, faults: KashflowFaults) -> None:
    faults.set({"rate_limit": True, "server_error": True, "sql_timeout": True, "drop": True, "expire_sessions": True})
    session = http_login(url)  # would raise or fail to parse if login were faulted
    assert session.headers["Authorization"].startswith("KfToken ")
    with pytest.raises(requests.ConnectionError):
        session.get(f"{url}/invoices", timeout=5)


def test_client_classifies_faults_as_transient(url: str, faults: KashflowFaults) -> None:
    client = KashflowClient(url, USER, PASSWORD, WORD, timeout=5)
    client.check()
    for config in ({"rate_limit": {"retry_after": 2}}, {"sql_timeout": True}, {"server_error": {"status": 502}},
                   {"drop": {"every": 1}}):
        faults.set(config)
        with pytest.raises(TransientError):
            client.metadata()
    faults.clear()
    assert client.metadata()["TotalCustomerCount"] == 12


def test_fault_switch_routes(url: str, faults: KashflowFaults) -> None:
    root = url.removesuffix("/v2")
    reply = requests.post(f"{root}/_sandbox/faults", json={"rate_limit": {"every": 3}, "slow_ms": 0}, timeout=5)
    assert reply.status_code == 200 and reply.json()["config"] == {"rate_limit": {"every": 3}}
    reply = requests.patch(f"{root}/_sandbox/faults", json={"sql_timeout": {"times": 1}}, timeout=5)
    assert set(reply.json()["config"]) == {"rate_limit", "sql_timeout"}
    assert requests.get(f"{root}/_sandbox/faults", timeout=5).json() == faults.snapshot()
    for bad in ({"meteor": {}}, {"rate_limit": {"every": 0}}, {"slow_ms": -1}, [1]):
        reply = requests.post(f"{root}/_sandbox/faults", json=bad, timeout=5)
        assert reply.status_code == 400 and reply.json()["Error"] == "InvalidFaultConfig"
    assert requests.post(f"{root}/_sandbox/faults", data=b"{oops", timeout=5).status_code == 400
    state = requests.get(f"{root}/_sandbox/state", timeout=5).json()
    assert state["counts"]["invoices"] == 60 and state["faults"]["config"]["rate_limit"] == {"every": 3}


def test_fault_names_are_the_common_ones_plus_kashflows() -> None:
    assert KashflowFaults.names() == ("rate_limit", "slow_ms", "timeout", "server_error", "drop", "sql_timeout",
                                      "expire_sessions")
