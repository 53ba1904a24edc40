"""Currency: document and accounting amounts, rate sources, rounding (mapping/currency.py)."""

from decimal import Decimal as D

import pytest

from integrations.core.errors import TargetValidationError
from mapping.currency import CurrencyRules, convert, convert_lines, minor_units, rate_for, round_money

RULES = CurrencyRules.from_rules({"currency": {"accounting_currency": "GBP", "rates": {"EUR": "0.85", "USD": 0.8}}})


def test_minor_units_follow_iso_4217():
    assert (minor_units("GBP"), minor_units("jpy"), minor_units("KWD"), minor_units("XYZ")) == (2, 0, 3, 2)


@pytest.mark.parametrize(("amount", "currency", "rounding", "expected"), [
    ("0.125", "GBP", "half_up", D("0.13")),
    ("0.125", "GBP", "half_even", D("0.12")),
    ("0.135", "GBP", "bankers", D("0.14")),
    ("-0.125", "GBP", "half_up", D("-0.13")),
    ("1234.5", "JPY", "half_up", D("1235")),
    ("1234.5", "JPY", "half_even", D("1234")),
    ("1.0005", "BHD", "half_up", D("1.001")),
    (0.1, "GBP", "half_up", D("0.10")),  # floats through str, not their binary value
])
def test_rounding_to_minor_units(amount, currency, rounding, expected):
    assert round_money(amount, currency, rounding) == expected


def test_unknown_rounding_is_refused():
    with pytest.raises(ValueError, match="ceiling"):
        round_money("1", "GBP", "ceiling")


def test_kashflow_document_rate_is_document_units_per_home_unit():
    # reference kashflow.md: AUD 195.08 at ExchangeRate 2.0 -> home amount 97.54
    conversion = convert("195.08", "AUD", RULES, document_rate="2.0")
    assert (conversion.document_amount, conversion.accounting_amount) == (D("195.08"), D("97.54"))
    assert (conversion.rate, conversion.rate_source) == (D("0.5"), "document")


def test_the_table_is_used_when_the_document_has_no_rate_or_the_source_is_table():
    assert convert("100", "EUR", RULES).accounting_amount == D("85.00")
    assert convert("100", "EUR", RULES, document_rate=0).rate_source == "table"
    table = CurrencyRules.from_rules({"accounting_currency": "GBP", "source": "table", "rates": {"EUR": "0.85"}})
    conversion = convert("100", "EUR", table, document_rate="1.25")  # the document's rate is ignored
    assert (conversion.accounting_amount, conversion.rate_source) == (D("85.00"), "table")


def test_same_currency_converts_at_one():
    conversion = convert("10.005", "gbp", RULES, document_rate="1")
    assert (conversion.accounting_amount, conversion.rate, conversion.rate_source) == (D("10.01"), D(1), "same")


def test_a_home_currency_that_is_not_the_accounting_currency_goes_through_the_table():
    rules = CurrencyRules.from_rules({"accounting_currency": "USD", "home_currency": "GBP",
                                      "rates": {"GBP": "1.25"}})
    eur = convert("100", "EUR", rules, document_rate="1.25")  # 100 EUR = 80 GBP = 100 USD
    assert (eur.accounting_amount, eur.rate_source) == (D("100.00"), "document+table")
    gbp = convert("80", "GBP", rules, document_rate="1")
    assert (gbp.accounting_amount, gbp.rate_source) == (D("100.00"), "table")


def test_a_missing_rate_is_mapping_missing_naming_the_currency():
    with pytest.raises(TargetValidationError) as caught:
        convert("100", "CHF", RULES)
    assert caught.value.code == "mapping_missing" and "CHF" in str(caught.value) and "GBP" in str(caught.value)
    table = CurrencyRules.from_rules({"accounting_currency": "GBP", "source": "table"})
    with pytest.raises(TargetValidationError, match="No exchange rate from EUR"):
        rate_for("EUR", table, document_rate="1.2")


@pytest.mark.parametrize("section", [
    {"source": "ecb"}, {"rounding": "up"}, {"rates": {"EUR": "-1"}}, {"rates": {"EUR": "abc"}},
    {"rates": {"EUR": ""}},
])
def test_bad_rules_are_invalid_value(section):
    with pytest.raises(TargetValidationError) as caught:
        CurrencyRules.from_rules(section)
    assert caught.value.code == "invalid_value"


def test_a_bad_document_rate_or_amount_is_invalid_value():
    with pytest.raises(TargetValidationError) as caught:
        convert("100", "EUR", RULES, document_rate="-2")
    assert caught.value.code == "invalid_value" and "-2" in str(caught.value)
    with pytest.raises(TargetValidationError, match="'ten'"):
        convert("ten", "EUR", RULES)


def test_converted_lines_add_up_to_the_converted_total():
    # 0.01 + 0.01 + 0.02 EUR at 1.5: 0.015 -> 0.02 twice and 0.03, but the total 0.06 -> 0.06
    rules = CurrencyRules.from_rules({"accounting_currency": "GBP", "rates": {"EUR": "1.5"}})
    lines, total = convert_lines(["0.01", "0.01", "0.02"], "EUR", rules)
    assert total == D("0.06") and sum(lines) == total
    assert lines == [D("0.02"), D("0.02"), D("0.02")]  # 0.02+0.02+0.03 = 0.07 -> the largest line absorbs -0.01
    same, same_total = convert_lines(["10", "-2.5"], "GBP", rules)
    assert same == [D("10.00"), D("-2.50")] and same_total == D("7.50")
    jpy = CurrencyRules.from_rules({"accounting_currency": "JPY", "rates": {"GBP": "191.337"}})
    yen, yen_total = convert_lines(["0.10", "0.10", "0.10"], "GBP", jpy)
    assert yen_total == D("57") and sum(yen) == yen_total
