"""The anomaly scorer on small crafted ledgers: every kind caught with its reason, legitimate oddities left alone,
dismissals damping exactly their pattern, the alert budget, bank holidays, and the compiled forest."""

from __future__ import annotations

import gzip
import pickle
import random
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from ai_copilot.anomaly import (
    EVIDENCE_FLOOR,
    AnomalyScorer,
    Reason,
    Score,
    Txn,
    _Forest,
    dismissal_key,
    easter_sunday,
    flag,
    holidays,
)

START, END = date(2025, 1, 1), date(2025, 12, 31)
BANK = holidays("GB", 2025) | holidays("GB", 2026)


def business(d: date) -> bool:
    return d.weekday() < 5 and d not in BANK


def next_business(d: date) -> date:
    while not business(d):
        d += timedelta(days=1)
    return d


class Ledger:
    """Builds rows with sequential ids and references."""

    def __init__(self) -> None:
        self.rows: list[Txn] = []
        self.n = 0

    def add(self, kind: str, day: date, party: str, account: str, amount: str | Decimal, *, rate: str | None = "20",
            reference: str = "") -> Txn:
        self.n += 1
        txn = Txn(id=f"T{self.n:05d}", kind=kind, date=day, party=party, account=account, amount=Decimal(amount),
                  currency="GBP", tax_rate=None if rate is None else Decimal(rate),
                  reference=reference or f"R{self.n:05d}", description="")
        self.rows.append(txn)
        return txn

    def invoice(self, kind: str, day: date, party: str, account: str, amount: str | Decimal, *, rate: str = "20",
                pay_after: int | None = 14) -> Txn:
        txn = self.add(kind, day, party, account, amount, rate=rate)
        if pay_after is not None:
            self.add("payment", next_business(day + timedelta(days=pay_after)), party, "1200", txn.amount, rate=None,
                     reference=txn.reference)
        return txn

    def journal(self, day: date, *lines: tuple[str, str]) -> list[Txn]:
        self.n += 1
        reference = f"J{self.n:05d}"
        return [self.add("journal", day, "", account, amount, rate=None, reference=reference)
                for account, amount in lines]


def normal_business(until: date = END, *, saturday_till: bool = False) -> Ledger:
    """A year of a small wholesaler: weekly stock from ACME, monthly round rent, power bills, five customers
    ordering twice a week, a standing order, payments two weeks later, monthly payroll and depreciation."""
    rng = random.Random(7)
    ledger = Ledger()
    day = START
    while day <= until:
        if business(day):
            if day.weekday() == 0:
                ledger.invoice("purchase_invoice", day, "ACME", "5000", f"{rng.uniform(380, 620):.2f}")
                ledger.invoice("sales_invoice", day, "STAND", "4000", "240.60", pay_after=7)
            if day.weekday() in (1, 3):
                for customer in ("C1", "C2", "C3", "C4", "C5"):
                    ledger.invoice("sales_invoice", day, customer, "4000", f"{rng.uniform(500, 1100):.2f}")
        if saturday_till and day.weekday() == 5 and day not in BANK:
            ledger.invoice("sales_invoice", day, "TILL", "4000", f"{rng.uniform(900, 1400):.2f}", pay_after=2)
        if day.day == 1:
            ledger.invoice("purchase_invoice", next_business(day), "RENT", "7100", "2500.00", rate="0", pay_after=2)
            ledger.invoice("purchase_invoice", next_business(day + timedelta(days=9)), "POWER", "7200",
                           f"{rng.uniform(250, 350):.2f}")
        if (day + timedelta(days=1)).day == 1:
            pay_day = day
            while not business(pay_day):
                pay_day -= timedelta(days=1)
            wages = Decimal(f"{rng.uniform(9000, 9500):.2f}")
            ledger.journal(pay_day, ("7000", str(wages)), ("2210", str(-wages * Decimal("0.3"))),
                           ("2220", str(-wages * Decimal("0.7"))))
            ledger.journal(day, ("8000", "250.00"), ("0031", "-250.00"))
        day += timedelta(days=1)
    ledger.rows = [t for t in ledger.rows if t.date <= until]  # payments falling after the period are not yet made
    return ledger


