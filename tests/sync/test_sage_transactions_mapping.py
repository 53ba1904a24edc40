"""The Kashflow <-> Sage 100 transaction flows' mapping, without systems: what each record becomes, what is refused."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from integrations.core.canonical import InvoiceLine, Journal, JournalLine, PurchaseInvoice
from integrations.core.errors import TargetValidationError
from integrations.sage100.adapter import check_number, linked_invoice, order_status
from integrations.sync.flows.kashflow_journals_to_sage import KashflowJournalsToSage
from integrations.sync.flows.kashflow_journals_to_sage import default_rules as journal_rules
from integrations.sync.flows.kashflow_purchases_to_sage import KashflowPurchasesToSage, vendor_for
from integrations.sync.flows.kashflow_purchases_to_sage import default_rules as purchase_rules

D = Decimal


def _flow_spec(cls, **options):
    flow = SimpleNamespace(options=options, target=SimpleNamespace(settings={}), source=SimpleNamespace(settings={}))
    spec = cls(flow, source_gate=None, target_gate=None)
    spec._account_keys = None  # no ODBC: the mapping's accounts are taken as AccountKeys
    return spec


def _record(source_id: str = "7") -> SimpleNamespace:
    return SimpleNamespace(idempotency_key="f" * 48, original_payload=None, source_id=source_id)


def _journal(*amounts: str) -> dict:
    lines = tuple(JournalLine(account_code=code, amount=D(amount), description=f"line {n}")
                  for n, (code, amount) in enumerate(zip(("8000", "31", "7601"), amounts, strict=False), 1))
    return Journal(source_system="kashflow", source_id="7", number="7", journal_date=date(2026, 3, 31),
                   currency="GBP", description="Depreciation", lines=lines).to_dict()


def test_a_balanced_journal_becomes_one_gl_entry_with_debits_and_credits():
    spec = _flow_spec(KashflowJournalsToSage)
    result = spec.transform(_journal("125.00", "-125.00"), journal_rules(), _record())
    document = result.document
    assert document["object"] == "GL_GeneralJournal_bus" and document["key"] == "lb-" + "f" * 48
    assert document["fields"] == {"SourceJournal": "GJ", "PostingDate": "2026-03-31",
                                  "JournalComment": "Kashflow journal 7: Depreciati"}
    assert document["lines"] == [
        {"AccountKey": "670-00-00", "PostingComment": "line 1", "DebitAmount": 125.0},
        {"AccountKey": "155-00-00", "PostingComment": "line 2", "CreditAmount": 125.0},
    ]


def test_an_unbalanced_journal_is_refused_with_both_totals():
    spec = _flow_spec(KashflowJournalsToSage)
    with pytest.raises(TargetValidationError) as caught:
        spec.transform(_journal("125.00", "-100.00"), journal_rules(), _record())
    assert caught.value.code == "invalid_value"
    assert "journal 7 is not balanced" in str(caught.value)
    assert "125.00" in str(caught.value) and "100.00" in str(caught.value) and "25.00" in str(caught.value)


def test_a_journal_line_on_an_unmapped_nominal_names_the_code():
    spec = _flow_spec(KashflowJournalsToSage)
    rules = {**journal_rules(), "gl_accounts": {"8000": "670-00-00"}}
    with pytest.raises(TargetValidationError) as caught:
        spec.transform(_journal("125.00", "-125.00"), rules, _record())
    assert caught.value.code == "mapping_missing" and "nominal code 31" in str(caught.value)


def _purchase(gross: str = "120.00", reference: str = "INV-55012") -> dict:
    line = InvoiceLine(number=1, description="Paper stock", quantity=D(10), unit_price=D(10), net_amount=D(100),
                       tax_amount=D(20), tax_rate=D(20), account_code="5000")
    return PurchaseInvoice(source_system="kashflow", source_id="31", number="31", supplier_code="01-PAPER",
                           supplier_name="Paper Co", issue_date=date(2026, 2, 1), due_date=date(2026, 3, 3),
                           currency="GBP", exchange_rate=D(1), net_amount=D(100), tax_amount=D(20),
                           gross_amount=D(gross), supplier_reference=reference, lines=(line,)).to_dict()


def test_a_purchase_becomes_an_ap_invoice_with_its_vat_distributed():
    spec = _flow_spec(KashflowPurchasesToSage)
    document = spec.transform(_purchase(), purchase_rules(), _record("31")).document
    assert document["object"] == "AP_Invoice_bus"
    assert document["fields"] == {"APDivisionNo": "01", "VendorNo": "PAPER", "InvoiceNo": "INV-55012",
                                  "InvoiceDate": "2026-02-01", "InvoiceAmt": 120.0, "InvoiceDueDate": "2026-03-03",
                                  "Comment": "Kashflow purchase 31"}
    assert document["lines"] == [
        {"AccountKey": "500-00-00", "CommentText": "Paper stock", "QuantityInvoiced": 10.0, "ExtensionAmt": 100.0},
        {"AccountKey": "210-00-00", "CommentText": "VAT", "ExtensionAmt": 20.0},
    ]
    by_number = _flow_spec(KashflowPurchasesToSage, invoice_number="kashflow_number")
    assert by_number.transform(_purchase(), purchase_rules(), _record("31")).document["fields"]["InvoiceNo"] == "31"


def test_a_purchase_whose_lines_do_not_add_up_or_whose_reference_is_too_long_is_refused():
    spec = _flow_spec(KashflowPurchasesToSage)
    with pytest.raises(TargetValidationError, match="add up to 120.00, the gross amount is 125.00"):
        spec.transform(_purchase(gross="125.00"), purchase_rules(), _record("31"))
    with pytest.raises(TargetValidationError, match="longer than Sage's 10-character"):
        spec.transform(_purchase(reference="SUPPLIER-INV-000123"), purchase_rules(), _record("31"))


def test_vendor_numbers_come_from_the_supplier_code_or_the_mapping():
    assert vendor_for("01-paper", {}) == ("01", "PAPER")
    assert vendor_for("PAPER", {"default_division": "02"}) == ("02", "PAPER")
    assert vendor_for("Paper Supplies Ltd", {"vendor_accounts": {"Paper Supplies Ltd": "1-PSL"}}) == ("01", "PSL")
    with pytest.raises(TargetValidationError) as caught:
        vendor_for("01-LONGVENDOR", {})
    assert caught.value.code == "invalid_value" and "vendor_accounts" in str(caught.value)


def test_receipt_check_numbers_fit_sage_and_stay_unique():
    assert check_number("409844") == "KF409844"
    long = check_number("123456789012")
    assert long.startswith("KF") and len(long) <= 10 and long != check_number("123456789013")


def test_order_status_follows_sage_codes_and_shipping():
    stamp = datetime(2026, 11, 23, 14, 5)
    row = {"SalesOrderNo": "0000115", "OrderStatus": "O", "ARDivisionNo": "01", "CustomerNo": "ABF",
           "CustomerPONo": "1043"}
    status = order_status(row, "CustomerPONo", "", stamp)
    assert (status.status, status.invoice_number, status.customer_code) == ("released", "1043", "01-ABF")
    assert status.changed_at == "2026-11-23T14:05:00"
    assert order_status({**row, "LastInvoiceOrderNo": "0100058"}, "CustomerPONo", "", stamp).status == "shipped"
    assert order_status({**row, "OrderStatus": "C"}, "CustomerPONo", "", stamp).status == "invoiced"
    assert order_status({**row, "OrderStatus": "H"}, "CustomerPONo", "", stamp).status == "on_hold"
    assert order_status({**row, "OrderStatus": "Z"}, "CustomerPONo", "", stamp).status == ""


def test_only_a_number_in_the_link_field_names_a_kashflow_invoice():
    assert linked_invoice("0001043", "") == "1043"
    assert linked_invoice("PO-778", "") == ""
    assert linked_invoice("KF-1043", "KF-") == "1043"
    assert linked_invoice("1043", "KF-") == ""
    assert linked_invoice(None, "") == "" and linked_invoice("0", "") == ""
