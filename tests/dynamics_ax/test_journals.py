"""General journals, customer payment journals, posting and settlement ("invoice settled in AX")."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
import requests

from integrations.core.errors import DuplicateError, IntegrityError, TargetValidationError
from integrations.dynamics_ax.adapter import ledger_account

from .soap import call, document, infolog

TODAY = date(2024, 6, 28)


def mid() -> str:
    return str(uuid.uuid4())


def ledger(main: str, **dims: str) -> dict:
    account = ledger_account(main, dims)
    return {"DisplayValue": account["DisplayValue"], "Account": main, **({"Values": account["Values"]}
                                                                        if "Values" in account else {})}


def line(account: dict, *, debit: str | None = None, credit: str | None = None, offset: dict | None = None,
         account_type: str = "Ledger", **extra) -> dict:
    entry = {"AccountType": account_type, "LedgerDimension": account, "CurrencyCode": "GBP", "TransDate": TODAY,
             "Txt": "Sandbox test", **extra}
    if debit:
        entry["AmountCurDebit"] = Decimal(debit)
    if credit:
        entry["AmountCurCredit"] = Decimal(credit)
    if offset:
        entry["OffsetAccountType"] = "Ledger"
        entry["OffsetLedgerDimension"] = offset
    return entry


def open_invoice(store, currency: str = "GBP") -> dict:
    return store.one(
        "SELECT * FROM CUSTTRANS WHERE DATAAREAID = 'gbsi' AND AMOUNTCUR > 0 AND SETTLEAMOUNTCUR = 0 AND "
        "CURRENCYCODE = ? ORDER BY RECID LIMIT 1", (currency,))


def payment(invoice: dict, amount: Decimal) -> dict:
    customer = {"DisplayValue": invoice["ACCOUNTNUM"], "Account": invoice["ACCOUNTNUM"]}
    return {"JournalName": "CustPay", "Name": "Kashflow receipts", "LedgerJournalTrans": [
        line(customer, credit=str(amount), offset=ledger("110150"), account_type="Cust",
             MarkedInvoice=invoice["INVOICE"], PaymMode="BACS", PaymReference="KF-RCPT-1")]}


def test_general_journal_create_and_read(aif, instance) -> None:
    journal_num = aif.create_general_journal({"JournalName": "GenJrn", "Name": "Office costs", "LedgerJournalTrans": [
        line(ledger("606300", BusinessUnit="001", Department="022"), debit="120.00", offset=ledger("110150"))]},
        message_id=mid())
    journal = aif.read_general_journal(journal_num)
    assert journal["JournalName"] == "GenJrn" and journal["JournalType"] == "Daily" and journal["Posted"] == "Yes"
    trans = journal["LedgerJournalTrans"][0]
    assert trans["LedgerDimension"] == {"DisplayValue": "606300-001-022", "Account": "606300", "Values": {"Value": [
        {"Name": "BusinessUnit", "Value": "001"}, {"Name": "Department", "Value": "022"}]}}
    assert trans["OffsetLedgerDimension"]["DisplayValue"] == "110150" and trans["AmountCurDebit"] == 120
    assert trans["Voucher"].startswith("GNJL")
    row = instance.store.one("SELECT * FROM LEDGERJOURNALTABLE WHERE DATAAREAID = 'gbsi' AND JOURNALNUM = ?",
                             (journal_num,))
    assert row["POSTED"] == 1 and row["JOURNALTOTALDEBIT"] == 120 and row["NUMOFLINES"] == 1


def test_vouchers_follow_the_balance_and_each_must_balance(aif, instance) -> None:
    journal_num = aif.create_general_journal({"JournalName": "GenJrn", "LedgerJournalTrans": [
        line(ledger("601300", BusinessUnit="002"), debit="80.00"),
        line(ledger("110150"), credit="80.00"),
        line(ledger("606300"), debit="15.00", offset=ledger("110150")),
    ]}, message_id=mid())
    vouchers = [row["VOUCHER"] for row in instance.store.query(
        "SELECT VOUCHER FROM LEDGERJOURNALTRANS WHERE DATAAREAID = 'gbsi' AND JOURNALNUM = ? ORDER BY LINENUM",
        (journal_num,))]
    assert vouchers[0] == vouchers[1] != vouchers[2]
    before = instance.store.scalar("SELECT COUNT(*) FROM LEDGERJOURNALTABLE")
    with pytest.raises(TargetValidationError) as info:
        aif.create_general_journal({"JournalName": "GenJrn", "LedgerJournalTrans": [
            line(ledger("601300"), debit="80.00"), line(ledger("110150"), credit="79.99")]}, message_id=mid())
    assert info.value.code == "Unbalanced"
    assert "do not balance as per 6/28/2024. (accounting currency: 0.01)" in info.value.details[0]
    assert instance.store.scalar("SELECT COUNT(*) FROM LEDGERJOURNALTABLE") == before
    with pytest.raises(TargetValidationError) as info:  # an explicit voucher groups lines too
        aif.create_customer_payment_journal({"JournalName": "CustPay", "LedgerJournalTrans": [
            line({"DisplayValue": "GB-0001", "Account": "GB-0001"}, credit="50", account_type="Cust", Voucher="V1"),
            line(ledger("110150"), debit="40", Voucher="V1")]}, message_id=mid())
    assert "voucher V1 do not balance" in info.value.details[0]


def test_invalid_accounts_and_dimensions_are_integrity_faults(aif) -> None:
    with pytest.raises(IntegrityError) as info:
        aif.create_general_journal({"JournalName": "GenJrn", "LedgerJournalTrans": [
            line(ledger("999999"), debit="10", offset=ledger("110150")),
            line(ledger("606300", Department="099"), debit="10", offset=ledger("110150")),
            line({"DisplayValue": "NOPE", "Account": "NOPE"}, account_type="Cust", debit="10", offset=ledger("110150")),
        ]}, message_id=mid())
    assert info.value.details == [
        "The value '999999' in field 'Main account' is not found in the relating table 'Main accounts'.",
        "The value '099' of the dimension 'Department' does not exist.",
        "The value 'NOPE' in field 'Account' is not found in the relating table 'Customers'.",
    ]


def test_journal_name_must_exist_and_match_the_service(aif, instance) -> None:
    with pytest.raises(TargetValidationError) as info:
        aif.create_general_journal({"JournalName": "CustPay", "LedgerJournalTrans": [
            line(ledger("606300"), debit="1", offset=ledger("110150"))]}, message_id=mid())
    assert "GeneralJournalService needs a journal name of type Daily" in info.value.details[0]
    with pytest.raises(IntegrityError):
        aif.create_general_journal({"JournalName": "Nope", "LedgerJournalTrans": [
            line(ledger("606300"), debit="1", offset=ledger("110150"))]}, message_id=mid())
    missing = document("LedgerGeneralJournal", '<LedgerJournalTable class="entity"><Name>x</Name>'
                                               "</LedgerJournalTable>")
    message = infolog(call(instance, "GeneralJournalService", "create", missing))[0]
    assert message.startswith("Invalid document schema.") and "JournalName" in message


def test_payment_journal_settles_the_marked_invoice(aif, instance) -> None:
    store = instance.store
    invoice = open_invoice(store)
    amount = Decimal(str(invoice["AMOUNTCUR"]))
    message_id = mid()
    journal_num = aif.create_customer_payment_journal(payment(invoice, amount), message_id=message_id)
    with pytest.raises(DuplicateError):
        aif.create_customer_payment_journal(payment(invoice, amount), message_id=message_id)
    settled = store.one("SELECT * FROM CUSTTRANS WHERE RECID = ?", (invoice["RECID"],))
    assert Decimal(str(settled["SETTLEAMOUNTCUR"])) == amount and settled["CLOSED"] == TODAY.isoformat()
    assert settled["RECVERSION"] != invoice["RECVERSION"] and settled["MODIFIEDDATETIME"] > invoice["MODIFIEDDATETIME"]
    assert store.one("SELECT * FROM CUSTTRANSOPEN WHERE REFRECID = ?", (invoice["RECID"],)) is None
    voucher = store.scalar("SELECT VOUCHER FROM LEDGERJOURNALTRANS WHERE DATAAREAID = 'gbsi' AND JOURNALNUM = ?",
                           (journal_num,))
    assert settled["LASTSETTLEVOUCHER"] == voucher
    pay = store.one("SELECT * FROM CUSTTRANS WHERE DATAAREAID = 'gbsi' AND VOUCHER = ? AND AMOUNTCUR < 0", (voucher,))
    assert pay["TRANSTYPE"] == 15 and Decimal(str(pay["AMOUNTCUR"])) == -amount and pay["CLOSED"] != "1900-01-01"
    pairs = store.query("SELECT TRANSRECID, OFFSETRECID, SETTLEAMOUNTCUR FROM CUSTSETTLEMENT WHERE TRANSRECID IN "
                        "(?, ?)", (invoice["RECID"], pay["RECID"]))
    assert {(p["TRANSRECID"], p["OFFSETRECID"]) for p in pairs} == {(invoice["RECID"], pay["RECID"]),
                                                                      (pay["RECID"], invoice["RECID"])}
    with pytest.raises(IntegrityError) as info:  # settled now: no longer open
        aif.create_customer_payment_journal(payment(invoice, Decimal("1")), message_id=mid())
    assert info.value.details == [f"Invoice {invoice['INVOICE']} is not an open transaction of customer "
                                  f"{invoice['ACCOUNTNUM']}."]


def test_part_payment_leaves_the_rest_open(aif, instance) -> None:
    store = instance.store
    invoice = open_invoice(store)
    aif.create_customer_payment_journal(payment(invoice, Decimal("10.00")), message_id=mid())
    after = store.one("SELECT * FROM CUSTTRANS WHERE RECID = ?", (invoice["RECID"],))
    assert Decimal(str(after["SETTLEAMOUNTCUR"])) == Decimal("10.00") and after["CLOSED"] == "1900-01-01"
    remaining = store.scalar("SELECT AMOUNTCUR FROM CUSTTRANSOPEN WHERE REFRECID = ?", (invoice["RECID"],))
    assert Decimal(str(remaining)) == Decimal(str(invoice["AMOUNTCUR"])) - Decimal("10.00")


def test_payment_in_another_currency_or_by_another_customer_is_refused(aif, instance) -> None:
    invoice = open_invoice(instance.store)
    euros = payment(invoice, Decimal("5"))
    euros["LedgerJournalTrans"][0]["CurrencyCode"] = "EUR"
    with pytest.raises(TargetValidationError) as info:
        aif.create_customer_payment_journal(euros, message_id=mid())
    assert info.value.details == [f"Invoice {invoice['INVOICE']} is in GBP; the payment in EUR cannot settle it."]
    other = instance.store.scalar("SELECT ACCOUNTNUM FROM CUSTTABLE WHERE DATAAREAID = 'gbsi' AND ACCOUNTNUM <> ? "
                                  "LIMIT 1", (invoice["ACCOUNTNUM"],))
    wrong_payer = payment({**invoice, "ACCOUNTNUM": other}, Decimal("5"))
    with pytest.raises(IntegrityError) as info:
        aif.create_customer_payment_journal(wrong_payer, message_id=mid())
    assert f"is not an open transaction of customer {other}" in info.value.details[0]


def test_without_auto_post_documents_stay_unposted_until_the_batch_runs(aif, instance) -> None:
    instance.app.options.auto_post = False
    invoice = open_invoice(instance.store)
    journal_num = aif.create_customer_payment_journal(payment(invoice, Decimal("1.00")), message_id=mid())
    assert instance.store.scalar("SELECT POSTED FROM LEDGERJOURNALTABLE WHERE DATAAREAID = 'gbsi' AND JOURNALNUM = ?",
                                 (journal_num,)) == 0
    assert instance.store.scalar("SELECT SETTLEAMOUNTCUR FROM CUSTTRANS WHERE RECID = ?", (invoice["RECID"],)) == 0
    result = requests.post(instance.url + "/_sandbox/post", timeout=10).json()
    assert result["GBSI"] == {"free_text_invoices": 0, "journals": 1}
    assert instance.store.scalar("SELECT SETTLEAMOUNTCUR FROM CUSTTRANS WHERE RECID = ?", (invoice["RECID"],)) == 1


def test_free_text_invoice_is_posted_and_can_be_paid(aif, instance) -> None:
    from integrations.dynamics_ax.adapter import ledger_account as ledger_dimension

    store = instance.store
    keys = aif.create_free_text_invoice({"CustInvoiceTable": [{
        "class": "entity", "CurrencyCode": "GBP", "CustomerRef": "KF-INV-42", "InvoiceDate": TODAY,
        "OrderAccount": "GB-0001", "CustInvoiceLine": [{
            "class": "entity", "AmountCur": Decimal("250.00"), "Description": "Consulting",
            "LedgerDimension": ledger_dimension("401200", {"BusinessUnit": "001"}), "Quantity": Decimal(1),
            "UnitPrice": Decimal("250.00")}]}]}, message_id=mid())
    header = store.one("SELECT * FROM CUSTINVOICETABLE WHERE RECID = ?", (int(keys["RecId"]),))
    assert header["POSTED"] == 1 and header["INVOICEID"].startswith("FTI-")
    jour = store.one("SELECT * FROM CUSTINVOICEJOUR WHERE DATAAREAID = 'gbsi' AND INVOICEID = ?",
                     (header["INVOICEID"],))
    assert jour["INVOICEAMOUNT"] == 250 and jour["ORDERACCOUNT"] == "GB-0001"
    trans = store.one("SELECT * FROM CUSTTRANS WHERE DATAAREAID = 'gbsi' AND INVOICE = ?", (header["INVOICEID"],))
    assert trans["TRANSTYPE"] == 8 and trans["AMOUNTCUR"] == 250
    aif.create_customer_payment_journal(payment(trans, Decimal("250.00")), message_id=mid())
    assert store.scalar("SELECT SETTLEAMOUNTCUR FROM CUSTTRANS WHERE RECID = ?", (trans["RECID"],)) == 250
