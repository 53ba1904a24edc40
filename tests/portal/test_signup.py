import pytest
from django.db import connection

from portal.tenants.models import Domain, Tenant


def _signup(client, **overrides):
    data = {"company_name": "Gamma Foods Ltd", "subdomain": "gamma", "owner_email": "boss@gamma.test",
            "password": "a-long-enough-passphrase"}
    data.update(overrides)
    return client.post("/signup/", data)


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("alpha", "already taken"),
        ("admin", "is reserved"),
        ("www", "is reserved"),
        ("Bad_Name!", "lower-case letters"),
        ("9lives", "starting with a letter"),
        ("ab", "3 to 30"),
        ("trailing-", "not ending"),
    ],
)
def test_signup_rejects_bad_subdomains_with_a_form_error(public_client, subdomain, message):
    response = _signup(public_client, subdomain=subdomain)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Tenant.objects.filter(name="Gamma Foods Ltd").exists()


def test_signup_rejects_weak_password(public_client):
    response = _signup(public_client, password="password12")
    assert response.status_code == 400
    assert "too common" in response.content.decode()


def test_signup_creates_schema_domain_and_owner(public_client):
    response = _signup(public_client, subdomain="gamma-foods")
    assert response.status_code == 302
    tenant = Tenant.objects.get(schema_name="gamma_foods")
    assert Domain.objects.get(tenant=tenant).domain == "gamma-foods.localhost"
    connection.set_tenant(tenant)
    from portal.accounts.models import User

    owner = User.objects.get()
    assert owner.email == "boss@gamma.test" and owner.role == "owner"
    assert owner.check_password("a-long-enough-passphrase")
    connection.set_schema_to_public()
    done = public_client.get(response["Location"])
    assert "http://gamma-foods.localhost:8000/login/" in done.content.decode()
