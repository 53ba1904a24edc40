"""Kashflow sandbox: customers and suppliers — CRUD status codes, code uniqueness and the IfDuplicate flags,
renames, aggregates, list filters and sorting, LastUpdatedDate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from integrations.kashflow.sandbox import ManualClock

from .conftest import Api, a_line, error

CUSTOMER = {"Name": "Quayside Print Co", "Code": "QUAY01", "Email": "ap@quayside.test",
            "Addresses": [{"Line1": "1 Quay Road", "Line3": "Hull", "PostCode": "HU1 1AA"}],
            "Contacts": [{"Firstname": "Ann", "LastName": "Lee", "Email": "ann@quayside.test"}],
            "Currency": {"Code": "GBP"}, "PaymentTerms": {"Days": 14, "Type": "AfterIssuedDate"}, "Note": "VIP"}
SUPPLIER = {"Name": "Quayside Paper Ltd", "Code": "QPAP01", "Address": {"Line1": "2 Dock St", "PostCode": "HU1 2BB"},
            "VatNumber": "GB123456789", "DefaultNominalCode": 5000, "PaymentMethod": 13,
            "BankAccount": {"Name": "Quayside Paper", "Number": "12345678", "SortCode": "20-00-00"}}
KINDS = {"customers": CUSTOMER, "suppliers": SUPPLIER}
FLAGS = {"customers": ("CreateCustomerCodeIfDuplicate", "CreateCustomerNameIfEmptyOrNull"),
         "suppliers": ("CreateSupplierCodeIfDuplicate", "CreateSupplierNameIfEmptyOrNull")}
parametrize_kind = pytest.mark.parametrize("kind", ["customers", "suppliers"])


@parametrize_kind
def test_create_answers_201_with_the_full_record_and_get_returns_it(api: Api, kind: str) -> None:
    created = api.ok("POST", kind, KINDS[kind], 201)
    assert created["Code"] == KINDS[kind]["Code"] and created["Name"] == KINDS[kind]["Name"] and created["Id"] > 0
    assert created["CreatedDate"] == created["LastUpdatedDate"] == "2025-06-15 15:06:40"  # the test clock
    assert created["OutstandingBalance"] == 0 and created["TotalPaidAmount"] == 0
    assert created["Currency"]["Code"] == "GBP" and created["Currency"]["Name"] == "British Pounds"
    assert api.ok("GET", f"{kind}/{created['Code']}") == created
    assert api.ok("GET", f"{kind}/{created['Code'].lower()}")["Id"] == created["Id"]  # codes are case-insensitive


def test_customer_shape_follows_the_reference(api: Api) -> None:
    created = api.ok("POST", "customers", CUSTOMER, 201)
    assert created["Addresses"][0]["CountryName"] == "United Kingdom" and created["Contacts"][0]["Firstname"] == "Ann"
    assert created["DisplayName"] == "Quayside Print Co, HU1 1AA" and created["Note"] == "VIP"
    assert created["FirstInvoiceDate"] == "1900-01-01 12:00:00" and created["InvoiceCount"] == 0
    assert "CreateCustomerCodeIfDuplicate" not in created  # write-only flags are not echoed


def test_supplier_shape_follows_the_reference(api: Api) -> None:
    created = api.ok("POST", "suppliers", SUPPLIER, 201)
    assert created["Address"]["Line1"] == "2 Dock St" and created["VatNumber"] == "GB123456789"
    assert created["BankAccount"]["SortCode"] == "20-00-00" and created["WithholdingTaxRate"] == -1
    assert created["BilledNetAmount"] == 0 and created["FirstPurchaseDate"] == "1900-01-01 12:00:00"


def test_customer_code_is_generated_when_omitted_and_keys_bind_case_insensitively(api: Api) -> None:
    created = api.ok("POST", "customers", {"name": "Seaview Hotel", "contacts": [{"email": "a@b.test"}]}, 201)
    assert created["Code"] == "SEAV01" and created["Name"] == "Seaview Hotel" and created["Email"] == "a@b.test"


def test_supplier_code_is_required(api: Api) -> None:
    error(api.post("suppliers", {"Name": "No Code Ltd"}), 400, "InvalidParameter")
    created = api.ok("POST", "suppliers", {"Name": "No Code Ltd", "CreateSupplierCodeIfDuplicate": True}, 201)
    assert created["Code"] == "NOCO01"


@parametrize_kind
def test_duplicate_code_is_400_unless_the_if_duplicate_flag_asks_for_a_new_code(api: Api, kind: str) -> None:
    api.ok("POST", kind, KINDS[kind], 201)
    body = error(api.post(kind, KINDS[kind]), 400, "DuplicateCode")
    assert KINDS[kind]["Code"] in body["Message"]
    second = api.ok("POST", kind, {**KINDS[kind], FLAGS[kind][0]: True}, 201)
    assert second["Code"] != KINDS[kind]["Code"] and second["Name"] == KINDS[kind]["Name"]


@parametrize_kind
def test_name_is_required_unless_the_flag_generates_one(api: Api, kind: str) -> None:
    error(api.post(kind, {**KINDS[kind], "Name": ""}), 400, "InvalidParameter")
    created = api.ok("POST", kind, {**KINDS[kind], "Name": None, FLAGS[kind][1]: True}, 201)
    assert created["Name"].startswith("Customer " if kind == "customers" else "Supplier ")


@parametrize_kind
def test_bad_values_are_400_with_message_and_error(api: Api, kind: str) -> None:
    error(api.post(kind, {**KINDS[kind], "Currency": {"Code": "XYZ"}}), 400)
    error(api.post(kind, {**KINDS[kind], "Code": "A/B"}), 400)
    error(api.post(kind, {**KINDS[kind], "Code": "X" * 21}), 400)
    error(api.post(kind, {**KINDS[kind], "PaymentTerms": {"Days": 30, "Type": "Whenever"}}), 400)
    error(api.post(kind, [1, 2]), 400)
    error(api("POST", kind, raw=b"{not json"), 400)


@parametrize_kind
def test_update_answers_200_replaces_the_record_and_moves_last_updated_date(api: Api, kind: str,
                                                                           clock: ManualClock) -> None:
    created = api.ok("POST", kind, KINDS[kind], 201)
    clock.advance(3600)
    changed = {**KINDS[kind], "Name": "Renamed Trading Ltd"}
    changed.pop("Contacts", None)
    updated = api.ok("PUT", f"{kind}/{created['Code']}", changed)
    assert updated["Name"] == "Renamed Trading Ltd" and updated["Id"] == created["Id"]
    assert updated["CreatedDate"] == created["CreatedDate"]
    assert updated["LastUpdatedDate"] == "2025-06-15 16:06:40" != created["LastUpdatedDate"]
    assert updated["Contacts"] == []  # PUT is a full replacement: what is omitted is cleared


@parametrize_kind
def test_update_with_a_new_code_renames_and_answers_201(api: Api, kind: str) -> None:
    created = api.ok("POST", kind, KINDS[kind], 201)
    renamed = api.ok("PUT", f"{kind}/{created['Code']}", {**KINDS[kind], "Code": "NEW01"}, 201)
    assert renamed["Code"] == "NEW01" and renamed["Id"] == created["Id"]
    error(api.get(f"{kind}/{created['Code']}"), 404, "NotFound")
    other = api.ok("POST", kind, {**KINDS[kind], "Code": "OTHER1"}, 201)
    error(api.put(f"{kind}/{other['Code']}", {**KINDS[kind], "Code": "NEW01"}), 400, "DuplicateCode")


def test_renaming_a_customer_moves_its_invoices_with_it(api: Api) -> None:
    code = api.ok("GET", "invoices?perpage=1")["Data"][0]["CustomerCode"]
    customer = api.ok("GET", f"customers/{code}")
    api.ok("PUT", f"customers/{code}", {**customer, "Code": "MOVED1", "Name": "Moved Ltd"}, 201)
    mine = api.ok("GET", "invoices?customercode=MOVED1&perpage=200")["Data"]
    assert mine and {i["CustomerName"] for i in mine} == {"Moved Ltd"} and len(mine) == customer["InvoiceCount"]


def test_update_invoices_address_cascades_to_unpaid_invoices(api: Api) -> None:
    customer = api.ok("POST", "customers", CUSTOMER, 201)
    number = api.ok("POST", "invoices", {"CustomerCode": "QUAY01", "LineItems": [a_line()]}, 201)["Number"]
    moved = {**CUSTOMER, "Addresses": [{"Line1": "9 New Street", "PostCode": "HU9 9ZZ"}]}
    api.ok("PUT", f"customers/{customer['Code']}?updateInvoicesAddress=true", moved)
    assert api.ok("GET", f"invoices/{number}")["Address"]["Line1"] == "9 New Street"


@parametrize_kind
def test_delete_answers_204_then_404(api: Api, kind: str) -> None:
    created = api.ok("POST", kind, KINDS[kind], 201)
    reply = api.delete(f"{kind}/{created['Code']}")
    assert reply.status == 204 and reply.body == b""
    error(api.get(f"{kind}/{created['Code']}"), 404, "NotFound")
    error(api.delete(f"{kind}/{created['Code']}"), 404, "NotFound")
    error(api.put(f"{kind}/{created['Code']}", KINDS[kind]), 404, "NotFound")


def test_deleting_a_customer_deletes_its_invoices(api: Api) -> None:
    code = api.ok("GET", "invoices?perpage=1")["Data"][0]["CustomerCode"]
    assert api.delete(f"customers/{code}").status == 204
    assert api.ok("GET", f"invoices?customercode={code}")["MetaData"]["TotalRecords"] == 0


def test_customer_aggregates_come_from_its_invoices(api: Api) -> None:
    code = api.ok("GET", "invoices?perpage=1")["Data"][0]["CustomerCode"]
    mine = list(api.pages(f"invoices?customercode={code}"))
    customer = api.ok("GET", f"customers/{code}")
    gross = sum(Decimal(str(i["GrossAmount"])) for i in mine)
    paid = sum(Decimal(str(i["TotalPaidAmount"])) for i in mine)
    assert customer["InvoiceCount"] == len(mine)
    assert Decimal(str(customer["TotalPaidAmount"])) == paid
    assert Decimal(str(customer["OutstandingBalance"])) == gross - paid
    assert customer["FirstInvoiceDate"] == min(i["IssuedDate"] for i in mine)


def test_supplier_aggregates_come_from_its_purchases(api: Api) -> None:
    code = api.ok("GET", "purchases?perpage=1")["Data"][0]["SupplierCode"]
    mine = list(api.pages(f"purchases?suppliercode={code}"))
    supplier = api.ok("GET", f"suppliers/{code}")
    assert Decimal(str(supplier["BilledNetAmount"])) == sum(Decimal(str(p["NetAmount"])) for p in mine)
    assert supplier["LastPurchaseDate"] == max(p["IssuedDate"] for p in mine)


def test_list_items_are_summaries(api: Api) -> None:
    item = api.ok("GET", "customers?perpage=1")["Data"][0]
    assert {"Id", "Code", "Name", "TotalPaidAmount", "OutstandingBalance", "Addresses", "Currency"} <= set(item)
    assert "LastUpdatedDate" not in item and "CustomTextBoxes" not in item
    assert {"Code", "Name", "Address", "OutstandingBalance"} <= set(api.ok("GET", "suppliers?perpage=1")["Data"][0])


@parametrize_kind
def test_list_filters(api: Api, kind: str, clock: ManualClock) -> None:
    everyone = list(api.pages(kind))
    first = everyone[0]
    named = api.ok("GET", f"{kind}?namestartswith={first['Name'][:4]}")["Data"]
    assert named and all(c["Name"].startswith(first["Name"][:4]) for c in named)
    search = api.ok("GET", f"{kind}?searchtext={first['Code'][1:4].lower()}")["Data"]
    assert first["Code"] in {c["Code"] for c in search}
    api.ok("PUT", f"{kind}/{first['Code']}", {**api.ok("GET", f"{kind}/{first['Code']}"), "IsArchived": True})
    active = list(api.pages(f"{kind}?filterarchived=true"))
    assert len(active) == len(everyone) - 1 and first["Code"] not in {c["Code"] for c in active}
    clock.advance(86400 * 3)
    api.relogin()
    api.ok("POST", kind, KINDS[kind], 201)
    created = api.ok("GET", f"{kind}?startcreationdate=2025-06-17")["Data"]
    assert [c["Code"] for c in created] == [KINDS[kind]["Code"]]
    older = api.ok("GET", f"{kind}?endcreationdate=2025-06-16&perpage=500")["MetaData"]["TotalRecords"]
    assert older == len(everyone)


@pytest.mark.parametrize(("kind", "sortby", "key"), [
    ("customers", "0", "Name"), ("customers", "Name", "Name"), ("customers", "1", "Code"),
    ("customers", "3", "TotalPaidAmount"), ("customers", "4", "OutstandingBalance"),
    ("customers", "OutstandingBalance", "OutstandingBalance"), ("suppliers", "0", "Name"), ("suppliers", "1", "Code"),
    ("suppliers", "2", "TotalPaidAmount"), ("suppliers", "3", "OutstandingBalance"),
])
@pytest.mark.parametrize("order", ["asc", "Desc"])
def test_list_sorting(api: Api, kind: str, sortby: str, key: str, order: str) -> None:
    items = list(api.pages(f"{kind}?sortby={sortby}&order={order}&perpage=5"))

    def value(item: dict[str, Any]) -> Any:
        return Decimal(str(item[key])) if key.endswith(("Amount", "Balance")) else item[key]

    values = [value(i) for i in items]
    assert values == sorted(values, reverse=order.lower() == "desc")


@parametrize_kind
def test_unknown_sort_or_order_is_400(api: Api, kind: str) -> None:
    error(api.get(f"{kind}?sortby=Colour"), 400, "InvalidParameter")
    error(api.get(f"{kind}?order=sideways"), 400, "InvalidParameter")
