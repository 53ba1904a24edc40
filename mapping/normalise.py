"""Normalisation of the values flows carry between Kashflow and the ERPs: dates, phone numbers, names, case, and
trimming to a target field's length.

Why here and not in each flow: Kashflow (REST/JSON, and its older .NET JSON dates), AX (AIF xs:date, a null date
of 1900-01-01) and Sage (ODBC dates, short columns) each write values differently, and people type them into
Kashflow in every shape. One set of pure functions keeps every flow's reading the same, and the mapping editor's
preview shows exactly what a flow will do.

Trimming never happens silently: :func:`trim` returns the cut value together with a warning naming the field,
the length and the original, which flows put on the record (the issue's "say which fields were cut").
Unreadable values raise :class:`NormaliseError` (a ``ValueError``) naming the value; flows turn it into a
``TargetValidationError`` of code ``invalid_value`` with :func:`invalid_value`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from integrations.core.errors import TargetValidationError

__all__ = [
    "NormaliseError", "invalid_value", "normalise_case", "normalise_date", "normalise_name", "normalise_phone",
    "normalise_whitespace", "parse_date", "trim", "trim_fields",
]


class NormaliseError(ValueError):
    """A value that cannot be normalised; the message names it."""

    def __init__(self, message: str, *, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.value = value


def invalid_value(error: NormaliseError, *, field: str, system: str = "Mapping") -> TargetValidationError:
    """The inbox error for a value a flow could not normalise (code ``invalid_value``)."""
    return TargetValidationError(f"{field}: {error.message}", system=system, code="invalid_value",
                                 payload={"field": field, "value": str(error.value)})


def normalise_whitespace(value: Any) -> str:
    """``value`` as text, stripped, with runs of whitespace (tabs, newlines, non-breaking spaces) as one space."""
    return " ".join(str(value if value is not None else "").split())


# ---------------------------------------------------------------------- dates

# Dates that mean "no date": .NET's DateTime.MinValue (Kashflow quotes' DueDate), AX's dateNull().
NULL_DATES = frozenset({date(1, 1, 1), date(1900, 1, 1)})
_DOTNET = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_NUMERIC = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})$")
_MONTHS = {name: n for n, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for name in names}
_WORDY = re.compile(r"^(?:(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})|([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?"
                    r"\s+(\d{4}))$", re.IGNORECASE)


def parse_date(value: Any, *, day_first: bool = True) -> date | None:
    """A date from the shapes the systems and people write, or None for no date (empty, .NET's
    0001-01-01, AX's 1900-01-01).

    Accepted: ``date``/``datetime``; ISO (``2024-03-05``, with a time and offset: the date part, as written —
    Kashflow and AX send local business dates, so no timezone shift); ``20240305``; .NET JSON
    ``/Date(1709596800000)/`` (UTC); ``05/03/2024`` / ``5.3.24`` (day first unless ``day_first=False``, the US
    order; a first number above 12 decides on its own); ``5 Mar 2024``, ``March 5th, 2024``.
    Raises NormaliseError naming the value otherwise (also for impossible dates such as 31/02/2024)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    else:
        found = _parse_date_text(normalise_whitespace(value), day_first)
        if found is None:
            return None
    return None if found in NULL_DATES else found


def _parse_date_text(text: str, day_first: bool) -> date | None:
    if not text:
        return None
    try:
        dotnet = _DOTNET.match(text)
        if dotnet:
            return datetime.fromtimestamp(int(dotnet.group(1)) / 1000, tz=UTC).date()
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        iso = re.match(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])", text)
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        numeric = _NUMERIC.match(text.split(" ")[0] if re.search(r"\d[ T]\d{1,2}:", text) else text)
        if numeric:
            return _numeric_date(*(numeric.group(n) for n in (1, 2, 3)), day_first=day_first, text=text)
        wordy = _WORDY.match(text)
        if wordy:
            day, month, year = ((wordy.group(1), wordy.group(2), wordy.group(3)) if wordy.group(1)
                                else (wordy.group(5), wordy.group(4), wordy.group(6)))
            number = _MONTHS.get(month.lower())
            if number:
                return date(int(year), number, int(day))
    except (ValueError, OverflowError, OSError) as exc:
        raise NormaliseError(f"{text!r} is not a valid date ({exc}).", value=text) from None
    raise NormaliseError(f"{text!r} is not a date in a known format (e.g. 2024-03-05 or 05/03/2024).",
                         value=text)


