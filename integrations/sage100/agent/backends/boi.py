"""The BOI backend: drives Sage 100's business objects through COM on the Windows machine running Sage.

NOT TESTABLE HERE: it needs Windows, pywin32, a Sage 100 workstation install of matching bitness (32-bit
Python for the classic client), a Sage user allowed to run the tasks, and "Allow External Access" ticked for the
company. It is written against the documented interface (reference §3.2-3.4) and shares everything else with
the emulated backend: the call sequence is runner.py, which the sandbox tests exercise.

Threading: COM objects live in the apartment that created them, so one worker thread owns ProvideX and every
call is handed to it. The session is reused (sessions are expensive to open; S14 pools them) and reopened after
``SESSION_MAX_AGE`` or any COM error.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from integrations.sage100.agent.operations import Operation
from integrations.sage100.agent.runner import (
    Outcome,
    SessionSettings,
    apply_operation,
    close_session,
    open_session,
)

log = logging.getLogger("ledgerbridge.sage100.agent.boi")

PROG_ID = "ProvideX.Script"
SESSION_MAX_AGE = 4 * 3600.0  # seconds
CALL_TIMEOUT = 300.0  # a BOI write that takes longer is stuck (a modal prompt, a lock it waits on)


def com_byref(obj: Any, method: str, args: tuple[Any, ...]) -> tuple[int, Any]:
    """Call a BOI method with a by-ref out parameter under late-bound pywin32 dispatch.

    With a generated type library pywin32 returns ``(ret, value)``; with dynamic dispatch the out parameter must
    be an explicit ``VARIANT(VT_BYREF | VT_VARIANT)`` whose ``.value`` is read back (reference §3.2).
    """
    import pythoncom
    import win32com.client

    out = win32com.client.VARIANT(pythoncom.VT_BYREF | pythoncom.VT_VARIANT, "")
    result = getattr(obj, method)(*args, out)
    if isinstance(result, tuple):
        return int(result[0]), result[-1]
    return int(result), out.value


class BoiBackend:
    name = "boi"

    def __init__(self, *, home: str, user: str, password: str, company: str) -> None:
        self.home = home
        self.company = company
        self.settings = SessionSettings(user, password, company)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="boi", initializer=_com_init)
        self._script: Any = None
        self._session: Any = None
        self._opened_at = 0.0

    def apply(self, operation: Operation) -> Outcome:
        return self._pool.submit(self._apply, operation).result(timeout=CALL_TIMEOUT)

    def check(self) -> None:
        self._pool.submit(self._ensure_session).result(timeout=CALL_TIMEOUT)

    def close(self) -> None:
        self._pool.submit(self._drop_session).result(timeout=CALL_TIMEOUT)
        self._pool.shutdown(wait=True)

    # -- on the COM thread ------------------------------------------------------------------------------------

    def _apply(self, operation: Operation) -> Outcome:
        session = self._ensure_session()
        try:
            return apply_operation(self._script, session, operation, today=date.today(), byref=com_byref)
        except Exception:
            self._drop_session()  # a COM error can leave the session unusable: start clean next time
            raise

    def _ensure_session(self) -> Any:
        if self._session is not None and time.monotonic() - self._opened_at < SESSION_MAX_AGE:
            return self._session
        self._drop_session()
        if self._script is None:
            import win32com.client

            self._script = win32com.client.Dispatch(PROG_ID)
            self._script.Init(self.home)
        self._session = open_session(self._script, self.settings)
        self._opened_at = time.monotonic()
        log.info("BOI session opened for company %s", self.company)
        return self._session

    def _drop_session(self) -> None:
        if self._session is not None:
            close_session(self._session)
            self._session = None


def _com_init() -> None:
    import pythoncom

    pythoncom.CoInitialize()
