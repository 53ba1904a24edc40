"""A published mapping change (multi-level GL, dimension rules, a line split, routing) alters the next purchase
run and not the purchases already posted: Kashflow sandbox -> engine -> AX / Sage sandboxes, read back from their
tables. The change is saved as a draft and published the way the editor does it, so it is also checked against
the sandboxes' live chart and dimension values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.kashflow.sandbox.documents import PURCHASE
from integrations.sage100.sandbox.abc import ACCOUNT_KEYS
from integrations.sync.models import SyncRecord, SyncRun
from mapping.versions import publish_draft, published_version, save_draft
from tests.e2e.helpers import run_inline, sage_rows

COMPANY = "gbsi"
LEDGER, VEND = 0, 2  # LedgerJournalACType


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


def add_purchase(store, supplier: str, reference: str, lines: list[tuple[int, str]]) -> str:
    """A new Kashflow purchase from ``supplier`` with (nominal, net) lines at 20 % VAT; its number."""
    created = store.create_document(PURCHASE, {
        "SupplierCode": supplier, "SupplierReference": reference, "IssuedDate": "2026-06-30",
        "DueDate": "2026-07-30", "Currency": {"Code": "GBP", "ExchangeRate": "1"},
        "LineItems": [{"Description": f"Mapped line {i}", "Quantity": "1", "Rate": net, "VATLevel": "20",
                       "NominalCode": nominal} for i, (nominal, net) in enumerate(lines, start=1)]})
    return str(created["Number"])


def publish_as_editor(flow, rules: dict, note: str):
    """Save the rules as the draft and publish it (validated, and checked against the live target)."""
    save_draft(flow, rules, note=note)
    version = publish_draft(flow)
    assert version.warnings == [], version.warnings  # the sandbox's chart and dimensions were read and matched
    return version


# ---------------------------------------------------------------------- AX


def ax_purchase_lines(store) -> dict[str, list[tuple]]:
    """Kashflow purchase number -> its AX journal lines as (account type, display value, debit, credit)."""
    rows = store.query(
        "SELECT L.DOCUMENTNUM, L.ACCOUNTTYPE, L.AMOUNTCURDEBIT, L.AMOUNTCURCREDIT, A.DISPLAYVALUE FROM "
        "LEDGERJOURNALTRANS L LEFT JOIN DIMENSIONATTRIBUTEVALUECOMBINATION A ON A.RECID = L.LEDGERDIMENSION WHERE "
        "L.DATAAREAID = ? AND L.DOCUMENTNUM LIKE 'KFP%' ORDER BY L.JOURNALNUM, L.LINENUM", (COMPANY,))
    result: dict[str, list[tuple]] = {}
    for row in rows:
        result.setdefault(row["DOCUMENTNUM"][3:], []).append(
            (row["ACCOUNTTYPE"], row["DISPLAYVALUE"], money(row["AMOUNTCURDEBIT"]), money(row["AMOUNTCURCREDIT"])))
    return result


def test_a_published_purchase_mapping_changes_the_next_ax_run_only(ax_flows, kashflow_sandbox, ax_sandbox):
    flow = ax_flows["kashflow_purchases_to_ax"]
    first = run_inline(flow)
    assert first.records_posted > 10, first.message
    before = ax_purchase_lines(ax_sandbox.store)
    v1 = published_version(flow)

    rules = dict(v1.rules)
    rules["line_handling"] = {"splits": [{"nominal": "5100", "parts": [
        {"percent": 50, "dimensions": {"Department": "024"}}, {"percent": 50, "dimensions": {"Department": "025"}}]}]}
    rules["gl_rules"] = [{"nominal": "5100", "department": "025", "account": "601500"}]
    rules["dimension_rules"] = [{"when": 'line.nominal == "7500"', "set": {"CostCenter": "010"}}]
    rules["routing"] = [{"when": "purchase.total > 1000", "action": "hold", "reason": "Large purchase: approve"}]
    v2 = publish_as_editor(flow, rules, "Carriage split, office cost centre, large purchases held")

    vendor = ax_sandbox.store.one("SELECT ACCOUNTNUM FROM VENDTABLE WHERE DATAAREAID = ? ORDER BY ACCOUNTNUM",
                                  (COMPANY,))["ACCOUNTNUM"]
    small = add_purchase(kashflow_sandbox.store, vendor, "MAP-0001", [(5100, "87.43"), (7500, "10")])
    large = add_purchase(kashflow_sandbox.store, vendor, "MAP-0002", [(7500, "2000")])

    second = run_inline(flow)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    assert (second.records_posted, second.records_held) == (1, 1)
    after = ax_purchase_lines(ax_sandbox.store)
    assert {k: v for k, v in after.items() if k != small} == before  # posted purchases untouched
    assert after[small] == [
        (LEDGER, "500100-001-024", money("43.72"), money(0)),  # 50 % of 87.43, rounded half up
        (LEDGER, "601500-001-025", money("43.71"), money(0)),  # the remainder, on the department 025 GL rule
        (LEDGER, "606300-001-022-010", money("10"), money(0)),
        (LEDGER, "130800-001-022", money("19.49"), money(0)),  # the VAT, one line per rate
        (VEND, vendor, money(0), money("116.92")),
    ]
    assert sum(debit - credit for _t, _a, debit, credit in after[small]) == 0  # one balanced voucher
    held = SyncRecord.objects.get(flow=flow, source_id=large)
    assert (held.status, held.hold_reason) == ("held", "Large purchase: approve") and large not in after

    new = SyncRecord.objects.get(flow=flow, source_id=small)
    assert new.mapping_version_id == v2.pk and held.mapping_version_id == v2.pk
    assert set(SyncRecord.objects.filter(flow=flow, status="posted").exclude(source_id=small)
               .values_list("mapping_version_id", flat=True)) == {v1.pk}

    third = run_inline(flow)
    assert third.records_posted == 0 and ax_purchase_lines(ax_sandbox.store) == after


# ---------------------------------------------------------------------- Sage


SAGE_LINES = ("SELECT D.InvoiceNo, D.DetailSeqNo, D.AccountKey, D.ExtensionAmt FROM AP_InvoiceHistoryDetail D "
              "ORDER BY D.APDivisionNo, D.VendorNo, D.InvoiceNo, D.DetailSeqNo")


def test_a_published_purchase_mapping_changes_the_next_sage_run_only(sage_flows, sage_kashflow_sandbox,
                                                                     sage_sandbox):
    flow = sage_flows["kashflow_purchases_to_sage"]
    first = run_inline(flow)
    assert first.status == SyncRun.Status.SUCCEEDED and first.records_posted > 0, first.message
    before = sage_rows(sage_sandbox, SAGE_LINES)
    v1 = published_version(flow)

    rules = dict(v1.rules)
    rules["line_handling"] = {"splits": [{"nominal": "5000", "parts": [
        {"percent": "62.5", "dimensions": {"Division": "01"}}, {"percent": "37.5", "dimensions": {"Division": "02"}}]}]}
    rules["gl_rules"] = [{"nominal": "5100", "account": "520-00-00"}]
    v2 = publish_as_editor(flow, rules, "Cost of goods by division")

    store = sage_kashflow_sandbox.store
    supplier = store.get_document(PURCHASE, store.list_documents(PURCHASE, page=1, perpage=1).items[0]["Number"])[
        "SupplierCode"]
    number = add_purchase(store, supplier, "MAP-0001", [(5000, "100.01"), (5100, "5")])

    second = run_inline(flow)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 1, second.message
    rows = sage_rows(sage_sandbox, SAGE_LINES)
    division, vendor = supplier.split("-", 1)
    mine = sage_rows(sage_sandbox, "SELECT AccountKey, ExtensionAmt FROM AP_InvoiceHistoryDetail WHERE "
                                   "APDivisionNo = ? AND VendorNo = ? AND InvoiceNo = ? ORDER BY DetailSeqNo",
                     (division, vendor, "MAP-0001"))
    assert [(r["AccountKey"], money(r["ExtensionAmt"])) for r in mine] == [
        (ACCOUNT_KEYS["500-01-00"], money("62.51")),  # 62.5 % of 100.01: the division became the segment
        (ACCOUNT_KEYS["500-02-00"], money("37.50")),
        (ACCOUNT_KEYS["520-00-00"], money("5")),  # the GL rule, not the default 510-00-00
        (ACCOUNT_KEYS["210-00-00"], money("21.00")),  # the VAT
    ]
    assert [r for r in rows if r["InvoiceNo"] != "MAP-0001"] == before  # posted purchases untouched
    [header] = sage_rows(sage_sandbox, "SELECT InvoiceAmt FROM AP_InvoiceHistoryHeader WHERE APDivisionNo = ? AND "
                                       "VendorNo = ? AND InvoiceNo = ?", (division, vendor, "MAP-0001"))
    assert money(header["InvoiceAmt"]) == money("126.01") == sum(money(r["ExtensionAmt"]) for r in mine)
    assert SyncRecord.objects.get(flow=flow, source_id=number).mapping_version_id == v2.pk
    assert set(SyncRecord.objects.filter(flow=flow).exclude(source_id=number)
               .values_list("mapping_version_id", flat=True)) == {v1.pk}

    third = run_inline(flow)
    assert third.records_posted == 0 and sage_rows(sage_sandbox, SAGE_LINES) == rows
