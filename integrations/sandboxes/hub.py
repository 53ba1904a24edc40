"""Sandbox instances: one tenant's private Kashflow account plus ERP, created, seeded, served and inspected.

An instance is a folder ``<root>/instances/<id>/`` holding ``instance.json`` (what it is), ``credentials.json``
(generated secrets, mode 0600, never in the repository) and one sub-folder per system with that system's
state. The hub opens each system's WSGI app lazily, once per instance, and mounts it at ``/<id>`` on the
system's port (see :class:`integrations.core.wsgi.Mount`).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from integrations.core.sandbox import SandboxApp, SandboxSystem, size_to_invoices
from integrations.core.wsgi import Mount

ERPS = ("dynamics_ax", "sage100")
INSTANCE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
RESERVED_IDS = {"instances", "health", "_sandbox", "v1", "v2"}


class SandboxError(Exception):
    """A request the hub cannot honour; ``status`` is the HTTP status the control API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def load_systems() -> dict[str, SandboxSystem]:
    from integrations.dynamics_ax.sandbox import SYSTEM as AX
    from integrations.kashflow.sandbox import SYSTEM as KASHFLOW
    from integrations.sage100.sandbox import SYSTEM as SAGE

    return {"kashflow": KASHFLOW, "dynamics_ax": AX, "sage100": SAGE}


# The shape of what a sandbox instance stores. Raise it when a system's schema or seed changes in a way an instance
# created before cannot serve (e.g. the AX sales tax tables); older instances then say they are outdated, and the
# demo re-seeds its own.
DATA_FORMAT = 2


@dataclass
class Instance:
    id: str
    erp: str
    size: int
    rng_seed: int = 0
    label: str = ""
    tenant: str = ""
    created_at: str = ""
    seeded_in_s: dict[str, float] = field(default_factory=dict)
    data_format: int = 1  # instances written before the field existed are format 1

    @property
    def outdated(self) -> bool:
        return self.data_format < DATA_FORMAT

    @property
    def systems(self) -> tuple[str, str]:
        """ERP first: it is master for customers and suppliers, so Kashflow is seeded from it."""
        return (self.erp, "kashflow")

    def public(self) -> dict[str, Any]:
        return asdict(self) | {"systems": list(self.systems)}


