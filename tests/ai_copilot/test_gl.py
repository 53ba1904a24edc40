"""The GL suggester: ranking, confirmations and rejections, class rules, the global prior, the shipped combiner
and the evaluation data it was trained and measured on."""

from __future__ import annotations

import json
import pickle

import pytest

from ai_copilot import evaluate_gl
from ai_copilot.accounts import Account
from ai_copilot.data import dataset, make_tenants
from ai_copilot.gl import FEATURES, MODES, GlobalPrior, GLSuggester, Suggestion, default_combiner

AX = list(dataset.targets("ax"))
SAGE = list(dataset.targets("sage"))
KASHFLOW = list(dataset.load_chart("kashflow_uk"))


def best(suggester: GLSuggester, code: str, name: str, kind: str = "") -> str:
    return suggester.suggest(Account(code, name, kind), top=1)[0].target_code


def test_clear_uk_names_find_their_us_accounts_cold():
    sage = GLSuggester(SAGE, sources=KASHFLOW)
    assert best(sage, "1100", "Debtors Control Account", "Current Asset/Liability") == "110-00-00"
    assert best(sage, "2100", "Trade Creditors", "Current Asset/Liability") == "200-00-00"
    assert best(sage, "1001", "Stock", "Current Asset/Liability") == "120-00-00"
    assert best(sage, "8000", "Dep'n", "Expenditure") == "670-00-00"
    ax = GLSuggester(AX, sources=KASHFLOW)
    assert best(ax, "3200", "Retained Profit", "Capital & Reserves") == "300160"
    assert best(ax, "7504", "Office Stationery", "Expenditure") == "606300"


def test_suggestions_are_ranked_scored_and_reasoned():
    suggester = GLSuggester(SAGE, sources=KASHFLOW)
    found = suggester.suggest(Account("7502", "Telephone", "Expenditure"), top=3)
    assert len(found) == 3 and all(isinstance(s, Suggestion) for s in found)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert all(0.0 <= s.score <= 1.0 for s in found)
    assert found[0].target_code == "620-00-00"
    assert found[0].reason.startswith("name similarity 1.00, same class: expense")
    assert "\n" not in found[0].reason


def test_suggest_all_keeps_source_order_and_agrees_with_suggest():
    suggester = GLSuggester(AX, sources=KASHFLOW)
    results = suggester.suggest_all(KASHFLOW[:10], top=2)
    assert [code for code, _ in results] == [a.code for a in KASHFLOW[:10]]
    assert results[3][1] == suggester.suggest(KASHFLOW[3], top=2)
    assert suggester.suggest_all([], top=3) == [] and suggester.suggest(KASHFLOW[0], top=0) == []


def test_a_confirmed_source_gets_its_target_first_with_score_one():
    suggester = GLSuggester(AX, confirmed={"7502": "618900"}, sources=KASHFLOW)
    found = suggester.suggest(Account("7502", "Telephone", "Expenditure"), top=3)
    assert found[0] == Suggestion("618900", 1.0, "confirmed mapping")
    assert len(found) == 3 and "618900" not in [s.target_code for s in found[1:]]


def test_confirmations_teach_code_ranges_and_neighbours():
    sources = [Account("7200", "Electricity", "Expenditure"), Account("7201", "Gas", "Expenditure"),
               Account("7100", "Rent", "Expenditure"), Account("7300", "Fuel", "Expenditure")]
    suggester = GLSuggester(AX, confirmed={"7200": "618900", "7100": "605150"}, sources=sources)
    gas = suggester.suggest(sources[1], top=1)[0]
    assert gas.target_code == "618900"
    assert "code range 7xxx -> 6xxxxx as in 2 confirmed mappings" in gas.reason
    assert "next to an account confirmed to it" in gas.reason


def test_a_rejected_pair_is_never_suggested_again_for_that_source():
    source = Account("7100", "Rent", "Expenditure")
    assert GLSuggester(AX, sources=[source]).suggest(source, top=1)[0].target_code == "605150"
    suggester = GLSuggester(AX, rejected=[("7100", "605150")], sources=[source])
    assert "605150" not in [s.target_code for s in suggester.suggest(source, top=len(AX))]
    other = Account("7101", "Rent", "Expenditure")
    assert suggester.suggest(other, top=1)[0].target_code == "605150"  # only that source


def test_an_income_type_is_never_offered_an_asset_type_even_with_the_same_name():
    targets = [Account("180100", "Sale of Assets", "4"), Account("401100", "Product Sales", "1")]
    found = GLSuggester(targets).suggest(Account("4200", "Sale of Assets", "Turnover"), top=2)
    assert [s.target_code for s in found] == ["401100"]


