"""A tenant presses "Start a sandbox integration" and gets working, connected sandbox systems."""

from __future__ import annotations

import pytest

from integrations.sync.models import Connection, Flow, SyncRun
from integrations.sync.services import flow_run_request
from tests.portal.test_auth_and_roles import login


@pytest.fixture
def portal_sees_sandboxes(settings, sandbox_servers):
    settings.SANDBOX_CONTROL_URL = sandbox_servers.control_url
    settings.SANDBOX_TOKEN = sandbox_servers.token
    return sandbox_servers


@pytest.mark.parametrize("erp", ["dynamics_ax", "sage100"])
def test_start_a_sandbox_integration_connects_and_tests_both_systems(portal_sees_sandboxes, tenant_client, make_user,
                                                                     erp):
    login(tenant_client, make_user("admin"))
    answer = tenant_client.post("/sandbox/start/", {"erp": erp, "size": "tiny"})
    assert answer.status_code == 302
    conns = {c.system: c for c in Connection.objects.filter(is_sandbox=True)}
    assert set(conns) == {"kashflow", erp}
    assert all(c.status == Connection.Status.OK for c in conns.values()), [c.status_message for c in conns.values()]
    instance_id = conns["kashflow"].settings["sandbox_instance"]
    assert instance_id.startswith("alpha-") and portal_sees_sandboxes.hub.exists(instance_id)
    page = tenant_client.get("/sandbox/").content.decode()
    assert instance_id in page and "invoices" in page
    if erp == "dynamics_ax":
        run = flow_run_request(flow=Flow.objects.get(key="kashflow_invoices_to_ax"), inline=True)
        run.refresh_from_db()
        assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted > 0, run.message


def test_fault_presets_reach_the_running_sandbox(portal_sees_sandboxes, tenant_client, make_user):
    login(tenant_client, make_user("admin"))
    tenant_client.post("/sandbox/start/", {"erp": "dynamics_ax", "size": "tiny"})
    instance_id = Connection.objects.filter(is_sandbox=True).first().settings["sandbox_instance"]
    tenant_client.post(f"/sandbox/{instance_id}/faults/", {"preset": "kf_rate_limit"})
    state = portal_sees_sandboxes.hub.inspect(instance_id)["state"]
    assert state["kashflow"]["faults"]["config"] == {"rate_limit": {"every": 3, "retry_after": 1}}
    assert state["dynamics_ax"]["faults"]["config"] == {}
    tenant_client.post(f"/sandbox/{instance_id}/faults/", {"preset": "none"})
    assert portal_sees_sandboxes.hub.inspect(instance_id)["state"]["kashflow"]["faults"]["config"] == {}


def test_an_unreachable_sandbox_service_is_a_clear_message(settings, tenant_client, make_user):
    settings.SANDBOX_CONTROL_URL, settings.SANDBOX_TOKEN = "http://127.0.0.1:9", "x"
    login(tenant_client, make_user("admin"))
    answer = tenant_client.post("/sandbox/start/", {"erp": "sage100", "size": "tiny"}, follow=True)
    assert "not available right now" in answer.content.decode()
    assert not Connection.objects.exists()


def test_operators_cannot_start_one(portal_sees_sandboxes, tenant_client, make_user):
    login(tenant_client, make_user("operator"))
    assert tenant_client.post("/sandbox/start/", {"erp": "sage100", "size": "tiny"}).status_code == 403


@pytest.mark.parametrize("erp", ["dynamics_ax", "sage100"])
def test_every_fault_preset_is_accepted_by_the_emulators(portal_sees_sandboxes, tenant_client, make_user, erp):
    from portal.web.sandbox_views import FAULT_PRESETS

    login(tenant_client, make_user("admin"))
    tenant_client.post("/sandbox/start/", {"erp": erp, "size": "tiny"})
    instance_id = Connection.objects.filter(is_sandbox=True).first().settings["sandbox_instance"]
    for preset in FAULT_PRESETS:
        page = tenant_client.post(f"/sandbox/{instance_id}/faults/", {"preset": preset}, follow=True)
        assert "Sandbox now:" in page.content.decode(), (preset, page.content.decode()[-600:])


def test_a_new_pair_never_leaves_a_flow_between_two_instances(portal_sees_sandboxes, tenant_client, make_user):
    login(tenant_client, make_user("admin"))
    tenant_client.post("/sandbox/start/", {"erp": "dynamics_ax", "size": "tiny"})
    flow = Flow.objects.get(key="kashflow_invoices_to_ax")
    assert flow.enabled
    tenant_client.post("/sandbox/start/", {"erp": "sage100", "size": "tiny"})  # Kashflow now the Sage pair's
    flow.refresh_from_db()
    assert not flow.enabled  # its AX end still belongs to the first instance
    tenant_client.post("/sandbox/start/", {"erp": "dynamics_ax", "size": "tiny"})
    flow.refresh_from_db()
    assert flow.enabled and flow.source.settings["sandbox_instance"] == flow.target.settings["sandbox_instance"]
