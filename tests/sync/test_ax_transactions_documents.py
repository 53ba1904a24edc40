"""The pure parts of the Kashflow -> AX transaction flows: Kashflow JSON -> canonical, canonical -> AX documents,
natural keys. (The flows end to end: tests/e2e/test_ax_transactions.py.)"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from integrations.core.canonical import InvoiceLine, Journal, JournalLine, Payment, PurchaseInvoice
from integrations.core.errors import TargetValidationError
from integrations.kashflow.adapter import invoice_payments, journal_to_canonical, purchase_to_canonical
from integrations.sync.flows.ax_paid_status_to_kashflow import from_kashflow, settlement_note
from integrations.sync.flows.kashflow_journals_to_ax import default_rules as journal_rules
from integrations.sync.flows.kashflow_journals_to_ax import journal_document
from integrations.sync.flows.kashflow_payments_to_ax import default_rules as payment_rules
from integrations.sync.flows.kashflow_payments_to_ax import payment_line, payment_reference
from integrations.sync.flows.kashflow_purchases_to_ax import default_rules as purchase_rules
from integrations.sync.flows.kashflow_purchases_to_ax import purchase_journal_document


def journal(*amounts: tuple[str, str]) -> Journal:
    return Journal(source_system="kashflow", source_id="7", number="7", journal_date=date(2026, 6, 30),
                   currency="GBP", description="Month end",
                   lines=tuple(JournalLine(account_code=code, amount=Decimal(amount)) for code, amount in amounts))


def purchase(*lines: InvoiceLine, gross: str) -> PurchaseInvoice:
    return PurchaseInvoice(source_system="kashflow", source_id="12", number="12", supplier_code="GBV-0003",
                           supplier_name="Severn Packaging Ltd", issue_date=date(2026, 5, 27),
                           due_date=date(2026, 6, 26), currency="GBP", exchange_rate=Decimal(1),
                           net_amount=sum((x.net_amount for x in lines), Decimal(0)),
                           tax_amount=sum((x.tax_amount for x in lines), Decimal(0)), gross_amount=Decimal(gross),
                           supplier_reference="INV-15739", lines=lines)


def item(code: str, net: str, vat: str, rate: str | None = "20") -> InvoiceLine:
    return InvoiceLine(number=1, description="Courier account", quantity=Decimal(1), unit_price=Decimal(net),
                       net_amount=Decimal(net), tax_amount=Decimal(vat),
                       tax_rate=Decimal(rate) if rate is not None else None, account_code=code)


# ---------------------------------------------------------------------- journals


def test_a_journal_becomes_ledger_lines_on_mapped_accounts_with_dimensions():
    document, warnings = journal_document(journal(("8000", "125"), ("31", "-125")), journal_rules())
    assert warnings == [] and document["JournalName"] == "GenJrn" and document["DocumentNum"] == "KFJ7"
    debit, credit = document["LedgerJournalTrans"]
    assert debit["LedgerDimension"] == {"DisplayValue": "607200-001-022", "Account": "607200", "Values": {"Value": [
        {"Name": "BusinessUnit", "Value": "001"}, {"Name": "Department", "Value": "022"}]}}
    assert (debit["AmountCurDebit"], credit["AmountCurCredit"]) == ("125", "125")
    assert "AmountCurCredit" not in debit and credit["LedgerDimension"]["Account"] == "180200"
    assert {line["TransDate"] for line in document["LedgerJournalTrans"]} == {"2026-06-30"}


def test_an_unbalanced_journal_is_refused_naming_both_totals():
    with pytest.raises(TargetValidationError) as info:
        journal_document(journal(("8000", "125"), ("31", "-120")), journal_rules())
    assert info.value.code == "invalid_value"
    assert "journal 7 does not balance: debits 125 and credits 120 (difference 5)" in str(info.value)


def test_an_unmapped_nominal_and_an_unknown_dimension_are_named():
    rules = journal_rules()
    rules["gl_accounts"].pop("8000")
    with pytest.raises(TargetValidationError) as info:
        journal_document(journal(("8000", "125"), ("31", "-125")), rules)
    assert info.value.code == "mapping_missing" and "8000" in str(info.value)
    rules = {**journal_rules(), "dimensions_by_account": {"31": {"Region": "North"}}}
    with pytest.raises(TargetValidationError) as info:
        journal_document(journal(("8000", "125"), ("31", "-125")), rules)
    assert info.value.code == "invalid_value" and "Region" in str(info.value)
    rules = {**journal_rules(), "dimensions_by_account": {"31": {"Department": ""}}}
    document, _ = journal_document(journal(("8000", "125"), ("31", "-125")), rules)
    assert document["LedgerJournalTrans"][1]["LedgerDimension"]["DisplayValue"] == "180200-001"


def test_kashflow_journal_json_reads_as_signed_lines():
    raw = {"Number": 3, "JournalDate": "2026-05-31 12:00:00", "Comment": "Accrual", "LineItems": [
        {"NominalCode": 7601, "Debit": "150.0", "Credit": "0.0", "Comment": ""},
        {"NominalCode": 2109, "Debit": "0.0", "Credit": "150.0", "ProjectNumber": 4}]}
    result = journal_to_canonical(raw)
    assert [(x.account_code, x.amount) for x in result.lines] == [("7601", Decimal(150)), ("2109", Decimal(-150))]
    assert result.balanced and result.lines[1].dimensions == (("Project", "4"),)
    assert Journal.from_dict(result.to_dict()) == result
    raw["LineItems"][0]["Credit"] = "1"
    with pytest.raises(TargetValidationError):
        journal_to_canonical(raw)


# ---------------------------------------------------------------------- purchases


def test_a_purchase_credits_the_vendor_with_the_gross_and_posts_vat_on_the_tax_account():
    document, _ = purchase_journal_document(purchase(item("5100", "87.43", "17.49"), gross="104.92"),
                                            purchase_rules(), journal="general")
    expense, vat, vendor = document["LedgerJournalTrans"]
    assert expense["LedgerDimension"]["DisplayValue"] == "500100-001-022" and expense["AmountCurDebit"] == "87.43"
    assert vat["LedgerDimension"]["Account"] == "130800" and vat["AmountCurDebit"] == "17.49"
    assert vendor["AccountType"] == "Vend" and vendor["LedgerDimension"] == {"DisplayValue": "GBV-0003",
                                                                            "Account": "GBV-0003"}
    assert vendor["AmountCurCredit"] == "104.92" and vendor["Invoice"] == "INV-15739" and vendor["Due"] == "2026-06-26"
    assert document["JournalName"] == "GenJrn" and {x["DocumentNum"] for x in document["LedgerJournalTrans"]} == {
        "KFP12"}
    document, _ = purchase_journal_document(purchase(item("5100", "87.43", "17.49"), gross="104.92"),
                                            purchase_rules(), journal="vendor_invoice")
    assert document["JournalName"] == "APInvoice"


def test_without_a_vat_account_the_lines_carry_mapped_tax_groups():
    rules = {**purchase_rules(), "vat_account": "", "tax_groups": {"20": ["VATPUR", "STD"]}}
    document, _ = purchase_journal_document(purchase(item("5100", "87.43", "17.49"), gross="104.92"), rules,
                                            journal="general")
    expense, vendor = document["LedgerJournalTrans"]
    assert (expense["TaxGroup"], expense["TaxItemGroup"]) == ("VATPUR", "STD") and "TaxGroup" not in vendor
    with pytest.raises(TargetValidationError) as info:
        purchase_journal_document(purchase(item("5100", "100", "5", "5"), gross="105"), rules, journal="general")
    assert info.value.code == "mapping_missing" and "VAT rate 5 %" in str(info.value)


def test_a_purchase_whose_lines_do_not_add_up_is_refused():
    with pytest.raises(TargetValidationError) as info:
        purchase_journal_document(purchase(item("5100", "87.43", "17.49"), gross="104.93"), purchase_rules(),
                                  journal="general")
    assert info.value.code == "invalid_value" and "104.93" in str(info.value)


def test_kashflow_purchase_json_reads_as_a_purchase_invoice():
    raw = {"Number": 1, "SupplierCode": "GBV-0003", "SupplierName": "Severn", "SupplierReference": "INV-1",
           "IssuedDate": "2026-05-27 12:00:00", "DueDate": "2026-06-26 12:00:00", "NetAmount": "87.43",
           "VATAmount": "17.49", "GrossAmount": "104.92", "TotalPaidAmount": "0", "Status": "Unpaid",
           "Currency": {"Code": "GBP", "ExchangeRate": "1.0"}, "LineItems": [
               {"Number": 1, "Description": "Courier", "Quantity": "1.0", "Rate": "87.43", "VATLevel": "20.0",
                "VATAmount": "17.49", "NominalCode": 5100}]}
    result = purchase_to_canonical(raw)
    assert (result.number, result.status, result.lines[0].account_code) == ("1", "unpaid", "5100")
    assert PurchaseInvoice.from_dict(result.to_dict()) == result


# ---------------------------------------------------------------------- payments


def test_payment_references_fit_ax_and_are_recognised_on_the_way_back():
    assert payment_reference("1001", "57") == "KF1001-57"
    long = payment_reference("123456789", "9876543210")
    assert len(long) == 20 and long == payment_reference("123456789", "9876543210") and long.startswith("KF")
    assert from_kashflow("KF1001-57") and from_kashflow(long)
    assert not from_kashflow("LOCKBOX-77") and not from_kashflow("KFX")


def test_a_payment_line_uses_mapped_or_default_bank_and_method_and_refuses_unmapped():
    payment = Payment(source_system="kashflow", source_id="57", kind="customer", party_code="GB-0002",
                      invoice_number="1", payment_date=date(2026, 6, 13), amount=Decimal("1416"), currency="GBP",
                      method="4", bank_account="1", reference="BACS830901")
    rules = {**payment_rules(), "payment_methods": {"4": "BACS"}}
    line = payment_line(payment, rules, customer_account="GB-0002", invoice_number="1")
    assert (line["AccountType"], line["OffsetAccountType"], line["PaymMode"]) == ("Cust", "Bank", "BACS")
    assert line["OffsetLedgerDimension"] == {"DisplayValue": "GBSI OPER", "Account": "GBSI OPER"}
    assert line["AmountCurCredit"] == Decimal("1416") and line["PaymReference"] == "KF1-57"
    with pytest.raises(TargetValidationError) as info:
        payment_line(payment, {**rules, "bank_accounts": {"2": "OTHER"}}, customer_account="GB-0002",
                     invoice_number="1")
    assert info.value.code == "mapping_missing" and "'1'" in str(info.value)


def test_invoice_payment_lines_read_as_payments_and_settlement_notes_are_stable():
    raw = {"Number": 1, "CustomerCode": "GB-0002", "Currency": {"Code": "GBP", "ExchangeRate": "1"},
           "PaymentLines": [{"Id": 5, "Date": "2026-06-13 12:00:00", "Amount": "100.0000", "Method": 4,
                             "AccountId": 1, "Reference": "", "Note": "first"}]}
    (payment,) = invoice_payments(raw)
    assert (payment.source_id, payment.amount, payment.method, payment.bank_account, payment.reference) == (
        "5", Decimal(100), "4", "1", "first")
    settled = Payment(source_system="dynamics_ax", source_id="5637145000", kind="customer", party_code="GB-0002",
                      invoice_number="1", payment_date=date(2026, 11, 2), amount=Decimal(10), currency="GBP",
                      reference="ARPM000012")
    assert settlement_note(settled, "FTI-000003") == (
        "Ledgerbridge: AX settlement 5637145000 of FTI-000003 (ARPM000012)")


def test_unreadable_purchases_and_journals_are_named_as_such():
    with pytest.raises(TargetValidationError) as info:
        purchase_to_canonical({"Number": 9, "SupplierCode": "GBV-0003", "IssuedDate": "2026-05-27",
                               "LineItems": [{"Quantity": "x", "NominalCode": 5000}]})
    assert info.value.message.startswith("Kashflow purchase 9 could not be read")
    assert info.value.code == "MalformedPurchase"
    with pytest.raises(TargetValidationError) as info:
        journal_to_canonical({"Number": 4, "JournalDate": "2026-05-31", "LineItems": [{"Debit": "1"}]})
    assert info.value.message == "Kashflow journal 4 could not be read: journal line 1 has no NominalCode"
