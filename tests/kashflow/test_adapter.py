"""Kashflow invoice JSON -> canonical SalesInvoice (pure: no network, no database)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from integrations.core.errors import NotFoundError, TargetValidationError
from integrations.kashflow.adapter import invoice_to_canonical, iter_sales_invoices, payment_status

SAMPLE = Path("/work/shared/reference/kashflow-samples/cappytech_InvoicesRESTExample.json")


@pytest.fixture
def official() -> dict[str, Any]:
    if not SAMPLE.exists():
        pytest.skip("reference sample not available")
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def minimal(**overrides: Any) -> dict[str, Any]:
    raw = {
        "Number": 1042,
        "CustomerCode": "BRIG01",
        "CustomerName": "Brighton Bakehouse Co",
        "CustomerReference": "PO-77",
        "IssuedDate": "2025-03-14 12:00:00",
        "DueDate": "2025-04-13 12:00:00",
        "Currency": {"Code": "GBP", "ExchangeRate": 1.0},
        "NetAmount": 150.0,
        "VATAmount": 20.0,
        "GrossAmount": 170.0,
        "TotalPaidAmount": 0.0,
        "Status": "Unpaid",
        "LineItems": [
            {
                "Number": 1,
                "Description": "Logo",
                "Quantity": 1.0,
                "Rate": 100.0,
                "VATLevel": 20.0,
                "VATAmount": 20.0,
                "VATExempt": False,
                "NominalCode": 4001,
            },
            {
                "Number": 2,
                "Description": "Postage",
                "Quantity": 2.0,
                "Rate": 25.0,
                "VATLevel": 0.0,
                "VATAmount": 0.0,
                "VATExempt": True,
                "NominalCode": 4905,
            },
        ],
    }
    raw.update(overrides)
    return raw


def test_official_sample_as_published_lacks_customer_code(official: dict[str, Any]) -> None:
    # The doc example omits CustomerCode (required on create, returned by the live API): a clear error.
    with pytest.raises(TargetValidationError, match="Kashflow invoice 2 could not be read: CustomerCode"):
        invoice_to_canonical(official)


def test_official_sample(official: dict[str, Any]) -> None:
    official["CustomerCode"] = "PDRI91"
    inv = invoice_to_canonical(official)
    assert inv.customer_code == "PDRI91"
    assert inv.source_system == "kashflow" and inv.source_id == "2" and inv.number == "2"
    assert inv.issue_date == date(2012, 10, 9) and inv.due_date == date(2012, 10, 9)  # "+05:30" form
    assert inv.currency == "GBP" and inv.exchange_rate == Decimal("1")
    assert (inv.net_amount, inv.tax_amount, inv.gross_amount) == (
        Decimal("100"),
        Decimal("17.5"),
        Decimal("117.5"),
    )
    assert inv.paid_amount == Decimal("117.5") and inv.status == "paid"
    assert inv.customer_name == "" and inv.customer_reference == ""  # nulls in the sample
    (line,) = inv.lines
    assert line.account_code == "2341" and line.product_code == "510"
    assert line.quantity == Decimal("10") and line.unit_price == Decimal("10")
    assert line.net_amount == Decimal("100.00") and line.tax_amount == Decimal("17.5")
    assert line.tax_rate == Decimal("17.5")  # VATExempt: 0 (int) means not exempt
    assert all(isinstance(v, Decimal) for v in (inv.net_amount, line.tax_amount, inv.exchange_rate))
    assert len(inv.version) == 32


def test_sample_parsed_with_decimals_gives_same_record(official: dict[str, Any]) -> None:
    official["CustomerCode"] = "PDRI91"
    as_decimal = json.loads(SAMPLE.read_text(encoding="utf-8"), parse_float=Decimal)
    as_decimal["CustomerCode"] = "PDRI91"
    assert invoice_to_canonical(as_decimal).version == invoice_to_canonical(official).version


def test_plain_dates_exempt_lines_and_unpaid() -> None:
    inv = invoice_to_canonical(minimal())
    assert inv.issue_date == date(2025, 3, 14) and inv.due_date == date(2025, 4, 13)
    assert inv.status == "unpaid" and inv.customer_code == "BRIG01" and inv.customer_reference == "PO-77"
    logo, postage = inv.lines
    assert logo.tax_rate == Decimal("20.0") and logo.account_code == "4001"
    assert postage.tax_rate is None and postage.tax_amount == 0 and postage.net_amount == Decimal("50.00")


@pytest.mark.parametrize(
    ("status", "paid", "expected"),
    [
        ("Unpaid", 0, "unpaid"),
        ("Unpaid", 50, "part_paid"),
        ("Paid", 170, "paid"),
        ("Unpaid", 170, "paid"),
    ],
)
def test_payment_status(status: str, paid: float, expected: str) -> None:
    assert invoice_to_canonical(minimal(Status=status, TotalPaidAmount=paid)).status == expected


def test_payment_status_helper_edge_cases() -> None:
    assert payment_status("paid", Decimal(0), Decimal(0)) == "paid"
    assert payment_status(None, Decimal(0), Decimal(0)) == "unpaid"


def test_vat_exempt_as_int_or_string() -> None:
    raw = minimal()
    raw["LineItems"][0]["VATExempt"] = 1
    raw["LineItems"][1]["VATExempt"] = "false"
    first, second = invoice_to_canonical(raw).lines
    assert first.tax_rate is None and first.tax_amount == 0
    assert second.tax_rate == Decimal("0.0")


def test_foreign_currency_and_sentinel_due_date() -> None:
    inv = invoice_to_canonical(
        minimal(Currency={"Code": "eur", "ExchangeRate": 1.165}, DueDate="1900-01-01 12:00:00 +05:30")
    )
    assert inv.currency == "EUR" and inv.exchange_rate == Decimal("1.165") and inv.due_date is None


def test_missing_totals_fall_back_to_lines() -> None:
    raw = minimal()
    for key in ("NetAmount", "VATAmount", "GrossAmount", "TotalPaidAmount"):
        raw.pop(key)
    inv = invoice_to_canonical(raw)
    assert (inv.net_amount, inv.tax_amount, inv.gross_amount) == (
        Decimal("150"),
        Decimal("20"),
        Decimal("170"),
    )


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"CustomerCode": None}, "CustomerCode"),
        ({"CustomerCode": ""}, "CustomerCode"),
        ({"Number": None}, "Number"),
        ({"IssuedDate": "yesterday"}, "IssuedDate"),
        ({"IssuedDate": "2025-02-30 12:00:00"}, "IssuedDate"),
        ({"GrossAmount": "lots"}, "GrossAmount"),
        ({"LineItems": "nope"}, "LineItems"),
    ],
)
def test_malformed_records_raise_validation_errors(change: dict[str, Any], needle: str) -> None:
    raw = minimal()
    raw.update(change)
    with pytest.raises(TargetValidationError) as info:
        invoice_to_canonical(raw)
    assert needle in info.value.message and info.value.code == "MalformedInvoice"


def test_line_without_nominal_code_is_rejected() -> None:
    raw = minimal()
    del raw["LineItems"][1]["NominalCode"]
    with pytest.raises(TargetValidationError, match="line 2 has no NominalCode"):
        invoice_to_canonical(raw)


class FakeClient:
    """Just the two calls the adapter makes; records them so the walk can be asserted."""

    def __init__(self, invoices: list[dict[str, Any]]) -> None:
        self.full = {inv["Number"]: inv for inv in invoices}
        self.fetched: list[int] = []
        self.filters: dict[str, Any] = {}

    def list_invoices(self, **filters: Any) -> Iterator[dict[str, Any]]:
        self.filters = filters
        for inv in self.full.values():
            yield {k: v for k, v in inv.items() if k != "PaymentLines"}

    def get_invoice(self, number: int | str) -> dict[str, Any]:
        self.fetched.append(int(number))
        if int(number) not in self.full:
            raise NotFoundError("gone")
        return copy.deepcopy(self.full[int(number)])


def test_iter_sales_invoices_paid_only_fetches_only_needed_details() -> None:
    client = FakeClient(
        [
            minimal(Number=1, Status="Paid", TotalPaidAmount=170),
            minimal(Number=2),
            minimal(Number=3, TotalPaidAmount=20),
        ]
    )
    paid = list(iter_sales_invoices(client, paid_only=True))
    assert [i.number for i in paid] == ["1"] and client.fetched == [1]
    assert client.filters["sortby"] == 0

    everything = list(iter_sales_invoices(FakeClient(list(client.full.values())), paid_only=False))
    assert [i.status for i in everything] == ["paid", "unpaid", "part_paid"]


def test_iter_sales_invoices_bad_records_raise_or_report() -> None:
    records = [minimal(Number=1), minimal(Number=2, CustomerCode=""), minimal(Number=3)]
    with pytest.raises(TargetValidationError, match="invoice 2"):
        list(iter_sales_invoices(FakeClient(records), paid_only=False))

    seen: list[TargetValidationError] = []
    ok = list(iter_sales_invoices(FakeClient(records), paid_only=False, on_error=seen.append))
    assert [i.number for i in ok] == ["1", "3"] and len(seen) == 1


def test_iter_sales_invoices_skips_invoice_deleted_mid_walk() -> None:
    client = FakeClient([minimal(Number=1), minimal(Number=2)])
    real_get = client.get_invoice

    def flaky(number: int | str) -> dict[str, Any]:
        if int(number) == 1:
            raise NotFoundError("deleted meanwhile")
        return real_get(number)

    client.get_invoice = flaky  # type: ignore[method-assign]
    assert [i.number for i in iter_sales_invoices(client, paid_only=False)] == ["2"]
