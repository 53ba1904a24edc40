"""The sandbox control API: loopback only, token protected, JSON.

    GET    /health
    GET    /instances                              list instances
    POST   /instances                              {"erp": "dynamics_ax"|"sage100", "size": 200|"small",
                                                    "id"?, "tenant"?, "label"?, "rng_seed"?} -> 201
    GET    /instances/{id}                         what it is, record counts per system, active faults
    GET    /instances/{id}/connections             base URLs and credentials for Ledgerbridge connections
    POST   /instances/{id}/reseed                  {"size"?} -> data thrown away and seeded again
    DELETE /instances/{id}                         -> 204
    GET    /instances/{id}/faults/{system}         fault configuration and counters
    PUT    /instances/{id}/faults/{system}         replace the configuration (counters reset)
    PATCH  /instances/{id}/faults/{system}         merge into it (null switches one fault off)
    DELETE /instances/{id}/faults/{system}         switch all faults off

Every request but /health needs ``Authorization: Bearer <token>``; the token is generated into
``<root>/control-token`` (mode 0600) the first time the sandboxes are served.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from integrations.core.wsgi import Request, Response, Router

from .hub import SandboxError, SandboxHub


def control_token(root: Path) -> str:
    """The control API token, created on first use (owner-only file)."""
    path = Path(root) / "control-token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class ControlApp:
    def __init__(self, hub: SandboxHub, root_urls: dict[str, str], token: str) -> None:
        self.hub = hub
        self.root_urls = root_urls
        self.token = token
        self.router = Router()
        self._routes()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        return self.handle(request)(start_response)

    def handle(self, request: Request) -> Response:
        if not _loopback(request.environ.get("REMOTE_ADDR", "")):
            return _error(403, "the sandbox control API only answers on loopback")
        handler, path_seen = self.router.resolve(request)
        if handler is None:
            return _error(405 if path_seen else 404, "method not allowed" if path_seen else "not found")
        if handler.__name__ != "health" and not self._authorised(request):
            return _error(401, "missing or wrong control token (Authorization: Bearer <token>)")
        try:
            return handler(request)
        except SandboxError as exc:
            return _error(exc.status, str(exc))

    def _authorised(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    def _routes(self) -> None:  # noqa: C901 - a flat list of small routes
        r, hub = self.router, self.hub

        @r.route("GET", "/health")
        def health(request: Request) -> Response:
            return Response.json({"status": "ok", "systems": self.root_urls})

        @r.route("GET", "/instances")
        def list_instances(request: Request) -> Response:
            return Response.json({"instances": [i.public() for i in hub.list()]})

        @r.route("POST", "/instances")
        def create(request: Request) -> Response:
            body = _body(request)
            unknown = set(body) - {"erp", "size", "id", "tenant", "label", "rng_seed"}
            if unknown:
                raise SandboxError(f"unknown field(s): {', '.join(sorted(unknown))}")
            rng_seed = body.get("rng_seed")
            if rng_seed is not None and (isinstance(rng_seed, bool) or not isinstance(rng_seed, int)):
                raise SandboxError("rng_seed must be an integer")
            instance = hub.create(erp=body.get("erp", ""), size=body.get("size", "small"),
                                  instance_id=body.get("id"), tenant=str(body.get("tenant", "")),
                                  label=str(body.get("label", "")), rng_seed=rng_seed)
            return Response.json({"instance": instance.public(),
                                  "connections": hub.connection_fields(instance.id, self.root_urls)}, 201)

        @r.route("GET", "/instances/{id}")
        def inspect(request: Request) -> Response:
            return Response.json(hub.inspect(request.params["id"]))

        @r.route("GET", "/instances/{id}/connections")
        def connections(request: Request) -> Response:
            return Response.json(hub.connection_fields(request.params["id"], self.root_urls))

        @r.route("POST", "/instances/{id}/reseed")
        def reseed(request: Request) -> Response:
            body = _body(request)
            return Response.json(hub.reseed(request.params["id"], size=body.get("size")).public())

        @r.route("DELETE", "/instances/{id}")
        def delete(request: Request) -> Response:
            hub.delete(request.params["id"])
            return Response.empty()

        @r.route("GET", "/instances/{id}/faults/{system}")
        def read_faults(request: Request) -> Response:
            return Response.json(hub.faults(request.params["id"], request.params["system"]))

        @r.route("PUT", "/instances/{id}/faults/{system}")
        def put_faults(request: Request) -> Response:
            return Response.json(hub.set_faults(request.params["id"], request.params["system"], _body(request)))

        @r.route("PATCH", "/instances/{id}/faults/{system}")
        def patch_faults(request: Request) -> Response:
            return Response.json(hub.set_faults(request.params["id"], request.params["system"], _body(request),
                                                merge=True))

        @r.route("DELETE", "/instances/{id}/faults/{system}")
        def clear_faults(request: Request) -> Response:
            return Response.json(hub.set_faults(request.params["id"], request.params["system"], {}))


def _body(request: Request) -> dict[str, Any]:
    try:
        data = request.json() if request.body else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SandboxError("body must be a JSON object")
    return data


def _error(status: int, message: str) -> Response:
    return Response.json({"error": message}, status)
