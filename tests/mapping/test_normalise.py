"""Normalisation: dates, phone numbers, names, case, trimming with reported cuts (mapping/normalise.py)."""

from datetime import date, datetime

import pytest

from integrations.core.errors import TargetValidationError
from mapping.normalise import (
    NormaliseError,
    invalid_value,
    normalise_case,
    normalise_date,
    normalise_name,
    normalise_phone,
    normalise_whitespace,
    parse_date,
    trim,
    trim_fields,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-03-05", "2024-03-05"),
    ("2024-03-05T00:00:00", "2024-03-05"),
    ("2024-03-05T23:30:00+05:00", "2024-03-05"),  # the business date as written, no timezone shift
    ("20240305", "2024-03-05"),
    ("/Date(1709596800000)/", "2024-03-05"),
    ("/Date(1709596800000+0000)/", "2024-03-05"),
    ("05/03/2024", "2024-03-05"),  # day first by default (UK)
    ("5.3.24", "2024-03-05"),
    ("25/12/2024", "2024-12-25"),
    ("12/25/2024", "2024-12-25"),  # a number above 12 decides the order on its own
    ("2024/03/05", "2024-03-05"),
    ("5 Mar 2024", "2024-03-05"),
    ("5th March 2024", "2024-03-05"),
    ("March 5, 2024", "2024-03-05"),
    ("Sept 30 2024", "2024-09-30"),
    ("05/03/2024 14:30", "2024-03-05"),
    (date(2024, 3, 5), "2024-03-05"),
    (datetime(2024, 3, 5, 10, 0), "2024-03-05"),
    ("0001-01-01T00:00:00", ""),  # .NET DateTime.MinValue: no date
    ("1900-01-01", ""),  # AX dateNull()
    ("", ""),
    (None, ""),
])
def test_dates_in_many_shapes_become_iso(value, expected):
    assert normalise_date(value) == expected


def test_us_order_on_request():
    assert normalise_date("03/05/2024", day_first=False) == "2024-03-05"
    assert parse_date("03/05/2024") == date(2024, 5, 3)


@pytest.mark.parametrize("value", ["31/02/2024", "yesterday", "2024-13-01", "5 Foo 2024", "1/2/345"])
def test_unreadable_dates_raise_naming_the_value(value):
    with pytest.raises(NormaliseError) as caught:
        normalise_date(value)
    assert value in str(caught.value)


def test_normalise_errors_become_invalid_value_inbox_errors():
    with pytest.raises(NormaliseError) as caught:
        normalise_date("soon")
    error = invalid_value(caught.value, field="InvoiceDate")
    assert isinstance(error, TargetValidationError) and error.code == "invalid_value"
    assert "InvoiceDate" in str(error) and "soon" in str(error)


@pytest.mark.parametrize(("value", "country", "expected"), [
    ("0113 496 0000", "GB", "+441134960000"),
    ("+44 (0)113 496 0000", "GB", "+441134960000"),
    ("0044 113 496 0000", "GB", "+441134960000"),
    ("(425) 555-0100", "US", "+14255550100"),
    ("1-425-555-0100", "US", "+14255550100"),
    ("011 44 113 496 0000", "US", "+441134960000"),
    ("+1 425 555 0100 ext. 12", "GB", "+14255550100;ext=12"),
    ("0113 496 0000 x 7", "GB", "+441134960000;ext=7"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("06 1234 5678", "IT", "+390612345678"),  # Italy keeps its leading 0
    ("", "GB", ""),
])
def test_phone_numbers_become_e164(value, country, expected):
    assert normalise_phone(value, default_country=country) == expected


@pytest.mark.parametrize(("value", "country"), [("call me", "GB"), ("123", "GB"), ("0113 496 0000", "ZZ"),
                                                ("12+34", "GB"), ("+1234567890123456", "GB")])
def test_bad_phone_numbers_raise_naming_the_value(value, country):
    with pytest.raises(NormaliseError) as caught:
        normalise_phone(value, default_country=country)
    assert value in str(caught.value)


@pytest.mark.parametrize(("value", "expected"), [
    ("  ACME   WIDGETS LTD ", "Acme Widgets Ltd"),
    ("the bank of scotland plc", "The Bank of Scotland plc"),
    ("O'BRIEN & SMITH-JONES LLP", "O'Brien & Smith-Jones LLP"),
    ("mcdonald consulting llc", "McDonald Consulting LLC"),
    ("eBay  UK", "eBay UK"),  # mixed case is kept as written
    ("DHL Express", "DHL Express"),
    ("", ""),
])
def test_names_get_whitespace_and_case_fixed(value, expected):
    assert normalise_name(value) == expected


@pytest.mark.parametrize(("case", "expected"), [
    ("upper", "ACME WIDGETS"), ("lower", "acme widgets"), ("title", "Acme Widgets"),
    ("sentence", "ACME widgets"), ("name", "aCME widgets"), ("keep", "aCME widgets"),
])
def test_case(case, expected):
    assert normalise_case(" aCME\twidgets ", case) == expected


def test_unknown_case_is_refused():
    with pytest.raises(ValueError, match="shouting"):
        normalise_case("x", "shouting")


def test_whitespace():
    assert normalise_whitespace(" a\u00a0 b\n c ") == "a b c"
    assert normalise_whitespace(None) == "" and normalise_whitespace(0) == "0"


def test_trim_reports_every_cut():
    assert trim("Acme", 10, field="CustomerName") == ("Acme", None)
    assert trim("  Acme   Widgets  ", 12, field="CustomerName") == ("Acme Widgets", None)  # no cut
    value, warning = trim("Acme Widgets Limited", 13, field="CustomerName", target="Sage 100")
    assert value == "Acme Widgets"  # cut at 13, trailing space dropped
    assert warning == ("CustomerName 'Acme Widgets Limited' is longer than Sage 100's 13 characters; written as "
                       "'Acme Widgets' (8 characters cut).")
    assert trim("x" * 500, 0, field="Notes") == ("x" * 500, None)  # no limit


def test_trim_fields_warns_per_cut_field():
    values, warnings = trim_fields({"City": "Newcastle upon Tyne", "State": "WA", "Note": "free"},
                                   {"City": 10, "State": 2}, target="Sage 100")
    assert values == {"City": "Newcastle", "State": "WA", "Note": "free"}
    assert len(warnings) == 1 and warnings[0].startswith("City 'Newcastle upon Tyne'")
