"""``ProvideX.Script`` and ``SY_Session``, emulated: logon, company, module date and task security.

Follows the documented order (reference §3.2): ``NewObject("SY_Session")``, ``nSetUser``, ``nSetCompany``,
``nSetDate``/``nSetModule``, ``nSetProgram(nLookupTask("<Table>_ui"))``, then ``NewObject("<Table>_bus", oSS)``.
A business object is only handed out when the session's program is that object's task, as Sage's security
requires.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import date
from typing import Any

from integrations.sage100.agent.objects import BUS_OBJECTS, MODULES
from integrations.sage100.values import parse_boi_date, password_hash

from .base import EmulatedObject
from .db import CompanyDb


class EmulatedComError(Exception):
    """What pywin32 raises as ``com_error`` when ProvideX cannot create an object."""


class EmulatedSession:
    def __init__(self, db: CompanyDb, classes: Mapping[str, type[EmulatedObject]]) -> None:
        self.db = db
        self.classes = classes
        self.sLastErrorMsg = ""
        self.user_key = ""
        self.company = ""
        self.module = ""
        self.program = ""
        self.dates: dict[str, date] = {}

    def _fail(self, message: str) -> int:
        self.sLastErrorMsg = message
        return 0

    def nLogon(self) -> int:  # noqa: N802 - BOI method names
        return 1  # integrated logon is not emulated; nSetUser does the checking

    def nSetUser(self, user: str, password: str) -> int:  # noqa: N802
        """Checks the logon against SY_User (the sandbox stores a hash of the password there)."""
        row = self.db.one("SELECT UserKey, Password, Active FROM SY_User WHERE UserLogon = ?", (user,))
        given = password_hash(row["UserKey"], str(password)) if row else ""
        if row is None or not row["Password"] or not hmac.compare_digest(given, row["Password"]):
            return self._fail("The user logon or password is not valid.")
        if row["Active"] == "N":
            return self._fail(f"User {user} is not active in Sage 100.")
        self.user_key = row["UserKey"]
        return 1

    def nSetCompany(self, company: str) -> int:  # noqa: N802
        if not self.user_key:
            return self._fail("Set the user before the company.")
        row = self.db.one("SELECT AllowExternalAccess FROM SY_Company WHERE CompanyCode = ?", (company.upper(),))
        if row is None:
            return self._fail(f"Company {company} is not on file.")
        if row["AllowExternalAccess"] != "Y":
            return self._fail(f"External access is not allowed for company {company.upper()}.")
        self.company = company.upper()
        return 1

    def nSetDate(self, module: str, yyyymmdd: str) -> int:  # noqa: N802
        if module not in MODULES:
            return self._fail(f"Invalid module {module}.")
        try:
            parsed = parse_boi_date(str(yyyymmdd))
        except ValueError:
            parsed = None
        if parsed is None:
            return self._fail(f"{yyyymmdd} is not a valid date.")
        self.dates[module] = parsed
        return 1

    def nSetModule(self, module: str) -> int:  # noqa: N802
        if module not in MODULES:
            return self._fail(f"Invalid module {module}.")
        if not self.company:
            return self._fail("Set the company before the module.")
        self.module = module
        return 1

    def nLookupTask(self, task: str) -> str | int:  # noqa: N802
        for spec in BUS_OBJECTS.values():
            if spec.task.lower() == str(task).lower():
                return spec.task
        self._fail(f"Task {task} is not on file.")
        return 0

    def nSetProgram(self, task: Any) -> int:  # noqa: N802
        spec = next((s for s in BUS_OBJECTS.values() if s.task == task), None)
        if spec is None:
            return self._fail(f"Invalid program {task}.")
        if spec.module != self.module:
            return self._fail(f"{task} belongs to module {spec.module}; the session is in {self.module or 'none'}.")
        self.program = spec.task
        return 1

    def module_date(self, module: str) -> date:
        return self.dates.get(module) or self.db.clock().date()

    def new_object(self, name: str) -> EmulatedObject:
        cls = self.classes.get(name)
        if cls is None:
            raise EmulatedComError(f"ProvideX could not create {name}: no such business object.")
        if self.program != cls.TASK:
            raise EmulatedComError(f"Access to {name} requires nSetProgram with the {cls.TASK} task.")
        return cls(self)

    def nCleanup(self) -> int:  # noqa: N802
        self.program = self.module = ""
        return 1

    def DropObject(self) -> None:  # noqa: N802
        self.nCleanup()


class EmulatedScript:
    """Stands in for ``win32com.client.Dispatch("ProvideX.Script")`` over one company database."""

    def __init__(self, db: CompanyDb, classes: Mapping[str, type[EmulatedObject]]) -> None:
        self.db = db
        self.classes = classes
        self.home = ""

    def Init(self, home: str) -> None:  # noqa: N802
        self.home = home

    def NewObject(self, name: str, session: EmulatedSession | None = None) -> Any:  # noqa: N802
        if name == "SY_Session":
            return EmulatedSession(self.db, self.classes)
        if session is None:
            raise EmulatedComError(f"{name} needs a session: NewObject({name!r}, oSS).")
        return session.new_object(name)
