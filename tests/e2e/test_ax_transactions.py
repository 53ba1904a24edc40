"""Kashflow payments, purchases and journals -> AX, and AX paid status -> Kashflow, against the sandboxes.

Each test drives the real pipeline (Kashflow REST / AX AIF + ODBC) and then reads what the sandboxes hold:
AX's LEDGERJOURNALTABLE/TRANS, CUSTTRANS, CUSTTRANSOPEN and CUSTSETTLEMENT, and Kashflow's invoices.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from integrations.kashflow.sandbox.documents import INVOICE, PURCHASE
from integrations.sync import pipeline
from integrations.sync.connectors import ax_client_for
from integrations.sync.flows.kashflow_payments_to_ax import payment_reference
from integrations.sync.inbox import replay
from integrations.sync.models import SyncRecord, SyncRun
from mapping.versions import publish
from tests.e2e.helpers import WorkerDied, run_inline

COMPANY = "gbsi"
CUST_PAYMENT, DAILY = 5, 0  # LedgerJournalType
LEDGER, CUST, VEND, BANK = 0, 1, 2, 5  # LedgerJournalACType


@pytest.fixture
def flows(tenant, ax_pair, kashflow_sandbox, ax_sandbox):
    """The tenant wired to the AX pair exactly as "Start a sandbox integration" wires it: key -> Flow."""
    from integrations.sync.sandbox_setup import connect_sandbox

    return {f.key: f for f in connect_sandbox(instance_id=ax_pair.id, fields=ax_pair.fields).flows}


def d(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def journal_lines(store, document_num: str | None = None, *, journal_type: int | None = None) -> list[dict]:
    """LEDGERJOURNALTRANS rows with their journal header and the display value of both accounts."""
    sql = ("SELECT L.*, J.JOURNALNAME, J.JOURNALTYPE, J.POSTED, A.DISPLAYVALUE AS ACCOUNT, "
           "O.DISPLAYVALUE AS OFFSETACCOUNT FROM LEDGERJOURNALTRANS L JOIN LEDGERJOURNALTABLE J ON "
           "J.JOURNALNUM = L.JOURNALNUM AND J.DATAAREAID = L.DATAAREAID LEFT JOIN DIMENSIONATTRIBUTEVALUECOMBINATION A "
           "ON A.RECID = L.LEDGERDIMENSION LEFT JOIN DIMENSIONATTRIBUTEVALUECOMBINATION O ON "
           "O.RECID = L.OFFSETLEDGERDIMENSION WHERE L.DATAAREAID = ?")
    params: list = [COMPANY]
    if document_num is not None:
        sql += " AND L.DOCUMENTNUM = ?"
        params.append(document_num)
    if journal_type is not None:
        sql += " AND J.JOURNALTYPE = ?"
        params.append(journal_type)
    return store.query(sql + " ORDER BY L.JOURNALNUM, L.LINENUM", tuple(params))


def kashflow_all(store, kind=None) -> list[dict]:
    """Every invoice (or purchase) of the Kashflow sandbox, in full."""
    out, page = [], 1
    while True:
        result = store.list_documents(kind, page=page, perpage=100) if kind else store.list_invoices(page=page,
                                                                                                   perpage=100)
        out += [store.get_document(kind, i["Number"]) if kind else store.get_invoice(i["Number"])
                for i in result.items]
        if page * 100 >= result.total:
            return out
        page += 1


def ax_invoice_of(store, number: str) -> dict:
    """The posted AX invoice transaction (CUSTTRANS) of a Kashflow invoice (CustomerRef = its number)."""
    return store.one("SELECT T.* FROM CUSTINVOICETABLE H JOIN CUSTTRANS T ON T.DATAAREAID = H.DATAAREAID AND "
                     "T.INVOICE = H.INVOICEID AND T.AMOUNTCUR > 0 WHERE H.DATAAREAID = ? AND H.CUSTOMERREF = ?",
                     (COMPANY, number))


def assert_second_run_changes_nothing(flow, store) -> None:
    before = store.scalar("SELECT COUNT(*) FROM LEDGERJOURNALTRANS")
    again = run_inline(flow)
    assert again.status == SyncRun.Status.SUCCEEDED, again.message
    assert again.records_posted == 0 and again.target_calls == 0
    assert store.scalar("SELECT COUNT(*) FROM LEDGERJOURNALTRANS") == before


def settle_in_ax(flow, trans: dict, amount: Decimal) -> None:
    """A payment entered in AX itself (not from Kashflow) settling the invoice transaction ``trans``."""
    account = {"DisplayValue": trans["ACCOUNTNUM"], "Account": trans["ACCOUNTNUM"]}
    ax_client_for(flow.source).create_customer_payment_journal({"JournalName": "CustPay", "LedgerJournalTrans": [{
        "AccountType": "Cust", "LedgerDimension": account, "AmountCurCredit": amount,
        "CurrencyCode": trans["CURRENCYCODE"], "MarkedInvoice": trans["INVOICE"], "PaymReference": "LOCKBOX-77",
        "TransDate": "2026-11-02", "OffsetAccountType": "Bank",
        "OffsetLedgerDimension": {"DisplayValue": "GBSI OPER", "Account": "GBSI OPER"}}]},
        message_id=str(uuid.uuid4()).upper())


# ---------------------------------------------------------------------- journals


def test_journals_become_balanced_general_journals_on_mapped_accounts(flows, kashflow_sandbox, ax_sandbox):
    flow = flows["kashflow_journals_to_ax"]
    journals = [kashflow_sandbox.store.get_journal(j["Number"])
                for j in kashflow_sandbox.store.list_journals(page=1, perpage=100).items]
    assert len(journals) >= 4
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.records_posted == len(journals) and run.target_calls == len(journals)
    accounts = {"8000": "607200", "31": "180200", "7601": "618900", "2109": "200110"}
    for journal in journals:
        lines = journal_lines(ax_sandbox.store, f"KFJ{journal['Number']}")
        assert len(lines) == len(journal["LineItems"])
        assert {line["JOURNALNUM"] for line in lines} == {lines[0]["JOURNALNUM"]}
        assert lines[0]["JOURNALNAME"] == "GenJrn" and lines[0]["JOURNALTYPE"] == DAILY and lines[0]["POSTED"] == 1
        for line, source in zip(lines, journal["LineItems"], strict=True):
            assert line["ACCOUNTTYPE"] == LEDGER
            assert line["ACCOUNT"] == f"{accounts[str(source['NominalCode'])]}-001-022"  # mapped, with dimensions
            assert (d(line["AMOUNTCURDEBIT"]), d(line["AMOUNTCURCREDIT"])) == (d(source["Debit"]), d(source["Credit"]))
            assert line["CURRENCYCODE"] == "GBP" and line["TRANSDATE"] == journal["JournalDate"][:10]
        assert sum(d(x["AMOUNTCURDEBIT"]) - d(x["AMOUNTCURCREDIT"]) for x in lines) == 0
    assert_second_run_changes_nothing(flow, ax_sandbox.store)


def test_a_journal_on_an_unmapped_nominal_lands_in_the_inbox_and_posts_once_fixed(flows, kashflow_sandbox,
                                                                                   ax_sandbox):
    flow = flows["kashflow_journals_to_ax"]
    number = kashflow_sandbox.store.create_journal({
        "JournalDate": "2026-06-30", "Comment": "Bank charges",
        "LineItems": [{"NominalCode": 7900, "Debit": "12.50"}, {"NominalCode": 1200, "Credit": "12.50"}]})["Number"]
    rules = flow_rules(flow)
    rules["gl_accounts"].pop("7900")
    publish(flow, rules, note="7900 unmapped")
    run = run_inline(flow)
    failed = SyncRecord.objects.get(flow=flow, source_id=str(number))
    assert failed.status == SyncRecord.Status.FAILED and failed.error_code == "mapping_missing"
    assert "7900" in failed.last_error
    assert journal_lines(ax_sandbox.store, f"KFJ{number}") == []
    assert run.records_posted > 0
    rules["gl_accounts"]["7900"] = "618900"
    publish(flow, rules, note="7900 mapped")
    outcome = replay([failed.pk], mapping="current", actor=None)
    assert outcome is not None
    run_inline(flow)
    lines = journal_lines(ax_sandbox.store, f"KFJ{number}")
    assert [(x["ACCOUNT"], d(x["AMOUNTCURDEBIT"]), d(x["AMOUNTCURCREDIT"])) for x in lines] == [
        ("618900-001-022", d("12.50"), d(0)), ("110150-001-022", d(0), d("12.50"))]


def flow_rules(flow) -> dict:
    from mapping.versions import published_version

    return {key: (dict(value) if isinstance(value, dict) else value)
            for key, value in published_version(flow).rules.items()}


# ---------------------------------------------------------------------- purchases


def test_purchases_become_journals_with_vendor_gross_mapped_lines_and_vat(flows, kashflow_sandbox, ax_sandbox):
    flow = flows["kashflow_purchases_to_ax"]
    assert flow.options["purchase_journal"] == "general"
    purchases = kashflow_all(kashflow_sandbox.store, PURCHASE)
    vendors = {row["ACCOUNTNUM"] for row in ax_sandbox.store.query(
        "SELECT ACCOUNTNUM FROM VENDTABLE WHERE DATAAREAID = ?", (COMPANY,))}
    run = run_inline(flow)
    carried = [p for p in purchases if p["SupplierCode"] in vendors]
    assert run.records_posted == len(carried) > 10, run.message
    for purchase in carried:
        lines = journal_lines(ax_sandbox.store, f"KFP{purchase['Number']}")
        vendor = [x for x in lines if x["ACCOUNTTYPE"] == VEND]
        assert len(vendor) == 1 and vendor[0]["ACCOUNT"] == purchase["SupplierCode"]
        assert d(vendor[0]["AMOUNTCURCREDIT"]) == d(purchase["GrossAmount"])
        assert vendor[0]["INVOICE"] == purchase["SupplierReference"]
        assert vendor[0]["DUE"] == purchase["DueDate"][:10]
        ledger = [x for x in lines if x["ACCOUNTTYPE"] == LEDGER]
        vat = [x for x in ledger if x["ACCOUNT"].startswith("130800")]
        expense = [x for x in ledger if not x["ACCOUNT"].startswith("130800")]
        assert sum(d(x["AMOUNTCURDEBIT"]) for x in vat) == d(purchase["VATAmount"])
        assert sum(d(x["AMOUNTCURDEBIT"]) for x in expense) == d(purchase["NetAmount"])
        assert all(x["ACCOUNT"].endswith("-001-022") for x in ledger)  # financial dimensions on every line
        assert {x["CURRENCYCODE"] for x in lines} == {purchase["Currency"]["Code"]}
        assert len({x["VOUCHER"] for x in lines}) == 1  # one balanced voucher per purchase
    first = carried[0]
    expense = [x for x in journal_lines(ax_sandbox.store, f"KFP{first['Number']}")
               if x["ACCOUNTTYPE"] == LEDGER and not x["ACCOUNT"].startswith("130800")]
    assert [d(x["AMOUNTCURDEBIT"]) for x in expense] == [
        d(Decimal(str(item["Quantity"])) * Decimal(str(item["Rate"]))) for item in first["LineItems"]]
    assert_second_run_changes_nothing(flow, ax_sandbox.store)


def test_purchases_become_vendor_invoice_journals_through_purchase_invoice_service(flows, kashflow_sandbox,
                                                                                   ax_sandbox):
    flow = flows["kashflow_purchases_to_ax"]
    flow.options = {**flow.options, "purchase_journal": "vendor_invoice"}
    flow.save()
    store = ax_sandbox.store
    purchases = kashflow_all(kashflow_sandbox.store, PURCHASE)
    vendors = {row["ACCOUNTNUM"] for row in store.query("SELECT ACCOUNTNUM FROM VENDTABLE WHERE DATAAREAID = ?",
                                                        (COMPANY,))}
    run = run_inline(flow)
    carried = [p for p in purchases if p["SupplierCode"] in vendors]
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted == len(carried) > 10, run.message
    purchase_ledger = 2  # LedgerJournalType PurchaseLedger
    assert not [x for x in journal_lines(store, journal_type=0) if x["DOCUMENTNUM"].startswith("KFP")]  # no Daily
    for purchase in carried:
        lines = journal_lines(store, f"KFP{purchase['Number']}")
        assert {(x["JOURNALNAME"], x["JOURNALTYPE"]) for x in lines} == {("APInvoice", purchase_ledger)}
        assert {x["VOUCHER"][:4] for x in lines} == {"APIN"} and len({x["VOUCHER"] for x in lines}) == 1
        vendor = [x for x in lines if x["ACCOUNTTYPE"] == VEND]
        assert len(vendor) == 1 and vendor[0]["ACCOUNT"] == purchase["SupplierCode"]
        assert d(vendor[0]["AMOUNTCURCREDIT"]) == d(purchase["GrossAmount"])
        assert vendor[0]["INVOICE"] == purchase["SupplierReference"]
        ledger = [x for x in lines if x["ACCOUNTTYPE"] == LEDGER]
        assert sum(d(x["AMOUNTCURDEBIT"]) for x in ledger) == d(purchase["GrossAmount"])  # net + VAT: balanced
    records = SyncRecord.objects.filter(flow=flow, status=SyncRecord.Status.POSTED)
    journals = {r.target_id for r in records}
    assert journals and all(store.one("SELECT 1 FROM LEDGERJOURNALTABLE WHERE JOURNALNUM = ? AND JOURNALTYPE = ?",
                                      (j, purchase_ledger)) for j in journals)
    assert_second_run_changes_nothing(flow, store)


def test_the_purchase_invoice_service_refuses_a_journal_name_of_another_type(flows, ax_sandbox):
    client = ax_client_for(flows["kashflow_purchases_to_ax"].target)
    journal = {"JournalName": "GenJrn", "LedgerJournalTrans": [{
        "AccountType": "Ledger", "AmountCurDebit": Decimal("10.00"), "CurrencyCode": "GBP",
        "LedgerDimension": {"Account": "618900", "DisplayValue": "618900"}, "OffsetAccountType": "Ledger",
        "OffsetLedgerDimension": {"Account": "110150", "DisplayValue": "110150"}, "TransDate": "2026-11-01"}]}
    with pytest.raises(Exception, match="GenJrn"):
        client.create_vendor_invoice_journal(journal, message_id=str(uuid.uuid4()).upper())


# ---------------------------------------------------------------------- payments, both ways


def test_kashflow_payments_settle_the_ax_invoices_and_wait_for_invoices_not_in_ax(flows, kashflow_sandbox,
                                                                                  ax_sandbox):
    invoices_flow, payments_flow = flows["kashflow_invoices_to_ax"], flows["kashflow_payments_to_ax"]
    store = ax_sandbox.store
    run_inline(invoices_flow)  # paid invoices only
    invoices = {str(i["Number"]): i for i in kashflow_all(kashflow_sandbox.store) if i["PaymentLines"]}
    part_paid = {n for n, i in invoices.items() if i["Status"] != "Paid"}
    assert part_paid and len(invoices) > len(part_paid)

    run = run_inline(payments_flow)
    # Part-paid invoices are not in AX yet: their payments wait, which is expected, not an error of the run.
    assert run.status == SyncRun.Status.SUCCEEDED and "wait for a record" in run.message, run.message
    waiting = SyncRecord.objects.filter(flow=payments_flow, status=SyncRecord.Status.PENDING)
    assert {r.source_id for r in waiting} == part_paid
    assert all(r.error_code == "awaiting_invoice" and r.message_id for r in waiting)
    assert not SyncRecord.objects.filter(flow=payments_flow, status=SyncRecord.Status.FAILED).exists()

    # The customer pays the rest: the invoice is paid, so the invoice flow posts it, and the waiting payment
    # (still in the outbox) and the new one settle it.
    for number in part_paid:
        invoice = kashflow_sandbox.store.get_invoice(int(number))
        kashflow_sandbox.store.update_document(INVOICE, int(number), {**invoice, "PaymentLines": [
            *invoice["PaymentLines"], {"Amount": str(d(invoice["DueAmount"])), "Date": "2026-11-01", "Method": 4,
                                       "AccountId": 1}]})
    invoices = {str(i["Number"]): i for i in kashflow_all(kashflow_sandbox.store) if i["PaymentLines"]}
    run_inline(invoices_flow)
    run = run_inline(payments_flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message

    for number, invoice in invoices.items():
        trans = ax_invoice_of(store, number)
        for payment in invoice["PaymentLines"]:
            (line,) = store.query("SELECT L.*, J.JOURNALTYPE FROM LEDGERJOURNALTRANS L JOIN LEDGERJOURNALTABLE J ON "
                                  "J.JOURNALNUM = L.JOURNALNUM WHERE L.PAYMREFERENCE = ?",
                                  (payment_reference(number, str(payment["Id"])),))
            assert line["JOURNALTYPE"] == CUST_PAYMENT and line["ACCOUNTTYPE"] == CUST
            assert d(line["AMOUNTCURCREDIT"]) == d(payment["Amount"]) and line["MARKEDINVOICE"] == trans["INVOICE"]
            assert line["OFFSETACCOUNTTYPE"] == BANK and line["TRANSDATE"] == payment["Date"][:10]
            assert line["CURRENCYCODE"] == invoice["Currency"]["Code"]
        paid = sum(d(p["Amount"]) for p in invoice["PaymentLines"])
        received = store.query("SELECT AMOUNTCUR FROM CUSTTRANS WHERE DATAAREAID = ? AND PAYMREFERENCE LIKE ?",
                               (COMPANY, f"KF{number}-%"))
        assert sum(-d(r["AMOUNTCUR"]) for r in received) == paid  # the payments AX posted: what Kashflow received
        # AX taxed the invoice from the lines' tax groups, so it holds the gross and the receipts settle it in full,
        # leaving no VAT credit open on the customer.
        assert d(trans["AMOUNTCUR"]) == d(invoice["GrossAmount"]) == paid, number
        assert d(trans["SETTLEAMOUNTCUR"]) == d(trans["AMOUNTCUR"]), number
        assert not store.query("SELECT 1 FROM CUSTTRANSOPEN O JOIN CUSTTRANS T ON T.RECID = O.REFRECID WHERE "
                               "T.PAYMREFERENCE LIKE ?", (f"KF{number}-%",)), number
        settlements = store.query("SELECT * FROM CUSTSETTLEMENT WHERE TRANSRECID = ?", (trans["RECID"],))
        assert sum(d(s["SETTLEAMOUNTCUR"]) for s in settlements) == d(trans["AMOUNTCUR"])
        assert store.one("SELECT 1 FROM CUSTTRANSOPEN WHERE REFRECID = ?", (trans["RECID"],)) is None
        assert trans["CLOSED"] != "1900-01-01"
    assert not SyncRecord.objects.exclude(message_id="").exists()
    assert_second_run_changes_nothing(payments_flow, store)


def test_a_part_payment_reduces_the_open_amount_and_a_second_payment_goes_alone(flows, kashflow_sandbox,
                                                                                 ax_sandbox):
    invoices_flow, payments_flow = flows["kashflow_invoices_to_ax"], flows["kashflow_payments_to_ax"]
    store = ax_sandbox.store
    invoices_flow.options = {**invoices_flow.options, "paid_only": False}
    invoices_flow.save()
    run_inline(invoices_flow)
    assert run_inline(payments_flow).status == SyncRun.Status.SUCCEEDED
    number = next(str(i["Number"]) for i in kashflow_all(kashflow_sandbox.store) if not i["PaymentLines"])
    invoice = kashflow_sandbox.store.get_invoice(int(number))
    gross, part = d(invoice["GrossAmount"]), d(d(invoice["GrossAmount"]) / 3)
    kashflow_sandbox.store.update_document(INVOICE, int(number), {**invoice, "PaymentLines": [
        {"Amount": str(part), "Date": "2026-11-01", "Method": 4, "AccountId": 1}]})
    run = run_inline(payments_flow)
    assert run.records_posted == 1 and run.target_calls == 1, run.message
    trans = ax_invoice_of(store, number)
    assert d(trans["SETTLEAMOUNTCUR"]) == part < d(trans["AMOUNTCUR"]) == gross
    assert d(store.one("SELECT AMOUNTCUR FROM CUSTTRANSOPEN WHERE REFRECID = ?", (trans["RECID"],))["AMOUNTCUR"]) \
        == d(trans["AMOUNTCUR"]) - part

    invoice = kashflow_sandbox.store.get_invoice(int(number))
    kashflow_sandbox.store.update_document(INVOICE, int(number), {**invoice, "PaymentLines": [
        *invoice["PaymentLines"], {"Amount": str(gross - part), "Date": "2026-11-05", "Method": 4, "AccountId": 1}]})
    before = store.scalar("SELECT COUNT(*) FROM LEDGERJOURNALTRANS")
    run = run_inline(payments_flow)
    assert run.records_posted == 1 and store.scalar("SELECT COUNT(*) FROM LEDGERJOURNALTRANS") == before + 1
    trans = ax_invoice_of(store, number)
    assert d(trans["SETTLEAMOUNTCUR"]) == d(trans["AMOUNTCUR"]) == gross  # fully settled at the gross
    assert d(ax_sandbox.store.scalar("SELECT SUM(AMOUNTCUR) FROM CUSTTRANS WHERE PAYMREFERENCE LIKE ?",
                                     (f"KF{number}-%",))) == -gross
    assert store.one("SELECT 1 FROM CUSTTRANSOPEN WHERE REFRECID = ?", (trans["RECID"],)) is None
    assert_second_run_changes_nothing(payments_flow, store)


def test_an_invoice_settled_in_ax_is_paid_in_kashflow_once_and_never_travels_back(flows, kashflow_sandbox,
                                                                                  ax_sandbox):
    invoices_flow, payments_flow = flows["kashflow_invoices_to_ax"], flows["kashflow_payments_to_ax"]
    status_flow = flows["ax_paid_status_to_kashflow"]
    invoices_flow.options = {**invoices_flow.options, "paid_only": False}
    invoices_flow.save()
    run_inline(invoices_flow)
    run_inline(payments_flow)
    first = run_inline(status_flow)  # everything AX has settled so far came from Kashflow
    assert first.status == SyncRun.Status.SUCCEEDED and first.records_posted == 0, first.message
    unpaid = [i for i in kashflow_all(kashflow_sandbox.store) if not i["PaymentLines"]]
    assert unpaid
    invoice = unpaid[0]
    number = str(invoice["Number"])
    trans = ax_invoice_of(ax_sandbox.store, number)
    amount = d(trans["AMOUNTCUR"])
    settle_in_ax(status_flow, trans, amount)

    run = run_inline(status_flow)
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted == 1, run.message
    after = kashflow_sandbox.store.get_invoice(int(number))
    (line,) = after["PaymentLines"]
    assert d(line["Amount"]) == amount and line["Date"][:10] == "2026-11-02"
    assert line["Note"].startswith("Ledgerbridge: AX settlement") and trans["INVOICE"] in line["Note"]
    # AX settled the gross (VAT included), so the invoice is paid in full in Kashflow.
    assert amount == d(invoice["GrossAmount"])
    assert d(after["TotalPaidAmount"]) == amount and d(after["DueAmount"]) == 0
    record = SyncRecord.objects.get(flow=status_flow, status=SyncRecord.Status.POSTED)
    assert record.source_id == trans["INVOICE"] and record.target_id.startswith(f"{number}:")

    again = run_inline(status_flow)
    assert again.records_posted == 0 and again.target_calls == 0
    assert len(kashflow_sandbox.store.get_invoice(int(number))["PaymentLines"]) == 1
    # The payment Ledgerbridge added in Kashflow is not carried back to AX as a second payment.
    before = ax_sandbox.store.scalar("SELECT COUNT(*) FROM LEDGERJOURNALTRANS")
    back = run_inline(payments_flow)
    assert back.records_posted == 0 and ax_sandbox.store.scalar("SELECT COUNT(*) FROM LEDGERJOURNALTRANS") == before
    assert d(ax_invoice_of(ax_sandbox.store, number)["SETTLEAMOUNTCUR"]) == amount


def test_lost_answers_from_ax_post_each_payment_journal_and_journal_once(flows, kashflow_sandbox, ax_sandbox):
    invoices_flow, payments_flow = flows["kashflow_invoices_to_ax"], flows["kashflow_payments_to_ax"]
    journals_flow = flows["kashflow_journals_to_ax"]
    store = ax_sandbox.store
    run_inline(invoices_flow)
    ax_sandbox.app.faults.set({"timeout_after_commit": {"every": 2}})  # AX commits, the answer is lost
    for flow in (payments_flow, journals_flow, payments_flow, journals_flow):
        run_inline(flow)  # a lost answer: same MessageId again -> DuplicateMessage -> natural-key look-up
    assert ax_sandbox.app.faults.snapshot()["fired"]["timeout_after_commit"] >= 5
    ax_sandbox.app.faults.set({})
    run_inline(payments_flow)
    run_inline(journals_flow)
    references = [row["PAYMREFERENCE"] for row in store.query(
        "SELECT PAYMREFERENCE FROM LEDGERJOURNALTRANS WHERE PAYMREFERENCE LIKE 'KF%'")]
    paid = [i for i in kashflow_all(kashflow_sandbox.store) if i["Status"] == "Paid"]
    expected = sorted(payment_reference(str(i["Number"]), str(p["Id"])) for i in paid for p in i["PaymentLines"])
    assert sorted(references) == expected  # every payment once
    documents = [row["DOCUMENTNUM"] for row in journal_lines(store) if row["DOCUMENTNUM"].startswith("KFJ")]
    journals = kashflow_sandbox.store.list_journals(page=1, perpage=100).items
    assert sorted(set(documents)) == sorted(f"KFJ{j['Number']}" for j in journals)
    assert len(documents) == sum(len(kashflow_sandbox.store.get_journal(j["Number"])["LineItems"]) for j in journals)
    # Only payments on invoices AX does not have (part-paid ones: not posted by the paid-only invoice flow) wait.
    assert set(SyncRecord.objects.exclude(message_id="").values_list("error_code", flat=True)) == {"awaiting_invoice"}
    assert not SyncRecord.objects.filter(target_id__startswith="MessageId:").exists()


def test_a_worker_killed_after_kashflow_took_the_payment_resumes_without_a_second_one(flows, kashflow_sandbox,
                                                                                      ax_sandbox, monkeypatch):
    invoices_flow, status_flow = flows["kashflow_invoices_to_ax"], flows["ax_paid_status_to_kashflow"]
    invoices_flow.options = {**invoices_flow.options, "paid_only": False}
    invoices_flow.save()
    run_inline(invoices_flow)
    number = next(str(i["Number"]) for i in kashflow_all(kashflow_sandbox.store) if not i["PaymentLines"])
    trans = ax_invoice_of(ax_sandbox.store, number)
    part = d(d(trans["AMOUNTCUR"]) / 2)
    settle_in_ax(status_flow, trans, part)

    def die(at: str) -> None:
        if at == "send":
            raise WorkerDied(at)  # Kashflow recorded the payment; the answer was never bound

    monkeypatch.setattr(pipeline, "crash_hook", die)
    with pytest.raises(WorkerDied):
        run_inline(status_flow)
    assert len(kashflow_sandbox.store.get_invoice(int(number))["PaymentLines"]) == 1
    assert SyncRecord.objects.filter(flow=status_flow).exclude(message_id="").exists()  # still in the outbox
    monkeypatch.setattr(pipeline, "crash_hook", None)
    resumed = run_inline(status_flow)
    assert resumed.status == SyncRun.Status.SUCCEEDED and resumed.records_posted == 1, resumed.message
    (line,) = kashflow_sandbox.store.get_invoice(int(number))["PaymentLines"]
    assert d(line["Amount"]) == part and line["Note"].startswith("Ledgerbridge: AX settlement")
    assert run_inline(status_flow).target_calls == 0
