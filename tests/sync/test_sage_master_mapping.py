"""The Kashflow <-> Sage 100 master-data mappings, without systems: documents, conflicts, address parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.core.canonical import Party, Product, StructuredAddress
from integrations.core.errors import TargetValidationError
from integrations.sage100.adapter import sage_party, sage_product
from integrations.sage100.layouts import layout
from integrations.sync.flows.kashflow_parties import (
    CUSTOMERS,
    SUPPLIERS,
    conflict_warnings,
    differences,
    merged,
    party_document,
    party_from_kashflow,
)
from integrations.sync.flows.kashflow_parties_to_sage import KashflowCustomersToSage, KashflowSuppliersToSage
from integrations.sync.flows.sage_products_to_kashflow import default_rules as product_rules
from integrations.sync.flows.sage_products_to_kashflow import differences as product_differences
from integrations.sync.flows.sage_products_to_kashflow import kashflow_product

ABF = {"ARDivisionNo": "01", "CustomerNo": "ABF", "CustomerName": "American Business Futures",
       "AddressLine1": "2131 N. 14th Street", "AddressLine2": "Suite 100", "AddressLine3": None, "City": "Milwaukee",
       "State": "WI", "ZipCode": "53205-1204", "CountryCode": "USA", "TelephoneNo": "(414) 555-4787",
       "TelephoneExt": "", "EmailAddress": "artie@sage.sample.com", "CustomerStatus": "A"}


def test_a_sage_customer_becomes_a_kashflow_customer_with_town_and_state_as_a_line():
    party = sage_party(ABF, "customer", "ARDivisionNo", "CustomerNo", "CustomerName")
    assert party.source_id == party.code == "01-ABF" and party.address.country_code == "US"
    document = party_document(CUSTOMERS, party, party.code, {}, master="Sage 100")
    assert document == {
        "Code": "01-ABF", "Name": "American Business Futures",
        "Addresses": [{"Line1": "2131 N. 14th Street", "Line2": "Suite 100", "Line3": "Milwaukee, WI", "Line4": None,
                       "PostCode": "53205-1204", "CountryCode": "US"}],
        "Email": "artie@sage.sample.com", "TelephoneNumber": "(414) 555-4787"}


def test_an_unknown_country_needs_a_mapping():
    party = sage_party({**ABF, "CountryCode": "XYZ"}, "customer", "ARDivisionNo", "CustomerNo", "CustomerName")
    with pytest.raises(TargetValidationError) as caught:
        party_document(CUSTOMERS, party, party.code, {}, master="Sage 100")
    assert caught.value.code == "mapping_missing" and "XYZ" in str(caught.value)
    document = party_document(CUSTOMERS, party, party.code, {"countries": {"XYZ": "GB"}}, master="Sage 100")
    assert document["Addresses"][0]["CountryCode"] == "GB"


def test_supplier_contact_details_live_on_the_primary_contact_and_other_contacts_are_kept():
    party = Party(source_system="sage100", source_id="00-AIRWAYS", kind="supplier", code="00-AIRWAYS",
                  name="Airways Freight", email="new@airways.example.com", phone="555-0100",
                  address=StructuredAddress(street="1 Cargo Way", city="Milwaukee", county="WI", zip_code="53207",
                                            country_code="US"))
    document = party_document(SUPPLIERS, party, party.code, {}, master="Sage 100")
    existing = {"Code": "00-AIRWAYS", "Name": "Airways Freight", "PaymentMethod": 13,
                "Address": {"Line1": "Old Road", "Line2": "Milwaukee, WI", "PostCode": "53207", "CountryCode": "US"},
                "Contacts": [{"Name": "Ann", "Email": "old@airways.example.com", "Telephone": "555-0100"},
                             {"Name": "Bob", "Email": "bob@airways.example.com"}]}
    changed = {name for name, _old, _new in differences(SUPPLIERS, existing, document)}
    assert changed == {"Email", "Address Line1"}
    out = merged(SUPPLIERS, existing, document)
    assert out["PaymentMethod"] == 13 and out["Contacts"][1]["Name"] == "Bob"
    assert out["Contacts"][0] == {"Name": "Ann", "Email": "new@airways.example.com", "Telephone": "555-0100"}
    assert out["Address"]["Line1"] == "1 Cargo Way" and out["Address"]["Line2"] == "Milwaukee, WI"
    warnings = conflict_warnings(SUPPLIERS, existing, document, master="Sage 100")
    assert any("Email 'old@airways.example.com' overwritten with Sage 100's 'new@airways.example.com'" in w
               for w in warnings)
    assert not differences(SUPPLIERS, out, document)


def test_an_empty_sage_value_does_not_erase_kashflows():
    party = sage_party({**ABF, "EmailAddress": "", "TelephoneNo": ""}, "customer", "ARDivisionNo", "CustomerNo",
                       "CustomerName")
    document = party_document(CUSTOMERS, party, party.code, {}, master="Sage 100")
    assert "Email" not in document and "TelephoneNumber" not in document


def _flow(cls):
    flow = cls.__new__(cls)  # the mapping methods need only the table layout
    flow.table_layout = layout(cls.table)
    return flow


def _kashflow_party(kind, code, lines, country="GB", **extra):
    address = {f"Line{n}": line for n, line in enumerate(lines, start=1)} | {"PostCode": "LS1 4AB",
                                                                             "CountryCode": country}
    record = {"Code": code, "Name": "Acme Widgets Ltd", **extra}
    record |= {"Address": address} if kind is SUPPLIERS else {"Addresses": [address]}
    return party_from_kashflow(kind, record)


def test_kashflow_codes_give_division_and_number_or_the_default_division():
    customers, suppliers = _flow(KashflowCustomersToSage), _flow(KashflowSuppliersToSage)
    rules = {"default_division": "01", "default_vendor_division": "00"}
    assert customers.sage_key("02-acme", rules) == ("02", "ACME")
    assert customers.sage_key("ACME01", rules) == ("01", "ACME01")
    assert customers.sage_key("X", {**rules, "customer_accounts": {"X": "2-XRAY"}}) == ("02", "XRAY")
    assert suppliers.sage_key("PAPER1", rules) == ("00", "PAPER1")
    with pytest.raises(TargetValidationError) as caught:
        suppliers.sage_key("LONGSUPPLIER", rules)
    assert caught.value.code == "invalid_value" and "LONGSUPPLIER" in str(caught.value)


def test_kashflow_address_lines_are_parsed_into_sages_fields_and_cuts_are_warned():
    flow = _flow(KashflowCustomersToSage)
    warnings: list[str] = []
    party = _kashflow_party(CUSTOMERS, "ACME01", ["1 Long Street", "Block B", "Hall 3", "Austin, TX"],
                            country="US", Email="a" * 260 + "@x.com")
    party = Party.from_dict({**party.to_dict(), "address": {**party.address.to_dict(),
                                                            "street": party.address.street.replace("Hall 3",
                                                                                                   "Hall 3\nExtra")}})
    fields = flow.sage_fields(party, {}, warnings)
    assert (fields["AddressLine1"], fields["AddressLine2"], fields["AddressLine3"]) == (
        "1 Long Street", "Block B", "Hall 3, Extra")
    assert (fields["City"], fields["State"], fields["ZipCode"], fields["CountryCode"]) == (
        "Austin", "TX", "LS1 4AB", "USA")
    assert len(fields["EmailAddress"]) == 250
    assert any("joined into AddressLine3" in w for w in warnings)
    assert any("EmailAddress" in w and "250 characters" in w for w in warnings)

    one_line = flow.sage_fields(_kashflow_party(CUSTOMERS, "B", ["10 High Street"]), {}, [])
    assert one_line["AddressLine1"] == "10 High Street" and "City" not in one_line
    town = flow.sage_fields(_kashflow_party(CUSTOMERS, "C", ["10 High Street", "Leeds, West Yorkshire"]), {}, [])
    assert town["City"] == "Leeds, West Yorkshire" and "State" not in town
    with pytest.raises(TargetValidationError) as caught:
        flow.sage_fields(_kashflow_party(CUSTOMERS, "D", ["1 Rue"], country="QQ"), {}, [])
    assert caught.value.code == "mapping_missing" and "QQ" in str(caught.value)


ITEM = {"ItemCode": "6655", "ItemType": "1", "ItemCodeDesc": "PRINTER STAND W/ BASKET", "SalesAcctKey": "000000017",
        "TaxClass": "TX", "StandardUnitPrice": Decimal("179.000000"), "SalesUnitOfMeasure": "EACH",
        "InactiveItem": "N"}


def test_an_item_becomes_a_product_on_the_nominal_mapped_from_its_sales_account():
    payload = sage_product(ITEM, "405-00-00")
    warnings: list[str] = []
    document = kashflow_product(payload, product_rules(), warnings)
    assert document == {"Code": "6655", "Name": "PRINTER STAND W/ BASKET", "Description": "PRINTER STAND W/ BASKET",
                        "NominalCode": 4001, "Price": 179.0, "InUse": True, "ManageStockLevel": True}
    assert not warnings
    unmapped = kashflow_product(sage_product(ITEM, "999-00-00"), product_rules(), warnings)
    assert unmapped["NominalCode"] == 4000 and "999-00-00" in warnings[0]
    taxed = kashflow_product(payload, {**product_rules(), "vat_rates": {"TX": 20}}, [])
    assert taxed["VATRate"] == 20.0


def test_an_item_code_kashflow_refuses_needs_a_code_map():
    payload = sage_product({**ITEM, "ItemCode": "/FREIGHT", "ItemType": "5"}, "410-00-00")
    with pytest.raises(TargetValidationError) as caught:
        kashflow_product(payload, product_rules(), [])
    assert caught.value.code == "invalid_value" and "/FREIGHT" in str(caught.value)
    document = kashflow_product(payload, {**product_rules(), "code_map": {"/FREIGHT": "FREIGHT"}}, [])
    assert document["Code"] == "FREIGHT" and document["NominalCode"] == 4905


def test_product_differences_ignore_stock_and_compare_prices_as_amounts():
    document = kashflow_product(sage_product(ITEM, "400-00-00"), product_rules(), [])
    existing = {**document, "Price": "179.0000", "QuantityInStock": 7, "ManageStockLevel": False}
    assert product_differences(existing, document) == []
    assert [d[0] for d in product_differences({**existing, "NominalCode": 4001}, document)] == ["NominalCode"]
    assert Product.from_dict(sage_product(ITEM, "400-00-00")).sales_price == Decimal("179")


def test_an_inactive_item_is_carried_as_a_product_out_of_use():
    document = kashflow_product(sage_product({**ITEM, "InactiveItem": "Y"}, "400-00-00"), product_rules(), [])
    assert document["InUse"] is False and document["NominalCode"] == 4000


def test_a_phone_extension_travels_with_the_number():
    party = sage_party({**ABF, "TelephoneExt": "204"}, "customer", "ARDivisionNo", "CustomerNo", "CustomerName")
    assert party.phone == "(414) 555-4787 x204"
