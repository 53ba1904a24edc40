"""Payment reconciliation proven against the sandboxes: carry invoices and their payments with the real flows, tamper
with the ERP's payments (and Kashflow's), check every reason field by field, re-sync, and check it reconciles.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from integrations.kashflow.sandbox.documents import INVOICE
from integrations.sage100.adapter import check_number
from integrations.sage100.sandbox.schema import connect as sage_connect
from integrations.sync.flows.kashflow_payments_to_ax import payment_reference
from integrations.sync.models import Binding, SyncRun
from portal.accounts.models import AuditEntry
from reconciliation import services
from reconciliation.models import ReconciliationRun
from reconciliation.reconcilers import REGISTRY
from tests.conftest import TEST_PASSWORD
from tests.e2e.helpers import run_inline


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def kashflow_payments(store) -> dict[tuple[str, str], dict]:
    """(invoice number, payment line id) -> the line with its invoice, for every Kashflow payment line."""
    out, page = {}, 1
    while True:
        result = store.list_invoices(page=page, perpage=100)
        for item in result.items:
            invoice = store.get_invoice(int(item["Number"]))
            for line in invoice["PaymentLines"]:
                out[(str(invoice["Number"]), str(line["Id"]))] = {**line, "invoice": invoice}
        if page * 100 >= result.total:
            return out
        page += 1


def period_of(payments: dict) -> tuple[date, date]:
    dates = [date.fromisoformat(p["Date"][:10]) for p in payments.values()]
    end = max(dates)
    return max(min(dates), end - timedelta(days=365)), end


def reconcile(flow, start, end) -> ReconciliationRun:
    run = services.request_run(flow=flow, start=start, end=end, inline=True)
    run.refresh_from_db()
    assert run.status in (ReconciliationRun.Status.MATCHED, ReconciliationRun.Status.MISMATCHED), run.message
    return run


def by_reason(run) -> dict[str, list]:
    out: dict[str, list] = {}
    for mismatch in run.mismatches.all():
        out.setdefault(mismatch.reason, []).append(mismatch)
    return out


def sage_receipts(sage_sandbox, check: str) -> list[dict]:
    from integrations.sage100.sandbox.schema import open_readonly

    conn = open_readonly(sage_sandbox.company_db)
    conn.row_factory = lambda cursor, row: {d[0]: v for d, v in zip(cursor.description, row, strict=True)}
    try:
        return conn.execute("SELECT * FROM AR_CashReceiptsHistory WHERE CheckNo = ?", (check,)).fetchall()
    finally:
        conn.close()


def remove_payment_line(store, number: str, payment_id: str) -> None:
    invoice = store.get_invoice(int(number))
    store.update_document(INVOICE, int(number), {**invoice, "PaymentLines": [
        line for line in invoice["PaymentLines"] if str(line["Id"]) != payment_id]})


@pytest.fixture
def pair_flows(tenant, request):
    """key -> Flow for the pair the test names (``ax_pair`` or ``sage_pair``), wired as the portal wires it."""
    from integrations.sync.sandbox_setup import connect_sandbox

    pair = request.getfixturevalue(request.param)
    flows = {f.key: f for f in connect_sandbox(instance_id=pair.id, fields=pair.fields).flows}
    invoices = next(f for k, f in flows.items() if k.startswith("kashflow_invoices_to_"))
    invoices.options = {**invoices.options, "paid_only": False}  # every invoice in the ERP: no payment waits
    invoices.save()
    return flows


def test_payment_flows_are_reconcilable():
    assert REGISTRY["kashflow_payments_to_ax"] == "reconciliation.payments.AxPaymentReconciler"
    assert REGISTRY["kashflow_payments_to_sage"] == "reconciliation.payments.SagePaymentReconciler"


# ---------------------------------------------------------------------------------------------- AX


@pytest.mark.parametrize("pair_flows", ["ax_pair"], indirect=True)
def test_ax_payment_mismatches_record_by_record_and_resync(pair_flows, kashflow_sandbox, ax_sandbox, make_user):
    flow = pair_flows["kashflow_payments_to_ax"]
    assert run_inline(pair_flows["kashflow_invoices_to_ax"]).status == SyncRun.Status.SUCCEEDED
    carried = run_inline(flow)
    assert carried.status == SyncRun.Status.SUCCEEDED, carried.message
    payments = kashflow_payments(kashflow_sandbox.store)
    start, end = period_of(payments)
    in_period = {k: p for k, p in payments.items() if start <= date.fromisoformat(p["Date"][:10]) <= end}
    assert len(in_period) >= 4

    clean = reconcile(flow, start, end)
    assert clean.status == ReconciliationRun.Status.MATCHED, list(clean.mismatches.values("reason", "detail"))
    assert clean.summary["matched"] == clean.summary["applied"] == len(in_period)
    totals = clean.summary["kashflow"]
    assert sum(v["count"] for v in totals.values()) == len(in_period)
    assert sum(Decimal(v["amount"]) for v in totals.values()) == sum(money(p["Amount"]) for p in in_period.values())
    assert sum(Decimal(v["amount"]) for v in clean.summary["erp"].values()) == sum(
        Decimal(v["amount"]) for v in totals.values())
    assert all(Decimal(v["open"]) == 0 for v in clean.summary["erp"].values())  # every payment settles its invoice

    store = ax_sandbox.store
    keys = sorted(in_period, key=lambda k: (int(k[0]), int(k[1])))
    # Four payments on four different invoices.
    chosen: list[tuple[str, str]] = []
    for key in keys:
        if key[0] not in {c[0] for c in chosen}:
            chosen.append(key)
    deleted, changed, unsettled, gone = chosen[:4]

    def line(key):
        return store.one("SELECT * FROM LEDGERJOURNALTRANS WHERE PAYMREFERENCE = ?", (payment_reference(*key),))

    def payment_trans(key):
        return store.one("SELECT * FROM CUSTTRANS WHERE PAYMREFERENCE = ? AND AMOUNTCUR < 0",
                         (payment_reference(*key),))

    # Delete one payment in AX: its journal line, its customer transaction and its settlement (the invoice opens).
    trans = payment_trans(deleted)
    settlements = store.query("SELECT * FROM CUSTSETTLEMENT WHERE OFFSETRECID = ? OR TRANSRECID = ?",
                              (trans["RECID"], trans["RECID"]))
    invoice_trans = next(s["TRANSRECID"] for s in settlements if s["OFFSETRECID"] == trans["RECID"])
    invoice_row = store.one("SELECT * FROM CUSTTRANS WHERE RECID = ?", (invoice_trans,))
    store.update("CUSTTRANS", invoice_trans, {
        "SETTLEAMOUNTCUR": float(money(invoice_row["SETTLEAMOUNTCUR"]) + money(trans["AMOUNTCUR"])),
        "SETTLEAMOUNTMST": float(money(invoice_row["SETTLEAMOUNTMST"]) + money(trans["AMOUNTMST"])),
        "CLOSED": "1900-01-01"})
    store.delete("CUSTSETTLEMENT", [s["RECID"] for s in settlements])
    store.delete("CUSTTRANSOPEN", [r["RECID"] for r in store.query("SELECT RECID FROM CUSTTRANSOPEN WHERE REFRECID = ?",
                                                                   (trans["RECID"],))])
    store.delete("CUSTTRANS", [trans["RECID"]])
    store.delete("LEDGERJOURNALTRANS", [line(deleted)["RECID"]])
    # Change an amount.
    changed_line = line(changed)
    store.update("LEDGERJOURNALTRANS", changed_line["RECID"],
                 {"AMOUNTCURCREDIT": float(money(changed_line["AMOUNTCURCREDIT"]) + Decimal("5.00"))})
    # Unsettle one: its settlement no longer points at the invoice's transaction.
    unsettled_trans = payment_trans(unsettled)
    [invoice_side] = store.query("SELECT * FROM CUSTSETTLEMENT WHERE OFFSETRECID = ?", (unsettled_trans["RECID"],))
    store.update("CUSTSETTLEMENT", invoice_side["RECID"], {"TRANSRECID": 0})
    # Delete a payment in Kashflow: AX keeps the payment the flow made for it.
    remove_payment_line(kashflow_sandbox.store, *gone)

    run = reconcile(flow, start, end)
    assert run.status == ReconciliationRun.Status.MISMATCHED
    reasons = by_reason(run)
    assert set(reasons) == {"missing_in_erp", "different_amount", "different_status", "missing_in_kashflow"}, {
        r: [(m.source_id, m.detail) for m in ms] for r, ms in reasons.items()}
    [missing] = reasons["missing_in_erp"]
    assert (missing.kind, missing.source_id, missing.target_id, missing.resyncable) == (
        "payment", deleted[0], payment_reference(*deleted), True)
    assert missing.kashflow_value.startswith(f"{money(in_period[deleted]['Amount']):,}")
    assert missing.customer == in_period[deleted]["invoice"]["CustomerCode"] and deleted[1] in missing.detail
    [amount] = reasons["different_amount"]
    expected = money(in_period[changed]["Amount"])
    assert (amount.source_id, amount.target_id, amount.resyncable) == (
        changed[0], f"{changed_line['JOURNALNUM']}/{payment_reference(*changed)}", False)
    assert amount.kashflow_value.startswith(f"{expected:,}") and amount.erp_value.startswith(
        f"{expected + Decimal('5.00'):,}")
    assert "difference 5.00" in amount.detail
    [status] = reasons["different_status"]
    assert (status.source_id, status.kashflow_value, status.erp_value, status.resyncable) == (
        unsettled[0], f"applied to invoice {unsettled[0]}", "not applied", False)
    assert "only 0.00" in status.detail
    [orphan] = reasons["missing_in_kashflow"]
    assert (orphan.source_id, orphan.resyncable) == (gone[0], False)
    assert orphan.target_id.endswith(payment_reference(*gone)) and orphan.erp_value.startswith(
        f"{money(in_period[gone]['Amount']):,}")
    assert run.summary["matched"] == len(in_period) - 2 and run.summary["applied"] == len(in_period) - 3
    # The run's page shows them (the payments summary renders like an invoice run's).
    viewer = Client(HTTP_HOST="alpha.localhost")
    assert viewer.login(username=make_user("viewer").email, password=TEST_PASSWORD)
    page = viewer.get(f"/reconciliation/{run.pk}/").content.decode()
    assert status.detail in page and "No payments flow carries" not in page

    # Re-sync everything chosen: only the payment missing in AX can be repaired by the flow.
    outcome = services.resync(run, [m.pk for m in run.mismatches.all()], actor=None)
    assert outcome.replayed == [deleted[0]] and len(outcome.not_eligible) == 3
    assert AuditEntry.objects.filter(action="reconciliation.resynced", target_id=str(run.pk)).exists()
    again = run_inline(flow)
    assert again.status == SyncRun.Status.SUCCEEDED and again.records_posted >= 1, again.message
    reposted = line(deleted)
    assert money(reposted["AMOUNTCURCREDIT"]) == money(in_period[deleted]["Amount"]) and reposted["MARKEDINVOICE"]
    assert money(store.scalar("SELECT SETTLEAMOUNTCUR FROM CUSTTRANS WHERE RECID = ?", (invoice_trans,))) == money(
        invoice_row["SETTLEAMOUNTCUR"])  # settled again by the re-sent payment
    assert run_inline(flow).records_posted == 0  # a second run changes nothing

    after = reconcile(flow, start, end)
    assert set(by_reason(after)) == {"different_amount", "different_status", "missing_in_kashflow"}
    assert not after.mismatches.filter(source_id=deleted[0]).exists()
    # Put AX right: the amount back, the settlement back, the payment Kashflow no longer has reversed.
    store.update("LEDGERJOURNALTRANS", changed_line["RECID"], {"AMOUNTCURCREDIT": changed_line["AMOUNTCURCREDIT"]})
    store.update("CUSTSETTLEMENT", invoice_side["RECID"], {"TRANSRECID": invoice_side["TRANSRECID"]})
    store.delete("LEDGERJOURNALTRANS", [line(gone)["RECID"]])
    final = reconcile(flow, start, end)
    assert final.status == ReconciliationRun.Status.MATCHED, list(final.mismatches.values("reason", "detail"))
    assert final.summary["matched"] == len(in_period) - 1


# ---------------------------------------------------------------------------------------------- Sage 100


@pytest.mark.parametrize("pair_flows", ["sage_pair"], indirect=True)
def test_sage_payment_mismatches_record_by_record_and_resync(pair_flows, sage_kashflow_sandbox, sage_sandbox):
    flow = pair_flows["kashflow_payments_to_sage"]
    assert run_inline(pair_flows["kashflow_invoices_to_sage"]).status == SyncRun.Status.SUCCEEDED
    assert run_inline(flow).status == SyncRun.Status.SUCCEEDED
    payments = kashflow_payments(sage_kashflow_sandbox.store)
    start, end = period_of(payments)
    in_period = {k: p for k, p in payments.items() if start <= date.fromisoformat(p["Date"][:10]) <= end}
    assert len(in_period) >= 4
    clean = reconcile(flow, start, end)
    assert clean.status == ReconciliationRun.Status.MATCHED, list(clean.mismatches.values("reason", "detail"))
    assert clean.summary["matched"] == clean.summary["applied"] == len(in_period)

    bound = dict(Binding.objects.filter(entity="sales_invoice").values_list("source_id", "external_id"))
    keys = sorted(in_period, key=lambda k: (int(k[0]), int(k[1])))
    chosen: list[tuple[str, str]] = []
    for key in keys:
        if key[0] not in {c[0] for c in chosen}:
            chosen.append(key)
    deleted, changed, misapplied, gone = chosen[:4]

    def where(key):
        division, customer, _invoice = bound[key[0]].split("-", 2)
        return "ARDivisionNo = ? AND CustomerNo = ? AND CheckNo = ?", (division, customer, check_number(key[1]))

    db = sage_connect(sage_sandbox.company_db)
    try:
        clause, params = where(deleted)
        db.execute(f"DELETE FROM AR_CashReceiptsHistory WHERE {clause}", params)  # noqa: S608
        division, customer, invoice_no = bound[deleted[0]].split("-", 2)
        db.execute("UPDATE AR_OpenInvoice SET Balance = Balance + ? WHERE ARDivisionNo = ? AND CustomerNo = ? AND "
                   "InvoiceNo = ?", (float(money(in_period[deleted]["Amount"])), division, customer, invoice_no))
        clause, params = where(changed)
        db.execute(f"UPDATE AR_CashReceiptsHistory SET CashAmountApplied = CashAmountApplied + 5 WHERE {clause}",
                   params)  # noqa: S608
        clause, params = where(misapplied)
        db.execute(f"UPDATE AR_CashReceiptsHistory SET InvoiceNo = '' WHERE {clause}", params)  # noqa: S608
        db.commit()
    finally:
        db.close()
    remove_payment_line(sage_kashflow_sandbox.store, *gone)
    # A new payment in Kashflow that the flow has not carried yet (no run since).
    kf = sage_kashflow_sandbox.store
    fresh_invoice = next(str(i["Number"]) for i in kf.list_invoices(page=1, perpage=1000).items
                         if money(i["GrossAmount"]) - money(i["TotalPaidAmount"]) > 1 and str(i["Number"]) in bound
                         and str(i["Number"]) not in {deleted[0], changed[0], misapplied[0], gone[0]})
    before = {str(p["Id"]) for p in kf.get_invoice(int(fresh_invoice))["PaymentLines"]}
    kf.create_bulk_payment(INVOICE, {"Date": end.isoformat(), "Comment": "late receipt",
                                     "PaymentItems": [{"ObjectNumber": int(fresh_invoice), "Amount": 1}]})
    [fresh_id] = {str(p["Id"]) for p in kf.get_invoice(int(fresh_invoice))["PaymentLines"]} - before

    run = reconcile(flow, start, end)
    reasons = by_reason(run)
    assert set(reasons) == {"missing_in_erp", "different_amount", "different_status", "missing_in_kashflow"}, {
        r: [(m.source_id, m.detail) for m in ms] for r, ms in reasons.items()}
    code = in_period[deleted]["invoice"]["CustomerCode"]
    missing = {m.source_id: m for m in reasons["missing_in_erp"]}
    assert set(missing) == {deleted[0], fresh_invoice}
    # Deleted from Sage after the agent applied it: a re-sync would only fetch the agent's stored answer.
    lost = missing[deleted[0]]
    assert (lost.kind, lost.target_id, lost.resyncable) == ("payment", f"{code}-{check_number(deleted[1])}", False)
    assert lost.kashflow_value.startswith(f"{money(in_period[deleted]['Amount']):,}")
    assert "enter it there" in lost.detail
    late = missing[fresh_invoice]
    assert (late.resyncable, late.kashflow_value.split()[0]) == (True, "1.00") and fresh_id in late.detail
    [amount] = reasons["different_amount"]
    expected = money(in_period[changed]["Amount"])
    assert amount.source_id == changed[0] and amount.kashflow_value.startswith(f"{expected:,}")
    assert amount.erp_value.startswith(f"{expected + 5:,}") and "difference 5.00" in amount.detail
    [status] = reasons["different_status"]
    assert (status.source_id, status.erp_value) == (misapplied[0], "not applied")
    assert "applied to no invoice" in status.detail
    [orphan] = reasons["missing_in_kashflow"]
    assert orphan.source_id == gone[0] and check_number(gone[1]) in orphan.target_id

    outcome = services.resync(run, [m.pk for m in run.mismatches.all()], actor=None)
    # The late payment's invoice had nothing paid before (no record: fetched again), or its record goes again.
    assert outcome.replayed + outcome.rescanned == [fresh_invoice] and len(outcome.not_eligible) == 4
    again = run_inline(flow)
    assert again.status == SyncRun.Status.SUCCEEDED, again.message
    [receipt] = sage_receipts(sage_sandbox, check_number(fresh_id))
    assert money(receipt["CashAmountApplied"]) == 1 and receipt["InvoiceNo"] == bound[fresh_invoice].split("-")[-1]
    after = reconcile(flow, start, end)
    assert set(by_reason(after)) == {"missing_in_erp", "different_amount", "different_status",
                                     "missing_in_kashflow"}
    assert [m.source_id for m in after.mismatches.filter(reason="missing_in_erp")] == [deleted[0]]

    # Put Sage right (the receipt entered again, the amount and application corrected, the orphan reversed).
    db = sage_connect(sage_sandbox.company_db)
    try:
        division, customer, invoice_no = bound[deleted[0]].split("-", 2)
        db.execute("INSERT INTO AR_CashReceiptsHistory (BankCode, DepositDate, DepositNo, DepositType, ARDivisionNo, "
                   "CustomerNo, CheckNo, SequenceNo, CreditCardEntryNo, InvoiceNo, InvoiceType, CashAmountApplied) "
                   "VALUES ('A', ?, '99999', 'C', ?, ?, ?, '000001', '000000', ?, 'IN', ?)",
                   (in_period[deleted]["Date"][:10], division, customer, check_number(deleted[1]), invoice_no,
                    float(money(in_period[deleted]["Amount"]))))
        clause, params = where(changed)
        db.execute(f"UPDATE AR_CashReceiptsHistory SET CashAmountApplied = CashAmountApplied - 5 WHERE {clause}",
                   params)  # noqa: S608
        clause, params = where(misapplied)
        db.execute(f"UPDATE AR_CashReceiptsHistory SET InvoiceNo = ? WHERE {clause}",  # noqa: S608
                   (bound[misapplied[0]].split("-")[-1], *params))
        clause, params = where(gone)
        db.execute(f"DELETE FROM AR_CashReceiptsHistory WHERE {clause}", params)  # noqa: S608
        db.commit()
    finally:
        db.close()
    final = reconcile(flow, start, end)
    assert final.status == ReconciliationRun.Status.MATCHED, list(final.mismatches.values("reason", "detail"))
    assert final.summary["matched"] == final.summary["applied"] == len(in_period)  # less the gone, plus the late
