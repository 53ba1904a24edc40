"""A small client for the sandbox control API (used by the portal and the ``manage.py sandbox`` command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests


class SandboxUnavailable(Exception):
    """The sandbox control API cannot be reached or refused the request."""


class ControlClient:
    def __init__(self, url: str, token: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_root(cls, url: str, root: Path, token: str | None = None) -> ControlClient:
        if not token:
            path = Path(root) / "control-token"
            if not path.exists():
                raise SandboxUnavailable(f"the sandbox servers have not been started (no {path})")
            token = path.read_text().strip()
        return cls(url, token)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = requests.request(method, self.url + path, json=body, timeout=self.timeout,
                                        headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            raise SandboxUnavailable(f"the sandbox control API at {self.url} is not reachable") from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("error")
            except ValueError:
                message = response.text[:200]
            raise SandboxUnavailable(f"sandbox control API answered {response.status_code}: {message}")
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def instances(self) -> list[dict[str, Any]]:
        return self._call("GET", "/instances")["instances"]

    def create(self, *, erp: str, size: int | str = "small", instance_id: str | None = None, tenant: str = "",
               label: str = "", rng_seed: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"erp": erp, "size": size, "tenant": tenant, "label": label}
        if instance_id:
            body["id"] = instance_id
        if rng_seed is not None:
            body["rng_seed"] = rng_seed
        return self._call("POST", "/instances", body)

    def inspect(self, instance_id: str) -> dict[str, Any]:
        return self._call("GET", f"/instances/{instance_id}")

    def connections(self, instance_id: str) -> dict[str, Any]:
        return self._call("GET", f"/instances/{instance_id}/connections")

    def reseed(self, instance_id: str, size: int | str | None = None) -> dict[str, Any]:
        return self._call("POST", f"/instances/{instance_id}/reseed", {} if size is None else {"size": size})

    def delete(self, instance_id: str) -> None:
        self._call("DELETE", f"/instances/{instance_id}")

    def faults(self, instance_id: str, system: str, config: dict[str, Any] | None = None, *,
               merge: bool = False) -> dict[str, Any]:
        if config is None:
            return self._call("GET", f"/instances/{instance_id}/faults/{system}")
        return self._call("PATCH" if merge else "PUT", f"/instances/{instance_id}/faults/{system}", config)

    def clear_faults(self, instance_id: str, system: str) -> dict[str, Any]:
        return self._call("DELETE", f"/instances/{instance_id}/faults/{system}")
