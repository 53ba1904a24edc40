"""BOI business-object semantics, emulated: the calls, return values and last-error texts of a Sage bus object.

A subclass names its table, key and required fields and fills in hooks (defaults, validation, saving). The
BOI surface is the same for every object:

* ``nSetKeyValue(col$, v)`` then ``nSetKey()`` -> 1 record found (edit), 2 new record, 0 refused;
* ``nSetValue(col$, v)`` -> 1 ok, -1 accepted with a warning, 0 refused; strings and dates take ``col$``
  (dates as ``YYYYMMDD``), numbers take the bare name;
* ``nWrite()`` / ``nDelete()`` -> 1 or 0; nothing reaches the tables before ``nWrite``;
* ``oLines`` (documents): ``nAddLine``, ``nSetValue``, ``nWrite``, ``nMoveFirst``/``nMoveNext``/``nEOF``, ``nDelete``;
* ``sLastErrorMsg`` holds the text of the last failure or warning, on the object whose call failed.

The texts are the sandbox's own (Sage's are not published; reference §3.4), worded the way Sage words them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from integrations.sage100.layouts import Column, Layout, find_layout
from integrations.sage100.values import boi_date, parse_boi_date

if TYPE_CHECKING:
    from .session import EmulatedSession

Record = dict[str, Any]


class BoiError(Exception):
    """A refused call: the object answers 0 and keeps ``message`` in sLastErrorMsg."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- value formats ---------------------------------------------------------------------------------------------


def resolve(layout: Layout, boi_name: str, owner: str) -> Column:
    """The column a BOI field name means; ``$`` must match the column's type, as in ProvideX."""
    name = boi_name[:-1] if boi_name.endswith("$") else boi_name
    column = layout.column(name)
    if column is None:
        raise BoiError(f"{boi_name} is not a column of {owner}.")
    wants_dollar = column.kind != "decimal"
    if boi_name.endswith("$") != wants_dollar:
        form = f"{column.name}$" if wants_dollar else column.name
        raise BoiError(f"{boi_name} is not a column of {owner}; use {form}.")
    return column


def convert(column: Column, value: Any) -> Any:
    """A BOI value as the record holds it: text (cut to the column width), ISO date or None, Decimal."""
    if column.kind == "decimal":
        return to_decimal(column, value)
    text = "" if value is None else str(value)
    if column.kind == "date":
        try:
            parsed = parse_boi_date(text)
        except ValueError:
            raise BoiError(f"{text} is not a valid date for {column.name}.") from None
        return parsed.isoformat() if parsed else None
    text = text.rstrip()
    return text[: column.length] if column.kind == "string" and column.length else text


def to_decimal(column: Column, value: Any) -> Decimal:
    try:
        number = Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        raise BoiError(f"{value} is not a valid number for {column.name}.") from None
    if not number.is_finite():
        raise BoiError(f"{value} is not a valid number for {column.name}.")
    number = number.quantize(column.quantum, ROUND_HALF_UP)
    if column.length and abs(number) >= Decimal(10) ** (column.length - column.scale):
        raise BoiError(f"{value} is too large for {column.name}.")
    return number


def to_boi(column: Column | None, value: Any) -> Any:
    """A stored value as nGetValue gives it: dates ``YYYYMMDD``, numbers as doubles."""
    if value is None:
        return 0.0 if column is not None and column.kind == "decimal" else ""
    if column is not None and column.kind == "date":
        return boi_date(date.fromisoformat(value))
    if isinstance(value, Decimal):
        return float(value)
    return value


def _formatted(formats: dict[str, Callable[[str], str]], column: Column, value: Any) -> Any:
    fmt = formats.get(column.name)
    return fmt(value) if fmt is not None and not blank(value) else value


def _layout(name: str) -> Layout:
    found = find_layout(name)
    if found is None:
        raise KeyError(f"no layout {name!r} for an emulated business object")
    return found


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"), ROUND_HALF_UP)


