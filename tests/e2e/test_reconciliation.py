"""Reconciliation proven against the sandboxes: post invoices with the real flows, tamper with the ERP (and Kashflow),
check every mismatch reason field by field, re-sync, and check it reconciles.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from integrations.kashflow.sandbox.documents import INVOICE
from integrations.sage100.sandbox.schema import connect as sage_connect
from integrations.sync.models import Binding, Flow, SyncRecord, SyncRun
from portal.accounts.models import AuditEntry
from reconciliation import services
from reconciliation.models import Mismatch, ReconciliationRun
from tests.e2e.helpers import run_inline


def kashflow_invoices(store) -> dict[str, dict]:
    out, page = {}, 1
    while True:
        result = store.list_invoices(page=page, perpage=100)
        out.update({str(i["Number"]): i for i in result.items})
        if page * 100 >= result.total:
            return out
        page += 1


def period_of(invoices: dict[str, dict]) -> tuple[date, date]:
    dates = [date.fromisoformat(i["IssuedDate"][:10]) for i in invoices.values()]
    end = max(dates)
    return max(min(dates), end - timedelta(days=365)), end


def reconcile(flow, start, end) -> ReconciliationRun:
    run = services.request_run(flow=flow, start=start, end=end, inline=True)
    run.refresh_from_db()
    assert run.status in (ReconciliationRun.Status.MATCHED, ReconciliationRun.Status.MISMATCHED), run.message
    return run


def by_reason(run) -> dict[str, list[Mismatch]]:
    out: dict[str, list[Mismatch]] = {}
    for mismatch in run.mismatches.all():
        out.setdefault(mismatch.reason, []).append(mismatch)
    return out


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------------- AX


def invoices_only(flow) -> None:
    """The pair without its payments flow: nothing settles the ERP's copies, open items there are expected (the
    payments flow is another test's subject)."""
    Flow.objects.filter(key__startswith="kashflow_payments_to_", source=flow.source, target=flow.target).update(
        enabled=False)


@pytest.fixture
def all_invoices_to_ax(invoice_flow):
    invoices_only(invoice_flow)
    invoice_flow.options = {**invoice_flow.options, "paid_only": False, "batch_size": 20}
    invoice_flow.save()
    return invoice_flow


