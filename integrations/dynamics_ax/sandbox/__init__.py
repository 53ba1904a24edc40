"""Dynamics AX 2012 sandbox: an AIF inbound port (SOAP 1.1 over HTTP) over AX-named SQLite tables.

``SYSTEM`` is what the sandbox control plane uses (``integrations.core.sandbox.SandboxSystem``); ``create_app``,
``AxStore`` and ``seed`` are the in-process pieces tests use directly.
"""

from .app import AxSandbox, create_app
from .faults import AxFaultSwitch
from .generate import generate
from .seed import seed
from .store import AxStore
from .system import SYSTEM, DynamicsAxSandbox

__all__ = ["SYSTEM", "AxFaultSwitch", "AxSandbox", "AxStore", "DynamicsAxSandbox", "create_app", "generate", "seed"]
