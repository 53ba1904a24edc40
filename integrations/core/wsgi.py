"""A very small WSGI toolkit for the sandbox emulators.

The sandboxes must not depend on Django (they emulate *other* systems, and run in-process in tests and
as their own processes in the demo), so they share this router and a threaded server instead.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

MAX_BODY = 20 * 1024 * 1024


class DropConnection(Exception):  # noqa: N818 - it is an instruction, not an error
    """Raised by an app to close the client's connection without any answer (a dropped connection fault)."""


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

    @property
    def root_url(self) -> str:
        """Absolute URL of the app's root, including the prefix it is mounted under (SCRIPT_NAME).

        Build every absolute link (paging links, WSDL addresses) from this, so an instance mounted at
        ``/acme-1234`` hands out links that come back to the same instance.
        """
        return self.base_url + self.environ.get("SCRIPT_NAME", "").rstrip("/")


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


class Mount:
    """Dispatch ``/<name>/...`` to one of several apps, the way IIS or a reverse proxy mounts applications.

    The chosen app sees the name in ``SCRIPT_NAME`` and the rest in ``PATH_INFO``. ``lookup(name)`` returns
    the app or None (404). Used to host one sandbox instance per tenant behind one port.
    """

    def __init__(self, lookup: Callable[[str], Callable | None], fallback: Callable | None = None) -> None:
        self.lookup = lookup
        self.fallback = fallback

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        name, _, rest = path.lstrip("/").partition("/")
        app = self.lookup(name) if name else None
        if app is None:
            if self.fallback is not None:
                return self.fallback(environ, start_response)
            return Response.json({"Message": f"No sandbox instance '{name}' here."}, 404)(start_response)
        environ = dict(environ)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + "/" + name
        environ["PATH_INFO"] = "/" + rest
        return app(environ, start_response)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _ServerHandler(ServerHandler):
    def cleanup_headers(self) -> None:
        super().cleanup_headers()  # adds Content-Length for single-chunk bodies
        handler = self.request_handler
        if self.headers.get("Content-Length") is None or self.http_version != "1.1" or handler.close_connection:
            self.headers["Connection"] = "close"  # no length, or not keeping alive: say so before closing
            handler.close_connection = True

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], DropConnection):
            self.request_handler.drop()
            return
        super().handle_error()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def drop(self) -> None:
        """Close the socket without writing anything: the client sees a reset / remote disconnect."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # HTTP/1.1 with keep-alive: clients reuse one connection for many requests, as they do with real servers.
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle + delayed ACK stall every
        # keep-alive response by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:  # WSGIRequestHandler.handle, with drops and keep-alive understood
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():
            self.close_connection = True
            return
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            self.close_connection = True
            return
        body = _BoundedReader(self.rfile, length)
        handler = _ServerHandler(body, self.wfile, self.get_stderr(), self.get_environ(), multithread=False)
        handler.http_version = "1.1" if self.request_version == "HTTP/1.1" else "1.0"
        handler.request_handler = self
        handler.run(self.server.get_app())
        if handler.http_version != "1.1":
            self.close_connection = True
        if not self.close_connection and body.remaining:
            # The app left part of the body unread: skip it so the next request starts clean (or give up).
            if body.remaining > 1 << 20 or len(body.read(body.remaining)) < 0:
                self.close_connection = True


class _BoundedReader:
    """wsgi.input limited to the request's Content-Length (a keep-alive socket holds the next request)."""

    def __init__(self, raw: Any, length: int) -> None:
        self.raw = raw
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.raw.read(size)
        self.remaining -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.raw.readline(size)
        self.remaining -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")


class _LoudHandler(_QuietHandler):
    log_message = WSGIRequestHandler.log_message


class ServerThread:
    """Serve a WSGI app on loopback in a background thread (tests, demo)."""

    def __init__(self, app: Callable, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        self.server = make_server(
            host, port, app, server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler if quiet else _LoudHandler,
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