@pytest.fixture(scope="module")
def history() -> list[Txn]:
    return normal_business().rows


@pytest.fixture(scope="module")
def scorer(history) -> AnomalyScorer:
    return AnomalyScorer().fit(history)


def new(kind: str, day: date, party: str, account: str, amount: str, *, rate: str | None = "20",
        reference: str = "NEW-1", txn_id: str = "X1") -> Txn:
    return Txn(id=txn_id, kind=kind, date=day, party=party, account=account, amount=Decimal(amount), currency="GBP",
               tax_rate=None if rate is None else Decimal(rate), reference=reference, description="")


def codes(score: Score) -> list[str]:
    return [r.code for r in score.reasons]


def top(score: Score) -> str:
    return score.reasons[0].code if score.reasons else ""


WEDNESDAY = date(2026, 1, 14)

# ---------------------------------------------------------------------------------------------------- each kind


def test_duplicate_invoice_same_party_and_amount_days_later_with_another_reference(scorer, history):
    original = next(t for t in reversed(history) if t.party == "ACME" and t.kind == "purchase_invoice")
    copy = new("purchase_invoice", original.date + timedelta(days=2), "ACME", "5000", str(original.amount),
               reference="ACME-RETYPED")
    score = scorer.score_one(copy)
    assert top(score) == "duplicate" and score.score >= EVIDENCE_FLOOR
    assert original.reference in score.reasons[0].text and score.reasons[0].key == "ACME"


def test_the_same_invoice_within_one_batch_is_caught_on_its_second_posting(scorer):
    first = new("purchase_invoice", WEDNESDAY, "ACME", "5000", "512.34", reference="A-1", txn_id="B1")
    second = new("purchase_invoice", WEDNESDAY + timedelta(days=1), "ACME", "5000", "512.34", reference="A-2",
                 txn_id="B2")
    scores = {s.id: s for s in scorer.score([second, first])}
    assert "duplicate" not in codes(scores["B1"]) and top(scores["B2"]) == "duplicate"


def test_amount_far_outside_the_partys_range_says_how_far(scorer):
    score = scorer.score_one(new("purchase_invoice", WEDNESDAY, "ACME", "5000", "5123.45"))
    assert top(score) == "amount_outlier" and score.score >= EVIDENCE_FLOOR
    assert "x this party's median" in score.reasons[0].text


def test_new_party_with_a_large_amount(scorer):
    score = scorer.score_one(new("purchase_invoice", WEDNESDAY, "NEWCO", "5000", "7450.18"))
    assert top(score) == "new_party_large" and score.score >= EVIDENCE_FLOOR
    assert scorer.score_one(new("purchase_invoice", WEDNESDAY, "NEWCO", "5000", "85.10")).score < EVIDENCE_FLOOR


def test_party_posting_to_an_account_it_never_used(scorer):
    score = scorer.score_one(new("purchase_invoice", WEDNESDAY, "ACME", "7502", "498.20"))
    assert top(score) == "new_account_for_party" and score.score >= EVIDENCE_FLOOR
    assert score.reasons[0].key == "ACME|7502"


def test_account_with_a_tax_rate_it_never_carries(scorer):
    score = scorer.score_one(new("purchase_invoice", WEDNESDAY, "ACME", "5000", "431.77", rate="5"))
    assert top(score) == "unusual_tax_rate" and score.score >= EVIDENCE_FLOOR
    assert score.reasons[0].key == "5000|5" and "20%" in score.reasons[0].text


def test_round_amount_from_a_party_that_never_has_them(scorer):
    score = scorer.score_one(new("purchase_invoice", WEDNESDAY, "ACME", "5000", "500.00"))
    assert top(score) == "round_amount" and score.score >= EVIDENCE_FLOOR


