"""The portal driven in headless Chromium: sign in, see the dashboard, run a flow, sign out.

The web server runs in a thread on its own database connection, so this test commits its data
(a user and a connection in the session's alpha tenant) and removes it afterwards.
"""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def live_portal(django_db_setup, django_db_blocker):
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django_tenants.utils import schema_context

    from integrations.core.wsgi import ServerThread
    from integrations.sync.models import Connection
    from portal.accounts.models import User
    from tests.conftest import TEST_PASSWORD

    with django_db_blocker.unblock():
        if not connection.settings_dict["NAME"].startswith("test_"):  # never touch a developer's database
            pytest.fail(f"Refusing to run against the database {connection.settings_dict['NAME']!r}.")
        with schema_context("alpha"):
            user = User.objects.create_user(email="browser@alpha.test", password=TEST_PASSWORD, role="operator")
            conn = Connection.objects.create(name="Browser Kashflow", system="kashflow",
                                             base_url="http://127.0.0.1:9/v2", password="never-shown-secret")
        server = ServerThread(WSGIHandler()).start()
        try:
            yield {"url": f"http://alpha.localhost:{server.port}", "email": user.email, "password": TEST_PASSWORD}
        finally:
            server.stop()
            with schema_context("alpha"):
                conn.delete()
                user.delete()
            connection.set_schema_to_public()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_sign_in_see_dashboard_and_sign_out(live_portal, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page()
        page.goto(f"{live_portal['url']}/")
        assert "/login/" in page.url
        page.fill("#id_username", live_portal["email"])
        page.fill("#id_password", "wrong-password-here")
        page.click("button[type=submit]")
        assert page.locator(".error").count() == 1

        page.fill("#id_password", live_portal["password"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_portal['url']}/")
        assert page.locator("h1").inner_text() == "Dashboard"
        assert page.locator(".card.connection h3").first.inner_text().startswith("Browser Kashflow")
        assert "never-shown-secret" not in page.content()
        page.screenshot(path=str(tmp_path / "dashboard.png"))

        page.click("text=Sign out")
        page.wait_for_url(f"{live_portal['url']}/login/")
        browser.close()
