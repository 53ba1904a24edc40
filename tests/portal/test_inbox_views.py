"""Error inbox, record page and approvals in the portal: who can see, who can act, what each POST does."""

from __future__ import annotations

import itertools
import json

import pytest
from django.test import Client

from integrations.sync.models import Connection, Flow, SyncRecord, SyncRun
from portal.accounts.models import AuditEntry
from tests.conftest import TEST_PASSWORD

_seq = itertools.count(1)


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2",
                                   password="kf-secret-1")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key="invoices", name="Invoices", source=kf, target=ax)


def record(flow, status="failed", **fields) -> SyncRecord:
    n = next(_seq)
    defaults = {"entity": "sales_invoice", "source_id": f"INV{n}", "source_version": f"v{n}",
                "idempotency_key": f"view-{n}",
                "payload": {"number": f"INV{n}", "gross_amount": "1200.00", "currency": "GBP",
                            "customer_code": "ACME", "customer_name": "Acme Ltd"},
                "status": status}
    if status == "failed":
        defaults |= {"error_kind": "validation", "error_code": "mapping_missing", "attempts": 2,
                     "last_error": "Mapping: No AX main account is mapped for Kashflow nominal code 4000",
                     "suggested_fix": "Map nominal code 4000 to an AX main account.",
                     "target_payload": {"CustInvoiceTable": [{"OrderAccount": "ACME"}]}}
    if status == "held":
        defaults |= {"hold_reason": "Total 1200.00 GBP is above the approval limit of 1000 GBP."}
    return SyncRecord.objects.create(flow=flow, **(defaults | fields))


def signed_in(role, make_user, *, csrf=False) -> Client:
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=csrf)
    user = make_user(role)
    assert client.login(username=user.email, password=TEST_PASSWORD)
    client.user = user
    return client


# ---------------------------------------------------------------------------------------------- seeing

