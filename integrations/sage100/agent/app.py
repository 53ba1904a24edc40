"""The agent's HTTP API (WSGI, JSON). Every call needs the agent's API key.

    GET    /v1/health              the backend, company, whether a BOI session opens, applied-key counts
    POST   /v1/batches             {"operations": [...]} -> 200 {"results": [...], "summary": {...}}
    GET    /v1/applied/{key}       what was applied under an idempotency key (404 if nothing)
    DELETE /v1/applied/{key}       release a key left pending by a stopped agent (after checking Sage)

Authentication: ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). The agent stores only a hash of the
key and compares hashes in constant time. Errors are ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from typing import Any

from integrations.core.wsgi import Request, Response, Router

from .keys import APPLIED
from .service import MAX_BATCH, Agent

API_VERSION = "1"


def hash_api_key(key: str) -> str:
    """What the agent's configuration stores. API keys are long random tokens, so one SHA-256 is enough."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(given: str, stored_hash: str) -> bool:
    return bool(given) and hmac.compare_digest(hash_api_key(given).encode(), stored_hash.encode())


def error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response.json({"error": {"code": code, "message": message}}, status, headers)


class AgentApp:
    def __init__(self, agent: Agent, api_key_hash: str) -> None:
        if not api_key_hash.startswith("sha256:"):
            raise ValueError("api_key_hash must be 'sha256:<hex>' (see: python -m integrations.sage100.agent new-key)")
        self.agent = agent
        self.api_key_hash = api_key_hash
        self.router = Router()
        self._routes()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        return self.handle(Request.from_environ(environ))(start_response)

    def handle(self, request: Request) -> Response:
        handler, path_seen = self.router.resolve(request)
        if handler is None:
            return error(405 if path_seen else 404, "not_found", f"No {request.method} {request.path} here.")
        if not key_matches(_given_key(request), self.api_key_hash):
            return error(401, "unauthorized", "Missing or wrong agent API key.", [("WWW-Authenticate", "Bearer")])
        return handler(request)

    def _routes(self) -> None:
        r = self.router
        r.route("GET", "/v1/health")(self.health)
        r.route("POST", "/v1/batches")(self.batches)
        r.route("GET", "/v1/applied/{key}")(self.read_applied)
        r.route("DELETE", "/v1/applied/{key}")(self.release_applied)

    def health(self, request: Request) -> Response:
        return Response.json({"status": "ok", "api": API_VERSION, **self.agent.health()})

    def batches(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return error(400, "invalid_json", "The body is not JSON.")
        operations = body.get("operations") if isinstance(body, dict) else None
        if not isinstance(operations, list) or not operations:
            return error(400, "invalid_batch", 'The body must be {"operations": [ ... ]} with at least one.')
        if len(operations) > MAX_BATCH:
            return error(413, "batch_too_large", f"At most {MAX_BATCH} operations per batch.")
        results = self.agent.apply_batch(operations)
        summary = {"operations": len(results), "applied": sum(r.ok and not r.replayed for r in results),
                   "replayed": sum(r.replayed for r in results), "failed": sum(not r.ok for r in results)}
        return Response.json({"results": [r.to_json() for r in results], "summary": summary})

    def read_applied(self, request: Request) -> Response:
        entry = self.agent.applied(request.params["key"])
        if entry is None:
            return error(404, "not_applied", f"Nothing was applied under key {request.params['key']}.")
        return Response.json(entry.public())

    def release_applied(self, request: Request) -> Response:
        key = request.params["key"]
        entry = self.agent.release(key)
        if entry is None:
            return error(404, "not_applied", f"Nothing is recorded under key {key}.")
        if entry.state == APPLIED:
            return error(409, "applied", f"Key {key} was applied; releasing it would allow a duplicate.")
        return Response.empty()


def _given_key(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key", "").strip()