def test_ax_mismatches_are_found_record_by_record_and_resync_repairs_the_missing_one(
        all_invoices_to_ax, kashflow_sandbox, ax_sandbox):
    flow = all_invoices_to_ax
    posted = run_inline(flow)
    assert posted.status == SyncRun.Status.SUCCEEDED, posted.message
    invoices = kashflow_invoices(kashflow_sandbox.store)
    start, end = period_of(invoices)
    in_period = {n: i for n, i in invoices.items() if start <= date.fromisoformat(i["IssuedDate"][:10]) <= end}

    clean = reconcile(flow, start, end)
    assert clean.status == ReconciliationRun.Status.MATCHED, list(clean.mismatches.values("reason", "detail"))
    assert clean.summary["matched"] == len(in_period) == sum(v["count"] for v in clean.summary["kashflow"].values())
    gross = sum(money(i["GrossAmount"]) for i in in_period.values())
    assert sum(Decimal(v["amount"]) for v in clean.summary["kashflow"].values()) == gross
    assert clean.summary["scope"] == {"paid_only": False, "carries_payments": False,
                                      "period": [start.isoformat(), end.isoformat()]}
    assert reconcile(flow, start, end).status == ReconciliationRun.Status.MATCHED  # a second run: the same answer

    store = ax_sandbox.store
    bound = dict(Binding.objects.values_list("source_id", "external_id"))
    numbers = sorted(in_period, key=int)
    unpaid = [n for n in numbers if not money(in_period[n]["TotalPaidAmount"])]
    deleted, changed, settled, gone = numbers[0], numbers[1], unpaid[-1], numbers[2]
    assert len({deleted, changed, settled, gone}) == 4

    def header(number):
        return store.one("SELECT * FROM CUSTINVOICETABLE WHERE RECID = ?", (int(bound[number]),))

    def jour(number):
        h = header(number)
        return store.one("SELECT * FROM CUSTINVOICEJOUR WHERE INVOICEID = ? AND DATAAREAID = ?",
                         (h["INVOICEID"], h["DATAAREAID"]))

    # Delete one (header, lines, journal, customer transaction and its open item).
    h, j = header(deleted), jour(deleted)
    trans = store.one("SELECT * FROM CUSTTRANS WHERE INVOICE = ? AND DATAAREAID = ?", (h["INVOICEID"], h["DATAAREAID"]))
    store.delete("CUSTTRANSOPEN", [r["RECID"] for r in store.query("SELECT RECID FROM CUSTTRANSOPEN WHERE REFRECID = ?",
                                                                   (trans["RECID"],))])
    store.delete("CUSTTRANS", [trans["RECID"]])
    store.delete("CUSTINVOICETRANS", [r["RECID"] for r in store.query(
        "SELECT RECID FROM CUSTINVOICETRANS WHERE PARENTRECID = ?", (j["RECID"],))])
    store.delete("CUSTINVOICEJOUR", [j["RECID"]])
    store.delete("CUSTINVOICELINE", [r["RECID"] for r in store.query(
        "SELECT RECID FROM CUSTINVOICELINE WHERE PARENTRECID = ?", (h["RECID"],))])
    store.delete("CUSTINVOICETABLE", [h["RECID"]])
    # Change an amount.
    changed_jour = jour(changed)
    store.update("CUSTINVOICEJOUR", changed_jour["RECID"], {"INVOICEAMOUNT": float(money(changed_jour["INVOICEAMOUNT"])
                                                                                   + Decimal("10.00"))})
    # Settle one that is unpaid in Kashflow.
    settled_trans = store.one("SELECT * FROM CUSTTRANS WHERE INVOICE = ? AND AMOUNTCUR > 0",
                              (header(settled)["INVOICEID"],))
    store.update("CUSTTRANS", settled_trans["RECID"], {"SETTLEAMOUNTCUR": settled_trans["AMOUNTCUR"],
                                                       "CLOSED": end.isoformat()})
    store.delete("CUSTTRANSOPEN", [r["RECID"] for r in store.query(
        "SELECT RECID FROM CUSTTRANSOPEN WHERE REFRECID = ?", (settled_trans["RECID"],))])
    # Delete one in Kashflow: AX keeps an invoice of the flow for it.
    kashflow_sandbox.store.delete_document(INVOICE, int(gone))

    run = reconcile(flow, start, end)
    assert run.status == ReconciliationRun.Status.MISMATCHED
    reasons = by_reason(run)
    assert set(reasons) == {"missing_in_erp", "different_amount", "different_status", "missing_in_kashflow"}, reasons
    [missing] = reasons["missing_in_erp"]
    assert (missing.source_id, missing.target_id, missing.resyncable) == (deleted, bound[deleted], True)
    assert missing.kashflow_value.startswith(f"{money(in_period[deleted]['GrossAmount']):,}")
    [amount] = reasons["different_amount"]
    expected = money(in_period[changed]["GrossAmount"])  # AX computes the VAT from the lines' tax groups: gross
    assert (amount.source_id, amount.target_id, amount.resyncable) == (changed, bound[changed], False)
    assert amount.kashflow_value.startswith(f"{expected:,}") and amount.erp_value.startswith(
        f"{expected + Decimal('10.00'):,}")
    assert "difference 10.00" in amount.detail
    [status] = reasons["different_status"]
    assert (status.source_id, status.kashflow_value, status.erp_value) == (settled, "unpaid", "paid")
    [orphan] = reasons["missing_in_kashflow"]
    assert (orphan.source_id, orphan.target_id, orphan.resyncable) == (gone, bound[gone], False)
    assert run.mismatch_count == 4 and run.summary["matched"] == len(in_period) - 2

    # Re-sync everything chosen: only the missing invoice can be repaired by the flow.
    outcome = services.resync(run, [m.pk for m in run.mismatches.all()], actor=None)
    assert outcome.replayed == [deleted] and len(outcome.not_eligible) == 3
    assert AuditEntry.objects.filter(action="reconciliation.resynced", target_id=str(run.pk)).exists()
    assert AuditEntry.objects.filter(action="records.replayed").exists()
    again = run_inline(flow)
    assert again.status == SyncRun.Status.SUCCEEDED and again.records_posted == 1, again.message
    reposted = store.query("SELECT * FROM CUSTINVOICETABLE WHERE CUSTOMERREF = ?", (deleted,))
    assert len(reposted) == 1 and reposted[0]["POSTED"] == 1
    lines = store.query("SELECT * FROM CUSTINVOICELINE WHERE PARENTRECID = ?", (reposted[0]["RECID"],))
    assert sum(money(line["AMOUNTCUR"]) for line in lines) == money(in_period[deleted]["NetAmount"])
    posted_jour = store.one("SELECT * FROM CUSTINVOICEJOUR WHERE INVOICEID = ?", (reposted[0]["INVOICEID"],))
    assert (money(posted_jour["SUMTAX"]), money(posted_jour["INVOICEAMOUNT"])) == (
        money(in_period[deleted]["VATAmount"]), money(in_period[deleted]["GrossAmount"]))
    assert Binding.objects.get(source_id=deleted).external_id == str(reposted[0]["RECID"])
    assert run_inline(flow).records_posted == 0  # a second run changes nothing

    after = reconcile(flow, start, end)
    assert set(by_reason(after)) == {"different_amount", "different_status", "missing_in_kashflow"}
    assert not after.mismatches.filter(source_id=deleted).exists()
    # Put the tampered figures right in AX: it reconciles.
    store.update("CUSTINVOICEJOUR", changed_jour["RECID"], {"INVOICEAMOUNT": changed_jour["INVOICEAMOUNT"]})
    store.update("CUSTTRANS", settled_trans["RECID"], {"SETTLEAMOUNTCUR": 0, "CLOSED": "1900-01-01"})
    Binding.objects.filter(source_id=gone).delete()
    store.delete("CUSTINVOICETABLE", [int(bound[gone])])
    final = reconcile(flow, start, end)
    assert final.status == ReconciliationRun.Status.MATCHED, list(final.mismatches.values("reason", "detail"))
    assert SyncRecord.objects.filter(source_id=deleted, status="posted").count() == 2  # the original and the re-sync