def test_the_inbox_needs_a_login(tenant_client):
    response = tenant_client.get("/inbox/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_viewer_sees_the_inbox_but_no_actions(make_user, flow):
    failed = record(flow)
    record(flow, "posted")
    client = signed_in("viewer", make_user)
    page = client.get("/inbox/").content.decode()
    assert failed.source_id in page and "nominal code 4000" in page
    assert 'name="ids"' not in page and "Replay with the current mapping" not in page
    assert "Inbox (1)" in page and "Approvals (0)" in page  # the nav counts
    detail = client.get(f"/inbox/{failed.pk}/").content.decode()
    assert "Map nominal code 4000" in detail and "OrderAccount" in detail and "Edit and retry" not in detail


def test_viewers_cannot_act(make_user, flow):
    failed, held = record(flow), record(flow, "held")
    client = signed_in("viewer", make_user)
    assert client.post("/inbox/actions/", {"ids": [failed.pk], "action": "ignore"}).status_code == 403
    assert client.post(f"/inbox/{failed.pk}/edit/", {"payload": "{}"}).status_code == 403
    assert client.post("/approvals/actions/", {"ids": [held.pk], "action": "approve"}).status_code == 403
    failed.refresh_from_db()
    held.refresh_from_db()
    assert failed.status == "failed" and held.status == "held"


def test_filters_search_and_paging(make_user, flow):
    records = [record(flow) for _ in range(55)]
    auth = record(flow, error_kind="auth", error_code="", last_error="Kashflow: refused the password")
    client = signed_in("operator", make_user)
    first = client.get("/inbox/").content.decode()
    assert "Page 1 of 2" in first and auth.source_id in first  # newest first
    assert client.get("/inbox/?page=2").status_code == 200
    only_auth = client.get("/inbox/?kind=auth").content.decode()
    assert auth.source_id in only_auth and f">sales_invoice {records[0].source_id}<" not in only_auth
    searched = client.get(f"/inbox/?q={records[3].source_id}").content.decode()
    assert f">sales_invoice {records[3].source_id}<" in searched and auth.source_id not in searched
    assert client.get("/inbox/?flow=abc").status_code == 200  # junk filters are ignored, not errors


def test_grouped_view_and_acting_on_a_group(make_user, flow):
    group = [record(flow) for _ in range(3)]
    other = record(flow, error_code="Unbalanced", last_error="Dynamics AX: the journal does not balance")
    client = signed_in("operator", make_user)
    page = client.get("/inbox/?view=groups").content.decode()
    assert "mapping_missing" in page and "Unbalanced" in page and ">3</a>" in page
    response = client.post("/inbox/actions/", {
        "scope": "all", "flow": flow.pk, "code": "mapping_missing",
        "line": "Mapping: No AX main account is mapped for Kashflow nominal code 4000",
        "action": "replay_current", "next": "/inbox/?view=groups"})
    assert response.status_code == 302 and response["Location"] == "/inbox/?view=groups"
    assert set(SyncRecord.objects.filter(status="pending").values_list("pk", flat=True)) == {r.pk for r in group}
    other.refresh_from_db()
    assert other.status == "failed"
    assert SyncRun.objects.filter(trigger="replay", flow=flow).count() == 1


# ---------------------------------------------------------------------------------------------- acting

def test_bulk_replay_and_ignore(make_user, flow):
    a, b, c = record(flow), record(flow), record(flow)
    client = signed_in("operator", make_user)
    response = client.post("/inbox/actions/", {"ids": [a.pk, b.pk], "action": "replay_ran"}, follow=True)
    assert "2 records queued for replay with the mapping that ran" in response.content.decode()
    a.refresh_from_db()
    assert (a.status, a.replay_mapping) == ("pending", "current")  # no recorded version: current
    client.post("/inbox/actions/", {"ids": [c.pk], "action": "ignore"})
    c.refresh_from_db()
    assert (c.status, c.resolution, c.resolved_by) == ("skipped", "ignored", client.user)
    assert AuditEntry.objects.filter(action__in=["records.replayed", "records.ignored"]).count() == 2


def test_bulk_action_without_a_selection_says_so(make_user, flow):
    record(flow)
    client = signed_in("operator", make_user)
    response = client.post("/inbox/actions/", {"action": "ignore"}, follow=True)
    assert "Tick at least one record first." in response.content.decode()
    response = client.post("/inbox/actions/", {"ids": ["999999999"], "action": "ignore"}, follow=True)
    assert "Unknown record id: 999999999" in response.content.decode()


def test_actions_are_post_only(make_user, flow):
    client = signed_in("operator", make_user)
    assert client.get("/inbox/actions/").status_code == 405
    assert client.get("/approvals/actions/").status_code == 405


def test_posts_without_the_csrf_token_are_refused(make_user, flow):
    failed, held = record(flow), record(flow, "held")
    client = signed_in("operator", make_user, csrf=True)
    assert client.post("/inbox/actions/", {"ids": [failed.pk], "action": "ignore"}).status_code == 403
    assert client.post(f"/inbox/{failed.pk}/edit/", {"payload": "{}"}).status_code == 403
    assert client.post("/approvals/actions/", {"ids": [held.pk], "action": "approve"}).status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"
    # the page's own form carries the token and works
    page = client.get(f"/inbox/{failed.pk}/")
    token = page.cookies["csrftoken"].value
    response = client.post("/inbox/actions/", {"ids": [failed.pk], "action": "ignore", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "skipped"


def test_edit_with_invalid_json_keeps_the_text_and_the_record(make_user, flow):
    failed = record(flow)
    before = (failed.payload, failed.status, failed.updated_at)
    client = signed_in("operator", make_user)
    typed = '{"number": "INV1", "gross_amount": 100.00,,}'
    response = client.post(f"/inbox/{failed.pk}/edit/", {"payload": typed})
    assert response.status_code == 400
    page = response.content.decode()
    assert "That is not valid JSON" in page and "line 1" in page
    assert '"gross_amount": 100.00,,}' in page.replace("&quot;", '"')  # what was typed is still there
    failed.refresh_from_db()
    assert (failed.payload, failed.status, failed.updated_at) == before
    assert not AuditEntry.objects.exists() and not SyncRun.objects.exists()


def test_edit_with_a_json_array_is_refused_inline(make_user, flow):
    failed = record(flow)
    client = signed_in("operator", make_user)
    response = client.post(f"/inbox/{failed.pk}/edit/", {"payload": "[1, 2]"})
    assert response.status_code == 400 and "must be a JSON object" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_edit_and_retry(make_user, flow):
    failed = record(flow)
    client = signed_in("operator", make_user)
    payload = dict(failed.payload, gross_amount="1000.00")
    response = client.post(f"/inbox/{failed.pk}/edit/", {"payload": json.dumps(payload)})
    assert response.status_code == 302 and response["Location"] == f"/inbox/{failed.pk}/"
    failed.refresh_from_db()
    assert failed.payload["gross_amount"] == "1000.00" and failed.original_payload["gross_amount"] == "1200.00"
    assert (failed.status, failed.replay_mapping) == ("pending", "current")
    page = client.get(f"/inbox/{failed.pk}/").content.decode()
    assert "record.edited" in page and "As extracted" in page  # history and the kept original


def test_record_page_history_shows_bulk_actions(make_user, flow):
    failed = record(flow)
    client = signed_in("operator", make_user)
    client.post("/inbox/actions/", {"ids": [failed.pk], "action": "replay_current", "next": f"/inbox/{failed.pk}/"})
    page = client.get(f"/inbox/{failed.pk}/").content.decode()
    assert "records.replayed" in page and "operator.person@alpha.test" in page


def test_next_must_stay_on_the_site(make_user, flow):
    failed = record(flow)
    client = signed_in("operator", make_user)
    response = client.post("/inbox/actions/", {"ids": [failed.pk], "action": "ignore",
                                               "next": "https://evil.example/"})
    assert response["Location"] == "/inbox/"


# ---------------------------------------------------------------------------------------------- approvals

def test_approvals_queue_shows_reason_amount_and_party(make_user, flow):
    held = record(flow, "held")
    client = signed_in("viewer", make_user)
    page = client.get("/approvals/").content.decode()
    assert "above the approval limit" in page and "1200.00 GBP" in page and "Acme Ltd (ACME)" in page
    assert held.payload["number"] in page and "Approvals (1)" in page


def test_approve_and_reject_in_bulk(make_user, flow):
    a, b, c = record(flow, "held"), record(flow, "held"), record(flow, "held")
    client = signed_in("operator", make_user)
    response = client.post("/approvals/actions/", {"ids": [a.pk, b.pk], "action": "approve"}, follow=True)
    assert "2 records approved" in response.content.decode()
    a.refresh_from_db()
    assert (a.status, a.resolution, a.replay_mapping) == ("pending", "approved", "current")
    assert SyncRun.objects.filter(trigger="replay").count() == 1
    response = client.post("/approvals/actions/", {"ids": [c.pk], "action": "reject"}, follow=True)
    assert "Say why" in response.content.decode()
    c.refresh_from_db()
    assert c.status == "held"
    client.post("/approvals/actions/", {"ids": [c.pk], "action": "reject", "reason": "Customer disputes it"})
    c.refresh_from_db()
    assert (c.status, c.resolution) == ("skipped", "rejected") and "Customer disputes it" in c.last_error


def test_approve_from_the_record_page(make_user, flow):
    held = record(flow, "held")
    client = signed_in("operator", make_user)
    page = client.get(f"/inbox/{held.pk}/").content.decode()
    assert 'value="approve"' in page and 'value="reject"' in page and "Held for approval" in page
    response = client.post("/approvals/actions/", {"ids": [held.pk], "action": "approve",
                                                   "next": f"/inbox/{held.pk}/"})
    assert response["Location"] == f"/inbox/{held.pk}/"
    held.refresh_from_db()
    assert held.resolution == "approved"


def test_grouped_view_of_one_code(make_user, flow):
    record(flow)
    record(flow, error_code="Unbalanced", last_error="Dynamics AX: the journal does not balance")
    client = signed_in("viewer", make_user)
    response = client.get("/inbox/?view=groups&code=Unbalanced")
    assert response.status_code == 200
    page = response.content.decode()
    assert "does not balance" in page and "nominal code 4000" not in page