@pytest.mark.parametrize("day", [date(2026, 1, 18), date(2026, 1, 17), date(2026, 4, 3)])  # Sun, Sat, Good Friday
def test_posting_on_a_day_the_business_never_posts(scorer, day):
    score = scorer.score_one(new("purchase_invoice", day, "ACME", "5000", "477.31"))
    assert top(score) == "non_business_day" and score.score >= EVIDENCE_FLOOR


def test_invoices_split_under_the_approval_limit_flag_every_part_of_the_batch(scorer):
    parts = [new("purchase_invoice", WEDNESDAY, "POWER", "7200", amount, reference=f"P-{i}", txn_id=f"S{i}")
             for i, amount in enumerate(("4890.00", "4775.50", "4950.20"))]
    scores = scorer.score(parts)
    assert all("split_under_limit" in codes(s) for s in scores)
    assert "total £14,615.70" in next(r.text for r in scores[2].reasons if r.code == "split_under_limit")
    assert all(s.score >= EVIDENCE_FLOOR for s in scores)


def test_one_invoice_just_under_the_limit_is_no_split(scorer):
    assert "split_under_limit" not in codes(scorer.score_one(new("purchase_invoice", WEDNESDAY, "POWER", "7200",
                                                                 "4890.00")))


def test_payment_with_no_matching_invoice(scorer, history):
    score = scorer.score_one(new("payment", WEDNESDAY, "C1", "1200", "812.40", rate=None, reference="R99999"))
    assert top(score) == "payment_without_invoice" and score.score >= EVIDENCE_FLOOR
    someone_elses = next(t for t in history if t.party == "C2" and t.kind == "sales_invoice")
    score = scorer.score_one(new("payment", WEDNESDAY, "C1", "1200", str(someone_elses.amount), rate=None,
                                 reference=someone_elses.reference))
    assert top(score) == "payment_without_invoice" and "belongs to C2" in score.reasons[0].text


def test_paying_an_invoice_already_paid_is_an_overpayment(scorer, history):
    paid = next(t for t in reversed(history) if t.party == "C3" and t.kind == "sales_invoice"
                and t.date < date(2025, 12, 1))
    score = scorer.score_one(new("payment", WEDNESDAY, "C3", "1200", str(paid.amount), rate=None,
                                 reference=paid.reference))
    assert top(score) == "overpayment" and "already paid in full" in score.reasons[0].text


def test_payment_above_the_outstanding_amount_is_an_overpayment(scorer):
    invoice = new("sales_invoice", WEDNESDAY, "C4", "4000", "800.00", reference="INV-OVER", txn_id="O1")
    part = new("payment", WEDNESDAY + timedelta(days=7), "C4", "1200", "500.00", rate=None, reference="INV-OVER",
               txn_id="O2")
    too_much = new("payment", WEDNESDAY + timedelta(days=14), "C4", "1200", "500.00", rate=None,
                   reference="INV-OVER", txn_id="O3")
    scores = {s.id: s for s in scorer.score([invoice, part, too_much])}
    assert "overpayment" not in codes(scores["O2"])
    assert top(scores["O3"]) == "overpayment" and "£300.00 outstanding" in scores["O3"].reasons[0].text


def test_journal_between_accounts_never_paired_flags_both_lines(scorer):
    lines = [new("journal", WEDNESDAY, "", "7000", "1500.00", rate=None, reference="J-ODD", txn_id="J1"),
             new("journal", WEDNESDAY, "", "0031", "-1500.00", rate=None, reference="J-ODD", txn_id="J2")]
    scores = scorer.score(lines)
    assert [top(s) for s in scores] == ["unpaired_journal_accounts"] * 2
    assert scores[0].reasons[0].key == "0031|7000" and all(s.score >= EVIDENCE_FLOOR for s in scores)


# ---------------------------------------------------------------------------------------------------- hard negatives


