"""The SandboxSystem contract of the AX sandbox, alone and under the control plane's hub."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from datetime import date

import pytest

from integrations.core.sandbox import SharedParty
from integrations.core.wsgi import ServerThread
from integrations.dynamics_ax.aif_client import AifClient
from integrations.dynamics_ax.sandbox import SYSTEM
from integrations.sandboxes.hub import SandboxHub

TODAY = date(2024, 6, 28)
KASHFLOW_CODE = re.compile(r"^[A-Za-z0-9-]{1,20}$")  # Kashflow customer/supplier codes: up to 20 characters


def rows(folder, sql: str) -> list[tuple]:
    with sqlite3.connect(folder / "ax.sqlite3") as db:
        return db.execute(sql).fetchall()


def test_credentials_are_fresh_and_never_repeat() -> None:
    first, second = SYSTEM.new_credentials(), SYSTEM.new_credentials()
    assert first != second and len(first["password"]) >= 20 and first["username"].startswith("CONTOSO\\")


def test_seed_is_deterministic_and_scales_with_size(tmp_path) -> None:
    counts = {}
    for name, size, rng_seed in (("a", 40, 7), ("b", 40, 7), ("c", 40, 8), ("d", 400, 7)):
        counts[name] = SYSTEM.seed(tmp_path / name, {}, size=size, rng_seed=rng_seed, today=TODAY)
    query = ("SELECT C.ACCOUNTNUM, P.NAME, C.CUSTGROUP FROM CUSTTABLE C JOIN DIRPARTYTABLE P ON P.RECID = C.PARTY "
             "ORDER BY C.DATAAREAID, C.ACCOUNTNUM")
    money = "SELECT INVOICE, AMOUNTCUR, SETTLEAMOUNTCUR, TRANSDATE FROM CUSTTRANS ORDER BY RECID"
    assert rows(tmp_path / "a", query) == rows(tmp_path / "b", query)
    assert rows(tmp_path / "a", money) == rows(tmp_path / "b", money)
    assert rows(tmp_path / "a", query) != rows(tmp_path / "c", query)
    assert counts["a"]["custinvoicejour"] == 40 + 20 and counts["d"]["custinvoicejour"] == 400 + 40  # + USMF
    assert counts["d"]["custtable"] > counts["a"]["custtable"]
    assert rows(tmp_path / "a", "SELECT COUNT(*) FROM CUSTINVOICEJOUR WHERE DATAAREAID = 'gbsi'") == [(40,)]
    assert rows(tmp_path / "a", "PRAGMA journal_mode") == [("wal",)]


def test_seeded_installation_looks_like_the_usmf_demo(tmp_path) -> None:
    SYSTEM.seed(tmp_path, {}, size=20, rng_seed=1, today=TODAY)
    assert rows(tmp_path, "SELECT ID FROM DATAAREA ORDER BY ID") == [("gbsi",), ("usmf",)]
    names = {name for (name,) in rows(tmp_path, "SELECT NAME FROM DIMENSIONATTRIBUTE")}
    assert names == {"BusinessUnit", "Department", "CostCenter"}
    accounts = dict(rows(tmp_path, "SELECT MAINACCOUNTID, NAME FROM MAINACCOUNT"))
    assert accounts["110110"] == "Bank Account - USD" and accounts["401100"] == "Product Sales"
    groups = rows(tmp_path, "SELECT CUSTGROUP FROM CUSTGROUP WHERE DATAAREAID = 'gbsi' ORDER BY 1")
    assert [g for (g,) in groups] == ["10", "20", "30", "40", "80", "90"]
    assert rows(tmp_path, "SELECT COUNT(*) FROM VENDGROUP WHERE DATAAREAID = 'usmf'") == [(5,)]
    currency = rows(tmp_path, "SELECT L.ACCOUNTINGCURRENCY FROM LEDGER L JOIN DIRPARTYTABLE C ON C.RECID = "
                              "L.PRIMARYFORLEGALENTITY WHERE C.DATAAREA = 'gbsi'")
    assert currency == [("GBP",)]
    assert rows(tmp_path, "SELECT COUNT(*) FROM INVENTSUM WHERE AVAILPHYSICAL > 0")[0][0] > 0
    states = rows(tmp_path, "SELECT SUM(SETTLEAMOUNTCUR = AMOUNTCUR), SUM(SETTLEAMOUNTCUR = 0) FROM CUSTTRANS "
                            "WHERE AMOUNTCUR > 0")[0]
    assert all(states), "the seed has paid and open invoices"
    assert rows(tmp_path, "SELECT COUNT(*) FROM LEDGERJOURNALTABLE WHERE JOURNALNAME = 'GenJrn' AND POSTED = 1")[0][0]


def test_parties_are_gbsi_customers_and_vendors_with_kashflow_codes(tmp_path) -> None:
    SYSTEM.seed(tmp_path, {}, size=200, rng_seed=3, today=TODAY)
    parties = SYSTEM.parties(tmp_path)
    kinds = {party.kind for party in parties}
    assert kinds == {"customer", "supplier"}
    assert all(KASHFLOW_CODE.match(party.code) for party in parties)
    customer = next(p for p in parties if p.kind == "customer")
    assert customer.name and customer.address_lines and customer.postcode and customer.country in {"GB", "IE", "FR",
                                                                                                      "NL", "DE", "BE"}
    assert customer.currency in {"GBP", "EUR"} and "@" in customer.email
    gbsi = rows(tmp_path, "SELECT COUNT(*) FROM CUSTTABLE WHERE DATAAREAID = 'gbsi'")[0][0]
    assert len([p for p in parties if p.kind == "customer"]) == gbsi


def test_seed_takes_shared_parties_with_their_codes(tmp_path) -> None:
    shared = [SharedParty("SHA01", "Shared Customer Ltd", address_lines=["1 High St", "Bath"], postcode="BA1 1AA"),
              SharedParty("SUP01", "Shared Supplier Ltd", kind="supplier", country="IE", currency="EUR")]
    SYSTEM.seed(tmp_path, {}, size=20, rng_seed=1, today=TODAY, parties=shared)
    parties = {p.code: p for p in SYSTEM.parties(tmp_path)}
    assert parties["SHA01"].kind == "customer" and parties["SHA01"].address_lines == ["1 High St", "Bath"]
    assert parties["SUP01"].kind == "supplier" and parties["SUP01"].currency == "EUR"


def test_inspect_counts_without_an_app(tmp_path) -> None:
    SYSTEM.seed(tmp_path, {}, size=20, rng_seed=1, today=TODAY)
    state = SYSTEM.inspect(tmp_path)
    assert state["companies"] == ["GBSI", "USMF"] and state["custinvoicejour"] == 40 and state["unposted"] == 0
    assert SYSTEM.inspect(tmp_path / "nothing") == {}


def test_seeding_is_fast(tmp_path) -> None:
    started = time.perf_counter()
    counts = SYSTEM.seed(tmp_path, {}, size=5000, rng_seed=2, today=TODAY)
    elapsed = time.perf_counter() - started
    assert counts["custinvoicejour"] == 5500 and elapsed < 10, f"{elapsed:.2f}s"


class _KashflowStub:
    """Stands in for the Kashflow sandbox (another helper's) so the hub can create an AX instance."""

    name, label = "kashflow", "Kashflow"

    def __init__(self) -> None:
        self.parties: list[SharedParty] = []

    def new_credentials(self):
        return {"token": "t"}

    def seed(self, folder, credentials, *, size, rng_seed=0, parties=None):
        self.parties = list(parties or [])
        return {"customers": len(self.parties)}

    def parties(self, folder):
        return []

    def make_app(self, folder, credentials):  # pragma: no cover - not served in this test
        raise NotImplementedError

    def close_app(self, app):  # pragma: no cover
        pass

    def inspect(self, folder):
        return {}

    def connection_fields(self, root_url, folder, credentials):
        return {"base_url": root_url}


def test_the_hub_seeds_serves_and_faults_an_ax_instance(tmp_path) -> None:
    kashflow = _KashflowStub()
    hub = SandboxHub(tmp_path, {"dynamics_ax": SYSTEM, "kashflow": kashflow})
    instance = hub.create(erp="dynamics_ax", size=20, instance_id="acme-1", rng_seed=5)
    assert [p.code for p in kashflow.parties] == [p.code for p in SYSTEM.parties(hub.folder("acme-1") / "dynamics_ax")]
    try:
        with ServerThread(hub.mount("dynamics_ax")) as server:
            fields = hub.connection_fields(instance.id, {"dynamics_ax": server.url, "kashflow": "http://x"})
            ax = fields["dynamics_ax"]
            assert ax["base_url"].startswith(f"{server.url}/acme-1/MicrosoftDynamicsAXAif60/")
            client = AifClient(ax["base_url"], company=ax["settings"]["company"], username=ax["username"],
                               password=ax["password"], auth=ax["settings"]["auth"], timeout=10)
            assert client.read_customer("GB-0001")["AccountNum"] == "GB-0001"
            hub.set_faults("acme-1", "dynamics_ax", {"aos_unavailable": {"every": 1}})
            with pytest.raises(Exception, match="AOS"):
                client.create_customer({"CustGroup": "30", "DirParty": {"Name": "X"}}, message_id=str(uuid.uuid4()))
            state = hub.inspect("acme-1")["state"]["dynamics_ax"]
            assert state["faults"]["fired"] == {"aos_unavailable": 1} and state["counts"]["companies"] == ["GBSI",
                                                                                                          "USMF"]
    finally:
        hub.close()


def test_docs_list_every_known_difference() -> None:
    from pathlib import Path

    from integrations.dynamics_ax.sandbox.app import DIFFERENCES
    from integrations.dynamics_ax.sandbox.store import SIMPLIFICATIONS

    text = " ".join((Path(__file__).parents[2] / "docs/sandbox/dynamics-ax.md").read_text().split())
    missing = [item for item in DIFFERENCES + SIMPLIFICATIONS if " ".join(item.split()) not in text]
    assert missing == []
