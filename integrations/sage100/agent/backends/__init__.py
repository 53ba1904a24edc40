"""Where the agent's writes go: the BOI backend on Windows, or the emulated backend in the sandbox."""

from __future__ import annotations

from typing import Protocol

from integrations.sage100.agent.operations import Operation
from integrations.sage100.agent.runner import Outcome


class Backend(Protocol):
    name: str  # "boi" or "emulated"
    company: str

    def apply(self, operation: Operation) -> Outcome:
        """Apply one operation. BOI failures come back as ``ret 0``; SessionError when no session opens;
        any other exception is a BOI/COM failure."""

    def check(self) -> None:
        """Raise SessionError if a BOI session cannot be opened (used by /v1/health)."""

    def close(self) -> None: ...
