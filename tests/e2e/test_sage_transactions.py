"""Kashflow -> Sage 100 payments, purchases and journals through the agent, proven against the sandboxes.

Each test drives the real pipeline (Kashflow sandbox -> engine -> Sage agent sandbox) and reads what the Sage
company file holds afterwards: receipts applied to their invoices, A/P invoices, G/L postings, field by field.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from integrations.kashflow.sandbox.documents import INVOICE, PURCHASE
from integrations.sage100.sandbox.abc import ACCOUNT_KEYS
from integrations.sync.models import SyncRecord, SyncRun
from mapping.defaults import KASHFLOW_TO_SAGE_LEDGER, SAGE_PURCHASE_TAX_ACCOUNT
from mapping.versions import publish, published_version
from tests.e2e.helpers import run_inline, sage_rows

CENT = Decimal("0.01")




def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


@pytest.fixture
def sage_flows(tenant, sage_pair, sage_kashflow_sandbox, sage_sandbox):
    from integrations.sync.sandbox_setup import connect_sandbox

    return {f.key: f for f in connect_sandbox(instance_id=sage_pair.id, fields=sage_pair.fields).flows}


def kashflow_invoices(store) -> list[dict]:
    return [store.get_invoice(i["Number"]) for i in store.list_invoices(page=1, perpage=1000).items]


# ---------------------------------------------------------------------- payments


def test_payments_wait_for_their_invoice_then_become_receipts_applied_once(sage_flows, sage_kashflow_sandbox,
                                                                           sage_sandbox):
    invoices_flow, payments = sage_flows["kashflow_invoices_to_sage"], sage_flows["kashflow_payments_to_sage"]
    invoices_flow.options = {**invoices_flow.options, "paid_only": False}
    invoices_flow.save()
    store = sage_kashflow_sandbox.store
    paid_lines = {str(line["Id"]): (invoice, line) for invoice in kashflow_invoices(store)
                  for line in invoice["PaymentLines"]}
    assert len(paid_lines) > 3
    visa_method = next(iter(paid_lines.values()))[1]["Method"]
    rules = published_version(payments).rules
    publish(payments, {**rules, "payment_methods": {str(visa_method): "VISA"}}, note="cards")

    # Before the invoices are in Sage the payments wait, in the outbox, and nothing reaches Sage.
    early = run_inline(payments)
    assert early.records_posted == 0 and early.records_failed == 0
    waiting = SyncRecord.objects.filter(flow=payments, status="pending").exclude(message_id="")
    assert waiting.count() == len({inv["Number"] for inv, _line in paid_lines.values()})
    assert all(r.error_code == "awaiting_invoice" for r in waiting)
    assert not sage_rows(sage_sandbox, "SELECT 1 FROM AR_CashReceiptsHistory WHERE CheckNo LIKE 'KF%'")

    assert run_inline(invoices_flow).status == SyncRun.Status.SUCCEEDED
    run = run_inline(payments)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    receipts = sage_rows(sage_sandbox, "SELECT * FROM AR_CashReceiptsHistory WHERE CheckNo LIKE 'KF%'")
    assert Counter(r["CheckNo"] for r in receipts) == Counter({f"KF{i}": 1 for i in paid_lines})
    for receipt in receipts:
        invoice, line = paid_lines[receipt["CheckNo"][2:]]
        division, customer = invoice["CustomerCode"].split("-", 1)
        assert (receipt["ARDivisionNo"], receipt["CustomerNo"]) == (division, customer)
        assert receipt["InvoiceNo"] == str(invoice["Number"]).zfill(7) and receipt["InvoiceType"] == "IN"
        assert money(receipt["CashAmountApplied"]) == money(line["Amount"])
        assert str(receipt["DepositDate"])[:10] == line["Date"][:10]
        assert receipt["PaymentType"] == ("VISA" if line["Method"] == visa_method else "CHECK")
        assert receipt["BankCode"] == "A" and receipt["TransactionType"] == "PY"
    # Each invoice's Sage balance is what Kashflow still shows due (fully paid ones are at zero).
    for invoice in {inv["Number"]: inv for inv, _l in paid_lines.values()}.values():
        [open_item] = sage_rows(sage_sandbox, "SELECT Balance FROM AR_OpenInvoice WHERE InvoiceNo = ? AND Comment = ?",
                                (str(invoice["Number"]).zfill(7), f"Kashflow invoice {invoice['Number']}"))
        assert money(open_item["Balance"]) == money(invoice["DueAmount"])

    again = run_inline(payments)
    assert again.status == SyncRun.Status.SUCCEEDED and again.records_posted == 0 and again.target_calls == 0

    # A second payment on an invoice: only the new one travels, the first is not applied twice.
    open_invoice = next(i for i in kashflow_invoices(store) if i["PaymentLines"] and money(i["DueAmount"]) > 1)
    store.create_bulk_payment(INVOICE, {"Date": "2026-01-05", "Comment": "second instalment",
                                           "PaymentItems": [{"ObjectNumber": open_invoice["Number"], "Amount": 1}]})
    assert run_inline(payments).records_posted == 1
    rows = sage_rows(sage_sandbox, "SELECT CheckNo, CashAmountApplied FROM AR_CashReceiptsHistory WHERE InvoiceNo = ? "
                                   "AND CheckNo LIKE 'KF%'", (str(open_invoice["Number"]).zfill(7),))
    assert len(rows) == len(open_invoice["PaymentLines"]) + 1
    assert len({r["CheckNo"] for r in rows}) == len(rows)
    assert run_inline(payments).records_posted == 0


# ---------------------------------------------------------------------- purchases


def test_purchases_become_ap_invoices_on_mapped_accounts_with_their_vat(sage_flows, sage_kashflow_sandbox,
                                                                        sage_sandbox):
    flow = sage_flows["kashflow_purchases_to_sage"]
    store = sage_kashflow_sandbox.store
    purchases = [store.get_document(PURCHASE, p["Number"])
                 for p in store.list_documents(PURCHASE, page=1, perpage=1000).items]
    assert purchases
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.records_posted == len(purchases)
    for purchase in purchases[:6]:
        division, vendor = purchase["SupplierCode"].split("-", 1)
        invoice_no = (purchase.get("SupplierReference") or str(purchase["Number"])).upper()
        [header] = sage_rows(sage_sandbox, "SELECT * FROM AP_InvoiceHistoryHeader WHERE APDivisionNo = ? AND "
                                           "VendorNo = ? AND InvoiceNo = ?", (division, vendor, invoice_no))
        assert header["Comment"] == f"Kashflow purchase {purchase['Number']}"
        assert str(header["InvoiceDate"])[:10] == purchase["IssuedDate"][:10]
        assert money(header["InvoiceAmt"]) == money(purchase["GrossAmount"])
        lines = sage_rows(sage_sandbox, "SELECT * FROM AP_InvoiceHistoryDetail WHERE APDivisionNo = ? AND "
                                        "VendorNo = ? AND InvoiceNo = ? ORDER BY DetailSeqNo",
                          (division, vendor, invoice_no))
        expected = [(ACCOUNT_KEYS[KASHFLOW_TO_SAGE_LEDGER[str(line["NominalCode"])]],
                     money(Decimal(str(line["Quantity"])) * Decimal(str(line["Rate"]))))
                    for line in purchase["LineItems"]]
        if money(purchase["VATAmount"]):
            expected.append((ACCOUNT_KEYS[SAGE_PURCHASE_TAX_ACCOUNT], money(purchase["VATAmount"])))
        assert [(line["AccountKey"], money(line["ExtensionAmt"])) for line in lines] == expected
        [open_item] = sage_rows(sage_sandbox, "SELECT Balance FROM AP_OpenInvoice WHERE APDivisionNo = ? AND "
                                              "VendorNo = ? AND InvoiceNo = ?", (division, vendor, invoice_no))
        assert money(open_item["Balance"]) == money(purchase["GrossAmount"])
        record = SyncRecord.objects.get(flow=flow, source_id=str(purchase["Number"]), status="posted")
        assert record.target_id == f"{division}-{vendor}-{invoice_no}"
    again = run_inline(flow)
    assert again.records_posted == 0 and again.target_calls == 0


def test_a_purchase_on_an_unmapped_nominal_fails_alone_with_the_code_named(sage_flows, sage_kashflow_sandbox,
                                                                           sage_sandbox):
    flow = sage_flows["kashflow_purchases_to_sage"]
    store = sage_kashflow_sandbox.store
    purchases = [store.get_document(PURCHASE, p["Number"])
                 for p in store.list_documents(PURCHASE, page=1, perpage=1000).items]
    code = str(purchases[0]["LineItems"][0]["NominalCode"])
    rules = published_version(flow).rules
    publish(flow, {**rules, "gl_accounts": {k: v for k, v in rules["gl_accounts"].items() if k != code}}, note="x")
    run = run_inline(flow)
    failed = list(SyncRecord.objects.filter(flow=flow, status="failed"))
    assert failed and run.status == SyncRun.Status.PARTIAL
    assert all(r.error_code == "mapping_missing" and code in r.last_error for r in failed)
    assert run.records_posted == len(purchases) - len(failed)


# ---------------------------------------------------------------------- journals


def test_journals_become_balanced_gl_entries_on_mapped_accounts(sage_flows, sage_kashflow_sandbox, sage_sandbox):
    flow = sage_flows["kashflow_journals_to_sage"]
    store = sage_kashflow_sandbox.store
    journals = [store.get_journal(j["Number"]) for j in store.list_journals(page=1, perpage=1000).items
                if not j.get("IsTemplate")]
    assert journals
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.records_posted == len(journals)
    for journal in journals:
        record = SyncRecord.objects.get(flow=flow, source_id=str(journal["Number"]), status="posted")
        source_journal, entry_no = record.target_id.split("-")
        assert source_journal == "GJ" and entry_no.isdigit()
        postings = sage_rows(sage_sandbox, "SELECT * FROM GL_DetailPosting WHERE SourceJournal = 'GJ' AND "
                                           "JournalRegisterNo = ? ORDER BY SequenceNo", (entry_no,))
        assert [(p["AccountKey"], money(p["DebitAmount"]), money(p["CreditAmount"])) for p in postings] == [
            (ACCOUNT_KEYS[KASHFLOW_TO_SAGE_LEDGER[str(line["NominalCode"])]], money(line.get("Debit")),
             money(line.get("Credit"))) for line in journal["LineItems"]]
        assert all(str(p["PostingDate"])[:10] == journal["JournalDate"][:10] for p in postings)
        assert sum(money(p["DebitAmount"]) for p in postings) == sum(money(p["CreditAmount"]) for p in postings)
    again = run_inline(flow)
    assert again.records_posted == 0 and again.target_calls == 0


def test_payments_read_sage_over_one_connection_a_run_and_a_few_queries_a_batch(sage_flows, sage_kashflow_sandbox,
                                                                              sage_sandbox, monkeypatch):
    from integrations.sage100.odbc import SageOdbcReader
    from integrations.sync.models import Binding

    invoices_flow, payments = sage_flows["kashflow_invoices_to_sage"], sage_flows["kashflow_payments_to_sage"]
    invoices_flow.options = {**invoices_flow.options, "paid_only": False}
    invoices_flow.save()
    assert run_inline(invoices_flow).status == SyncRun.Status.SUCCEEDED
    # Without the invoice flow's bindings the payments find their invoices in AR_OpenInvoice, by comment.
    Binding.objects.filter(connection=payments.target, entity="sales_invoice").delete()
    payments.options = {**payments.options, "batch_size": 4}
    payments.save()

    opened, statements, readers = [], [], []
    connection, execute = SageOdbcReader._connection, SageOdbcReader.execute

    def counting_connection(self):
        if self._conn is None:
            opened.append(self)
            readers.append(self)
        return connection(self)

    def counting_execute(self, sql, params=()):
        statements.append(sql.split(" FROM ", 1)[1].split()[0])
        return execute(self, sql, params)

    monkeypatch.setattr(SageOdbcReader, "_connection", counting_connection)
    monkeypatch.setattr(SageOdbcReader, "execute", counting_execute)
    run = run_inline(payments)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    records = SyncRecord.objects.filter(flow=payments, status="posted").count()
    assert records > 4
    batches = run.target_calls  # one agent call per batch (of at most 4 records)
    assert records > batches >= -(-records // 4)
    assert len(opened) == 1 and all(r._conn is None for r in readers)  # one connection, closed at the end
    assert Counter(statements) == {"AR_OpenInvoice": batches, "AR_CashReceiptsHistory": batches}
    assert len(sage_rows(sage_sandbox, "SELECT 1 FROM AR_CashReceiptsHistory WHERE CheckNo LIKE 'KF%'")) == sum(
        len(r.target_payload["receipts"]) for r in SyncRecord.objects.filter(flow=payments, status="posted"))
