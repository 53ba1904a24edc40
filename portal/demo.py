"""The demo tenant: a company whose Kashflow and AX are the sandboxes."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from integrations.sandboxes import ax_url, kashflow_url
from integrations.sync.models import Connection, Flow, System
from portal.tenants.models import Tenant
from portal.tenants.services import tenant_create

DEMO_SUBDOMAIN = "demo"
DEMO_COMPANY = "Brightside Print & Design Ltd"
DEMO_OWNER = "owner@demo.ledgerbridge.test"


def demo_tenant_setup(*, password: str, creds: dict, kashflow_port: int, ax_port: int) -> Tenant:
    """Create (once) the demo tenant and point its sandbox connections at the running sandboxes."""
    connection.set_schema_to_public()
    tenant = Tenant.objects.filter(schema_name=DEMO_SUBDOMAIN).first()
    if tenant is None:
        tenant = tenant_create(company_name=DEMO_COMPANY, subdomain=DEMO_SUBDOMAIN, owner_email=DEMO_OWNER,
                               owner_password=password).tenant
    with schema_context(tenant.schema_name):
        from portal.accounts.models import User

        owner = User.objects.filter(email=DEMO_OWNER).first()
        if owner and not owner.check_password(password):
            owner.set_password(password)
            owner.save(update_fields=["password"])
        kf = _upsert_connection(
            "Kashflow (sandbox)", System.KASHFLOW, kashflow_url(kashflow_port),
            username=creds["kashflow"]["username"], password=creds["kashflow"]["password"],
            memorable_word=creds["kashflow"]["memorable_word"], settings={},
        )
        ax = _upsert_connection(
            "Dynamics AX (sandbox)", System.DYNAMICS_AX, ax_url(ax_port), username=creds["ax"]["username"],
            password=creds["ax"]["password"], memorable_word="",
            settings={"company": creds["ax"]["company"], "auth": "basic"},
        )
        Flow.objects.update_or_create(
            key="kashflow_invoices_to_ax",
            defaults={"name": "Kashflow sales invoices → AX free-text invoices", "source": kf, "target": ax,
                      "options": {"paid_only": True}},
        )
    return tenant


def _upsert_connection(name, system, url, *, username, password, memorable_word, settings) -> Connection:
    conn = Connection.objects.filter(system=system, is_sandbox=True).first() or Connection(system=system,
                                                                                           is_sandbox=True)
    conn.name, conn.base_url, conn.username = name, url, username
    conn.password, conn.memorable_word, conn.settings = password, memorable_word, settings
    conn.save()
    return conn