# -- key formats -----------------------------------------------------------------------------------------------


def division(value: str) -> str:
    text = value.strip()
    if not text.isdigit() or len(text) > 2:
        raise BoiError(f"Invalid division {text}.")
    return text.zfill(2)


def code(length: int) -> Callable[[str], str]:
    """Upper-case codes (customer, vendor, item numbers), as Sage's masks store them."""

    def fmt(value: str) -> str:
        text = value.strip().upper()
        if len(text) > length:
            raise BoiError(f"{text} is longer than {length} characters.")
        return text

    return fmt


def number(width: int) -> Callable[[str], str]:
    """Document numbers: zero-filled when numeric (``115`` -> ``0000115``), upper case otherwise."""

    def fmt(value: str) -> str:
        text = value.strip().upper()
        if len(text) > width:
            raise BoiError(f"{text} is longer than {width} characters.")
        return text.zfill(width) if text.isdigit() else text

    return fmt


# -- objects ---------------------------------------------------------------------------------------------------


class EmulatedLines:
    """``oLines`` of a document object: lines held in memory until the header is written."""

    FIELDS: ClassVar[str] = ""  # layout giving the line columns
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    HIDDEN: ClassVar[tuple[str, ...]] = ()  # header key columns the line layout repeats; not settable
    FORMATS: ClassVar[dict[str, Callable[[str], str]]] = {}  # codes Sage stores formatted (upper case, zero-fill)

    def __init__(self, owner: EmulatedObject) -> None:
        self.owner = owner
        self.layout = _layout(self.FIELDS)
        self.rows: list[Record] = []
        self.current: Record | None = None
        self.index: int | None = None  # position of the line being edited, None for a new one
        self.cursor = 0
        self.sLastErrorMsg = ""

    def load(self, rows: list[Record]) -> None:
        self.rows, self.current, self.index, self.cursor = rows, None, None, 0

    @property
    def pending(self) -> bool:
        return self.current is not None

    def _call(self, action: Callable[..., Any], *args: Any) -> int:
        try:
            warning = action(*args)
        except BoiError as failure:
            self.sLastErrorMsg = failure.message
            return 0
        if warning:
            self.sLastErrorMsg = warning
            return -1
        return 1

    def nAddLine(self) -> int:  # noqa: N802 - BOI method names
        return self._call(self._add)

    def _add(self) -> None:
        if self.owner.state == 0:
            raise BoiError("No document is being edited; call nSetKey first.")
        self.current, self.index = self.owner.line_defaults(), None

    def nSetValue(self, name: str, value: Any) -> int:  # noqa: N802
        return self._call(self._set, name, value)

    def _set(self, name: str, value: Any) -> str | None:
        if self.current is None:
            raise BoiError("No line is being edited; call nAddLine first.")
        column = resolve(self.layout, name, f"{self.owner.NAME} lines")
        if column.name in self.HIDDEN:
            raise BoiError(f"{column.name} is taken from the document header.")
        converted = _formatted(self.FORMATS, column, convert(column, value))
        warning = self.owner.on_line_set(self.current, column.name, converted)
        self.current[column.name] = converted
        return warning

    def nGetValue(self, name: str, _out: Any = "") -> tuple[int, Any]:  # noqa: N802
        line = self.current if self.current is not None else self._at_cursor()
        if line is None:
            return 0, ""
        column = self.layout.column(name.rstrip("$"))
        return 1, to_boi(column, line.get(column.name if column else name))

    def nWrite(self) -> int:  # noqa: N802
        return self._call(self._write)

    def _write(self) -> str | None:
        if self.current is None:
            raise BoiError("No line is being edited.")
        for name in self.REQUIRED:
            if blank(self.current.get(name)):
                raise BoiError(f"{name} is required.")
        warning = self.owner.validate_line(self.current)
        if self.index is None:
            self.rows.append(self.current)
        else:
            self.rows[self.index] = self.current
        self.current, self.index = None, None
        return warning

    def nDelete(self) -> int:  # noqa: N802
        return self._call(self._delete)

    def _delete(self) -> None:
        if self._at_cursor() is None:
            raise BoiError("No line is selected.")
        del self.rows[self.cursor]
        self.current, self.index = None, None

    def nMoveFirst(self) -> int:  # noqa: N802
        self.cursor = 0
        return self._select()

    def nMoveNext(self) -> int:  # noqa: N802
        self.cursor += 1
        return self._select()

    def _select(self) -> int:
        line = self._at_cursor()
        self.current, self.index = (dict(line), self.cursor) if line is not None else (None, None)
        return 1 if line is not None else 0

    @property
    def nEOF(self) -> int:  # noqa: N802
        return int(self.cursor >= len(self.rows))

    def _at_cursor(self) -> Record | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None


