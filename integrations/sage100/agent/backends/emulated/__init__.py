"""The emulated backend: BOI business objects over the sandbox company's SQLite tables.

It gives the agent the same ``ProvideX.Script`` surface the Windows backend gets from COM, so the agent's
call sequence (runner.py) is the one tested. Used by the Sage 100 sandbox; never at a customer's site.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from integrations.sage100.agent.operations import Operation
from integrations.sage100.agent.runner import Outcome, SessionSettings, apply_operation, close_session, open_session

from .base import BoiError, EmulatedObject
from .db import CompanyDb
from .masters import CustomerObject, ItemObject, VendorObject
from .payables import ApInvoiceObject, JournalObject
from .receivables import ArInvoiceObject, CashReceiptObject
from .sales_orders import SalesOrderObject
from .session import EmulatedComError, EmulatedScript, EmulatedSession

CLASSES: dict[str, type[EmulatedObject]] = {
    cls.NAME: cls
    for cls in (CustomerObject, VendorObject, ItemObject, ArInvoiceObject, CashReceiptObject, ApInvoiceObject,
                JournalObject, SalesOrderObject)
}

__all__ = ["CLASSES", "BoiError", "EmulatedBackend", "EmulatedComError", "EmulatedScript", "EmulatedSession"]


class EmulatedBackend:
    name = "emulated"

    def __init__(self, database: Path | str, *, company: str, user: str, password: str,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.db = CompanyDb(database, clock)
        self.company = company
        self.script = EmulatedScript(self.db, CLASSES)
        self.settings = SessionSettings(user, password, company)

    def apply(self, operation: Operation) -> Outcome:
        session = open_session(self.script, self.settings)
        try:
            return apply_operation(self.script, session, operation, today=self.db.clock().date())
        finally:
            close_session(session)

    def check(self) -> None:
        """Open and close a session: raises SessionError when the user or company is refused."""
        close_session(open_session(self.script, self.settings))

    def close(self) -> None:
        self.db.close()
