"""Account-name normalisation: abbreviations, UK/US synonyms, typo correction."""

from __future__ import annotations

import pytest

from ai_copilot.text import DOMAIN_WORDS, Speller, concept_tokens, expanded, normalise, stem


@pytest.mark.parametrize(("raw", "expected"), [
    ("Dep'n - Motor Vehs", "depreciation motor vehicles"),
    ("Depn Office Equipment", "depreciation office equipment"),
    ("Acc'y Fees", "accountancy fees"),
    ("Accy fees", "accountancy fees"),
    ("Light & Heat", "light and heat"),
    ("Directors Loan A/c", "directors loan account"),
    ("Bad Debts W/O", "bad debts write off"),
    ("Prem Ins", "premises insurance"),
    ("Tel & Internet", "telephone and internet"),
    ("Sals", "salaries"),
    ("Prov for Bad Debts", "provision for bad debts"),
    ("Misc Motor Exp", "miscellaneous motor expenses"),
    ("Employer's NI", "employers national insurance"),
    ("P&L Reserve", "profit and loss reserve"),
    ("Revenue - Labour", "revenue labor"),
])
def test_abbreviations_symbols_and_spelling_become_words(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize(("uk", "us", "concept"), [
    ("Debtors Control Account", "Accounts Receivable - Domestic", "receivable"),
    ("Sales Ledger Control", "Accounts Receivable", "receivable"),
    ("Trade Creditors", "Accounts Payable", "payable"),
    ("Stock", "Finished Goods Inventory", "inventory"),
    ("Turnover", "Product Sales", "revenue"),
    ("Cost of Sales", "COGS - Finished Goods", "cogs"),
    ("Motor Vehicles", "Autos", "vehicle"),
    ("Gross Wages", "Salaries & Wages", "payroll"),
    ("Wages", "Payroll", "payroll"),
    ("VAT Liability", "Sales Tax Payable", "vat"),
    ("Fixtures and Fittings", "Furniture", "furniture"),
    ("P&L", "Income Statement", "profitloss"),
    ("Retained Profit", "Retained Earnings", "retainedearnings"),
    ("Share Capital", "Common Stock", "sharecapital"),
    ("Acc'y Fees", "Accounting Fees", "accounting"),
    ("Electricity", "Utilities", "utilities"),
    ("Office Equipment", "Tangible Fixed Assets", "fixedasset"),
    ("VAT on Purchases", "VAT Tax Receivable", "inputtax"),
])
def test_uk_and_us_names_of_one_thing_share_a_concept(uk, us, concept):
    assert concept in concept_tokens(uk)
    assert concept in concept_tokens(us)


def test_concepts_are_added_not_substituted():
    tokens = concept_tokens("Sales Commissions")
    assert "sale" in tokens and "revenue" in tokens and "commission" in tokens


def test_the_longest_phrase_wins():
    assert "utilities" in concept_tokens("Water Rates")
    assert "propertytax" not in concept_tokens("Water Rates")
    assert "propertytax" in concept_tokens("General Rates")
    assert "revenue" not in concept_tokens("Sales Tax Payable")


def test_stop_words_and_numbers_are_not_tokens_but_count_in_character_text():
    assert concept_tokens("Account 7100 - Rent expense") == ("rent",)
    assert expanded("Rent expense").startswith("rent expense")


def test_stem_folds_plurals_only():
    assert [stem(w) for w in ("fees", "salaries", "charges", "business", "bonus", "rates")] == [
        "fee", "salary", "charge", "business", "bonus", "rate"]


@pytest.mark.parametrize(("typo", "fixed"), [
    ("Electriciy", "electricity"), ("Hoetls", "hotels"), ("Bokos", "books"), ("Cleaaning", "cleaning"),
    ("Wafer Rates", "water rates"), ("National Inwurance", "national insurance"), ("DEPRECIATOIN", "depreciation"),
])
def test_a_one_edit_typo_is_corrected_towards_known_words(typo, fixed):
    speller = Speller(DOMAIN_WORDS | {"hotels", "books", "cleaning", "depreciation"})
    assert speller.correct_name(typo) == fixed


def test_unknown_words_and_short_words_are_left_alone():
    speller = Speller(DOMAIN_WORDS | {"rate"})
    assert speller.correct_name("Barclays Freelancers") == "barclays freelancers"
    assert speller.correct("rent") == "rent"  # one edit from "rate" but too short to guess
