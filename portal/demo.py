"""The demo tenant: a company whose Kashflow and AX are sandbox instance ``demo``."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from integrations.sandboxes import SandboxHub
from portal.tenants.models import Tenant
from portal.tenants.services import tenant_create

DEMO_SUBDOMAIN = "demo"
DEMO_COMPANY = "Brightside Print & Design Ltd"
DEMO_OWNER = "owner@demo.ledgerbridge.test"
DEMO_INSTANCE = "demo"


def demo_sandbox(hub: SandboxHub, *, invoices: int, reset: bool) -> None:
    """Create the demo's sandbox instance once (Kashflow + Dynamics AX), or again with ``reset``."""
    if hub.exists(DEMO_INSTANCE):
        if not reset:
            return
        hub.delete(DEMO_INSTANCE)
    hub.create(erp="dynamics_ax", size=invoices, instance_id=DEMO_INSTANCE, tenant=DEMO_SUBDOMAIN,
               label=DEMO_COMPANY, rng_seed=1)


def demo_tenant_setup(*, password: str, connection_fields: dict) -> Tenant:
    """Create (once) the demo tenant and point its sandbox connections at the demo instance."""
    from integrations.sync.sandbox_setup import connect_sandbox

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
        connect_sandbox(instance_id=DEMO_INSTANCE, fields=connection_fields)
    return tenant
