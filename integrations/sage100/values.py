"""Sage 100 value formats shared by the ODBC reader, the agent and the sandbox.

* ``TimeCreated``/``TimeUpdated`` hold the time of day as decimal hours in text (``"13.52450"`` = 13:31:28).
* BOI takes and gives dates as ``YYYYMMDD`` strings; ODBC gives ``datetime.date``.
* Premium (SQL Server) stores empty dates as 1753-01-01; ProvideX answers NULL.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

NULL_DATE = date(1753, 1, 1)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_BOI_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def decimal_hours(moment: datetime | time) -> str:
    """The time of day as Sage stores it: hours with five decimals, eight characters (``"09.00000"``).

    ProvideX's TIM function gives the time as decimal hours; the zero-padded fixed width is inferred from the
    v(8) column, and keeps text order equal to time order.
    """
    hours = moment.hour + moment.minute / 60 + (moment.second + moment.microsecond / 1_000_000) / 3600
    return f"{min(hours, 23.99999):08.5f}"


def parse_decimal_hours(text: str | float | Decimal | None) -> Decimal:
    """Decimal hours from a TimeUpdated value; blank or unreadable values count as midnight."""
    if text is None:
        return Decimal(0)
    try:
        value = Decimal(str(text).strip() or "0")
    except InvalidOperation:
        return Decimal(0)
    return value if Decimal(0) <= value < Decimal(24) else Decimal(0)


def hours_to_time(hours: Decimal) -> time:
    seconds = min(int(hours * 3600), 24 * 3600 - 1)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def boi_date(value: date | str) -> str:
    """``YYYYMMDD`` for BOI from a date or an ISO ``YYYY-MM-DD`` string (other strings pass unchanged)."""
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    match = _ISO_DATE.match(value)
    return "".join(match.groups()) if match else value


def parse_boi_date(value: str) -> date | None:
    """A date from BOI's ``YYYYMMDD`` (or ISO) text; None for blank; ValueError for anything else."""
    text = value.strip()
    if not text:
        return None
    match = _BOI_DATE.match(text) or _ISO_DATE.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a date (YYYYMMDD)")
    return date(*(int(part) for part in match.groups()))


def is_iso_date(value: object) -> bool:
    return isinstance(value, str) and bool(_ISO_DATE.match(value))


def password_hash(user_key: str, password: str) -> str:
    """How the sandbox keeps a Sage user's password in SY_User.Password (v(30)); Sage's own scheme is private."""
    return hashlib.sha256(f"{user_key}:{password}".encode()).hexdigest()[:30]
