"""The mapping editor driven in headless Chromium against the sandboxes: edit a GL mapping, preview it (the new
account shows in the target column), publish, run the flow, and find the new account on the invoice lines the AX
sandbox posted.

The web server runs in a thread on its own database connection, so this test commits its data in the session's
alpha tenant (connections, flows, a user, the run's records) and removes what it created afterwards.
"""

from __future__ import annotations

import shutil

import pytest

from tests.e2e import conftest as e2e

pytestmark = pytest.mark.browser

sandbox_servers = e2e.sandbox_servers  # the in-process sandbox servers (session fixture)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NEW_ACCOUNT = "411100"  # "Revenue - Labor" in the AX sandbox's chart; no default maps a nominal code to it


@pytest.fixture
def live_sandbox_portal(django_db_setup, django_db_blocker, sandbox_servers):
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django_tenants.utils import schema_context

    from integrations.core.wsgi import ServerThread
    from integrations.sync.models import Binding, Connection, Flow, FlowCursor, SourceState, SyncRecord, SyncRun
    from integrations.sync.sandbox_setup import connect_sandbox
    from mapping.models import MappingSet
    from portal.accounts.models import AuditEntry, User
    from tests.conftest import TEST_PASSWORD

    if not connection.settings_dict["NAME"].startswith("test_"):
        # pytest-django creates the test database only when some collected test asks for one (the test below
        # does); never write this test's committed data into a developer's database.
        pytest.fail(f"Refusing to run against the database {connection.settings_dict['NAME']!r}: no test database.")
    instance = sandbox_servers.hub.create(erp="dynamics_ax", size=12, instance_id="browser-mapping", rng_seed=7)
    fields = sandbox_servers.connection_fields(instance.id)
    models = (AuditEntry, Binding, SourceState, FlowCursor, SyncRecord, SyncRun, MappingSet, Flow, Connection)
    with django_db_blocker.unblock():
        with schema_context("alpha"):
            before = {model: set(model.objects.values_list("pk", flat=True)) for model in models}
            user = User.objects.create_user(email="mapper@alpha.test", password=TEST_PASSWORD, role="admin")
            flow = next(f for f in connect_sandbox(instance_id=instance.id, fields=fields).flows
                        if f.key == "kashflow_invoices_to_ax")
        server = ServerThread(WSGIHandler()).start()
        try:
            yield {"url": f"http://alpha.localhost:{server.port}", "email": user.email, "password": TEST_PASSWORD,
                   "flow": flow, "ax_store": sandbox_servers.hub.app("dynamics_ax", instance.id).store}
        finally:
            server.stop()
            with schema_context("alpha"):
                for model in models:  # children first: what this test created, nothing else
                    model.objects.exclude(pk__in=before[model]).delete()
                user.delete()
            connection.set_schema_to_public()


def _posted_lines(ax_store) -> dict[str, list[str]]:
    """Kashflow number (CUSTOMERREF) -> main account of each posted free-text invoice line, in line order."""
    rows = ax_store.query(
        "SELECT H.CUSTOMERREF, C.DISPLAYVALUE FROM CUSTINVOICELINE L JOIN CUSTINVOICETABLE H ON H.RECID = "
        "L.PARENTRECID JOIN DIMENSIONATTRIBUTEVALUECOMBINATION C ON C.RECID = L.LEDGERDIMENSION "
        "ORDER BY H.RECID, L.LINENUM")
    lines: dict[str, list[str]] = {}
    for row in rows:
        lines.setdefault(str(row["CUSTOMERREF"]), []).append(str(row["DISPLAYVALUE"]).split("-")[0])
    return lines


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_edit_preview_publish_run_and_see_the_account_in_ax(live_sandbox_portal, django_db_blocker, tmp_path):
    from django_tenants.utils import schema_context
    from playwright.sync_api import sync_playwright

    from integrations.sync.models import SyncRecord
    from mapping.versions import published_version
    from tests.e2e.helpers import run_inline

    portal = live_sandbox_portal
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto(f"{portal['url']}/login/")
        page.fill("#id_username", portal["email"])
        page.fill("#id_password", portal["password"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{portal['url']}/")

        page.goto(f"{portal['url']}/flows/")
        page.click("#flow-kashflow_invoices_to_ax a.mapping-link")
        assert page.locator("h1").inner_text().startswith("Mapping of")

        # search narrows the GL table to nominal 4000; edit its account
        page.fill("#mapping-q", "4000")
        row = page.locator("table.gl-table tbody tr[data-search]:visible")
        assert row.count() == 1
        account = row.locator("input[name=gl_account]")
        assert account.input_value() == "401100"
        account.fill(NEW_ACCOUNT)

        page.click("button[value=preview]")
        page.wait_for_selector("#preview")
        targets = page.locator(".preview-target")
        assert targets.count() >= 1
        shown = " ".join(targets.all_inner_texts())
        assert f'"{NEW_ACCOUNT}-001-022"' in shown  # the draft's account, in the target column
        assert page.locator(".preview-error").count() == 0
        page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
        assert not _posted_lines(portal["ax_store"])  # the preview sent nothing

        page.fill("input[name=note]", "Sales to Revenue - Labor")
        page.click("button[value=publish]")
        page.wait_for_selector(".messages li")
        assert "Published as version" in page.locator(".messages").inner_text()
        browser.close()

    # (the ORM is not used while Playwright's event loop runs: checks on the database come after it)
    with django_db_blocker.unblock(), schema_context("alpha"):
        assert not SyncRecord.objects.filter(flow=portal["flow"]).exists()  # the preview recorded nothing
        version = published_version(portal["flow"])
        assert version.rules["gl_accounts"]["4000"] == NEW_ACCOUNT and version.note == "Sales to Revenue - Labor"
        assert version.based_on.rules["gl_accounts"]["4000"] == "401100"  # what ran before the publish
        run = run_inline(portal["flow"])
        assert run.status == "succeeded", run.message
        posted = list(SyncRecord.objects.filter(flow=portal["flow"], status="posted"))
        assert posted and all(r.mapping_version_id == version.pk for r in posted)

    lines = _posted_lines(portal["ax_store"])
    assert set(lines) == {r.source_id for r in posted}
    seen_4000 = False
    for record in posted:
        nominals = [line["account_code"] for line in record.payload["lines"]]
        expected = [NEW_ACCOUNT if n == "4000" else version.rules["gl_accounts"][n] for n in nominals]
        assert lines[record.source_id] == expected
        seen_4000 = seen_4000 or "4000" in nominals
    assert seen_4000

    with django_db_blocker.unblock(), schema_context("alpha"):
        again = run_inline(portal["flow"])
        assert again.status == "succeeded" and again.records_posted == 0
    assert _posted_lines(portal["ax_store"]) == lines  # a second run changes nothing


def test_the_editor_offers_what_the_browser_drives(tenant, make_user):
    """The page hooks the browser test relies on (and a database test in this module, so pytest-django sets up
    the per-process test database even when this file runs alone: the live server must never see another one)."""
    from django.test import Client

    from integrations.sync.models import Connection, Flow

    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=kf, target=ax)
    client = Client(HTTP_HOST="alpha.localhost")
    client.force_login(make_user("admin"))
    assert 'class="mapping-link"' in client.get("/flows/").content.decode()
    html = client.get("/flows/kashflow_invoices_to_ax/mapping/").content.decode()
    for hook in ('id="mapping-q"', 'class="gl-table"', 'data-search="4000 401100"', 'value="preview"',
                 'value="publish"', 'name="note"', 'id="copilot-suggestions"'):
        assert hook in html, hook
