"""The Sage 100 SandboxSystem: seeding like ABC, parties, inspection, connection fields, control-plane serving."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import requests

from integrations.core.faults import FaultSwitch
from integrations.core.sandbox import SharedParty
from integrations.sage100.agent_client import AgentClient
from integrations.sage100.odbc import SageOdbcReader
from integrations.sage100.sandbox import SYSTEM
from integrations.sage100.sandbox.abc import ACCOUNT_KEYS
from integrations.sage100.sandbox.schema import DB_FILE
from integrations.sandboxes import Ports, SandboxHub, SandboxServers

from .conftest import CREDENTIALS, SIZE


def query(folder: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(folder / DB_FILE)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_new_credentials_are_random():
    first, second = SYSTEM.new_credentials(), SYSTEM.new_credentials()
    assert first["api_key"] != second["api_key"] and len(first["api_key"]) >= 40
    assert first["sage_password"] != second["sage_password"]


def test_seeded_like_the_abc_demo_company(company):
    assert query(company, "SELECT CompanyName FROM SY_Company") == [("ABC Distribution and Service Corp.",)]
    assert query(company, "SELECT ARDivisionNo FROM AR_Division ORDER BY 1") == [("00",), ("01",), ("02",)]
    abf = query(company, "SELECT CustomerName, City, CurrentBalance, AgingCategory1, AgingCategory2, OpenOrderAmt, "
                         "CreditLimit FROM AR_Customer WHERE ARDivisionNo = '01' AND CustomerNo = 'ABF'")
    assert abf == [("American Business Futures", "Milwaukee", 3252.38, 1222.58, 1257.4, 19144.4, 120000)]
    assert query(company, "SELECT ContactName FROM AR_CustomerContact WHERE CustomerNo = 'ABF' ORDER BY 1") == [
        ("Artie Johnson",), ("John Quinn",)]
    accounts = [a for (a,) in query(company, "SELECT Account FROM GL_Account")]
    assert all(len(a) == 9 and a[3] == a[6] == "-" for a in accounts) and "400-00-00" in accounts
    assert query(company, "SELECT AccountKey FROM GL_Account WHERE Account = '400-00-00'") == [
        (ACCOUNT_KEYS["400-00-00"],)]
    assert {w for (w,) in query(company, "SELECT WarehouseCode FROM IM_Warehouse")} == {"000", "001", "002"}
    assert query(company, "SELECT StandardUnitPrice FROM CI_Item WHERE ItemCode = '6655'") == [(179,)]
    assert len(query(company, "SELECT * FROM AR_PaymentType")) >= 4
    quote = query(company, "SELECT ItemCode, QuantityOrdered, UnitPrice FROM SO_SalesOrderDetail "
                           "WHERE SalesOrderNo = '0000304' ORDER BY LineKey")
    assert quote == [("6650-26-16-11", 4, 259), ("6655", 4, 179)]
    statuses = {s for (s,) in query(company, "SELECT DISTINCT OrderStatus FROM SO_SalesOrderHeader")}
    assert {"N", "O"} <= statuses


def test_size_is_the_number_of_ar_invoices_and_everything_is_consistent(company):
    invoices = query(company, "SELECT COUNT(*) FROM AR_InvoiceHistoryHeader")[0][0]
    assert invoices == SIZE + 3  # plus ABF's three open invoices
    orphans = query(company, "SELECT COUNT(*) FROM AR_OpenInvoice O LEFT JOIN AR_Customer C ON "
                             "C.ARDivisionNo = O.ARDivisionNo AND C.CustomerNo = O.CustomerNo "
                             "WHERE C.CustomerNo IS NULL")
    assert orphans == [(0,)]
    balances = query(company, "SELECT C.CurrentBalance, (SELECT ROUND(SUM(Balance), 2) FROM AR_OpenInvoice O "
                              "WHERE O.ARDivisionNo = C.ARDivisionNo AND O.CustomerNo = C.CustomerNo) "
                              "FROM AR_Customer C")
    assert all(abs((balance or 0) - (total or 0)) < 0.005 for balance, total in balances)
    times = [t for (t,) in query(company, "SELECT TimeUpdated FROM AR_InvoiceHistoryHeader")]
    assert all(len(t) == 8 and t[2] == "." for t in times)


def test_seeding_is_deterministic(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    SYSTEM.seed(tmp_path / "a", CREDENTIALS, size=30, rng_seed=11)
    SYSTEM.seed(tmp_path / "b", CREDENTIALS, size="30", rng_seed=11)
    SYSTEM.seed(tmp_path / "c", CREDENTIALS, size=30, rng_seed=12)
    sql = "SELECT InvoiceNo, CustomerNo, NonTaxableSalesAmt, TimeUpdated FROM AR_InvoiceHistoryHeader ORDER BY 1"
    assert query(tmp_path / "a", sql) == query(tmp_path / "b", sql)
    assert query(tmp_path / "a", sql) != query(tmp_path / "c", sql)
    with pytest.raises(FileExistsError):
        SYSTEM.seed(tmp_path / "a", CREDENTIALS, size=30)


def test_master_data_scales_with_size(tmp_path):
    (tmp_path / "big").mkdir()
    counts = SYSTEM.seed(tmp_path / "big", CREDENTIALS, size=2000, rng_seed=1)
    assert counts["AR_InvoiceHistoryHeader"] == 2003
    assert counts["AR_Customer"] == 101 and counts["CI_Item"] > 60 and counts["SO_SalesOrderHeader"] > 200


def test_parties_are_customers_and_vendors_with_division_codes(company):
    parties = SYSTEM.parties(company)
    abf = next(p for p in parties if p.code == "01-ABF")
    assert abf == SharedParty(code="01-ABF", name="American Business Futures", kind="customer",
                              address_lines=["2131 N. 14th Street", "Suite 100", "Accounting Department",
                                             "Milwaukee, WI"], postcode="53205-1204", country="US", currency="USD",
                              email="artie@sage.sample.com", phone="(414) 555-4787")
    assert any(p.kind == "supplier" and p.code == "00-AIRWAYS" for p in parties)


def test_inspect_and_connection_fields(sandbox):
    sandbox.one({"key": "i-1", "object": "AR_Customer_bus", "action": "create",
                 "fields": {"ARDivisionNo": "01", "CustomerNo": "INSP", "CustomerName": "Inspected"}})
    counts = SYSTEM.inspect(sandbox.folder)
    assert counts["AR_InvoiceHistoryHeader"] == SIZE + 3 and counts["agent_applied_keys"] == 1
    fields = SYSTEM.connection_fields("http://127.0.0.1:8703/acme", sandbox.folder, CREDENTIALS)
    assert fields["base_url"] == "http://127.0.0.1:8703/acme" and fields["password"] == CREDENTIALS["api_key"]
    assert fields["settings"]["company"] == "ABC"
    assert fields["settings"]["odbc"].startswith("Driver=SQLite3;Database=file:") and "mode=ro" in \
        fields["settings"]["odbc"]


class FakeKashflow:
    name = label = "kashflow"

    def __init__(self) -> None:
        self.parties: list[SharedParty] | None = None

    def new_credentials(self):
        return {}

    def seed(self, folder, credentials, *, size, rng_seed=0, parties=None):
        self.parties = parties
        return {}

    def make_app(self, folder, credentials):
        class App:
            faults = FaultSwitch()

            def __call__(self, environ, start_response):
                start_response("204 No Content", [])
                return [b""]

        return App()

    def close_app(self, app):
        pass

    def inspect(self, folder):
        return {}

    def connection_fields(self, root_url, folder, credentials):
        return {"base_url": root_url}


def test_served_by_the_control_plane_under_an_instance_prefix(tmp_path):
    kashflow = FakeKashflow()
    hub = SandboxHub(tmp_path, systems={"sage100": SYSTEM, "kashflow": kashflow})
    with SandboxServers(tmp_path, Ports.ephemeral(), hub=hub) as servers:
        instance = hub.create(erp="sage100", size=40, instance_id="acme", rng_seed=3)
        assert any(p.code == "01-ABF" for p in kashflow.parties)  # Kashflow is seeded with the ERP's parties
        fields = servers.connection_fields(instance.id)["sage100"]
        assert fields["base_url"].endswith("/acme")
        client = AgentClient(fields["base_url"], fields["password"])
        assert client.health()["company"] == "ABC"
        result = client.apply_one({"key": "hub-1", "object": "AR_Customer_bus", "action": "create",
                                   "fields": {"ARDivisionNo": "02", "CustomerNo": "HUB", "CustomerName": "Hub Co"}})
        assert result.ok
        with SageOdbcReader.from_settings(fields["settings"]) as reader:
            assert reader.read("AR_Customer", ["CustomerName"], CustomerNo="HUB") == [{"CustomerName": "Hub Co"}]
        snapshot = hub.set_faults("acme", "sage100", {"agent_down": {"every": 1}})
        assert snapshot["config"] == {"agent_down": {"every": 1}}
        assert requests.get(fields["base_url"] + "/v1/health", timeout=5).status_code == 503
        assert hub.inspect("acme")["state"]["sage100"]["counts"]["agent_applied_keys"] == 1
        hub.reseed("acme")
        assert hub.inspect("acme")["state"]["sage100"]["counts"]["AR_Customer"] > 0
