"""Kashflow sandbox: nominal codes, products with stock, VAT rates, currencies, payment methods, bank accounts,
journals and account metadata."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.kashflow.sandbox import SEED_NOMINAL_CODES

from .conftest import Api, a_line, error

# Kashflow's published "suggested nominal codes" (reference §12): every one is in the seeded chart.
SUGGESTED = {4009, 4200, 4902, 4905, 5100, 5101, 6002, 6100, 6201, 7100, 7102, 7103, 7104, 7200, 7201, 7303, 7304,
             7400, 7401, 7402, 7403, 7500, 7501, 7502, 7504, 7505, 7600, 7601, 7603, 7801, 7803, 8201, 8202, 8203,
             8204, 8205}


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


# --------------------------------------------------------------------------- nominal codes


def test_nominals_are_a_bare_array_with_the_suggested_codes_and_uk_structure(api: Api) -> None:
    nominals = api.ok("GET", "nominals")
    assert isinstance(nominals, list)
    codes = {n["Code"]: n for n in nominals}
    assert SUGGESTED <= set(codes) and set(codes) == set(SEED_NOMINAL_CODES)
    assert codes[7403]["Name"] == "Entertainment" and codes[5000]["Name"] == "Materials Purchased"
    assert codes[4000]["Classification"] == "Turnover" and codes[4000]["Type"] == "Sales Type"
    assert codes[7100]["Classification"] == "Expense" and codes[7100]["NomType"] == 2
    assert codes[1100]["AllowDelete"] is False and codes[7403]["AllowDelete"] is True
    assert codes[1200]["Name"] == "Current Account"  # the bank account's own code
    assert "DefaultProduct" in codes[4000] and codes[4000]["DefaultProduct"]["Code"] == "SVC-RETAIN"


def test_nominal_filters(api: Api) -> None:
    turnover = api.ok("GET", "nominals?type=Turnover")
    assert turnover and {n["Classification"] for n in turnover} == {"Turnover"}
    assert {n["Code"] for n in api.ok("GET", "nominals?type=1")} == {n["Code"] for n in turnover}
    outgoing = api.ok("GET", "nominals?area=2")
    assert 5000 in {n["Code"] for n in outgoing} and 4000 not in {n["Code"] for n in outgoing}
    assert [n["Code"] for n in api.ok("GET", "nominals?searchText=entertain")] == [7403]
    error(api.get("nominals?type=Magic"), 400, "InvalidParameter")


def test_nominal_detail_by_code_and_by_id(api: Api) -> None:
    by_code = api.ok("GET", "nominals/7403")
    assert api.ok("GET", f"nominals/Id/{by_code['Id']}") == by_code
    error(api.get("nominals/7777"), 404, "NotFound")
    error(api.get("nominals/Id/99999"), 404, "NotFound")


def test_nominal_create_update_delete(api: Api) -> None:
    created = api.ok("POST", "nominals", {"Code": 7410, "Name": "Parking", "Classification": 3}, 201)
    assert created["Code"] == 7410 and created["Type"] == "Outgoing Type" and created["AllowDelete"] is True
    body = error(api.post("nominals", {"Code": 7410, "Name": "Parking again"}), 400, "DuplicateCode")
    assert "7410" in body["Message"]
    same = api.ok("POST", "nominals", {"Code": 7410, "Name": "Other", "CreateWhenNotPresent": True}, 200)
    assert same == created
    auto = api.ok("POST", "nominals", {"Name": "Event tickets", "Classification": "Turnover"}, 201)
    assert 4000 <= auto["Code"] <= 4999 and auto["Code"] not in SEED_NOMINAL_CODES
    error(api.post("nominals", {"Code": 7411}), 400)
    assert api.ok("PUT", "nominals/7410", {"Name": "Car parking", "Classification": 3})["Name"] == "Car parking"
    error(api.put("nominals/7410", {"Code": 7412, "Name": "x"}), 400)
    assert api.delete("nominals/7410").status == 204
    error(api.get("nominals/7410"), 404)
    error(api.delete("nominals/1100"), 400)  # a control account
    error(api.delete("nominals/1200"), 400)  # a bank account's code


def test_deleting_a_used_nominal_needs_an_assigned_code_and_moves_lines(api: Api) -> None:
    code = api.ok("GET", "customers?perpage=1")["Data"][0]["Code"]
    api.ok("POST", "nominals", {"Code": 4010, "Name": "Sales - Workshops"}, 201)
    number = api.ok("POST", "invoices", {"CustomerCode": code, "LineItems": [a_line(NominalCode=4010)]}, 201)["Number"]
    assert "assignedCode" in error(api.delete("nominals/4010"), 400)["Message"]
    error(api.delete("nominals/4010?assignedCode=4010"), 400)
    assert api.delete("nominals/4010?assignedCode=4001").status == 204
    line = api.ok("GET", f"invoices/{number}")["LineItems"][0]
    assert line["NominalCode"] == 4001 and line["NominalName"] == "Sales - Design services"


# --------------------------------------------------------------------------- products


def test_product_list_is_paged_ten_by_default_and_at_most_100(api: Api) -> None:
    page = api.ok("GET", "products/list")
    assert len(page["Data"]) == 10 and page["MetaData"]["TotalRecords"] == 21
    error(api.get("products/list?perpage=101"), 400)
    codes = [p["Code"] for p in api.pages("products/list?sortcolumn=0&order=Desc")]
    assert codes == sorted(codes, reverse=True)
    assert [p["Code"] for p in api.pages("products/list?filterbycharacter=O")] == ["RET-FRAME-A3", "RET-FRAME-A4"]
    names = [p["Name"] for p in api.pages("products/list?sortcolumn=ProductName")]
    assert names == sorted(names)
    nominals = [p["NominalCode"] for p in api.pages("products/list?sortcolumn=2")]
    assert nominals == sorted(nominals)
    tote = api.ok("GET", "products/4000/RET-TOTE")
    api.ok("PUT", "products/4000/RET-TOTE", {**tote, "InUse": False})
    assert "RET-TOTE" not in {p["Code"] for p in api.pages("products/list")}  # in-use products by default
    assert "RET-TOTE" in {p["Code"] for p in api.pages("products/list?filterbyinuseonly=false")}
    assert "RET-TOTE" in {p["Code"] for p in api.pages("products")}
    by_nominal = list(api.pages("nominals/4905/products"))
    assert {p["Code"] for p in by_nominal} == {"CAR-NEXTDAY", "CAR-POST"}
    error(api.get("nominals/7777/products"), 404)


def test_product_shape_follows_the_swagger_model(api: Api) -> None:
    product = api.ok("GET", "products/4000/RET-TOTE")
    assert {"Id", "NominalId", "Code", "Name", "NominalCode", "IsDefault", "AutoFillLineItem", "Price",
            "WholeSalePrice", "VATRate", "VATExempt", "Description", "ManageStockLevel", "QuantityInStock",
            "StockWarningQuantity", "InUse"} <= set(product)
    assert product["ManageStockLevel"] is True and isinstance(product["QuantityInStock"], int)
    assert dec(product["Price"]) == Decimal("5.50") and product["NominalId"] == api.ok("GET", "nominals/4000")["Id"]


def test_product_create_update_stock_rename_delete(api: Api) -> None:
    body = {"Code": "RET-MUG", "Name": "Branded mug", "NominalCode": 4000, "Price": "7.50", "VATRate": 20,
            "ManageStockLevel": True, "QuantityInStock": 48, "StockWarningQuantity": 12}
    created = api.ok("POST", "products", body, 201)
    assert created["QuantityInStock"] == 48 and created["Code"] == "RET-MUG"
    error(api.post("products", body), 400, "DuplicateCode")
    error(api.post("products", {**body, "NominalCode": 7777}), 400)
    error(api.post("products", {**body, "Code": ""}), 400)
    error(api.post("products", {**body, "Code": "RET-MUG2", "QuantityInStock": 1.5}), 400)
    stocked = api.ok("PUT", "products/4000/RET-MUG", {**created, "QuantityInStock": 200})
    assert stocked["QuantityInStock"] == 200 and stocked["Id"] == created["Id"]
    assert api.ok("PUT", "products/4000/RET-MUG", {**stocked, "Code": "RET-MUG-BLUE"}, 201)["Code"] == "RET-MUG-BLUE"
    error(api.get("products/4000/RET-MUG"), 404, "NotFound")
    assert api.delete("products/4000/RET-MUG-BLUE").status == 204
    error(api.delete("products/4000/RET-MUG-BLUE"), 404)


# --------------------------------------------------------------------------- VAT, currencies, payment methods


def test_vat_rates_list_add_and_delete(api: Api) -> None:
    rates = api.ok("GET", "vat/settings/vatrates")
    assert [(dec(r["VATRate"]), r["VATText"]) for r in rates] == [(20, "20%"), (5, "5%"), (0, "0%")]
    assert api.ok("POST", "vat/settings/vatrates/17.5", None, 201) == {}
    error(api.post("vat/settings/vatrates/17.5", None), 400)
    error(api.post("vat/settings/vatrates/150", None), 400)
    code = api.ok("GET", "customers?perpage=1")["Data"][0]["Code"]
    invoice = api.ok("POST", "invoices", {"CustomerCode": code, "LineItems": [a_line(VATLevel=17.5)]}, 201)
    assert dec(invoice["VATAmount"]) == Decimal("4.38")
    added = next(r for r in api.ok("GET", "vat/settings/vatrates") if dec(r["VATRate"]) == Decimal("17.5"))
    assert api.delete(f"vat/settings/vatrates/{added['VATId']}").status == 204
    error(api.delete(f"vat/settings/vatrates/{added['VATId']}"), 404)
    standard = next(r for r in rates if dec(r["VATRate"]) == 20)
    error(api.delete(f"vat/settings/vatrates/{standard['VATId']}"), 400)


def test_currencies_available_configured_and_crud(api: Api) -> None:
    available = api.ok("GET", "currencies")
    assert {"GBP", "EUR", "AUD", "INR"} <= {c["Code"] for c in available}
    configured = api.ok("GET", "currencies/list")
    assert [c["Code"] for c in configured] == ["GBP", "EUR", "USD"]
    assert configured[0] == {"Id": configured[0]["Id"], "Code": "GBP", "Name": "British Pounds", "Symbol": "£",
                             "DisplaySymbolOnRight": False, "ExchangeRate": 1}
    aud = api.ok("POST", "currencies", {"Code": "aud", "ExchangeRate": "1.9400"}, 201)
    assert aud["Code"] == "AUD" and aud["Name"] == "Australian Dollars" and dec(aud["ExchangeRate"]) == Decimal("1.94")
    error(api.post("currencies", {"Code": "AUD"}), 400, "DuplicateCode")
    error(api.post("currencies", {"Code": "XYZ"}), 400)
    assert dec(api.ok("PUT", "currencies/AUD", {"ExchangeRate": 2})["ExchangeRate"]) == 2
    assert api.delete("currencies/AUD").status == 204
    error(api.get("currencies/AUD"), 404)
    error(api.delete("currencies/GBP"), 400)
    code = api.ok("GET", "customers?perpage=1")["Data"][0]["Code"]
    api.ok("POST", "invoices", {"CustomerCode": code, "Currency": {"Code": "USD"}, "LineItems": [a_line()]}, 201)
    assert "used" in error(api.delete("currencies/USD"), 400)["Message"]


def test_payment_methods_per_type(api: Api) -> None:
    invoice = api.ok("GET", "paymentmethods/invoice")
    purchase = api.ok("GET", "paymentmethods/purchase")
    assert {"Id": 3, "Name": "BACS"} in invoice and {"Id": 13, "Name": "BACS"} in purchase
    assert not {m["Id"] for m in invoice} & {m["Id"] for m in purchase}
    error(api.get("paymentmethods/refund"), 400)


# --------------------------------------------------------------------------- bank accounts


def test_bank_accounts_bare_list_paged_list_and_detail(api: Api) -> None:
    accounts = api.ok("GET", "bankaccounts")
    assert [(a["Code"], a["AccountName"]) for a in accounts] == [
        (1200, "Current Account"), (1210, "Business Deposit Account"), (1230, "Petty Cash")]
    assert accounts[0]["IsDefaultAccount"] is True and accounts[0]["DefaultInvoicePaymentType"] == {"Id": 3,
                                                                                                    "Name": "BACS"}
    assert "StartingAmount" not in accounts[0]
    paged = api.ok("GET", "bankaccounts/list")
    assert paged["MetaData"]["TotalRecords"] == 3 and paged["MetaData"]["NextPageUrl"] is None
    detail = api.ok("GET", f"bankaccounts/{accounts[0]['Id']}")
    assert dec(detail["StartingAmount"]) == Decimal("12500") and detail["StartingDate"].endswith("12:00:00")
    error(api.get("bankaccounts/99"), 404, "NotFound")


def test_bank_balance_is_opening_balance_plus_receipts_less_payments(api: Api) -> None:
    received = sum(dec(i["TotalPaidAmount"]) for i in api.pages("invoices"))
    paid_out = sum(dec(p["TotalPaidAmount"]) for p in api.pages("purchases"))
    current = api.ok("GET", "bankaccounts/1")
    assert dec(current["BankBalance"]) == Decimal("12500") + received - paid_out
    assert dec(api.ok("GET", "bankaccounts/2")["BankBalance"]) == Decimal("25000")


def test_bank_account_create_update_delete(api: Api) -> None:
    assert api.ok("GET", "bankaccounts/suggestedcode") == 1220
    created = api.ok("POST", "bankaccounts", {"AccountName": "Card Merchant Account", "StartingAmount": "10"}, 201)
    assert created["Code"] == 1220 and dec(created["BankBalance"]) == 10 and created["IsDefaultAccount"] is False
    assert api.ok("GET", "nominals/1220")["Name"] == "Card Merchant Account"
    error(api.post("bankaccounts", {"AccountName": "Clash", "Code": 7403}), 400, "DuplicateCode")
    error(api.post("bankaccounts", {"Code": 1240}), 400)
    renamed = api.ok("PUT", f"bankaccounts/{created['Id']}", {"AccountName": "Stripe", "IsDefaultAccount": True})
    assert renamed["AccountName"] == "Stripe" and renamed["IsDefaultAccount"] is True
    assert api.ok("GET", "bankaccounts/1")["IsDefaultAccount"] is False
    error(api.delete(f"bankaccounts/{created['Id']}"), 400)  # the default account
    api.ok("PUT", "bankaccounts/1", {"AccountName": "Current Account", "IsDefaultAccount": True})
    error(api.delete("bankaccounts/1"), 400)  # the default, and it has transactions
    assert api.delete(f"bankaccounts/{created['Id']}").status == 204
    error(api.get("nominals/1220"), 404)


# --------------------------------------------------------------------------- journals


JOURNAL = {"JournalDate": "2025-06-30", "Comment": "Bonus accrual", "Category": 2,
           "LineItems": [{"NominalCode": 7000, "Debit": "500.00", "Comment": "June bonus"},
                         {"NominalCode": 2109, "Credit": "500.00"}]}


def test_journals_are_seeded_monthly_and_listed_with_an_envelope(api: Api) -> None:
    page = api.ok("GET", "journals")
    assert page["MetaData"]["TotalRecords"] == 12 and page["Data"][0]["CategoryDescription"] == "Depreciation"
    detail = api.ok("GET", f"journals/{page['Data'][0]['Number']}")
    assert sum(dec(x["Debit"]) for x in detail["LineItems"]) == sum(dec(x["Credit"]) for x in detail["LineItems"])
    assert detail["LineItems"][0]["NominalName"] == "Depreciation"


def test_journal_sorting(api: Api) -> None:
    api.ok("POST", "journals", {**JOURNAL, "JournalDate": "2025-01-15"}, 201)
    dates = [j["JournalDate"] for j in api.pages("journals?sortby=JournalDate&order=desc&perpage=5")]
    assert dates == sorted(dates, reverse=True) and len(dates) == 13
    totals = [dec(j["TotalAmount"]) for j in api.pages("journals?sortby=2")]
    assert totals == sorted(totals)
    error(api.get("journals?sortby=Colour"), 400)


def test_journal_create_update_delete(api: Api) -> None:
    journal = api.ok("POST", "journals", JOURNAL, 201)
    assert journal["Number"] == 13 and dec(journal["TotalAmount"]) == 500 and journal["JournalDate"] == \
        "2025-06-30 12:00:00"
    assert journal["LineItems"][0]["NominalName"] == "Gross Wages" and journal["LineItems"][1]["Debit"] == 0
    changed = api.ok("PUT", "journals/13", {**JOURNAL, "Comment": "Bonus accrual (revised)"})
    assert changed["Comment"] == "Bonus accrual (revised)"
    assert api.ok("PUT", "journals/13", {**JOURNAL, "Number": 40}, 201)["Number"] == 40
    assert api.delete("journals/40").status == 204
    error(api.get("journals/40"), 404, "NotFound")
    error(api.delete("journals/40"), 404, "NotFound")


def test_journals_must_balance_and_use_known_codes(api: Api) -> None:
    unbalanced = {**JOURNAL, "LineItems": [{"NominalCode": 7000, "Debit": 500}, {"NominalCode": 2109, "Credit": 499}]}
    assert "does not balance" in error(api.post("journals", unbalanced), 400, "JournalNotBalanced")["Message"]
    error(api.post("journals", {**JOURNAL, "LineItems": JOURNAL["LineItems"][:1]}), 400)
    error(api.post("journals", {**JOURNAL, "LineItems": [{"NominalCode": 1, "Debit": 5}, {"NominalCode": 2109,
                                                                                          "Credit": 5}]}), 400)
    error(api.post("journals", {**JOURNAL, "LineItems": [{"NominalCode": 7000, "Debit": 5, "Credit": 5},
                                                         {"NominalCode": 2109, "Credit": 0}]}), 400)
    error(api.post("journals", {**JOURNAL, "Number": 1}), 400, "DuplicateNumber")
    error(api.post("journals", {**JOURNAL, "Category": 42}), 400)


# --------------------------------------------------------------------------- account-wide


def test_metadata_counts_the_account(api: Api) -> None:
    meta = api.ok("GET", "metadata")
    assert meta["TotalCustomerCount"] == 12 and meta["TotalInvoiceCount"] == 60 and meta["TotalSupplierCount"] == 15
    assert meta["TotalNominalCount"] == len(SEED_NOMINAL_CODES) and meta["TotalProductCount"] == 21
    assert meta["TotalLoginCount"] == 1 and meta["PayrollProvisioningStatus"] == "NotInitiated"
    balances = sum(dec(a["BankBalance"]) for a in api.ok("GET", "bankaccounts"))
    assert dec(meta["TotalBankBalance"]) == balances


def test_countries(api: Api) -> None:
    countries = {c["Code"]: c for c in api.ok("GET", "countries")}
    assert countries["GB"]["Name"] == "United Kingdom" and countries["IE"]["IsEU"] is True


def test_unknown_routes_and_methods(api: Api) -> None:
    error(api.get("webhooks"), 404, "NotFound")  # Kashflow has no webhook subscriptions
    reply = api("PATCH", "invoices")
    assert reply.status == 405 and "does not support" in reply.json()["Message"]