class SandboxHub:
    def __init__(self, root: Path, systems: dict[str, SandboxSystem] | None = None) -> None:
        self.root = Path(root)
        (self.root / "instances").mkdir(parents=True, exist_ok=True)
        self.systems = systems if systems is not None else load_systems()
        self._apps: dict[tuple[str, str], SandboxApp] = {}
        self._lock = threading.RLock()
        self._creating: set[str] = set()

    # ------------------------------------------------------------------ instances

    def folder(self, instance_id: str) -> Path:
        return self.root / "instances" / instance_id

    def _check_id(self, instance_id: str) -> str:
        if not isinstance(instance_id, str) or not INSTANCE_ID.match(instance_id) or instance_id in RESERVED_IDS:
            raise SandboxError("instance id must be 1-40 lower-case letters, digits or dashes, starting with a "
                               "letter or digit")
        return instance_id

    def get(self, instance_id: str) -> Instance:
        self._check_id(instance_id)
        meta = self.folder(instance_id) / "instance.json"
        if not meta.exists():
            raise SandboxError(f"no sandbox instance '{instance_id}'", 404)
        return Instance(**json.loads(meta.read_text()))

    def exists(self, instance_id: str) -> bool:
        try:
            self.get(instance_id)
        except SandboxError:
            return False
        return True

    def list(self) -> list[Instance]:
        found = []
        for meta in sorted((self.root / "instances").glob("*/instance.json")):
            try:
                found.append(Instance(**json.loads(meta.read_text())))
            except (ValueError, TypeError):
                continue  # a half-written or foreign folder is not an instance
        return found

    def credentials(self, instance_id: str) -> dict[str, Any]:
        return json.loads((self.folder(instance_id) / "credentials.json").read_text())

    def create(self, *, erp: str, size: int | str = "small", instance_id: str | None = None, tenant: str = "",
               label: str = "", rng_seed: int | None = None) -> Instance:
        """Create and seed an instance (ERP first, then Kashflow with the ERP's parties)."""
        if erp not in ERPS:
            raise SandboxError(f"erp must be one of {', '.join(ERPS)}")
        invoices = self._size(size)
        if instance_id is None:
            stem = re.sub(r"[^a-z0-9]+", "-", (tenant or "sandbox").lower()).strip("-")[:30] or "sandbox"
            instance_id = f"{stem}-{secrets.token_hex(3)}"
        self._check_id(instance_id)
        with self._lock:
            if self.exists(instance_id) or instance_id in self._creating:
                raise SandboxError(f"sandbox instance '{instance_id}' already exists", 409)
            self._creating.add(instance_id)
        try:
            instance = Instance(id=instance_id, erp=erp, size=invoices,
                                rng_seed=secrets.randbelow(2**31) if rng_seed is None else int(rng_seed),
                                label=label, tenant=tenant, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                                data_format=DATA_FORMAT)
            folder = self.folder(instance_id)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            creds = {name: self.systems[name].new_credentials() for name in instance.systems}
            path = folder / "credentials.json"
            path.write_text(json.dumps(creds, indent=2))
            path.chmod(0o600)
            self._seed(instance, creds)
            (folder / "instance.json").write_text(json.dumps(asdict(instance), indent=2))
            return instance
        except BaseException:
            shutil.rmtree(self.folder(instance_id), ignore_errors=True)
            raise
        finally:
            with self._lock:
                self._creating.discard(instance_id)

    def _size(self, size: int | str) -> int:
        try:
            return size_to_invoices(size)
        except ValueError as exc:
            raise SandboxError(str(exc)) from exc

    def _seed(self, instance: Instance, creds: dict[str, Any]) -> None:
        parties = None
        for name in instance.systems:
            system = self.systems[name]
            target = self.folder(instance.id) / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            started = time.perf_counter()
            system.seed(target, creds[name], size=instance.size, rng_seed=instance.rng_seed, parties=parties)
            instance.seeded_in_s[name] = round(time.perf_counter() - started, 3)
            if name == instance.erp:
                parties = system.parties(target)

    def reseed(self, instance_id: str, *, size: int | str | None = None) -> Instance:
        """Throw the instance's data away and seed it again (credentials and URLs stay the same)."""
        with self._lock:
            instance = self.get(instance_id)
            self._close_apps(instance_id)
            if size is not None:
                instance.size = self._size(size)
            self._seed(instance, self.credentials(instance_id))
            instance.data_format = DATA_FORMAT
            (self.folder(instance_id) / "instance.json").write_text(json.dumps(asdict(instance), indent=2))
            return instance

    def delete(self, instance_id: str) -> None:
        with self._lock:
            self.get(instance_id)
            self._close_apps(instance_id)
            shutil.rmtree(self.folder(instance_id))

    def inspect(self, instance_id: str) -> dict[str, Any]:
        instance = self.get(instance_id)
        state: dict[str, Any] = {}
        for name in instance.systems:
            counts = self.systems[name].inspect(self.folder(instance_id) / name)
            app = self._apps.get((name, instance_id))
            state[name] = {"counts": counts, "faults": app.faults.snapshot() if app else {"config": {}}}
        return instance.public() | {"state": state}

    # ------------------------------------------------------------------ serving

    def app(self, system: str, instance_id: str) -> SandboxApp | None:
        """The running app of one system of one instance, opened on first use; None if there is none."""
        key = (system, instance_id)
        app = self._apps.get(key)
        if app is not None:
            return app
        with self._lock:
            app = self._apps.get(key)
            if app is not None:
                return app
            try:
                instance = self.get(instance_id)
            except SandboxError:
                return None
            if system not in instance.systems:
                return None
            creds = self.credentials(instance_id)[system]
            app = self.systems[system].make_app(self.folder(instance_id) / system, creds)
            self._apps[key] = app
            return app

    def mount(self, system: str) -> Mount:
        return Mount(lambda name: self.app(system, name))

    def _served(self, instance_id: str, system: str) -> SandboxApp:
        instance = self.get(instance_id)
        if system not in instance.systems:
            raise SandboxError(f"instance '{instance_id}' has no {system}; it has {', '.join(instance.systems)}", 404)
        return self.app(system, instance_id)

    def faults(self, instance_id: str, system: str) -> dict:
        return self._served(instance_id, system).faults.snapshot()

    def set_faults(self, instance_id: str, system: str, config: dict[str, Any], *, merge: bool = False) -> dict:
        app = self._served(instance_id, system)
        try:
            (app.faults.update if merge else app.faults.set)(config)
        except ValueError as exc:
            raise SandboxError(str(exc)) from exc
        return app.faults.snapshot()

    def connection_fields(self, instance_id: str, root_urls: dict[str, str]) -> dict[str, dict[str, Any]]:
        """What Ledgerbridge connections need, per system. ``root_urls[system]`` is the system's server URL."""
        instance = self.get(instance_id)
        creds = self.credentials(instance_id)
        return {
            name: self.systems[name].connection_fields(f"{root_urls[name].rstrip('/')}/{instance_id}",
                                                       self.folder(instance_id) / name, creds[name])
            for name in instance.systems
        }

    def _close_apps(self, instance_id: str) -> None:
        for key in [k for k in self._apps if k[1] == instance_id]:
            app = self._apps.pop(key)
            self.systems[key[0]].close_app(app)

    def close(self) -> None:
        with self._lock:
            for key in list(self._apps):
                self.systems[key[0]].close_app(self._apps.pop(key))
