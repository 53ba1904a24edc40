import logging

from django.db import connection

from integrations.sync.models import Connection
from portal.crypto import Secret
from portal.logging import RedactSecretsFilter, redact
from tests.portal.test_auth_and_roles import login


def test_secrets_are_encrypted_at_rest_and_hidden_in_repr(tenant):
    conn = Connection.objects.create(name="KF", system="kashflow", base_url="http://127.0.0.1:9/v2",
                                     username="u", password="hunter2-secret", memorable_word="pineapple")
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, memorable_word FROM sync_connection WHERE id = %s", [conn.pk])
        raw_password, raw_word = cursor.fetchone()
    assert "hunter2" not in raw_password and raw_password.startswith("fernet:")
    assert "pineapple" not in raw_word
    fresh = Connection.objects.get(pk=conn.pk)
    assert fresh.password == "hunter2-secret" and isinstance(fresh.password, Secret)
    assert "hunter2" not in repr(fresh.password)


def test_secrets_are_never_rendered_back(tenant_client, make_user):
    conn = Connection.objects.create(name="KF", system="kashflow", base_url="http://127.0.0.1:9/v2",
                                     username="u", password="hunter2-secret", memorable_word="pineapple")
    login(tenant_client, make_user("owner"))
    for url in ("/", "/connections/", f"/connections/{conn.pk}/"):
        body = tenant_client.get(url).content.decode()
        assert "hunter2" not in body and "pineapple" not in body


def test_blank_secret_on_edit_keeps_the_stored_one(tenant_client, make_user):
    conn = Connection.objects.create(name="KF", system="kashflow", base_url="http://127.0.0.1:9/v2",
                                     username="u", password="hunter2-secret", memorable_word="pineapple")
    login(tenant_client, make_user("owner"))
    response = tenant_client.post(f"/connections/{conn.pk}/", {
        "name": "KF", "base_url": "http://127.0.0.1:9/v2", "username": "u2", "password": "", "memorable_word": ""})
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.username == "u2" and conn.password == "hunter2-secret" and conn.memorable_word == "pineapple"


def test_log_filter_redacts_credentials():
    assert "s3cret" not in redact("login failed password=s3cret for user")
    assert "abcdef123456" not in redact("Authorization: KfToken abcdef123456")
    assert "pw" not in redact("http://user:pw@host/path").split("@")[0].split(":")[-1]
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token: %s", ("abcd-efgh-ijkl",), None)
    RedactSecretsFilter().filter(record)
    assert "abcd-efgh" not in record.getMessage()
