"""The Sage 100 adapter: rows <-> canonical records and agent operations, without systems (plus the batch reads
the flows feed it from, against the sandbox company)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from integrations.core.canonical import (
    InvoiceLine,
    Journal,
    JournalLine,
    Party,
    Payment,
    Product,
    PurchaseInvoice,
    StructuredAddress,
)
from integrations.core.errors import TargetValidationError
from integrations.sage100 import adapter
from integrations.sage100.layouts import layout
from integrations.sage100.odbc import SageOdbcReader

from .test_odbc import odbc_string

D = Decimal
ABF = {"ARDivisionNo": "01", "CustomerNo": "ABF", "CustomerName": "American Business Futures",
       "AddressLine1": "2131 N. 14th Street", "AddressLine2": "Suite 100", "AddressLine3": None, "City": "Milwaukee",
       "State": "WI", "ZipCode": "53205-1204", "CountryCode": "USA", "TelephoneNo": "(414) 555-4787",
       "TelephoneExt": "12", "EmailAddress": "artie@sage.sample.com", "CustomerStatus": "I", "TermsCode": "01"}


# ---------------------------------------------------------------------- Sage -> canonical


def test_customer_and_vendor_rows_become_parties_keyed_division_number():
    party = adapter.sage_party(ABF, "customer")
    assert party == adapter.sage_party(ABF, "customer", "ARDivisionNo", "CustomerNo", "CustomerName")
    assert (party.source_system, party.source_id, party.code, party.division) == ("sage100", "01-ABF", "01-ABF", "01")
    assert party.address == StructuredAddress(street="2131 N. 14th Street\nSuite 100", city="Milwaukee", county="WI",
                                              zip_code="53205-1204", country_code="US")
    assert party.phone == "(414) 555-4787 x12" and party.blocked and party.payment_terms == "01"
    vendor = adapter.sage_party({"APDivisionNo": "00", "VendorNo": "AIRWAYS", "VendorName": "Airways",
                                 "CountryCode": "XYZ", "CustomerStatus": "I"}, "supplier")
    assert vendor.code == "00-AIRWAYS" and vendor.name == "Airways" and not vendor.blocked
    assert vendor.address.country_code == "XYZ"  # unknown: kept, the mapping decides


def test_an_item_row_becomes_a_product_with_its_sage_type_alongside():
    row = {"ItemCode": "6655", "ItemType": "1", "ItemCodeDesc": "HP Laser", "StandardUnitPrice": D("179.000000"),
           "TaxClass": "TF", "SalesUnitOfMeasure": "EACH", "InactiveItem": "N"}
    payload = adapter.sage_product(row, "400-00-00")
    product = Product.from_dict(payload)
    assert (product.code, product.sales_price, product.sales_account, product.stock_managed) == (
        "6655", D("179"), "400-00-00", True)
    assert payload["sage"] == {"item_type": "1", "inactive": False}
    assert adapter.sage_product({**row, "ItemType": "5", "InactiveItem": "Y", "StandardUnitPrice": None},
                                "")["sage"] == {"item_type": "5", "inactive": True}


def test_warehouse_rows_sum_per_item_with_the_latest_stamp():
    rows = [{"ItemCode": "A", "WarehouseCode": "000", "QuantityOnHand": D("5"), "DateUpdated": date(2026, 1, 2),
             "TimeUpdated": "10.5"},
            {"ItemCode": "A", "WarehouseCode": "001", "QuantityOnHand": D("2.5"), "DateUpdated": date(2026, 1, 3),
             "TimeUpdated": "1"},
            {"ItemCode": "B", "WarehouseCode": "000", "QuantityOnHand": D("9")}]
    levels = adapter.quantities_on_hand(rows, ["A"])
    assert levels == {"A": (D("7.5"), datetime(2026, 1, 3, 1))}
    assert adapter.quantities_on_hand(rows, ["A", "B"], "000")["A"][0] == D("5")
    level = adapter.stock_level("A", "", D("7.5"), datetime(2026, 1, 3, 1))
    assert (level.source_id, level.warehouse, level.as_of) == ("A@*", "*", "2026-01-03T01:00:00")
    assert adapter.stock_level("A", "000", D(0), None).source_id == "A@000"


def test_order_rows_become_statuses_linked_to_kashflow_invoices():
    row = {"SalesOrderNo": "0000123", "OrderStatus": "O", "ARDivisionNo": "01", "CustomerNo": "ABF",
           "CustomerPONo": "KF-1043"}
    stamp = datetime(2026, 2, 1, 9, 30)
    status = adapter.order_status(row, "CustomerPONo", "KF-", stamp)
    assert (status.status, status.invoice_number, status.customer_code, status.changed_at) == (
        "released", "1043", "01-ABF", "2026-02-01T09:30:00")
    shipped = adapter.order_status({**row, "CurrentInvoiceNo": "0100058"}, "CustomerPONo", "KF-", datetime.min)
    assert shipped.status == "shipped" and shipped.detail == "shipping invoice 0100058" and shipped.changed_at == ""
    assert adapter.order_status({**row, "CustomerPONo": "PO-7"}, "CustomerPONo", "", stamp).invoice_number == ""


def test_only_settled_invoices_become_paid_status_payloads():
    row = {"ARDivisionNo": "01", "CustomerNo": "ABF", "InvoiceNo": "0000012", "InvoiceType": "IN",
           "InvoiceDate": date(2026, 1, 5), "Balance": D("0.00"), "Comment": "Kashflow invoice 12",
           "DateUpdated": date(2026, 1, 9), "TimeUpdated": "12"}
    payload = adapter.settled_invoice(row)
    assert payload == {"source_id": "01-ABF-0000012", "division": "01", "customer": "ABF", "invoice_no": "0000012",
                       "invoice_date": "2026-01-05", "comment": "Kashflow invoice 12",
                       "settled_at": "2026-01-09T12:00:00"}
    assert adapter.settled_invoice({**row, "Balance": D("1.00")}) is None
    assert adapter.settled_invoice({**row, "InvoiceType": "CM"}) is None
    assert adapter.kashflow_invoice_number(" Kashflow invoice 12 ") == "12"
    assert adapter.kashflow_invoice_number("Sage's own") == ""
    assert adapter.from_kashflow({"CheckNo": "kf409"}) and not adapter.from_kashflow({"CheckNo": "1001"})


# ---------------------------------------------------------------------- canonical -> Sage


def _kashflow_party(street: str, country: str = "GB", name: str = "Acme Ltd") -> Party:
    return Party(source_system="kashflow", source_id="ACME", kind="customer", code="ACME", name=name,
                 address=StructuredAddress(street=street, zip_code="LS1 1AA", country_code=country),
                 email="a@acme.test", phone="0113 000")


def test_party_fields_parse_the_town_and_cut_to_sage_lengths_with_warnings():
    warnings: list[str] = []
    fields = adapter.party_fields(_kashflow_party("10 High Street\n" + "x" * 45 + "\nLeeds, WY"),
                                  layout("AR_Customer"), "CustomerName", label="customer", warnings=warnings)
    assert fields == {"CustomerName": "Acme Ltd", "AddressLine1": "10 High Street", "AddressLine2": "x" * 40,
                      "City": "Leeds", "State": "WY", "ZipCode": "LS1 1AA", "EmailAddress": "a@acme.test",
                      "TelephoneNo": "0113 000", "CountryCode": "GBR"}
    assert len(warnings) == 1 and "AddressLine2" in warnings[0]
    assert adapter.party_country(_kashflow_party("", "QQ"), {"qq": "qqq"}) == "QQQ"
    with pytest.raises(TargetValidationError, match="country QQ") as caught:
        adapter.party_country(_kashflow_party("", "QQ"))
    assert caught.value.code == "mapping_missing"
    with pytest.raises(TargetValidationError, match="has no name"):
        adapter.party_fields(_kashflow_party("1 Rue", name=" "), layout("AR_Customer"), "CustomerName",
                             label="customer", warnings=[])


def _payment(amount: str = "12.50", source_id: str = "409844") -> Payment:
    return Payment(source_system="kashflow", source_id=source_id, kind="customer", party_code="01-ABF",
                   invoice_number="12", payment_date=date(2026, 1, 5), amount=D(amount), currency="GBP",
                   bank_account="7")


def test_a_payment_becomes_a_receipt_applied_in_full_to_its_invoice():
    receipt = adapter.cash_receipt(_payment(), key="lb-k", payment_type="VISA", bank_code="A")
    assert receipt == {"key": "lb-k", "check": "KF409844", "date": "2026-01-05", "amount": "12.50",
                       "payment_type": "VISA", "bank_code": "A", "comment": "Kashflow payment 409844"}
    operation = adapter.receipt_operation(("01", "ABF", "0000012"), receipt)
    assert operation == {
        "key": "lb-k", "object": "AR_CashReceipts_bus", "action": "create",
        "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF", "CheckNo": "KF409844", "DepositType": "C",
                   "DepositDate": "2026-01-05", "BankCode": "A", "PaymentType": "VISA", "PostingAmt": 12.5,
                   "Comment": "Kashflow payment 409844"},
        "lines": [{"InvoiceNo": "0000012", "InvoiceType": "IN", "AmountPosted": 12.5}]}
    long = adapter.check_number("123456789012")
    assert long.startswith("KF") and len(long) <= 10 and long != adapter.check_number("123456789013")
    with pytest.raises(TargetValidationError, match="one character"):
        adapter.cash_receipt(_payment(), key="k", payment_type="CHECK", bank_code="AB")
    with pytest.raises(TargetValidationError, match="must be positive"):
        adapter.cash_receipt(_payment("0"), key="k", payment_type="CHECK", bank_code="A")


def _purchase(tax: str = "20.00", gross: str = "120.00") -> PurchaseInvoice:
    line = InvoiceLine(number=1, description="Paper", quantity=D(2), unit_price=D(50), net_amount=D(100),
                       tax_amount=D(tax), tax_rate=D(20), account_code="5000")
    return PurchaseInvoice(source_system="kashflow", source_id="3", number="3", supplier_code="00-PAPER",
                           supplier_name="Paper", issue_date=date(2026, 1, 5), due_date=date(2026, 2, 4),
                           currency="GBP", exchange_rate=D(1), net_amount=D(100), tax_amount=D(tax),
                           gross_amount=D(gross), lines=(line,))


def test_a_purchase_becomes_an_ap_invoice_whose_lines_and_vat_make_the_gross():
    accounts = {"5000": "000000001", "VAT": "000000009"}
    operation = adapter.ap_invoice_operation(_purchase(), key="lb-p", division_no="00", vendor_no="PAPER",
                                             invoice_no="INV1", account_for=accounts.__getitem__,
                                             tax_account_for=lambda: accounts["VAT"])
    assert operation["object"] == "AP_Invoice_bus" and operation["key"] == "lb-p"
    assert operation["fields"] == {"APDivisionNo": "00", "VendorNo": "PAPER", "InvoiceNo": "INV1",
                                   "InvoiceDate": "2026-01-05", "InvoiceAmt": 120.0, "Comment": "Kashflow purchase 3",
                                   "InvoiceDueDate": "2026-02-04"}
    assert operation["lines"] == [
        {"AccountKey": "000000001", "CommentText": "Paper", "QuantityInvoiced": 2.0, "ExtensionAmt": 100.0},
        {"AccountKey": "000000009", "CommentText": "VAT", "ExtensionAmt": 20.0}]
    with pytest.raises(TargetValidationError, match="add up to 120.00"):
        adapter.ap_invoice_operation(_purchase(gross="130.00"), key="k", division_no="00", vendor_no="P",
                                     invoice_no="1", account_for=accounts.__getitem__, tax_account_for=lambda: "9")


def _journal(*amounts: str) -> Journal:
    lines = tuple(JournalLine(account_code=code, amount=D(amount)) for code, amount in zip(("8000", "31"), amounts,
                                                                                          strict=False))
    return Journal(source_system="kashflow", source_id="7", number="7", journal_date=date(2026, 3, 31),
                   currency="GBP", description="Depreciation", lines=lines)


def test_a_journal_becomes_a_balanced_gl_entry_or_is_refused():
    operation = adapter.gl_journal_operation(_journal("125.00", "-125.00"), key="lb-j", source_journal="gj",
                                             account_for=lambda code: f"acct-{code}")
    assert operation["fields"] == {"SourceJournal": "GJ", "PostingDate": "2026-03-31",
                                   "JournalComment": "Kashflow journal 7: Depreciati"}
    assert operation["lines"] == [{"AccountKey": "acct-8000", "PostingComment": "Depreciation", "DebitAmount": 125.0},
                                  {"AccountKey": "acct-31", "PostingComment": "Depreciation", "CreditAmount": 125.0}]
    with pytest.raises(TargetValidationError, match="not balanced"):
        adapter.gl_journal_operation(_journal("125.00", "-100.00"), key="k", source_journal="GJ", account_for=str)
    with pytest.raises(TargetValidationError, match="moves no money"):
        adapter.gl_journal_operation(_journal("0", "0"), key="k", source_journal="GJ", account_for=str)
    with pytest.raises(TargetValidationError, match="source journal code"):
        adapter.gl_journal_operation(_journal("1", "-1"), key="k", source_journal="GJX", account_for=str)


# ---------------------------------------------------------------------- the batch reads feeding it


def test_read_in_reads_many_keys_in_a_few_statements(company, monkeypatch):
    reader = SageOdbcReader(odbc_string(company))
    statements: list[str] = []
    execute = reader.execute
    monkeypatch.setattr(reader, "execute", lambda sql, params=(): statements.append(sql) or execute(sql, params))
    with reader:
        every = {r["CustomerNo"] for r in reader.read("AR_Customer", ["CustomerNo"], ARDivisionNo="01")}
        statements.clear()
        wanted = sorted(every)[:7] + ["NOSUCH"]
        rows = reader.read_in("AR_Customer", ["ARDivisionNo", "CustomerNo"], "CustomerNo", wanted * 2, chunk=3,
                              ARDivisionNo="01")
        assert reader.read_in("AR_Customer", ["CustomerNo"], "CustomerNo", []) == []
    assert sorted(r["CustomerNo"] for r in rows) == sorted(every)[:7]
    assert len(statements) == 3 and all(" IN (" in sql and "ARDivisionNo = ?" in sql for sql in statements)
