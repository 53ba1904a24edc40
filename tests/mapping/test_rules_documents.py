"""One rule engine for every document with lines: purchase invoices and journals through mapping.rules, the
anomaly score as a routing variable, and dimension values checked against the target (pure: no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.core.canonical import InvoiceLine, Journal, JournalLine, PurchaseInvoice, SalesInvoice
from integrations.core.errors import TargetValidationError
from mapping.enrichment import DictEnrichment
from mapping.rules import (
    apply_mapping,
    constant_dimension_values,
    document_variables,
    validate_rules,
)

D = Decimal


def line(number: int, nominal: str, net: str, *, rate: str | None = "20", description: str = "") -> InvoiceLine:
    net_amount = D(net)
    tax = D(0) if rate is None else (net_amount * D(rate) / 100).quantize(D("0.01"))
    return InvoiceLine(number=number, description=description or f"line {number}", quantity=D(1),
                       unit_price=net_amount, net_amount=net_amount, tax_amount=tax,
                       tax_rate=None if rate is None else D(rate), account_code=nominal)


def purchase(*lines: InvoiceLine, supplier: str = "GBV-0003", reference: str = "INV-77") -> PurchaseInvoice:
    net = sum((x.net_amount for x in lines), D(0))
    tax = sum((x.tax_amount for x in lines), D(0))
    return PurchaseInvoice(source_system="kashflow", source_id="12", number="12", supplier_code=supplier,
                           supplier_name="Severn Packaging", issue_date=date(2026, 5, 27), due_date=None,
                           currency="GBP", exchange_rate=D(1), net_amount=net, tax_amount=tax, gross_amount=net + tax,
                           supplier_reference=reference, lines=lines)


def journal(*lines: tuple[str, str], description: str = "Month end", project: str = "") -> Journal:
    dims = (("Project", project),) if project else ()
    return Journal(source_system="kashflow", source_id="7", number="7", journal_date=date(2026, 6, 30),
                   currency="GBP", description=description,
                   lines=tuple(JournalLine(account_code=code, amount=D(amount), description=f"{code} line",
                                           dimensions=dims) for code, amount in lines))


GL = {"5100": "500100", "7500": "606300", "7900": "618900", "1200": "110150", "8000": "607200", "31": "180200"}


# --------------------------------------------------------------------------- purchases


def test_a_purchase_takes_multi_level_gl_by_supplier_group_dimensions_and_its_own_variables():
    rules = {"gl_accounts": GL, "dimensions": {"BusinessUnit": "001", "Department": "022"},
             "enrichment": [{"name": "supplier_group", "entity": "supplier", "key": "supplier_code",
                             "field": "group", "default": "OTHER"}],
             "gl_rules": [{"nominal": "5100", "customer_group": "PARTS", "account": "500200"}],
             "dimension_rules": [
                 {"when": 'line.nominal == "7500" and purchase.supplier_reference == "INV-77"',
                  "set": {"CostCenter": "010"}},
                 {"when": "invoice.total > 100", "set": {"Department": "027"}}]}  # a purchase is also "invoice"
    source = DictEnrichment({"supplier": {"GBV-0003": {"group": "PARTS"}}})
    result = apply_mapping(purchase(line(1, "5100", "87.43"), line(2, "7500", "20")), rules, enrichment=source)
    assert [(m.account, m.dimensions) for m in result.lines] == [
        ("500200", {"BusinessUnit": "001", "Department": "027"}),
        ("606300", {"BusinessUnit": "001", "Department": "027", "CostCenter": "010"})]
    other = apply_mapping(purchase(line(1, "5100", "10"), supplier="GBV-0009"), rules, enrichment=source)
    assert other.lines[0].account == "500100"  # default group OTHER: the flat first level
    variables = document_variables(purchase(line(1, "5100", "10")))
    assert variables["purchase"] is variables["invoice"] and variables["supplier"] == {"code": "GBV-0003",
                                                                                      "name": "Severn Packaging"}
    assert variables["transaction_type"] == "purchase_invoice" and variables["anomaly_score"] == 0


def test_a_purchase_is_routed_field_mapped_and_currency_looked_up_like_an_invoice():
    rules = {"gl_accounts": GL, "lookups": {"currency": {"values": {"GBP": "GBP-X"}, "fail_if_missing": True}},
             "field_mappings": [{"target": "UDF_SUPPLIER_REF", "source": "supplier_reference", "required": True},
                                {"target": "Comment", "expression": 'concat("KF ", purchase.number)'}],
             "routing": [{"when": 'supplier.code == "GBV-INTERNAL"', "action": "skip", "reason": "Intercompany"},
                         {"when": "total_above", "amount": 100}]}
    held = apply_mapping(purchase(line(1, "5100", "100")), rules)
    assert held.hold == "Total 120.00 GBP is above the approval limit of 100 GBP." and not held.skip
    assert held.fields == {"UDF_SUPPLIER_REF": "INV-77", "Comment": "KF 12"} and held.currency == "GBP-X"
    skipped = apply_mapping(purchase(line(1, "5100", "10"), supplier="GBV-INTERNAL"), rules)
    assert skipped.skip == "Intercompany" and skipped.lines == []
    with pytest.raises(TargetValidationError) as caught:
        apply_mapping(purchase(line(1, "5100", "10"), reference=""), rules)
    assert caught.value.code == "mapping_missing" and "on Kashflow purchase 12" in str(caught.value)


def test_dimensions_by_account_overlay_the_defaults_before_gl_rules_and_an_empty_value_removes_one():
    rules = {"gl_accounts": GL, "dimensions": {"BusinessUnit": "001", "Department": "022"},
             "dimensions_by_account": {"7500": {"Department": "024"}, "7900": {"Department": ""}},
             "gl_rules": [{"nominal": "7500", "department": "024", "account": "606310"}]}
    result = apply_mapping(purchase(line(1, "7500", "10"), line(2, "7900", "5"), line(3, "5100", "1")), rules)
    assert [(m.account, m.dimensions) for m in result.lines] == [
        ("606310", {"BusinessUnit": "001", "Department": "024"}),  # the overlay decided the GL rule
        ("618900", {"BusinessUnit": "001"}),
        ("500100", {"BusinessUnit": "001", "Department": "022"})]


# --------------------------------------------------------------------------- journals


def test_a_split_journal_line_stays_balanced_to_the_penny():
    rules = {"gl_accounts": GL, "line_handling": {"splits": [{"nominal": "7900", "parts": [
        {"percent": "33.33", "dimensions": {"Department": "024"}}, {"percent": "33.33", "dimensions": {
            "Department": "025"}}, {"percent": "33.34", "dimensions": {"Department": "026"}}]}]}}
    result = apply_mapping(journal(("7900", "100.01"), ("1200", "-100.01")), rules)
    assert [(m.account, m.line.amount, m.dimensions.get("Department")) for m in result.lines] == [
        ("618900", D("33.33"), "024"), ("618900", D("33.33"), "025"), ("618900", D("33.35"), "026"),
        ("110150", D("-100.01"), None)]
    assert sum(m.line.amount for m in result.lines) == 0
    assert result.lines[0].line.description == "7900 line (33.33%)"


def test_a_tiny_last_share_never_takes_the_opposite_sign():
    """Rounding the first parts up could leave the last one at -0.01 (a credit inside a debit); the parts are then
    taken from the rounded running total."""
    parts = [{"percent": p, "dimensions": {"CostCenter": f"{i:03d}"}}
             for i, p in enumerate(("3.95", "0.79", "95", "0.26"))]
    rules = {"gl_accounts": GL, "line_handling": {"splits": [{"nominal": "7900", "parts": parts}]}}
    result = apply_mapping(journal(("7900", "1.90"), ("1200", "-1.90")), rules)
    assert [m.line.amount for m in result.lines] == [D("0.08"), D("0.01"), D("1.81"), D("0.00"), D("-1.90")]
    common = apply_mapping(journal(("7900", "100.01"), ("1200", "-100.01")), {**rules, "line_handling": {"splits": [
        {"nominal": "7900", "parts": [{"percent": 50, "dimensions": {}}, {"percent": 50, "dimensions": {}}]}]}})
    assert [m.line.amount for m in common.lines] == [D("50.01"), D("50.00"), D("-100.01")]  # the usual remainder


@settings(max_examples=200, deadline=None)
@given(amounts=st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=6),
       cuts=st.lists(st.integers(min_value=1, max_value=9_999), min_size=1, max_size=4, unique=True),
       aggregate=st.booleans())
def test_splitting_and_aggregating_never_unbalance_a_journal(amounts, cuts, aggregate):
    """Any debits on 7900 against one credit, split at any percentages (to 0.01 %) and optionally aggregated:
    the mapped journal balances exactly and every line is to the cent."""
    bounds = sorted({0, *cuts, 10_000})
    percents = [D(high - low) / 100 for low, high in zip(bounds, bounds[1:], strict=False)]
    rules = {"gl_accounts": GL, "line_handling": {"aggregate": aggregate, "splits": [{"nominal": "7900", "parts": [
        {"percent": str(p), "dimensions": {"CostCenter": f"{i:03d}"}} for i, p in enumerate(percents)]}]}}
    assert validate_rules("kashflow_journals_to_ax", rules) == []  # two parts or more, adding up to 100
    debits = [D(a) / 100 for a in amounts]
    source = journal(*[("7900", str(d)) for d in debits], ("1200", str(-sum(debits))))
    result = apply_mapping(source, rules)
    assert sum(m.line.amount for m in result.lines) == 0
    assert all(m.line.amount == m.line.amount.quantize(D("0.01")) for m in result.lines)
    assert sum(m.line.amount for m in result.lines if m.line.amount > 0) == sum(debits)  # no part changed side


def test_aggregating_a_journal_merges_each_side_apart():
    rules = {"gl_accounts": {**GL, "7600": "618900"}, "line_handling": {"aggregate": True}}
    source = journal(("7900", "10"), ("7600", "5"), ("7900", "-3"), ("1200", "-12"))
    result = apply_mapping(source, rules)
    assert [(m.account, m.line.amount) for m in result.lines] == [
        ("618900", D("15")), ("618900", D("-3")), ("110150", D("-12"))]
    assert result.lines[0].line.description == "7900 line (+1 more)"


def test_journal_rules_read_journal_and_line_variables_and_route():
    rules = {"gl_accounts": GL, "dimension_rules": [
        {"when": 'line.credit > 0', "set": {"Department": "024"}},
        {"when": 'line.dimensions.Project == "4"', "set": {"CostCenter": "011"}}],
        "routing": [{"when": 'journal.total > 1000 and startswith(journal.description, "Accrual")',
                     "action": "hold", "reason": "Large accrual"},
                    {"when": 'journal.description == "Test"', "action": "skip"}],
        "field_mappings": [{"target": "Comment", "source": "description", "max_length": 5}]}
    result = apply_mapping(journal(("8000", "1500"), ("31", "-1500"), description="Accrual June", project="4"),
                           rules)
    assert result.hold == "Large accrual"
    assert [m.dimensions for m in result.lines] == [{"CostCenter": "011"}, {"Department": "024", "CostCenter": "011"}]
    assert result.fields == {"Comment": "Accru"} and result.warnings == [
        "Comment cut to 5 characters (was 'Accrual June')."]
    assert apply_mapping(journal(("8000", "1"), ("31", "-1"), description="Test"), rules).skip == (
        "Routing rule routing[1] matched: journal.description == \"Test\"")
    old = apply_mapping(journal(("8000", "6000"), ("31", "-6000")), {"gl_accounts": GL, "routing": [
        {"when": "total_above", "amount": 5000}]})
    assert old.hold == "Total 6000 GBP is above the approval limit of 5000 GBP."  # a journal's total: its debits


def test_an_unmapped_journal_nominal_is_one_inbox_group_naming_it():
    with pytest.raises(TargetValidationError) as caught:
        apply_mapping(journal(("7700", "1"), ("1200", "-1")), {"gl_accounts": GL}, account_label="AX main account")
    assert caught.value.code == "mapping_missing" and caught.value.payload == {"nominal_code": "7700"}
    assert "No AX main account is mapped for Kashflow nominal code 7700" in str(caught.value)


def test_only_canonical_documents_are_mapped():
    with pytest.raises(TypeError, match="not dict"):
        apply_mapping({"lines": []}, {})


# --------------------------------------------------------------------------- anomaly score


@pytest.mark.parametrize("document", [
    purchase(line(1, "5100", "10")),
    journal(("8000", "1"), ("31", "-1")),
    SalesInvoice(source_system="kashflow", source_id="1", number="1", customer_code="ABF", customer_name="",
                 issue_date=date(2026, 3, 1), due_date=None, currency="GBP", exchange_rate=D(1), net_amount=D(10),
                 tax_amount=D(2), gross_amount=D(12), paid_amount=D(12), status="paid",
                 lines=(line(1, "5100", "10"),)),
], ids=["purchase", "journal", "invoice"])
def test_routing_reads_the_anomaly_score_and_an_unscored_record_counts_as_zero(document):
    rules = {"gl_accounts": GL, "routing": [{"when": "anomaly_score > 0.8", "action": "hold",
                                             "reason": "Unusual for this tenant"}]}
    assert apply_mapping(document, rules, anomaly_score=0.93).hold == "Unusual for this tenant"
    assert apply_mapping(document, rules, anomaly_score=0.8).hold == ""
    assert apply_mapping(document, rules).hold == ""
    assert apply_mapping(document, {**rules, "routing": [{"when": "anomaly_score == 0", "action": "skip"}]}).skip


# --------------------------------------------------------------------------- dimension values against the target


LIVE = {"BusinessUnit": {"001", "002"}, "Department": {"022", "023", "024"}, "CostCenter": {"007"}}


def test_constant_dimension_values_are_checked_against_the_live_ones_with_their_paths():
    rules = {
        "dimensions": {"BusinessUnit": "001", "Department": "099"},
        "dimensions_by_account": {"7500": {"Department": "023", "CostCenter": ""}},
        "dimension_rules": [{"when": "invoice.total > 5", "set": {"Department": "024", "Region": "North"}}],
        "line_handling": {"splits": [{"nominal": "4001", "parts": [
            {"percent": 50, "dimensions": {"Department": "022"}},
            {"percent": 50, "dimensions": {"CostCenter": "008"}}]}]},
        "custom_fields": [{"source": "Region", "target": "BusinessUnit", "values": {"N": "002", "S": "005"}},
                          {"source": "Ref", "target": "UDF_REF", "kind": "field", "values": {"A": "whatever"}}],
    }
    errors = validate_rules("kashflow_purchases_to_ax", rules, dimensions=lambda: LIVE)
    assert [(e.path, e.message) for e in errors] == [
        ("dimensions.Department", "099 is not a value of the target's Department dimension"),
        ("dimension_rules[0].set.Region", "Region is not a dimension of the target (it has BusinessUnit, "
                                          "CostCenter, Department)"),
        ("line_handling.splits[0].parts[1].dimensions.CostCenter",
         "008 is not a value of the target's CostCenter dimension"),
        ("custom_fields[0].values.S", "005 is not a value of the target's BusinessUnit dimension")]
    assert validate_rules("kashflow_purchases_to_ax", rules, dimensions=lambda: None) == []


def test_the_target_is_only_asked_when_the_rules_name_something_to_check():
    def unreachable():
        raise AssertionError("read although nothing needed checking")

    rules = {"routing": [], "dimension_rules": [{"when": "invoice.total > 5", "set": {}}]}
    validate_rules("kashflow_journals_to_sage", rules, chart=unreachable, dimensions=unreachable)
    written = list(constant_dimension_values({"dimensions": {"Department": "", "BusinessUnit": "001"}}))
    assert written == [("dimensions.BusinessUnit", "BusinessUnit", "001")]


def test_a_variable_the_flows_documents_do_not_have_is_refused_on_save_with_its_position():
    rules = {"routing": [{"when": 'customer.customer_group == "INTERCO"', "action": "skip"}],
             "dimension_rules": [{"when": 'line.nominal == "7500" and supplier.code == "X"',
                                  "set": {"CostCenter": "7"}}],
             "field_mappings": [{"target": "Comment", "expression": "line.description"},
                                {"target": "UDF_REF", "source": "invoice.customer_reference"}],
             "enrichment": [{"name": "group", "entity": "customer", "key": "customer.code", "field": "group"}]}
    errors = {e.path: e for e in validate_rules("kashflow_purchases_to_sage", rules)}
    assert set(errors) == {"routing[0].when", "field_mappings[0].expression", "enrichment[0].key"}
    assert errors["routing[0].when"].position == 0 and "unknown variable 'customer.customer_group'" in errors[
        "routing[0].when"].message and "a purchase has purchase.*, invoice.*, supplier.*" in errors[
        "routing[0].when"].message
    assert "'line.description'" in errors["field_mappings[0].expression"].message  # line.* only in dimension rules
    journal_errors = {e.path for e in validate_rules("kashflow_journals_to_ax", rules)}
    assert journal_errors == {"routing[0].when", "dimension_rules[0].when", "field_mappings[0].expression",
                              "field_mappings[1].source", "enrichment[0].key"}
    assert validate_rules("kashflow_invoices_to_ax", {"routing": rules["routing"]}) == []


def test_the_purchase_and_journal_flows_defaults_stay_valid_with_the_generic_sections():
    for key in ("kashflow_purchases_to_ax", "kashflow_purchases_to_sage", "kashflow_journals_to_ax",
                "kashflow_journals_to_sage"):
        from integrations.sync.flows import FLOWS

        rules = {**FLOWS[key].default_rules(), "dimension_rules": [{"when": 'line.nominal == "7500"',
                                                                    "set": {"Department": "022"}}],
                 "dimensions_by_account": {"7500": {"Department": "023"}}, "line_handling": {"aggregate": True}}
        assert validate_rules(key, rules) == [], key
