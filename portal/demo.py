"""The demo companies: one per integration pair, each a tenant wired to its own sandbox instance.

* ``demo`` — Brightside Print & Design Ltd, Kashflow ↔ Microsoft Dynamics AX (sandbox instance ``demo``);
* ``demo-sage`` — Northgate Outdoor Supply Co, Kashflow ↔ Sage 100 (sandbox instance ``demo-sage``);
* ``demo-batch`` — Harbour Lane Cafés Ltd, Kashflow ↔ Dynamics AX posting *summarised*: one general journal per
  day instead of an invoice per invoice (sandbox instance ``demo-batch``).

The owners share the demo password. Every flow of the pair's catalogue is switched on by the same
"Start a sandbox integration" wiring a new tenant gets (``connect_sandbox``); the summarised company switches
its summary flow on and the record-by-record flows it replaces off, as a tenant would on the Flows page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django_tenants.utils import schema_context

from integrations.sandboxes import SandboxHub
from portal.tenants.models import Tenant
from portal.tenants.services import schema_name_for, tenant_create


@dataclass(frozen=True)
class DemoCompany:
    subdomain: str
    company: str
    owner: str
    instance: str
    erp: str
    rng_seed: int
    summarised: bool = False
    anomaly_mode: str = "mark"  # what the co-pilot does with flagged records (set once, the tenant may change it)

    @property
    def schema_name(self) -> str:
        return schema_name_for(self.subdomain)


DEMOS = (
    DemoCompany("demo", "Brightside Print & Design Ltd", "owner@demo.ledgerbridge.test", "demo", "dynamics_ax", 1,
                anomaly_mode="hold"),
    DemoCompany("demo-sage", "Northgate Outdoor Supply Co", "owner@demo-sage.ledgerbridge.test", "demo-sage",
                "sage100", 2),
    DemoCompany("demo-batch", "Harbour Lane Cafés Ltd", "owner@demo-batch.ledgerbridge.test", "demo-batch",
                "dynamics_ax", 3, summarised=True),
)
# Kept for callers that only know the first demo.
DEMO_SUBDOMAIN = DEMOS[0].subdomain
DEMO_COMPANY = DEMOS[0].company
DEMO_OWNER = DEMOS[0].owner
DEMO_INSTANCE = DEMOS[0].instance


def demo_sandbox(hub: SandboxHub, demo: DemoCompany = DEMOS[0], *, invoices: int, reset: bool) -> bool:
    """Create the demo's sandbox instance once (Kashflow + its ERP), or again with ``reset``; an instance an older
    Ledgerbridge created in a format this one cannot serve is seeded again (same credentials). True when the
    instance's data is new (the tenant's flows must forget the old data)."""
    if hub.exists(demo.instance):
        if hub.get(demo.instance).outdated:
            hub.reseed(demo.instance, size=invoices)
            return True
        if not reset:
            return False
        hub.delete(demo.instance)
    hub.create(erp=demo.erp, size=invoices, instance_id=demo.instance, tenant=demo.subdomain, label=demo.company,
               rng_seed=demo.rng_seed)
    return True


def demo_tenant_setup(demo: DemoCompany = DEMOS[0], *, password: str, connection_fields: dict,
                      fresh_data: bool = False) -> Tenant:
    """Create (once) the demo tenant and point its sandbox connections at the demo instance."""
    from integrations.sync.sandbox_setup import connect_sandbox, forget_sandbox_history

    connection.set_schema_to_public()
    tenant = Tenant.objects.filter(schema_name=demo.schema_name).first()
    if tenant is None:
        tenant = tenant_create(company_name=demo.company, subdomain=demo.subdomain, owner_email=demo.owner,
                               owner_password=password).tenant
    with schema_context(tenant.schema_name):
        from portal.accounts.models import User

        owner = User.objects.filter(email=demo.owner).first()
        if owner and not owner.check_password(password):
            owner.set_password(password)
            owner.save(update_fields=["password"])
        if fresh_data:
            forget_sandbox_history(demo.instance)
        flows = connect_sandbox(instance_id=demo.instance, fields=connection_fields).flows
        if demo.summarised:
            use_summarised_posting(flows)
        copilot_setup(demo)
    return tenant


def copilot_setup(demo: DemoCompany) -> None:
    """The demo companies share the global prior, and the first holds what the co-pilot flags (the others mark
    it). Only when the company has no co-pilot settings yet: what a visitor changed stays."""
    from ai_copilot.models import CopilotSettings

    if not CopilotSettings.objects.exists():
        CopilotSettings.objects.create(anomaly_mode=demo.anomaly_mode, share_prior=True)


def use_summarised_posting(flows) -> None:
    """Switch the batch (summarised) flows on and the record-by-record flows they replace off."""
    from integrations.sync.flows import FLOWS
    from integrations.sync.models import Flow

    for flow in flows:
        definition = FLOWS.get(flow.key)
        if definition is None or definition.trigger != "batch":
            continue
        Flow.objects.filter(key__in=definition.excludes).update(enabled=False)
        if not flow.enabled:
            flow.enabled = True
            flow.save(update_fields=["enabled"])
