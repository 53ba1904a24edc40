"""The zeep-based AIF client against the sandbox on loopback: happy path, idempotency and error mapping."""

from __future__ import annotations

import socket
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree
from zeep.exceptions import Fault

from integrations.core.canonical import InvoiceLine, SalesInvoice
from integrations.core.errors import (
    AuthError,
    ConfigurationError,
    DuplicateError,
    IntegrityError,
    TargetValidationError,
    TransientError,
)
from integrations.dynamics_ax.adapter import free_text_invoice_document, message_id_for
from integrations.dynamics_ax.aif_client import AifClient

from .conftest import PORT_PATH

SECRET = "S3cr3t-Pa55"


def invoice(number: str = "INV-2001", customer: str = "BRIG01") -> SalesInvoice:
    lines = (
        InvoiceLine(
            1,
            "Annual service plan",
            Decimal("1"),
            Decimal("250.00"),
            Decimal("250.00"),
            Decimal("50.00"),
            Decimal("20"),
            "4000",
        ),
        InvoiceLine(
            2,
            "Spare parts " * 8,
            Decimal("3"),
            Decimal("10.00"),
            Decimal("30.00"),
            Decimal("6.00"),
            Decimal("20"),
            "4100",
        ),
    )
    return SalesInvoice(
        source_system="kashflow",
        source_id="77",
        number=number,
        customer_code=customer,
        customer_name="Brighton",
        issue_date=date(2024, 3, 1),
        due_date=date(2024, 3, 31),
        currency="GBP",
        exchange_rate=Decimal(1),
        net_amount=Decimal("280.00"),
        tax_amount=Decimal("56.00"),
        gross_amount=Decimal("336.00"),
        paid_amount=Decimal(0),
        status="unpaid",
        lines=lines,
    )


def document(customer: str = "BRIG01") -> dict:
    accounts = {"4000": "401200", "4100": "401100"}
    return free_text_invoice_document(
        invoice(customer=customer),
        customer_account=customer,
        main_account_for=accounts.__getitem__,
        dimensions={"BusinessUnit": "001", "Department": "022"},
    )


def client(
    endpoint: str, *, password: str = "password", company: str = "GBSI", timeout: float = 10
) -> AifClient:
    return AifClient(
        endpoint, company=company, username="user", password=password, auth="basic", timeout=timeout
    )


def test_check_lists_port_operations(endpoint: str) -> None:
    assert client(endpoint).check()["services"] == {
        "CustomerService": ["create", "delete", "find", "findKeys", "read", "update"],
        "VendTableService": ["create", "delete", "find", "findKeys", "read", "update"],
        "ItemService": ["find", "findKeys", "read"],
        "FreeTextInvoiceService": ["create", "findKeys"],
        "GeneralJournalService": ["create", "read"],
        "CustPaymJournalService": ["create"],
        "PurchaseInvoiceService": ["create"],
    }


def test_create_returns_entity_key(endpoint: str, store) -> None:
    keys = client(endpoint).create_free_text_invoice(document(), message_id=message_id_for("kashflow:77:v1"))
    assert list(keys) == ["RecId"]
    header = store.one("SELECT * FROM CUSTINVOICETABLE WHERE RECID = ?", (int(keys["RecId"]),))
    assert header["CUSTOMERREF"] == "INV-2001" and header["CURRENCYCODE"] == "GBP"
    lines = store.free_text_invoices()[0]["lines"]
    assert (
        len(lines) == 2
        and lines[1]["DESCRIPTION"].startswith("Spare parts")
        and len(lines[1]["DESCRIPTION"]) <= 60
    )


def test_repeat_message_id_is_duplicate_error(endpoint: str, store) -> None:
    aif = client(endpoint)
    message_id = message_id_for("kashflow:77:v1")
    aif.create_free_text_invoice(document(), message_id=message_id)
    with pytest.raises(DuplicateError) as info:
        aif.create_free_text_invoice(document(), message_id=message_id)
    assert info.value.code == "DuplicateMessage" and message_id in info.value.message
    assert len(store.free_text_invoices()) == 1


def test_unknown_customer_is_integrity_error_with_infolog(endpoint: str) -> None:
    with pytest.raises(IntegrityError) as info:
        client(endpoint).create_free_text_invoice(document("NOPE01"), message_id=message_id_for("x"))
    assert info.value.details == [
        "The value 'NOPE01' in field 'Customer account' is not found in the relating table 'Customers'."
    ]
    assert "NOPE01" in str(info.value)


