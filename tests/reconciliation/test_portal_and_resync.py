"""Reconciliation pages, API and re-sync without sandboxes: runs and mismatches made directly in the database."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from django.test import Client

from integrations.sync.models import Binding, Connection, Flow, FlowCursor, SourceState, SyncRecord
from portal.accounts.models import AuditEntry
from reconciliation import services
from reconciliation.models import Mismatch, ReconciliationRun
from tests.conftest import TEST_PASSWORD

_seq = itertools.count(1)


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices to AX", source=kf, target=ax)


def record(flow, source_id, status, **fields) -> SyncRecord:
    n = next(_seq)
    return SyncRecord.objects.create(flow=flow, entity="sales_invoice", source_id=source_id,
                                     source_version=f"v{n}", idempotency_key=f"rec-{n}",
                                     payload={"number": source_id}, status=status, **fields)


def finished_run(flow, *mismatches) -> ReconciliationRun:
    run = ReconciliationRun.objects.create(flow=flow, period_start=date(2026, 1, 1), period_end=date(2026, 1, 31),
                                           status="mismatched" if mismatches else "matched",
                                           mismatch_count=len(mismatches),
                                           summary={"matched": 3, "kashflow": {"GBP": {"count": 4, "amount": "400.00",
                                                                                       "open": "0.00"}}})
    for reason, source_id in mismatches:
        Mismatch.objects.create(run=run, reason=reason, source_id=source_id, target_id="5637144576",
                                kashflow_value="120.00 GBP", detail=f"{reason} {source_id}",
                                resyncable=reason == "missing_in_erp")
    return run


def signed_in(role, make_user) -> Client:
    client = Client(HTTP_HOST="alpha.localhost")
    user = make_user(role)
    assert client.login(username=user.email, password=TEST_PASSWORD)
    client.user = user
    return client


def test_resync_replays_inbox_records_posts_a_fresh_version_and_rescans_the_rest(flow, make_user):
    failed = record(flow, "101", "failed", error_kind="validation", last_error="AX refused it")
    posted = record(flow, "102", "posted", target_id="5637144576")
    Binding.objects.create(entity="sales_invoice", source_connection=flow.source, source_id="102",
                           connection=flow.target, external_id="5637144576", payload_hash="x")
    SourceState.objects.create(flow=flow, stream="invoices", source_id="103", digest="d", number=103)
    FlowCursor.objects.create(flow=flow, stream="invoices", value={"watermark": 200, "last_sweep": "2026-01-01"})
    run = finished_run(flow, ("missing_in_erp", "101"), ("missing_in_erp", "102"), ("missing_in_erp", "103"),
                       ("different_amount", "104"))
    operator = make_user("operator")

    outcome = services.resync(run, list(run.mismatches.values_list("pk", flat=True)), actor=operator)

    assert outcome.replayed == ["101", "102"] and outcome.rescanned == ["103"]
    assert outcome.not_eligible == [run.mismatches.get(source_id="104").pk]
    failed.refresh_from_db()
    assert (failed.status, failed.replay_mapping) == ("pending", "current")
    posted.refresh_from_db()
    assert posted.status == "posted"  # history stays; a fresh version goes out under a new key
    fresh = SyncRecord.objects.get(source_id="102", status="pending")
    assert fresh.idempotency_key != posted.idempotency_key and fresh.payload == posted.payload
    assert Binding.objects.filter(source_id="102").exists()  # replaced by the new post, not before
    assert not SourceState.objects.filter(source_id="103").exists()
    assert FlowCursor.objects.get(flow=flow).value == {"watermark": 200, "last_sweep": None}
    assert set(run.mismatches.exclude(resynced_at=None).values_list("source_id", flat=True)) == {"101", "102", "103"}
    entry = AuditEntry.objects.get(action="reconciliation.resynced")
    assert entry.actor == operator and entry.changes["replayed"] == "101,102"
    assert AuditEntry.objects.filter(action="records.replayed").exists()

    # Chosen again: the records are queued already (pending) -> replayed again, no second fresh version.
    again = services.resync(run, [run.mismatches.get(source_id="102").pk], actor=operator)
    assert again.replayed == ["102"]
    assert SyncRecord.objects.filter(source_id="102", status="pending").count() == 1


def test_resync_refuses_ids_of_another_run(flow):
    run = finished_run(flow, ("missing_in_erp", "101"))
    other = finished_run(flow, ("missing_in_erp", "102"))
    with pytest.raises(services.ReconciliationError, match="Unknown mismatch"):
        services.resync(run, [other.mismatches.get().pk], actor=None)


def test_a_busy_record_is_not_touched(flow):
    record(flow, "101", "pending", message_id="m-1")
    run = finished_run(flow, ("missing_in_erp", "101"))
    outcome = services.resync(run, [run.mismatches.get().pk], actor=None)
    assert outcome.busy == ["101"] and not outcome.replayed
    assert SyncRecord.objects.filter(source_id="101").count() == 1


def test_periods_are_checked(flow):
    with pytest.raises(services.ReconciliationError, match="ends before"):
        services.request_run(flow=flow, start=date(2026, 2, 1), end=date(2026, 1, 1))
    with pytest.raises(services.ReconciliationError, match="at most"):
        services.request_run(flow=flow, start=date(2024, 1, 1), end=date(2026, 1, 1))
    assert not ReconciliationRun.objects.exists()


def test_pages_dashboard_and_roles(flow, make_user):
    green = finished_run(flow)
    red = finished_run(flow, ("missing_in_erp", "101"), ("different_amount", "104"))
    viewer = signed_in("viewer", make_user)
    page = viewer.get("/").content.decode()
    assert 'data-flow="kashflow_invoices_to_ax" data-status="mismatched"' in page
    assert f"/reconciliation/{red.pk}/" in page
    listing = viewer.get("/reconciliation/").content.decode()
    assert f"/reconciliation/{green.pk}/" in listing and "Reconcile now" not in listing
    detail = viewer.get(f"/reconciliation/{red.pk}/").content.decode()
    assert "missing_in_erp 101" in detail and 'name="ids"' not in detail
    assert viewer.post(f"/reconciliation/{red.pk}/resync/", {"ids": [1]}).status_code == 403
    assert viewer.post("/reconciliation/run/", {"flow": flow.pk}).status_code == 403

    operator = signed_in("operator", make_user)
    detail = operator.get(f"/reconciliation/{red.pk}/").content.decode()
    missing = red.mismatches.get(reason="missing_in_erp")
    assert f'name="ids" value="{missing.pk}"' in detail
    assert f'value="{red.mismatches.get(reason="different_amount").pk}"' not in detail
    response = operator.post(f"/reconciliation/{red.pk}/resync/", {"ids": [missing.pk]})
    assert response.status_code == 302
    missing.refresh_from_db()
    assert missing.resync_outcome == "to be fetched again from Kashflow"
    bad = operator.post("/reconciliation/run/", {"flow": flow.pk, "start": "2026-02-01", "end": "2026-01-01"},
                        follow=True)
    assert "ends before" in bad.content.decode()


def test_api_lists_runs_read_only(flow, make_user):
    red = finished_run(flow, ("missing_in_erp", "101"))
    client = signed_in("viewer", make_user)
    data = client.get("/api/v1/reconciliations/?flow=kashflow_invoices_to_ax").json()
    assert data["count"] == 1 and data["results"][0]["status"] == "mismatched"
    assert data["results"][0]["flow"] == "kashflow_invoices_to_ax"
    detail = client.get(f"/api/v1/reconciliations/{red.pk}/").json()
    assert [(m["reason"], m["source_id"], m["resyncable"]) for m in detail["mismatches"]] == [
        ("missing_in_erp", "101", True)]
    assert client.get("/api/v1/reconciliations/?flow=nope").status_code == 400
    assert client.get("/api/v1/reconciliations/?status=odd").status_code == 400
    assert client.post("/api/v1/reconciliations/", {}).status_code in (403, 405)
