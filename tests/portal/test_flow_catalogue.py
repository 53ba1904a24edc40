"""The flow catalogue page: the pair's flows, switching on/off (with exclusions), options as validated JSON."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.sync.flows import FLOWS
from integrations.sync.models import Connection, Flow
from portal.accounts.models import AuditEntry
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def ax_pair(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return kf, ax


def signed_in(role, make_user) -> Client:
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.login(username=make_user(role).email, password=TEST_PASSWORD)
    return client


def test_catalogue_lists_only_the_pairs_flows(ax_pair, make_user):
    page = signed_in("viewer", make_user).get("/flows/").content.decode()
    assert "kashflow_invoices_to_ax" in page and "ax_customers_to_kashflow" in page
    assert "kashflow_invoices_to_sage" not in page  # no Sage connection
    assert "Switch on" not in page  # viewers see the state, not the buttons


def test_admin_switches_a_flow_on_and_off_audited(ax_pair, make_user):
    client = signed_in("admin", make_user)
    response = client.post("/flows/kashflow_invoices_to_ax/switch/", {"enabled": "on"})
    assert response.status_code == 302
    flow = Flow.objects.get(key="kashflow_invoices_to_ax")
    assert flow.enabled and flow.source == ax_pair[0] and flow.target == ax_pair[1]
    assert flow.options == FLOWS["kashflow_invoices_to_ax"].default_options
    client.post("/flows/kashflow_invoices_to_ax/switch/", {"enabled": "off"})
    flow.refresh_from_db()
    assert not flow.enabled
    assert AuditEntry.objects.filter(action__in=["flow.created", "flow.switched"]).count() == 2


def test_excluded_flows_cannot_both_be_on(ax_pair, make_user):
    excluding = next((d for d in FLOWS.values() if d.excludes), None)
    if excluding is None:
        pytest.skip("no flow in the catalogue excludes another")
    other = FLOWS[excluding.excludes[0]]
    kf, ax = ax_pair
    conns = {"kashflow": kf, "dynamics_ax": ax}
    if other.target_system not in conns or excluding.target_system not in conns:
        sage = Connection.objects.create(name="Sage", system="sage100", base_url="http://127.0.0.1:9/sage")
        conns["sage100"] = sage
    Flow.objects.create(key=other.key, name=other.name, source=conns[other.source_system],
                        target=conns[other.target_system], enabled=True)
    client = signed_in("admin", make_user)
    response = client.post(f"/flows/{excluding.key}/switch/", {"enabled": "on"}, follow=True)
    assert "Switch that one off first" in response.content.decode()
    assert not Flow.objects.filter(key=excluding.key, enabled=True).exists()


def test_options_are_validated_json_objects(ax_pair, make_user):
    client = signed_in("admin", make_user)
    client.post("/flows/kashflow_invoices_to_ax/switch/", {"enabled": "on"})
    bad = client.post("/flows/kashflow_invoices_to_ax/options/", {"options": '{"paid_only": tru'}, follow=True)
    assert "not saved" in bad.content.decode() and "line 1" in bad.content.decode()
    not_object = client.post("/flows/kashflow_invoices_to_ax/options/", {"options": "[1]"}, follow=True)
    assert "must be a JSON object" in not_object.content.decode()
    assert Flow.objects.get(key="kashflow_invoices_to_ax").options == {"paid_only": True}
    client.post("/flows/kashflow_invoices_to_ax/options/", {"options": '{"paid_only": false, "batch_size": 50}'})
    assert Flow.objects.get(key="kashflow_invoices_to_ax").options == {"paid_only": False, "batch_size": 50}


def test_viewer_cannot_switch(ax_pair, make_user):
    response = signed_in("viewer", make_user).post("/flows/kashflow_invoices_to_ax/switch/", {"enabled": "on"})
    assert response.status_code in (302, 403)
    assert not Flow.objects.filter(key="kashflow_invoices_to_ax").exists()