def _numeric_date(first: str, second: str, third: str, *, day_first: bool, text: str) -> date:
    if len(first) == 4:  # 2024/03/05: year first is always year-month-day
        return date(int(first), int(second), int(third))
    if len(third) not in (2, 4):
        raise NormaliseError(f"{text!r} has no year in a known place.", value=text)
    year = int(third) + (2000 if len(third) == 2 else 0)
    a, b = int(first), int(second)
    if a > 12 >= b:
        day, month = a, b
    elif b > 12 >= a:
        day, month = b, a
    else:
        day, month = (a, b) if day_first else (b, a)
    return date(year, month, day)


def normalise_date(value: Any, *, day_first: bool = True) -> str:
    """ISO ``YYYY-MM-DD`` for a date in any shape :func:`parse_date` reads; "" for no date."""
    found = parse_date(value, day_first=day_first)
    return found.isoformat() if found else ""


# ---------------------------------------------------------------------- phone numbers

# ISO country -> (calling code, national trunk prefix dropped in international form; "" = none, e.g. Italy keeps
# its leading 0, the US has no trunk 0).
CALLING_CODES = {
    "GB": ("44", "0"), "IE": ("353", "0"), "US": ("1", ""), "CA": ("1", ""), "FR": ("33", "0"),
    "DE": ("49", "0"), "NL": ("31", "0"), "BE": ("32", "0"), "ES": ("34", ""), "IT": ("39", ""),
    "PT": ("351", ""), "DK": ("45", ""), "SE": ("46", "0"), "NO": ("47", ""), "FI": ("358", "0"),
    "AT": ("43", "0"), "CH": ("41", "0"), "PL": ("48", ""), "AU": ("61", "0"), "NZ": ("64", "0"),
    "ZA": ("27", "0"), "IN": ("91", "0"), "JP": ("81", "0"), "SG": ("65", ""), "HK": ("852", ""),
    "MX": ("52", ""), "BR": ("55", "0"), "AE": ("971", "0"),
}
# International dialling prefixes written in place of "+": 00 (most of the world), 011 (North America).
_EXTENSION = re.compile(r"\s*(?:;\s*ext=|\bext(?:ension)?\.?|\bx|#)\s*(\d{1,6})\s*$", re.IGNORECASE)


def normalise_phone(value: Any, *, default_country: str = "GB") -> str:
    """An E.164-style number (``+441134960000``; an extension as ``;ext=12``) for a phone number as people
    write it: spaces, dots, dashes, brackets and a ``(0)`` are dropped; ``00``/``011`` read as ``+``; a national
    number gets ``default_country``'s calling code with its trunk ``0`` dropped. "" for an empty value.
    Raises NormaliseError naming the value when it has letters or a digit count no phone number has (E.164:
    at most 15 digits)."""
    text = normalise_whitespace(value)
    if not text:
        return ""
    extension = ""
    found = _EXTENSION.search(text)
    if found:
        extension, text = found.group(1), text[:found.start()]
    if re.search(r"[^\d\s().+\-/]", text) or text.count("+") > 1 or ("+" in text and not text.startswith("+")):
        raise NormaliseError(f"{normalise_whitespace(value)!r} is not a phone number.", value=value)
    international = text.startswith("+")
    text = text.replace("(0)", "") if international or text.startswith("00") else text
    digits = re.sub(r"\D", "", text)
    country = (default_country or "").upper()
    calling, trunk = CALLING_CODES.get(country, ("", ""))
    if not international:
        if digits.startswith("00"):
            digits, international = digits[2:], True
        elif calling == "1" and digits.startswith("011"):
            digits, international = digits[3:], True
        elif calling == "1" and len(digits) == 11 and digits.startswith("1"):
            international = True  # 1 555 010 0000: the North American "1" is the calling code
    if not international:
        if not calling:
            raise NormaliseError(f"{normalise_whitespace(value)!r} has no country code and no calling code is "
                                 f"known for default country {country or '(none)'}.", value=value)
        if trunk and digits.startswith(trunk):
            digits = digits[len(trunk):]
        digits = calling + digits
    if not 7 <= len(digits) <= 15:
        raise NormaliseError(f"{normalise_whitespace(value)!r} has {len(digits)} digits; a phone number in "
                             "international form has 7 to 15.", value=value)
    return f"+{digits}" + (f";ext={extension}" if extension else "")


# ---------------------------------------------------------------------- names and case

