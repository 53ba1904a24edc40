"""Each business object through the agent over loopback HTTP, with what it leaves in the Sage tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from integrations.sage100.sandbox.abc import ACCOUNT_KEYS


def today() -> str:
    """Read when asserting, not at import: a run that crosses midnight must not compare with yesterday."""
    return date.today().isoformat()


def op(key: str, obj: str, action: str, fields: dict, lines: list | None = None) -> dict:
    body = {"key": key, "object": obj, "action": action, "fields": fields}
    if lines is not None:
        body["lines"] = lines
    return body


def test_customer_create_then_update(sandbox):
    created = sandbox.one(op("c1", "AR_Customer_bus", "create", {
        "ARDivisionNo": "1", "CustomerNo": "newco", "CustomerName": "New Co Inc", "AddressLine1": "1 Main St",
        "City": "Milwaukee", "State": "WI", "ZipCode": "53205", "TermsCode": "01", "SalespersonDivisionNo": "01",
        "SalespersonNo": "0100", "CreditLimit": 5000}))
    assert (created["ret"], created["code"]) == (1, "ok")
    assert created["record_key"] == {"ARDivisionNo": "01", "CustomerNo": "NEWCO"}  # zero-filled, upper case
    updated = sandbox.one(op("c2", "AR_Customer_bus", "update", {
        "ARDivisionNo": "01", "CustomerNo": "NEWCO", "CreditLimit": 7500.5, "TelephoneNo": "(414) 555-0001"}))
    assert updated["ret"] == 1
    [row] = sandbox.rows("SELECT * FROM AR_Customer WHERE CustomerNo = 'NEWCO'")
    assert row["CustomerName"] == "New Co Inc" and row["CreditLimit"] == 7500.5
    assert row["TelephoneNo"] == "(414) 555-0001" and row["CustomerStatus"] == "A"
    assert row["DateCreated"] == today() and row["UserCreatedKey"] == "0000000003"


def test_customers_and_vendors_created_without_a_number_are_numbered(sandbox):
    customer = sandbox.one(op("c-auto", "AR_Customer_bus", "create", {"ARDivisionNo": "02",
                                                                      "CustomerName": "Numbered Inc"}))
    vendor = sandbox.one(op("v-auto", "AP_Vendor_bus", "create", {"APDivisionNo": "00", "VendorName": "Numbered"}))
    assert customer["record_key"] == {"ARDivisionNo": "02", "CustomerNo": "0000001"}
    assert vendor["record_key"]["VendorNo"] == "0000001"
    assert sandbox.rows("SELECT CustomerName FROM AR_Customer WHERE CustomerNo = '0000001'") == [
        {"CustomerName": "Numbered Inc"}]


def test_vendor_create_and_update(sandbox):
    assert sandbox.one(op("v1", "AP_Vendor_bus", "create", {
        "APDivisionNo": "00", "VendorNo": "acme", "VendorName": "Acme Paper", "TermsCode": "01",
        "AccountKey": ACCOUNT_KEYS["625-00-00"]}))["ret"] == 1
    assert sandbox.one(op("v2", "AP_Vendor_bus", "update", {"APDivisionNo": "00", "VendorNo": "ACME",
                                                            "City": "Appleton"}))["ret"] == 1
    [row] = sandbox.rows("SELECT * FROM AP_Vendor WHERE VendorNo = 'ACME'")
    assert (row["VendorName"], row["City"], row["TermsCode"]) == ("Acme Paper", "Appleton", "01")


def test_item_create_adds_its_default_warehouse_and_update(sandbox):
    assert sandbox.one(op("i1", "CI_ItemCode_bus", "create", {
        "ItemCode": "9000-new", "ItemCodeDesc": "STANDING DESK", "StandardUnitPrice": 499, "ProductLine": "FURN",
        "SalesAcctKey": ACCOUNT_KEYS["400-00-00"], "DefaultWarehouseCode": "001"}))["ret"] == 1
    assert sandbox.one(op("i2", "CI_ItemCode_bus", "update", {"ItemCode": "9000-NEW",
                                                              "StandardUnitPrice": 529.95}))["ret"] == 1
    [item] = sandbox.rows("SELECT * FROM CI_Item WHERE ItemCode = '9000-NEW'")
    assert item["StandardUnitPrice"] == 529.95 and item["ItemType"] == "1"
    assert sandbox.rows("SELECT WarehouseCode FROM IM_ItemWarehouse WHERE ItemCode = '9000-NEW'") == [
        {"WarehouseCode": "001"}]


def test_ar_invoice_posts_history_open_item_and_customer_balance(sandbox):
    [before] = sandbox.rows("SELECT CurrentBalance FROM AR_Customer WHERE CustomerNo = 'ABF'")
    result = sandbox.one(op("inv1", "AR_Invoice_bus", "create", {
        "ARDivisionNo": "01", "CustomerNo": "ABF", "InvoiceDate": "2024-01-31", "CustomerPONo": "PO-77"},
        [{"ItemCode": "6655", "QuantityShipped": 4},
         {"ItemCode": "/FREIGHT", "ExtensionAmt": 25, "SalesAcctKey": ACCOUNT_KEYS["410-00-00"]}]))
    assert result["ret"] == 1, result
    number = result["record_key"]["InvoiceNo"]
    assert len(number) == 7 and result["record_key"]["InvoiceType"] == "IN"
    [header] = sandbox.rows("SELECT * FROM AR_InvoiceHistoryHeader WHERE InvoiceNo = ?", (number,))
    assert header["NonTaxableSalesAmt"] == 741 and header["TermsCode"] == "01"  # defaulted from the customer
    assert header["InvoiceDueDate"] == "2024-03-01" and header["BillToName"] == "American Business Futures"
    lines = sandbox.rows("SELECT ItemCode, ExtensionAmt, SalesAcctKey FROM AR_InvoiceHistoryDetail "
                         "WHERE InvoiceNo = ? ORDER BY DetailSeqNo", (number,))
    assert [(line["ItemCode"], line["ExtensionAmt"]) for line in lines] == [("6655", 716), ("/FREIGHT", 25)]
    [open_item] = sandbox.rows("SELECT Balance FROM AR_OpenInvoice WHERE InvoiceNo = ?", (number,))
    assert open_item["Balance"] == 741
    [after] = sandbox.rows("SELECT CurrentBalance FROM AR_Customer WHERE CustomerNo = 'ABF'")
    assert Decimal(str(after["CurrentBalance"])) - Decimal(str(before["CurrentBalance"])) == Decimal("741")


def test_cash_receipt_pays_an_open_invoice(sandbox):
    [invoice] = sandbox.rows("SELECT InvoiceNo, Balance FROM AR_OpenInvoice WHERE CustomerNo = 'ABF' "
                             "ORDER BY InvoiceDate LIMIT 1")
    result = sandbox.one(op("cr1", "AR_CashReceipts_bus", "create", {
        "ARDivisionNo": "01", "CustomerNo": "ABF", "CheckNo": "77001", "PostingAmt": invoice["Balance"],
        "PaymentType": "CHECK"}, [{"InvoiceNo": invoice["InvoiceNo"], "AmountPosted": invoice["Balance"]}]))
    assert result["ret"] == 1, result
    assert len(result["record_key"]["DepositNo"]) == 5
    [receipt] = sandbox.rows("SELECT * FROM AR_CashReceiptsHistory WHERE CheckNo = '77001'")
    assert receipt["CashAmountApplied"] == invoice["Balance"] and receipt["InvoiceBalance"] == 0
    assert receipt["DepositDate"] == today() and receipt["DepositType"] == "C"
    assert sandbox.rows("SELECT Balance FROM AR_OpenInvoice WHERE InvoiceNo = ? AND CustomerNo = 'ABF'",
                        (invoice["InvoiceNo"],)) == [{"Balance": 0}]
    [abf] = sandbox.rows("SELECT LastPaymentAmt, DateLastPayment FROM AR_Customer WHERE CustomerNo = 'ABF'")
    assert abf == {"LastPaymentAmt": invoice["Balance"], "DateLastPayment": today()}


def test_ap_invoice_posts_open_invoice_and_distribution(sandbox):
    result = sandbox.one(op("ap1", "AP_Invoice_bus", "create", {
        "APDivisionNo": "00", "VendorNo": "AIRWAYS", "InvoiceNo": "FRT-2291", "InvoiceDate": "2024-02-10",
        "InvoiceAmt": 412.5}, [{"AccountKey": ACCOUNT_KEYS["510-00-00"], "ExtensionAmt": 412.5,
                                "CommentText": "Freight January"}]))
    assert result["ret"] == 1, result
    [open_item] = sandbox.rows("SELECT * FROM AP_OpenInvoice WHERE InvoiceNo = 'FRT-2291'")
    assert (open_item["InvoiceAmt"], open_item["Balance"], open_item["TermsCode"]) == (412.5, 412.5, "01")
    assert open_item["InvoiceDueDate"] == "2024-03-11"
    [line] = sandbox.rows("SELECT * FROM AP_InvoiceHistoryDetail WHERE InvoiceNo = 'FRT-2291'")
    assert line["AccountKey"] == ACCOUNT_KEYS["510-00-00"] and line["ExtensionAmt"] == 412.5


def test_gl_journal_entry_posts_balanced_lines(sandbox):
    result = sandbox.one(op("gl1", "GL_GeneralJournal_bus", "create", {
        "PostingDate": "2024-02-29", "JournalComment": "Accrue bonus"},
        [{"AccountKey": ACCOUNT_KEYS["600-00-00"], "DebitAmount": 1500},
         {"AccountKey": ACCOUNT_KEYS["215-00-00"], "CreditAmount": 1500}]))
    assert result["ret"] == 1, result
    entry = result["record_key"]
    assert entry["SourceJournal"] == "GJ" and len(entry["EntryNo"]) == 6
    rows = sandbox.rows("SELECT AccountKey, DebitAmount, CreditAmount, PostingComment, PostingDate FROM "
                        "GL_DetailPosting WHERE JournalRegisterNo = ? ORDER BY SequenceNo", (entry["EntryNo"],))
    assert [(r["DebitAmount"], r["CreditAmount"]) for r in rows] == [(1500, 0), (0, 1500)]
    assert {r["PostingComment"] for r in rows} == {"Accrue bonus"} and rows[0]["PostingDate"] == "2024-02-29"


def test_sales_order_create_update_delete_moves_committed_stock(sandbox):
    def on_order() -> float:
        return sandbox.rows("SELECT QuantityOnSalesOrder FROM IM_ItemWarehouse WHERE ItemCode = '6655' AND "
                            "WarehouseCode = '000'")[0]["QuantityOnSalesOrder"]

    start = on_order()
    created = sandbox.one(op("so1", "SO_SalesOrder_bus", "create", {
        "ARDivisionNo": "01", "CustomerNo": "ABF", "CustomerPONo": "PO-NEW-1", "ShipVia": "UPS BLUE"},
        [{"ItemCode": "6655", "QuantityOrdered": 3}, {"ItemCode": "8983", "QuantityOrdered": 1, "UnitPrice": 40}]))
    assert created["ret"] == 1, created
    number = created["record_key"]["SalesOrderNo"]
    [header] = sandbox.rows("SELECT * FROM SO_SalesOrderHeader WHERE SalesOrderNo = ?", (number,))
    assert (header["OrderType"], header["OrderStatus"], header["NonTaxableAmt"]) == ("S", "N", 577)
    assert header["BillToName"] == "American Business Futures" and header["OrderDate"] == today()
    assert on_order() == start + 3

    updated = sandbox.one(op("so2", "SO_SalesOrder_bus", "update", {"SalesOrderNo": number, "OrderStatus": "O"},
                             [{"ItemCode": "6655", "QuantityOrdered": 5}]))
    assert updated["ret"] == 1, updated
    lines = sandbox.rows("SELECT ItemCode, QuantityOrdered, LineKey FROM SO_SalesOrderDetail WHERE SalesOrderNo = ?",
                         (number,))
    assert lines == [{"ItemCode": "6655", "QuantityOrdered": 5, "LineKey": "000003"}]
    assert on_order() == start + 5

    assert sandbox.one(op("so3", "SO_SalesOrder_bus", "delete", {"SalesOrderNo": number}))["ret"] == 1
    assert sandbox.rows("SELECT * FROM SO_SalesOrderHeader WHERE SalesOrderNo = ?", (number,)) == []
    assert on_order() == start


def test_the_duplicate_customer_po_is_a_warning_with_sages_text(sandbox):
    first = {"ARDivisionNo": "01", "CustomerNo": "ABF", "CustomerPONo": "PO-DUP"}
    lines = [{"ItemCode": "6655", "QuantityOrdered": 1}]
    assert sandbox.one(op("po1", "SO_SalesOrder_bus", "create", first, lines))["ret"] == 1
    second = sandbox.one(op("po2", "SO_SalesOrder_bus", "create", first, lines))
    assert (second["ret"], second["code"]) == (-1, "warning")
    assert second["warnings"] == ["This customer PO number already exists on one or more sales orders or invoices."]
    assert len(sandbox.rows("SELECT 1 FROM SO_SalesOrderHeader WHERE CustomerPONo = 'PO-DUP'")) == 2
