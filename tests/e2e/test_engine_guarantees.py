"""The engine's guarantees, proven against the sandboxes: nothing lost, nothing posted twice.

Each test drives the real pipeline (Kashflow sandbox -> engine -> AX sandbox) and then counts what AX holds:
every paid Kashflow invoice exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.sync import pipeline
from integrations.sync.models import Binding, FlowCursor, SyncRecord, SyncRun
from mapping.versions import publish, published_version
from tests.e2e.helpers import WorkerDied, ax_invoices, paid_numbers, run_inline


def assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox):
    paid = paid_numbers(kashflow_sandbox.store)
    posted = ax_invoices(ax_sandbox.store)
    assert set(posted) == paid, (sorted(paid - set(posted)), sorted(set(posted) - paid))
    assert set(posted.values()) == {1}, {k: v for k, v in posted.items() if v > 1}
    assert Binding.objects.count() == len(paid)
    assert not SyncRecord.objects.exclude(message_id="").exists()
    return paid


def add_paid_invoice(store, number: int, *, amount: str = "50", nominal: int = 4000) -> dict:
    template = store.get_invoice(1)
    gross = str(float(amount) * 2 * 1.2)
    return store.create_invoice({
        "Number": number, "CustomerCode": template["CustomerCode"], "IssuedDate": template["IssuedDate"],
        "DueDate": template["DueDate"], "Currency": {"Code": "GBP", "ExchangeRate": "1"},
        "LineItems": [{"Description": f"Invoice {number}", "Quantity": "2", "Rate": amount, "VATLevel": "20",
                       "NominalCode": nominal}],
        "PaymentLines": [{"Date": template["IssuedDate"], "Amount": gross,
                          "Method": template["PaymentLines"][0]["Method"] if template.get("PaymentLines") else 1,
                          "AccountId": 1}],
    })


@pytest.fixture
def small_batches(invoice_flow):
    invoice_flow.options = {**invoice_flow.options, "batch_size": 4, "page_size": 10}
    invoice_flow.save()
    return invoice_flow


def test_two_runs_post_once_in_batches(small_batches, kashflow_sandbox, ax_sandbox):
    first = run_inline(small_batches)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    paid = assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox)
    assert first.records_posted == len(paid)
    # Batches of four per source page of ten: far fewer AX calls than invoices.
    assert -(-len(paid) // 4) <= first.target_calls <= -(-len(paid) // 4) + 3
    second = run_inline(small_batches)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 0
    assert second.target_calls == 0
    assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox)


@pytest.mark.parametrize("step", pipeline.STEPS)
def test_a_worker_killed_at_any_step_leaves_no_duplicate_and_no_loss(step, small_batches, kashflow_sandbox,
                                                                     ax_sandbox, monkeypatch):
    seen = Counter()
    nth = 1 if step == "cursor" else 2  # the cursor moves once per run; elsewhere some work is already done

    def die(at: str) -> None:
        seen[at] += 1
        if at == step and seen[at] == nth:
            raise WorkerDied(at)

    monkeypatch.setattr(pipeline, "crash_hook", die)
    with pytest.raises(WorkerDied):
        run_inline(small_batches)
    assert SyncRun.objects.get().status == SyncRun.Status.RUNNING  # as a killed worker leaves it

    monkeypatch.setattr(pipeline, "crash_hook", None)
    resumed = run_inline(small_batches)
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.message
    assert SyncRun.objects.filter(status=SyncRun.Status.RUNNING).count() == 0
    assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox)
    # AX's answers were lost at most for one batch, and those keys were looked up, not guessed.
    assert not Binding.objects.filter(external_id__startswith="MessageId:").exists()


def test_invoices_committed_late_below_the_watermark_are_picked_up(invoice_flow, kashflow_sandbox, ax_sandbox):
    from integrations.kashflow.sandbox.documents import INVOICE

    invoice_flow.options = {**invoice_flow.options, "full_sweep_minutes": 10_000, "overlap_numbers": 5}
    invoice_flow.save()
    store = kashflow_sandbox.store
    store.delete_document(INVOICE, 2)  # a gap far below where the watermark will be
    run_inline(invoice_flow)
    watermark = FlowCursor.objects.get(flow=invoice_flow).value["watermark"]

    add_paid_invoice(store, watermark + 2)  # committed first...
    run_inline(invoice_flow)
    assert FlowCursor.objects.get(flow=invoice_flow).value["watermark"] == watermark + 2
    add_paid_invoice(store, watermark + 1)  # ...its predecessor commits late, below the new watermark
    late = run_inline(invoice_flow)
    assert late.records_posted == 1
    assert ax_invoices(ax_sandbox.store)[str(watermark + 1)] == 1

    # Far below the overlap, only the periodic full sweep sees a record (here: the old gap filled in).
    add_paid_invoice(store, 2)
    assert run_inline(invoice_flow).records_posted == 0
    cursor = FlowCursor.objects.get(flow=invoice_flow)
    cursor.value = {**cursor.value, "last_sweep": (timezone.now() - timedelta(days=30)).isoformat()}
    cursor.save()
    swept = run_inline(invoice_flow)
    assert swept.status == SyncRun.Status.SUCCEEDED and swept.records_posted == 1
    assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox)


def test_an_invoice_paid_after_it_was_first_seen_is_posted_by_the_sweep(invoice_flow, kashflow_sandbox,
                                                                        ax_sandbox):
    store = kashflow_sandbox.store
    run_inline(invoice_flow)
    unpaid = next(i for i in store.list_invoices(page=1, perpage=100).items if i["Status"] != "Paid")
    invoice = store.get_invoice(unpaid["Number"])
    from integrations.kashflow.client import KashflowClient

    fields = kashflow_sandbox.fields
    client = KashflowClient(fields["base_url"], fields["username"], fields["password"], fields["memorable_word"])
    client.put(f"invoices/{unpaid['Number']}", {
        **{k: invoice[k] for k in ("Number", "CustomerCode", "IssuedDate", "DueDate", "LineItems")},
        "PaymentLines": [*(invoice.get("PaymentLines") or []),
                         {"Date": invoice["IssuedDate"], "Amount": str(invoice["DueAmount"]), "Method": 1,
                          "AccountId": 1}]})
    assert store.get_invoice(unpaid["Number"])["Status"] == "Paid"
    cursor = FlowCursor.objects.get(flow=invoice_flow)
    cursor.value = {**cursor.value, "last_sweep": (timezone.now() - timedelta(days=1)).isoformat()}
    cursor.save()
    run = run_inline(invoice_flow)
    assert run.records_posted == 1
    assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox)


def test_429_storms_and_timeouts_end_with_every_record_posted_exactly_once(small_batches, kashflow_sandbox,
                                                                          ax_sandbox):
    kashflow_sandbox.app.faults.set({"rate_limit": {"every": 3, "retry_after": 0.05}})
    ax_sandbox.app.faults.set({"rate_limit": {"every": 2, "retry_after": 0.05, "status": 429},
                               "timeout_after_commit": {"every": 3}})
    runs = [run_inline(small_batches)]
    while runs[-1].status != SyncRun.Status.SUCCEEDED and len(runs) < 5:
        runs.append(run_inline(small_batches))
    assert runs[-1].status == SyncRun.Status.SUCCEEDED, [r.message for r in runs]
    assert sum(r.records_failed for r in runs) == 0
    kashflow_sandbox.app.faults.set({})
    ax_sandbox.app.faults.set({})
    assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox)
    assert not Binding.objects.filter(external_id__startswith="MessageId:").exists()


def test_a_rejected_record_lands_in_the_inbox_with_axs_message_and_replay_after_the_fix_posts_it_once(
        small_batches, kashflow_sandbox, ax_sandbox):
    rules = published_version(small_batches).rules
    publish(small_batches, {**rules, "gl_accounts": {**rules["gl_accounts"], "4000": "999999"}}, note="typo")
    run = run_inline(small_batches)
    assert run.status == SyncRun.Status.PARTIAL
    failed = list(SyncRecord.objects.filter(status="failed"))
    assert failed and run.records_failed == len(failed)
    for record in failed:
        assert record.error_kind in ("validation", "integrity")  # refused by AX, not retried
        assert "999999" in record.last_error  # AX's own words about the unknown main account
        assert any(line["account_code"] == "4000" for line in record.payload["lines"])
        assert record.mapping_version.number == 2
    # Everything else was posted (the bad record did not sink its batch).
    assert run.records_posted == len(paid_numbers(kashflow_sandbox.store)) - len(failed)

    fixed = publish(small_batches, {**rules, "gl_accounts": {**rules["gl_accounts"], "4000": "401100"}})
    # "With the mapping that ran" fails again, visibly...
    SyncRecord.objects.filter(pk=failed[0].pk).update(status="pending", replay_mapping="ran")
    again = run_inline(small_batches)
    assert again.records_failed == 1 and SyncRecord.objects.get(pk=failed[0].pk).status == "failed"
    # ...and with the current mapping it posts, once.
    SyncRecord.objects.filter(pk__in=[r.pk for r in failed]).update(status="pending", replay_mapping="current")
    replay = run_inline(small_batches)
    assert replay.records_posted == len(failed) and replay.records_failed == 0
    for record in SyncRecord.objects.filter(pk__in=[r.pk for r in failed]):
        assert record.status == "posted" and record.resolution == "replayed"
        assert record.mapping_version == fixed
    assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox)
    assert run_inline(small_batches).records_posted == 0


def test_records_above_the_approval_limit_are_held_until_approved(invoice_flow, kashflow_sandbox, ax_sandbox):
    rules = published_version(invoice_flow).rules
    publish(invoice_flow, {**rules, "routing": [{"when": "total_above", "amount": "2000", "action": "hold"}]})
    run = run_inline(invoice_flow)
    held = list(SyncRecord.objects.filter(status="held"))
    assert held and run.records_held == len(held)
    assert all("approval limit" in r.hold_reason for r in held)
    assert not set(ax_invoices(ax_sandbox.store)) & {r.source_id for r in held}

    assert run_inline(invoice_flow).records_posted == 0  # still held, not re-sent or re-held
    SyncRecord.objects.filter(pk__in=[r.pk for r in held]).update(status="pending", resolution="approved",
                                                                   replay_mapping="ran")
    approved = run_inline(invoice_flow)
    assert approved.records_posted == len(held) and approved.records_held == 0
    assert_each_paid_invoice_posted_once(kashflow_sandbox, ax_sandbox)


def test_what_the_mapping_had_to_cut_is_kept_on_the_record(invoice_flow, kashflow_sandbox, ax_sandbox):
    store = kashflow_sandbox.store
    template = store.get_invoice(1)
    store.create_invoice({
        "Number": 900, "CustomerCode": template["CustomerCode"], "IssuedDate": template["IssuedDate"],
        "DueDate": template["DueDate"], "Currency": {"Code": "GBP", "ExchangeRate": "1"},
        "LineItems": [{"Description": "A very long description " * 20, "Quantity": "1", "Rate": "10",
                       "VATLevel": "20", "NominalCode": 4000}],
        "PaymentLines": [{"Date": template["IssuedDate"], "Amount": "12", "Method": 1, "AccountId": 1}]})
    run_inline(invoice_flow)
    record = SyncRecord.objects.get(source_id="900", status="posted")
    assert record.warnings and "description" in record.warnings[0].lower()
    assert all(not r.warnings for r in SyncRecord.objects.exclude(source_id="900"))