def next_year_of_normal_business() -> list[Txn]:
    """January 2026 as the business usually runs it (what must not be flagged)."""
    rows = normal_business(date(2026, 1, 31)).rows
    return [t for t in rows if t.date >= date(2026, 1, 1)]


def test_a_normal_month_scores_below_the_evidence_floor(scorer):
    scores = scorer.score(next_year_of_normal_business())
    loud = [s for s in scores if s.score >= EVIDENCE_FLOOR]
    assert not loud, loud[:3]
    assert not flag(scores, 0.01)


def test_round_rent_standing_orders_and_month_end_journals_are_normal(scorer):
    rent = scorer.score_one(new("purchase_invoice", date(2026, 2, 2), "RENT", "7100", "2500.00", rate="0"))
    standing = scorer.score_one(new("sales_invoice", date(2026, 1, 12), "STAND", "4000", "240.60"))
    weekend_month_end = scorer.score([new("journal", date(2026, 1, 31), "", "8000", "250.00", rate=None,
                                          reference="J-DEP", txn_id="D1"),
                                      new("journal", date(2026, 1, 31), "", "0031", "-250.00", rate=None,
                                          reference="J-DEP", txn_id="D2")])
    assert rent.score < EVIDENCE_FLOOR and "round_amount" not in codes(rent)
    assert standing.score < EVIDENCE_FLOOR and "duplicate" not in codes(standing)
    assert all(s.score < EVIDENCE_FLOOR for s in weekend_month_end)


def test_saturday_takings_are_normal_for_a_business_that_trades_on_saturdays():
    shop = AnomalyScorer().fit(normal_business(saturday_till=True).rows)
    saturday = shop.score_one(new("sales_invoice", date(2026, 1, 17), "TILL", "4000", "1180.40"))
    assert "non_business_day" not in codes(saturday) and saturday.score < EVIDENCE_FLOOR


def test_part_payments_that_add_up_are_not_overpayments(scorer):
    invoice = new("sales_invoice", WEDNESDAY, "C5", "4000", "900.00", reference="INV-PARTS", txn_id="P1")
    payments = [new("payment", WEDNESDAY + timedelta(days=d), "C5", "1200", amount, rate=None,
                    reference="INV-PARTS", txn_id=f"P{d}") for d, amount in ((7, "400.00"), (14, "500.00"))]
    assert all("overpayment" not in codes(s) for s in scorer.score([invoice, *payments]))


def test_a_yearly_invoice_like_last_years_is_not_an_outlier():
    ledger = normal_business()
    ledger.invoice("purchase_invoice", date(2025, 3, 3), "SOFT", "7504", "54.00")
    for month in range(1, 13):
        ledger.invoice("purchase_invoice", next_business(date(2025, month, 15)), "SOFT", "7504",
                       f"{54 + month * 0.01:.2f}")
    ledger.invoice("purchase_invoice", date(2025, 3, 4), "SOFT", "7504", "1740.00")  # last year's licence
    scorer = AnomalyScorer().fit(ledger.rows)
    renewal = scorer.score_one(new("purchase_invoice", date(2026, 3, 4), "SOFT", "7504", "1792.20"))
    assert renewal.score < EVIDENCE_FLOOR


# ---------------------------------------------------------------------------------------------------- dismissals


def test_dismissing_a_flag_lowers_that_pattern_only(history):
    odd = new("purchase_invoice", WEDNESDAY, "ACME", "7502", "498.20")
    before = AnomalyScorer().fit(history).score_one(odd)
    reason = next(r for r in before.reasons if r.code == "new_account_for_party")
    after_one = AnomalyScorer().fit(history, dismissed=[dismissal_key(reason)])
    after_two = AnomalyScorer().fit(history, dismissed=[dismissal_key(reason)] * 2)
    assert after_two.score_one(odd).score < after_one.score_one(odd).score < before.score
    assert "dismissed 1x before" in after_one.score_one(odd).reasons[0].text
    # Other kinds for the same party, and the same kind for another party, keep their strength.
    tax = new("purchase_invoice", WEDNESDAY, "ACME", "5000", "431.77", rate="5")
    power = new("purchase_invoice", WEDNESDAY, "POWER", "7502", "301.10")
    base = AnomalyScorer().fit(history)
    assert after_two.score_one(tax).score == base.score_one(tax).score
    assert after_two.score_one(power).score == base.score_one(power).score


