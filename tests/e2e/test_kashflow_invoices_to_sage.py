"""Kashflow sales invoices -> Sage 100 A/R invoices through the agent, proven against the sandboxes.

Each test drives the real pipeline (Kashflow sandbox -> engine -> Sage agent sandbox) and then reads what the
Sage company file holds: every paid Kashflow invoice exactly once, field by field as mapped.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from integrations.sage100.sandbox.abc import ACCOUNT_KEYS
from integrations.sync import pipeline
from integrations.sync.models import Binding, SyncRecord, SyncRun
from mapping.defaults import KASHFLOW_TO_SAGE_GL
from mapping.versions import publish, published_version
from tests.e2e.helpers import WorkerDied, paid_numbers, run_inline, sage_rows


def posted_from_kashflow(sage_sandbox) -> Counter:
    """Kashflow number -> how many Sage A/R invoices carry it (the flow's Comment names the Kashflow invoice)."""
    rows = sage_rows(sage_sandbox,
                     "SELECT Comment FROM AR_InvoiceHistoryHeader WHERE Comment LIKE 'Kashflow invoice %'")
    return Counter(row["Comment"].removeprefix("Kashflow invoice ") for row in rows)


def assert_each_paid_invoice_posted_once(kashflow, sage_sandbox) -> set[str]:
    paid = paid_numbers(kashflow.store)
    posted = posted_from_kashflow(sage_sandbox)
    assert set(posted) == paid, (sorted(paid - set(posted)), sorted(set(posted) - paid))
    assert set(posted.values()) == {1}, {k: v for k, v in posted.items() if v > 1}
    assert Binding.objects.count() == len(paid)
    assert not SyncRecord.objects.exclude(message_id="").exists()
    return paid


@pytest.fixture
def small_batches(sage_invoice_flow):
    sage_invoice_flow.options = {**sage_invoice_flow.options, "batch_size": 4, "page_size": 10}
    sage_invoice_flow.save()
    return sage_invoice_flow


def test_every_paid_invoice_becomes_one_ar_invoice_as_mapped(small_batches, sage_kashflow_sandbox, sage_sandbox):
    first = run_inline(small_batches)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    paid = assert_each_paid_invoice_posted_once(sage_kashflow_sandbox, sage_sandbox)
    assert first.records_posted == len(paid) > 3
    assert -(-len(paid) // 4) <= first.target_calls <= -(-len(paid) // 4) + 3  # batches, not one call each

    for number in sorted(paid, key=int)[:4]:
        kf = sage_kashflow_sandbox.store.get_invoice(int(number))
        division, customer = kf["CustomerCode"].split("-", 1)
        invoice_no = number.zfill(7)
        [header] = sage_rows(sage_sandbox, "SELECT * FROM AR_InvoiceHistoryHeader WHERE InvoiceNo = ? AND "
                                           "Comment = ?", (invoice_no, f"Kashflow invoice {number}"))
        assert (header["ARDivisionNo"], header["CustomerNo"]) == (division, customer)
        assert header["InvoiceType"] == "IN"
        assert str(header["InvoiceDate"])[:10] == kf["IssuedDate"][:10]
        assert Decimal(str(header["SalesTaxAmt"])) == Decimal(str(kf["VATAmount"])).quantize(Decimal("0.01"))
        lines = sage_rows(sage_sandbox, "SELECT * FROM AR_InvoiceHistoryDetail WHERE InvoiceNo = ? AND "
                                        "HeaderSeqNo = ? ORDER BY DetailSeqNo", (invoice_no, header["HeaderSeqNo"]))
        assert len(lines) == len(kf["LineItems"])
        for line, kf_line in zip(lines, kf["LineItems"], strict=True):
            assert line["SalesAcctKey"] == ACCOUNT_KEYS[KASHFLOW_TO_SAGE_GL[str(kf_line["NominalCode"])]]
            net = Decimal(str(kf_line["Quantity"])) * Decimal(str(kf_line["Rate"]))
            assert abs(Decimal(str(line["ExtensionAmt"])) - net) <= Decimal("0.01")
            assert line["ItemCode"] == "/SERVICE"
        [open_item] = sage_rows(sage_sandbox, "SELECT Balance FROM AR_OpenInvoice WHERE ARDivisionNo = ? AND "
                                              "CustomerNo = ? AND InvoiceNo = ?", (division, customer, invoice_no))
        assert Decimal(str(open_item["Balance"])) == Decimal(str(kf["GrossAmount"])).quantize(Decimal("0.01"))
        record = SyncRecord.objects.get(source_id=number, status="posted")
        assert record.target_id == f"{division}-{customer}-{invoice_no}"

    second = run_inline(small_batches)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 0
    assert second.target_calls == 0
    assert_each_paid_invoice_posted_once(sage_kashflow_sandbox, sage_sandbox)


def test_a_worker_killed_after_the_agent_applied_a_batch_resumes_without_duplicates(
        small_batches, sage_kashflow_sandbox, sage_sandbox, monkeypatch):
    seen = Counter()

    def die(at: str) -> None:
        seen[at] += 1
        if at == "send" and seen[at] == 2:  # the second batch is in Sage, its answer never bound
            raise WorkerDied(at)

    monkeypatch.setattr(pipeline, "crash_hook", die)
    with pytest.raises(WorkerDied):
        run_inline(small_batches)
    in_flight = {r.source_id for r in SyncRecord.objects.exclude(message_id="")}
    applied_not_bound = in_flight & set(posted_from_kashflow(sage_sandbox))
    assert len(applied_not_bound) == 4  # the batch the agent applied; its records are still in the outbox

    monkeypatch.setattr(pipeline, "crash_hook", None)
    resumed = run_inline(small_batches)
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.message
    assert_each_paid_invoice_posted_once(sage_kashflow_sandbox, sage_sandbox)
    assert SyncRecord.objects.filter(status="posted").count() == Binding.objects.count()
    # The agent's stored answers for the re-sent keys gave the real invoice keys, not placeholders.
    assert all(b.external_id.count("-") == 2 and not b.external_id.startswith("MessageId:")
               for b in Binding.objects.filter(source_id__in=applied_not_bound))


def test_an_unmapped_nominal_code_fails_only_its_invoices(small_batches, sage_kashflow_sandbox, sage_sandbox):
    rules = published_version(small_batches).rules
    gl_accounts = {k: v for k, v in rules["gl_accounts"].items() if k != "4905"}
    publish(small_batches, {**rules, "gl_accounts": gl_accounts}, note="no carriage account")
    run = run_inline(small_batches)
    failed = list(SyncRecord.objects.filter(status="failed"))
    assert failed and run.records_failed == len(failed)
    assert run.status == SyncRun.Status.PARTIAL
    for record in failed:
        assert record.error_code == "mapping_missing"
        assert "4905" in record.last_error and "Sage 100 G/L account" in record.last_error
        assert any(line["account_code"] == "4905" for line in record.payload["lines"])
    paid = paid_numbers(sage_kashflow_sandbox.store)
    posted = posted_from_kashflow(sage_sandbox)
    assert set(posted) == paid - {r.source_id for r in failed} and set(posted.values()) == {1}
    for record in SyncRecord.objects.filter(status="posted"):
        assert all(line["account_code"] != "4905" for line in record.payload["lines"])


def test_boi_errors_on_some_operations_end_with_every_invoice_posted_once(small_batches, sage_kashflow_sandbox,
                                                                          sage_sandbox):
    sage_sandbox.app.faults.set({"boi_error": {"every": 3, "objects": ["AR_Invoice_bus"]}})
    first = run_inline(small_batches)
    waiting = SyncRecord.objects.filter(status="pending").exclude(message_id="")
    assert waiting.exists() and first.records_failed == 0
    assert all("in use" in r.last_error for r in waiting)
    assert len(posted_from_kashflow(sage_sandbox)) == first.records_posted

    sage_sandbox.app.faults.set({})
    second = run_inline(small_batches)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    assert second.records_posted == waiting.model.objects.filter(status="posted").count() - first.records_posted
    assert_each_paid_invoice_posted_once(sage_kashflow_sandbox, sage_sandbox)
    assert run_inline(small_batches).records_posted == 0


def test_an_invoice_for_a_customer_sage_is_still_creating_waits_then_posts(sage_invoice_flow, sage_kashflow_sandbox,
                                                                           sage_sandbox):
    from integrations.sync.models import Flow
    from tests.e2e.test_kashflow_invoices_to_ax import _new_customer_with_a_paid_invoice

    number = _new_customer_with_a_paid_invoice(sage_kashflow_sandbox.store, "NEWCO")
    first = run_inline(sage_invoice_flow)  # kashflow_customers_to_sage has not created 01-NEWCO yet
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    waiting = SyncRecord.objects.get(flow=sage_invoice_flow, source_id=str(number))
    assert (waiting.status, waiting.error_code, waiting.message_id) == ("pending", "awaiting_dependency", "")
    assert "01-NEWCO" in waiting.last_error

    assert run_inline(Flow.objects.get(key="kashflow_customers_to_sage")).status == SyncRun.Status.SUCCEEDED
    second = run_inline(sage_invoice_flow)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    waiting.refresh_from_db()
    assert waiting.status == "posted" and waiting.target_id.startswith("01-NEWCO-")
    rows = sage_rows(sage_sandbox, "SELECT * FROM AR_InvoiceHistoryHeader WHERE Comment = ?",
                     (f"Kashflow invoice {number}",))
    assert len(rows) == 1 and rows[0]["CustomerNo"] == "NEWCO"
