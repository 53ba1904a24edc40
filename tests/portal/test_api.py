"""The partner REST API: reads for viewers, inbox actions for operators, clear 400s, no secrets."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from integrations.sync.models import Connection, Flow, SyncRecord, SyncRun
from portal.accounts.models import AuditEntry
from tests.conftest import TEST_PASSWORD

_seq = itertools.count(1)


@pytest.fixture
def flows(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2",
                                   username="kf-user", password="kf-secret-password", memorable_word="kf-memorable")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax",
                                   username="svc-ax", password="ax-secret-password")
    return (Flow.objects.create(key="invoices", name="Invoices", source=kf, target=ax),
            Flow.objects.create(key="customers", name="Customers", source=kf, target=ax))


@pytest.fixture
def flow(flows):
    return flows[0]


def record(flow, status="failed", **fields) -> SyncRecord:
    n = next(_seq)
    defaults = {"entity": "sales_invoice", "source_id": f"INV{n}", "source_version": f"v{n}",
                "idempotency_key": f"api-{n}", "payload": {"number": f"INV{n}", "gross_amount": "10.00"},
                "status": status}
    if status == "failed":
        defaults |= {"error_kind": "validation", "error_code": "mapping_missing", "last_error": "No AX main account",
                     "suggested_fix": "Map it."}
    if status == "held":
        defaults |= {"hold_reason": "Above the limit."}
    return SyncRecord.objects.create(flow=flow, **(defaults | fields))


def api_client(role, make_user, *, csrf=False) -> Client:
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=csrf)
    user = make_user(role)
    assert client.login(username=user.email, password=TEST_PASSWORD)
    client.user = user
    return client


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


# ---------------------------------------------------------------------------------------------- access

def test_the_api_needs_a_session_or_a_key(tenant_client, flow):
    answer = tenant_client.get("/api/v1/flows/")
    assert answer.status_code == 401 and answer["WWW-Authenticate"] == "Bearer"
    assert tenant_client.post("/api/v1/records/ignore/", {"ids": [1]}, content_type="application/json"
                              ).status_code == 401


def test_viewers_read_but_cannot_act(make_user, flow):
    failed = record(flow)
    client = api_client("viewer", make_user)
    assert client.get("/api/v1/records/").status_code == 200
    for path, body in [("/api/v1/records/ignore/", {"ids": [failed.pk]}),
                       ("/api/v1/records/replay/", {"ids": [failed.pk], "mapping": "current"}),
                       ("/api/v1/records/approve/", {"ids": [failed.pk]}),
                       ("/api/v1/records/reject/", {"ids": [failed.pk], "reason": "x"}),
                       (f"/api/v1/records/{failed.pk}/edit/", {"payload": {}})]:
        response = post(client, path, body)
        assert response.status_code == 403, path
        assert "Operator" in response.json()["detail"]
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_session_writes_need_the_csrf_token(make_user, flow):
    failed = record(flow)
    client = api_client("operator", make_user, csrf=True)
    response = post(client, "/api/v1/records/ignore/", {"ids": [failed.pk]})
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert client.get("/api/v1/records/").status_code == 200  # reads need none


def test_flows_never_show_connection_secrets(make_user, flows):
    record(flows[0])
    record(flows[0], "held")
    client = api_client("viewer", make_user)
    response = client.get("/api/v1/flows/")
    body = response.content.decode()
    for secret in ("kf-secret-password", "kf-memorable", "ax-secret-password", "svc-ax", "kf-user", "password"):
        assert secret not in body
    invoices = next(f for f in response.json()["results"] if f["key"] == "invoices")
    assert invoices["inbox"] == 1 and invoices["approvals"] == 1
    assert invoices["source"] == {"id": flows[0].source_id, "name": "Kashflow", "system": "kashflow",
                                  "status": "untested", "is_sandbox": False}


# ---------------------------------------------------------------------------------------------- reads

def test_runs_list_filters_and_detail(make_user, flows):
    invoices, customers = flows
    done = SyncRun.objects.create(flow=invoices, status="succeeded", records_posted=3)
    SyncRun.objects.create(flow=invoices, status="failed")
    SyncRun.objects.create(flow=customers, status="succeeded")
    client = api_client("viewer", make_user)
    assert client.get("/api/v1/runs/").json()["count"] == 3
    by_key = client.get("/api/v1/runs/?flow=invoices&status=succeeded").json()
    assert [r["id"] for r in by_key["results"]] == [done.pk]
    assert client.get(f"/api/v1/runs/?flow={customers.pk}").json()["count"] == 1
    detail = client.get(f"/api/v1/runs/{done.pk}/").json()
    assert detail["records_posted"] == 3 and detail["flow_key"] == "invoices"
    assert client.get("/api/v1/runs/999999/").status_code == 404


@pytest.mark.parametrize(("query", "field"), [("status=done", "status"), ("flow=nope", "flow"),
                                              ("flow=424242", "flow")])
def test_bad_filters_are_400(make_user, flow, query, field):
    client = api_client("viewer", make_user)
    response = client.get(f"/api/v1/runs/?{query}")
    assert response.status_code == 400 and field in response.json()


def test_records_list_filters_and_detail(make_user, flows):
    invoices, customers = flows
    failed = record(invoices, source_id="INV-42")
    record(invoices, "posted")
    record(customers)
    record(invoices, "held")
    client = api_client("viewer", make_user)
    assert client.get("/api/v1/records/").json()["count"] == 4
    assert client.get("/api/v1/records/?status=failed&flow=invoices").json()["count"] == 1
    assert client.get("/api/v1/records/?inbox=true").json()["count"] == 2
    assert client.get("/api/v1/records/?approvals=true").json()["count"] == 1
    found = client.get("/api/v1/records/?source_id=INV-42").json()["results"]
    assert [r["id"] for r in found] == [failed.pk] and "payload" not in found[0]
    assert client.get("/api/v1/records/?status=broken").status_code == 400
    detail = client.get(f"/api/v1/records/{failed.pk}/").json()
    assert detail["payload"] == failed.payload and detail["suggested_fix"] == "Map it."
    assert detail["edited"] is False and detail["error_code"] == "mapping_missing"


def test_page_size_is_capped(make_user, flow):
    for _ in range(3):
        record(flow)
    client = api_client("viewer", make_user)
    page = client.get("/api/v1/records/?page_size=2").json()
    assert len(page["results"]) == 2 and page["count"] == 3 and page["next"]


# ---------------------------------------------------------------------------------------------- actions

def test_replay(make_user, flows):
    invoices, customers = flows
    a, b = record(invoices), record(customers)
    posted = record(invoices, "posted")
    client = api_client("operator", make_user)
    response = post(client, "/api/v1/records/replay/", {"ids": [a.pk, b.pk, posted.pk], "mapping": "current"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["action"] == "replay" and body["mapping"] == "current" and body["changed"] == 2
    assert sorted(body["changed_ids"]) == sorted([a.pk, b.pk]) and body["not_eligible"] == [posted.pk]
    assert len(body["runs"]) == 2 and set(SyncRun.objects.values_list("pk", flat=True)) == set(body["runs"])
    a.refresh_from_db()
    assert (a.status, a.replay_mapping) == ("pending", "current")
    assert AuditEntry.objects.filter(action="records.replayed", actor=client.user).count() == 2


@pytest.mark.parametrize(("body", "field"), [
    ({"ids": [1], "mapping": "latest"}, "mapping"),
    ({"ids": [1]}, "mapping"),
    ({"ids": [], "mapping": "ran"}, "ids"),
    ({"ids": "1,2", "mapping": "ran"}, "ids"),
    ({"ids": ["a"], "mapping": "ran"}, "ids"),
    ({"mapping": "ran"}, "ids"),
])
def test_replay_input_errors_are_400(make_user, flow, body, field):
    client = api_client("operator", make_user)
    response = post(client, "/api/v1/records/replay/", body)
    assert response.status_code == 400 and field in response.json()


def test_unknown_ids_are_400_and_change_nothing(make_user, flow):
    failed = record(flow)
    client = api_client("operator", make_user)
    response = post(client, "/api/v1/records/ignore/", {"ids": [failed.pk, 987654321]})
    assert response.status_code == 400
    assert response.json()["unknown_ids"] == [987654321] and "987654321" in response.json()["ids"][0]
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_a_non_object_body_is_400(make_user, flow):
    client = api_client("operator", make_user)
    response = post(client, "/api/v1/records/ignore/", [1, 2])
    assert response.status_code == 400


def test_ignore(make_user, flow):
    failed = record(flow)
    client = api_client("operator", make_user)
    body = post(client, "/api/v1/records/ignore/", {"ids": [failed.pk]}).json()
    assert body["changed"] == 1 and body["runs"] == []
    failed.refresh_from_db()
    assert (failed.status, failed.resolution) == ("skipped", "ignored")


def test_approve_and_reject(make_user, flow):
    a, b = record(flow, "held"), record(flow, "held")
    client = api_client("operator", make_user)
    approved = post(client, "/api/v1/records/approve/", {"ids": [a.pk]}).json()
    assert approved["changed_ids"] == [a.pk] and len(approved["runs"]) == 1
    assert post(client, "/api/v1/records/reject/", {"ids": [b.pk]}).status_code == 400  # reason is required
    assert post(client, "/api/v1/records/reject/", {"ids": [b.pk], "reason": "   "}).status_code == 400
    rejected = post(client, "/api/v1/records/reject/", {"ids": [b.pk], "reason": "Not ours"}).json()
    assert rejected["changed_ids"] == [b.pk]
    b.refresh_from_db()
    assert (b.status, b.resolution) == ("skipped", "rejected") and "Not ours" in b.last_error


def test_edit(make_user, flow):
    failed = record(flow)
    client = api_client("operator", make_user)
    response = post(client, f"/api/v1/records/{failed.pk}/edit/", {"payload": {"number": "X", "gross_amount": "9"}})
    assert response.status_code == 200 and response.json()["action"] == "edit"
    failed.refresh_from_db()
    assert failed.payload == {"number": "X", "gross_amount": "9"} and failed.original_payload["gross_amount"] == "10.00"
    detail = client.get(f"/api/v1/records/{failed.pk}/").json()
    assert detail["edited"] is True and detail["original_payload"]["gross_amount"] == "10.00"


@pytest.mark.parametrize("payload", [[1, 2], "text", 5, None])
def test_edit_needs_an_object(make_user, flow, payload):
    failed = record(flow)
    client = api_client("operator", make_user)
    response = post(client, f"/api/v1/records/{failed.pk}/edit/", {"payload": payload})
    assert response.status_code == 400 and "payload" in response.json()
    failed.refresh_from_db()
    assert failed.status == "failed" and failed.original_payload is None


def test_edit_of_a_posted_record_is_a_conflict_and_unknown_is_404(make_user, flow):
    posted = record(flow, "posted")
    client = api_client("operator", make_user)
    response = post(client, f"/api/v1/records/{posted.pk}/edit/", {"payload": {"a": 1}})
    assert response.status_code == 409 and response.json()["code"] == "not_eligible"
    assert post(client, "/api/v1/records/999999/edit/", {"payload": {"a": 1}}).status_code == 404


def test_openapi_schema(tenant_client):
    response = tenant_client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/records/replay/" in paths and "/api/v1/records/{id}/edit/" in paths
