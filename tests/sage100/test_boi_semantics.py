"""BOI semantics of the emulated business objects, and the errors the agent reports for them."""

from __future__ import annotations

import sqlite3

import pytest

from integrations.sage100.agent.backends.emulated import EmulatedBackend, EmulatedComError
from integrations.sage100.agent.runner import SessionError, SessionSettings, open_session
from integrations.sage100.sandbox.abc import ACCOUNT_KEYS
from integrations.sage100.sandbox.schema import DB_FILE

from .conftest import CREDENTIALS


@pytest.fixture
def backend(company):
    backend = EmulatedBackend(company / DB_FILE, company="ABC", user=CREDENTIALS["sage_user"],
                              password=CREDENTIALS["sage_password"])
    yield backend
    backend.close()


@pytest.fixture
def boi(backend):
    """(script, session) after the documented logon sequence."""
    session = open_session(backend.script, backend.settings)
    return backend.script, session


def bus(boi, name: str, module: str, task: str):
    script, session = boi
    assert session.nSetModule(module) == 1
    assert session.nSetProgram(session.nLookupTask(task)) == 1
    return script.NewObject(name, session)


def test_set_key_answers_2_for_new_and_1_for_existing_records(boi):
    customer = bus(boi, "AR_Customer_bus", "A/R", "AR_Customer_ui")
    assert customer.nSetKeyValue("ARDivisionNo$", "01") == 1
    assert customer.nSetKeyValue("CustomerNo$", "ABF") == 1
    assert customer.nSetKey() == 1
    assert customer.nGetValue("CustomerName$") == (1, "American Business Futures")
    assert customer.nGetValue("CreditLimit") == (1, 120000.0)
    assert customer.nGetValue("DateEstablished$") == (1, "20190101")
    customer.nClear()
    customer.nSetKeyValue("ARDivisionNo$", "01")
    customer.nSetKeyValue("CustomerNo$", "BRANDNEW")
    assert customer.nSetKey() == 2


def test_strings_take_a_dollar_and_numbers_do_not(boi):
    customer = bus(boi, "AR_Customer_bus", "A/R", "AR_Customer_ui")
    customer.nSetKeyValue("ARDivisionNo$", "01")
    customer.nSetKeyValue("CustomerNo$", "ABF")
    customer.nSetKey()
    assert customer.nSetValue("CustomerName", "x") == 0
    assert "CustomerName$" in customer.sLastErrorMsg
    assert customer.nSetValue("CreditLimit$", "5") == 0
    assert customer.nSetValue("NoSuchColumn$", "x") == 0
    assert customer.nSetValue("DateEstablished$", "2024-13-45") == 0
    assert "not a valid date" in customer.sLastErrorMsg
    assert customer.nSetValue("CreditLimit", 1e20) == 0
    assert customer.nSetValue("CreditLimit", 250.555) == 1
    assert customer.nGetValue("CreditLimit") == (1, 250.56)


def test_nothing_is_written_before_nwrite(boi, company):
    customer = bus(boi, "AR_Customer_bus", "A/R", "AR_Customer_ui")
    customer.nSetKeyValue("ARDivisionNo$", "01")
    customer.nSetKeyValue("CustomerNo$", "GHOST")
    customer.nSetKey()
    customer.nSetValue("CustomerName$", "Ghost Ltd")
    customer.DropObject()
    conn = sqlite3.connect(company / DB_FILE)
    assert conn.execute("SELECT COUNT(*) FROM AR_Customer WHERE CustomerNo = 'GHOST'").fetchone() == (0,)
    conn.close()


