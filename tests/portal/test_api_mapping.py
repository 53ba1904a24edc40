"""The mapping API: versions, draft, publish, diff, rollback, JSON and GL CSV import/export, roles, errors."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from integrations.sync.models import Connection, Flow
from mapping import versions
from portal.accounts.models import AuditEntry
from portal.api.auth import issue_key
from tests.mapping.test_versions import strict_rules  # noqa: F401  (fixture)

FLOW_KEY = "kashflow_invoices_to_ax"
BASE = f"/api/v1/flows/{FLOW_KEY}/mapping"


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key=FLOW_KEY, name="Invoices to AX", source=kf, target=ax)


@pytest.fixture
def clients(make_user, flow):
    """A key-authenticated client per role (a key needs no CSRF token)."""
    made = {}
    for role in ("viewer", "operator", "admin"):
        user = make_user(role)
        _key, text = issue_key(user, f"{role} key")
        made[role] = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {text}")
        made[role].user = user
    return made


def put(client, path, body):
    return client.put(path, json.dumps(body), content_type="application/json")


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def changed_rules(code="4000", account="401150"):
    rules = versions.published_version(Flow.objects.get(key=FLOW_KEY)).rules
    return {**rules, "gl_accounts": {**rules["gl_accounts"], code: account}}


# ---------------------------------------------------------------------------------------------- access

def test_roles_viewers_read_operators_edit_the_draft_admins_publish(clients, tenant_client):
    assert tenant_client.get(f"{BASE}/").status_code == 401
    viewer, operator, admin = clients["viewer"], clients["operator"], clients["admin"]
    assert viewer.get(f"{BASE}/").status_code == 200
    assert viewer.get(f"{BASE}/export/").status_code == 200
    refused = put(viewer, f"{BASE}/draft/", {"rules": changed_rules()})
    assert refused.status_code == 403 and "Operator" in refused.json()["detail"]
    assert put(operator, f"{BASE}/draft/", {"rules": changed_rules()}).status_code == 200
    for path, body in [("publish/", {}), ("rollback/", {"version": 1})]:
        answer = post(operator, f"{BASE}/{path}", body)
        assert answer.status_code == 403 and "Admin" in answer.json()["detail"], path
    assert versions.published_version(Flow.objects.get(key=FLOW_KEY)).number == 1
    assert post(admin, f"{BASE}/publish/").status_code == 201


def test_unknown_flow_version_or_missing_draft_is_404(clients):
    viewer = clients["viewer"]
    assert viewer.get("/api/v1/flows/nope/mapping/").status_code == 404
    assert viewer.get(f"{BASE}/versions/7/").json()["code"] == "unknown_version"
    missing = viewer.get(f"{BASE}/draft/")
    assert missing.status_code == 404 and missing.json()["code"] == "no_draft"
    assert viewer.get(f"{BASE}/diff/").status_code == 404  # published -> draft, without a draft


# ---------------------------------------------------------------------------------------------- life cycle

def test_edit_diff_publish_and_roll_back_through_the_api(clients, flow):
    operator, admin = clients["operator"], clients["admin"]
    overview = operator.get(f"/api/v1/flows/{flow.pk}/mapping/").json()  # by id works too
    assert overview["published"] == 1 and overview["draft"] is None
    assert [v["number"] for v in overview["versions"]] == [1]

    saved = put(operator, f"{BASE}/draft/", {"rules": changed_rules(), "note": "product sales split"})
    assert saved.status_code == 200
    draft = saved.json()
    assert (draft["status"], draft["number"], draft["based_on"], draft["note"]) == (
        "draft", None, 1, "product sales split")
    assert draft["rules"]["gl_accounts"]["4000"] == "401150" and draft["created_by"] == operator.user.email

    diff = operator.get(f"{BASE}/diff/").json()  # published -> draft
    assert (diff["from"], diff["to"]) == ("v1", "draft")
    assert diff["sections"] == [{"section": "gl_accounts", "change": "changed", "added": [], "removed": [],
                                 "changed": [{"key": "4000", "old": "401100", "new": "401150"}]}]
    assert '~ 4000: "401100" -> "401150"' in diff["text"]

    published = post(admin, f"{BASE}/publish/")
    assert published.status_code == 201
    assert (published.json()["number"], published.json()["status"], published.json()["published_by"]) == (
        2, "published", admin.user.email)
    assert versions.published_version(flow).rules["gl_accounts"]["4000"] == "401150"
    assert operator.get(f"{BASE}/versions/published/").json()["number"] == 2
    assert operator.get(f"{BASE}/diff/?from=1&to=2").json()["sections"] == diff["sections"]

    rolled = post(admin, f"{BASE}/rollback/", {"version": 1, "note": "split was wrong"})
    assert rolled.status_code == 201
    assert (rolled.json()["number"], rolled.json()["based_on"], rolled.json()["note"]) == (3, 1, "split was wrong")
    assert versions.published_version(flow).rules["gl_accounts"]["4000"] == "401100"
    assert operator.get(f"{BASE}/versions/2/").json()["rules"]["gl_accounts"]["4000"] == "401150"  # kept
    assert [(e.action, e.actor) for e in AuditEntry.objects.filter(action__startswith="mapping.").order_by("pk")] == [
        ("mapping.draft_saved", operator.user), ("mapping.published", admin.user),
        ("mapping.rolled_back", admin.user)]
    assert post(admin, f"{BASE}/rollback/", {"version": 3}).json()["code"] == "no_changes"


def test_invalid_rules_are_a_400_with_paths_and_nothing_is_saved(clients, strict_rules):  # noqa: F811
    operator = clients["operator"]
    answer = put(operator, f"{BASE}/draft/", {"rules": changed_rules("4010", "4013")})
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert answer.json()["errors"] == [{"path": "gl_accounts.4010", "message": "account '4013' is not six digits",
                                        "position": None}]
    shape = put(operator, f"{BASE}/draft/", {"rules": ["not", "an", "object"]})
    assert shape.status_code == 400 and "JSON object of sections" in shape.json()["errors"][0]["message"]
    assert operator.get(f"{BASE}/draft/").status_code == 404


def test_conflicts_are_409_lost_update_stale_draft_and_nothing_to_publish(clients, flow):
    operator, admin = clients["operator"], clients["admin"]
    nothing = post(admin, f"{BASE}/publish/")
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_draft"
    first = put(operator, f"{BASE}/draft/", {"rules": changed_rules("4010", "401300")}).json()
    assert put(operator, f"{BASE}/draft/", {"rules": changed_rules("4011", "401300"),
                                            "revision": first["revision"]}).status_code == 200
    lost = put(operator, f"{BASE}/draft/", {"rules": changed_rules("4012", "401300"), "revision": first["revision"]})
    assert lost.status_code == 409 and lost.json()["code"] == "draft_changed"

    versions.publish(flow, changed_rules("4000", "401150"), note="someone else")  # v2 while the draft is open
    stale = post(admin, f"{BASE}/publish/")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_draft"
    forced = post(admin, f"{BASE}/publish/", {"force": True})
    assert forced.status_code == 201 and forced.json()["number"] == 3
    assert versions.published_version(flow).rules["gl_accounts"]["4011"] == "401300"

    assert operator.delete(f"{BASE}/draft/").status_code == 404  # published: no draft left
    put(operator, f"{BASE}/draft/", {"rules": changed_rules("4013", "401300")})
    assert operator.delete(f"{BASE}/draft/").status_code == 204
    assert operator.get(f"{BASE}/draft/").status_code == 404


# ---------------------------------------------------------------------------------------------- import/export

def test_json_export_and_import_into_the_draft(clients, flow):
    viewer, operator = clients["viewer"], clients["operator"]
    exported = viewer.get(f"{BASE}/export/")
    assert exported.status_code == 200
    assert exported["Content-Disposition"] == f'attachment; filename="{FLOW_KEY}-mapping-v1.json"'
    document = exported.json()
    assert (document["format"], document["flow"], document["version"]) == ("ledgerbridge-mapping/1", FLOW_KEY, 1)
    document["rules"]["gl_accounts"]["4010"] = "401300"
    assert post(viewer, f"{BASE}/import/", document).status_code == 403
    imported = post(operator, f"{BASE}/import/", document)
    assert imported.status_code == 200 and imported.json()["status"] == "draft"
    assert imported.json()["rules"] == document["rules"]
    assert "4010" not in versions.published_version(flow).rules["gl_accounts"]
    assert viewer.get(f"{BASE}/export/?version=draft").json()["rules"]["gl_accounts"]["4010"] == "401300"

    wrong = post(operator, f"{BASE}/import/", {**document, "flow": "kashflow_invoices_to_sage", "format": "x/1"})
    assert wrong.status_code == 400
    assert [e["path"] for e in wrong.json()["errors"]] == ["format", "flow"]
    broken = operator.post(f"{BASE}/import/", "{not json", content_type="application/json")
    assert broken.status_code == 400


def test_gl_csv_export_and_import_with_row_level_errors(clients, flow):
    viewer, operator = clients["viewer"], clients["operator"]
    exported = viewer.get(f"{BASE}/export/gl/")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    lines = exported.content.decode().splitlines()
    assert lines[0] == "source_code,target_account" and "4000,401100" in lines and len(lines) == 7

    merged = operator.post(f"{BASE}/import/gl/?mode=merge", b"source_code,target_account\n4010,401300\n",
                           content_type="text/csv")
    assert merged.status_code == 200
    gl = merged.json()["rules"]["gl_accounts"]
    assert gl["4010"] == "401300" and gl["4000"] == "401100" and len(gl) == 7

    upload = SimpleUploadedFile("gl.csv", b"source_code,target_account,department\n4000,401150,\n4000,401110,022\n",
                                content_type="text/csv")
    replaced = operator.post(f"{BASE}/import/gl/", {"file": upload, "mode": "replace"})
    assert replaced.status_code == 200
    assert replaced.json()["rules"]["gl_accounts"] == {"4000": "401150"}
    assert replaced.json()["rules"]["gl_rules"] == [{"nominal": "4000", "account": "401110", "department": "022"}]
    assert viewer.get(f"{BASE}/export/gl/?version=draft").content.decode().splitlines() == [
        "source_code,target_account,department", "4000,401150,", "4000,401110,022"]

    bad = operator.post(f"{BASE}/import/gl/", b"source_code,target_account\n4000,401100\n4001,\n4000,401200\n",
                        content_type="text/csv")
    assert bad.status_code == 400
    assert [f"{e['path']}: {e['message']}" for e in bad.json()["errors"]] == [
        "row 3: account is empty", "row 4: duplicate of row 2 (source code 4000)"]
    latin1 = operator.post(f"{BASE}/import/gl/", "source_code,target_account\n4000,Caf\xe9\n".encode("latin-1"),
                           content_type="text/csv")
    assert latin1.status_code == 400 and latin1.json()["errors"][0]["path"] == "row 2"
    mode = operator.post(f"{BASE}/import/gl/?mode=append", b"source_code,target_account\n4000,401100\n",
                         content_type="text/csv")
    assert mode.status_code == 400 and "append" in mode.json()["detail"]
    # Failed imports left the draft as the last good import.
    assert versions.draft_version(flow).rules["gl_accounts"] == {"4000": "401150"}
