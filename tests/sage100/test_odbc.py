"""Reading the sandbox company through pyodbc and the SQLite ODBC driver, as the ProvideX driver would be read."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pyodbc
import pytest

from integrations.core.errors import AuthError, ConfigurationError, TransientError
from integrations.sage100.layouts import LAYOUTS
from integrations.sage100.odbc import (
    ChangeCursor,
    SageOdbcReader,
    _page,
    classify_odbc_error,
    connection_string,
    row_stamp,
)
from integrations.sage100.sandbox import SYSTEM
from integrations.sage100.sandbox.abc import ACCOUNT_KEYS

from .conftest import CREDENTIALS

ISSUE_TABLES = ["AR_Customer", "AR_OpenInvoice", "AR_InvoiceHistoryHeader", "AR_InvoiceHistoryDetail",
                "AR_CashReceiptsHistory", "AP_Vendor", "AP_OpenInvoice", "GL_Account", "CI_Item", "IM_ItemWarehouse",
                "SO_SalesOrderHeader", "SO_SalesOrderDetail", "SO_InvoiceHeader", "AR_PaymentType"]


def odbc_string(company) -> str:
    return SYSTEM.connection_fields("http://127.0.0.1:1/x", company, CREDENTIALS)["settings"]["odbc"]


@pytest.mark.parametrize("table", ISSUE_TABLES)
def test_pyodbc_reads_every_table_with_the_real_column_names(company, table):
    conn = pyodbc.connect(odbc_string(company), autocommit=True)
    cursor = conn.cursor()
    columns = LAYOUTS[table].names
    cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")
    assert [d[0] for d in cursor.description] == list(columns)
    assert cursor.fetchall(), f"{table} is seeded"
    conn.close()


def test_the_driver_reports_the_layout_types(company):
    conn = pyodbc.connect(odbc_string(company), autocommit=True)
    types = {row.column_name: row.type_name for row in conn.cursor().columns(table="AR_Customer")}
    conn.close()
    assert types["CustomerNo"] == "VARCHAR(20)"
    assert types["CreditLimit"] == "DECIMAL(13,2)"
    assert types["DateUpdated"] == "DATE"
    assert types["TimeUpdated"] == "VARCHAR(8)"


def test_odbc_is_read_only_like_the_providex_driver(company):
    conn = pyodbc.connect(odbc_string(company), autocommit=True)
    with pytest.raises(pyodbc.Error, match="readonly"):
        conn.cursor().execute("UPDATE AR_Customer SET CustomerName = 'x'")
    conn.close()
    reader = SageOdbcReader(odbc_string(company))
    with pytest.raises(ConfigurationError, match="only runs SELECT"):
        list(reader.execute("DELETE FROM AR_Customer"))


def test_odbc_escapes_the_providex_driver_needs_work(company):
    conn = pyodbc.connect(odbc_string(company), autocommit=True)
    cursor = conn.cursor()
    cursor.execute("SELECT CustomerNo FROM AR_Customer WHERE DateUpdated >= {d '2000-01-01'}")
    assert cursor.fetchall()
    cursor.execute("SELECT C.CustomerNo, O.InvoiceNo FROM {oj AR_Customer C INNER JOIN AR_OpenInvoice O ON "
                   "C.ARDivisionNo = O.ARDivisionNo AND C.CustomerNo = O.CustomerNo}")
    assert cursor.fetchall()
    conn.close()


def test_reader_normalises_values_like_sage(company):
    with SageOdbcReader.from_settings({"company": "ABC", "odbc": odbc_string(company)}) as reader:
        [abf] = reader.read("AR_Customer", ARDivisionNo="01", CustomerNo="ABF")
        account = reader.read("GL_Account", AccountKey=ACCOUNT_KEYS["400-00-00"])[0]
    assert abf["CustomerName"] == "American Business Futures"
    assert abf["CreditLimit"] == Decimal("120000.00") and str(abf["CreditLimit"]) == "120000.00"
    assert abf["CurrentBalance"] == Decimal("3252.38")
    assert isinstance(abf["DateUpdated"], date)
    assert len(abf["TimeUpdated"]) == 8 and 0 <= float(abf["TimeUpdated"]) < 24
    assert row_stamp(abf) <= datetime.now()  # the seed never stamps a row in the future
    assert account["Account"] == "400-00-00" and account["AccountDesc"] == "Sales"


def test_reader_selects_columns_and_scans_keys(company):
    with SageOdbcReader(odbc_string(company)) as reader:
        rows = reader.read("CI_Item", ["ItemCode", "StandardUnitPrice"], ItemCode="6655")
        keys = reader.key_scan("AR_Customer")
        tables = reader.tables()
    assert rows == [{"ItemCode": "6655", "StandardUnitPrice": Decimal("179.000000")}]
    assert ("01", "ABF") in keys
    assert set(ISSUE_TABLES) <= set(tables)
    with pytest.raises(ConfigurationError, match="no column"):
        list(SageOdbcReader(odbc_string(company)).select("AR_Customer", ["CustomerNo; DROP TABLE x"]))


def test_agent_writes_move_date_and_time_updated_and_polling_sees_them(sandbox):
    with sandbox.odbc() as reader:
        first = reader.changes("AR_Customer")
        assert len(first.rows) == len(reader.key_scan("AR_Customer"))
        assert reader.changes("AR_Customer", first.cursor).rows == []
        before = reader.read("AR_Customer", ARDivisionNo="01", CustomerNo="ABF")[0]

        result = sandbox.one({"key": "poll-1", "object": "AR_Customer_bus", "action": "update",
                              "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF", "Comment": "Key account"}})
        assert result["ret"] == 1
        created = sandbox.one({"key": "poll-2", "object": "AR_Customer_bus", "action": "create",
                               "fields": {"ARDivisionNo": "02", "CustomerNo": "NEWCO", "CustomerName": "New Co"}})
        assert created["ret"] == 1

        page = reader.changes("AR_Customer", first.cursor)
        after = reader.read("AR_Customer", ARDivisionNo="01", CustomerNo="ABF")[0]
    assert [(r["ARDivisionNo"], r["CustomerNo"]) for r in page.rows] == [("01", "ABF"), ("02", "NEWCO")]
    assert after["Comment"] == "Key account"
    assert after["DateUpdated"] == date.today()
    assert row_stamp(after) > row_stamp(before)
    assert after["UserUpdatedKey"] == "0000000003"  # the agent's Sage user
    assert page.rows[1]["DateCreated"] == date.today() and page.rows[1]["UserCreatedKey"] == "0000000003"


def row(key: str, at: datetime) -> tuple[datetime, tuple[str, ...], dict]:
    return at, (key,), {"key": key}


def test_polling_re_reads_the_look_back_window_without_emitting_twice():
    t0 = datetime(2024, 3, 1, 12, 0, 0)
    page = _page([row("A", t0), row("B", t0 + timedelta(minutes=1))], None, timedelta(minutes=15), None)
    assert [r["key"] for r in page.rows] == ["A", "B"]
    # Next poll re-reads the overlap; C committed late with an earlier stamp (a workstation clock behind).
    again = [row("A", t0), row("C", t0 + timedelta(seconds=30)), row("B", t0 + timedelta(minutes=1))]
    later = _page(again, page.cursor, timedelta(minutes=15), None)
    assert [r["key"] for r in later.rows] == ["C"]
    assert later.cursor.stamp == t0 + timedelta(minutes=1) and later.cursor.key == ("B",)
    # A is changed again: a new stamp is a new change.
    changed = _page([row("A", t0 + timedelta(minutes=2))], later.cursor, timedelta(minutes=15), None)
    assert [r["key"] for r in changed.rows] == ["A"]


def test_polling_pages_with_a_limit_and_breaks_ties_on_the_key():
    t0 = datetime(2024, 3, 1, 12, 0, 0)
    rows = [row(k, t0) for k in ("A", "B", "C")]
    page = _page(rows, None, timedelta(minutes=15), 2)
    assert [r["key"] for r in page.rows] == ["A", "B"] and page.more
    rest = _page(rows, ChangeCursor.from_json(page.cursor.to_json()), timedelta(minutes=15), 2)
    assert [r["key"] for r in rest.rows] == ["C"] and not rest.more


def test_polling_forgets_identities_older_than_the_window():
    t0 = datetime(2024, 3, 1, 8, 0, 0)
    page = _page([row("A", t0), row("B", t0 + timedelta(hours=2))], None, timedelta(minutes=15), None)
    assert page.cursor.recent == {f"{(t0 + timedelta(hours=2)).isoformat()}|B"}


def test_tables_without_audit_columns_are_polled_through_their_header(company):
    with pytest.raises(ConfigurationError, match="header"), SageOdbcReader(odbc_string(company)) as reader:
        reader.changes("SO_SalesOrderDetail")


def test_connection_strings_for_real_sites_carry_company_and_logon():
    assert connection_string({"company": "ABC"}, user="lb", password="pw") == \
        "DSN=SOTAMAS90;Company=ABC;UID=lb;PWD=pw;"
    given = "Driver={MAS 90 4.0 ODBC Driver};Directory=\\\\srv\\MAS90;Company=KPK;DirtyReads=1"
    assert connection_string({"company": "ABC", "odbc": given}, user="lb") == given + ";UID=lb;"


@pytest.mark.parametrize(("args", "kind"), [
    (("IM002", "[IM002] Data source name not found"), ConfigurationError),
    (("01000", "[01000] Can't open lib 'MAS 90 4.0 ODBC Driver'"), ConfigurationError),
    (("28000", "Invalid logon PWD=secret"), AuthError),
    (("HYT00", "Timeout expired"), TransientError),
    (("HY000", "[SQLite]database is locked"), TransientError),
    (("08S01", "Communication link failure"), TransientError),
    (("HY000", "[SQLite]no such table: NOPE"), ConfigurationError),
])
def test_odbc_errors_become_typed_errors_without_secrets(args, kind):
    error = classify_odbc_error(pyodbc.Error(*args))
    assert type(error) is kind
    assert "secret" not in str(error)


def test_a_missing_driver_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="not installed"):
        SageOdbcReader("Driver={MAS 90 4.0 ODBC Driver};Company=ABC;").tables()