# ---------------------------------------------------------------------------------------------------- budget


def scores_of(values: dict[str, float]) -> list[Score]:
    return [Score(i, v, (Reason("duplicate", "x", v),)) for i, v in values.items()]


def test_flag_takes_at_most_floor_of_the_rate_times_rows_best_first():
    scores = scores_of({f"r{i:03d}": 0.9 - i / 1000 for i in range(250)})
    assert flag(scores, 0.01) == {"r000", "r001"}  # floor(2.5) = 2
    assert flag(scores[:99], 0.01) == set()  # floor(0.99) = 0


def test_flag_breaks_ties_by_id_and_never_goes_below_the_evidence_floor():
    tied = scores_of({"b": 0.8, "a": 0.8, "c": 0.8} | {f"z{i:03d}": 0.1 for i in range(197)})
    assert flag(tied, 0.01) == {"a", "b"}
    weak = scores_of({f"w{i:03d}": EVIDENCE_FLOOR - 0.01 for i in range(300)})
    assert flag(weak, 0.5) == set()
    with pytest.raises(ValueError):
        flag(tied, 1.5)


# ---------------------------------------------------------------------------------------------------- calendar


def test_england_and_wales_bank_holidays_2025_and_2026():
    assert holidays("GB", 2025) == {date(2025, 1, 1), date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 5),
                                    date(2025, 5, 26), date(2025, 8, 25), date(2025, 12, 25), date(2025, 12, 26)}
    assert holidays("GB", 2026) == {date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4),
                                    date(2026, 5, 25), date(2026, 8, 31), date(2026, 12, 25), date(2026, 12, 28)}


def test_substitute_days_and_royal_one_offs():
    assert {date(2021, 12, 27), date(2021, 12, 28)} <= holidays("GB", 2021)  # Christmas on a Saturday
    assert {date(2022, 1, 3), date(2022, 6, 2), date(2022, 6, 3), date(2022, 9, 19)} <= holidays("GB", 2022)
    assert date(2022, 5, 30) not in holidays("GB", 2022)  # moved to 2 June for the Platinum Jubilee
    assert date(2023, 5, 8) in holidays("GB", 2023)


def test_scotland_and_northern_ireland_differ():
    scotland, ni = holidays("GB-SCT", 2026), holidays("GB-NIR", 2026)
    assert {date(2026, 1, 2), date(2026, 8, 3), date(2026, 11, 30)} <= scotland
    assert date(2026, 4, 6) not in scotland  # no Easter Monday
    assert {date(2026, 3, 17), date(2026, 7, 13), date(2026, 4, 6)} <= ni  # 12 July 2026 is a Sunday
    with pytest.raises(ValueError):
        holidays("FR", 2026)


def test_easter_sunday():
    assert [easter_sunday(y) for y in (2024, 2025, 2026, 2038)] == [
        date(2024, 3, 31), date(2025, 4, 20), date(2026, 4, 5), date(2038, 4, 25)]


# ---------------------------------------------------------------------------------------------------- model


def test_scores_are_in_range_and_scoring_leaves_the_fitted_model_unchanged(scorer):
    records = next_year_of_normal_business() + [new("purchase_invoice", WEDNESDAY, "ACME", "5000", "500.00")]
    frozen = pickle.dumps(scorer)
    first = scorer.score(records)
    assert pickle.dumps(scorer) == frozen
    assert first == scorer.score(records)
    assert all(0.0 <= s.score <= 1.0 for s in first) and [s.id for s in first] == [r.id for r in records]


