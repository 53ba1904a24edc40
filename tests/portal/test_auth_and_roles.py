import pytest
from django.test import Client

from integrations.sync.models import Connection, Flow
from tests.conftest import TEST_PASSWORD


def login(client, user):
    response = client.post("/login/", {"username": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax",
                                   settings={"company": "GBSI", "auth": "basic"})
    return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=kf, target=ax)


def test_dashboard_requires_login(tenant_client):
    response = tenant_client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_and_logout(tenant_client, make_user, flow):
    user = make_user("viewer")
    login(tenant_client, user)
    page = tenant_client.get("/")
    assert page.status_code == 200 and "Kashflow" in page.content.decode()
    tenant_client.post("/logout/")
    assert tenant_client.get("/").status_code == 302


def test_wrong_password_gets_a_form_error(tenant_client, make_user):
    user = make_user("viewer")
    response = tenant_client.post("/login/", {"username": user.email, "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert "enter a correct" in response.content.decode().lower()


def test_users_of_one_tenant_cannot_log_in_to_another(make_user, use_tenant):
    make_user("owner", email="only-alpha@alpha.test")
    use_tenant("beta")
    client = Client(HTTP_HOST="beta.localhost")
    response = client.post("/login/", {"username": "only-alpha@alpha.test", "password": TEST_PASSWORD})
    assert response.status_code == 200  # form error, not a redirect into beta


@pytest.mark.parametrize(
    ("role", "run_now", "edit_connection", "people"),
    [("viewer", 403, 403, 403), ("operator", 302, 403, 403), ("admin", 302, 200, 200), ("owner", 302, 200, 200)],
)
def test_roles_are_enforced_on_views(tenant_client, make_user, flow, role, run_now, edit_connection, people,
                                     monkeypatch):
    monkeypatch.setattr("portal.web.views.flow_run_request", lambda **kw: type("R", (), {"pk": 1})())
    login(tenant_client, make_user(role))
    assert tenant_client.post(f"/flows/{flow.pk}/run/").status_code == run_now
    assert tenant_client.get(f"/connections/{flow.source.pk}/").status_code == edit_connection
    assert tenant_client.get("/users/").status_code == people


def test_admin_cannot_create_an_owner(tenant_client, make_user):
    login(tenant_client, make_user("admin"))
    response = tenant_client.post("/users/", {"email": "x@alpha.test", "role": "owner",
                                              "password": "another-long-one-9"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_suspended_tenant_site_is_closed(tenant_client, tenant):
    tenant.is_active = False
    tenant.save()
    response = tenant_client.get("/login/")
    assert response.status_code == 403
    assert "suspended" in response.content.decode()


def test_unknown_host_is_404(db):
    assert Client(HTTP_HOST="nobody.localhost").get("/").status_code == 404


def test_staff_admin_lists_and_suspends_tenants(public_client):
    from portal.accounts.models import User
    from portal.tenants.models import Tenant

    User.objects.create_superuser(email="staff@ledgerbridge.test", password=TEST_PASSWORD)
    assert public_client.login(email="staff@ledgerbridge.test", password=TEST_PASSWORD)
    listing = public_client.get("/admin/tenants/tenant/")
    assert listing.status_code == 200 and "Alpha Print Ltd" in listing.content.decode()
    alpha = Tenant.objects.get(schema_name="alpha")
    response = public_client.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [alpha.pk]})
    assert response.status_code == 302
    alpha.refresh_from_db()
    assert alpha.is_active is False


def test_admin_site_is_not_served_on_tenant_sites(tenant_client):
    assert tenant_client.get("/admin/").status_code == 404
