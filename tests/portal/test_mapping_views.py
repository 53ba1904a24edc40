"""The mapping editor: see, edit (rows, CSV, JSON sections), validate, draft / discard / publish, history, diff,
roll back, preview on real sandbox records, and the inbox's one-place fix for "mapping missing" groups."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from integrations.sync.models import Connection, Flow, SyncRecord
from mapping.models import MappingVersion
from mapping.versions import published_version
from portal.accounts.models import AuditEntry
from portal.web.mapping_views import FormError, missing_value, parse_gl_csv, rules_diff
from tests.conftest import TEST_PASSWORD
from tests.e2e import conftest as e2e

# the e2e sandbox fixtures, for the tests here that run against real sandbox records
sandbox_servers, ax_pair, kashflow_sandbox, ax_sandbox, invoice_flow = (
    e2e.sandbox_servers, e2e.ax_pair, e2e.kashflow_sandbox, e2e.ax_sandbox, e2e.invoice_flow)

KEY = "kashflow_invoices_to_ax"
_seq = itertools.count(1)


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2",
                                   password="kf-secret-1")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key=KEY, name="Invoices to AX", source=kf, target=ax)


def signed_in(role, make_user) -> Client:
    client = Client(HTTP_HOST="alpha.localhost")
    user = make_user(role)
    assert client.login(username=user.email, password=TEST_PASSWORD)
    return client


def failed(flow, nominal: str) -> SyncRecord:
    n = next(_seq)
    return SyncRecord.objects.create(
        flow=flow, entity="sales_invoice", source_id=f"{n}", source_version=f"v{n}", idempotency_key=f"map-{n}",
        payload={"number": f"{n}"}, status="failed", error_kind="validation", error_code="mapping_missing",
        last_error=f"Mapping: No AX main account is mapped for Kashflow nominal code {nominal}")


def gl_post(rules_gl: dict[str, str], action: str, **extra) -> dict:
    return {"gl_nominal": list(rules_gl), "gl_account": list(rules_gl.values()), "action": action, **extra}


# ---------------------------------------------------------------------------------------------- pure helpers

def test_missing_value_reads_the_flows_messages():
    assert missing_value("Mapping: No AX main account is mapped for Kashflow nominal code 4010") == {
        "target": "AX main account", "source": "Kashflow nominal code", "value": "4010", "section": "gl_accounts"}
    assert missing_value("Mapping: No AX sales tax group is mapped for the Kashflow VAT rate 17.5")["section"] == ""
    assert missing_value("AX said no") is None


def test_gl_csv_and_diff():
    assert parse_gl_csv("nominal,account\n4010,401100\n\n4011;x\n".replace(";", ",")) == {"4010": "401100",
                                                                                           "4011": "x"}
    assert parse_gl_csv("4010;401100\n4011;401200") == {"4010": "401100", "4011": "401200"}
    with pytest.raises(FormError, match="CSV row 2"):
        parse_gl_csv("4010,401100\n4011")
    assert rules_diff({"gl_accounts": {"4000": "1", "4001": "2"}, "routing": []},
                      {"gl_accounts": {"4000": "9", "4002": "3"}, "routing": []}) == [
        {"path": "gl_accounts.4000", "change": "changed", "old": "1", "new": "9"},
        {"path": "gl_accounts.4001", "change": "removed", "old": "2", "new": None},
        {"path": "gl_accounts.4002", "change": "added", "old": None, "new": "3"}]


# ---------------------------------------------------------------------------------------------- editor

def test_the_editor_shows_unmapped_values_first_and_viewers_cannot_edit(flow, make_user):
    for _ in range(3):
        failed(flow, "4010")
    client = signed_in("viewer", make_user)
    response = client.get(f"/flows/{KEY}/mapping/")
    assert response.status_code == 200
    rows = response.context["gl_rows"]
    assert rows[0] == {"nominal": "4010", "account": "", "missing": 3, "error": "", "hidden": False}
    assert {"nominal": "4000", "account": "401100", "missing": 0, "error": "", "hidden": False} in rows
    html = response.content.decode()
    assert "unmapped: 3 records" in html and 'value="publish"' not in html
    assert client.post(f"/flows/{KEY}/mapping/", gl_post({"4000": "1"}, "publish")).status_code == 302
    assert published_version(flow).rules["gl_accounts"]["4000"] == "401100"

    searched = client.get(f"/flows/{KEY}/mapping/?q=4010").context["gl_rows"]
    assert [r["nominal"] for r in searched if r["nominal"] and not r["hidden"]] == ["4010"]


def test_save_draft_then_publish_then_history_diff_and_rollback(flow, make_user):
    client = signed_in("admin", make_user)
    v1 = published_version(flow)
    gl = dict(v1.rules["gl_accounts"]) | {"4000": "401200", "4010": "401100"}
    response = client.post(f"/flows/{KEY}/mapping/", gl_post(gl, "save"))
    assert response.status_code == 200
    draft = MappingVersion.objects.get(status="draft")
    assert draft.rules["gl_accounts"]["4010"] == "401100" and draft.rules["dimensions"] == v1.rules["dimensions"]
    assert published_version(flow).pk == v1.pk  # a draft never runs
    assert {"path": "gl_accounts.4000", "change": "changed", "old": "401100", "new": "401200"} in \
        response.context["changes"]

    # the editor reopens on the draft; publish freezes it and drops the draft
    assert client.get(f"/flows/{KEY}/mapping/").context["rules"]["gl_accounts"]["4000"] == "401200"
    response = client.post(f"/flows/{KEY}/mapping/", gl_post(gl, "publish", note="Design sales moved"))
    assert response.status_code == 302
    v2 = published_version(flow)
    assert v2.number > v1.number and v2.rules["gl_accounts"]["4000"] == "401200" and v2.note == "Design sales moved"
    assert not MappingVersion.objects.filter(status="draft").exists()
    assert AuditEntry.objects.filter(action="mapping.published").exists()

    history = client.get(f"/flows/{KEY}/mapping/history/")
    assert history.context["shown"].pk == v2.pk and history.context["against"].pk == v1.pk
    assert {"path": "gl_accounts.4010", "change": "added", "old": None, "new": "401100"} in history.context["changes"]

    assert client.post(f"/flows/{KEY}/mapping/rollback/", {"version": v1.number}).status_code == 302
    v3 = published_version(flow)
    assert v3.number > v2.number and v3.rules == v1.rules and "v1" in v3.note


def test_csv_paste_merges_into_the_table(flow, make_user):
    client = signed_in("admin", make_user)
    gl = dict(published_version(flow).rules["gl_accounts"])
    response = client.post(f"/flows/{KEY}/mapping/", gl_post(gl, "save", gl_csv="nominal,account\n4000,401200\n"
                                                                                  "4010,403150\n"))
    assert response.status_code == 200
    rules = MappingVersion.objects.get(status="draft").rules
    assert rules["gl_accounts"] == gl | {"4000": "401200", "4010": "403150"}


def test_invalid_input_is_shown_at_the_field_and_nothing_is_saved(flow, make_user):
    client = signed_in("admin", make_user)
    response = client.post(f"/flows/{KEY}/mapping/", {"section:routing": '[{"when": "total_above",, }]',
                                                      "action": "publish"})
    assert response.status_code == 400
    section = next(s for s in response.context["sections"] if s["name"] == "routing")
    assert "routing is not valid JSON" in section["errors"][0]["message"] and "column 25" in \
        section["errors"][0]["message"]
    response = client.post(f"/flows/{KEY}/mapping/", gl_post({"4000": "1"}, "save", gl_csv="4010"))
    assert response.status_code == 400 and "CSV row 1" in response.content.decode()
    assert not MappingVersion.objects.filter(status="draft").exists()
    assert published_version(flow).number == 1


def test_discard_drops_the_draft(flow, make_user):
    client = signed_in("admin", make_user)
    client.post(f"/flows/{KEY}/mapping/", gl_post({"4000": "999999"}, "save"))
    assert MappingVersion.objects.filter(status="draft").exists()
    assert client.post(f"/flows/{KEY}/mapping/", {"action": "discard"}).status_code == 302
    assert not MappingVersion.objects.filter(status="draft").exists()
    assert client.get(f"/flows/{KEY}/mapping/").context["rules"]["gl_accounts"]["4000"] == "401100"


def test_the_flows_page_links_to_the_editor(flow, make_user):
    html = signed_in("viewer", make_user).get("/flows/").content.decode()
    assert f'href="/flows/{KEY}/mapping/"' in html


# ---------------------------------------------------------------------------------------------- inbox fix

def test_a_mapping_missing_group_is_fixed_in_one_place_and_replayed(flow, make_user):
    records = [failed(flow, "4010") for _ in range(3)]
    other = failed(flow, "4011")
    client = signed_in("admin", make_user)
    response = client.get("/inbox/?view=groups")
    group = next(g for g in response.context["groups"] if g["missing"] and g["missing"]["value"] == "4010")
    assert group["count"] == 3
    html = response.content.decode()
    assert "Kashflow nominal code 4010: 3 records" in html and 'action="/inbox/mapping-fix/"' in html

    response = client.post("/inbox/mapping-fix/", {"flow": flow.pk, "section": "gl_accounts", "value": "4010",
                                                   "target": "401100", "code": group["code"],
                                                   "line": group["line"], "replay": "1"})
    assert response.status_code == 302
    assert published_version(flow).rules["gl_accounts"]["4010"] == "401100"
    for record in records:
        record.refresh_from_db()
        assert record.status == "pending" and record.resolution == "replayed" and record.replay_mapping == "current"
    other.refresh_from_db()
    assert other.status == "failed"  # another value's group is left alone


def test_operators_can_replay_but_not_change_the_mapping(flow, make_user):
    failed(flow, "4010")
    client = signed_in("operator", make_user)
    assert 'action="/inbox/mapping-fix/"' not in client.get("/inbox/?view=groups").content.decode()
    response = client.post("/inbox/mapping-fix/", {"flow": flow.pk, "section": "gl_accounts", "value": "4010",
                                                   "target": "401100"})
    assert response.status_code == 403
    assert "4010" not in published_version(flow).rules["gl_accounts"]


# ---------------------------------------------------------------------------------------------- preview

def test_preview_runs_the_draft_on_sandbox_records(invoice_flow, make_user):
    client = signed_in("admin", make_user)
    gl = dict(published_version(invoice_flow).rules["gl_accounts"]) | {"4000": "401200"}
    response = client.post(f"/flows/{KEY}/mapping/", gl_post(gl, "preview", limit="3"))
    assert response.status_code == 200
    results = response.context["results"]
    assert len(results) == 3 and all(r["error"] is None for r in results)
    lines = [(line, src) for r in results for line, src in zip(
        r["target"]["CustInvoiceTable"][0]["CustInvoiceLine"], r["canonical"]["lines"], strict=True)]
    assert any(src["account_code"] == "4000" for _line, src in lines)
    for line, src in lines:
        if src["account_code"] == "4000":
            assert line["LedgerDimension"]["DisplayValue"].startswith("401200-")
    assert "preview-target" in response.content.decode()
    assert not SyncRecord.objects.exists()
    assert published_version(invoice_flow).rules["gl_accounts"]["4000"] == "401100"


def test_a_preview_against_an_unreachable_source_says_so(flow, make_user):
    client = signed_in("admin", make_user)
    response = client.post(f"/flows/{KEY}/mapping/", {"action": "preview"})
    assert response.status_code == 200 and response.context["preview_error"]
    assert "The preview could not run" in response.content.decode()
