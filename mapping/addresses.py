"""Address harmonisation: Kashflow's free address lines <-> a structured address (street / city / county-state /
zip / ISO country), as AX (LogisticsPostalAddress) and Sage 100 (AddressLine1-3, City, State, ZipCode) keep it.

Why rules of thumb: Kashflow keeps ``Line1``-``Line4``, ``PostCode`` and ``CountryCode`` with no meaning attached
to the lines (reference kashflow.md, "Address object"). People, and the ERP -> Kashflow flows, write street lines
first, then the town, then a county or state. So the parser reads the lines from the end:

- Empty lines are dropped and whitespace is collapsed; nothing else of the text is changed.
- A postcode in the lines (a line that is only a postcode, or one that ends with it: ``Leeds LS1 4AB``,
  ``Austin, TX 78701``) is taken out of the line. When ``PostCode`` is empty it becomes the zip; when it is the
  same postcode it is simply a duplicate; when it differs, ``PostCode`` wins and the line's postcode moves into a
  warning (so no text is lost, and it is not read as the town).
- A missing country is inferred from the postcode's shape (UK postcode -> GB, Canadian -> CA, a ZIP code with a
  US state -> US), with a warning; country names and ISO alpha-3 codes are read as ISO alpha-2, with a warning.
- US / Canadian shape (``shape="us"``, or a US/CA country): the last line ``City, ST`` (or ``City ST``) is city
  and state when ST is a state/province code; a last line that is only a state code (the AX -> Kashflow flows
  write ``street / city / ST``) is the state and the line before it the city.
- UK and other shapes: a last line that is a UK county (``West Yorkshire``, ``Co. Durham``) is the county; then
  the last line is the town as long as a street line remains before it. A ``Town, County`` line is kept whole
  as the town: a comma inside a town line is too ambiguous to split (``Newcastle upon Tyne, Tyne and Wear``
  could be either), and Sage's two-character State has no room for a county anyway.
- A single line is always the street: a one-line address has no town the parser can be sure of.

``format_address`` writes the structured address back the way the parser reads it (UK: town and county on lines
of their own; US/CA: ``City, ST``), so ``parse_address(*format_address(a)) == a`` for the addresses Kashflow can
hold (at most four lines; extra street lines are joined into the last street line).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from integrations.core.canonical import StructuredAddress
from integrations.core.countries import ISO3_TO_ISO2

__all__ = ["KASHFLOW_LINES", "country_code", "format_address", "parse_address", "postcode_country"]

KASHFLOW_LINES = 4
SHAPES = ("uk", "us", "generic")

# ---------------------------------------------------------------------- reference data

# Names people type into Kashflow's country field instead of a code.
COUNTRY_NAMES = {
    "UNITED KINGDOM": "GB", "UK": "GB", "GREAT BRITAIN": "GB", "BRITAIN": "GB", "ENGLAND": "GB", "SCOTLAND": "GB",
    "WALES": "GB", "NORTHERN IRELAND": "GB", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
    "AMERICA": "US", "U.S.A.": "US", "U.S.": "US", "IRELAND": "IE", "EIRE": "IE", "CANADA": "CA",
    "FRANCE": "FR", "GERMANY": "DE", "NETHERLANDS": "NL", "THE NETHERLANDS": "NL", "BELGIUM": "BE",
    "SPAIN": "ES", "ITALY": "IT", "AUSTRALIA": "AU", "NEW ZEALAND": "NZ",
}

US_STATES = frozenset("""
AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK
OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM AA AE AP
""".split())
CA_PROVINCES = frozenset("AB BC MB NB NL NS NT NU ON PE QC SK YT".split())

# UK ceremonial and traditional counties, as written on letters. Counties that are also common town names
# (Durham, Bristol) are listed only in their unambiguous form (``County Durham``, ``City of Bristol``).
UK_COUNTIES = frozenset(name.upper() for name in """
Avon|Bedfordshire|Beds|Berkshire|Berks|Buckinghamshire|Bucks|Cambridgeshire|Cambs|Cheshire|City of Bristol|
City of London|Cleveland|Cornwall|Cumbria|Cumberland|Derbyshire|Devon|Dorset|County Durham|Co. Durham|Co Durham|
East Riding of Yorkshire|East Yorkshire|East Sussex|Essex|Gloucestershire|Glos|Greater London|
Greater Manchester|Hampshire|Hants|Herefordshire|Hertfordshire|Herts|Isle of Wight|Kent|Lancashire|Lancs|
Leicestershire|Leics|Lincolnshire|Lincs|Merseyside|Middlesex|Norfolk|North Yorkshire|Northamptonshire|
Northants|Northumberland|Nottinghamshire|Notts|Oxfordshire|Oxon|Rutland|Shropshire|Salop|Somerset|
South Yorkshire|Staffordshire|Staffs|Suffolk|Surrey|Sussex|Tyne and Wear|Tyne & Wear|Warwickshire|
West Midlands|West Sussex|West Yorkshire|Wiltshire|Wilts|Worcestershire|Worcs|Yorkshire|
Aberdeenshire|Angus|Argyll|Argyll and Bute|Ayrshire|Banffshire|Berwickshire|Caithness|Clackmannanshire|
Dumfriesshire|Dumfries and Galloway|Dunbartonshire|East Lothian|Fife|Inverness-shire|Kincardineshire|Lanarkshire|
Midlothian|Moray|Perthshire|Perth and Kinross|Renfrewshire|Ross-shire|Roxburghshire|Selkirkshire|Stirlingshire|
Sutherland|West Lothian|Wigtownshire|Anglesey|Isle of Anglesey|Carmarthenshire|Ceredigion|Clwyd|Conwy|Denbighshire|
Dyfed|Flintshire|Glamorgan|Gwent|Gwynedd|Monmouthshire|Pembrokeshire|Powys|South Glamorgan|West Glamorgan|
Mid Glamorgan|Co. Antrim|County Antrim|Co. Armagh|County Armagh|Co. Down|County Down|Co. Fermanagh|
County Fermanagh|Co. Londonderry|County Londonderry|Co. Tyrone|County Tyrone
""".replace("\n", "").split("|"))

# Postcode shapes. UK: outward code (A9, A99, A9A, AA9, AA99, AA9A) + inward code (9AA), plus GIR 0AA.
UK_POSTCODE = re.compile(r"(?:GIR ?0AA|[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2})", re.IGNORECASE)
US_ZIP = re.compile(r"[0-9]{5}(?:-[0-9]{4})?")
CA_POSTCODE = re.compile(r"[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]", re.IGNORECASE)
# A postcode at the end of a line, after the rest of the line (or alone).
_TRAILING = {
    "uk": re.compile(rf"^(?P<rest>.*?)[,\s]*\b(?P<code>{UK_POSTCODE.pattern})$", re.IGNORECASE),
    "ca": re.compile(rf"^(?P<rest>.*?)[,\s]*\b(?P<code>{CA_POSTCODE.pattern})$", re.IGNORECASE),
    "us": re.compile(rf"^(?P<rest>.*?)[,\s]*\b(?P<code>{US_ZIP.pattern})$"),
}
# "City, ST" / "City ST" (the state code checked against the tables, not only by shape).
_TOWN_STATE = re.compile(r"^(?P<city>.*?\S)(?:\s*,\s*|\s+)(?P<state>[A-Za-z]{2})$")


def _clean(value: object) -> str:
    return " ".join(str(value or "").split())


def _key(value: str) -> str:
    return value.replace(" ", "").upper()


def postcode_country(postcode: str) -> str:
    """ISO alpha-2 country a postcode's shape gives away ("" when it does not: five digits alone are not only
    American)."""
    text = _clean(postcode)
    if UK_POSTCODE.fullmatch(text):
        return "GB"
    if CA_POSTCODE.fullmatch(text):
        return "CA"
    if re.fullmatch(r"[0-9]{5}-[0-9]{4}", text):
        return "US"
    return ""


def _format_postcode(code: str, country: str) -> str:
    """UK and Canadian postcodes upper-case with one space before the inward code (how Royal Mail and Canada
    Post print them); anything else as written, whitespace collapsed."""
    text = _clean(code)
    if country in ("GB", "") and UK_POSTCODE.fullmatch(text):
        compact = _key(text)
        return f"{compact[:-3]} {compact[-3:]}"
    if country in ("CA", "") and CA_POSTCODE.fullmatch(text):
        compact = _key(text)
        return f"{compact[:3]} {compact[3:]}"
    return text


def country_code(country: str) -> tuple[str, str | None]:
    """(ISO alpha-2, warning or None) for what Kashflow or a person put in the country field: alpha-2 as is,
    alpha-3 and common names translated (with a warning naming the original), anything else kept with a
    warning, so a flow's ``countries`` rule can map it."""
    text = _clean(country)
    upper = text.upper()
    if not text:
        return "", None
    if len(upper) == 2 and upper.isalpha():
        return upper, None
    found = ISO3_TO_ISO2.get(upper) or COUNTRY_NAMES.get(upper)
    if found:
        return found, f"Country {text!r} read as ISO code {found}."
    return upper, f"Country {text!r} is not an ISO 3166 alpha-2 code; kept as written."


