"""AX customers -> Kashflow customers (AX is master), proven against the sandboxes of the AX pair.

Each test drives the real pipeline (AX database over ODBC -> engine -> Kashflow sandbox API) and then reads what
the Kashflow account holds: every AX customer once, with AX's name and address.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from integrations.dynamics_ax.sandbox.seed import add_customer
from integrations.dynamics_ax.sandbox.store import timestamp
from integrations.sync import pipeline
from integrations.sync.models import Binding, FlowCursor, SyncRecord, SyncRun
from tests.e2e.helpers import WorkerDied, run_inline

COMPANY = "gbsi"


@pytest.fixture
def customer_flow(tenant, ax_pair, kashflow_sandbox, ax_sandbox):
    """The tenant wired to the AX pair exactly as "Start a sandbox integration" wires it."""
    from integrations.sync.sandbox_setup import connect_sandbox

    flows = connect_sandbox(instance_id=ax_pair.id, fields=ax_pair.fields).flows
    return next(f for f in flows if f.key == "ax_customers_to_kashflow")


def ax_customers(ax_store) -> dict[str, dict]:
    rows = ax_store.query(
        "SELECT C.RECID, C.ACCOUNTNUM, C.PARTY, C.MODIFIEDDATETIME, P.NAME, P.PRIMARYADDRESSLOCATION "
        "FROM CUSTTABLE C JOIN DIRPARTYTABLE P ON P.RECID = C.PARTY WHERE C.DATAAREAID = ?", (COMPANY,))
    return {row["ACCOUNTNUM"]: row for row in rows}


def kashflow_codes(store) -> Counter:
    codes, page = Counter(), 1
    while True:
        result = store.list_customers(page=page, perpage=100)
        codes.update(str(item["Code"]).upper() for item in result.items)
        if page * 100 >= result.total:
            return codes
        page += 1


def assert_every_ax_customer_in_kashflow_once(ax_sandbox, kashflow_sandbox) -> set[str]:
    accounts = {a.upper() for a in ax_customers(ax_sandbox.store)}
    codes = kashflow_codes(kashflow_sandbox.store)
    assert accounts <= set(codes), sorted(accounts - set(codes))
    assert set(codes.values()) == {1}
    assert not SyncRecord.objects.exclude(message_id="").exists()
    return accounts


def test_first_run_carries_every_customer_once_and_a_second_run_does_nothing(customer_flow, ax_sandbox,
                                                                          kashflow_sandbox):
    before = kashflow_codes(kashflow_sandbox.store)
    first = run_inline(customer_flow)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    accounts = assert_every_ax_customer_in_kashflow_once(ax_sandbox, kashflow_sandbox)
    assert first.records_posted == len(accounts)
    assert first.target_calls == len(accounts)  # one customer per call: Kashflow has no batch API
    # The sandbox seeded Kashflow with AX's customers under AX's account numbers: updated, not duplicated.
    assert sum(kashflow_codes(kashflow_sandbox.store).values()) == sum(before.values())
    assert Binding.objects.filter(entity="customer").count() == len(accounts)
    assert set(Binding.objects.values_list("external_id", flat=True)) == set(ax_customers(ax_sandbox.store))
    cursor = FlowCursor.objects.get(flow=customer_flow).value
    assert cursor["custtable"]["modified"] and cursor["dirpartytable"]["modified"]

    second = run_inline(customer_flow)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    assert second.records_posted == 0 and second.target_calls == 0


def test_a_customer_created_in_ax_appears_in_kashflow(customer_flow, ax_sandbox, kashflow_sandbox):
    run_inline(customer_flow)
    add_customer(ax_sandbox.store, {"company": COMPANY, "account": "C-NEW1", "name": "Newly Made Ltd",
                                    "currency": "GBP", "address": {"street": "1 New Street", "city": "Leeds",
                                                                  "zip": "LS1 1AA", "country": "GBR"},
                                    "email": "ap@newly.example"})
    run = run_inline(customer_flow)
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted == 1 and run.target_calls == 1
    customer = kashflow_sandbox.store.get_customer("C-NEW1")
    assert customer["Name"] == "Newly Made Ltd"
    address = customer["Addresses"][0]
    assert (address["Line1"], address["Line2"], address["PostCode"], address["CountryCode"]) == (
        "1 New Street", "Leeds", "LS1 1AA", "GB")
    assert customer["Currency"]["Code"] == "GBP" and customer["Email"] == "ap@newly.example"
    assert_every_ax_customer_in_kashflow_once(ax_sandbox, kashflow_sandbox)


def test_a_customer_changed_in_ax_overwrites_kashflow(customer_flow, ax_sandbox, kashflow_sandbox):
    run_inline(customer_flow)
    store = ax_sandbox.store
    renamed, moved = sorted(ax_customers(store))[:2]
    kashflow_before = kashflow_sandbox.store.get_customer(moved)
    # A name change is a DIRPARTYTABLE change only; an address change is stamped on the customer row.
    store.update("DIRPARTYTABLE", ax_customers(store)[renamed]["PARTY"], {"NAME": "Renamed In AX plc"})
    location = ax_customers(store)[moved]["PRIMARYADDRESSLOCATION"]
    store.execute("UPDATE LOGISTICSPOSTALADDRESS SET STREET = ?, ZIPCODE = ? WHERE LOCATION = ?",
                  ("99 Master Road", "AX1 1AX", location))
    store.update("CUSTTABLE", ax_customers(store)[moved]["RECID"], {})

    run = run_inline(customer_flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.records_posted == 2 and run.target_calls == 2
    assert kashflow_sandbox.store.get_customer(renamed)["Name"] == "Renamed In AX plc"
    address = kashflow_sandbox.store.get_customer(moved)["Addresses"][0]
    assert (address["Line1"], address["PostCode"]) == ("99 Master Road", "AX1 1AX")
    # The conflict is recorded: which Kashflow values AX's overwrote.
    record = SyncRecord.objects.filter(source_id=moved).latest("pk")
    old = kashflow_before["Addresses"][0]
    assert any("Line1" in w and old["Line1"] in w and "99 Master Road" in w for w in record.warnings), \
        record.warnings
    assert_every_ax_customer_in_kashflow_once(ax_sandbox, kashflow_sandbox)
    assert run_inline(customer_flow).target_calls == 0


def new_ax_customer(ax_store, account: str, name: str, *, stamp: str | None = None) -> None:
    add_customer(ax_store, {"company": COMPANY, "account": account, "name": name, "currency": "GBP",
                            "address": {"street": "3 Late Street", "city": "Hull", "zip": "HU1 1AA",
                                        "country": "GBR"}})
    if stamp:  # as AX stamps a row when its transaction starts, not when it commits
        ax_store.execute("UPDATE CUSTTABLE SET MODIFIEDDATETIME = ? WHERE DATAAREAID = ? AND ACCOUNTNUM = ?",
                         (stamp, COMPANY, account))


def test_a_row_committed_late_with_an_earlier_stamp_is_picked_up(customer_flow, ax_sandbox, kashflow_sandbox):
    run_inline(customer_flow)
    store = ax_sandbox.store
    stored = datetime.fromisoformat(FlowCursor.objects.get(flow=customer_flow).value["custtable"]["modified"])
    later = stored + timedelta(days=1)  # clear of every seeded stamp (and of the parties' own stamps)

    new_ax_customer(store, "C-FIRST", "Committed First Ltd", stamp=timestamp(later))
    assert run_inline(customer_flow).records_posted == 1
    cursor = datetime.fromisoformat(FlowCursor.objects.get(flow=customer_flow).value["custtable"]["modified"])
    assert cursor == later

    # Committed after that run, stamped before the cursor it left (inside the look-back window).
    new_ax_customer(store, "C-LATE", "Committed Late Ltd", stamp=timestamp(later - timedelta(seconds=1)))
    run = run_inline(customer_flow)
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted == 1
    assert kashflow_sandbox.store.get_customer("C-LATE")["Name"] == "Committed Late Ltd"
    assert kashflow_sandbox.store.get_customer("C-FIRST")["Name"] == "Committed First Ltd"
    assert_every_ax_customer_in_kashflow_once(ax_sandbox, kashflow_sandbox)


def test_a_worker_killed_at_send_resumes_without_duplicates(customer_flow, ax_sandbox, kashflow_sandbox,
                                                            monkeypatch):
    run_inline(customer_flow)
    count = sum(kashflow_codes(kashflow_sandbox.store).values())
    add_customer(ax_sandbox.store, {"company": COMPANY, "account": "C-NEW2", "name": "Crash Test Ltd",
                                    "currency": "GBP", "address": {"street": "2 Crash Lane", "city": "York",
                                                                  "zip": "YO1 1AA", "country": "GBR"}})

    def die(at: str) -> None:
        if at == "send":
            raise WorkerDied(at)  # Kashflow created the customer; the answer was never bound

    monkeypatch.setattr(pipeline, "crash_hook", die)
    with pytest.raises(WorkerDied):
        run_inline(customer_flow)
    assert SyncRun.objects.filter(status=SyncRun.Status.RUNNING).count() == 1
    assert kashflow_sandbox.store.get_customer("C-NEW2") is not None
    assert SyncRecord.objects.filter(source_id="C-NEW2").exclude(message_id="").exists()  # still in the outbox

    monkeypatch.setattr(pipeline, "crash_hook", None)
    resumed = run_inline(customer_flow)
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.message
    assert resumed.records_posted == 1
    assert sum(kashflow_codes(kashflow_sandbox.store).values()) == count + 1
    assert Binding.objects.get(source_id="C-NEW2").external_id == "C-NEW2"
    assert_every_ax_customer_in_kashflow_once(ax_sandbox, kashflow_sandbox)
    assert run_inline(customer_flow).target_calls == 0


def test_a_target_already_linked_to_another_source_goes_to_the_inbox_not_a_crash(customer_flow, ax_sandbox):
    """The target answers with an object another source record owns (two sources mapped onto one target, or a
    sandbox reset behind the tenant's back): that record fails naming both, the rest of the run carries on."""
    from integrations.sync.models import Binding, SyncRecord, SyncRun

    accounts = sorted(ax_customers(ax_sandbox.store))
    first = run_inline(customer_flow)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    victim = Binding.objects.get(connection=customer_flow.target, entity="customer", source_id=accounts[0])
    Binding.objects.filter(pk=victim.pk).update(source_id="SOMEONE-ELSE")
    SyncRecord.objects.filter(flow=customer_flow).delete()  # forget what was posted: everything is sent again
    from integrations.sync.models import FlowCursor, SourceState

    FlowCursor.objects.filter(flow=customer_flow).delete()
    SourceState.objects.filter(flow=customer_flow).delete()

    again = run_inline(customer_flow)
    assert again.status == SyncRun.Status.PARTIAL, again.message
    failed = SyncRecord.objects.get(flow=customer_flow, status="failed")
    assert failed.source_id == accounts[0] and failed.error_code == "binding_conflict"
    assert "SOMEONE-ELSE" in failed.last_error
    assert again.records_failed == 1
