"""The tenant side of anomaly scoring: canonical payloads as scoring rows, the gate's context, the alert budget."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ai_copilot import anomaly_service
from ai_copilot.models import CopilotSettings
from integrations.sync.models import Connection, Flow, SyncRecord

INVOICE = {"number": "214", "customer_code": "C1", "issue_date": "2026-11-20", "gross_amount": "240.00",
           "currency": "GBP", "lines": [{"account_code": "4000", "net_amount": "150", "tax_rate": "20",
                                         "description": "Print"},
                                        {"account_code": "4001", "net_amount": "50", "tax_rate": "20"}]}
PAYMENT = {"invoice_number": "214", "customer_code": "C1", "currency": "GBP",
           "payments": [{"payment_date": "2026-11-21", "amount": "240.00", "bank_account": "1200",
                         "invoice_number": "214", "method": "BACS"}]}
JOURNAL = {"number": "J7", "journal_date": "2026-11-20", "currency": "GBP",
           "lines": [{"account_code": "8000", "amount": "100"}, {"account_code": "0031", "amount": "-100"}]}


def test_payloads_become_scoring_rows():
    [invoice] = anomaly_service.txns_of("sales_invoice", "214", INVOICE)
    assert (invoice.kind, invoice.party, invoice.account, invoice.amount, invoice.tax_rate, invoice.reference,
            invoice.date) == ("sales_invoice", "C1", "4000", Decimal("240.00"), Decimal(20), "214", date(2026, 11, 20))
    [payment] = anomaly_service.txns_of("customer_payment", "214", PAYMENT)
    assert (payment.id, payment.kind, payment.reference, payment.account) == ("214#0", "payment", "214", "1200")
    lines = anomaly_service.txns_of("journal", "J7", JOURNAL)
    assert [(t.account, t.amount, t.reference, t.party) for t in lines] == [
        ("8000", Decimal(100), "J7", ""), ("0031", Decimal(-100), "J7", "")]
    assert anomaly_service.txns_of("customer", "C1", {"code": "C1"}) == []
    assert anomaly_service.txns_of("sales_invoice", "9", {"unreadable": True}) == []
    assert anomaly_service.txns_of("sales_invoice", "9", {"issue_date": "not a date"}) == []


@pytest.fixture
def payment_flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key="kashflow_payments_to_ax", name="Payments", source=kf, target=ax)


def record(flow, entity, source_id, payload, status="pending"):
    n = SyncRecord.objects.count()
    return SyncRecord.objects.create(flow=flow, entity=entity, source_id=source_id, source_version=f"v{n}",
                                     idempotency_key=f"gate-{n}", payload=payload, status=status)


def test_a_payment_is_scored_once_its_invoice_is_known_and_never_called_invoiceless(payment_flow,
                                                                                   django_assert_num_queries):
    gate = anomaly_service.AnomalyGate.for_flow(payment_flow, "customer_payment")
    assert gate is not None and anomaly_service.AnomalyGate.for_flow(payment_flow, "customer") is None
    payment = record(payment_flow, "customer_payment", "214", PAYMENT)
    gate.prepare([payment])
    assert gate.check(payment) is None and payment.anomaly_score is None  # its invoice not read yet: later
    record(payment_flow, "sales_invoice", "214", INVOICE)  # read (not posted yet) by the invoice flow
    others = [record(payment_flow, "customer_payment", str(n), {**PAYMENT, "invoice_number": str(n), "payments": [
        {**PAYMENT["payments"][0], "invoice_number": str(n)}]}) for n in (300, 301, 302)]
    with django_assert_num_queries(2) as queries:  # the whole batch's invoices in one read
        gate.prepare([payment, *others])
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SET", "SELECT"]  # (SET: the tenant's schema)
    verdict = gate.check(payment)
    assert verdict is not None and payment.anomaly_score is not None
    assert "payment_without_invoice" not in {r["code"] for r in verdict.reasons}


def test_scoring_off_means_no_gate(payment_flow):
    options = CopilotSettings.current()
    options.anomaly_mode = CopilotSettings.AnomalyMode.OFF
    options.save()
    assert anomaly_service.AnomalyGate.for_flow(payment_flow, "customer_payment") is None


def test_the_alert_budget_never_floods_a_young_tenant_and_follows_the_rate(tenant):
    budget = anomaly_service.Budget(alert_rate=0.01, floor=0.5)
    assert [budget.admit(0.9) for _ in range(5)] == [True, False, False, False, False]  # one flag until room grows
    assert budget.admit(0.2) is False  # below the evidence floor: never
    grown = anomaly_service.Budget(alert_rate=0.01, floor=0.5, scored=1000, flagged=3)
    assert sum(grown.admit(0.95) for _ in range(20)) == 7  # room for 1 % of ~1,000: 10 flags in the window
