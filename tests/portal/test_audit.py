from portal.accounts.models import AuditEntry
from tests.conftest import TEST_PASSWORD


def test_editing_a_connection_is_audited_without_secret_values(tenant_client, make_user):
    from integrations.sync.models import Connection

    admin = make_user("admin")
    conn = Connection.objects.create(name="KF", system="kashflow", base_url="https://api.kashflow.com/v2",
                                     username="me", password="old-secret-1")
    tenant_client.login(username=admin.email, password=TEST_PASSWORD)
    answer = tenant_client.post(f"/connections/{conn.pk}/", {
        "name": "Kashflow live", "base_url": "https://api.kashflow.com/v2", "username": "me",
        "password": "new-secret-2", "memorable_word": "", "company": "", "auth": "ntlm"})
    assert answer.status_code == 302
    entry = AuditEntry.objects.get(action="connection.updated")
    assert entry.actor == admin and entry.target_label == "Kashflow live"
    assert entry.changes["name"] == ["KF", "Kashflow live"] and entry.changes["password"] == "(changed)"
    assert "new-secret-2" not in str(entry.changes) and "old-secret-1" not in str(entry.changes)
    page = tenant_client.get("/audit/?q=connection")
    assert page.status_code == 200 and b"connection.updated" in page.content


def test_the_audit_log_is_for_admins(tenant_client, make_user):
    operator = make_user("operator")
    tenant_client.login(username=operator.email, password=TEST_PASSWORD)
    assert tenant_client.get("/audit/").status_code == 403