class EmulatedObject:
    """One emulated ``*_bus`` object; subclasses fill in the hooks below."""

    NAME: ClassVar[str]  # "AR_Customer_bus"
    LABEL: ClassVar[str]  # "customer"
    TASK: ClassVar[str]  # "AR_Customer_ui": the program nSetProgram must have selected
    FIELDS: ClassVar[str]  # layout of the header fields
    KEY: ClassVar[dict[str, Callable[[str], str]]]  # key columns in nSetKeyValue order, with their formats
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    FORMATS: ClassVar[dict[str, Callable[[str], str]]] = {}  # non-key codes Sage stores formatted
    LINES: ClassVar[type[EmulatedLines] | None] = None

    def __init__(self, session: EmulatedSession) -> None:
        self.session = session
        self.db = session.db
        self.layout: Layout = _layout(self.FIELDS)
        self.sLastErrorMsg = ""
        self.oLines = self.LINES(self) if self.LINES else None
        self.batch = ""
        self._reset()

    # -- the BOI surface ------------------------------------------------------------------------------------------

    def nSetKeyValue(self, name: str, value: Any) -> int:  # noqa: N802 - BOI method names
        return self._call(self._set_key_value, name, value)

    def nSetKey(self, value: Any = None) -> int:  # noqa: N802
        try:
            return self._set_key(value)
        except BoiError as failure:
            self.sLastErrorMsg = failure.message
            self._reset()
            return 0

    def nSetValue(self, name: str, value: Any) -> int:  # noqa: N802
        return self._call(self._set_value, name, value)

    def nGetValue(self, name: str, _out: Any = "") -> tuple[int, Any]:  # noqa: N802
        column = self.layout.column(name.rstrip("$"))
        if self.state == 0 or column is None:
            return 0, ""
        return 1, to_boi(column, self.record.get(column.name))

    def nWrite(self) -> int:  # noqa: N802
        return self._call(self._write)

    def nDelete(self, value: Any = None) -> int:  # noqa: N802
        if value is not None and self.nSetKey(value) == 0:
            return 0
        return self._call(self._delete)

    def nClear(self) -> int:  # noqa: N802
        self._reset()
        return 1

    def nSelectBatch(self, batch: str) -> int:  # noqa: N802
        self.batch = str(batch).strip().zfill(5)
        return 1

    def DropObject(self) -> None:  # noqa: N802
        self._reset()

    # -- the mechanics ------------------------------------------------------------------------------------------

    def _reset(self) -> None:
        self.state = 0  # 0 nothing, 1 editing an existing record, 2 a new one (nEditState)
        self.keys: Record = {}
        self.record: Record = {}
        self.original: Record = {}
        if self.oLines is not None:
            self.oLines.load([])

    def _call(self, action: Callable[..., Any], *args: Any) -> int:
        try:
            warning = action(*args)
        except BoiError as failure:
            self.sLastErrorMsg = failure.message
            return 0
        if warning:
            self.sLastErrorMsg = warning
            return -1
        return 1

    def _set_key_value(self, name: str, value: Any) -> None:
        column = resolve(self.layout, name, self.NAME)
        if column.name not in self.KEY:
            raise BoiError(f"{column.name} is not part of the {self.LABEL} key.")
        self.keys[column.name] = self.KEY[column.name](str(value or ""))

    def _set_key(self, value: Any) -> int:
        if value is not None:
            *_, last = self.KEY
            self._set_key_value(f"{last}$", value)
        for name in self.KEY:
            if blank(self.keys.get(name)):
                raise BoiError(f"{name} is required.")
        keys = {name: self.keys[name] for name in self.KEY}
        self.check_key(keys)
        existing = self.load(keys)
        if existing is not None:
            self.state, self.record, self.original = 1, existing, dict(existing)
            if self.oLines is not None:
                self.oLines.load(self.load_lines(keys))
            return 1
        self.state, self.record, self.original = 2, {**self.defaults(keys), **keys}, {}
        return 2

    def _set_value(self, name: str, value: Any) -> str | None:
        self._editing()
        column = resolve(self.layout, name, self.NAME)
        if column.name in self.KEY:
            raise BoiError(f"{column.name} is part of the key; set it with nSetKeyValue.")
        converted = _formatted(self.FORMATS, column, convert(column, value))
        warning = self.on_set(column.name, converted)
        self.record[column.name] = converted
        return warning

    def _write(self) -> str | None:
        self._editing()
        if self.oLines is not None and self.oLines.pending:
            raise BoiError("A line is still being edited; write it with oLines.nWrite first.")
        self.check_write()
        for name in self.REQUIRED:
            if blank(self.record.get(name)):
                raise BoiError(f"{name} is required.")
        warning = self.validate()
        with self.db.transaction():
            self.save(is_new=self.state == 2)
        self._reset()
        return warning

    def _delete(self) -> None:
        if self.state != 1:
            raise BoiError(f"The {self.LABEL} is not on file.")
        self.check_delete()
        with self.db.transaction():
            self.remove()
        self._reset()

    def _editing(self) -> None:
        if self.state == 0:
            raise BoiError("No record is being edited; call nSetKey first.")

    @property
    def user_key(self) -> str:
        return self.session.user_key

    # -- hooks ----------------------------------------------------------------------------------------------------

    def check_key(self, keys: Record) -> None:
        """Refuse a key (invalid division, duplicate document number) by raising BoiError."""

    def load(self, keys: Record) -> Record | None:
        """The record on file for ``keys``, or None (default: the FIELDS table by primary key)."""
        return self.db.get(self.FIELDS, **keys)

    def load_lines(self, keys: Record) -> list[Record]:
        return []

    def defaults(self, keys: Record) -> Record:
        return {}

    def on_set(self, name: str, value: Any) -> str | None:
        """Check or react to one value before it is stored; return a warning text or raise BoiError."""
        return None

    def check_write(self) -> None:
        """Refuse a write before anything else is checked (a posted document cannot change)."""

    def validate(self) -> str | None:
        """Whole-record checks at nWrite (after the required fields)."""
        return None

    def save(self, *, is_new: bool) -> None:
        if is_new:
            self.db.insert(self.FIELDS, self.record, user_key=self.user_key)
        else:
            changed = {k: v for k, v in self.record.items() if self.original.get(k) != v}
            if changed:
                self.db.update(self.FIELDS, self.keys_of(self.record), changed, user_key=self.user_key)

    def check_delete(self) -> None:
        pass

    def remove(self) -> None:
        self.db.delete(self.FIELDS, **self.keys_of(self.record))

    def line_defaults(self) -> Record:
        return {}

    def on_line_set(self, line: Record, name: str, value: Any) -> str | None:
        return None

    def validate_line(self, line: Record) -> str | None:
        return None

    def keys_of(self, record: Record) -> Record:
        return {name: record[name] for name in self.KEY}
