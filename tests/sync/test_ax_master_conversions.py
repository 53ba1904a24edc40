"""Kashflow <-> AX master data: the pure conversions and mapping rules (no sandboxes)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.core.canonical import Party, Product, StructuredAddress
from integrations.core.errors import TargetValidationError
from integrations.dynamics_ax.adapter import party_create_document, party_from_row, product_from_row
from integrations.kashflow.adapter import party_to_canonical, structured_address
from integrations.sync.flows.ax_parties import CUSTOMERS, SUPPLIERS, as_party, kashflow_party
from integrations.sync.flows.ax_products_to_kashflow import kashflow_product, nominal_for, whole_quantity
from integrations.sync.flows.kashflow_parties import differences, merged
from integrations.sync.flows.kashflow_parties_to_ax import ax_account, ax_party_document, party_conflicts

VENDOR_ROW = {"ACCOUNTNUM": "V-0001", "NAME": "Harbour Parts Ltd", "STREET": "12 Dock Road\nUnit 4", "CITY": "Hull",
              "STATE": "", "ZIPCODE": "HU1 2AB", "COUNTRYREGIONID": "GBR", "EMAIL": "ap@harbour.example",
              "PHONE": "+44 1482 100", "CURRENCY": "gbp", "GROUPID": "10", "VATNUM": "GB123", "BLOCKED": 0}


def test_an_ax_vendor_becomes_a_kashflow_supplier_document():
    party = party_from_row(VENDOR_ROW, "supplier")
    assert party.address.country_code == "GB" and party.currency == "GBP"
    document = kashflow_party(party, {}, SUPPLIERS)
    assert document == {
        "Code": "V-0001", "Name": "Harbour Parts Ltd",
        "Address": {"Line1": "12 Dock Road", "Line2": "Unit 4", "Line3": "Hull", "Line4": None, "PostCode": "HU1 2AB",
                    "CountryCode": "GB"},
        "Currency": {"Code": "GBP"}, "VatNumber": "GB123",
        "Contacts": [{"Name": "Harbour Parts Ltd", "IsPrimary": True, "Email": "ap@harbour.example",
                      "Telephone": "+44 1482 100"}],
    }


def test_supplier_merge_keeps_the_contact_name_and_reports_what_ax_overwrites():
    document = kashflow_party(party_from_row(VENDOR_ROW, "supplier"), {}, SUPPLIERS)
    existing = {"Code": "V-0001", "Name": "Harbour Parts", "Currency": {"Code": "GBP"}, "VatNumber": "GB123",
                "Address": {"Line1": "12 Dock Road", "Line2": "Unit 4", "Line3": "Hull", "PostCode": "HU1 2AB",
                            "CountryCode": "GB", "CountryName": "United Kingdom"},
                "Contacts": [{"Name": "Jo", "IsPrimary": True, "Email": "old@harbour.example", "Telephone": ""}],
                "BankAccount": {"Number": "123"}}
    assert differences(SUPPLIERS, existing, document) == [
        ("Name", "Harbour Parts", "Harbour Parts Ltd"),
        ("Email", "old@harbour.example", "ap@harbour.example"),
        ("Telephone", None, "+44 1482 100"),
    ]
    out = merged(SUPPLIERS, existing, document)
    assert out["Contacts"] == [{"Name": "Jo", "IsPrimary": True, "Email": "ap@harbour.example",
                                "Telephone": "+44 1482 100"}]
    assert out["BankAccount"] == {"Number": "123"} and "CountryName" not in out["Address"]
    assert differences(SUPPLIERS, out, document) == []


def test_customer_documents_are_unchanged_by_the_shared_base_and_read_old_records():
    legacy = {"source_id": "C1", "account": "C1", "name": "Old Shape Ltd", "currency": "GBP", "blocked": 0,
              "address": {"street": "1 Road", "city": "Leeds", "state": "", "postcode": "LS1", "country": "GBR"},
              "email": "", "phone": ""}
    document = kashflow_party(as_party(legacy, "customer"), {}, CUSTOMERS)
    assert document["Addresses"][0]["Line2"] == "Leeds" and document["Addresses"][0]["CountryCode"] == "GB"
    assert "Email" not in document and "VatNumber" not in document


def test_an_unmapped_ax_country_fails_naming_it():
    party = party_from_row({**VENDOR_ROW, "COUNTRYREGIONID": "XKX"}, "supplier")
    with pytest.raises(TargetValidationError, match="XKX") as error:
        kashflow_party(party, {}, SUPPLIERS)
    assert error.value.code == "mapping_missing"
    assert kashflow_party(party, {"countries": {"XKX": "XK"}}, SUPPLIERS)["Address"]["CountryCode"] == "XK"


@pytest.mark.parametrize(("lines", "expected"), [
    (["1 High St", "Leeds"], ("1 High St", "Leeds", "")),
    (["1 High St", "Unit 2", "Leeds"], ("1 High St\nUnit 2", "Leeds", "")),
    (["1 Main St", "Seattle", "WA"], ("1 Main St", "Seattle", "WA")),
    (["Only line"], ("Only line", "", "")),
])
def test_kashflow_address_lines_are_read_as_street_town_and_state(lines, expected):
    address = structured_address({**{f"Line{n}": line for n, line in enumerate(lines, start=1)},
                                  "PostCode": " LS1 ", "CountryCode": "gb"})
    assert (address.street, address.city, address.county) == expected
    assert (address.zip_code, address.country_code) == ("LS1", "GB")


def test_a_kashflow_customer_becomes_an_aif_create_document():
    party = party_to_canonical({"Code": "KF1", "Name": "Walk In Ltd", "Email": "a@b.example", "VATNumber": "IE9",
                                "Currency": {"Code": "EUR"},
                                "Addresses": [{"Line1": "4 Quay St", "Line2": "Dublin", "PostCode": "D02",
                                               "CountryCode": "IE"}]}, "customer")
    document = ax_party_document(party, {}, account=ax_account(party, {}), group="30")
    assert document == {
        "AccountNum": "KF1", "Currency": "EUR", "CustGroup": "30", "VATNum": "IE9",
        "DirParty": {"Name": "Walk In Ltd",
                     "DirPartyPostalAddressView": [{"City": "Dublin", "CountryRegionId": "IRL", "IsPrimary": "Yes",
                                                    "Roles": "Business", "Street": "4 Quay St", "ZipCode": "D02"}],
                     "DirPartyContactInfoView": [{"IsPrimary": "Yes", "LocationName": "Email",
                                                  "Locator": "a@b.example", "Type": "Email"}]},
    }


@pytest.mark.parametrize(("change", "code", "named"), [
    ({"address": StructuredAddress(zip_code="WA 6000 EXTRA")}, "invalid_value", "WA 6000 EXTRA"),
    ({"address": StructuredAddress(country_code="ZZ")}, "mapping_missing", "ZZ"),
    ({"name": "N" * 101}, "invalid_value", "N" * 101),
])
def test_what_ax_would_truncate_or_cannot_map_fails_the_record(change, code, named):
    party = Party(**{"source_system": "kashflow", "source_id": "S1", "kind": "supplier", "code": "S1",
                     "name": "Fine", **change})
    with pytest.raises(TargetValidationError) as error:
        ax_party_document(party, {}, account="S1", group="10")
    assert error.value.code == code and named in str(error.value)
    vendor = ax_party_document(Party(source_system="kashflow", source_id="S1", kind="supplier", code="S1",
                                     name="Fine"), {}, account="S1", group="10")
    assert vendor["VendGroup"] == "10" and "DirPartyPostalAddressView" not in vendor["DirParty"]


def test_a_kashflow_code_too_long_for_an_ax_account_must_be_mapped():
    party = Party(source_system="kashflow", source_id="X", kind="customer", code="C" * 21, name="Long")
    with pytest.raises(TargetValidationError, match="code_map"):
        ax_account(party, {})
    assert ax_account(party, {"code_map": {"C" * 21: "C-SHORT"}}) == "C-SHORT"
    assert party_create_document(party, account="C-SHORT", group="30")["CustGroup"] == "30"


def test_conflicts_compare_an_aif_read_with_the_kashflow_party():
    existing = {"AccountNum": "C1", "Currency": "GBP", "DirParty": [{"Name": "AX Name Ltd",
                "DirPartyPostalAddressView": [{"IsPrimary": "Yes", "Street": "1 Road", "City": "Leeds",
                                               "ZipCode": "LS1", "CountryRegionId": "GBR"}]}]}
    party = Party(source_system="kashflow", source_id="C1", kind="customer", code="C1", name="KF Name Ltd",
                  address=StructuredAddress(street="1 Road", city="Leeds", zip_code="LS1", country_code="GB"),
                  currency="GBP")
    assert party_conflicts(existing, party) == [("name", "AX Name Ltd", "KF Name Ltd")]


def test_products_find_their_nominal_by_item_then_group_then_default():
    product = product_from_row({"ITEMID": "S0009", "NAME": "Install", "DESCRIPTION": "Install (Services)",
                                "ITEMGROUPID": "Services", "SALESPRICE": 120.5, "ITEMTYPE": 2})
    assert not product.stock_managed and product.sales_price == Decimal("120.5")
    assert nominal_for(product, {"default_nominal": 4000}) == 4000
    assert nominal_for(product, {"product_nominals": {"services": 4001}, "default_nominal": 4000}) == 4001
    assert nominal_for(product, {"product_nominals": {"S0009": "4002", "Services": 4001}}) == 4002
    with pytest.raises(TargetValidationError, match="S0009") as error:
        nominal_for(product, {"default_nominal": ""})
    assert error.value.code == "mapping_missing"
    with pytest.raises(TargetValidationError, match="abc") as error:
        nominal_for(product, {"default_nominal": "abc"})
    assert error.value.code == "invalid_value"
    assert kashflow_product(product, {"default_nominal": 4000}) == {
        "Code": "S0009", "Name": "Install", "NominalCode": 4000, "Description": "Install (Services)",
        "ManageStockLevel": False, "Price": 120.5}


def test_a_product_code_kashflow_cannot_take_fails_naming_it():
    product = Product(source_system="dynamics_ax", source_id="A/B", code="A/B", name="Slash")
    with pytest.raises(TargetValidationError, match="A/B") as error:
        kashflow_product(product, {"default_nominal": 4000})
    assert error.value.code == "invalid_value"


def test_fractional_stock_is_cut_to_whole_units_with_a_warning():
    warnings: list[str] = []
    assert whole_quantity(Decimal("12.75"), "D0001", warnings) == 12
    assert whole_quantity(Decimal("-2.5"), "D0001", warnings) == -2
    assert whole_quantity(Decimal("5"), "D0001", warnings) == 5
    assert len(warnings) == 2 and "12.75" in warnings[0]


def test_ax_keeps_city_and_state_on_lines_of_their_own_where_sage_joins_them():
    party = party_from_row({**VENDOR_ROW, "STREET": "1 Main St", "CITY": "Seattle", "STATE": "WA"}, "supplier")
    address = kashflow_party(party, {}, SUPPLIERS)["Address"]
    assert (address["Line1"], address["Line2"], address["Line3"]) == ("1 Main St", "Seattle", "WA")


def test_the_primary_contact_gets_the_masters_details_even_when_not_listed_first():
    document = kashflow_party(party_from_row(VENDOR_ROW, "supplier"), {}, SUPPLIERS)
    existing = {"Code": "V-0001", "Name": "Harbour Parts Ltd", "Currency": {"Code": "GBP"}, "VatNumber": "GB123",
                "Address": dict(document["Address"]),
                "Contacts": [{"Name": "Sales", "Email": "sales@harbour.example"},
                             {"Name": "Jo", "IsPrimary": True, "Email": "ap@harbour.example", "Telephone": ""}]}
    assert differences(SUPPLIERS, existing, document) == [("Telephone", None, "+44 1482 100")]
    out = merged(SUPPLIERS, existing, document)
    assert out["Contacts"][0] == existing["Contacts"][0]
    assert out["Contacts"][1]["Telephone"] == "+44 1482 100" and out["Contacts"][1]["Name"] == "Jo"
