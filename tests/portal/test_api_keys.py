"""Partner API keys: made by admins, shown once, stored hashed, acting with the chosen person's role."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.accounts.models import ApiKey, AuditEntry
from portal.api.auth import issue_key
from tests.portal.test_auth_and_roles import login


def api(key: str | None) -> Client:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return Client(HTTP_HOST="alpha.localhost", **headers)


def test_a_key_authenticates_api_calls_without_a_session_or_csrf(make_user):
    operator = make_user("operator")
    _key, text = issue_key(operator, "Partner")
    client = api(text)
    assert client.get("/api/v1/runs/").status_code == 200
    # A write needs no CSRF token with a key (no cookie is involved); bad input is a clear 400.
    answer = client.post("/api/v1/records/replay/", {"ids": [999999], "mapping": "current"},
                         content_type="application/json")
    assert answer.status_code == 400


def test_the_key_carries_its_users_role(make_user):
    _key, text = issue_key(make_user("viewer"), "Read only")
    answer = api(text).post("/api/v1/records/ignore/", {"ids": [1]}, content_type="application/json")
    assert answer.status_code == 403


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "lb_nothing_here", lambda t: "lb_", None])
def test_wrong_malformed_or_missing_keys_are_refused(make_user, mangle):
    _key, text = issue_key(make_user("operator"), "Partner")
    answer = api(mangle(text) if mangle else None).get("/api/v1/runs/")
    assert answer.status_code in (401, 403)
    if mangle:
        assert answer.status_code == 401 and answer["WWW-Authenticate"] == "Bearer"


def test_revoked_keys_and_inactive_users_are_refused(make_user):
    user = make_user("operator")
    key, text = issue_key(user, "Partner")
    assert api(text).get("/api/v1/runs/").status_code == 200
    user.is_active = False
    user.save()
    assert api(text).get("/api/v1/runs/").status_code == 401
    user.is_active = True
    user.save()
    key.revoked_at = key.created_at
    key.save()
    assert api(text).get("/api/v1/runs/").status_code == 401


def test_only_a_hash_is_stored(make_user):
    key, text = issue_key(make_user("operator"), "Partner")
    secret = text.split("_", 2)[2]
    stored = ApiKey.objects.filter(pk=key.pk).values_list("prefix", "key_hash", "name")[0]
    assert all(secret not in str(value) for value in stored)


def test_admins_make_a_key_see_it_once_and_revoke_it(tenant_client, make_user):
    admin = make_user("admin")
    login(tenant_client, admin)
    page = tenant_client.post("/api-keys/", {"name": "Acme partner", "user": admin.pk}).content.decode()
    key = ApiKey.objects.get(name="Acme partner")
    assert f"lb_{key.prefix}_" in page and "not shown again" in page
    listing = tenant_client.get("/api-keys/").content.decode()
    assert f"lb_{key.prefix}_…" in listing and "not shown again" not in listing
    assert tenant_client.post(f"/api-keys/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"api_key.created", "api_key.revoked"}


def test_operators_cannot_manage_keys(tenant_client, make_user):
    login(tenant_client, make_user("operator"))
    assert tenant_client.get("/api-keys/").status_code == 403