# ---------------------------------------------------------------------------------------------- Sage 100


def test_sage_mismatches_and_resync(sage_invoice_flow, sage_kashflow_sandbox, sage_sandbox):
    flow = sage_invoice_flow
    invoices_only(flow)
    flow.options = {**flow.options, "paid_only": False, "batch_size": 20}
    flow.save()
    assert run_inline(flow).status == SyncRun.Status.SUCCEEDED
    invoices = kashflow_invoices(sage_kashflow_sandbox.store)
    start, end = period_of(invoices)
    in_period = {n: i for n, i in invoices.items() if start <= date.fromisoformat(i["IssuedDate"][:10]) <= end}
    clean = reconcile(flow, start, end)
    assert clean.status == ReconciliationRun.Status.MATCHED, list(clean.mismatches.values("reason", "detail"))
    assert clean.summary["matched"] == len(in_period)

    bound = dict(Binding.objects.values_list("source_id", "external_id"))
    numbers = sorted(in_period, key=int)
    unpaid = [n for n in numbers if not money(in_period[n]["TotalPaidAmount"])]
    deleted, changed, settled = numbers[0], numbers[1], unpaid[-1]
    db = sage_connect(sage_sandbox.company_db)
    try:
        division, customer, invoice_no = bound[deleted].split("-", 2)
        db.execute("DELETE FROM AR_InvoiceHistoryDetail WHERE InvoiceNo = ?", (invoice_no,))
        db.execute("DELETE FROM AR_InvoiceHistoryHeader WHERE InvoiceNo = ? AND CustomerNo = ?", (invoice_no, customer))
        db.execute("DELETE FROM AR_OpenInvoice WHERE InvoiceNo = ? AND CustomerNo = ?", (invoice_no, customer))
        _d, c, i = bound[changed].split("-", 2)
        db.execute("UPDATE AR_InvoiceHistoryHeader SET SalesTaxAmt = SalesTaxAmt + 5 WHERE InvoiceNo = ? AND "
                   "CustomerNo = ?", (i, c))
        _d, c, i = bound[settled].split("-", 2)
        db.execute("UPDATE AR_OpenInvoice SET Balance = 0 WHERE InvoiceNo = ? AND CustomerNo = ?", (i, c))
    finally:
        db.close()

    run = reconcile(flow, start, end)
    reasons = by_reason(run)
    assert set(reasons) == {"missing_in_erp", "different_amount", "different_status"}, reasons
    [missing] = reasons["missing_in_erp"]
    assert (missing.source_id, missing.target_id) == (deleted, bound[deleted])
    [amount] = reasons["different_amount"]
    gross = money(in_period[changed]["GrossAmount"])
    assert (amount.source_id, amount.target_id) == (changed, bound[changed])
    assert amount.kashflow_value == f"{gross:,} {amount.kashflow_value.split()[-1]}"
    assert amount.erp_value.startswith(f"{gross + 5:,}")
    [status] = reasons["different_status"]
    assert (status.source_id, status.kashflow_value, status.erp_value) == (settled, "unpaid", "paid")

    outcome = services.resync(run, [missing.pk], actor=None)
    assert outcome.replayed == [deleted]
    assert run_inline(flow).records_posted == 1
    assert run_inline(flow).records_posted == 0
    after = reconcile(flow, start, end)
    assert set(by_reason(after)) == {"different_amount", "different_status"}

    # With the payments flow switched on (not run yet), paid Kashflow invoices still open in Sage are mismatches.
    Flow.objects.filter(key="kashflow_payments_to_sage").update(enabled=True)
    paying = reconcile(flow, start, end)
    assert paying.summary["scope"]["carries_payments"] is True
    paid_open = {m.source_id for m in paying.mismatches.filter(reason="different_status", kashflow_value="paid",
                                                               erp_value="unpaid")}
    assert paid_open == {n for n, i in in_period.items() if i["Status"] == "Paid"} - {changed}


def test_the_daily_tick_queues_one_run_per_flow_and_day(invoice_flow):
    from datetime import UTC, datetime

    early = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
    assert services.schedule_due(now=early) == []
    at = datetime(2026, 3, 4, 2, 5, tzinfo=UTC)
    first = services.schedule_due(now=at)
    # One run per reconcilable flow the pair has switched on: the invoices and the payments.
    runs = ReconciliationRun.objects.filter(pk__in=first)
    assert sorted(runs.values_list("flow__key", flat=True)) == ["kashflow_invoices_to_ax", "kashflow_payments_to_ax"]
    assert services.schedule_due(now=at + timedelta(minutes=1)) == []
    for run in runs:
        assert (run.trigger, run.schedule_day, run.period_end, run.status) == (
            "schedule", date(2026, 3, 4), date(2026, 3, 4), "queued")
        assert run.period_start == date(2026, 3, 4) - timedelta(days=30)
    assert len(services.schedule_due(now=at + timedelta(days=1))) == 2
