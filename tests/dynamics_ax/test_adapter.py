"""Pure mapping from canonical SalesInvoice to the FreeTextInvoice document dict."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from integrations.core.canonical import InvoiceLine, SalesInvoice
from integrations.dynamics_ax.adapter import (
    free_text_invoice_document,
    free_text_invoice_document_with_warnings,
    ledger_display_value,
    message_id_for,
)


def make_invoice(
    *, due: date | None = date(2024, 4, 30), description: str = "Consulting April"
) -> SalesInvoice:
    return SalesInvoice(
        source_system="kashflow",
        source_id="991",
        number="INV-3001",
        customer_code="BRIG01",
        customer_name="B",
        issue_date=date(2024, 4, 1),
        due_date=due,
        currency="gbp",
        exchange_rate=Decimal(1),
        net_amount=Decimal("150.00"),
        tax_amount=Decimal("30.00"),
        gross_amount=Decimal("180.00"),
        paid_amount=Decimal(0),
        status="unpaid",
        lines=(
            InvoiceLine(
                1,
                description,
                Decimal("1.5"),
                Decimal("100.00"),
                Decimal("150.00"),
                Decimal("30.00"),
                Decimal("20"),
                "4000",
            ),
        ),
    )


def test_message_id_is_deterministic_guid() -> None:
    first = message_id_for("tenant-1:kashflow:invoice:991:abc")
    assert first == message_id_for("tenant-1:kashflow:invoice:991:abc")
    assert first != message_id_for("tenant-1:kashflow:invoice:991:abd")
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}", first)
    with pytest.raises(ValueError):
        message_id_for("")


def test_document_shape() -> None:
    seen = []

    def main_account_for(code: str) -> str:
        seen.append(code)
        return "401200"

    doc = free_text_invoice_document(
        make_invoice(),
        customer_account="BRIG01",
        main_account_for=main_account_for,
        dimensions={"Department": "022", "BusinessUnit": "001"},
        tax_group_for=lambda line: ("SALES", "STD"),
    )
    (header,) = doc["CustInvoiceTable"]
    assert header["class"] == "entity"
    assert header["OrderAccount"] == "BRIG01" and header["CustomerRef"] == "INV-3001"
    assert header["CurrencyCode"] == "GBP"
    assert header["InvoiceDate"] == header["DocumentDate"] == date(2024, 4, 1)
    assert header["DueDate"] == date(2024, 4, 30)
    assert header["DefaultDimension"] == {
        "Values": {
            "Value": [{"Name": "BusinessUnit", "Value": "001"}, {"Name": "Department", "Value": "022"}]
        }
    }
    (line,) = header["CustInvoiceLine"]
    assert seen == ["4000"]
    assert line["LedgerDimension"] == {
        "DisplayValue": "401200-001-022",
        "MainAccount": "401200",
        "Values": {
            "Value": [{"Name": "BusinessUnit", "Value": "001"}, {"Name": "Department", "Value": "022"}]
        },
    }
    assert line["AmountCur"] == Decimal("150.00") and line["Quantity"] == Decimal("1.5")
    assert line["UnitPrice"] == Decimal("100.00") and line["LineNum"] == Decimal(1)
    assert line["TaxGroup"] == "SALES" and line["TaxItemGroup"] == "STD"
    # keys follow the schema's alphabetical sequence (zeep orders by schema anyway; this keeps dumps readable)
    assert list(line) == [
        "class",
        "AmountCur",
        "Description",
        "LedgerDimension",
        "LineNum",
        "Quantity",
        "TaxGroup",
        "TaxItemGroup",
        "UnitPrice",
    ]


def test_no_due_date_and_no_dimensions() -> None:
    doc = free_text_invoice_document(
        make_invoice(due=None), customer_account="BRIG01", main_account_for=lambda _c: "401100"
    )
    header = doc["CustInvoiceTable"][0]
    assert "DueDate" not in header and "DefaultDimension" not in header
    assert header["CustInvoiceLine"][0]["LedgerDimension"] == {
        "DisplayValue": "401100",
        "MainAccount": "401100",
    }


def test_long_description_is_truncated_with_warning() -> None:
    doc, warnings = free_text_invoice_document_with_warnings(
        make_invoice(description="A" * 80), customer_account="BRIG01", main_account_for=lambda _c: "401100"
    )
    assert doc["CustInvoiceTable"][0]["CustInvoiceLine"][0]["Description"] == "A" * 60
    assert len(warnings) == 1 and "60 characters" in warnings[0]


def test_display_value_segments() -> None:
    assert ledger_display_value("401100", {"BusinessUnit": "001", "CostCenter": "010"}) == "401100-001--010"
    assert ledger_display_value("401100", {"Department": ""}) == "401100"


def test_unknown_dimension_and_bad_account_are_rejected() -> None:
    with pytest.raises(ValueError):
        free_text_invoice_document(
            make_invoice(),
            customer_account="BRIG01",
            main_account_for=lambda _c: "401100",
            dimensions={"Region": "North"},
        )
    with pytest.raises(ValueError):
        free_text_invoice_document(
            make_invoice(), customer_account="X" * 21, main_account_for=lambda _c: "401100"
        )
