"""The sandbox systems as a product feature: per-tenant instances, their servers and the control API.

Start them with ``python manage.py sandbox serve`` (or ``python -m integrations.sandboxes serve``); the demo does.
See docs/sandbox.md.
"""

from .client import ControlClient, SandboxUnavailable
from .hub import ERPS, Instance, SandboxError, SandboxHub
from .server import DEFAULT_PORTS, Ports, SandboxServers, serve_forever

__all__ = [
    "DEFAULT_PORTS",
    "ERPS",
    "ControlClient",
    "Instance",
    "Ports",
    "SandboxError",
    "SandboxHub",
    "SandboxServers",
    "SandboxUnavailable",
    "serve_forever",
]