def test_score_one_with_recent_rows_matches_the_batch(scorer):
    records = next_year_of_normal_business()[:60]
    odd = new("purchase_invoice", records[-1].date, "ACME", "5000", "500.00", txn_id="ODD")
    batch = scorer.score([*records, odd])[-1]
    assert scorer.score_one(odd, records) == batch
    assert scorer.score_one(odd, records) == batch  # the cached context gives the same answer


def test_the_scorer_pickles_with_its_sklearn_version(scorer):
    import sklearn

    copy = pickle.loads(pickle.dumps(scorer))
    odd = new("purchase_invoice", WEDNESDAY, "ACME", "7502", "498.20")
    assert copy.sklearn_version == sklearn.__version__
    assert copy.score_one(odd) == scorer.score_one(odd)


def test_compiled_forest_matches_sklearn():
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 6))
    model = IsolationForest(n_estimators=40, max_samples=128, random_state=0).fit(x)
    probe = np.vstack([x[:50], rng.normal(scale=4, size=(50, 6))])
    assert np.allclose(_Forest(model).score(probe), -model.score_samples(probe), rtol=0, atol=1e-12)


def test_an_empty_history_scores_without_failing():
    scorer = AnomalyScorer().fit([])
    score = scorer.score_one(new("purchase_invoice", WEDNESDAY, "ACME", "5000", "500.00"))
    assert 0.0 <= score.score <= 1.0


def test_unknown_country_is_refused():
    with pytest.raises(ValueError, match="bank-holiday calendar"):
        AnomalyScorer(country="XX")


# ---------------------------------------------------------------------------------------------------- benchmark


def test_the_generator_is_deterministic_and_labels_only_injected_rows():
    from ai_copilot.anomaly_data import ANOMALY_KINDS, COLUMNS, generate

    first, again = generate(5, (("wholesale", 0.25),)), generate(5, (("wholesale", 0.25),))
    assert first == again
    history, records, labels = first
    assert all(list(row)[1:] == list(COLUMNS) for row in history[:1] + records[:1])
    ids = [row["id"] for row in history + records]
    assert len(ids) == len(set(ids))
    assert {label["id"] for label in labels} <= {row["id"] for row in records}
    assert {label["anomaly_kind"] for label in labels} == set(ANOMALY_KINDS)
    assert max(row["date"] for row in history) < min(row["date"] for row in records)


def test_the_committed_benchmark_has_every_kind_and_a_small_anomaly_share():
    from ai_copilot.anomaly_data import ANOMALY_KINDS, DATA_DIR
    from ai_copilot.csvio import read_labels

    for split in ("dev", "test"):
        kinds: dict[str, int] = {}
        for folder in sorted((DATA_DIR / split).iterdir()):
            labels = read_labels(folder / "labels.csv")
            with gzip.open(folder / "records.csv.gz", "rt") as handle:
                records = sum(1 for _ in handle) - 1
            assert len(labels) / records < 0.01, folder
            for kind in labels.values():
                kinds[kind] = kinds.get(kind, 0) + 1
        assert set(kinds) == set(ANOMALY_KINDS) and min(kinds.values()) >= 10, (split, kinds)


def test_evaluate_reports_consistent_counts(tmp_path):
    from ai_copilot.anomaly_data import write_split
    from ai_copilot.evaluate_anomaly import evaluate

    write_split("test", tmp_path, seed=5, trades=(("consultancy", 0.5), ("shop", 0.5)))
    result = evaluate("test", 0.01, data_dir=tmp_path)
    assert result["caught"] <= result["anomalies"] and result["caught"] <= result["flagged"]
    assert result["recall"] == round(result["caught"] / result["anomalies"], 4)
    for tenant in result["tenants"]:
        assert tenant["flagged"] <= int(0.01 * tenant["records"])
    assert sum(k["rows"] for k in result["per_kind"].values()) == result["anomalies"]
    assert result["score_ms_per_record"] > 0 and result["fit_seconds_max"] > 0