def test_a_line_must_be_written_before_the_header(boi):
    order = bus(boi, "SO_SalesOrder_bus", "S/O", "SO_SalesOrder_ui")
    assert order.nGetNextSalesOrderNo("")[0] == 1
    order.nSetKeyValue("SalesOrderNo$", order.nGetNextSalesOrderNo("")[1])
    assert order.nSetKey() == 2
    order.nSetValue("ARDivisionNo$", "01")
    order.nSetValue("CustomerNo$", "ABF")
    assert order.oLines.nAddLine() == 1
    order.oLines.nSetValue("ItemCode$", "6655")
    assert order.nWrite() == 0
    assert "oLines.nWrite" in order.sLastErrorMsg


def test_business_objects_need_the_matching_program(boi):
    script, session = boi
    session.nSetModule("A/R")
    session.nSetProgram(session.nLookupTask("AR_Customer_ui"))
    with pytest.raises(EmulatedComError, match="SO_SalesOrder_ui"):
        script.NewObject("SO_SalesOrder_bus", session)
    assert session.nSetProgram(session.nLookupTask("SO_SalesOrder_ui")) == 0  # task of another module
    assert session.nLookupTask("NoSuch_ui") == 0


def test_session_refuses_a_wrong_password_and_closed_external_access(backend, company):
    with pytest.raises(SessionError, match="not valid"):
        open_session(backend.script, SessionSettings(CREDENTIALS["sage_user"], "wrong", "ABC"))
    with pytest.raises(SessionError, match="not on file"):
        open_session(backend.script, SessionSettings(CREDENTIALS["sage_user"], CREDENTIALS["sage_password"], "XYZ"))
    conn = sqlite3.connect(company / DB_FILE)
    conn.execute("UPDATE SY_Company SET AllowExternalAccess = 'N'")
    conn.commit()
    conn.close()
    with pytest.raises(SessionError, match="External access is not allowed"):
        backend.check()


# -- the errors the issue names, through the agent over HTTP -----------------------------------------------------


def invoice(key: str, customer: str = "ABF", **fields) -> dict:
    return {"key": key, "object": "AR_Invoice_bus", "action": "create",
            "fields": {"ARDivisionNo": "01", "CustomerNo": customer, "InvoiceDate": "2024-01-31", **fields},
            "lines": [{"ItemCode": "6655", "QuantityShipped": 1}]}


def test_required_field(sandbox):
    body = invoice("e1")
    del body["fields"]["InvoiceDate"]
    result = sandbox.one(body)
    assert (result["ret"], result["code"], result["last_error"]) == (0, "validation", "InvoiceDate is required.")


def test_invalid_gl_account(sandbox):
    result = sandbox.one({"key": "e2", "object": "GL_GeneralJournal_bus", "action": "create",
                          "fields": {"PostingDate": "2024-01-31"},
                          "lines": [{"AccountKey": ACCOUNT_KEYS["600-00-00"], "DebitAmount": 10},
                                    {"AccountKey": "999999999", "CreditAmount": 10}]})
    assert (result["ret"], result["code"]) == (0, "validation")
    assert result["last_error"] == "line 2: Invalid G/L account key 999999999."
    inactive = sandbox.one({"key": "e2b", "object": "AP_Vendor_bus", "action": "create", "fields": {
        "APDivisionNo": "00", "VendorNo": "NEWV", "VendorName": "New", "AccountKey": ACCOUNT_KEYS["199-00-00"]}})
    assert inactive["code"] == "validation" and "inactive" in inactive["last_error"]


def test_customer_not_on_file(sandbox):
    result = sandbox.one(invoice("e3", customer="NOPE"))
    assert (result["ret"], result["code"], result["last_error"]) == (0, "not_on_file",
                                                                     "Customer 01-NOPE is not on file.")


def test_duplicate_invoice_number(sandbox):
    first = sandbox.one(invoice("e4", InvoiceNo="0999001"))
    assert first["ret"] == 1
    again = sandbox.one(invoice("e5", InvoiceNo="999001"))  # same number, typed without the zero fill
    assert (again["ret"], again["code"]) == (0, "duplicate")
    assert again["last_error"] == "Invoice 0999001 already exists for customer 01-ABF."


