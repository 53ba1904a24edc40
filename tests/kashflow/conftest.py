"""Helpers for the Kashflow sandbox contract tests: a seeded account and a logged-in in-process caller."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import pytest

from integrations.kashflow.sandbox import KashflowSandbox, ManualClock, Store, create_app, seed

USER, PASSWORD, WORD = "studio", "correct horse", "Pineapple"
TODAY = date(2025, 6, 30)
INVALID_SESSION = {"Error": "InvalidSessionToken", "Message": "Session token provided is invalid."}
ACCOUNT_LOCKED = {"Error": "AccountLocked", "Message": "User account is locked, please contact administrator."}


class Reply:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = dict(headers)
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.body[:300]!r}>"


def call(app: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
         raw: bytes | None = None, script_name: str = "") -> Reply:
    """One request through the WSGI app, no sockets. ``path`` may carry a query string or be absolute."""
    if "://" in path:
        parts = urlsplit(path)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if script_name and path.startswith(script_name):
            path = path[len(script_name):]
    path, _, query = path.partition("?")
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "CONTENT_LENGTH": str(len(data)),
        "CONTENT_TYPE": "application/json", "wsgi.input": io.BytesIO(data), "HTTP_HOST": "sandbox.test",
        "SCRIPT_NAME": script_name,
    }
    for key, value in (headers or {}).items():
        environ["HTTP_" + key.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    captured: dict[str, Any] = {}

    def start_response(status: str, hdrs: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = status, hdrs

    chunks = app(environ, start_response)
    return Reply(captured["status"], captured["headers"], b"".join(chunks))


def answers(challenge: dict[str, Any], word: str = WORD) -> list[dict[str, Any]]:
    return [{"Position": p["Position"], "Value": word[p["Position"] - 1]} for p in challenge["MemorableWordList"]]


def login(app: Any, username: str = USER, password: str = PASSWORD, word: str = WORD) -> str:
    step1 = call(app, "POST", "/v2/sessiontoken", {"UserName": username, "Password": password})
    assert step1.status == 201, step1
    challenge = step1.json()
    step2 = call(app, "PUT", "/v2/sessiontoken",
                 {"TemporaryToken": challenge["TemporaryToken"], "MemorableWordList": answers(challenge, word)})
    assert step2.status == 200, step2
    return step2.json()["SessionToken"]


class Api:
    """A logged-in Kashflow caller that talks to the app in-process."""

    def __init__(self, app: KashflowSandbox) -> None:
        self.app = app
        self.token = login(app)

    def relogin(self) -> None:
        self.token = login(self.app)

    def __call__(self, method: str, path: str, body: Any = None, **kw: Any) -> Reply:
        headers = {"Authorization": f"KfToken {self.token}", **kw.pop("headers", {})}
        return call(self.app, method, path if path.startswith(("/", "http")) else f"/v2/{path}", body,
                    headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> Reply:
        return self("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Reply:
        return self("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Reply:
        return self("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self("DELETE", path, **kw)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        reply = self(method, path, body)
        assert reply.status == status, reply
        return reply.json() if reply.body else None

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item, following NextPageUrl exactly as a client does."""
        url: str | None = path
        while url:
            page = self.ok("GET", url)
            yield from page["Data"]
            url = page["MetaData"]["NextPageUrl"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> Iterator[Store]:
    s = Store(":memory:", clock=clock)
    seed(s, customers=12, invoices=60, rng_seed=3, username=USER, password=PASSWORD, memorable_word=WORD,
         today=TODAY)
    yield s
    s.close()


@pytest.fixture
def app(store: Store) -> KashflowSandbox:
    return create_app(store)


@pytest.fixture
def api(app: KashflowSandbox) -> Api:
    return Api(app)


def error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert a Kashflow error answer: the status and a ``{Message, Error}`` body; returns the body."""
    assert reply.status == status, reply
    body = reply.json()
    assert set(body) == {"Message", "Error"} and body["Message"], body
    if code is not None:
        assert body["Error"] == code, body
    return body


def a_line(**overrides: Any) -> dict[str, Any]:
    return {"Description": "Poster", "Quantity": 2, "Rate": 12.5, "VATLevel": 20, "NominalCode": 4002, **overrides}
