"""The opt-in global prior: built from the confirmed mappings of tenants that share, per target ERP, only when
enough tenants contributed; used only by tenants that opted in; holds no tenant's codes or names."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from ai_copilot import gl_service, prior
from ai_copilot.models import CopilotSettings, GLFeedback
from portal.tenants.models import CopilotPrior

PAIRS = [("7502", "Telephone Costs Xyzzy", "601600", "Telephone and Internet Xyzzy"),
         ("4009", "Discounts Allowed", "403300", "Customer Cash Discounts")]


def contribute(use_tenant, schema: str, gl_flow_factory, *, share: bool) -> None:
    use_tenant(schema)
    options = CopilotSettings.current()
    options.share_prior = share
    options.save()
    flow = gl_flow_factory()
    for source, source_name, target, target_name in PAIRS:
        GLFeedback.objects.create(flow=flow, source_code=source, source_name=source_name, source_type="Expenditure",
                                  target_code=target, target_name=target_name, target_type="2", verdict="accepted")


@pytest.fixture
def flow_factory():
    from integrations.sync.models import Connection, Flow

    def make():
        kf = Connection.objects.create(name="KF prior", system="kashflow", base_url="http://127.0.0.1:9/v2")
        ax = Connection.objects.create(name="AX prior", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
        return Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices", source=kf, target=ax)
    return make


def test_a_prior_needs_enough_sharing_tenants_and_holds_no_names(use_tenant, flow_factory, settings, monkeypatch):
    monkeypatch.setattr(gl_service, "supports", lambda flow: False)  # no charts to read: feedback rows only
    settings.LEDGERBRIDGE_COPILOT_PRIOR_MIN_TENANTS = 2
    contribute(use_tenant, "alpha", flow_factory, share=True)
    contribute(use_tenant, "beta", flow_factory, share=False)
    connection.set_schema_to_public()
    assert prior.rebuild(force=True)["built"] is False  # one sharing tenant is not enough
    use_tenant("beta")
    options = CopilotSettings.current()
    options.share_prior = True
    options.save()
    connection.set_schema_to_public()
    built = prior.rebuild(force=True)
    assert built["built"] and built["systems"] == ["dynamics_ax"] and built["tenants"] == {"dynamics_ax": 2}
    row = CopilotPrior.objects.get(pk=built["id"])
    text = json.dumps(row.payload).lower()
    assert "xyzzy" not in text and "601600" not in text and "7502" not in text  # aggregates only
    use_tenant("alpha")
    found, found_id = prior.prior_for_tenant("dynamics_ax")
    assert found is not None and found_id == row.pk
    assert prior.prior_for_tenant("sage100") == (None, None)  # learnt on AX charts only
    options = CopilotSettings.current()
    options.share_prior = False
    options.save()
    assert prior.prior_for_tenant("dynamics_ax") == (None, None)  # opted out: not used either
