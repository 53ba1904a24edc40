"""Apply one operation through the Business Object Interface, the way Sage's own samples drive it.

The same code drives the real ``ProvideX.Script`` COM object (backends/boi.py) and the emulation
(backends/emulated/), so the sequence tested here is the sequence that runs at a customer's site:

    oSS = oScript.NewObject("SY_Session"); oSS.nSetUser(u, p); oSS.nSetCompany("ABC")
    oSS.nSetDate("A/R", "YYYYMMDD"); oSS.nSetModule("A/R"); oSS.nSetProgram(oSS.nLookupTask("AR_Customer_ui"))
    o = oScript.NewObject("AR_Customer_bus", oSS)
    o.nSetKeyValue("ARDivisionNo$", "01"); o.nSetKeyValue("CustomerNo$", "ABF"); o.nSetKey()  -> 2 new, 1 found
    o.nSetValue("CustomerName$", "..."); o.oLines.nAddLine(); o.oLines.nSetValue(...); o.oLines.nWrite()
    o.nWrite()  -> 1 ok, -1 warning, 0 failed (o.sLastErrorMsg)
    o.DropObject()

Return values are checked after every call, and a failure names where it happened ("line 2: ...").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from integrations.sage100.layouts import find_layout
from integrations.sage100.values import boi_date, is_iso_date

from .objects import BUS_OBJECTS, BusObject
from .operations import DUPLICATE, NOT_FOUND, Operation, Scalar

MAX_EXISTING_LINES = 10_000

# By-ref out parameters (nGetNextSalesOrderNo(byref), nGetValue(field, byref)) differ per caller: pywin32
# returns (ret, value) tuples with a type library, and needs an explicit VARIANT without one.
ByRef = Callable[[Any, str, tuple[Any, ...]], tuple[int, Any]]


def tuple_byref(obj: Any, method: str, args: tuple[Any, ...]) -> tuple[int, Any]:
    """Call ``method(*args, "")`` and read ``(ret, value)`` back, as pywin32 does with a type library."""
    result = getattr(obj, method)(*args, "")
    if isinstance(result, tuple | list) and len(result) >= 2:
        return int(result[0]), result[-1]
    return int(result), ""


LINE_LEAD = ("ItemCode",)  # line fields set before all others

class SessionError(Exception):
    """A BOI session cannot be opened (user, password, company, external access); nothing was applied."""


@dataclass(frozen=True)
class SessionSettings:
    user: str
    password: str = field(repr=False)
    company: str


@dataclass
class Outcome:
    ret: int  # 1, -1 (warning) or 0
    last_error: str = ""
    record_key: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    code: str = ""  # set when the agent itself knows why (record already / not on file); else from the text


def open_session(script: Any, settings: SessionSettings) -> Any:
    session = script.NewObject("SY_Session")
    if _ret(session.nSetUser(settings.user, settings.password)) == 0:
        text = _text(session)
        close_session(session)
        raise SessionError(f"Sage refused the agent's user {settings.user!r}: {text}")
    if _ret(session.nSetCompany(settings.company)) == 0:
        text = _text(session)
        close_session(session)
        raise SessionError(f"Sage refused company {settings.company!r}: {text}")
    return session


def close_session(session: Any) -> None:
    for call in ("nCleanup", "DropObject"):
        try:
            getattr(session, call)()
        except Exception:  # noqa: BLE001, S110 - releasing a session must never mask the real outcome
            pass


def apply_operation(script: Any, session: Any, operation: Operation, *, today: date,
                    byref: ByRef = tuple_byref) -> Outcome:
    """Apply one operation in an open session; never raises for BOI failures (they come back as ret 0).

    COM errors (the object could not be created, a call raised) propagate: the caller reports them as
    ``boi_failure`` and may reopen the session.
    """
    spec = BUS_OBJECTS[operation.object]
    _enter_task(session, spec, today)
    obj = script.NewObject(spec.name, session)
    try:
        return _Run(obj, spec, operation, byref).run()
    finally:
        try:
            obj.DropObject()
        except Exception:  # noqa: BLE001, S110 - see close_session
            pass


def _enter_task(session: Any, spec: BusObject, today: date) -> None:
    checks = (
        ("nSetDate", (spec.module, boi_date(today))),
        ("nSetModule", (spec.module,)),
    )
    for method, args in checks:
        if _ret(getattr(session, method)(*args)) == 0:
            raise SessionError(f"{method}{args} failed: {_text(session)}")
    task = session.nLookupTask(spec.task)
    if not task or _ret(session.nSetProgram(task)) == 0:
        raise SessionError(f"the agent's user may not run {spec.task} in Sage: {_text(session)}")


class _Failed(Exception):
    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class _Run:
    def __init__(self, obj: Any, spec: BusObject, operation: Operation, byref: ByRef) -> None:
        self.obj = obj
        self.spec = spec
        self.op = operation
        self.byref = byref
        self.warnings: list[str] = []
        self.key: dict[str, str] = {}

    def run(self) -> Outcome:
        try:
            self._select_batch()
            found = self._set_key()
            self._check_presence(found)
            if self.op.action == "delete":
                self._check(self.obj.nDelete(), self.obj, "delete")
            else:
                self._set_fields()
                self._set_lines()
                self._check(self.obj.nWrite(), self.obj, "write")
        except _Failed as failure:
            self._clear()
            return Outcome(0, failure.message, dict(self.key), self.warnings, failure.code)
        return Outcome(-1 if self.warnings else 1, "; ".join(self.warnings), dict(self.key), self.warnings)

    # -- steps ------------------------------------------------------------------------------------------------

    def _select_batch(self) -> None:
        batch = self.op.fields.get("BatchNo")
        if self.spec.batches and batch:
            self._check(self.obj.nSelectBatch(str(batch)), self.obj, f"select batch {batch}")

    def _set_key(self) -> int:
        for column in self.spec.key:
            value = self.op.fields.get(column, self.spec.key_defaults.get(column))
            if (value is None or value == "") and self._numbered(column):
                ret, value = self.byref(self.obj, self.spec.next_number[1], ())
                if ret == 0 or not value:
                    raise _Failed(f"Sage gave no next number for {column}: {_text(self.obj)}")
            if value is None or value == "":
                raise _Failed(f"{column} is required to identify the {self.spec.label}.")
            self._check(self.obj.nSetKeyValue(f"{column}$", str(value)), self.obj, f"key {column}")
            self.key[column] = str(value)
        ret = _ret(self.obj.nSetKey())
        if ret == 0:
            raise _Failed(_text(self.obj) or f"Sage refused the key {self._key_text()}.")
        self._read_back_key()
        return ret

    def _numbered(self, column: str) -> bool:
        return self.op.action == "create" and self.spec.next_number is not None \
            and self.spec.next_number[0] == column

    def _read_back_key(self) -> None:
        """Sage formats keys (zero-filled divisions and numbers, upper case): report what it stored."""
        for column in self.spec.key:
            ret, value = self.byref(self.obj, "nGetValue", (f"{column}$",))
            if ret and value:
                self.key[column] = str(value)

    def _check_presence(self, found: int) -> None:
        if self.op.action == "create" and found == 1:
            raise _Failed(f"The {self.spec.label} {self._key_text()} is already on file.", DUPLICATE)
        if self.op.action != "create" and found == 2:
            raise _Failed(f"The {self.spec.label} {self._key_text()} is not on file; nothing to {self.op.action}.",
                          NOT_FOUND)

    def _set_fields(self) -> None:
        fields = {k: v for k, v in self.op.fields.items() if k not in self.spec.key and k != "BatchNo"}
        ordered = [name for name in self.spec.lead if name in fields] + [n for n in fields if n not in self.spec.lead]
        for name in ordered:
            self._set_value(self.obj, self.spec.table, name, fields[name], "")

    def _set_lines(self) -> None:
        if self.op.lines is None:
            return
        lines = self.obj.oLines
        if self.op.action == "update":
            self._delete_existing_lines(lines)
        for number, line in enumerate(self.op.lines, 1):
            where = f"line {number}: "
            self._check(lines.nAddLine(), lines, f"{where}add line")
            # ItemCode first: BOI fills a line's type, price and accounts from the item, and later values
            # override those defaults (operations may arrive with keys reordered, e.g. from JSONB).
            for name in sorted(line, key=lambda n: n not in LINE_LEAD):
                self._set_value(lines, self.spec.lines_table, name, line[name], where)
            self._check(lines.nWrite(), lines, f"{where}write", prefix=where)

    def _delete_existing_lines(self, lines: Any) -> None:
        for _ in range(MAX_EXISTING_LINES):
            if _ret(lines.nMoveFirst()) == 0 or _flag(lines.nEOF):
                return
            self._check(lines.nDelete(), lines, "delete existing line")
        raise _Failed("The document has too many lines to replace.")

    def _set_value(self, target: Any, table: str, name: str, value: Scalar, where: str) -> None:
        boi_name, boi_value = boi_field(table, name, value)
        self._check(target.nSetValue(boi_name, boi_value), target, f"{where}{name}", prefix=where)

    # -- helpers ----------------------------------------------------------------------------------------------

    def _check(self, result: Any, target: Any, step: str, prefix: str = "") -> None:
        ret = _ret(result)
        if ret == 0:
            raise _Failed(prefix + (_text(target) or f"Sage refused {step}."))
        if ret < 0:
            self.warnings.append(prefix + (_text(target) or f"warning at {step}"))

    def _clear(self) -> None:
        try:
            self.obj.nClear()
        except Exception:  # noqa: BLE001, S110 - dropping the object discards the edit anyway
            pass

    def _key_text(self) -> str:
        return "-".join(self.key.values()) or "(no key)"


def boi_field(table: str, name: str, value: Scalar) -> tuple[str, Any]:
    """BOI's name and value for a column: strings and dates as ``Name$`` text, numbers as doubles.

    The layout of the object's table decides when it knows the column; otherwise the JSON type does.
    """
    found = find_layout(table)
    column = found.column(name) if found else None
    numeric = column.kind == "decimal" if column else isinstance(value, int | float) and not isinstance(value, bool)
    if numeric:
        try:
            return name, float(value or 0)
        except (TypeError, ValueError):
            return f"{name}$", str(value)  # let Sage say what is wrong with it
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "Y" if value else "N"
    else:
        text = str(value)
    return f"{name}$", boi_date(text) if is_iso_date(text) else text


def _ret(result: Any) -> int:
    if isinstance(result, tuple | list):
        result = result[0] if result else 0
    try:
        return int(result)
    except (TypeError, ValueError):
        return 0


def _flag(value: Any) -> bool:
    return bool(_ret(value() if callable(value) else value))


def _text(obj: Any) -> str:
    try:
        return str(obj.sLastErrorMsg or "").strip()
    except Exception:  # noqa: BLE001 - an unreadable message is an empty one
        return ""
