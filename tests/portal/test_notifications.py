"""Portal: the alerts page (unread first, mark read, CSRF), the nav count, and a flow's schedule form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations.sync import alerts
from integrations.sync.models import Connection, Flow, FlowSchedule, Notification
from portal.accounts.models import AuditEntry
from tests.portal.test_auth_and_roles import login


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=kf, target=ax)


def test_pages_need_a_login(tenant_client, flow):
    for url in ("/notifications/", f"/flows/{flow.pk}/schedule/"):
        response = tenant_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


# ---------------------------------------------------------------------------------------------- alerts


def test_the_list_shows_unread_first_and_the_nav_counts_them(tenant_client, make_user, flow):
    old_unread = alerts.notify("flow_failing", "Old unread", level="error", flow=flow)
    Notification.objects.filter(pk=old_unread.pk).update(created_at=timezone.now() - timedelta(days=2))
    alerts.notify("x", "Newer but read", level="info")
    Notification.objects.filter(title="Newer but read").update(read_at=timezone.now())
    alerts.notify("connection_paused", "Fresh unread", "AX keeps timing out", level="warning",
                  connection=flow.target)
    login(tenant_client, make_user("viewer"))
    page = tenant_client.get("/notifications/").content.decode()
    assert page.index("Fresh unread") < page.index("Old unread") < page.index("Newer but read")
    assert "AX keeps timing out" in page
    assert 'Alerts <span class="badge failed">2</span>' in page
    dashboard = tenant_client.get("/").content.decode()
    assert 'Alerts <span class="badge failed">2</span>' in dashboard


def test_no_count_in_the_nav_when_all_is_read(tenant_client, make_user):
    login(tenant_client, make_user("viewer"))
    page = tenant_client.get("/").content.decode()
    assert ">Alerts</a>" in page and "badge failed" not in page


def test_the_nav_count_is_one_query_and_only_when_shown(make_user):
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from portal.web.context import notifications

    user = make_user("viewer")
    for i in range(5):
        alerts.notify("x", f"n{i}", level="info")
    request = RequestFactory().get("/")
    request.user = user
    with CaptureQueriesContext(connection) as queries:
        context = notifications(request)
        assert not [q for q in queries.captured_queries if "sync_notification" in q["sql"]]
        assert context["unread_notifications"]() == 5
        assert context["unread_notifications"]() == 5
    counted = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(counted) == 1 and "COUNT(*)" in counted[0]


def test_a_viewer_can_read_but_not_acknowledge(tenant_client, make_user):
    n = alerts.notify("x", "Problem", level="error")
    login(tenant_client, make_user("viewer"))
    assert tenant_client.get("/notifications/").status_code == 200
    assert tenant_client.post(f"/notifications/{n.pk}/read/").status_code == 403
    assert tenant_client.post("/notifications/read-all/").status_code == 403
    n.refresh_from_db()
    assert n.read_at is None


def test_an_operator_marks_one_and_then_all_as_read(tenant_client, make_user):
    first = alerts.notify("x", "First", level="error")
    alerts.notify("x", "Second", level="warning")
    alerts.notify("x", "Third", level="info")
    login(tenant_client, make_user("operator"))
    response = tenant_client.post(f"/notifications/{first.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    first.refresh_from_db()
    assert first.read_at is not None
    assert Notification.objects.filter(read_at__isnull=True).count() == 2
    assert tenant_client.post("/notifications/read-all/", follow=True).status_code == 200
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert tenant_client.post("/notifications/999999/read/").status_code == 404


def test_marking_read_is_post_only(tenant_client, make_user):
    n = alerts.notify("x", "Problem", level="error")
    login(tenant_client, make_user("owner", email="owner2@alpha.test"))
    assert tenant_client.get(f"/notifications/{n.pk}/read/").status_code == 405
    assert tenant_client.get("/notifications/read-all/").status_code == 405


def test_marking_read_needs_the_csrf_token(tenant, make_user):
    n = alerts.notify("x", "Problem", level="error")
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    client.force_login(make_user("operator"))
    assert client.post(f"/notifications/{n.pk}/read/").status_code == 403
    n.refresh_from_db()
    assert n.read_at is None
    page = client.get("/notifications/")
    token = page.context["csrf_token"]
    assert client.post(f"/notifications/{n.pk}/read/", {"csrfmiddlewaretoken": str(token)}).status_code == 302
    n.refresh_from_db()
    assert n.read_at is not None


def test_alerts_of_another_tenant_are_not_visible(tenant_client, make_user, use_tenant):
    use_tenant("beta")
    theirs = alerts.notify("x", "Beta's secret trouble", level="error")
    use_tenant("alpha")
    login(tenant_client, make_user("owner", email="owner3@alpha.test"))
    assert "Beta's secret trouble" not in tenant_client.get("/notifications/").content.decode()
    assert tenant_client.post(f"/notifications/{theirs.pk}/read/").status_code == 404


# ---------------------------------------------------------------------------------------------- schedule


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("operator", 200), ("admin", 200), ("owner", 200)])
def test_the_schedule_page_needs_operator(tenant_client, make_user, flow, role, status):
    login(tenant_client, make_user(role, email=f"{role}.sched@alpha.test"))
    assert tenant_client.get(f"/flows/{flow.pk}/schedule/").status_code == status
    assert tenant_client.post(f"/flows/{flow.pk}/schedule/", {"kind": "interval", "interval_minutes": "5",
                                                              "enabled": "on"}).status_code in {status, 302}
    assert FlowSchedule.objects.filter(flow=flow).exists() == (status == 200)


def test_saving_a_schedule_shows_the_next_fire_time_and_is_audited(tenant_client, make_user, flow):
    user = make_user("operator")
    login(tenant_client, user)
    response = tenant_client.post(f"/flows/{flow.pk}/schedule/",
                                  {"kind": "cron", "cron": "0 6 * * 1-5", "interval_minutes": "", "enabled": "on"})
    assert response.status_code == 302 and response["Location"] == f"/flows/{flow.pk}/schedule/"
    schedule = FlowSchedule.objects.get(flow=flow)
    assert schedule.kind == "cron" and schedule.cron == "0 6 * * 1-5" and schedule.next_run_at > timezone.now()
    assert schedule.next_run_at.hour == 6 and schedule.next_run_at.weekday() < 5
    page = tenant_client.get(response["Location"]).content.decode()
    assert "Cron 0 6 * * 1-5 (UTC)" in page and "Next run:" in page
    assert f"{schedule.next_run_at:%H:%M:%S} UTC" in page
    entry = AuditEntry.objects.get(action="flow.schedule_changed")
    assert entry.actor == user and entry.changes["cron"] == [None, "0 6 * * 1-5"]


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "cron", "cron": "61 * * * *"}, "The minute field “61” is out of range"),
    ({"kind": "cron", "cron": ""}, "Enter a cron expression"),
    ({"kind": "interval", "interval_minutes": "0"}, "at least 1 minute"),
    ({"kind": "interval", "interval_minutes": ""}, "Enter the number of minutes"),
    ({"kind": "weekly"}, "Select a valid choice"),
])
def test_invalid_schedules_are_shown_inline_and_not_saved(tenant_client, make_user, flow, data, message):
    login(tenant_client, make_user("operator"))
    response = tenant_client.post(f"/flows/{flow.pk}/schedule/", {"enabled": "on", **data})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'class="error"' in response.content.decode()
    assert not FlowSchedule.objects.filter(flow=flow).exists()


def test_switching_a_schedule_off(tenant_client, make_user, flow):
    login(tenant_client, make_user("admin"))
    tenant_client.post(f"/flows/{flow.pk}/schedule/", {"kind": "interval", "interval_minutes": "10",
                                                       "enabled": "on"})
    tenant_client.post(f"/flows/{flow.pk}/schedule/", {"kind": "interval", "interval_minutes": "10"})
    schedule = FlowSchedule.objects.get(flow=flow)
    assert schedule.enabled is False and schedule.next_run_at is None
    assert "Not scheduled" in tenant_client.get(f"/flows/{flow.pk}/schedule/").content.decode()


def test_the_dashboard_links_each_flow_to_its_schedule(tenant_client, make_user, flow):
    login(tenant_client, make_user("operator"))
    assert f'href="/flows/{flow.pk}/schedule/"' in tenant_client.get("/").content.decode()


def test_an_unknown_flow_is_404(tenant_client, make_user):
    login(tenant_client, make_user("operator"))
    assert tenant_client.get("/flows/999999/schedule/").status_code == 404
