"""A very small WSGI toolkit for the sandbox emulators.

The sandboxes must not depend on Django (they emulate *other* systems, and run in-process in tests and
as their own processes in the demo), so they share this router and a threaded server instead.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

MAX_BODY = 20 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    environ: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(min(length, MAX_BODY)) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=environ.get("PATH_INFO", "/") or "/",
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
            environ=environ,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        """Query parameter, case-insensitive on the name (ASP.NET binds that way)."""
        lname = name.lower()
        for key, values in self.query.items():
            if key.lower() == lname and values:
                return values[0]
        return default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8") or "null")

    @property
    def base_url(self) -> str:
        scheme = self.environ.get("wsgi.url_scheme", "http")
        host = self.headers.get("host") or f"{self.environ['SERVER_NAME']}:{self.environ['SERVER_PORT']}"
        return f"{scheme}://{host}"


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
        return cls(status, json.dumps(data, default=str).encode(), headers=headers or [])

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status, b"", content_type="")

    def __call__(self, start_response: Callable) -> Iterable[bytes]:
        reason = HTTPStatus(self.status).phrase if self.status in HTTPStatus._value2member_map_ else "Unknown"
        headers = list(self.headers)
        if self.content_type:
            headers.append(("Content-Type", self.content_type))
        headers.append(("Content-Length", str(len(self.body))))
        start_response(f"{self.status} {reason}", headers)
        return [self.body]


Handler = Callable[[Request], Response]


class Router:
    """Routes ``(method, path pattern)`` to handlers; ``{name}`` segments become ``request.params``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = re.compile(
            "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/") or "/") + "/?$", re.IGNORECASE
        )

        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), regex, handler))
            return handler

        return register

    def resolve(self, request: Request) -> tuple[Handler | None, bool]:
        """Return (handler, path_matched_any_method)."""
        path_seen = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match:
                path_seen = True
                if method == request.method:
                    request.params = match.groupdict()
                    return handler, True
        return None, path_seen


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class ServerThread:
    """Serve a WSGI app on loopback in a background thread (tests, demo)."""

    def __init__(self, app: Callable, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        self.server = make_server(
            host, port, app, server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler if quiet else WSGIRequestHandler,
        )
        self.host = host
        self.port = self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"wsgi:{self.port}")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
