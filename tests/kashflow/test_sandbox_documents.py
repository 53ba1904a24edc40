"""Kashflow sandbox: sales invoices and purchases — CRUD status codes, numbers, server-computed totals and
Paid/Unpaid status, payment lines and bulk payments, stock movements, notes, list filters and sorting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from .conftest import TODAY, Api, a_line, error

D = Decimal


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def customer(api: Api) -> str:
    return api.ok("GET", "customers?perpage=1")["Data"][0]["Code"]


def supplier(api: Api) -> str:
    return api.ok("GET", "suppliers?sortby=Code&perpage=1")["Data"][0]["Code"]


def new_invoice(api: Api, **fields: Any) -> dict[str, Any]:
    return api.ok("POST", "invoices", {"CustomerCode": customer(api), "LineItems": [a_line()], **fields}, 201)


def pay(amount: str, when: str = "2025-06-20", **extra: Any) -> dict[str, Any]:
    return {"Amount": amount, "Date": when, "Method": 3, "AccountId": 1, **extra}


def stock(api: Api, code: str) -> int:
    product = next(p for p in api.pages("products/list?perpage=100") if p["Code"] == code)
    return product["QuantityInStock"]


# --------------------------------------------------------------------------- create and totals


def test_create_answers_201_and_computes_totals_server_side(api: Api) -> None:
    lines = [
        a_line(),  # 2 x 12.50 = 25.00 + 20% = 5.00
        a_line(Description="Leaflets", Quantity=3, Rate="9.99", VATLevel=0, NominalCode=4002),  # 29.97, zero-rated
        a_line(Description="Postage", Quantity=1, Rate="4.85", VATExempt=True, VATLevel=20, NominalCode=4905),
        a_line(Description="Labels", Quantity=7, Rate="1.33", VATLevel=5, NominalCode=4002),  # 9.31 + 0.4655 -> 0.47
        a_line(Description="Agreed VAT", Quantity=1, Rate="10", VATAmount="1.99", NominalCode=4001),
    ]
    invoice = api.ok("POST", "invoices", {"CustomerCode": customer(api), "IssuedDate": "2025-06-01 12:00:00",
                                          "CustomerReference": "PO-9", "LineItems": lines}, 201)
    assert dec(invoice["NetAmount"]) == D("79.13") and dec(invoice["VATAmount"]) == D("7.46")
    assert dec(invoice["GrossAmount"]) == D("86.59") == dec(invoice["DueAmount"])
    assert invoice["Status"] == "Unpaid" and dec(invoice["TotalPaidAmount"]) == 0 and invoice["PaidDate"] is None
    assert [dec(x["VATAmount"]) for x in invoice["LineItems"]] == [D(5), D(0), D(0), D("0.47"), D("1.99")]
    assert invoice["LineItems"][2]["VATLevel"] == 0 and invoice["LineItems"][2]["VATExempt"] is True
    assert invoice["LineItems"][0]["NominalName"] == "Sales - Print" and invoice["LineItems"][0]["NominalId"] > 0
    assert invoice["Number"] == 61 and invoice["PreviousNumber"] == 60 and invoice["NextNumber"] == 0
    assert invoice["IssuedDate"] == "2025-06-01 12:00:00" and invoice["CustomerReference"] == "PO-9"
    assert invoice["Permalink"].startswith("/v2/documents/invoice/") and invoice["PaymentLines"] == []
    assert api.ok("GET", "invoices/61") == invoice


def test_keys_bind_case_insensitively_and_amounts_round_half_up(api: Api) -> None:
    invoice = api.ok("POST", "invoices", {"customercode": customer(api), "lineitems": [
        {"description": "half-up", "quantity": 1, "rate": 30.425, "vatlevel": 20, "nominalcode": 4001}]}, 201)
    assert dec(invoice["NetAmount"]) == D("30.43") and dec(invoice["VATAmount"]) == D("6.09")  # 30.425, 6.086


def test_malformed_bodies_are_400(api: Api) -> None:
    error(api("POST", "invoices", raw=b"{not json"), 400, "InvalidParameter")
    error(api("POST", "/v2/sessiontoken", raw=b"[1,2"), 400)


def test_money_is_printed_with_four_decimals(api: Api) -> None:
    raw = api.get(f"invoices/{new_invoice(api)['Number']}").body.decode()
    assert '"GrossAmount":30.0000' in raw and '"Rate":12.5000' in raw


def test_due_date_follows_the_customers_payment_terms(api: Api) -> None:
    api.ok("POST", "customers", {"Code": "TERM01", "Name": "Terms Ltd", "PaymentTerms": {"Days": 10,
                                 "Type": "AfterMonthEnd"}}, 201)
    invoice = api.ok("POST", "invoices", {"CustomerCode": "TERM01", "IssuedDate": "2025-02-03",
                                          "LineItems": [a_line()]}, 201)
    assert invoice["DueDate"] == "2025-03-10 12:00:00"  # end of February + 10 days


def test_missing_vat_level_means_the_standard_rate_and_unknown_rates_are_refused(api: Api) -> None:
    line = a_line()
    del line["VATLevel"]
    assert dec(new_invoice(api, LineItems=[line])["VATAmount"]) == D(5)
    body = error(api.post("invoices", {"CustomerCode": customer(api), "LineItems": [a_line(VATLevel=17.5)]}), 400)
    assert "17.5" in body["Message"]


def test_product_lines_fill_nominal_price_vat_and_name_from_the_product(api: Api) -> None:
    invoice = new_invoice(api, LineItems=[{"ProductCode": "prt-label", "Quantity": 100}])
    line = invoice["LineItems"][0]
    assert line["ProductCode"] == "PRT-LABEL" and line["ProductName"] == "Children's car-seat safety labels"
    assert line["NominalCode"] == 4002 and dec(line["Rate"]) == D("1.40") and dec(line["VATLevel"]) == 5
    assert dec(invoice["GrossAmount"]) == D("147.00")


@pytest.mark.parametrize(("body", "needle"), [
    ({"LineItems": [a_line()]}, "CustomerCode"),
    ({"CustomerCode": "NOBODY", "LineItems": [a_line()]}, "NOBODY"),
    ({"LineItems": [a_line(NominalCode=1234)]}, "1234"),
    ({"LineItems": [{"Description": "no nominal", "Rate": 1}]}, "NominalCode"),
    ({"LineItems": [a_line(Quantity="lots")]}, "lots"),
    ({"LineItems": "not a list"}, "LineItems"),
    ({"Currency": {"Code": "JPY"}, "LineItems": [a_line()]}, "JPY"),
    ({"IssuedDate": "31/12/2025", "LineItems": [a_line()]}, "IssuedDate"),
    ({"Number": "INV-1", "LineItems": [a_line()]}, "Number"),
])
def test_invalid_invoices_are_400_with_a_readable_message(api: Api, body: dict[str, Any], needle: str) -> None:
    payload = {"CustomerCode": customer(api), **body} if "CustomerCode" not in body and needle != "CustomerCode" \
        else body
    assert needle in error(api.post("invoices", payload), 400)["Message"]


def test_numbers_are_unique_and_a_given_number_is_used(api: Api) -> None:
    assert new_invoice(api, Number=5000)["Number"] == 5000
    assert new_invoice(api)["Number"] == 5001  # the next after the highest
    error(api.post("invoices", {"CustomerCode": customer(api), "Number": 5000, "LineItems": [a_line()]}), 400,
          "DuplicateNumber")
    assert api.ok("GET", "nextavailableinvoicenumber") == 5002


def test_foreign_currency_invoices_carry_home_currency_amounts(api: Api) -> None:
    invoice = new_invoice(api, Currency={"Code": "EUR", "ExchangeRate": "1.25"})
    assert invoice["Currency"]["Name"] == "Euros" and dec(invoice["Currency"]["ExchangeRate"]) == D("1.25")
    assert dec(invoice["HomeCurrencyGrossAmount"]) == D(24) and dec(invoice["LineItems"][0]["HomeCurrencyRate"]) == 10


# --------------------------------------------------------------------------- payments


def test_payment_lines_set_total_paid_and_status(api: Api) -> None:
    part = new_invoice(api, PaymentLines=[pay("10.00")])
    assert part["Status"] == "Unpaid" and dec(part["TotalPaidAmount"]) == 10 and dec(part["DueAmount"]) == 20
    assert part["LastPaymentDate"] == "2025-06-20 12:00:00" and part["PaidDate"] is None
    full = new_invoice(api, PaymentLines=[pay("10.00", "2025-06-10"), pay("20.00", "2025-06-21")])
    assert full["Status"] == "Paid" and dec(full["DueAmount"]) == 0 and full["PaidDate"] == "2025-06-21 12:00:00"
    line = full["PaymentLines"][0]
    assert line["InvoiceNumber"] == full["Number"] and line["Method"] == 3 and line["AccountId"] == 1
    assert line["Permalink"].startswith("/v2/documents/invoice/payment/") and line["Id"] > 0


def test_overpayment_is_refused(api: Api) -> None:
    body = error(api.post("invoices", {"CustomerCode": customer(api), "LineItems": [a_line()],
                                       "PaymentLines": [pay("30.01")]}), 400, "PaymentExceedsAmountDue")
    assert "30.01" in body["Message"]


@pytest.mark.parametrize(("payment", "needle"), [
    (pay("0"), "Amount"), (pay("5", AccountId=99), "Bank account 99"), (pay("5", Method=13), "Payment method 13"),
    (pay("5", Date="soon"), "Date"),
])
def test_invalid_payment_lines_are_400(api: Api, payment: dict[str, Any], needle: str) -> None:
    reply = api.post("invoices", {"CustomerCode": customer(api), "LineItems": [a_line()], "PaymentLines": [payment]})
    assert needle in error(reply, 400)["Message"]


def test_adding_a_payment_line_with_put_marks_the_invoice_paid(api: Api) -> None:
    invoice = new_invoice(api, PaymentLines=[pay("10.00")])
    kept_id = invoice["PaymentLines"][0]["Id"]
    invoice["PaymentLines"].append(pay("20.00", "2025-06-25"))
    updated = api.ok("PUT", f"invoices/{invoice['Number']}", invoice)
    assert updated["Status"] == "Paid" and dec(updated["TotalPaidAmount"]) == 30
    assert [p["Id"] for p in updated["PaymentLines"]][0] == kept_id and len(updated["PaymentLines"]) == 2
    assert updated["Permalink"] == invoice["Permalink"]  # the document keeps its identity


def test_put_is_a_full_replacement_omitted_payment_lines_are_cleared(api: Api) -> None:
    invoice = new_invoice(api, PaymentLines=[pay("30.00")])
    del invoice["PaymentLines"]
    updated = api.ok("PUT", f"invoices/{invoice['Number']}", invoice)
    assert updated["Status"] == "Unpaid" and updated["PaymentLines"] == []
    error(api.put(f"invoices/{invoice['Number']}", {**invoice, "LineItems": [], "PaymentLines": [pay("1")]}), 400,
          "PaymentExceedsAmountDue")


def test_put_with_a_new_number_renumbers_and_answers_201(api: Api) -> None:
    invoice = new_invoice(api, PaymentLines=[pay("5.00")])
    renumbered = api.ok("PUT", f"invoices/{invoice['Number']}", {**invoice, "Number": 9000}, 201)
    assert renumbered["Number"] == 9000 and renumbered["Id"] == invoice["Id"]
    assert renumbered["PaymentLines"][0]["InvoiceNumber"] == 9000
    error(api.get(f"invoices/{invoice['Number']}"), 404, "NotFound")
    error(api.put("invoices/9000", {**invoice, "Number": 1}), 400, "DuplicateNumber")


def test_delete_answers_204_then_404(api: Api) -> None:
    number = new_invoice(api, PaymentLines=[pay("5")])["Number"]
    assert api.delete(f"invoices/{number}").status == 204
    error(api.get(f"invoices/{number}"), 404, "NotFound")
    error(api.delete(f"invoices/{number}"), 404, "NotFound")
    error(api.put(f"invoices/{number}", {"LineItems": []}), 404, "NotFound")
    error(api.get("invoices/abc"), 404)


def test_bulk_payment_adds_payment_lines_to_several_invoices(api: Api) -> None:
    first, second = new_invoice(api), new_invoice(api)
    bulk = api.ok("POST", "invoices/bulk/payments", {
        "Date": "2025-06-28", "AccountId": 1, "Method": 3, "Comment": "Remittance 7781",
        "PaymentItems": [{"ObjectNumber": first["Number"], "Amount": 30}, {"ObjectNumber": second["Number"],
                                                                           "Amount": "12.50"}]}, 201)
    assert bulk["Number"] == 1 and [i["ObjectNumber"] for i in bulk["PaymentItems"]] == [first["Number"],
                                                                                        second["Number"]]
    assert bulk["PaymentItems"][0]["ContactCode"] == first["CustomerCode"] and bulk["Comment"] == "Remittance 7781"
    paid, part = api.ok("GET", f"invoices/{first['Number']}"), api.ok("GET", f"invoices/{second['Number']}")
    assert paid["Status"] == "Paid" and paid["PaymentLines"][0]["BulkPaymentNumber"] == 1
    assert part["Status"] == "Unpaid" and dec(part["TotalPaidAmount"]) == D("12.50")
    assert api.ok("GET", "invoices/bulk/payments/1") == bulk
    assert api.delete("invoices/bulk/payments/1").status == 204
    assert api.ok("GET", f"invoices/{first['Number']}")["Status"] == "Unpaid"
    error(api.get("invoices/bulk/payments/1"), 404, "NotFound")


def test_a_bulk_payment_that_would_overpay_changes_nothing(api: Api) -> None:
    first, second = new_invoice(api), new_invoice(api)
    reply = api.post("invoices/bulk/payments", {"PaymentItems": [{"ObjectNumber": first["Number"], "Amount": 30},
                                                                 {"ObjectNumber": second["Number"], "Amount": 31}]})
    error(reply, 400, "PaymentExceedsAmountDue")
    assert api.ok("GET", f"invoices/{first['Number']}")["Status"] == "Unpaid"
    error(api.post("invoices/bulk/payments", {"PaymentItems": [{"ObjectNumber": 99999, "Amount": 1}]}), 400)
    error(api.post("invoices/bulk/payments", {"PaymentItems": []}), 400)


def test_bulk_payment_can_be_replaced(api: Api) -> None:
    invoice = new_invoice(api)
    api.ok("POST", "invoices/bulk/payments", {"Number": 7, "PaymentItems": [{"ObjectNumber": invoice["Number"],
                                                                             "Amount": 5}]}, 201)
    error(api.post("invoices/bulk/payments", {"Number": 7, "PaymentItems": [{"ObjectNumber": invoice["Number"],
                                                                             "Amount": 5}]}), 400, "DuplicateNumber")
    replaced = api.ok("PUT", "invoices/bulk/payments/7", {"PaymentItems": [{"ObjectNumber": invoice["Number"],
                                                                            "Amount": 30}]})
    assert [dec(i["Amount"]) for i in replaced["PaymentItems"]] == [D(30)]
    assert api.ok("GET", f"invoices/{invoice['Number']}")["Status"] == "Paid"


# --------------------------------------------------------------------------- purchases


def new_purchase(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"SupplierCode": supplier(api), "SupplierReference": "INV-123", "IssuedDate": "2025-06-02",
            "LineItems": [{"Description": "Labour", "Quantity": 1, "Rate": 100.0, "VATLevel": 20, "VATAmount": 20.0,
                           "NominalCode": 5000}], **fields}
    return api.ok("POST", "purchases", body, 201)


def test_purchase_create_update_delete(api: Api) -> None:
    purchase = new_purchase(api, PaymentLines=[{"AccountId": 1, "Amount": 120.0, "Date": "2025-06-20",
                                                "Method": 13}])
    assert purchase["Status"] == "Paid" and dec(purchase["GrossAmount"]) == 120 and purchase["Type"] == "Purchase"
    assert purchase["SupplierReference"] == "INV-123"
    assert purchase["Permalink"].startswith("/v2/documents/purchaseorder/")
    assert purchase["PaymentLines"][0]["Permalink"].startswith("/v2/documents/purchase/payment/")
    line = purchase["LineItems"][0]
    assert line["NominalName"] == "Materials Purchased" and line["StockInfo"] is None
    changed = api.ok("PUT", f"purchases/{purchase['Number']}", {**purchase, "Type": "Expense", "PaymentLines": []})
    assert changed["Type"] == "Expense" and changed["Status"] == "Unpaid"
    assert api.ok("PUT", f"purchases/{purchase['Number']}", {**changed, "Number": 7777}, 201)["Number"] == 7777
    assert api.delete("purchases/7777").status == 204
    error(api.get("purchases/7777"), 404, "NotFound")
    error(api.post("purchases", {"SupplierCode": "NOBODY", "LineItems": []}), 400)
    error(api.post("purchases", {"SupplierCode": supplier(api), "Type": "Gift", "LineItems": []}), 400)
    error(api.post("purchases", {"SupplierCode": supplier(api), "LineItems": [], "PaymentLines": [
        {"Amount": 1, "Method": 3}]}), 400)  # an invoice payment method on a purchase


def test_purchase_number_is_unique_and_next_number_is_published(api: Api) -> None:
    number = new_purchase(api)["Number"]
    error(api.post("purchases", {"SupplierCode": supplier(api), "Number": number, "LineItems": []}), 400,
          "DuplicateNumber")
    assert api.ok("GET", "nextavailablepurchasenumber") == number + 1


def test_purchase_bulk_payment(api: Api) -> None:
    purchase = new_purchase(api)
    api.ok("POST", "purchases/bulk/payments", {"Method": 13, "PaymentItems": [
        {"ObjectNumber": purchase["Number"], "Amount": 120}]}, 201)
    assert api.ok("GET", f"purchases/{purchase['Number']}")["Status"] == "Paid"


# --------------------------------------------------------------------------- stock


def test_selling_a_stocked_product_takes_stock_out_and_deleting_puts_it_back(api: Api) -> None:
    before = stock(api, "RET-TOTE")
    invoice = new_invoice(api, LineItems=[{"ProductCode": "RET-TOTE", "Quantity": 50}])
    assert stock(api, "RET-TOTE") == before - 50
    api.ok("PUT", f"invoices/{invoice['Number']}", {**invoice, "LineItems": [{"ProductCode": "RET-TOTE",
                                                                             "Quantity": 20}]})
    assert stock(api, "RET-TOTE") == before - 20
    api.delete(f"invoices/{invoice['Number']}")
    assert stock(api, "RET-TOTE") == before


def test_received_purchase_lines_put_stock_in(api: Api) -> None:
    before = stock(api, "RET-FRAME-A3")
    line = {"ProductCode": "RET-FRAME-A3", "NominalCode": 5000, "Quantity": 12, "Rate": 9.5, "VATLevel": 20,
            "StockInfo": {"Received": True, "StockReceivedOn": "2025-06-03"}}
    purchase = new_purchase(api, LineItems=[line])
    info = purchase["LineItems"][0]["StockInfo"]
    assert purchase["StockManagementApplicable"] is True and info["Type"] == "Product"
    assert info["Received"] is True and info["QuantityInStock"] == before + 12 == stock(api, "RET-FRAME-A3")
    ordered = new_purchase(api, LineItems=[{**line, "StockInfo": {"Received": False}}])
    assert ordered["LineItems"][0]["StockInfo"]["Received"] is False and stock(api, "RET-FRAME-A3") == before + 12


# --------------------------------------------------------------------------- notes


@pytest.mark.parametrize("object_type", ["invoices", "3", "Invoices"])
def test_notes_on_an_invoice(api: Api, object_type: str) -> None:
    number = new_invoice(api)["Number"]
    base = f"{object_type}/{number}/notes"
    note = api.ok("POST", base, {"Text": "Order shipped"}, 201)
    assert note["Number"] == 1 and note["Text"] == "Order shipped" and note["LastModifiedBy"] == "studio"
    assert note["Date"] == "2025-06-15 15:06:40"
    api.ok("POST", base, {"text": "Delivered"}, 201)
    assert [n["Text"] for n in api.ok("GET", base)] == ["Order shipped", "Delivered"]
    assert api.ok("PUT", f"{base}/1", {"Text": "Order dispatched"})["Text"] == "Order dispatched"
    assert api.delete(f"{base}/1").status == 204
    error(api.get(f"{base}/1"), 404, "NotFound")
    error(api.post(base, {"Text": ""}), 400)
    api.delete(f"invoices/{number}")
    error(api.get(base), 404)


def test_notes_on_customers_suppliers_and_purchases(api: Api) -> None:
    assert api.ok("POST", f"customers/{customer(api)}/notes", {"Text": "Prefers email"}, 201)["Number"] == 1
    assert api.ok("POST", f"2/{supplier(api)}/notes", {"Text": "Call first"}, 201)["Number"] == 1
    assert api.ok("POST", f"purchases/{new_purchase(api)['Number']}/notes", {"Text": "PO 17"}, 201)["Number"] == 1
    error(api.get("customers/NOBODY/notes"), 404)


# --------------------------------------------------------------------------- lists


def test_list_items_are_summaries_without_payment_lines(api: Api) -> None:
    item = api.ok("GET", "invoices?perpage=1")["Data"][0]
    assert "PaymentLines" not in item and "Permalink" not in item and "ReminderLetters" not in item
    assert {"Number", "CustomerCode", "CustomerName", "GrossAmount", "TotalPaidAmount", "Status"} <= set(item)


def test_invoice_filters(api: Api) -> None:
    everything = list(api.pages("invoices?perpage=100"))
    code = everything[0]["CustomerCode"]
    assert {i["CustomerCode"] for i in api.pages(f"invoices?customercode={code}")} == {code}
    statuses = {s: list(api.pages(f"invoices?statusfilter={s}")) for s in ("paid", "unpaid", "partpaid", "overdue",
                                                                            "all")}
    assert statuses["paid"] and {i["Status"] for i in statuses["paid"]} == {"Paid"}
    assert len(statuses["paid"]) + len(statuses["unpaid"]) == len(everything) == len(statuses["all"])
    assert statuses["partpaid"] and all(0 < dec(i["TotalPaidAmount"]) < dec(i["GrossAmount"])
                                        for i in statuses["partpaid"])
    assert statuses["overdue"] and all(i["DueDate"][:10] < TODAY.isoformat() and i["OverdueDays"] > 0
                                       for i in statuses["overdue"])
    window = list(api.pages("invoices?issuedatefrom=2025-04-01&issuedateto=2025-04-30"))
    assert window and all("2025-04-01" <= i["IssuedDate"][:10] <= "2025-04-30" for i in window)
    assert len(window) == sum(1 for i in everything if i["IssuedDate"].startswith("2025-04"))
    reference = next(i["CustomerReference"] for i in everything if i["CustomerReference"])
    assert reference in {i["CustomerReference"] for i in api.pages(f"invoices?searchtext={reference}")}
    new_invoice(api, ProjectNumber=4)
    assert [i["ProjectNumber"] for i in api.pages("invoices?projectnumber=4")] == [4]
    error(api.get("invoices?statusfilter=lost"), 400, "InvalidParameter")
    error(api.get("invoices?issuedatefrom=yesterday"), 400, "InvalidParameter")


def test_purchase_filters(api: Api) -> None:
    everything = list(api.pages("purchases?perpage=100"))
    code = everything[0]["SupplierCode"]
    assert {p["SupplierCode"] for p in api.pages(f"purchases?suppliercode={code}")} == {code}
    unpaid = list(api.pages("purchases?filterby=unpaid"))
    assert unpaid and {p["Status"] for p in unpaid} == {"Unpaid"}
    new_purchase(api, Type="Expense")
    assert [p["Type"] for p in api.pages("purchases?type=expense")] == ["Expense"]
    june = list(api.pages("purchases?issuedatefrom=2025-06-01"))
    assert june and all(p["IssuedDate"] >= "2025-06-01" for p in june)
    may = list(api.pages("purchases?issuedatefrom=2025-05-01&issuedateto=2025-05-31"))
    assert may and all(p["IssuedDate"].startswith("2025-05") for p in may)
    tagged = new_purchase(api, SupplierReference="ZX-4411", ProjectNumber=9)
    assert [p["Number"] for p in api.pages("purchases?searchtext=zx-44")] == [tagged["Number"]]
    assert [p["Number"] for p in api.pages("purchases?projectnumber=9")] == [tagged["Number"]]


INVOICE_SORTS = [("0", "Number"), ("Number", "Number"), ("1", "CustomerReference"), ("2", "CustomerName"),
                 ("3", "IssuedDate"), ("InvoiceDate", "IssuedDate"), ("4", "DueDate"), ("5", "GrossAmount"),
                 ("GrossAmount", "GrossAmount"), ("6", "NetAmount"), ("7", "Status"), ("8", "PaidDate"),
                 ("9", "DueAmount"), ("10", "Type"), ("11", "VATAmount"), ("12", "ProjectNumber")]


@pytest.mark.parametrize(("sortby", "key"), INVOICE_SORTS)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_invoice_sorting(api: Api, sortby: str, key: str, order: str) -> None:
    items = list(api.pages(f"invoices?sortby={sortby}&order={order}&perpage=25"))
    assert len(items) == 60

    def value(item: dict[str, Any]) -> Any:
        raw = item[key]
        return dec(raw) if key.endswith("Amount") else ("" if raw is None else raw)

    values = [value(i) for i in items]
    assert values == sorted(values, reverse=order == "desc")


PURCHASE_SORTS = [("0", "Number"), ("1", "SupplierReference"), ("2", "SupplierName"), ("3", "IssuedDate"),
                  ("PurchaseDate", "IssuedDate"), ("4", "DueDate"), ("5", "GrossAmount"), ("6", "NetAmount"),
                  ("7", "Status"), ("8", "PaidDate"), ("9", "DueAmount"), ("10", "Type"), ("11", "ProjectNumber"),
                  ("12", "VATAmount")]


@pytest.mark.parametrize(("sortby", "key"), PURCHASE_SORTS)
def test_purchase_sorting(api: Api, sortby: str, key: str) -> None:
    new_purchase(api, Type="Expense", ProjectNumber=3)
    values = [dec(p[key]) if key.endswith("Amount") else ("" if p[key] is None else p[key])
              for p in api.pages(f"purchases?sortby={sortby}&order=desc")]
    assert values == sorted(values, reverse=True)


def test_total_amount_is_the_gross_of_every_matching_record(api: Api) -> None:
    everything = list(api.pages("invoices?statusfilter=unpaid"))
    meta = api.ok("GET", "invoices?statusfilter=unpaid&perpage=3")["MetaData"]
    assert dec(meta["TotalAmount"]) == sum(dec(i["GrossAmount"]) for i in everything)
    assert meta["TotalRecords"] == len(everything)


def test_unknown_sortby_is_400(api: Api) -> None:
    error(api.get("invoices?sortby=99"), 400, "InvalidParameter")
    error(api.get("purchases?sortby=Colour"), 400, "InvalidParameter")


def test_seeded_payments_never_predate_their_invoice(api: Api) -> None:
    for item in api.pages("invoices?statusfilter=paid"):
        assert date.fromisoformat(item["PaidDate"][:10]) >= date.fromisoformat(item["IssuedDate"][:10])
