"""Kashflow REST v2 sandbox emulator (plain WSGI + SQLite; no Django)."""

from .app import FaultSwitch, KashflowSandbox, create_app
from .seed import SEED_NOMINAL_CODES, seed
from .store import ManualClock, Store, StoreError

__all__ = [
    "SEED_NOMINAL_CODES",
    "FaultSwitch",
    "KashflowSandbox",
    "ManualClock",
    "Store",
    "StoreError",
    "create_app",
    "seed",
]
