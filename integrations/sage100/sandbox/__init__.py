"""Sage 100 sandbox: the ABC demo company in SQLite (read over ODBC) and the Ledgerbridge agent writing to it.

``SYSTEM`` is what the sandbox control plane uses (integrations.core.sandbox.SandboxSystem).
"""

from .seed import seed
from .system import COMPANY, Sage100Sandbox, SandboxAgentApp

SYSTEM = Sage100Sandbox()

__all__ = ["COMPANY", "SYSTEM", "Sage100Sandbox", "SandboxAgentApp", "seed"]
