"""Account classes from any system's type labels, names and code ranges; class compatibility; code structure."""

from __future__ import annotations

import pytest

from ai_copilot.accounts import (
    Account,
    CodeMap,
    allowed_classes,
    class_of,
    code_class,
    code_pattern,
    compatibility,
    guess_system,
    infer_class,
    statement,
)


@pytest.mark.parametrize(("label", "system", "expected"), [
    ("Turnover", None, {"income"}), ("Cost of Sale", None, {"cost_of_sales"}),
    ("Fixed Asset", None, {"asset"}), ("Current Asset/Liability", None, {"asset", "liability"}),
    ("Capital & Reserves", None, {"equity"}), ("Expenditure", None, {"expense", "cost_of_sales"}),
    ("1", "kashflow", {"income"}), ("3", "kashflow", {"expense", "cost_of_sales"}),
    ("5", "kashflow", {"asset", "liability"}),
    ("0", "ax", {"income", "cost_of_sales", "expense"}), ("3", "ax", {"asset", "liability", "equity"}),
    ("5", "ax", {"liability"}), ("Balance sheet", None, {"asset", "liability", "equity"}),
    ("Revenue", None, {"income"}), ("01", None, {"asset"}), ("07", None, {"liability"}),
    ("10", "sage100", {"equity"}), ("12", None, {"cost_of_sales"}),
    ("16", None, {"income", "expense"}), ("13", None, {"expense"}),
])
def test_type_labels_of_each_system_allow_their_classes(label, system, expected):
    assert allowed_classes(label, system) == frozenset(expected)


def test_a_bare_number_without_a_system_allows_what_either_kashflow_or_ax_means():
    assert allowed_classes("5") == frozenset({"asset", "liability"})  # Kashflow CA/L, AX Liability
    assert allowed_classes("") is None and allowed_classes("Whatever") is None


@pytest.mark.parametrize(("code", "name", "label", "expected"), [
    ("1100", "Debtors Control Account", "Current Asset/Liability", "asset"),
    ("2100", "Creditors Control Account", "Current Asset/Liability", "liability"),
    ("2202", "VAT Liability", "Current Asset/Liability", "liability"),
    ("2201", "VAT on Purchases", "Current Asset/Liability", "asset"),
    ("1250", "Barclays", "Current Asset/Liability", "asset"),      # no keyword: the code range decides
    ("2250", "Barclays", "Current Asset/Liability", "liability"),
    ("300100", "Something", "Balance sheet", "equity"),
    ("500100", "COGS - Finished Goods", "2", "cost_of_sales"),
])
def test_ambiguous_labels_are_narrowed_by_name_then_code(code, name, label, expected):
    system = "ax" if len(code) == 6 else "kashflow"
    assert infer_class(code, name, label, system).cls == expected


@pytest.mark.parametrize(("code", "name", "expected"), [
    ("31", "Office Equipment Depreciation", "asset"),
    ("8000", "Depreciation", "expense"),
    ("180200", "Accumulated Depreciation - Tangible FA", "asset"),
    ("7100", "Zzz", "expense"), ("4010", "Zzz", "income"), ("5500", "Zzz", "cost_of_sales"),
    ("610000", "Zzz", "expense"), ("200-00-00", "Zzz", "liability"), ("320-00-00", "Zzz", "equity"),
])
def test_untyped_accounts_get_a_class_from_name_keywords_or_code_range(code, name, expected):
    assert infer_class(code, name).cls == expected
    assert infer_class(code, name).basis in ("name", "code")


def test_an_unlabelled_nameless_non_numeric_account_has_no_class():
    guess = infer_class("ABC", "")
    assert guess.cls is None and guess.basis == "none" and not guess.typed


def test_code_ranges_follow_uk_and_us_structures():
    assert [code_class(c) for c in ("30", "1200", "2300", "3000", "4000", "5000", "6201", "7100", "9999")] == [
        "asset", "asset", "liability", "equity", "income", "cost_of_sales", "cost_of_sales", "expense", "expense"]
    assert code_class("6201", "ax") == "expense"
    assert [code_class(c) for c in ("110110", "222200", "401100", "500100", "606300")] == [
        "asset", "liability", "income", "cost_of_sales", "expense"]


def test_compatibility_is_soft_inside_pl_and_strict_across_it():
    assert compatibility("expense", "expense") == 1.0
    assert 0.0 < compatibility("cost_of_sales", "expense") < 1.0
    assert compatibility("income", "asset") == 0.0
    assert compatibility("expense", "liability") == 0.0
    assert compatibility(None, "asset") == 0.5
    assert statement("equity") == "balance_sheet" and statement("cost_of_sales") == "profit_and_loss"


def test_the_system_of_a_chart_is_read_from_its_codes_and_types():
    assert guess_system([Account("100-00-00", "Cash", "01")]) == "sage100"
    assert guess_system([Account("110110", "Bank", "4"), Account("401100", "Sales", "1")]) == "ax"
    assert guess_system([Account("1200", "Bank", "5"), Account("30", "Equipment", "4")]) == "kashflow"
    assert class_of(Account("2100", "Creditors", "5"), "kashflow").cls == "liability"


def test_code_patterns_keep_leading_digits_and_separators():
    assert code_pattern("7100", 1) == "7xxx"
    assert code_pattern("605150", 2) == "60xxxx"
    assert code_pattern("400-01-00", 1) == "4xx-xx-xx"


def test_code_map_learns_range_rules_order_and_neighbours_from_confirmed_pairs():
    targets = ["110150", "401100", "601500", "605150", "606300", "618900"]
    confirmed = {"7100": "605150", "7200": "618900", "7400": "601500", "7500": "606300", "4000": "401100"}
    codes = CodeMap(confirmed, targets, ["4000", "7100", "7200", "7201", "7400", "7500"])
    rule = codes.rule("7201", "618900")
    assert rule is not None and rule.count == 4 and rule.describe() == (
        "code range 7xxx -> 6xxxxx as in 4 confirmed mappings")
    assert codes.rule("7201", "110150") is None
    assert codes.support("7201", 1) == {"6xxxxx": 4 / 5}
    low, high = codes.bracket("7201")  # between 7200 (618900) and 7400 (601500) in target order
    ranks = codes.target_rank
    assert (low, high) == (ranks["601500"], ranks["618900"])
    near = codes.neighbour_strength("7201")
    assert near["618900"] == 1.0 and near["618900"] > near.get("605150", 0)
