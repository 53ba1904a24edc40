"""VendTableService (vendors flow both ways) and ItemService (released products) through the zeep client."""

from __future__ import annotations

import uuid

import pytest
from lxml import etree

from integrations.core.errors import DuplicateError, IntegrityError, NotFoundError
from integrations.dynamics_ax import wsdl as axwsdl
from integrations.dynamics_ax.aif_documents import Criterion

from .soap import call, keys


def mid() -> str:
    return str(uuid.uuid4())


def test_vendor_create_read_find_update_delete(aif, instance) -> None:
    message_id = mid()
    account = aif.create_vendor({
        "VendGroup": "20", "Currency": "GBP", "VATNum": "GB987654321",
        "DirParty": {"Name": "Sussex Print Supplies Ltd",
                     "DirPartyPostalAddressView": [{"Street": "4 Mill Lane", "City": "Lewes", "ZipCode": "BN7 2AA",
                                                    "CountryRegionId": "GBR"}]},
    }, message_id=message_id)
    assert account.startswith("GBV-")
    with pytest.raises(DuplicateError):
        aif.create_vendor({"VendGroup": "20", "DirParty": {"Name": "Again"}}, message_id=message_id)
    vendor = aif.read_vendor(account)
    assert vendor["VendGroup"] == "20" and vendor["DirParty"][0]["Name"] == "Sussex Print Supplies Ltd"
    assert "CreditMax" not in vendor and "CustGroup" not in vendor
    assert account in aif.find_vendor_keys([Criterion("VendTable", "VendGroup", "20")])
    assert [v["AccountNum"] for v in aif.find_vendors([Criterion("DirParty", "Name", "Sussex Print*")])] == [account]
    aif.update_vendor(account, {"PaymTermId": "Net45"}, message_id=mid(), document_hash=vendor["_DocumentHash"])
    assert aif.read_vendor(account)["PaymTermId"] == "Net45"
    aif.delete_vendor(account, message_id=mid())
    with pytest.raises(NotFoundError):
        aif.read_vendor(account)
    assert instance.store.scalar("SELECT COUNT(*) FROM VENDTABLE WHERE ACCOUNTNUM = ?", (account,)) == 0


def test_vendor_group_must_exist(aif) -> None:
    with pytest.raises(IntegrityError) as info:
        aif.create_vendor({"VendGroup": "77", "DirParty": {"Name": "X"}}, message_id=mid())
    assert info.value.details == ["The value '77' in field 'Vendor group' is not found in the relating table "
                                  "'Vendor groups'."]


def test_read_vendor_document_is_schema_valid(instance) -> None:
    response = call(instance, "VendTableService", "read", keys("AccountNum", "GBV-0001"), message_id=None)
    assert response.status_code == 200
    vendor = etree.fromstring(response.content).find(f".//{{{axwsdl.document_ns('Vendor')}}}Vendor")
    assert axwsdl.document_schema("Vendor").validate(etree.fromstring(etree.tostring(vendor)))


def test_item_read_find_and_find_keys(aif, instance) -> None:
    item = aif.read_item("D0001")
    assert item["ItemId"] == "D0001" and item["ItemType"] == "Item" and item["Product"] == "D0001"
    assert item["EcoResProductTranslation"][0]["Name"].endswith("stereo amplifier")
    assert item["InventItemGroupItem"][0]["ItemGroupId"] == "Audio"
    modules = {m["ModuleType"]: m for m in item["InventTableModule"]}
    assert set(modules) == {"Invent", "Purch", "Sales"} and modules["Sales"]["Price"] > modules["Purch"]["Price"]
    services = aif.find_item_keys([Criterion("InventTable", "ItemType", "Service")])
    assert services and all(i.startswith("S") for i in services)
    found = aif.find_items([Criterion("InventItemGroupItem", "ItemGroupId", "Cables")])
    assert found and {i["InventItemGroupItem"][0]["ItemGroupId"] for i in found} == {"Cables"}
    expected = [row["ITEMID"] for row in instance.store.query(
        "SELECT ITEMID FROM INVENTTABLE WHERE DATAAREAID = 'gbsi' AND ITEMID LIKE 'T%' ORDER BY ITEMID")]
    assert aif.find_item_keys([Criterion("InventTable", "ItemId", "T*")]) == expected
    with pytest.raises(NotFoundError):
        aif.read_item("NO-SUCH-ITEM")


def test_item_service_is_read_only(instance) -> None:
    response = call(instance, "ItemService", "create", "<Item/>")
    assert response.status_code == 500 and "ActionNotSupported" in response.text
