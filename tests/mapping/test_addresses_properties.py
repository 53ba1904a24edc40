"""Property-based tests for address parsing (hypothesis): round trips, robustness, no text lost."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.core.canonical import StructuredAddress
from mapping.addresses import UK_COUNTIES, US_STATES, format_address, parse_address

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

word = st.from_regex(r"[A-Z][a-z]{2,9}", fullmatch=True)
# Town names: words that are not a county or a state code (a town called "Kent" would read as the county).
town = st.lists(word, min_size=1, max_size=3).map(" ".join).filter(
    lambda name: name.upper() not in UK_COUNTIES and name.upper() not in US_STATES)
street_line = st.builds(lambda number, words, kind: f"{number} {' '.join(words)} {kind}",
                        st.integers(min_value=1, max_value=999), st.lists(word, min_size=1, max_size=2),
                        st.sampled_from(["Street", "Road", "Lane", "Avenue", "Way", "Close"]))
unit_line = st.builds(lambda kind, n: f"{kind} {n}", st.sampled_from(["Unit", "Flat", "Suite", "Floor"]),
                      st.integers(min_value=1, max_value=99))
street = st.lists(st.one_of(street_line, unit_line), min_size=1, max_size=2).map("\n".join)

uk_postcode = st.builds(lambda area, district, sector, unit: f"{area}{district} {sector}{unit}",
                        st.from_regex(r"[A-Z]{1,2}", fullmatch=True), st.integers(min_value=1, max_value=99),
                        st.integers(min_value=0, max_value=9), st.from_regex(r"[ABD-HJLNP-UW-Z]{2}", fullmatch=True))
us_zip = st.one_of(st.from_regex(r"[0-9]{5}", fullmatch=True), st.from_regex(r"[0-9]{5}-[0-9]{4}", fullmatch=True))
county = st.one_of(st.just(""), st.sampled_from(sorted(c.title() for c in UK_COUNTIES if not c.startswith("CO."))))
uk_address = st.builds(StructuredAddress, street=street, city=town, county=county, zip_code=uk_postcode,
                       country_code=st.just("GB"))
us_address = st.builds(StructuredAddress, street=street, city=town,
                       county=st.sampled_from(sorted(US_STATES)), zip_code=us_zip, country_code=st.just("US"))


@PROFILE
@given(st.one_of(uk_address, us_address))
def test_parse_of_format_is_the_address(address):
    lines, postcode, country = format_address(address)
    assert len(lines) <= 4
    parsed, warnings = parse_address(lines, postcode, country)
    assert parsed == address, (lines, warnings)
    assert warnings == []


@PROFILE
@given(uk_address)
def test_a_uk_address_without_its_country_is_still_read_from_the_postcode(address):
    lines, postcode, _country = format_address(address)
    parsed, warnings = parse_address(lines, postcode, "")
    assert parsed == address
    assert warnings == [f"No country given; GB inferred from postcode {address.zip_code!r}."]


@PROFILE
@given(uk_address)
def test_a_uk_postcode_written_in_the_last_line_instead_of_the_field_is_found(address):
    lines, postcode, country = format_address(address)
    parsed, _warnings = parse_address([*lines[:-1], f"{lines[-1]} {postcode.lower()}"], "", country)
    assert parsed == address


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@PROFILE
@given(st.lists(text, max_size=6), text, text, st.sampled_from([None, "uk", "us", "generic"]))
def test_parse_never_raises_and_loses_no_text(lines, postcode, country, shape):
    address, warnings = parse_address(lines, postcode, country, shape=shape)
    assert isinstance(address, StructuredAddress) and all(isinstance(w, str) for w in warnings)
    kept = _squash(" ".join([address.street, address.city, address.county, address.zip_code,
                             address.country_code, *warnings]))
    for token in re.split(r"[\s,]+", " ".join([*lines, postcode, country])):
        assert _squash(token) in kept, (token, address, warnings)


def _squash(value: str) -> str:
    """Compared without whitespace and commas (the parser collapses the one and splits on the other) and
    case-insensitively (codes are upper-cased)."""
    return re.sub(r"[\s,]+", "", value).casefold()
