"""Real table layouts and Sage value formats, with no database."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from integrations.sage100.agent.operations import Operation, OperationError, classify
from integrations.sage100.agent.runner import boi_field
from integrations.sage100.layouts import AUDIT_COLUMNS, LAYOUTS, layout
from integrations.sage100.sandbox.schema import table_ddl
from integrations.sage100.values import boi_date, decimal_hours, hours_to_time, parse_boi_date, parse_decimal_hours


def test_layouts_keep_real_names_keys_and_types():
    customer = layout("ar_customer")
    assert customer.primary_key == ("ARDivisionNo", "CustomerNo")
    assert customer.by_name["CustomerName"].sql_type == "VARCHAR(50)"
    assert customer.by_name["CreditLimit"].sql_type == "DECIMAL(13,2)"
    assert customer.by_name["TimeUpdated"].sql_type == "VARCHAR(8)"
    assert layout("AR_OpenInvoice").primary_key == ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType")
    assert layout("AR_InvoiceHistoryHeader").primary_key == ("InvoiceNo", "HeaderSeqNo")
    assert layout("SO_SalesOrderDetail").primary_key == ("SalesOrderNo", "LineKey")
    assert not any(name.startswith("UDF_") for spec in LAYOUTS.values() for name in spec.names)
    with pytest.raises(KeyError, match="known"):
        layout("AR_Nope")


def test_headers_have_audit_columns_and_lines_do_not():
    for table in ("AR_Customer", "AR_OpenInvoice", "AR_InvoiceHistoryHeader", "AR_CashReceiptsHistory", "CI_Item",
                  "IM_ItemWarehouse", "SO_SalesOrderHeader", "SO_InvoiceHeader", "AP_Vendor", "GL_Account",
                  "AR_PaymentType"):
        assert LAYOUTS[table].has_audit_columns, table
    for table in ("SO_SalesOrderDetail", "SO_InvoiceDetail", "AR_InvoiceHistoryDetail"):
        assert not set(AUDIT_COLUMNS) & set(LAYOUTS[table].names), table


def test_sqlite_tables_use_the_layout_types():
    ddl = table_ddl(LAYOUTS["IM_ItemWarehouse"])
    assert "ItemCode VARCHAR(30) NOT NULL" in ddl and "QuantityOnHand DECIMAL(15,6)" in ddl
    assert ddl.endswith("PRIMARY KEY (ItemCode, WarehouseCode))")


def test_time_updated_is_decimal_hours():
    assert decimal_hours(datetime(2024, 1, 1, 13, 31, 28)) == "13.52444"
    assert decimal_hours(time(9, 0)) == "09.00000"
    assert decimal_hours(time(23, 59, 59, 999999)) == "23.99999"
    assert hours_to_time(parse_decimal_hours("13.52450")) == time(13, 31, 28)
    assert parse_decimal_hours("") == parse_decimal_hours("garbage") == parse_decimal_hours("25") == Decimal(0)


def test_boi_dates():
    assert boi_date(date(2024, 1, 31)) == boi_date("2024-01-31") == "20240131"
    assert parse_boi_date("20240131") == parse_boi_date("2024-01-31") == date(2024, 1, 31)
    assert parse_boi_date("  ") is None
    with pytest.raises(ValueError):
        parse_boi_date("31/01/2024")


def test_fields_get_boi_names_and_values():
    assert boi_field("AR_Customer", "CustomerName", "Acme") == ("CustomerName$", "Acme")
    assert boi_field("AR_Customer", "CreditLimit", "5000") == ("CreditLimit", 5000.0)
    assert boi_field("AR_Customer", "CustomerNo", 123) == ("CustomerNo$", "123")
    assert boi_field("AR_Customer", "DateEstablished", "2024-01-31") == ("DateEstablished$", "20240131")
    assert boi_field("AR_Customer", "CreditHold", True) == ("CreditHold$", "Y")
    assert boi_field("", "Unknown", 2.5) == ("Unknown", 2.5)
    assert boi_field("", "Unknown", None) == ("Unknown$", "")


@pytest.mark.parametrize(("text", "code"), [
    ("The record is in use by another user.", "in_use"),
    ("Invoice 0100058 already exists for customer 01-ABF.", "duplicate"),
    ("Check number 1 has already been used for customer 01-ABF.", "duplicate"),
    ("Customer 01-NOPE is not on file.", "not_on_file"),
    ("Invalid G/L account key 999999999.", "validation"),
    ("InvoiceDate is required.", "validation"),
    ("", "validation"),
])
def test_boi_texts_are_classified(text, code):
    assert classify(text) == code


def test_operations_are_checked_before_anything_reaches_sage():
    parsed = Operation.parse({"key": "a:b-1", "object": "AR_Customer_bus", "action": "update",
                              "fields": {"CustomerName$": "X", "CreditLimit": Decimal("5")}})
    assert parsed.fields == {"CustomerName": "X", "CreditLimit": 5.0}
    for bad, message in [
        ({"key": "", "object": "AR_Customer_bus", "action": "create"}, "key must be"),
        ({"key": "k", "object": "AR_Customer_bus", "action": "upsert"}, "action must be"),
        ({"key": "k", "object": "AR_Customer_bus", "action": "create", "fields": {"a b": 1}}, "column name"),
        ({"key": "k", "object": "AR_Customer_bus", "action": "create", "fields": {"A": [1]}}, "string, number"),
        ({"key": "k", "object": "AR_Customer_bus", "action": "create", "lines": []}, "has no lines"),
        ({"key": "k", "object": "AR_Customer_bus", "action": "create", "extra": 1}, "unknown operation member"),
    ]:
        with pytest.raises(OperationError, match=message):
            Operation.parse(bad)
