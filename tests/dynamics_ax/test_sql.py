"""The AX tables over ODBC (pyodbc + SQLite ODBC driver) while the sandbox app writes, and the SQL reader."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pyodbc
import pytest

from integrations.core.errors import ConfigurationError
from integrations.dynamics_ax.sandbox.store import timestamp
from integrations.dynamics_ax.sql import AxSqlReader, ChangeCursor

PER_COMPANY = ["CUSTTABLE", "VENDTABLE", "CUSTINVOICEJOUR", "CUSTTRANS", "CUSTTRANSOPEN", "CUSTSETTLEMENT",
               "LEDGERJOURNALTABLE", "LEDGERJOURNALTRANS", "INVENTTABLE", "INVENTSUM"]
SHARED = ["DIRPARTYTABLE", "MAINACCOUNT", "DIMENSIONATTRIBUTE", "DIMENSIONATTRIBUTEVALUE",
          "DIMENSIONATTRIBUTEVALUESET", "DIMENSIONATTRIBUTEVALUESETITEM", "DIMENSIONATTRIBUTEVALUECOMBINATION"]


def mid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def odbc(instance):
    connection = pyodbc.connect(instance.odbc, autocommit=True, readonly=True)
    yield connection
    connection.close()


@pytest.fixture
def reader(instance):
    with AxSqlReader.from_settings({"odbc": instance.odbc, "company": "GBSI"}) as reader:
        yield reader


def columns(odbc, table: str) -> list[str]:
    cursor = odbc.execute(f"SELECT * FROM {table} LIMIT 1")
    return [column[0] for column in cursor.description]


@pytest.mark.parametrize("table", PER_COMPANY + SHARED)
def test_every_table_reads_over_odbc_with_the_ax_system_columns(odbc, table) -> None:
    names = columns(odbc, table)
    assert {"RECID", "RECVERSION", "PARTITION", "MODIFIEDDATETIME", "CREATEDDATETIME"} <= set(names)
    rows = odbc.execute(f"SELECT * FROM {table}").fetchall()
    assert rows, f"{table} is empty in the seed"
    recids = [row.RECID for row in rows]
    assert len(set(recids)) == len(recids) and min(recids) >= 5637144576
    assert all(isinstance(row.MODIFIEDDATETIME, datetime) for row in rows)
    if table in PER_COMPANY:
        assert {row.DATAAREAID for row in rows} <= {"gbsi", "usmf"} and "gbsi" in {row.DATAAREAID for row in rows}
    else:
        assert "DATAAREAID" not in names


def test_updates_through_aif_change_recversion_and_modifieddatetime_seen_over_odbc(aif, odbc) -> None:
    before = odbc.execute("SELECT RECVERSION, MODIFIEDDATETIME FROM CUSTTABLE WHERE DATAAREAID = 'gbsi' AND "
                          "ACCOUNTNUM = 'GB-0002'").fetchone()
    customer = aif.read_customer("GB-0002")
    aif.update_customer("GB-0002", {"CreditMax": "900"}, message_id=mid(), document_hash=customer["_DocumentHash"])
    after = odbc.execute("SELECT RECVERSION, MODIFIEDDATETIME, CREDITMAX FROM CUSTTABLE WHERE DATAAREAID = 'gbsi' "
                         "AND ACCOUNTNUM = 'GB-0002'").fetchone()
    assert after.RECVERSION != before.RECVERSION and after.MODIFIEDDATETIME > before.MODIFIEDDATETIME
    assert after.CREDITMAX == 900


def test_reader_master_data(reader, instance) -> None:
    assert reader.check()["companies"] == ["GBSI", "USMF"]
    customers = reader.customers()
    assert [c["ACCOUNTNUM"] for c in customers] == sorted(c["ACCOUNTNUM"] for c in customers)
    first = customers[0]
    assert first["NAME"] and first["CITY"] and first["COUNTRYREGIONID"] == "GBR" and "@" in first["EMAIL"]
    assert reader.customers(["GB-0002"])[0]["ACCOUNTNUM"] == "GB-0002"
    assert reader.parties_of("CUSTTABLE", [first["PARTY"]])[0]["ACCOUNTNUM"] == first["ACCOUNTNUM"]
    assert reader.vendors()[0]["ACCOUNTNUM"].startswith("GBV-")
    item = reader.items(["D0001"])[0]
    assert item["NAME"].endswith("stereo amplifier") and item["ITEMGROUPID"] == "Audio" and item["SALESPRICE"] > 0
    stock = reader.on_hand(["D0001"])[0]
    assert stock["AVAILPHYSICAL"] == stock["PHYSICALINVENT"] - stock["RESERVPHYSICAL"]
    accounts = {a["MAINACCOUNTID"]: a["NAME"] for a in reader.main_accounts()}
    assert accounts["401100"] == "Product Sales" and accounts["130100"] == "Accounts Receivable - Domestic"
    assert {"VALUE": "022", "NAME": "Sales and Marketing"} in reader.dimension_values("Department")
    usmf = AxSqlReader.from_settings({"odbc": instance.odbc, "company": "USMF"})
    assert all(c["ACCOUNTNUM"].startswith("US-") for c in usmf.customers())
    usmf.close()


def test_invoice_settled_in_ax_reads_back_as_paid(aif, reader, instance) -> None:
    invoice = instance.store.one("SELECT * FROM CUSTTRANS WHERE DATAAREAID = 'gbsi' AND AMOUNTCUR > 0 AND "
                                 "SETTLEAMOUNTCUR = 0 AND CURRENCYCODE = 'GBP' ORDER BY RECID LIMIT 1")
    assert reader.invoice_status([invoice["INVOICE"]])[invoice["INVOICE"]].status == "open"
    amount = Decimal(str(invoice["AMOUNTCUR"]))
    customer = {"DisplayValue": invoice["ACCOUNTNUM"], "Account": invoice["ACCOUNTNUM"]}
    aif.create_customer_payment_journal({"JournalName": "CustPay", "LedgerJournalTrans": [{
        "AccountType": "Cust", "LedgerDimension": customer, "AmountCurCredit": amount, "CurrencyCode": "GBP",
        "MarkedInvoice": invoice["INVOICE"], "OffsetAccountType": "Bank",
        "OffsetLedgerDimension": {"DisplayValue": "GBSI OPER", "Account": "GBSI OPER"}}]}, message_id=mid())
    status = reader.invoice_status([invoice["INVOICE"]])[invoice["INVOICE"]]
    assert status.status == "paid" and status.settled == amount and status.open_amount == 0
    assert status.closed is not None and status.last_settled == status.closed
    assert invoice["INVOICE"] not in {t["INVOICE"] for t in reader.open_transactions(invoice["ACCOUNTNUM"])}
    partly = instance.store.one("SELECT INVOICE FROM CUSTTRANS WHERE DATAAREAID = 'gbsi' AND AMOUNTCUR > 0 AND "
                                "SETTLEAMOUNTCUR > 0 AND SETTLEAMOUNTCUR < AMOUNTCUR LIMIT 1")
    if partly:
        assert reader.invoice_status([partly["INVOICE"]])[partly["INVOICE"]].status == "partially_paid"


def test_change_polling_walks_the_keyset_and_sees_new_and_changed_rows(aif, reader) -> None:
    seen, cursor = [], None
    while True:
        batch = reader.changes("CUSTTABLE", cursor, limit=4, columns=["ACCOUNTNUM"])
        seen += [row["ACCOUNTNUM"] for row in batch.rows]
        cursor = batch.cursor
        if not batch.more:
            break
    everyone = [c["ACCOUNTNUM"] for c in reader.customers()]
    assert sorted(seen) == sorted(everyone) and len(seen) == len(set(seen))
    assert reader.changes("CUSTTABLE", cursor).rows == []
    account = aif.create_customer({"CustGroup": "30", "DirParty": {"Name": "Polled Ltd"}}, message_id=mid())
    customer = aif.read_customer("GB-0001")
    aif.update_customer("GB-0001", {"CreditMax": "5"}, message_id=mid(), document_hash=customer["_DocumentHash"])
    batch = reader.changes("CUSTTABLE", ChangeCursor.from_json(cursor.to_json()), columns=["ACCOUNTNUM"])
    assert [row["ACCOUNTNUM"] for row in batch.rows] == [account, "GB-0001"]
    assert reader.changes("CUSTTABLE", batch.cursor).rows == []


def test_change_polling_catches_a_late_commit_inside_the_look_back_window(reader, instance) -> None:
    batch = reader.changes("CUSTTRANS", None, limit=100000)
    cursor = batch.cursor
    # a transaction that started before the last row we saw commits now, stamped a second before it
    late = instance.store.insert("CUSTTRANS", {"DATAAREAID": "gbsi", "ACCOUNTNUM": "GB-0001", "VOUCHER": "LATE-1",
                                               "CURRENCYCODE": "GBP", "AMOUNTCUR": 1},
                                 stamp=timestamp(cursor.modified - timedelta(seconds=1)))
    again = reader.changes("CUSTTRANS", cursor)
    assert [row["RECID"] for row in again.rows] == [late]
    assert reader.changes("CUSTTRANS", again.cursor).rows == []
    outside = reader.changes("CUSTTRANS", cursor, overlap=timedelta(milliseconds=10))
    assert outside.rows == []  # older than the window: the trade-off the overlap setting controls


def test_configuration_errors(instance, tmp_path) -> None:
    with pytest.raises(ConfigurationError):
        AxSqlReader.from_settings({"company": "GBSI"})
    with pytest.raises(ConfigurationError):  # NoCreat=1: a wrong path fails instead of creating an empty file
        AxSqlReader(f"Driver=SQLite3;Database={tmp_path}/missing.sqlite3;NoCreat=1", "GBSI").open()
    assert not (tmp_path / "missing.sqlite3").exists()
    with pytest.raises(ConfigurationError):
        AxSqlReader(instance.odbc, "GBSI", partition_key="nope").open()
    with pytest.raises(ConfigurationError):
        AxSqlReader(instance.odbc, "ZZZZ").check()
    with AxSqlReader(instance.odbc, "GBSI") as reader, pytest.raises(ConfigurationError):
        reader.changes("SYSUSERINFO")
    assert "Database" not in repr(AxSqlReader(instance.odbc, "GBSI"))