def _shape_for(country: str, shape: str | None) -> str:
    if shape:
        shape = shape.lower()
        if shape not in SHAPES:
            raise ValueError(f"Unknown address shape {shape!r}; expected one of {', '.join(SHAPES)}.")
        return shape
    if country in ("US", "CA"):
        return "us"
    if country in ("GB", "IM", "JE", "GG"):
        return "uk"
    return "generic"


def _state_code(text: str, country: str) -> str:
    """``text`` upper-cased when it is a US state or Canadian province code (of ``country`` when known)."""
    upper = text.strip().upper()
    if country == "CA":
        return upper if upper in CA_PROVINCES else ""
    if country == "US":
        return upper if upper in US_STATES else ""
    return upper if upper in US_STATES or upper in CA_PROVINCES else ""


def _zip_context(rest: str, line_count: int, country: str) -> bool:
    """Whether five digits at the end of a line are a ZIP code: after ``City, ST`` or a lone state code, or alone
    on a line after other lines (alone on the only line they are as likely a house number)."""
    if not rest:
        return line_count >= 2
    town = _TOWN_STATE.match(rest)
    return bool((town and _state_code(town.group("state"), country)) or _state_code(rest, country))


def _take_postcode(lines: list[str], postcode: str, shape: str, country: str,
                   warnings: list[str]) -> tuple[str, str]:
    """Take a postcode out of the last line (in place). Returns (zip, kind of postcode found or "")."""
    if not lines:
        return postcode, ""
    kinds = {"uk": ("uk",), "us": ("us", "ca") if country != "US" else ("us",)}.get(shape, ("uk", "ca", "us"))
    if shape == "generic" and country and country not in ("GB", "US", "CA"):
        kinds = ()  # another country's postcodes are not recognised inside lines: leave them to the lines
    for kind in kinds:
        found = _TRAILING[kind].match(lines[-1])
        if not found:
            continue
        code, rest = found.group("code"), found.group("rest").strip().rstrip(",").strip()
        if kind == "us" and not _zip_context(rest, len(lines), country):
            continue  # five digits that are part of the line (a house or suite number), not a ZIP code
        if postcode and _key(code) != _key(postcode):
            # The line's postcode leaves the lines (it would read as a town) but stays in the warning.
            warnings.append(f"Address line {lines[-1]!r} holds postcode {code!r}, but the postcode is "
                            f"{postcode!r}; the postcode field was kept.")
        if rest:
            lines[-1] = rest
        else:
            lines.pop()
        return postcode or code, kind
    return postcode, ""


