"""Address harmonisation: Kashflow's free lines <-> structured addresses (mapping/addresses.py)."""

from dataclasses import replace

import pytest

from integrations.core.canonical import StructuredAddress
from integrations.sync.flows.kashflow_parties import CUSTOMERS, SUPPLIERS, party_from_kashflow
from mapping.addresses import country_code, format_address, parse_address, postcode_country


@pytest.mark.parametrize(("lines", "postcode", "country", "expected"), [
    # UK: the last line is the town while a street line remains before it
    (["1 High St", "Leeds"], "LS1 4AB", "GB", ("1 High St", "Leeds", "", "LS1 4AB", "GB")),
    (["1 High St", "Unit 2", "Leeds"], "LS1 4AB", "gb", ("1 High St\nUnit 2", "Leeds", "", "LS1 4AB", "GB")),
    # UK: town / county / (postcode on its own line, same as PostCode: a duplicate)
    (["10 High St", "Headingley", "Leeds", "West Yorkshire"], "ls64ab", "GB",
     ("10 High St\nHeadingley", "Leeds", "West Yorkshire", "LS6 4AB", "GB")),
    (["10 High St", "Leeds", "LS1 4AB"], "LS1 4AB", "GB", ("10 High St", "Leeds", "", "LS1 4AB", "GB")),
    # "Town, County" on one line stays the town (ambiguous; Sage's State has no room for it)
    (["10 High Street", "Leeds, West Yorkshire"], "LS1 4AB", "GB",
     ("10 High Street", "Leeds, West Yorkshire", "", "LS1 4AB", "GB")),
    # US: "City, ST", "City ST 12345", and street / city / ST
    (["10 Main St", "Suite 5", "Springfield, IL"], "62701", "US", ("10 Main St\nSuite 5", "Springfield", "IL",
                                                                  "62701", "US")),
    (["123 Coffee St", "Redmond WA 98052"], "", "US", ("123 Coffee St", "Redmond", "WA", "98052", "US")),
    (["1 Main St", "Seattle", "wa"], "98101", "US", ("1 Main St", "Seattle", "WA", "98101", "US")),
    # one line is always the street; other countries: last line the town
    (["Only line"], "", "", ("Only line", "", "", "", "")),
    (["4 Quay St", "Dublin"], "D02 X285", "IE", ("4 Quay St", "Dublin", "", "D02 X285", "IE")),
    (["12 Rue de la Paix", "Paris"], "75002", "FR", ("12 Rue de la Paix", "Paris", "", "75002", "FR")),
    # a suite number is not a ZIP code
    (["1 Main St", "Suite 12345"], "", "US", ("1 Main St", "Suite 12345", "", "", "US")),
])
def test_lines_are_read_as_street_town_county_zip_country(lines, postcode, country, expected):
    address, _warnings = parse_address(lines, postcode, country)
    assert (address.street, address.city, address.county, address.zip_code, address.country_code) == expected


def test_postcode_embedded_in_a_line_is_taken_out_and_the_country_inferred():
    address, warnings = parse_address(["10 High Street", "Leeds LS6 4AB"], "", "")
    assert address == StructuredAddress(street="10 High Street", city="Leeds", zip_code="LS6 4AB", country_code="GB")
    assert warnings == ["No country given; GB inferred from postcode 'LS6 4AB'."]

    us, warnings = parse_address(["123 Coffee St", "Redmond, WA 98052-1234"], "", "")
    assert us == StructuredAddress(street="123 Coffee St", city="Redmond", county="WA", zip_code="98052-1234",
                                   country_code="US")
    assert any("US inferred" in w for w in warnings)

    canada, _ = parse_address(["1 Bay St", "Toronto, ON M5V2T6"], "", "")
    assert (canada.city, canada.county, canada.zip_code, canada.country_code) == ("Toronto", "ON", "M5V 2T6", "CA")


def test_no_country_is_guessed_from_five_digits_alone():
    address, warnings = parse_address(["1 Rue", "Paris"], "75001", "")
    assert address.country_code == "" and address.city == "Paris" and warnings == []


def test_a_line_postcode_that_differs_from_the_postcode_field_is_kept_in_a_warning():
    address, warnings = parse_address(["10 High St", "Leeds", "LS1 4AB"], "LS2 9JT", "GB")
    assert (address.street, address.city, address.zip_code) == ("10 High St", "Leeds", "LS2 9JT")
    assert len(warnings) == 1 and "LS1 4AB" in warnings[0] and "LS2 9JT" in warnings[0]


