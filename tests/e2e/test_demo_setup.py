"""The demo's wiring: every flow of the pair on, and the summarised company swaps modes like a tenant would."""

from __future__ import annotations

from integrations.sync.flows import FLOWS
from integrations.sync.models import Flow
from integrations.sync.sandbox_setup import connect_sandbox
from portal.demo import DEMOS, use_summarised_posting


def _pair_keys(erp: str) -> set[str]:
    return {k for k, d in FLOWS.items() if {d.source_system, d.target_system} <= {"kashflow", erp}}


def test_a_pair_gets_every_flow_of_its_catalogue_and_only_those(tenant, sage_pair):
    flows = connect_sandbox(instance_id=sage_pair.id, fields=sage_pair.fields).flows
    assert {f.key for f in flows} == _pair_keys("sage100")
    on = set(Flow.objects.filter(enabled=True).values_list("key", flat=True))
    assert on == {k for k in _pair_keys("sage100") if FLOWS[k].enabled_by_default}
    assert all(f.schedule.enabled for f in Flow.objects.filter(enabled=True))


def test_summarised_company_posts_by_journal_instead_of_by_invoice(tenant, ax_pair):
    assert [d.subdomain for d in DEMOS if d.summarised] == ["demo-batch"]
    flows = connect_sandbox(instance_id=ax_pair.id, fields=ax_pair.fields).flows
    use_summarised_posting(flows)
    on = set(Flow.objects.filter(enabled=True).values_list("key", flat=True))
    assert "kashflow_summary_to_ax" in on
    assert not on & set(FLOWS["kashflow_summary_to_ax"].excludes)
    assert {"ax_customers_to_kashflow", "ax_stock_to_kashflow"} <= on  # the rest of the pair stays on


def test_after_a_reseed_the_flows_forget_the_old_data(tenant, ax_pair):
    from integrations.sync.models import Binding, FlowCursor, SyncRecord
    from integrations.sync.sandbox_setup import forget_sandbox_history
    from tests.e2e.helpers import run_inline

    flows = {f.key: f for f in connect_sandbox(instance_id=ax_pair.id, fields=ax_pair.fields).flows}
    assert run_inline(flows["ax_customers_to_kashflow"]).records_posted
    assert SyncRecord.objects.exists() and Binding.objects.exists() and FlowCursor.objects.exists()
    forgotten = forget_sandbox_history(ax_pair.id)
    assert forgotten["records"] and forgotten["bindings"]
    assert not SyncRecord.objects.exists() and not Binding.objects.exists() and not FlowCursor.objects.exists()
    assert forget_sandbox_history("some-other-instance") == {k: 0 for k in forgotten}


def test_the_demo_companies_share_the_prior_and_the_first_holds_flags_once(tenant):
    from ai_copilot.models import CopilotSettings
    from portal.demo import copilot_setup

    copilot_setup(DEMOS[0])
    options = CopilotSettings.current()
    assert (options.anomaly_mode, options.share_prior) == ("hold", True)
    options.anomaly_mode = "off"
    options.save()
    copilot_setup(DEMOS[0])  # a visitor's change stays
    assert CopilotSettings.current().anomaly_mode == "off"
