"""Status translation: Kashflow paid state <-> AX settlement state <-> Sage open balance (mapping/status.py)."""

import pytest

from integrations.core.errors import TargetValidationError
from mapping.status import (
    ax_settlement_state,
    kashflow_state,
    sage_balance_state,
    status_tables,
    translate_status,
)


@pytest.mark.parametrize(("status", "paid", "gross", "expected"), [
    ("Paid", "0", "120", "paid"),  # Kashflow's word wins (a write-off)
    ("Unpaid", "120.00", "120", "paid"),
    ("Unpaid", "50", "120", "part_paid"),
    ("Unpaid", None, "120", "unpaid"),
    ("", "-20", "-60", "part_paid"),  # a credit note, partly refunded
    ("Unpaid", "0", "0", "unpaid"),
])
def test_kashflow_state(status, paid, gross, expected):
    assert kashflow_state(status, paid, gross) == expected


@pytest.mark.parametrize(("amount", "settled", "expected"), [
    ("120", "0", "open"), ("120", "50", "partly_settled"), ("120", "120", "settled"), ("120", "130", "settled"),
    ("-60", "-60", "settled"), ("-60", "-10", "partly_settled"), ("0", "0", "settled"), (None, "", "settled"),
])
def test_ax_settlement_state(amount, settled, expected):
    assert ax_settlement_state(amount, settled) == expected


@pytest.mark.parametrize(("total", "balance", "expected"), [
    ("120", "120", "open"), ("120", "70", "partly_paid"), ("120", "0", "paid"), ("120", None, "paid"),
    ("120", "-5", "paid"), ("-60", "-60", "open"), ("-60", "-20", "partly_paid"),
])
def test_sage_balance_state(total, balance, expected):
    assert sage_balance_state(total, balance) == expected


def test_default_tables_translate_both_ways():
    assert [translate_status(s, "kashflow_to_ax") for s in ("paid", "part_paid", "unpaid")] == [
        "settled", "partly_settled", "open"]
    assert [translate_status(s, "ax_to_kashflow") for s in ("settled", "Partly_Settled", "open")] == [
        "paid", "part_paid", "unpaid"]
    assert translate_status("partly_paid", "sage_to_kashflow") == "part_paid"
    assert translate_status("unpaid", "kashflow_to_sage") == "open"


def test_tenant_overrides_and_fallback():
    rules = {"status": {"ax_to_kashflow": {"partly_settled": "unpaid"}, "sage_to_kashflow": {"*": "unpaid"}}}
    assert translate_status("partly_settled", "ax_to_kashflow", rules) == "unpaid"
    assert translate_status("settled", "ax_to_kashflow", rules) == "paid"  # defaults kept
    assert translate_status("on hold", "sage_to_kashflow", rules) == "unpaid"
    assert status_tables(None)["kashflow_to_ax"]["paid"] == "settled"


def test_unmapped_status_is_mapping_missing_naming_it():
    with pytest.raises(TargetValidationError) as caught:
        translate_status("disputed", "ax_to_kashflow")
    assert caught.value.code == "mapping_missing" and "disputed" in str(caught.value)


@pytest.mark.parametrize("rules", [
    {"status": {"ax_to_sage": {"open": "open"}}},
    {"status": {"ax_to_kashflow": {"settled": "closed"}}},
])
def test_bad_tables_are_invalid_value(rules):
    with pytest.raises(TargetValidationError) as caught:
        status_tables(rules)
    assert caught.value.code == "invalid_value"


def test_unknown_table_and_bad_amounts_are_invalid_value():
    with pytest.raises(TargetValidationError, match="ax_to_sage"):
        translate_status("open", "ax_to_sage")
    with pytest.raises(TargetValidationError, match="'lots'"):
        ax_settlement_state("lots", "0")