def test_country_names_and_alpha3_codes_become_alpha2_with_a_warning():
    assert country_code("gb") == ("GB", None)
    assert country_code("GBR")[0] == "GB" and "GBR" in country_code("GBR")[1]
    assert country_code("United Kingdom")[0] == "GB"
    assert country_code("Atlantis") == ("ATLANTIS", "Country 'Atlantis' is not an ISO 3166 alpha-2 code; kept "
                                                    "as written.")
    address, warnings = parse_address(["1 Main St", "Austin, TX"], "78701", "USA")
    assert address.country_code == "US" and warnings == ["Country 'USA' read as ISO code US."]


def test_postcode_country_reads_only_distinctive_shapes():
    assert postcode_country("sw1a 1aa") == "GB"
    assert postcode_country("K1A 0B1") == "CA"
    assert postcode_country("98052-1234") == "US"
    assert postcode_country("98052") == ""


def test_a_postcode_that_does_not_fit_the_country_is_kept_and_warned():
    address, warnings = parse_address(["1 Long St", "Austin, TX"], "LS1 4AB", "US")
    assert (address.city, address.county, address.zip_code) == ("Austin", "TX", "LS1 4AB")
    assert warnings == ["Postcode 'LS1 4AB' is not shaped like a US ZIP code."]


def test_unknown_shape_is_refused():
    with pytest.raises(ValueError, match="shape"):
        parse_address(["1 A"], "", "", shape="mars")


def test_explicit_shape_overrides_the_country():
    address, _ = parse_address(["1 Main St", "Seattle, WA"], "", "", shape="us")
    assert (address.city, address.county) == ("Seattle", "WA")
    uk, _ = parse_address(["1 Main St", "Leeds", "Kent"], "", "", shape="uk")
    assert (uk.city, uk.county) == ("Leeds", "Kent")


@pytest.mark.parametrize(("address", "expected"), [
    (StructuredAddress(street="1 High St", city="Leeds", county="West Yorkshire", zip_code="LS1 4AB",
                       country_code="GB"), (["1 High St", "Leeds", "West Yorkshire"], "LS1 4AB", "GB")),
    (StructuredAddress(street="10 Main St\nSuite 5", city="Springfield", county="IL", zip_code="62701",
                       country_code="US"), (["10 Main St", "Suite 5", "Springfield, IL"], "62701", "US")),
    # too many lines for Kashflow: the street lines are joined, the town lines never
    (StructuredAddress(street="Unit 1\nBlock B\nIndustrial Estate", city="Leeds", county="West Yorkshire",
                       zip_code="LS1 4AB", country_code="GB"),
     (["Unit 1", "Block B, Industrial Estate", "Leeds", "West Yorkshire"], "LS1 4AB", "GB")),
    (StructuredAddress(street="1 Main St", city="Seattle", county="WA"), (["1 Main St", "Seattle, WA"], "", "")),
])
def test_format_writes_lines_the_parser_reads_back(address, expected):
    assert format_address(address) == expected
    parsed, _ = parse_address(*expected)
    if len(address.street.splitlines()) + 2 <= 4:
        # without a country, the US state gives it away (and says so in a warning)
        assert parsed == (address if address.country_code else replace(address, country_code="US"))


def test_kashflow_parties_are_parsed_through_the_mapping_parser():
    customer = party_from_kashflow(CUSTOMERS, {"Code": "C1", "Name": "Acme", "Addresses": [
        {"Line1": "1 High St", "Line2": "Leeds", "Line3": "West Yorkshire", "PostCode": "ls1 4ab"}]})
    assert customer.address == StructuredAddress(street="1 High St", city="Leeds", county="West Yorkshire",
                                                 zip_code="LS1 4AB", country_code="GB")
    supplier = party_from_kashflow(SUPPLIERS, {"Code": "S1", "Name": "Paper", "Address": {
        "Line1": "2131 N. 14th Street", "Line2": "Milwaukee, WI 53205", "CountryCode": "US"}})
    assert supplier.address == StructuredAddress(street="2131 N. 14th Street", city="Milwaukee", county="WI",
                                                 zip_code="53205", country_code="US")
