"""Kashflow <-> Dynamics AX master data and stock (AX is master), proven against the sandboxes of the AX pair.

Each test drives the real pipeline (AX database over ODBC or AIF, Kashflow API) and then reads what the target
holds — the Kashflow sandbox's store, or the AX sandbox's tables — field by field, and checks that a second run
writes nothing.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from integrations.dynamics_ax.sandbox.seed import ISO2
from integrations.kashflow.sandbox.parties import CUSTOMER, SUPPLIER
from integrations.sync import pipeline
from integrations.sync.models import Binding, SyncRecord, SyncRun
from mapping.versions import publish, published_version
from tests.e2e.helpers import WorkerDied, run_inline

COMPANY = "gbsi"


@pytest.fixture
def flows(tenant, ax_pair, kashflow_sandbox, ax_sandbox):
    """The tenant wired to the AX pair exactly as "Start a sandbox integration" wires it, by flow key."""
    from integrations.sync.sandbox_setup import connect_sandbox

    return {f.key: f for f in connect_sandbox(instance_id=ax_pair.id, fields=ax_pair.fields).flows}


def kashflow_parties(store, kind) -> Counter:
    codes, page = Counter(), 1
    while True:
        result = store.list_parties(kind, page=page, perpage=100)
        codes.update(str(item["Code"]).upper() for item in result.items)
        if page * 100 >= result.total:
            return codes
        page += 1


def ax_parties(ax_store, table: str) -> dict[str, dict]:
    rows = ax_store.query(
        f"SELECT X.RECID, X.ACCOUNTNUM, X.PARTY, X.CURRENCY, X.VATNUM, P.NAME, P.PRIMARYADDRESSLOCATION, "  # noqa: S608
        f"P.PRIMARYCONTACTEMAIL, P.PRIMARYCONTACTPHONE FROM {table} X JOIN DIRPARTYTABLE P ON P.RECID = X.PARTY "
        "WHERE X.DATAAREAID = ?", (COMPANY,))
    return {row["ACCOUNTNUM"]: row for row in rows}


def postal(ax_store, location: int) -> dict:
    return ax_store.query("SELECT * FROM LOGISTICSPOSTALADDRESS WHERE LOCATION = ?", (location,))[0]


def locator(ax_store, recid: int) -> str:
    rows = ax_store.query("SELECT LOCATOR FROM LOGISTICSELECTRONICADDRESS WHERE RECID = ?", (recid,))
    return rows[0]["LOCATOR"] if rows else ""


# ---------------------------------------------------------------------- AX vendors -> Kashflow suppliers


def test_vendors_become_suppliers_once_field_by_field_and_a_second_run_does_nothing(flows, ax_sandbox,
                                                                                    kashflow_sandbox):
    flow, ax, kf = flows["ax_suppliers_to_kashflow"], ax_sandbox.store, kashflow_sandbox.store
    vendors = ax_parties(ax, "VENDTABLE")
    before = kashflow_parties(kf, SUPPLIER)
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    codes = kashflow_parties(kf, SUPPLIER)
    assert {a.upper() for a in vendors} <= set(codes) and set(codes.values()) == {1}
    assert run.records_posted == len(vendors)
    # Vendors AX generated (not seeded into Kashflow) were created; the shared ones were updated in place.
    assert sum(codes.values()) == sum(before.values()) + len({a.upper() for a in vendors} - set(before))
    assert Binding.objects.filter(entity="supplier").count() == len(vendors)

    for account, vendor in vendors.items():  # every supplier holds AX's values, field by field
        supplier = kf.get_party(SUPPLIER, account)
        address = postal(ax, vendor["PRIMARYADDRESSLOCATION"])
        assert supplier["Name"] == vendor["NAME"]
        assert (supplier["Address"]["Line1"], supplier["Address"]["Line2"], supplier["Address"]["PostCode"]) == (
            address["STREET"], address["CITY"], address["ZIPCODE"])
        assert supplier["Address"]["CountryCode"] == ISO2[address["COUNTRYREGIONID"]]
        assert supplier["Currency"]["Code"] == vendor["CURRENCY"]
        assert supplier["VatNumber"] == vendor["VATNUM"]
        if vendor["PRIMARYCONTACTEMAIL"]:
            primary = next(c for c in supplier["Contacts"] if c["IsPrimary"])
            assert primary["Email"] == locator(ax, vendor["PRIMARYCONTACTEMAIL"])
            assert primary["Telephone"] == locator(ax, vendor["PRIMARYCONTACTPHONE"])

    second = run_inline(flow)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 0 and second.target_calls == 0


def test_a_vendor_renamed_in_ax_overwrites_the_kashflow_supplier_with_a_warning(flows, ax_sandbox, kashflow_sandbox):
    flow, ax, kf = flows["ax_suppliers_to_kashflow"], ax_sandbox.store, kashflow_sandbox.store
    run_inline(flow)
    account = sorted(ax_parties(ax, "VENDTABLE"))[0]
    old_name = kf.get_party(SUPPLIER, account)["Name"]
    ax.update("DIRPARTYTABLE", ax_parties(ax, "VENDTABLE")[account]["PARTY"], {"NAME": "Renamed Vendor plc"})
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted == 1 and run.target_calls == 1
    assert kf.get_party(SUPPLIER, account)["Name"] == "Renamed Vendor plc"
    record = SyncRecord.objects.filter(flow=flow, source_id=account).latest("pk")
    assert any(old_name in w and "Renamed Vendor plc" in w for w in record.warnings), record.warnings
    assert run_inline(flow).target_calls == 0


# ---------------------------------------------------------------------- AX products and stock -> Kashflow


def ax_items(ax_store) -> dict[str, dict]:
    rows = ax_store.query(
        "SELECT I.ITEMID, I.ITEMTYPE, T.NAME, T.DESCRIPTION, M.PRICE, G.ITEMGROUPID FROM INVENTTABLE I "
        "JOIN ECORESPRODUCTTRANSLATION T ON T.PRODUCT = I.PRODUCT "
        "JOIN INVENTTABLEMODULE M ON M.ITEMID = I.ITEMID AND M.DATAAREAID = I.DATAAREAID AND M.MODULETYPE = 2 "
        "JOIN INVENTITEMGROUPITEM G ON G.ITEMID = I.ITEMID AND G.ITEMDATAAREAID = I.DATAAREAID "
        "WHERE I.DATAAREAID = ?", (COMPANY,))
    return {row["ITEMID"]: row for row in rows}


def on_hand(ax_store, item: str, column: str = "PHYSICALINVENT") -> Decimal:
    value = ax_store.scalar(f"SELECT SUM({column}) FROM INVENTSUM WHERE DATAAREAID = ? AND ITEMID = ? "  # noqa: S608
                            "AND CLOSED = 0", (COMPANY, item))
    return Decimal(str(value or 0))


def test_products_are_created_under_the_mapped_nominal_with_opening_stock(flows, ax_sandbox, kashflow_sandbox):
    flow, ax, kf = flows["ax_products_to_kashflow"], ax_sandbox.store, kashflow_sandbox.store
    rules = {**published_version(flow).rules, "product_nominals": {"Services": 4001}}
    publish(flow, rules, note="services on 4001")
    items = ax_items(ax)
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.records_posted == len(items)
    for item, row in items.items():
        nominal = 4001 if row["ITEMGROUPID"] == "Services" else 4000
        product = kf.get_product(nominal, item)
        assert product["Name"] == row["NAME"] and product["Description"] == row["DESCRIPTION"]
        assert Decimal(str(product["Price"])) == Decimal(str(row["PRICE"])).quantize(Decimal("0.01"))
        assert product["ManageStockLevel"] is (row["ITEMTYPE"] == 0)
        if row["ITEMTYPE"] == 0:
            assert product["QuantityInStock"] == int(on_hand(ax, item))
        assert Binding.objects.get(entity="product", source_id=item).external_id == f"{nominal}/{item}"
    second = run_inline(flow)
    assert second.records_posted == 0 and second.target_calls == 0


def test_a_price_and_name_change_in_ax_updates_the_kashflow_product(flows, ax_sandbox, kashflow_sandbox):
    flow, ax, kf = flows["ax_products_to_kashflow"], ax_sandbox.store, kashflow_sandbox.store
    run_inline(flow)
    priced, renamed = sorted(i for i, r in ax_items(ax).items() if r["ITEMTYPE"] == 0)[:2]
    quantity = kf.get_product(4000, priced)["QuantityInStock"]
    ax.execute("UPDATE INVENTTABLEMODULE SET PRICE = 321.5, MODIFIEDDATETIME = ? WHERE DATAAREAID = ? AND "
               "ITEMID = ? AND MODULETYPE = 2", ("2099-01-01 00:00:00.000", COMPANY, priced))
    product = ax.scalar("SELECT PRODUCT FROM INVENTTABLE WHERE DATAAREAID = ? AND ITEMID = ?", (COMPANY, renamed))
    ax.execute("UPDATE ECORESPRODUCTTRANSLATION SET NAME = 'Renamed in AX', MODIFIEDDATETIME = ? WHERE PRODUCT = ?",
               ("2099-01-01 00:00:00.000", product))
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted == 2 and run.target_calls == 2
    assert Decimal(str(kf.get_product(4000, priced)["Price"])) == Decimal("321.5")
    assert kf.get_product(4000, priced)["QuantityInStock"] == quantity  # stock is the stock flow's business
    assert kf.get_product(4000, renamed)["Name"] == "Renamed in AX"
    record = SyncRecord.objects.filter(flow=flow, source_id=priced).latest("pk")
    assert any("Price" in w and "321.5" in w for w in record.warnings), record.warnings
    assert run_inline(flow).target_calls == 0


def test_stock_is_sent_only_when_the_on_hand_quantity_changes(flows, ax_sandbox, kashflow_sandbox):
    products, stock = flows["ax_products_to_kashflow"], flows["ax_stock_to_kashflow"]
    ax, kf = ax_sandbox.store, kashflow_sandbox.store
    early = run_inline(stock)  # before the products exist in Kashflow: nothing to set, nothing lost
    assert early.status == SyncRun.Status.SUCCEEDED and early.target_calls == 0 and early.records_posted == 0
    assert SyncRecord.objects.filter(flow=stock, status=SyncRecord.Status.SKIPPED,
                                     last_error__contains="no product").exists()
    run_inline(products)
    first = run_inline(stock)  # the products were created with their stock: nothing to change
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    assert first.records_posted == 0 and first.target_calls == 0

    moved, reserved = sorted(i for i, r in ax_items(ax).items() if r["ITEMTYPE"] == 0)[:2]
    ax.execute("UPDATE INVENTSUM SET PHYSICALINVENT = PHYSICALINVENT + 7, AVAILPHYSICAL = AVAILPHYSICAL + 7, "
               "MODIFIEDDATETIME = ? WHERE DATAAREAID = ? AND ITEMID = ? AND INVENTDIMID = '00001'",
               ("2099-01-01 00:00:00.000", COMPANY, moved))
    # A reservation changes the row but not the physical quantity on hand: nothing to send.
    ax.execute("UPDATE INVENTSUM SET RESERVPHYSICAL = RESERVPHYSICAL + 1, MODIFIEDDATETIME = ? WHERE "
               "DATAAREAID = ? AND ITEMID = ?", ("2099-01-01 00:00:00.000", COMPANY, reserved))
    run = run_inline(stock)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.records_posted == 1 and run.target_calls == 1
    assert kf.get_product(4000, moved)["QuantityInStock"] == int(on_hand(ax, moved))
    assert kf.get_product(4000, reserved)["QuantityInStock"] == int(on_hand(ax, reserved))
    assert Binding.objects.get(entity="stock_level", source_id=moved).external_id == f"4000/{moved}"
    assert run_inline(stock).target_calls == 0


# ---------------------------------------------------------------------- Kashflow parties -> new AX parties


def test_a_customer_created_in_kashflow_is_created_in_ax_once(flows, ax_sandbox, kashflow_sandbox):
    flow, ax, kf = flows["kashflow_customers_to_ax"], ax_sandbox.store, kashflow_sandbox.store
    before = ax_parties(ax, "CUSTTABLE")
    kf.create_party(CUSTOMER, {
        "Code": "KFNEW1", "Name": "Walk In Traders Ltd", "Email": "ap@walkin.example", "TelephoneNumber": "0113 555",
        "Currency": {"Code": "EUR"}, "Addresses": [{"Line1": "4 Quay Street", "Line2": "Unit 2", "Line3": "Dublin",
                                                     "PostCode": "D02 XY45", "CountryCode": "IE"}]})
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.records_posted == 1 and run.target_calls == 1  # every other Kashflow customer is AX's already
    after = ax_parties(ax, "CUSTTABLE")
    assert set(after) - set(before) == {"KFNEW1"}
    row = after["KFNEW1"]
    assert (row["NAME"], row["CURRENCY"]) == ("Walk In Traders Ltd", "EUR")
    assert ax.scalar("SELECT CUSTGROUP FROM CUSTTABLE WHERE RECID = ?", (row["RECID"],)) == "30"
    address = postal(ax, row["PRIMARYADDRESSLOCATION"])
    assert (address["STREET"], address["CITY"], address["ZIPCODE"], address["COUNTRYREGIONID"]) == (
        "4 Quay Street\nUnit 2", "Dublin", "D02 XY45", "IRL")
    assert locator(ax, row["PRIMARYCONTACTEMAIL"]) == "ap@walkin.example"
    assert locator(ax, row["PRIMARYCONTACTPHONE"]) == "0113 555"
    assert Binding.objects.get(entity="customer", source_id="KFNEW1", connection__system="dynamics_ax"
                               ).external_id == "KFNEW1"

    # No echo: AX -> Kashflow writes the new account back under its code, and this flow leaves AX alone.
    run_inline(flows["ax_customers_to_kashflow"])
    again = run_inline(flow)
    assert again.status == SyncRun.Status.SUCCEEDED and again.target_calls == 0
    assert ax_parties(ax, "CUSTTABLE").keys() == after.keys()


def test_an_existing_ax_customer_is_never_overwritten_from_kashflow(flows, ax_sandbox, kashflow_sandbox):
    flow, ax, kf = flows["kashflow_customers_to_ax"], ax_sandbox.store, kashflow_sandbox.store
    run_inline(flow)
    account = sorted(set(ax_parties(ax, "CUSTTABLE")) & {c for c in kashflow_parties(kf, CUSTOMER)})[0]
    name = ax_parties(ax, "CUSTTABLE")[account]["NAME"]
    customer = kf.get_customer(account)
    kf.update_party(CUSTOMER, account, {**customer, "Name": "Changed In Kashflow Ltd"})
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED and run.target_calls == 0 and run.records_posted == 0
    assert ax_parties(ax, "CUSTTABLE")[account]["NAME"] == name
    record = SyncRecord.objects.filter(flow=flow, source_id=account).latest("pk")
    assert record.status == SyncRecord.Status.SKIPPED
    assert any("Changed In Kashflow Ltd" in w and name in w for w in record.warnings), record.warnings


def test_a_supplier_created_in_kashflow_becomes_an_ax_vendor_and_bad_data_lands_in_the_inbox(
        flows, ax_sandbox, kashflow_sandbox):
    flow, ax, kf = flows["kashflow_suppliers_to_ax"], ax_sandbox.store, kashflow_sandbox.store
    kf.create_party(SUPPLIER, {"Code": "KFSUP1", "Name": "Fresh Paper Co", "VatNumber": "GB123456789",
                               "Address": {"Line1": "9 Mill Lane", "Line2": "Leeds", "PostCode": "LS2 7AB",
                                           "CountryCode": "GB"},
                               "Contacts": [{"Name": "Ann", "Email": "ann@fresh.example", "IsPrimary": True}]})
    kf.create_party(SUPPLIER, {"Code": "KFSUP2", "Name": "Far Away Pty", "Address": {
        "Line1": "1 Long Road", "Line2": "Perth", "PostCode": "WA 6000 EXTRA LONG", "CountryCode": "AU"}})
    run = run_inline(flow)
    assert run.records_posted == 1 and run.records_failed == 1
    vendor = ax_parties(ax, "VENDTABLE")["KFSUP1"]
    assert (vendor["NAME"], vendor["VATNUM"]) == ("Fresh Paper Co", "GB123456789")
    assert ax.scalar("SELECT VENDGROUP FROM VENDTABLE WHERE RECID = ?", (vendor["RECID"],)) == "10"
    address = postal(ax, vendor["PRIMARYADDRESSLOCATION"])
    assert (address["STREET"], address["CITY"], address["ZIPCODE"], address["COUNTRYREGIONID"]) == (
        "9 Mill Lane", "Leeds", "LS2 7AB", "GBR")
    assert locator(ax, vendor["PRIMARYCONTACTEMAIL"]) == "ann@fresh.example"
    failed = SyncRecord.objects.get(flow=flow, source_id="KFSUP2")
    assert failed.status == SyncRecord.Status.FAILED and failed.error_code == "invalid_value"
    assert "WA 6000 EXTRA LONG" in failed.last_error
    assert "KFSUP2" not in ax_parties(ax, "VENDTABLE")
    assert run_inline(flow).target_calls == 0


def test_a_create_whose_answer_was_lost_is_resolved_by_its_message_id(flows, ax_sandbox, kashflow_sandbox,
                                                                       monkeypatch):
    flow, ax, kf = flows["kashflow_customers_to_ax"], ax_sandbox.store, kashflow_sandbox.store
    run_inline(flow)
    kf.create_party(CUSTOMER, {"Code": "KFCRASH", "Name": "Crash Course Ltd", "Addresses": [
        {"Line1": "1 Fall Street", "Line2": "York", "PostCode": "YO1 1AA", "CountryCode": "GB"}]})

    def die(at: str) -> None:
        if at == "send":
            raise WorkerDied(at)  # AX committed the create; the answer was never bound

    monkeypatch.setattr(pipeline, "crash_hook", die)
    with pytest.raises(WorkerDied):
        run_inline(flow)
    assert "KFCRASH" in ax_parties(ax, "CUSTTABLE")
    assert SyncRecord.objects.filter(flow=flow, source_id="KFCRASH").exclude(message_id="").exists()

    monkeypatch.setattr(pipeline, "crash_hook", None)
    resumed = run_inline(flow)  # the same MessageId again: AX answers DuplicateMessage, the account is read
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.message
    assert resumed.records_posted == 1
    assert Counter(a.upper() for a in ax_parties(ax, "CUSTTABLE"))["KFCRASH"] == 1
    assert Binding.objects.get(entity="customer", source_id="KFCRASH", connection__system="dynamics_ax"
                               ).external_id == "KFCRASH"
    assert run_inline(flow).target_calls == 0


def test_a_changed_nominal_mapping_moves_the_product_instead_of_duplicating_it(flows, ax_sandbox, kashflow_sandbox):
    flow, ax, kf = flows["ax_products_to_kashflow"], ax_sandbox.store, kashflow_sandbox.store
    run_inline(flow)
    item = sorted(i for i, r in ax_items(ax).items() if r["ITEMTYPE"] == 0)[0]
    quantity = kf.get_product(4000, item)["QuantityInStock"]
    publish(flow, {**published_version(flow).rules, "product_nominals": {item: 4002}}, note="move one item")
    # The new mapping applies as the item next changes in AX (here: its description).
    product = ax.scalar("SELECT PRODUCT FROM INVENTTABLE WHERE DATAAREAID = ? AND ITEMID = ?", (COMPANY, item))
    ax.execute("UPDATE ECORESPRODUCTTRANSLATION SET DESCRIPTION = 'Now on 4002', MODIFIEDDATETIME = ? WHERE "
               "PRODUCT = ?", ("2099-01-01 00:00:00.000", product))
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted == 1, run.message
    moved = kf.get_product(4002, item)
    assert moved["QuantityInStock"] == quantity and moved["Description"] == "Now on 4002"
    with pytest.raises(Exception, match="not found"):
        kf.get_product(4000, item)
    assert Binding.objects.get(entity="product", source_id=item).external_id == f"4002/{item}"
