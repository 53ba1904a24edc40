"""Kashflow REST v2 sandbox emulator (plain WSGI + SQLite; no Django). See docs/sandbox/kashflow.md.

    app.py        routes: login, resources, paging envelopes, fault interception
    faults.py     the fault switch (common faults + sql_timeout, expire_sessions)
    store.py      one account's state: parties.py (customers, suppliers) on documents.py (invoices,
                  purchases, payments) on ledger.py (nominals, products, journals) on banking.py (VAT,
                  currencies, payment methods, bank accounts) on base.py (SQLite, settings, login, sessions)
    model.py      Kashflow's field names, enums and value rules (pure)
    render.py     JSON the way Kashflow prints it (4-dp money, {Message, Error})
    seed.py       a realistic UK design & print studio, at any size
    system.py     ``SYSTEM``: the SandboxSystem the control plane drives
"""

from .app import FaultSwitch, KashflowSandbox, create_app
from .faults import KashflowFaults
from .model import StoreError
from .seed import SEED_NOMINAL_CODES, seed
from .store import ManualClock, Store
from .system import SYSTEM, KashflowSystem

__all__ = [
    "SEED_NOMINAL_CODES",
    "SYSTEM",
    "FaultSwitch",
    "KashflowFaults",
    "KashflowSandbox",
    "KashflowSystem",
    "ManualClock",
    "Store",
    "StoreError",
    "create_app",
    "seed",
]
