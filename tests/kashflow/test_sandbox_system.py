"""Kashflow sandbox seeding (realistic, deterministic, scalable) and the SYSTEM object the control plane drives."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from integrations.core.sandbox import SharedParty
from integrations.core.wsgi import Mount, ServerThread
from integrations.kashflow.client import KashflowClient
from integrations.kashflow.sandbox import SEED_NOMINAL_CODES, SYSTEM, ManualClock, Store, seed
from integrations.kashflow.sandbox.documents import INVOICE, PURCHASE
from integrations.kashflow.sandbox.seed import scale

from .conftest import TODAY


def everything(store: Store, kind: str) -> list[dict]:
    lister = store.list_documents(INVOICE if kind == "invoices" else PURCHASE, page=1, perpage=100_000)
    return lister.items


def test_seed_is_deterministic_for_a_seed_number(clock: ManualClock) -> None:
    a, b, c = Store(clock=clock), Store(clock=clock), Store(clock=clock)
    seed(a, rng_seed=7, today=TODAY, invoices=200, customers=20)
    seed(b, rng_seed=7, today=TODAY, invoices=200, customers=20)
    seed(c, rng_seed=8, today=TODAY, invoices=200, customers=20)
    assert a.get_invoice(123) == b.get_invoice(123) != c.get_invoice(123)
    assert a.get_document(PURCHASE, 17) == b.get_document(PURCHASE, 17)
    assert a.list_customers(page=1, perpage=50) == b.list_customers(page=1, perpage=50)


def test_seeded_account_looks_like_a_uk_small_business(clock: ManualClock) -> None:
    store = Store(clock=clock)
    summary = seed(store, rng_seed=7, today=TODAY, invoices=400, customers=30)
    assert summary["invoices"] == 400 and summary["customers"] == 30 and summary["username"]
    invoices = everything(store, "invoices")
    lines = [line for inv in invoices for line in inv["LineItems"]]
    assert {line["NominalCode"] for line in lines} <= set(SEED_NOMINAL_CODES)
    levels = {(line["VATExempt"], int(line["VATLevel"])) for line in lines}
    assert {(False, 20), (False, 5), (False, 0), (True, 0)} <= levels
    assert all(line["ProductCode"] and line["ProductName"] for line in lines)
    assert summary["paid"] + summary["part_paid"] + summary["unpaid"] == 400
    assert summary["part_paid"] >= 10 and summary["unpaid"] >= 20 and summary["paid"] >= 200
    old = [i for i in invoices if i["IssuedDate"][:10] < (TODAY - timedelta(days=90)).isoformat()]
    recent = [i for i in invoices if i["IssuedDate"][:10] > (TODAY - timedelta(days=14)).isoformat()]
    assert sum(i["Status"] == "Paid" for i in old) / len(old) > 0.75  # old bills are mostly settled
    assert sum(i["Status"] == "Paid" for i in recent) / len(recent) < 0.5  # recent ones mostly open
    assert {i["IssuedDate"][:7] for i in invoices} >= {"2025-01", "2025-03", "2025-06"}  # spread over months
    for inv in invoices:
        assert Decimal(inv["GrossAmount"]) == Decimal(inv["NetAmount"]) + Decimal(inv["VATAmount"])
        assert Decimal(inv["TotalPaidAmount"]) <= Decimal(inv["GrossAmount"])


def test_seeded_purchases_products_journals_and_bank(clock: ManualClock) -> None:
    store = Store(clock=clock)
    counts = seed(store, rng_seed=2, today=TODAY, invoices=300)
    assert counts["purchases"] == scale(300)["purchases"] and counts["products"] == 21 and counts["journals"] == 12
    purchases = everything(store, "purchases")
    rent = [p for p in purchases if p["SupplierName"] == "Harbourside Estates"]
    assert len(rent) == 6 and all(Decimal(p["NetAmount"]) == 1450 for p in rent)  # monthly overheads
    assert any(line.get("StockInfo") for p in purchases for line in p["LineItems"])
    assert {p["Status"] for p in purchases} == {"Paid", "Unpaid"}
    assert any(p["Currency"]["Code"] == "EUR" for p in purchases)
    stocked = [p for p in store.list_products(page=1, perpage=100).items if p["ManageStockLevel"]]
    assert stocked and all(p["QuantityInStock"] > 0 for p in stocked)
    assert store.get_bank_account(1)["IsDefaultAccount"] is True


def test_sizes_scale_with_the_number_of_invoices() -> None:
    small, large = scale(20), scale(100_000)
    assert small == {"months": 6, "customers": 12, "suppliers": 15, "purchases": 48, "products": 21}
    assert large["months"] == 24 and large["customers"] == 4000 and large["purchases"] == 20_000
    assert large["suppliers"] > small["suppliers"] and large["products"] > small["products"]


def test_seed_at_a_few_thousand_invoices(tmp_path: Path) -> None:
    counts = SYSTEM.seed(tmp_path, SYSTEM.new_credentials(), size=3000, rng_seed=4)
    assert counts["invoices"] == 3000 and counts["customers"] == 250 and counts["purchases"] == 600
    assert counts["products"] == 23 and counts["payments"] > 2500


# --------------------------------------------------------------------------- SYSTEM


PARTIES = [
    SharedParty(code="US-001", name="Contoso Retail Seattle", address_lines=["123 Coffee Street", "Suite 300",
                "Redmond"], postcode="98052", country="US", currency="USD", email="ap@contoso.test"),
    SharedParty(code="GBSI-000123456789012345", name="Fabrikam UK Ltd", address_lines=["1 Long Lane", "London"],
                postcode="SE1 4PG", currency="GBP"),
    SharedParty(code="V-100", name="Northwind Traders", kind="supplier", address_lines=["7 Wharf Road", "Leeds"],
                postcode="LS1 4AP", phone="0113 496 0000"),
]


def test_new_credentials_are_fresh_and_usable() -> None:
    a, b = SYSTEM.new_credentials(), SYSTEM.new_credentials()
    assert set(a) == {"username", "password", "memorable_word"} and a != b
    assert len(a["password"]) >= 20 and len(a["memorable_word"]) >= 8 and a["memorable_word"].isalpha()


def test_seed_uses_the_erps_parties(tmp_path: Path) -> None:
    counts = SYSTEM.seed(tmp_path, SYSTEM.new_credentials(), size=40, rng_seed=1, parties=PARTIES)
    assert counts["customers"] == 2 and counts["suppliers"] == 1 and counts["invoices"] == 40
    store = Store(str(tmp_path / "kashflow.sqlite3"))
    contoso = store.get_customer("US-001")
    assert contoso["Name"] == "Contoso Retail Seattle" and contoso["Currency"]["Code"] == "USD"
    assert contoso["Addresses"][0]["Line1"] == "123 Coffee Street" and contoso["Addresses"][0]["CountryCode"] == "US"
    fabrikam = store.list_customers(page=1, perpage=10, searchtext="Fabrikam").items[0]
    assert fabrikam["Code"] == "FABR01"  # the ERP code does not fit Kashflow's 20 characters
    assert {i["CustomerCode"] for i in everything(store, "invoices")} == {"US-001", "FABR01"}
    store.close()
    shared = SYSTEM.parties(tmp_path)
    assert [(p.code, p.name, p.kind) for p in shared] == [("US-001", "Contoso Retail Seattle", "customer"),
                                                          ("FABR01", "Fabrikam UK Ltd", "customer"),
                                                          ("V-100", "Northwind Traders", "supplier")]
    assert shared[0].address_lines == ["123 Coffee Street", "Suite 300", "Redmond"] and shared[0].postcode == "98052"
    assert shared[2].phone == "0113 496 0000"


def test_parties_inspect_and_connection_fields(tmp_path: Path) -> None:
    creds = SYSTEM.new_credentials()
    SYSTEM.seed(tmp_path, creds, size="tiny", rng_seed=3)
    info = SYSTEM.inspect(tmp_path)
    assert info["invoices"] == 20 and info["customers"] == 12 and info["locked_users"] == []
    assert len([p for p in SYSTEM.parties(tmp_path) if p.kind == "customer"]) == 12
    fields = SYSTEM.connection_fields("http://127.0.0.1:8701/acme-1", tmp_path, creds)
    assert fields == {"base_url": "http://127.0.0.1:8701/acme-1/v2", "username": creds["username"],
                      "password": creds["password"], "memorable_word": creds["memorable_word"], "settings": {}}
    with pytest.raises(FileNotFoundError):
        SYSTEM.inspect(tmp_path / "missing")


def test_an_instance_served_under_a_prefix_works_with_the_production_client(tmp_path: Path) -> None:
    creds = SYSTEM.new_credentials()
    SYSTEM.seed(tmp_path, creds, size=120, rng_seed=5)
    app = SYSTEM.make_app(tmp_path, creds)
    try:
        with ServerThread(Mount(lambda name: app if name == "acme-1" else None)) as server:
            fields = SYSTEM.connection_fields(f"{server.url}/acme-1", tmp_path, creds)
            with KashflowClient(fields["base_url"], fields["username"], fields["password"], fields["memorable_word"],
                                timeout=5) as client:
                assert client.check() == "Inkwell & Grain Design Studio Ltd"
                assert len(list(client.list_invoices(perpage=25))) == 120
                app.faults.set({"expire_sessions": {"times": 1}})
                assert client.metadata()["TotalInvoiceCount"] == 120
    finally:
        SYSTEM.close_app(app)
    assert SYSTEM.inspect(tmp_path)["sessions"] == 0  # the client logged out


def test_seeding_is_date_relative(tmp_path: Path) -> None:
    SYSTEM.seed(tmp_path, SYSTEM.new_credentials(), size=30, rng_seed=1)
    store = Store(str(tmp_path / "kashflow.sqlite3"))
    newest = everything(store, "invoices")[-1]["IssuedDate"][:10]
    assert date.fromisoformat(newest) >= date.today() - timedelta(days=30)
    store.close()
