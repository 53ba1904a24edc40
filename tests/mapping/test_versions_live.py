"""Publishing against the live target (chart of accounts and dimension values), what happens when it cannot be
read, and the inbox's publish-only-the-fix (``publish_patch``)."""

from __future__ import annotations

import pytest

from integrations.core.errors import TransientError
from integrations.sync.models import Connection, Flow
from mapping import versions as v
from portal.accounts.models import AuditEntry

FLOW_KEY = "kashflow_invoices_to_ax"


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key=FLOW_KEY, name="Invoices to AX", source=kf, target=ax)


@pytest.fixture
def live(flow, monkeypatch):
    """The target as readable: every account the defaults name, and the AX sandbox's dimension values."""
    chart = {account: "" for account in v.published_version(flow).rules["gl_accounts"].values()}
    chart.update({"401150": "", "401300": ""})
    dimensions = {"BusinessUnit": {"001", "002"}, "Department": {"022", "023", "024"}, "CostCenter": {"007"}}
    monkeypatch.setattr(v, "live_chart", lambda f: chart)
    monkeypatch.setattr(v, "live_dimensions", lambda f: dimensions)
    return chart, dimensions


def unreachable(flow):
    raise TransientError("the ODBC connection timed out", system="Dynamics AX")


def with_account(rules, code, account):
    return {**rules, "gl_accounts": {**rules["gl_accounts"], code: account}}


# ---------------------------------------------------------------------------------------------- the live check

def test_a_publish_checks_dimension_values_against_the_target(flow, live):
    rules = {**v.published_version(flow).rules,
             "dimension_rules": [{"when": "invoice.total > 100", "set": {"Department": "099"}}]}
    v.save_draft(flow, rules)
    with pytest.raises(v.InvalidMapping) as refused:
        v.publish_draft(flow)
    assert [e.to_dict() for e in refused.value.errors] == [
        {"path": "dimension_rules[0].set.Department", "position": None,
         "message": "099 is not a value of the target's Department dimension"}]
    assert v.published_version(flow).number == 1
    v.save_draft(flow, {**rules, "dimension_rules": [{"when": "invoice.total > 100", "set": {"Department": "023"}}]})
    published = v.publish_draft(flow)
    assert published.number == 2 and published.warnings == []


def test_a_target_that_cannot_be_read_is_a_warning_on_the_version_and_in_the_audit(flow, live, monkeypatch):
    monkeypatch.setattr(v, "live_chart", unreachable)
    v.save_draft(flow, with_account(v.published_version(flow).rules, "4000", "401150"))
    published = v.publish_draft(flow)
    assert published.number == 2
    assert published.warnings == ["chart not checked: Dynamics AX: the ODBC connection timed out"]
    entry = AuditEntry.objects.filter(action="mapping.published").latest("pk")
    assert entry.changes["warnings"] == published.warnings


def test_require_live_check_refuses_to_publish_what_could_not_be_checked(flow, live, monkeypatch):
    monkeypatch.setattr(v, "live_dimensions", unreachable)
    v.save_draft(flow, with_account(v.published_version(flow).rules, "4000", "401150"))
    with pytest.raises(v.MappingError) as refused:
        v.publish_draft(flow, require_live_check=True)
    assert refused.value.code == "live_check_failed"
    assert "dimension values not checked: Dynamics AX: the ODBC connection timed out" in refused.value.message
    assert v.published_version(flow).number == 1 and v.draft_version(flow) is not None
    assert v.publish_draft(flow).warnings == [
        "dimension values not checked: Dynamics AX: the ODBC connection timed out"]
    with pytest.raises(v.MappingError) as refused:  # a rollback is a publish: the same check
        v.rollback(flow, 1, require_live_check=True)
    assert refused.value.code == "live_check_failed" and v.published_version(flow).number == 2
    assert v.rollback(flow, 1).warnings == ["dimension values not checked: Dynamics AX: the ODBC connection timed out"]


def test_a_target_without_odbc_settings_publishes_with_a_warning_naming_it(flow):
    v.save_draft(flow, with_account(v.published_version(flow).rules, "4000", "401150"))
    published = v.publish_draft(flow)  # the real readers: the AX connection has no ODBC settings
    assert published.warnings == [
        "chart not checked: the AX connection has no ODBC settings to read it with",
        "dimension values not checked: the AX connection has no ODBC settings to read it with"]


