"""Test setup shared by the whole suite.

* The embedded PostgreSQL starts only when a test needs the database.
* Two tenants (alpha, beta) are created once per session and reused; tests run in a transaction.
* The network is blocked beyond loopback.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host in {"localhost"} or host.endswith(".localhost")
        if not loopback:
            raise ConnectionRefusedError(f"tests may not reach {host}: the network is blocked beyond loopback")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    import os

    from django.conf import settings

    from portal.db import ensure_embedded_postgres

    ensure_embedded_postgres()
    # One test database per pytest process, so two suites on one machine never drop each other's.
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_ledgerbridge_{os.getpid()}"


TEST_TENANTS = {"alpha": "Alpha Print Ltd", "beta": "Beta Supplies Ltd"}
TEST_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.db import connection

    from portal.tenants.models import Tenant
    from portal.tenants.services import tenant_create

    with django_db_blocker.unblock():
        for sub, name in TEST_TENANTS.items():
            if not Tenant.objects.filter(schema_name=sub).exists():  # a kept test database (--reuse-db)
                tenant_create(company_name=name, subdomain=sub, owner_email=f"owner@{sub}.test",
                              owner_password=TEST_PASSWORD)
        connection.set_schema_to_public()
    yield


@pytest.fixture
def public_schema(db):
    from django.db import connection

    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


def _use_tenant(schema: str):
    from django.db import connection

    from portal.tenants.models import Tenant

    connection.set_schema_to_public()
    tenant = Tenant.objects.get(schema_name=schema)
    connection.set_tenant(tenant)
    return tenant


@pytest.fixture
def tenant(db):
    """Alpha, active for the test; the connection is back on public afterwards."""
    from django.db import connection

    yield _use_tenant("alpha")
    connection.set_schema_to_public()


@pytest.fixture
def other_tenant(db):
    from portal.tenants.models import Tenant

    return Tenant.objects.get(schema_name="beta")


@pytest.fixture
def use_tenant(db):
    from django.db import connection

    yield _use_tenant
    connection.set_schema_to_public()


@pytest.fixture
def make_user(tenant):
    from portal.accounts.models import User

    def make(role: str, email: str | None = None):
        return User.objects.create_user(email=email or f"{role}.person@alpha.test", password=TEST_PASSWORD, role=role)

    return make


@pytest.fixture
def tenant_client(tenant):
    from django.test import Client

    return Client(HTTP_HOST="alpha.localhost")


@pytest.fixture
def public_client(public_schema):
    from django.test import Client

    return Client(HTTP_HOST="localhost")
