"""The summary engine's pure parts: periods, closing, tax codes, and the postings of one source (balanced)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from integrations.core.canonical import InvoiceLine, Payment, SalesInvoice
from integrations.core.errors import TargetValidationError
from integrations.sync.flows.kashflow_summary import KashflowSummary, period_of, tax_code_of
from integrations.sync.flows.kashflow_summary_to_ax import KashflowSummaryToAx
from integrations.sync.flows.kashflow_summary_to_ax import default_rules as ax_rules
from integrations.sync.summary_models import SummarySource

D = Decimal


def test_periods_are_days_or_iso_weeks():
    assert period_of(date(2026, 11, 19), "day") == (date(2026, 11, 19), date(2026, 11, 19))
    assert period_of(date(2026, 11, 19), "week") == (date(2026, 11, 16), date(2026, 11, 22))  # Thu -> Mon..Sun
    assert period_of(date(2026, 11, 16), "week") == (date(2026, 11, 16), date(2026, 11, 22))


def test_a_period_closes_close_after_hours_after_its_last_day(settings):
    summary = object.__new__(KashflowSummary)
    summary.close_after = timedelta(hours=1)
    tz = ZoneInfo(settings.TIME_ZONE)
    assert not summary.is_closed(date(2026, 11, 19), datetime(2026, 11, 20, 0, 59, tzinfo=tz))
    assert summary.is_closed(date(2026, 11, 19), datetime(2026, 11, 20, 1, 0, tzinfo=tz))
    assert not summary.is_closed(date(2026, 11, 19), datetime(2026, 11, 19, 23, 0, tzinfo=tz))


def test_tax_codes_are_kashflow_vat_rates():
    assert [tax_code_of(r) for r in (D("20"), D("20.0000"), D("17.5"), D(0), None)] == [
        "20", "20", "17.5", "0", "EXEMPT"]


def _summary(rules=None) -> KashflowSummaryToAx:
    summary = object.__new__(KashflowSummaryToAx)
    summary.rules = rules or ax_rules()
    return summary


def _source(record, kind) -> SummarySource:
    return SummarySource(kind=kind, source_id=record.source_id, payload=record.to_dict())


def _line(n, nominal, net, vat, rate):
    return InvoiceLine(number=n, description="x", quantity=D(1), unit_price=net, net_amount=net, tax_amount=vat,
                       tax_rate=rate, account_code=nominal)


INVOICE = SalesInvoice(
    source_system="kashflow", source_id="1041", number="1041", customer_code="ACME", customer_name="Acme",
    issue_date=date(2026, 11, 19), due_date=None, currency="GBP", exchange_rate=D(1), net_amount=D("110.01"),
    tax_amount=D("20.00"), gross_amount=D("130.01"), paid_amount=D(0), status="unpaid",
    lines=(_line(1, "4000", D("33.33"), D("6.67"), D(20)), _line(2, "4002", D("66.68"), D("13.33"), D(20)),
           _line(3, "4905", D("10.00"), D(0), None)))


def test_an_invoice_debits_ar_with_exactly_what_it_credits_to_sales_and_vat():
    postings = _summary().postings(_source(INVOICE, "invoice"))
    sales = sorted((p.account, p.tax_code, p.amount) for p in postings if p.role == "sales")
    assert sales == [("401100", "20", D("-66.68")), ("401100", "20", D("-33.33")), ("403150", "EXEMPT", D("-10.00"))]
    assert [(p.account, p.amount) for p in postings if p.role == "tax"] == [("222200", D("-20.00"))]
    assert [(p.account, p.amount) for p in postings if p.role == "ar_invoice"] == [("130100", D("130.01"))]
    assert sum(p.amount for p in postings) == 0
    assert all(p.dimensions == (("BusinessUnit", "001"), ("Department", "022")) for p in postings
               if p.role == "sales")


def test_a_receipt_debits_the_mapped_bank_and_credits_ar():
    payment = Payment(source_system="kashflow", source_id="77", kind="customer", party_code="ACME",
                      invoice_number="1041", payment_date=date(2026, 11, 20), amount=D("130.01"), currency="EUR",
                      bank_account="1")
    postings = _summary().postings(_source(payment, "receipt"))
    assert [(p.role, p.account, p.currency, p.amount) for p in postings] == [
        ("bank", "110130", "EUR", D("130.01")), ("ar_receipt", "130100", "EUR", D("-130.01"))]


def test_unmapped_values_are_named_in_the_error():
    rules = ax_rules()
    rules["gl_accounts"] = {k: v for k, v in rules["gl_accounts"].items() if k != "4905"}
    with pytest.raises(TargetValidationError, match="Kashflow nominal code 4905") as caught:
        _summary(rules).postings(_source(INVOICE, "invoice"))
    assert caught.value.code == "mapping_missing"
    rules = ax_rules() | {"tax_accounts": {}}
    with pytest.raises(TargetValidationError, match="tax code 20"):
        _summary(rules).postings(_source(INVOICE, "invoice"))
    rules = ax_rules() | {"dimensions": {"Colour": "red"}}
    with pytest.raises(TargetValidationError, match="Colour") as caught:
        _summary(rules).postings(_source(INVOICE, "invoice"))
    assert caught.value.code == "invalid_value"


def test_sage_refuses_a_foreign_currency_instead_of_guessing_a_rate():
    from integrations.sync.flows.kashflow_summary_to_sage import KashflowSummaryToSage
    from integrations.sync.flows.kashflow_summary_to_sage import default_rules as sage_rules

    summary = object.__new__(KashflowSummaryToSage)
    summary.rules, summary._chart, summary.flow = sage_rules(), None, SimpleNamespace(target=SimpleNamespace(
        settings={}))
    with pytest.raises(TargetValidationError, match="in GBP; Sage 100's general ledger keeps USD") as caught:
        summary.postings(_source(INVOICE, "invoice"))
    assert caught.value.code == "invalid_value"