# Words kept as written in a company or person name once the case is fixed.
_NAME_WORDS = {
    "ltd": "Ltd", "plc": "plc", "llc": "LLC", "llp": "LLP", "inc": "Inc", "gmbh": "GmbH", "bv": "BV", "nv": "NV",
    "sa": "SA", "ag": "AG", "uk": "UK", "usa": "USA", "us": "US", "cic": "CIC", "co": "Co", "and": "and",
    "of": "of", "the": "the", "van": "van", "von": "von", "de": "de", "der": "der", "la": "la", "du": "du",
    "ii": "II", "iii": "III", "iv": "IV",
}
_LOWER_INSIDE = frozenset({"and", "of", "the", "van", "von", "de", "der", "la", "du"})


def _name_word(word: str, first: bool) -> str:
    lower = word.lower()
    plain = lower.strip(".,()&")
    if plain in _NAME_WORDS and not (first and plain in _LOWER_INSIDE):
        return lower.replace(plain, _NAME_WORDS[plain], 1)
    parts = re.split(r"([\-'’])", lower)  # Smith-Jones, O'Brien
    out = "".join(part[:1].upper() + part[1:] if part not in "-'’" else part for part in parts)
    if out.startswith("Mc") and len(out) > 3 and out[2].isalpha():
        out = "Mc" + out[2].upper() + out[3:]  # McDonald (not "Mac": Mackintosh, Macclesfield)
    return out


def normalise_name(value: Any) -> str:
    """See :func:`_normalise_name` (memoised for text: names repeat across a run's records)."""
    if isinstance(value, str):
        return _normalise_name_cached(value)
    return _normalise_name(value)


@lru_cache(maxsize=8192)
def _normalise_name_cached(value: str) -> str:
    return _normalise_name(value)


def _normalise_name(value: Any) -> str:
    """A person's or company's name with whitespace collapsed; when it is written all in capitals or all in
    lower case, in title case with the usual exceptions (``Ltd``, ``plc``, ``LLC``, ``of``, ``O'Brien``,
    ``McDonald``, ``Smith-Jones``). Mixed case is the author's choice and kept as written (``eBay``, ``DHL
    Express``)."""
    text = normalise_whitespace(value)
    letters = [ch for ch in text if ch.isalpha()]
    if not letters or not (all(ch.isupper() for ch in letters) or all(ch.islower() for ch in letters)):
        return text
    return " ".join(_name_word(word, n == 0) for n, word in enumerate(text.split(" ")))


CASES = ("upper", "lower", "title", "sentence", "name", "keep")


def normalise_case(value: Any, case: str) -> str:
    """``value`` (whitespace collapsed) in ``case``: upper, lower, title, sentence (first letter upper, the rest
    as written), name (:func:`normalise_name`) or keep."""
    text = normalise_whitespace(value)
    if case == "upper":
        return text.upper()
    if case == "lower":
        return text.lower()
    if case == "title":
        return " ".join(word[:1].upper() + word[1:].lower() for word in text.split(" "))
    if case == "sentence":
        return text[:1].upper() + text[1:]
    if case == "name":
        return normalise_name(text)
    if case == "keep":
        return text
    raise ValueError(f"Unknown case {case!r}; expected one of {', '.join(CASES)}.")


# ---------------------------------------------------------------------- trimming to field lengths


def trim(value: Any, limit: int, *, field: str, target: str = "the target") -> tuple[str, str | None]:
    """(value cut to ``limit`` characters, warning or None). The value is whitespace-collapsed first (that is
    no cut); a cut one loses its trailing space too. The warning names the field, the limit, the original and
    what was kept, so nothing is ever cut silently. ``limit`` 0 or less means no limit."""
    text = normalise_whitespace(value)
    if limit <= 0 or len(text) <= limit:
        return text, None
    kept = text[:limit].rstrip()
    return kept, (f"{field} {text!r} is longer than {target}'s {limit} characters; written as {kept!r} "
                  f"({len(text) - len(kept)} characters cut).")


def trim_fields(values: Mapping[str, Any], limits: Mapping[str, int], *,
                target: str = "the target") -> tuple[dict[str, str], list[str]]:
    """Every value of ``values`` trimmed to its limit in ``limits`` (fields without a limit are only
    whitespace-collapsed); returns the values and one warning per cut field."""
    out: dict[str, str] = {}
    warnings: list[str] = []
    for name, value in values.items():
        out[name], warning = trim(value, int(limits.get(name) or 0), field=name, target=target)
        if warning:
            warnings.append(warning)
    return out, warnings
