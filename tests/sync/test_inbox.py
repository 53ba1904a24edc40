"""Inbox and approvals services: state changes, audit entries, replay runs, retention, grouping."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.sync import inbox
from integrations.sync.inbox import InboxError
from integrations.sync.models import Connection, Flow, SyncRecord, SyncRun
from mapping.models import MappingSet, MappingVersion
from portal.accounts.models import AuditEntry

_seq = itertools.count(1)


@pytest.fixture
def flows(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2",
                                   password="kf-secret-1")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return (Flow.objects.create(key="invoices", name="Invoices", source=kf, target=ax),
            Flow.objects.create(key="customers", name="Customers", source=kf, target=ax))


@pytest.fixture
def flow(flows):
    return flows[0]


@pytest.fixture
def version(flow):
    mapping_set = MappingSet.objects.create(flow=flow)
    return MappingVersion.objects.create(mapping_set=mapping_set, number=1, status="published", rules={})


def record(flow, status="failed", **fields) -> SyncRecord:
    n = next(_seq)
    defaults = {"entity": "sales_invoice", "source_id": f"INV{n}", "source_version": f"v{n}",
                "idempotency_key": f"key-{n}", "payload": {"number": f"INV{n}", "gross_amount": "120.00"},
                "status": status}
    if status == "failed":
        defaults |= {"error_kind": "validation", "error_code": "mapping_missing", "attempts": 1,
                     "last_error": "Mapping: No AX main account is mapped for Kashflow nominal code 4000"}
    if status == "held":
        defaults |= {"hold_reason": "Total 120.00 GBP is above the approval limit of 100 GBP."}
    return SyncRecord.objects.create(flow=flow, **(defaults | fields))


@pytest.fixture
def operator(make_user):
    return make_user("operator")


# ---------------------------------------------------------------------------------------------- ignore

def test_ignore_skips_failed_records_and_audits_per_flow(flow, operator):
    failed, held = record(flow), record(flow, "held")
    outcome = inbox.ignore([failed.pk, held.pk], operator)
    assert outcome.changed == [failed.pk] and outcome.not_eligible == [held.pk] and outcome.runs == []
    failed.refresh_from_db()
    held.refresh_from_db()
    assert (failed.status, failed.resolution, failed.resolved_by) == ("skipped", "ignored", operator)
    assert failed.resolved_at is not None and failed.updated_at >= failed.resolved_at
    assert held.status == "held" and held.resolution == ""
    entry = AuditEntry.objects.get(action="records.ignored")
    assert entry.actor == operator and entry.target_id == str(flow.pk)
    assert entry.changes == {"count": 1, "flow": "invoices", "records": str(failed.pk)}
    assert not inbox.inbox_records().filter(pk=failed.pk).exists()


def test_unknown_ids_change_nothing(flow, operator):
    failed = record(flow)
    with pytest.raises(InboxError) as info:
        inbox.ignore([failed.pk, 999_999_999], operator)
    assert info.value.code == "unknown_ids" and info.value.ids == [999_999_999]
    failed.refresh_from_db()
    assert failed.status == "failed" and not AuditEntry.objects.exists()


@pytest.mark.parametrize("ids", [[], ["x"], [True], "", None])
def test_bad_id_lists_are_refused(flow, operator, ids):
    with pytest.raises(InboxError):
        inbox.ignore(ids if ids is not None else [], operator)


# ---------------------------------------------------------------------------------------------- replay

def test_replay_with_the_mapping_that_ran_queues_one_run_per_flow(flows, version, operator):
    invoices, customers = flows
    with_version = record(invoices, mapping_version=version)
    without_version = record(invoices)
    other_flow = record(customers)
    posted = record(invoices, "posted")
    outcome = inbox.replay([with_version.pk, without_version.pk, other_flow.pk, posted.pk], mapping="ran",
                           actor=operator)
    assert sorted(outcome.changed) == sorted([with_version.pk, without_version.pk, other_flow.pk])
    assert outcome.not_eligible == [posted.pk]
    for rec, mode in ((with_version, "ran"), (without_version, "current"), (other_flow, "current")):
        rec.refresh_from_db()
        assert (rec.status, rec.replay_mapping, rec.resolution) == ("pending", mode, "replayed")
    runs = SyncRun.objects.filter(trigger="replay").order_by("flow_id")
    assert [r.flow_id for r in runs] == sorted([invoices.pk, customers.pk])
    assert {r.pk for r in outcome.runs} == {r.pk for r in runs} and all(r.requested_by == operator for r in runs)
    entries = AuditEntry.objects.filter(action="records.replayed").order_by("target_id")
    assert len(entries) == 2
    by_flow = {e.target_id: e.changes for e in entries}
    assert by_flow[str(invoices.pk)]["count"] == 2 and by_flow[str(invoices.pk)]["mapping"] == "ran"
    assert by_flow[str(invoices.pk)]["flow"] == "invoices"
    assert inbox.ids_contain(by_flow[str(invoices.pk)]["records"], without_version.pk)
    assert "with the mapping that ran" in outcome.summary()


def test_replay_refuses_an_unknown_mapping_mode(flow, operator):
    failed = record(flow)
    with pytest.raises(InboxError) as info:
        inbox.replay([failed.pk], mapping="latest", actor=operator)
    assert info.value.field == "mapping"


def test_replay_keeps_an_approval_and_takes_held_and_pending_records(flow, operator):
    approved = record(flow, "pending", resolution="approved", replay_mapping="ran")
    held, pending = record(flow, "held"), record(flow, "pending")
    ignored = record(flow, "skipped", resolution="ignored")
    outcome = inbox.replay([approved.pk, held.pk, pending.pk, ignored.pk], mapping="current", actor=operator)
    assert sorted(outcome.changed) == sorted([approved.pk, held.pk, pending.pk])
    assert outcome.not_eligible == [ignored.pk]
    approved.refresh_from_db()
    held.refresh_from_db()
    assert (approved.resolution, approved.replay_mapping) == ("approved", "current")
    assert (held.status, held.resolution) == ("pending", "replayed")


def test_records_a_run_holds_are_left_alone(flow, operator):
    leased = record(flow, lease_run=7, lease_until=timezone.now() + timedelta(minutes=5))
    expired = record(flow, lease_run=7, lease_until=timezone.now() - timedelta(minutes=5))
    in_flight = record(flow, "pending", message_id="msg-1")  # its write left; the engine re-sends that document
    outcome = inbox.replay([leased.pk, expired.pk, in_flight.pk], mapping="current", actor=operator)
    assert outcome.busy == [leased.pk, in_flight.pk] and outcome.changed == [expired.pk]
    leased.refresh_from_db()
    assert leased.status == "failed" and "working on them" in outcome.summary()
    with pytest.raises(InboxError) as info:
        inbox.edit_and_retry(in_flight, {"a": 1}, operator)
    assert info.value.code == "busy"


def test_replaying_a_filtered_queryset(flows, operator):
    invoices, customers = flows
    mine = [record(invoices) for _ in range(3)]
    record(customers)
    outcome = inbox.replay(inbox.inbox_records(invoices), mapping="current", actor=operator)
    assert sorted(outcome.changed) == sorted(r.pk for r in mine)
    assert inbox.inbox_records().count() == 1


def _failed_rows(flow, count: int, prefix: str) -> list[int]:
    rows = [SyncRecord(flow=flow, entity="sales_invoice", source_id=f"{prefix}{i}", source_version="v1",
                       idempotency_key=f"{prefix}-{i}", payload={"n": i}, status="failed", error_kind="validation")
            for i in range(count)]
    return [r.pk for r in SyncRecord.objects.bulk_create(rows)]


def test_replay_of_5000_ids_takes_a_bounded_number_of_queries(flow, operator, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few = _failed_rows(flow, 10, "few")
    with CaptureQueriesContext(connection) as small:
        inbox.replay(few, mapping="current", actor=operator)
    ids = _failed_rows(flow, 5000, "bulk")
    # every statement is preceded by django-tenants' SET search_path, so ~half of these are that
    with django_assert_max_num_queries(24) as large:
        outcome = inbox.replay(ids, mapping="current", actor=operator)
    assert len(large.captured_queries) == len(small.captured_queries)  # independent of the number of records
    assert outcome.count == 5000 and len(outcome.runs) == 1
    assert SyncRecord.objects.filter(pk__in=ids, status="pending", replay_mapping="current").count() == 5000
    entry = AuditEntry.objects.filter(action="records.replayed").latest("at")
    assert entry.changes["count"] == 5000 and entry.changes["records"] == f"{min(ids)}-{max(ids)}"


# ---------------------------------------------------------------------------------------------- edit

def test_edit_and_retry_keeps_the_extracted_payload_and_audits_the_diff(flow, operator):
    failed = record(flow, payload={"number": "INV1", "gross_amount": "120.00", "notes": "x"})
    outcome = inbox.edit_and_retry(failed, {"number": "INV1", "gross_amount": "100.00", "currency": "GBP"}, operator)
    failed.refresh_from_db()
    assert failed.original_payload == {"number": "INV1", "gross_amount": "120.00", "notes": "x"}
    assert failed.payload["gross_amount"] == "100.00"
    assert (failed.status, failed.replay_mapping, failed.resolution) == ("pending", "current", "edited")
    assert len(outcome.runs) == 1 and outcome.runs[0].trigger == "replay"
    entry = AuditEntry.objects.get(action="record.edited")
    assert entry.target_id == str(failed.pk)
    assert entry.changes["payload"] == {"gross_amount": ["120.00", "100.00"], "notes": ["x", None],
                                        "currency": [None, "GBP"]}
    # a second edit keeps the payload as first extracted
    inbox.edit_and_retry(failed, {"number": "INV1", "gross_amount": "99.00"}, operator)
    failed.refresh_from_db()
    assert failed.original_payload["gross_amount"] == "120.00" and failed.payload["gross_amount"] == "99.00"


@pytest.mark.parametrize("payload", [[1, 2], "text", 3, None])
def test_edit_needs_a_json_object(flow, operator, payload):
    failed = record(flow)
    with pytest.raises(InboxError) as info:
        inbox.edit_and_retry(failed, payload, operator)
    assert info.value.field == "payload"
    failed.refresh_from_db()
    assert failed.status == "failed" and failed.original_payload is None


def test_a_posted_record_cannot_be_edited(flow, operator):
    posted = record(flow, "posted")
    with pytest.raises(InboxError) as info:
        inbox.edit_and_retry(posted, {"a": 1}, operator)
    assert info.value.code == "not_eligible"


# ---------------------------------------------------------------------------------------------- approvals

def test_approve_lets_held_records_through_with_the_mapping_that_held_them(flow, version, operator):
    held = record(flow, "held", mapping_version=version)
    held_no_version = record(flow, "held")
    failed = record(flow)
    outcome = inbox.approve([held.pk, held_no_version.pk, failed.pk], operator)
    assert sorted(outcome.changed) == sorted([held.pk, held_no_version.pk]) and outcome.not_eligible == [failed.pk]
    held.refresh_from_db()
    held_no_version.refresh_from_db()
    assert (held.status, held.resolution, held.replay_mapping, held.resolved_by) == (
        "pending", "approved", "ran", operator)
    assert held_no_version.replay_mapping == "current"
    assert len(outcome.runs) == 1 and outcome.runs[0].flow == flow
    assert AuditEntry.objects.get(action="records.approved").changes["count"] == 2
    assert not inbox.approval_records().exists()


def test_reject_needs_a_reason_and_keeps_it(flow, operator):
    held = record(flow, "held")
    with pytest.raises(InboxError) as info:
        inbox.reject([held.pk], operator, "  ")
    assert info.value.field == "reason"
    outcome = inbox.reject([held.pk], operator, "Duplicate of INV-77, already invoiced by hand")
    held.refresh_from_db()
    assert (held.status, held.resolution, held.resolved_by) == ("skipped", "rejected", operator)
    assert "Duplicate of INV-77" in held.last_error and held.hold_reason  # why it was held stays too
    assert outcome.runs == [] and not SyncRun.objects.exists()
    assert AuditEntry.objects.get(action="records.rejected").changes["reason"].startswith("Duplicate of INV-77")


# ---------------------------------------------------------------------------------------------- retention

def _age(rec: SyncRecord, minutes: int) -> SyncRecord:
    SyncRecord.objects.filter(pk=rec.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))
    return rec


def test_prune_keeps_the_newest_errors_and_every_unresolved_one(flows):
    invoices, customers = flows
    newest = [_age(record(invoices, "skipped", resolution="ignored"), i) for i in range(3)]
    unresolved_recent = _age(record(invoices), 3)
    resolved_old = [_age(record(invoices, "skipped", resolution=res), 500 + i)
                    for i, res in enumerate(["ignored", "auto_resolved", "rejected", "ignored"])]
    unresolved_old = [_age(record(invoices), 1000 + i) for i in range(2)]
    not_errors = [_age(record(invoices, status), 5000) for status in ("posted", "held", "pending", "skipped")]
    approved_waiting = _age(record(invoices, "pending", resolution="approved"), 5000)
    other_flow = [_age(record(customers, "skipped", resolution="ignored"), 5000) for _ in range(3)]

    # the newest 5 errors: 3 resolved, 1 unresolved, the newest old resolved one; 3 older resolved ones go
    assert inbox.prune(invoices, keep=5) == 3
    remaining = set(SyncRecord.objects.values_list("pk", flat=True))
    for kept in [*newest, unresolved_recent, resolved_old[0], *unresolved_old, *not_errors, approved_waiting,
                 *other_flow]:
        assert kept.pk in remaining
    assert not remaining & {r.pk for r in resolved_old[1:]}
    assert AuditEntry.objects.get(action="records.pruned").changes == {"deleted": 3, "keep": 5}
    assert inbox.prune(invoices, keep=5) == 0
    assert inbox.prune(invoices, keep=0) == 4  # unresolved errors stay even with nothing to keep


def test_prune_with_room_to_spare_deletes_nothing(flow):
    record(flow, "skipped", resolution="ignored")
    assert inbox.prune(flow, keep=10) == 0 and SyncRecord.objects.count() == 1


# ---------------------------------------------------------------------------------------------- reading

def test_inbox_groups_by_flow_code_and_first_line(flows):
    invoices, customers = flows
    for _ in range(3):
        record(invoices)
    record(invoices, error_code="", error_kind="auth", last_error="Kashflow: refused\nsecond line")
    record(customers)
    record(invoices, resolution="ignored")  # resolved: not in the inbox
    groups = inbox.inbox_groups()
    assert (groups[0]["flow"].key, groups[0]["code"], groups[0]["count"]) == ("invoices", "mapping_missing", 3)
    assert groups[0]["line"] == "Mapping: No AX main account is mapped for Kashflow nominal code 4000"
    assert sorted((g["flow"].key, g["code"], g["count"]) for g in groups[1:]) == [
        ("customers", "mapping_missing", 1), ("invoices", "auth", 1)]
    auth = next(g for g in groups if g["code"] == "auth")
    assert auth["line"] == "Kashflow: refused"
    assert [g["count"] for g in inbox.inbox_groups(flow=customers)] == [1]
    group = inbox.in_group(inbox.inbox_records(), code="auth", line="Kashflow: refused")
    assert group.count() == 1


def test_record_history_collects_bulk_and_own_entries(flow, operator):
    first, second = record(flow), record(flow)
    inbox.replay([first.pk], mapping="current", actor=operator)
    inbox.edit_and_retry(first, {"number": "X"}, operator)
    history = inbox.record_history(first)
    assert [e.action for e in history] == ["record.edited", "records.replayed"]
    assert inbox.record_history(second) == []


def test_attention_counts(flow):
    record(flow)
    record(flow)
    record(flow, "held")
    record(flow, resolution="ignored", status="skipped")
    assert inbox.attention_counts() == {"inbox": 2, "approvals": 1}


def test_compact_ids_round_trip():
    ids = [1, 2, 3, 7, 9, 10, 15]
    compact = inbox.compact_ids(ids)
    assert compact == "1-3,7,9-10,15"
    assert all(inbox.ids_contain(compact, pk) for pk in ids)
    assert not any(inbox.ids_contain(compact, pk) for pk in (4, 8, 11, 16))


def test_payload_summary_picks_amount_and_party():
    summary = inbox.payload_summary({"gross_amount": "1200.00", "currency": "GBP", "customer_code": "ACME",
                                     "customer_name": "Acme Ltd", "number": "INV9", "issue_date": "2024-05-01"})
    assert summary == {"amount": "1200.00", "currency": "GBP", "party": "Acme Ltd (ACME)", "number": "INV9",
                       "date": "2024-05-01"}
    assert inbox.payload_summary(["x"]) == {}