def test_a_target_with_nothing_to_check_gives_no_warning(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    flow = Flow.objects.create(key="ax_customers_to_kashflow", name="Customers", source=ax, target=kf)
    v.save_draft(flow, {**v.published_version(flow).rules, "code_map": {"GB-0001": "ABF"}})
    assert v.publish_draft(flow).warnings == []  # Kashflow has no chart to check against


# ---------------------------------------------------------------------------------------------- publish_patch

def test_a_patch_publishes_only_the_fix_and_the_open_draft_takes_it_too(flow, live, make_user):
    admin = make_user("admin")
    v1 = v.published_version(flow)
    v.save_draft(flow, with_account(v1.rules, "4000", "401150"), note="not reviewed yet")
    v2 = v.publish_patch(flow, "gl_accounts", {"4010": "401300"}, actor=admin, note="4010 from the inbox")
    assert (v2.number, v2.note, v2.based_on, v2.published_by) == (2, "4010 from the inbox", v1, admin)
    assert v2.rules["gl_accounts"]["4010"] == "401300"
    assert v2.rules["gl_accounts"]["4000"] == "401100"  # the draft's unreviewed edit did not go live
    assert v2.rules == with_account(v1.rules, "4010", "401300") and v2.warnings == []
    draft = v.draft_version(flow)
    assert draft.rules["gl_accounts"]["4010"] == "401300" and draft.rules["gl_accounts"]["4000"] == "401150"
    assert draft.based_on == v2  # it holds the fix: not stale
    v3 = v.publish_draft(flow)  # no force needed, and the fix stays
    assert v3.rules["gl_accounts"]["4010"] == "401300" and v3.rules["gl_accounts"]["4000"] == "401150"
    published = AuditEntry.objects.filter(action="mapping.published").order_by("pk").first()
    assert published.changes["patch"] == {"gl_accounts": {"4010": "401300"}} and published.actor == admin
    patched = AuditEntry.objects.filter(action="mapping.draft_saved").latest("pk")
    assert patched.changes["patched_by"] == 2 and '+ 4010: "401300"' in patched.changes["diff"]


def test_a_patch_without_a_draft_opens_none(flow, live):
    version = v.publish_patch(flow, "customer_accounts", {"ABF001": "GB-0001"}, actor=None, note="")
    assert version.rules["customer_accounts"] == {"ABF001": "GB-0001"}
    assert version.note == "customer_accounts: ABF001 -> GB-0001" and v.draft_version(flow) is None


def test_a_stale_draft_gets_the_fix_but_stays_stale(flow, live):
    v1 = v.published_version(flow)
    v.save_draft(flow, with_account(v1.rules, "4000", "401150"))
    v.publish(flow, with_account(v1.rules, "4002", "401300"), note="someone else")  # v2: the draft is stale
    v3 = v.publish_patch(flow, "gl_accounts", {"4010": "401300"}, actor=None, note="")
    assert v3.rules["gl_accounts"]["4002"] == "401300" and v3.rules["gl_accounts"]["4010"] == "401300"
    draft = v.draft_version(flow)
    assert draft.rules["gl_accounts"]["4010"] == "401300" and draft.based_on == v1
    with pytest.raises(v.MappingError) as refused:
        v.publish_draft(flow)
    assert refused.value.code == "stale_draft"  # it would still undo v2's change


def test_a_patch_is_validated_like_any_publish_and_refuses_empty_or_misplaced_fixes(flow, live):
    with pytest.raises(v.InvalidMapping) as invalid:
        v.publish_patch(flow, "gl_accounts", {"4010": "999999"}, actor=None, note="")
    assert invalid.value.errors[0].path == "gl_accounts.4010"
    with pytest.raises(v.MappingError) as same:
        v.publish_patch(flow, "gl_accounts", {"4000": "401100"}, actor=None, note="")
    assert same.value.code == "no_changes"
    for section, entries in (("gl_accounts", {}), ("gl_accounts", {"4010": " "}), ("routing", {"a": "b"})):
        with pytest.raises(v.MappingError) as refused:
            v.publish_patch(flow, section, entries, actor=None, note="")
        assert refused.value.code == "invalid_value", (section, entries)
    assert v.published_version(flow).number == 1


def test_a_patch_goes_through_while_the_erp_is_unreachable_unless_the_check_is_required(flow, live, monkeypatch):
    monkeypatch.setattr(v, "live_chart", unreachable)
    v.start_draft(flow)
    with pytest.raises(v.MappingError) as refused:
        v.publish_patch(flow, "gl_accounts", {"4010": "401300"}, actor=None, note="", require_live_check=True)
    assert refused.value.code == "live_check_failed"
    assert v.published_version(flow).number == 1 and "4010" not in v.draft_version(flow).rules["gl_accounts"]
    version = v.publish_patch(flow, "gl_accounts", {"4010": "401300"}, actor=None, note="")
    assert version.number == 2
    assert version.warnings == ["chart not checked: Dynamics AX: the ODBC connection timed out"]
    assert v.draft_version(flow).rules["gl_accounts"]["4010"] == "401300"