def parse_address(lines: Sequence[str], postcode: str, country: str, *,
                  shape: str | None = None) -> tuple[StructuredAddress, list[str]]:
    """Kashflow's free lines + postcode + country as a structured address, with warnings for what was guessed
    or could not be placed. Never raises on text (only on an unknown ``shape``); see the module docstring for
    the rules.

    Memoised (a bounded LRU): a run meets the same customers' addresses again and again, and the result depends
    only on the arguments."""
    address, warnings = _parse_address_cached(tuple(str(line) for line in (lines or ())), str(postcode or ""),
                                              str(country or ""), shape)
    return address, list(warnings)


@lru_cache(maxsize=8192)
def _parse_address_cached(lines: tuple[str, ...], postcode: str, country: str,
                          shape: str | None) -> tuple[StructuredAddress, tuple[str, ...]]:
    address, warnings = _parse_address(lines, postcode, country, shape=shape)
    return address, tuple(warnings)


def _parse_address(lines: Sequence[str], postcode: str, country: str, *,
                   shape: str | None = None) -> tuple[StructuredAddress, list[str]]:
    warnings: list[str] = []
    text_lines = [_clean(line) for line in (lines or ())]
    text_lines = [line for line in text_lines if line]
    postcode = _clean(postcode)
    iso, warning = country_code(country)
    if warning:
        warnings.append(warning)
    guess = iso or postcode_country(postcode)
    if not guess and text_lines:  # a postcode at the end of the lines says more than nothing
        last = text_lines[-1]
        if _TRAILING["uk"].match(last):
            guess = "GB"
        elif _TRAILING["ca"].match(last):
            guess = "CA"
        else:
            town = _TRAILING["us"].match(last)
            rest = town.group("rest").strip() if town else ""
            state = _TOWN_STATE.match(rest)
            if town and ((state and state.group("state").upper() in US_STATES) or rest.upper() in US_STATES):
                guess = "US"
    if not guess and text_lines:
        state = _TOWN_STATE.match(text_lines[-1])
        if len(text_lines) >= 2 and state and state.group("state").upper() in US_STATES:
            guess = "US"
    form = _shape_for(iso or guess, shape)

    zip_code, found_kind = _take_postcode(text_lines, postcode, form, iso, warnings)
    zip_code = _format_postcode(zip_code, iso or guess)

    city = county = ""
    if form == "us":
        state_country = iso or ("CA" if found_kind == "ca" else "")
        if len(text_lines) >= 2 and _state_code(text_lines[-1], state_country):
            county = text_lines.pop().upper()
            if len(text_lines) >= 2:
                city = text_lines.pop()
        elif len(text_lines) >= 2:
            found = _TOWN_STATE.match(text_lines[-1])
            state = _state_code(found.group("state"), state_country) if found else ""
            if found and state:
                text_lines.pop()
                city, county = found.group("city").rstrip(",").strip(), state
            else:
                city = text_lines.pop()
    else:
        if len(text_lines) >= 2 and text_lines[-1].upper() in UK_COUNTIES and form == "uk":
            county = text_lines.pop()
        elif len(text_lines) >= 3 and len(text_lines[-1]) <= 3 and text_lines[-1].isalpha() \
                and _state_code(text_lines[-1], ""):
            county = text_lines.pop().upper()  # "street / town / ST" with no country: a state after a town
        if len(text_lines) >= 2:
            city = text_lines.pop()

    if not iso and guess:
        source = f"postcode {zip_code!r}" if zip_code and postcode_country(zip_code) else "the address lines"
        if found_kind or postcode_country(zip_code) or county:
            warnings.append(f"No country given; {guess} inferred from {source}.")
            iso = guess
    if zip_code and iso == "GB" and not UK_POSTCODE.fullmatch(zip_code):
        warnings.append(f"Postcode {zip_code!r} is not shaped like a UK postcode.")
    elif zip_code and iso == "US" and not US_ZIP.fullmatch(zip_code):
        warnings.append(f"Postcode {zip_code!r} is not shaped like a US ZIP code.")
    return StructuredAddress(street="\n".join(text_lines), city=city, county=county, zip_code=zip_code,
                             country_code=iso), warnings


def format_address(address: StructuredAddress, *, max_lines: int = KASHFLOW_LINES,
                   shape: str | None = None) -> tuple[list[str], str, str]:
    """(lines, postcode, country) for Kashflow: street lines, then the town the way :func:`parse_address`
    reads it back — ``City, ST`` for US/Canadian addresses, town and county on lines of their own otherwise.
    Street lines beyond ``max_lines`` are joined (", ") into the last street line; the town lines are never
    joined, so the parser still finds them."""
    country = _clean(address.country_code).upper()
    form = _shape_for(country, shape)
    if form != "us" and not country and _state_code(address.county, "") and len(_clean(address.county)) == 2:
        form = "us"
    street = [_clean(line) for line in (address.street or "").splitlines()]
    street = [line for line in street if line]
    city, county = _clean(address.city), _clean(address.county)
    if form == "us":
        town = [", ".join(part for part in (city, county) if part)] if (city or county) else []
    else:
        town = [part for part in (city, county) if part]
    room = max(1, max_lines - len(town))
    if len(street) > room:
        street = [*street[:room - 1], ", ".join(street[room - 1:])]
    return [*street, *town], _clean(address.zip_code), country
