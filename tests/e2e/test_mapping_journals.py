"""A published mapping change (a line split across dimensions, multi-level GL, a dimension rule, routing) alters
the next journal run and not the journals already posted, and a split journal still balances to the penny:
Kashflow sandbox -> engine -> AX / Sage sandboxes, read back from their tables. The change is saved as a draft
and published the way the editor does it (checked against the sandboxes' live chart and dimension values)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.sage100.sandbox.abc import ACCOUNT_KEYS
from integrations.sync.models import SyncRecord, SyncRun
from mapping.versions import publish_draft, published_version, save_draft
from tests.e2e.helpers import run_inline, sage_rows

COMPANY = "gbsi"


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


@pytest.fixture
def ax_flows(tenant, ax_pair, kashflow_sandbox, ax_sandbox):
    from integrations.sync.sandbox_setup import connect_sandbox

    return {f.key: f for f in connect_sandbox(instance_id=ax_pair.id, fields=ax_pair.fields).flows}


@pytest.fixture
def sage_flows(tenant, sage_pair, sage_kashflow_sandbox, sage_sandbox):
    from integrations.sync.sandbox_setup import connect_sandbox

    return {f.key: f for f in connect_sandbox(instance_id=sage_pair.id, fields=sage_pair.fields).flows}


def add_journal(store, comment: str, lines: list[tuple[int, str, str]]) -> str:
    """A new Kashflow journal of (nominal, debit, credit) lines; its number."""
    created = store.create_journal({"JournalDate": "2026-06-30", "Comment": comment, "LineItems": [
        {"NominalCode": nominal, **({"Debit": debit} if debit else {}), **({"Credit": credit} if credit else {})}
        for nominal, debit, credit in lines]})
    return str(created["Number"])


def publish_as_editor(flow, rules: dict, note: str):
    save_draft(flow, rules, note=note)
    version = publish_draft(flow)
    assert version.warnings == [], version.warnings  # the sandbox's chart and dimensions were read and matched
    return version


# ---------------------------------------------------------------------- AX


def ax_journal_lines(store) -> dict[str, list[tuple]]:
    """Kashflow journal number -> its AX journal lines as (display value, debit, credit)."""
    rows = store.query(
        "SELECT L.DOCUMENTNUM, L.AMOUNTCURDEBIT, L.AMOUNTCURCREDIT, A.DISPLAYVALUE FROM LEDGERJOURNALTRANS L LEFT "
        "JOIN DIMENSIONATTRIBUTEVALUECOMBINATION A ON A.RECID = L.LEDGERDIMENSION WHERE L.DATAAREAID = ? AND "
        "L.DOCUMENTNUM LIKE 'KFJ%' ORDER BY L.JOURNALNUM, L.LINENUM", (COMPANY,))
    result: dict[str, list[tuple]] = {}
    for row in rows:
        result.setdefault(row["DOCUMENTNUM"][3:], []).append(
            (row["DISPLAYVALUE"], money(row["AMOUNTCURDEBIT"]), money(row["AMOUNTCURCREDIT"])))
    return result


def test_a_published_journal_mapping_changes_the_next_ax_run_only(ax_flows, kashflow_sandbox, ax_sandbox):
    flow = ax_flows["kashflow_journals_to_ax"]
    first = run_inline(flow)
    assert first.status == SyncRun.Status.SUCCEEDED and first.records_posted >= 4, first.message
    before = ax_journal_lines(ax_sandbox.store)
    v1 = published_version(flow)

    rules = dict(v1.rules)
    rules["line_handling"] = {"splits": [{"nominal": "7900", "parts": [
        {"percent": 60, "dimensions": {"Department": "024"}}, {"percent": 40, "dimensions": {"Department": "025"}}]}]}
    rules["gl_rules"] = [{"nominal": "7900", "department": "025", "account": "606300"}]
    rules["dimension_rules"] = [{"when": "line.credit > 0", "set": {"CostCenter": "010"}}]
    rules["routing"] = [{"when": "journal.total > 5000", "action": "hold", "reason": "Large journal: approve"}]
    v2 = publish_as_editor(flow, rules, "Bank charges split between finance and HR")

    number = add_journal(kashflow_sandbox.store, "Bank charges", [(7900, "100.01", ""), (1200, "", "100.01")])
    large = add_journal(kashflow_sandbox.store, "Accrual", [(7900, "6000", ""), (2109, "", "6000")])

    second = run_inline(flow)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    assert (second.records_posted, second.records_held) == (1, 1)
    after = ax_journal_lines(ax_sandbox.store)
    assert {k: v for k, v in after.items() if k != number} == before  # posted journals untouched
    assert after[number] == [
        ("618900-001-024", money("60.01"), money(0)),  # 60 % of 100.01, rounded half up
        ("606300-001-025", money("40.00"), money(0)),  # the remainder, on the department 025 GL rule
        ("110150-001-022-010", money(0), money("100.01")),  # the credit side's cost centre
    ]
    assert sum(debit - credit for _a, debit, credit in after[number]) == 0  # balanced to the penny
    held = SyncRecord.objects.get(flow=flow, source_id=large)
    assert (held.status, held.hold_reason) == ("held", "Large journal: approve") and large not in after
    assert SyncRecord.objects.get(flow=flow, source_id=number).mapping_version_id == v2.pk
    assert set(SyncRecord.objects.filter(flow=flow, status="posted").exclude(source_id=number)
               .values_list("mapping_version_id", flat=True)) == {v1.pk}

    third = run_inline(flow)
    assert third.records_posted == 0 and ax_journal_lines(ax_sandbox.store) == after


# ---------------------------------------------------------------------- Sage


POSTINGS = ("SELECT JournalRegisterNo, SequenceNo, AccountKey, DebitAmount, CreditAmount FROM GL_DetailPosting "
            "WHERE SourceJournal = 'GJ' ORDER BY JournalRegisterNo, SequenceNo")


def test_a_published_journal_mapping_changes_the_next_sage_run_only(sage_flows, sage_kashflow_sandbox,
                                                                    sage_sandbox):
    flow = sage_flows["kashflow_journals_to_sage"]
    first = run_inline(flow)
    assert first.status == SyncRun.Status.SUCCEEDED and first.records_posted > 0, first.message
    before = sage_rows(sage_sandbox, POSTINGS)
    v1 = published_version(flow)

    rules = dict(v1.rules)
    rules["line_handling"] = {"splits": [{"nominal": "5000", "parts": [
        {"percent": 50, "dimensions": {"Division": "01"}}, {"percent": 50, "dimensions": {"Division": "02"}}]}]}
    rules["gl_rules"] = [{"nominal": "7900", "account": "660-00-00"}]
    v2 = publish_as_editor(flow, rules, "Stock write-off by division")

    number = add_journal(sage_kashflow_sandbox.store, "Write-off",
                         [(5000, "100.01", ""), (7900, "1", ""), (1200, "", "101.01")])
    second = run_inline(flow)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 1, second.message
    record = SyncRecord.objects.get(flow=flow, source_id=number)
    assert record.mapping_version_id == v2.pk
    entry_no = record.target_id.split("-")[1]
    rows = sage_rows(sage_sandbox, POSTINGS)
    mine = [r for r in rows if r["JournalRegisterNo"] == entry_no]
    assert [(r["AccountKey"], money(r["DebitAmount"]), money(r["CreditAmount"])) for r in mine] == [
        (ACCOUNT_KEYS["500-01-00"], money("50.01"), money(0)),  # half of 100.01 to each division's segment
        (ACCOUNT_KEYS["500-02-00"], money("50.00"), money(0)),
        (ACCOUNT_KEYS["660-00-00"], money("1"), money(0)),  # the GL rule, not the default 680-00-00
        (ACCOUNT_KEYS["100-00-00"], money(0), money("101.01")),
    ]
    assert sum(money(r["DebitAmount"]) - money(r["CreditAmount"]) for r in mine) == 0
    assert [r for r in rows if r["JournalRegisterNo"] != entry_no] == before  # posted journals untouched
    assert set(SyncRecord.objects.filter(flow=flow).exclude(source_id=number)
               .values_list("mapping_version_id", flat=True)) == {v1.pk}

    third = run_inline(flow)
    assert third.records_posted == 0 and sage_rows(sage_sandbox, POSTINGS) == rows
