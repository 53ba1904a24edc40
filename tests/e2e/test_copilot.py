"""The co-pilot in a real run: Kashflow sandbox -> engine (anomaly gate) -> AX sandbox.

A tenant that holds flagged records gets a duplicate invoice held with the reason, while an ordinary one posts;
approving the held one dismisses the flag (a label) and posts it on the next run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ai_copilot import anomaly_service
from ai_copilot.models import AnomalyLabel, CopilotSettings, StoredModel
from integrations.sync import inbox
from integrations.sync.models import SyncRecord, SyncRun
from tests.e2e.helpers import ax_invoices, run_inline


def copy_invoice(store, number: int, *, reference: str, paid: bool = True) -> str:
    """A new Kashflow invoice with the same customer, lines and date as ``number`` (a re-keyed duplicate)."""
    template = store.get_invoice(number)
    lines = [{k: line[k] for k in ("Description", "Quantity", "Rate", "VATLevel", "NominalCode") if k in line}
             for line in template["LineItems"]]
    payload = {"CustomerCode": template["CustomerCode"], "IssuedDate": template["IssuedDate"],
               "DueDate": template["DueDate"], "Currency": template.get("Currency") or {"Code": "GBP"},
               "CustomerReference": reference, "LineItems": lines}
    if paid:
        payload["PaymentLines"] = [{"Date": template["IssuedDate"], "Amount": str(template["GrossAmount"]),
                                    "Method": 1, "AccountId": 1}]
    return str(store.create_invoice(payload)["Number"])


@pytest.fixture
def holding(settings):
    settings.LEDGERBRIDGE_COPILOT_MIN_HISTORY = 10
    options = CopilotSettings.current()
    options.anomaly_mode = CopilotSettings.AnomalyMode.HOLD
    options.alert_rate = Decimal("0.2")  # a generous budget: the sandbox's first run is the whole history
    options.save()
    return options


def test_a_duplicate_invoice_is_held_with_its_reason_and_approval_is_a_label(invoice_flow, kashflow_sandbox,
                                                                          ax_sandbox, holding, admin_user):
    first = run_inline(invoice_flow)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    scored = SyncRecord.objects.filter(flow=invoice_flow, anomaly_score__isnull=False).count()
    assert scored == first.records_posted > 0  # every record was scored before it was posted
    anomaly_service.train()
    assert StoredModel.objects.get(scope="anomaly").training_rows == first.records_posted

    posted = SyncRecord.objects.filter(flow=invoice_flow, status=SyncRecord.Status.POSTED).order_by("-source_id")
    original = posted[0]
    duplicate = copy_invoice(kashflow_sandbox.store, int(original.source_id), reference="DUP-1")
    second = run_inline(invoice_flow)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    held = SyncRecord.objects.get(flow=invoice_flow, source_id=duplicate)
    assert held.status == SyncRecord.Status.HELD and held.anomaly_flagged
    assert "duplicate" in {r["code"] for r in held.anomaly_reasons}
    assert held.hold_reason.startswith("Co-pilot flagged this")
    assert ax_invoices(ax_sandbox.store)[duplicate] == 0  # nothing reached AX

    inbox.approve([held.pk], admin_user)
    assert AnomalyLabel.objects.filter(record=held, verdict="dismissed", reason_code="duplicate").exists()
    third = run_inline(invoice_flow)
    assert third.status == SyncRun.Status.SUCCEEDED, third.message
    held.refresh_from_db()
    assert held.status == SyncRecord.Status.POSTED
    assert ax_invoices(ax_sandbox.store)[duplicate] == 1


def test_scoring_off_scores_nothing(invoice_flow, kashflow_sandbox, ax_sandbox):
    options = CopilotSettings.current()
    options.anomaly_mode = CopilotSettings.AnomalyMode.OFF
    options.save()
    run = run_inline(invoice_flow)
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted > 0
    assert not SyncRecord.objects.filter(flow=invoice_flow, anomaly_score__isnull=False).exists()
    assert not StoredModel.objects.filter(scope="anomaly").exists()


@pytest.fixture
def admin_user(tenant):
    from portal.accounts.models import User

    return User.objects.create_user(email="admin.e2e@alpha.test", password="x-Pass-12345", role="admin")