def test_invalid_division_and_other_codes(sandbox):
    division = sandbox.one({"key": "e6", "object": "AR_Customer_bus", "action": "create",
                            "fields": {"ARDivisionNo": "07", "CustomerNo": "X", "CustomerName": "X"}})
    assert (division["code"], division["last_error"]) == ("validation", "Invalid division 07.")
    terms = sandbox.one({"key": "e7", "object": "AR_Customer_bus", "action": "create",
                         "fields": {"ARDivisionNo": "01", "CustomerNo": "X", "CustomerName": "X", "TermsCode": "99"}})
    assert (terms["code"], terms["last_error"]) == ("validation", "Invalid terms code 99.")


def test_item_not_on_file_on_an_order_line(sandbox):
    result = sandbox.one({"key": "e8", "object": "SO_SalesOrder_bus", "action": "create",
                          "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF"},
                          "lines": [{"ItemCode": "6655", "QuantityOrdered": 1}, {"ItemCode": "NOPE-1"}]})
    assert (result["code"], result["last_error"]) == ("not_on_file", "line 2: Item NOPE-1 is not on file.")


def test_documents_that_do_not_balance(sandbox):
    journal = sandbox.one({"key": "e9", "object": "GL_GeneralJournal_bus", "action": "create",
                           "fields": {"PostingDate": "2024-01-31"},
                           "lines": [{"AccountKey": ACCOUNT_KEYS["600-00-00"], "DebitAmount": 10},
                                     {"AccountKey": ACCOUNT_KEYS["100-00-00"], "CreditAmount": 9.5}]})
    assert journal["last_error"] == "The journal entry is out of balance by 0.50."
    [open_item] = sandbox.rows("SELECT InvoiceNo, Balance FROM AR_OpenInvoice WHERE CustomerNo = 'ABF' LIMIT 1")
    receipt = sandbox.one({"key": "e10", "object": "AR_CashReceipts_bus", "action": "create",
                           "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF", "CheckNo": "1", "PostingAmt": 1e6},
                           "lines": [{"InvoiceNo": open_item["InvoiceNo"], "AmountPosted": 1e6}]})
    assert receipt["code"] == "validation" and "exceeds the balance" in receipt["last_error"]


def test_create_of_an_existing_record_is_a_duplicate_and_update_of_a_missing_one_not_found(sandbox):
    exists = sandbox.one({"key": "e11", "object": "AR_Customer_bus", "action": "create",
                          "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF", "CustomerName": "x"}})
    assert (exists["code"], exists["last_error"]) == ("duplicate", "The customer 01-ABF is already on file.")
    missing = sandbox.one({"key": "e12", "object": "CI_ItemCode_bus", "action": "update",
                           "fields": {"ItemCode": "NOPE", "ItemCodeDesc": "x"}})
    assert missing["code"] == "not_found"


def test_posted_documents_cannot_be_changed_or_deleted(sandbox):
    [receipt] = sandbox.rows("SELECT DepositNo, CheckNo FROM AR_CashReceiptsHistory WHERE CustomerNo = 'ABF' LIMIT 1")
    fields = {"DepositNo": receipt["DepositNo"], "ARDivisionNo": "01", "CustomerNo": "ABF",
              "CheckNo": receipt["CheckNo"], "Comment": "x"}
    update = sandbox.one({"key": "e13", "object": "AR_CashReceipts_bus", "action": "update", "fields": fields})
    assert update["ret"] == 0 and "posted" in update["last_error"]
    delete = sandbox.one({"key": "e14", "object": "AR_CashReceipts_bus", "action": "delete", "fields": fields})
    assert delete["ret"] == 0 and "posted" in delete["last_error"]


def test_a_customer_with_open_invoices_cannot_be_deleted(sandbox):
    result = sandbox.one({"key": "e15", "object": "AR_Customer_bus", "action": "delete",
                          "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF"}})
    assert result["ret"] == 0 and "open invoices" in result["last_error"]
