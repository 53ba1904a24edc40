"""Serve the sandbox systems and their control API, in-process (tests) or as a process (demo)."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from integrations.core.wsgi import ServerThread

from .control import ControlApp, control_token
from .hub import SandboxHub

DEFAULT_PORTS = {"control": 8700, "kashflow": 8701, "dynamics_ax": 8702, "sage100": 8703}


@dataclass
class Ports:
    control: int = DEFAULT_PORTS["control"]
    kashflow: int = DEFAULT_PORTS["kashflow"]
    dynamics_ax: int = DEFAULT_PORTS["dynamics_ax"]
    sage100: int = DEFAULT_PORTS["sage100"]

    @classmethod
    def ephemeral(cls) -> Ports:
        return cls(0, 0, 0, 0)


class SandboxServers:
    """The control API plus one loopback server per system, each hosting every instance under ``/<id>``.

        with SandboxServers(tmp_path, Ports.ephemeral()) as servers:
            instance = servers.hub.create(erp="dynamics_ax", size=20)
            fields = servers.connection_fields(instance.id)
    """

    def __init__(self, root: Path, ports: Ports | None = None, host: str = "127.0.0.1", hub: SandboxHub | None = None,
                 quiet: bool = True) -> None:
        ports = ports or Ports()
        self.root = Path(root)
        self.hub = hub or SandboxHub(self.root)
        self.servers = {
            name: ServerThread(self.hub.mount(name), host, getattr(ports, name), quiet=quiet)
            for name in ("kashflow", "dynamics_ax", "sage100")
        }
        self.urls = {name: server.url for name, server in self.servers.items()}
        self.token = control_token(self.root)
        self.control = ServerThread(ControlApp(self.hub, self.urls, self.token), host, ports.control, quiet=quiet)

    @property
    def control_url(self) -> str:
        return self.control.url

    def connection_fields(self, instance_id: str) -> dict:
        return self.hub.connection_fields(instance_id, self.urls)

    def start(self) -> SandboxServers:
        for server in (*self.servers.values(), self.control):
            server.start()
        return self

    def stop(self) -> None:
        for server in (self.control, *self.servers.values()):
            server.stop()
        self.hub.close()

    def __enter__(self) -> SandboxServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(root: Path, ports: Ports, host: str = "127.0.0.1") -> None:
    """Run until SIGINT/SIGTERM (the demo's sandbox process)."""
    servers = SandboxServers(root, ports, host, quiet=True).start()
    print(f"Sandbox control API  {servers.control_url}  (token in {servers.root / 'control-token'})", flush=True)
    for name, url in servers.urls.items():
        print(f"{servers.hub.systems[name].label:<20} {url}/<instance>", flush=True)
    for instance in servers.hub.list():
        print(f"  instance {instance.id}: {' + '.join(instance.systems)}, {instance.size} invoices", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    servers.stop()
