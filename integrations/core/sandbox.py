"""The contract between the sandbox control plane and each emulated system.

A *sandbox instance* is one tenant's private copy of a system: a Kashflow account, an AX installation, a Sage
100 company. Its state lives in files under one folder (``var/sandbox/instances/<instance>/<system>/``), and the
control plane (``integrations.sandboxes``) serves it mounted at ``/<instance>`` on the system's port, so a
connection's base URL (``http://127.0.0.1:8701/<instance>/v2``) is all that tells instances apart — the
connectors need no sandbox knowledge.

Each system package (``integrations/<system>/sandbox/``) exposes a module-level ``SYSTEM`` object that
implements :class:`SandboxSystem`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .faults import FaultSwitch

SIZES = {"tiny": 20, "small": 200, "medium": 5_000, "large": 100_000}


def size_to_invoices(size: int | str) -> int:
    """A seeding size is a number of sales invoices, or one of SIZES; the rest scales from it."""
    if isinstance(size, str):
        if size.isdigit():
            size = int(size)
        elif size in SIZES:
            size = SIZES[size]
        else:
            raise ValueError(f"unknown size '{size}'; use a number of invoices or one of {', '.join(SIZES)}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0 or size > 1_000_000:
        raise ValueError("size must be a number of invoices between 0 and 1,000,000")
    return size


@dataclass
class SharedParty:
    """A customer or supplier both sides of a sandbox pair know (the ERP is master for master data)."""

    code: str
    name: str
    kind: str = "customer"  # or "supplier"
    address_lines: list[str] = field(default_factory=list)  # street first, town last
    postcode: str = ""
    country: str = "GB"  # ISO 3166-1 alpha-2
    currency: str = "GBP"
    email: str = ""
    phone: str = ""


class SandboxApp(Protocol):
    """A WSGI app with its fault switch."""

    faults: FaultSwitch

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any: ...


class SandboxSystem(Protocol):
    name: str  # "kashflow", "dynamics_ax", "sage100"
    label: str  # "Kashflow", "Dynamics AX 2012", "Sage 100"

    def new_credentials(self) -> dict[str, Any]:
        """Fresh random credentials for a new instance (never stored in the repository)."""

    def seed(self, folder: Path, credentials: dict[str, Any], *, size: int, rng_seed: int = 0,
             parties: list[SharedParty] | None = None) -> dict[str, int]:
        """Create the instance's state in ``folder`` (which is empty) and return record counts.

        ``size`` is the number of sales invoices (Kashflow) or the matching transaction volume (ERPs);
        master data scales with it. ``parties`` are customers/suppliers the pair shares. Deterministic
        for a given ``rng_seed``.
        """

    def parties(self, folder: Path) -> list[SharedParty]:
        """The customers/suppliers this instance holds, for seeding the other side of a pair."""

    def make_app(self, folder: Path, credentials: dict[str, Any]) -> SandboxApp:
        """Open the instance's state and return the WSGI app serving it (thread-safe)."""

    def close_app(self, app: SandboxApp) -> None:
        """Release files held by an app from make_app."""

    def inspect(self, folder: Path) -> dict[str, Any]:
        """Record counts per entity (and anything else useful) without an app running."""

    def connection_fields(self, root_url: str, folder: Path, credentials: dict[str, Any]) -> dict[str, Any]:
        """What a Ledgerbridge Connection needs to reach this instance.

        ``root_url`` is where the instance is mounted (``http://127.0.0.1:8701/<instance>``). Returns
        ``{"base_url", "username", "password", "memorable_word", "settings": {...}}`` (keys as relevant).
        """
