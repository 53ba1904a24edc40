"""The purchase and journal flows apply the tenant's rules (the engine the sales invoices use) and build target
documents from the mapped lines; the live dimension values read from the seeded AX and Sage sandboxes. No
database: transforms run on canonical payloads, the sandboxes are SQLite files read over ODBC."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from integrations.core.canonical import InvoiceLine, Journal, JournalLine, PurchaseInvoice
from integrations.core.errors import TargetValidationError
from integrations.sync.flows.kashflow_journals_to_ax import KashflowJournalsToAx
from integrations.sync.flows.kashflow_journals_to_ax import default_rules as ax_journal_rules
from integrations.sync.flows.kashflow_journals_to_sage import KashflowJournalsToSage
from integrations.sync.flows.kashflow_journals_to_sage import default_rules as sage_journal_rules
from integrations.sync.flows.kashflow_purchases_to_ax import KashflowPurchasesToAx
from integrations.sync.flows.kashflow_purchases_to_ax import default_rules as ax_purchase_rules
from integrations.sync.flows.kashflow_purchases_to_sage import KashflowPurchasesToSage
from integrations.sync.flows.kashflow_purchases_to_sage import default_rules as sage_purchase_rules
from mapping.rules import live_dimensions, validate_rules

D = Decimal


def spec(cls, **options):
    flow = SimpleNamespace(options=options, target=SimpleNamespace(settings={}), source=SimpleNamespace(settings={}))
    flow_spec = cls(flow, source_gate=None, target_gate=None)
    flow_spec._account_keys = None  # Sage without ODBC: mapped accounts are taken as AccountKeys
    return flow_spec


def record(anomaly_score: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(idempotency_key="f" * 48, anomaly_score=anomaly_score, source_id="7")


def journal_payload(*lines: tuple[str, str]) -> dict:
    return Journal(source_system="kashflow", source_id="7", number="7", journal_date=date(2026, 6, 30),
                   currency="GBP", description="Bank charges",
                   lines=tuple(JournalLine(account_code=code, amount=D(amount)) for code, amount in lines)).to_dict()


def purchase_payload(*lines: tuple[str, str, str], supplier: str = "GBV-0003") -> dict:
    items = tuple(InvoiceLine(number=n, description=f"line {n}", quantity=D(1), unit_price=D(net), net_amount=D(net),
                              tax_amount=D(vat), tax_rate=D(20), account_code=code)
                  for n, (code, net, vat) in enumerate(lines, start=1))
    net = sum((x.net_amount for x in items), D(0))
    vat = sum((x.tax_amount for x in items), D(0))
    return PurchaseInvoice(source_system="kashflow", source_id="31", number="31", supplier_code=supplier,
                           supplier_name="Paper Co", issue_date=date(2026, 2, 1), due_date=None, currency="GBP",
                           exchange_rate=D(1), net_amount=net, tax_amount=vat, gross_amount=net + vat,
                           supplier_reference="INV-1", lines=items).to_dict()


def amounts(entries: list[dict]) -> list[tuple[str, str, str]]:
    return [(e["LedgerDimension"]["DisplayValue"], e.get("AmountCurDebit", ""), e.get("AmountCurCredit", ""))
            for e in entries]


SPLIT_7900 = {"splits": [{"nominal": "7900", "parts": [{"percent": 60, "dimensions": {"Department": "024"}},
                                                       {"percent": 40, "dimensions": {"Department": "025"}}]}]}


# --------------------------------------------------------------------------- AX


def test_an_ax_journal_is_split_by_the_rules_and_still_balances():
    rules = {**ax_journal_rules(), "line_handling": SPLIT_7900,
             "gl_rules": [{"nominal": "7900", "department": "025", "account": "606300"}],
             "dimension_rules": [{"when": "line.credit > 0", "set": {"CostCenter": "010"}}]}
    result = spec(KashflowJournalsToAx).transform(journal_payload(("7900", "100.01"), ("1200", "-100.01")), rules,
                                                  record())
    assert amounts(result.document["LedgerJournalTrans"]) == [
        ("618900-001-024", "60.01", ""), ("606300-001-025", "40.00", ""), ("110150-001-022-010", "", "100.01")]
    assert not result.hold


def test_an_ax_journal_is_held_or_skipped_by_routing_and_the_anomaly_score():
    rules = {**ax_journal_rules(), "routing": [
        {"when": "anomaly_score > 0.8", "action": "hold", "reason": "Unusual journal"},
        {"when": 'journal.description == "Bank charges" and journal.total < 1', "action": "skip"}]}
    flow = spec(KashflowJournalsToAx)
    held = flow.transform(journal_payload(("7900", "12.50"), ("1200", "-12.50")), rules, record(0.9))
    assert held.hold == "Unusual journal" and held.document["LedgerJournalTrans"]
    assert flow.transform(journal_payload(("7900", "12.50"), ("1200", "-12.50")), rules, record(0.2)).hold == ""
    skipped = flow.transform(journal_payload(("7900", "0.50"), ("1200", "-0.50")), rules, record())
    assert skipped.skip and skipped.document is None


def test_an_unbalanced_ax_journal_is_refused_before_its_rules_are_applied():
    rules = {**ax_journal_rules(), "gl_accounts": {}}
    with pytest.raises(TargetValidationError) as caught:
        spec(KashflowJournalsToAx).transform(journal_payload(("7900", "10"), ("1200", "-9")), rules, record())
    assert caught.value.code == "invalid_value" and "does not balance" in str(caught.value)


def test_an_ax_purchase_maps_its_lines_and_posts_the_vat_and_the_vendor_gross():
    rules = {**ax_purchase_rules(), "line_handling": {"splits": [{"nominal": "5100", "parts": [
        {"percent": 50, "dimensions": {"Department": "024"}}, {"percent": 50, "dimensions": {"Department": "025"}}]}]},
        "gl_rules": [{"nominal": "5100", "department": "025", "account": "601500"}],
        "field_mappings": [{"target": "Description", "expression": 'concat("KF ", purchase.number)'}]}
    result = spec(KashflowPurchasesToAx, purchase_journal="general").transform(
        purchase_payload(("5100", "87.43", "17.49"), ("7500", "10", "2")), rules, record())
    lines = result.document["LedgerJournalTrans"]
    assert amounts(lines) == [("500100-001-024", "43.72", ""), ("601500-001-025", "43.71", ""),
                              ("606300-001-022", "10", ""), ("130800-001-022", "19.49", ""), ("GBV-0003", "", "116.92")]
    assert result.document["Description"] == "KF 31"  # a field mapping on the LedgerJournalTable


def test_an_ax_dimension_outside_the_account_structure_is_refused_naming_it():
    rules = {**ax_purchase_rules(), "dimension_rules": [{"when": "true", "set": {"Region": "North"}}]}
    with pytest.raises(TargetValidationError) as caught:
        spec(KashflowPurchasesToAx).transform(purchase_payload(("5100", "10", "2")), rules, record())
    assert caught.value.code == "invalid_value" and "Region" in str(caught.value)


# --------------------------------------------------------------------------- Sage


def test_a_sage_purchase_takes_division_segments_and_splits_with_the_distribution_equal_to_the_gross():
    rules = {**sage_purchase_rules(), "line_handling": {"splits": [{"nominal": "5000", "parts": [
        {"percent": "62.5", "dimensions": {"Division": "01"}},
        {"percent": "37.5", "dimensions": {"Division": "02"}}]}]},
        "field_mappings": [{"target": "UDF_KF_SUPPLIER", "source": "supplier.code"}],
        "routing": [{"when": "purchase.total > 1000", "action": "hold", "reason": "Large purchase"}]}
    result = spec(KashflowPurchasesToSage).transform(
        purchase_payload(("5000", "100.01", "20"), ("5100", "5", "1"), supplier="01-PAPER"), rules, record())
    document = result.document
    assert [(x["AccountKey"], x["ExtensionAmt"]) for x in document["lines"]] == [
        ("500-01-00", 62.51), ("500-02-00", 37.5), ("510-00-00", 5.0), ("210-00-00", 21.0)]
    assert document["fields"]["InvoiceAmt"] == 126.01 and document["fields"]["UDF_KF_SUPPLIER"] == "01-PAPER"
    assert sum(D(str(x["ExtensionAmt"])) for x in document["lines"]) == D("126.01") and not result.hold


def test_a_sage_journal_split_across_divisions_still_balances():
    rules = {**sage_journal_rules(), "line_handling": {"splits": [{"nominal": "5000", "parts": [
        {"percent": 50, "dimensions": {"Division": "01"}}, {"percent": 50, "dimensions": {"Division": "02"}}]}]},
        "gl_rules": [{"nominal": "7900", "account": "660-00-00"}]}
    document = spec(KashflowJournalsToSage).transform(
        journal_payload(("5000", "0.05"), ("7900", "1"), ("1200", "-1.05")), rules, record()).document
    assert document["lines"] == [
        {"AccountKey": "500-01-00", "PostingComment": "Bank charges", "DebitAmount": 0.03},
        {"AccountKey": "500-02-00", "PostingComment": "Bank charges", "DebitAmount": 0.02},
        {"AccountKey": "660-00-00", "PostingComment": "Bank charges", "DebitAmount": 1.0},
        {"AccountKey": "100-00-00", "PostingComment": "Bank charges", "CreditAmount": 1.05}]


def test_a_sage_journal_skipped_by_routing_builds_nothing():
    rules = {**sage_journal_rules(), "routing": [{"when": "journal.total < 1", "action": "skip",
                                                  "reason": "Below the posting threshold"}]}
    result = spec(KashflowJournalsToSage).transform(journal_payload(("7900", "0.5"), ("1200", "-0.5")), rules,
                                                    record())
    assert result.skip == "Below the posting threshold" and result.document is None


# --------------------------------------------------------------------------- live dimension values


@pytest.fixture(scope="module")
def ax_target(tmp_path_factory) -> SimpleNamespace:
    from integrations.dynamics_ax.sandbox import SYSTEM

    folder: Path = tmp_path_factory.mktemp("ax-dimensions")
    credentials = {"username": "CONTOSO\\svc-test", "password": "Sandbox-Test-Pass-1"}
    SYSTEM.seed(folder, credentials, size=5, rng_seed=11, today=date(2026, 6, 30))
    settings = SYSTEM.connection_fields("http://127.0.0.1:9", folder, credentials)["settings"]
    return SimpleNamespace(target=SimpleNamespace(system="dynamics_ax", name="AX", settings=settings))


@pytest.fixture(scope="module")
def sage_target(tmp_path_factory) -> SimpleNamespace:
    from integrations.sage100.sandbox import SYSTEM
    from integrations.sage100.sandbox.seed import seed

    folder: Path = tmp_path_factory.mktemp("sage-dimensions")
    credentials = {"api_key": "test-agent-key-0123456789abcdef", "sage_user": "lbagent",
                   "sage_password": "pw-sandbox-1"}
    seed(folder, size=5, rng_seed=7, agent_user=credentials["sage_user"], agent_password=credentials["sage_password"])
    settings = SYSTEM.connection_fields("http://127.0.0.1:9", folder, credentials)["settings"]
    return SimpleNamespace(target=SimpleNamespace(system="sage100", name="Sage", settings=settings))


def test_ax_dimension_values_are_the_account_structure_dimensions_of_the_live_company(ax_target):
    from integrations.dynamics_ax.sandbox.seed import DIMENSION_VALUES

    assert live_dimensions(ax_target) == {name: set(values) for name, values in DIMENSION_VALUES.items()}
    rules = {**ax_journal_rules(), "dimension_rules": [{"when": "true", "set": {"Department": "099"}}]}
    errors = validate_rules("kashflow_journals_to_ax", rules, dimensions=lambda: live_dimensions(ax_target))
    assert [(e.path, e.message) for e in errors] == [
        ("dimension_rules[0].set.Department", "099 is not a value of the target's Department dimension")]


def test_sage_dimension_values_are_the_segments_of_the_live_chart(sage_target):
    assert live_dimensions(sage_target) == {"Division": {"00", "01", "02"}, "Department": {"00"}}
    rules = {**sage_purchase_rules(), "line_handling": {"splits": [{"nominal": "5000", "parts": [
        {"percent": 50, "dimensions": {"Division": "01"}}, {"percent": 50, "dimensions": {"Division": "03"}}]}]}}
    errors = validate_rules("kashflow_purchases_to_sage", rules, dimensions=lambda: live_dimensions(sage_target))
    assert [e.path for e in errors] == ["line_handling.splits[0].parts[1].dimensions.Division"]


def test_a_target_without_odbc_has_no_live_dimensions():
    assert live_dimensions(SimpleNamespace(target=SimpleNamespace(system="dynamics_ax", settings={}))) is None
    assert live_dimensions(SimpleNamespace(target=SimpleNamespace(system="kashflow", settings={"odbc": "x"}))) is None