def test_the_global_prior_moves_suggestions_towards_what_companies_confirmed():
    electricity = Account("7200", "Electricity", "Expenditure")
    assert GLSuggester(AX).suggest(electricity, top=1)[0].target_code != "601500"
    prior = GlobalPrior.fit([(electricity, Account("601500", "Travel Expense", "2"))] * 3)
    found = GLSuggester(AX, prior=prior).suggest(electricity, top=1)[0]
    assert found.target_code == "601500" and "across companies" in found.reason


def test_the_global_prior_is_json_and_holds_no_codes_names_or_rare_words():
    pairs = dataset.gold_pairs(dataset.load_tenants("train")[:6], ["sage"])
    pairs.append((Account("7777", "Zanzibar Consulting", "Expenditure"), Account("690-00-00", "Misc", "13")))
    prior = GlobalPrior.fit(pairs)
    text = json.dumps(prior.to_dict())
    assert GlobalPrior.from_dict(json.loads(text)).to_dict() == prior.to_dict()
    assert "zanzibar" not in text and "7777" not in text and "690-00-00" not in text and "Petty Cash" not in text
    assert all(c >= GlobalPrior.MIN_SUPPORT for row in prior.pair_counts.values() for c in row.values())
    with pytest.raises(ValueError):
        GlobalPrior.from_dict({"version": 99})


def test_typos_in_source_names_are_corrected_before_matching():
    suggester = GLSuggester(SAGE)
    assert best(suggester, "7402", "Hoetls", "Expenditure") == "640-00-00"
    assert best(suggester, "7200", "Electriciy", "Expenditure") == "615-00-00"


def test_a_suggester_survives_pickling_as_the_model_store_does():
    suggester = GLSuggester(AX, confirmed={"7100": "605150"}, sources=KASHFLOW, prior=evaluate_gl.fit_prior(["ax"]))
    copy = pickle.loads(pickle.dumps(suggester))
    assert copy.suggest_all(KASHFLOW[:20]) == suggester.suggest_all(KASHFLOW[:20])


def test_the_shipped_combiner_matches_the_features_and_scores_fall_with_rank():
    combiner = default_combiner()
    assert combiner.features == FEATURES and set(combiner.heads) == set(MODES)
    for head in combiner.heads.values():
        a, m, _b = head.calibration
        assert m >= 0 and a + m > 0 and len(head.coef) == len(FEATURES)
    assert "train split" in combiner.meta["trained_on"]


def test_tenants_csv_is_what_the_generator_writes(tmp_path):
    path = tmp_path / "tenants.csv"
    make_tenants.generate(path)
    assert path.read_bytes() == dataset.TENANTS_FILE.read_bytes()


def test_the_split_is_by_tenant_and_test_names_are_unseen_in_training():
    train, test = dataset.load_tenants("train"), dataset.load_tenants("test")
    assert len(train) == 24 and len(test) == 16 and not {t.tenant for t in train} & {t.tenant for t in test}
    train_names = {a.name.lower() for t in train for a in t.accounts}
    renamed_for_test = {name.lower() for names in make_tenants.RENAMES.values() for name in names[1::2]}
    renamed_for_train = {name.lower() for names in make_tenants.RENAMES.values() for name in names[0::2]}
    assert not (train_names & renamed_for_test) - renamed_for_train - {a.name.lower() for a in KASHFLOW}


def test_gold_alignments_are_complete_and_point_into_the_target_charts():
    for pair in dataset.PAIRS:
        gold = dataset.load_gold(pair)
        chart = {a.code for a in dataset.targets(pair)}
        assert set(gold) == {a.code for a in KASHFLOW}
        assert all(code in chart for codes in gold.values() for code in codes)
    rows = dataset._rows(dataset.DATA_DIR / "gold_kashflow_ax.csv")
    assert all(row["justification"] for row in rows)


def test_evaluate_reports_the_documented_figures():
    result = evaluate_gl.evaluate("test", 0.2, seed=1, pairs=("sage",))
    assert {"n", "top1", "top3", "mrr", "top1_strict", "per_variant", "per_pair", "calibration", "timing"} <= set(
        result)
    assert 0 < result["n"] and 0 <= result["top1_strict"] <= result["top1"] <= result["top3"] <= 1
    assert result["top1"] <= result["mrr"] <= 1
    assert set(result["per_variant"]) == set(make_tenants.KINDS)
