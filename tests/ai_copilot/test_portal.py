"""The co-pilot in the portal and the partner API: suggestions inline in the mapping editor (accept, reject,
accept all above), the co-pilot page (settings, models, flagged records, dismiss), fix suggestions in the inbox
with one-click apply and replay, and the API endpoints."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from ai_copilot import anomaly_service
from ai_copilot.models import AnomalyLabel, CopilotSettings, GLFeedback
from integrations.sync.models import SyncRecord
from mapping import versions
from portal.accounts.models import AuditEntry
from portal.api.auth import issue_key


@pytest.fixture
def browser(make_user):
    def login(role):
        client = Client(HTTP_HOST="alpha.localhost")
        client.force_login(make_user(role, f"{role}.web@alpha.test"))
        return client
    return login


@pytest.fixture
def api(make_user):
    def client(role):
        user = make_user(role, f"{role}.api@alpha.test")
        _key, text = issue_key(user, f"{role} key")
        return Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {text}")
    return client


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def failed_record(flow, nominal="7502", **fields):
    n = SyncRecord.objects.count() + 1
    values = {"flow": flow, "entity": "sales_invoice", "source_id": str(900 + n), "source_version": "v1",
              "idempotency_key": f"copilot-{n}", "payload": {"number": str(900 + n)}, "status": "failed",
              "error_kind": "configuration", "error_code": "mapping_missing",
              "last_error": f"No AX main account is mapped for Kashflow nominal code {nominal}."}
    return SyncRecord.objects.create(**(values | fields))


# ---------------------------------------------------------------------------------------------- editor


def test_the_editor_shows_suggestions_for_unmapped_nominals_with_accept_and_reject(gl_flow, browser):
    page = browser("admin").get(f"/flows/{gl_flow.key}/mapping/").content.decode()
    assert 'id="copilot-suggestions"' in page
    assert 'data-nominal="7502"' in page and 'data-target="601600"' in page and "Telephone and Internet" in page
    assert "Accept all above" in page and ">Reject<" in page
    assert 'data-nominal="4000"' not in page  # mapped already


def test_accept_and_reject_from_the_editor(gl_flow, browser):
    client = browser("admin")
    response = client.post(f"/copilot/flows/{gl_flow.key}/accept/", {"source": "7502", "target": "601600",
                                                                      "score": "0.93"})
    assert response.status_code == 302 and response.url.endswith(f"/flows/{gl_flow.key}/mapping/")
    assert versions.draft_version(gl_flow).rules["gl_accounts"]["7502"] == "601600"
    client.post(f"/copilot/flows/{gl_flow.key}/reject/", {"source": "7901", "target": "606300"})
    assert GLFeedback.objects.filter(verdict="rejected", source_code="7901").exists()
    page = client.get(f"/flows/{gl_flow.key}/mapping/").content.decode()
    assert 'data-nominal="7502"' not in page  # no longer unmapped in the draft


def test_accept_all_above_from_the_editor_and_viewers_cannot(gl_flow, browser):
    assert browser("viewer").post(f"/copilot/flows/{gl_flow.key}/accept-above/", {"threshold": "0.1"}
                                  ).status_code == 403
    browser("admin").post(f"/copilot/flows/{gl_flow.key}/accept-above/", {"threshold": "0.1"})
    draft = versions.draft_version(gl_flow).rules["gl_accounts"]
    assert {"4009", "7502", "8001"} <= set(draft)


# ---------------------------------------------------------------------------------------------- co-pilot page


def test_the_copilot_page_settings_and_dismiss(gl_flow, browser):
    record = failed_record(gl_flow, status="held", error_code="", last_error="", anomaly_score=0.97,
                           anomaly_flagged=True, anomaly_reasons=[{"code": "duplicate", "text": "Same as INV 12",
                                                                   "key": "C1"}])
    admin = browser("admin")
    page = admin.get("/copilot/").content.decode()
    assert "Same as INV 12" in page and "Co-pilot" in page
    response = admin.post("/copilot/settings/", {"form": "settings", "anomaly_mode": "hold", "alert_rate": "0.5%",
                                                 "approval_limit": "2500", "gl_auto_accept": "0.95",
                                                 "share_prior": "1"})
    assert response.status_code == 302
    options = CopilotSettings.current()
    assert (options.anomaly_mode, str(options.alert_rate), str(options.approval_limit), options.gl_auto_accept,
            options.share_prior) == ("hold", "0.0050", "2500.00", 0.95, True)
    assert AuditEntry.objects.filter(action="copilot.settings").exists()
    bad = admin.post("/copilot/settings/", {"form": "settings", "alert_rate": "7"}, follow=True)
    assert "Alert rate" in bad.content.decode() and str(CopilotSettings.current().alert_rate) == "0.0050"
    admin.post(f"/copilot/records/{record.pk}/dismiss/")
    record.refresh_from_db()
    assert not record.anomaly_flagged
    assert AnomalyLabel.objects.filter(record=record, verdict="dismissed", reason_code="duplicate", key="C1").exists()
    assert browser("viewer").post("/copilot/settings/", {"anomaly_mode": "off"}).status_code == 403


# ---------------------------------------------------------------------------------------------- inbox fixes


def test_a_mapping_missing_record_gets_gl_fixes_and_one_click_applies_and_replays(gl_flow, browser):
    record = failed_record(gl_flow, "7502")
    client = browser("admin")
    page = client.get(f"/inbox/{record.pk}/").content.decode()
    assert 'id="copilot-fixes"' in page and "601600" in page and "Map 7502 → 601600 and replay" in page
    draft_before = versions.draft_version(gl_flow)
    client.post("/inbox/mapping-fix/", {"flow": gl_flow.pk, "section": "gl_accounts", "value": "7502",
                                        "target": "601600", "code": "mapping_missing", "replay": "1",
                                        "line": record.last_error,
                                        "copilot_score": "0.9"})
    assert versions.published_version(gl_flow).rules["gl_accounts"]["7502"] == "601600"
    assert draft_before is None or versions.draft_version(gl_flow) is not None
    record.refresh_from_db()
    assert record.status == "pending"  # replayed with the new mapping
    assert GLFeedback.objects.filter(source_code="7502", verdict="accepted", score=0.9).exists()


# ---------------------------------------------------------------------------------------------- API


def test_api_gl_suggestions_accept_reject(gl_flow, api):
    viewer, admin = api("viewer"), api("admin")
    body = viewer.get(f"/api/v1/flows/{gl_flow.key}/copilot/gl-suggestions/?unmapped=1&top=2").json()
    found = {r["source_code"]: r for r in body["results"]}
    assert "4000" not in found and len(found["7502"]["suggestions"]) == 2
    assert found["7502"]["suggestions"][0]["target_code"] == "601600"
    assert post_json(viewer, f"/api/v1/flows/{gl_flow.key}/copilot/gl-suggestions/accept/",
                     {"accept": [{"source_code": "7502", "target_code": "601600"}]}).status_code == 403
    bad = post_json(admin, f"/api/v1/flows/{gl_flow.key}/copilot/gl-suggestions/accept/", {"accept": [{}]})
    assert bad.status_code == 400 and "accept[0]" in bad.json()
    unknown = post_json(admin, f"/api/v1/flows/{gl_flow.key}/copilot/gl-suggestions/accept/",
                        {"accept": [{"source_code": "7502", "target_code": "123"}]})
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_account"
    ok = post_json(admin, f"/api/v1/flows/{gl_flow.key}/copilot/gl-suggestions/accept/",
                   {"accept": [{"source_code": "7502", "target_code": "601600", "score": 0.9}], "publish": True})
    assert ok.json() == {"accepted": 1, "published": True}
    assert versions.published_version(gl_flow).rules["gl_accounts"]["7502"] == "601600"
    assert post_json(admin, f"/api/v1/flows/{gl_flow.key}/copilot/gl-suggestions/reject/",
                     {"source_code": "7901", "target_code": "606300"}).json() == {"rejected": 1}


def test_api_score_settings_and_fixes(gl_flow, api):
    operator, admin = api("operator"), api("admin")
    rows = [{"id": f"h{n}", "kind": "sales_invoice", "date": f"2026-03-{n % 27 + 1:02d}", "party": "C1",
             "account": "4000", "amount": "120.00", "currency": "GBP", "tax_rate": "20", "reference": f"INV{n}",
             "description": "Print"} for n in range(40)]
    anomaly_service.train()
    scored = post_json(operator, "/api/v1/copilot/score/", {"records": rows, "alert_rate": 0.05}).json()["results"]
    assert len(scored) == 40 and all(0 <= r["score"] <= 1 for r in scored)
    assert sum(r["flagged"] for r in scored) <= 2
    bad = post_json(operator, "/api/v1/copilot/score/", {"records": [{"id": "x", "kind": "nope", "date": "2026-01-01",
                                                                    "amount": "1"}]})
    assert bad.status_code == 400 and "records[0].kind" in bad.json()
    assert admin.get("/api/v1/copilot/settings/").json()["anomaly_mode"] == "mark"
    changed = admin.patch("/api/v1/copilot/settings/", json.dumps({"anomaly_mode": "hold", "gl_auto_accept": None}),
                          content_type="application/json")
    assert changed.status_code == 200 and changed.json()["anomaly_mode"] == "hold"
    assert admin.patch("/api/v1/copilot/settings/", json.dumps({"colour": "red"}),
                       content_type="application/json").status_code == 400
    assert operator.patch("/api/v1/copilot/settings/", json.dumps({"anomaly_mode": "off"}),
                          content_type="application/json").status_code == 403
    record = failed_record(gl_flow, "7502")
    fixes = operator.get(f"/api/v1/records/{record.pk}/fixes/").json()
    assert fixes["applicable"] and fixes["value"] == "7502" and fixes["fixes"][0]["target_code"] == "601600"