def test_wrong_password_is_auth_error_without_the_password(endpoint: str) -> None:
    aif = client(endpoint, password=SECRET)
    for call in (aif.check, lambda: aif.create_free_text_invoice(document(), message_id=message_id_for("y"))):
        with pytest.raises(AuthError) as info:
            call()
        assert info.value.status == 401
        assert SECRET not in str(info.value) and SECRET not in repr(info.value.as_dict())
    assert SECRET not in repr(aif)


def test_auth_error_after_wsdl_was_cached_by_another_client(endpoint: str) -> None:
    client(endpoint).check()  # WSDL now in the process-wide cache
    with pytest.raises(AuthError):
        client(endpoint, password=SECRET).create_free_text_invoice(document(), message_id=message_id_for("z"))


def test_server_error_is_transient(app, endpoint: str) -> None:
    aif = client(endpoint)
    aif.check()
    app.faults.set({"server_error": {"every": 1}})
    with pytest.raises(TransientError) as info:
        aif.create_free_text_invoice(document(), message_id=message_id_for("s"))
    assert info.value.status == 500 and info.value.retryable


def test_timeout_after_commit_then_retry_is_duplicate_and_one_row(app, endpoint: str, store) -> None:
    aif = client(endpoint, timeout=0.5)
    aif.check()
    message_id = message_id_for("kashflow:77:v1")
    app.faults.set({"timeout_after_commit": {"every": 1, "hang_ms": 1500}})
    with pytest.raises(TransientError):  # client gave up; the server had committed
        aif.create_free_text_invoice(document(), message_id=message_id)
    app.faults.clear()
    with pytest.raises(DuplicateError):
        client(endpoint).create_free_text_invoice(document(), message_id=message_id)
    assert len(store.query("SELECT RECID FROM CUSTINVOICETABLE")) == 1


def test_generic_fault_tells_user_to_enable_exceptions(app, endpoint: str) -> None:
    app.include_exceptions_in_fault = False
    with pytest.raises(TargetValidationError) as info:
        client(endpoint).create_free_text_invoice(document("NOPE01"), message_id=message_id_for("g"))
    assert "Include exceptions in fault" in info.value.message and info.value.details == []


def test_unknown_company_is_configuration_error(endpoint: str) -> None:
    with pytest.raises(ConfigurationError):
        client(endpoint, company="ZZZZ").create_free_text_invoice(document(), message_id=message_id_for("c"))


def test_bad_dimension_value_is_integrity_error(endpoint: str) -> None:
    doc = free_text_invoice_document(
        invoice(),
        customer_account="BRIG01",
        main_account_for=lambda _code: "401100",
        dimensions={"BusinessUnit": "001", "Department": "099"},
    )
    with pytest.raises(IntegrityError) as info:
        client(endpoint).create_free_text_invoice(doc, message_id=message_id_for("d"))
    assert "The value '099' of the dimension 'Department' does not exist." in info.value.details


def test_unreachable_host_is_transient_and_wrong_path_is_configuration() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientError):
        client(f"http://127.0.0.1:{port}{PORT_PATH}", timeout=2).check()


def test_wrong_port_name_is_configuration_error(server) -> None:
    with pytest.raises(ConfigurationError):
        client(server.url + "/MicrosoftDynamicsAXAif60/Nope/xppservice.svc").check()


def _fault(xpp: int, message: str) -> Fault:
    detail = etree.fromstring(
        '<detail><AifFault xmlns="http://schemas.microsoft.com/dynamics/2008/01/documents/Fault">'
        '<InfologMessageList xmlns:b="http://schemas.datacontract.org/2004/07/Microsoft.Dynamics.AX.Framework.Services">'
        f"<b:InfologMessage><b:InfologMessageType>Error</b:InfologMessageType><b:Message>{message}</b:Message>"
        f"</b:InfologMessage></InfologMessageList><XppExceptionType>{xpp}</XppExceptionType></AifFault></detail>"
    )
    return Fault("Request Failed. See the Exception Log for details.", code="s:Client", detail=detail)


def test_xpp_timeout_is_transient_and_other_errors_are_validation() -> None:
    aif = AifClient(
        "http://ax.invalid/MicrosoftDynamicsAXAif60/P/xppservice.svc",
        company="USMF",
        username="u",
        password="p",
        auth="ntlm",
    )
    error = aif._fault_error(_fault(15, "Timeout"), "FreeTextInvoiceService", "create", "M")
    assert isinstance(error, TransientError)
    error = aif._fault_error(
        _fault(3, "Field 'Description' must be filled in."), "FreeTextInvoiceService", "create", "M"
    )
    assert type(error) is TargetValidationError and error.details == [
        "Field 'Description' must be filled in."
    ]
