"""Sage 100 -> Kashflow: stock levels, sales-order status notes and paid status, proven against the sandboxes.

Each test drives the real pipeline (Sage ODBC + agent sandbox -> engine -> Kashflow sandbox). Changes on the Sage
side are made the way Sage makes them: through the agent's business objects where the sandbox has one, or as a
Sage user's update of the company file (which stamps DateUpdated/TimeUpdated like every Sage write).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from integrations.sync.models import Binding, SyncRecord, SyncRun
from mapping.versions import publish, published_version
from tests.e2e.helpers import run_inline, sage_rows


@pytest.fixture
def sage_user(sage_sandbox):
    """A Sage user's session on the company file: every write stamps the rows later than the seeded data."""
    from integrations.sage100.agent.backends.emulated.db import CompanyDb

    ticks = itertools.count(1)
    start = datetime.combine(date.today(), time(18, 30))
    db = CompanyDb(sage_sandbox.company_db, clock=lambda: start + timedelta(seconds=20 * next(ticks)))

    def update(table: str, key: dict, values: dict) -> None:
        with db.transaction():
            db.update(table, key, values, user_key="0000000002")

    yield update
    db.close()


@pytest.fixture
def sage_flows(tenant, sage_pair, sage_kashflow_sandbox, sage_sandbox):
    from integrations.sync.sandbox_setup import connect_sandbox

    return {f.key: f for f in connect_sandbox(instance_id=sage_pair.id, fields=sage_pair.fields).flows}


# ---------------------------------------------------------------------- stock levels


def on_hand(sage_sandbox, warehouse: str = "") -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in sage_rows(sage_sandbox, "SELECT ItemCode, WarehouseCode, QuantityOnHand FROM IM_ItemWarehouse"):
        if not warehouse or row["WarehouseCode"] == warehouse:
            totals[row["ItemCode"]] += Decimal(str(row["QuantityOnHand"]))
    return totals


def kashflow_products(kashflow, items: list[str], nominal: int = 4000) -> None:
    for item in items:
        kashflow.store.create_product({"NominalCode": nominal, "Code": item, "Name": f"Sage item {item}",
                                       "ManageStockLevel": True, "QuantityInStock": 0})


def stock(kashflow, item: str, nominal: int = 4000) -> int:
    return kashflow.store.get_product(nominal, item)["QuantityInStock"]


def items_in_two_warehouses(sage_sandbox, count: int) -> list[str]:
    rows = sage_rows(sage_sandbox, "SELECT ItemCode FROM IM_ItemWarehouse GROUP BY ItemCode "
                                   "HAVING COUNT(*) > 1 ORDER BY ItemCode")
    return [r["ItemCode"] for r in rows[:count]]


def test_stock_on_hand_summed_over_warehouses_reaches_kashflow_and_only_changes_are_written(
        sage_flows, sage_kashflow_sandbox, sage_sandbox, sage_user):
    flow = sage_flows["sage_stock_to_kashflow"]
    items = items_in_two_warehouses(sage_sandbox, 3)
    kashflow_products(sage_kashflow_sandbox, items)
    expected = on_hand(sage_sandbox)

    first = run_inline(flow)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    assert first.records_posted == 3
    for item in items:
        assert stock(sage_kashflow_sandbox, item) == int(expected[item])
        assert Binding.objects.get(source_id=f"{item}@*").external_id == f"4000/{item}"
    # Sage items Kashflow does not sell are skipped, with the reason, never sent.
    skipped = SyncRecord.objects.filter(flow=flow, status="skipped").first()
    assert skipped is not None and "Kashflow has no product" in skipped.last_error

    second = run_inline(flow)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 0
    assert second.target_calls == 0

    # A quantity change in one warehouse is written; a change of another column (reorder point) is not.
    changed, untouched = items[0], items[1]
    [row] = sage_rows(sage_sandbox, "SELECT WarehouseCode, QuantityOnHand FROM IM_ItemWarehouse WHERE ItemCode = ? "
                                    "ORDER BY WarehouseCode LIMIT 1", (changed,))
    sage_user("IM_ItemWarehouse", {"ItemCode": changed, "WarehouseCode": row["WarehouseCode"]},
              {"QuantityOnHand": Decimal(str(row["QuantityOnHand"])) + 7})
    sage_user("IM_ItemWarehouse", {"ItemCode": untouched, "WarehouseCode": row["WarehouseCode"]},
              {"ReorderPointQty": Decimal(55)})
    third = run_inline(flow)
    assert third.status == SyncRun.Status.SUCCEEDED, third.message
    assert third.records_posted == 1 and third.target_calls == 1
    assert stock(sage_kashflow_sandbox, changed) == int(expected[changed]) + 7
    assert stock(sage_kashflow_sandbox, untouched) == int(expected[untouched])

    # Back to the earlier quantity: a change again, written again (not mistaken for the first, settled version).
    sage_user("IM_ItemWarehouse", {"ItemCode": changed, "WarehouseCode": row["WarehouseCode"]},
              {"QuantityOnHand": Decimal(str(row["QuantityOnHand"]))})
    assert run_inline(flow).records_posted == 1
    assert stock(sage_kashflow_sandbox, changed) == int(expected[changed])
    assert run_inline(flow).records_posted == 0


def test_one_configured_warehouse_and_a_mapped_product(sage_flows, sage_kashflow_sandbox, sage_sandbox):
    flow = sage_flows["sage_stock_to_kashflow"]
    flow.options = {**flow.options, "warehouse": "000", "unmatched": "fail"}
    flow.save()
    item, other = items_in_two_warehouses(sage_sandbox, 2)
    sage_kashflow_sandbox.store.create_product({"NominalCode": 4000, "Code": "KF-STAND", "Name": "Stand",
                                                "ManageStockLevel": True, "QuantityInStock": 3})
    rules = published_version(flow).rules
    publish(flow, {**rules, "products": {item: "4000/KF-STAND"}}, note="stand")

    run = run_inline(flow)
    central = on_hand(sage_sandbox, "000")
    assert stock(sage_kashflow_sandbox, "KF-STAND") == int(central[item])
    # With unmatched = fail, an item Kashflow lacks is in the inbox with the fix to make.
    failed = SyncRecord.objects.get(flow=flow, source_id=f"{other}@000")
    assert failed.status == "failed" and failed.error_code == "mapping_missing"
    assert other in failed.last_error and "products" in failed.last_error
    assert run.status == SyncRun.Status.PARTIAL and run.records_posted == 1
    assert run_inline(flow).records_posted == 0


# ---------------------------------------------------------------------- sales-order status


def open_orders(sage_sandbox, count: int) -> list[str]:
    rows = sage_rows(sage_sandbox, "SELECT SalesOrderNo FROM SO_SalesOrderHeader WHERE OrderType = 'S' AND "
                                   "OrderStatus = 'O' AND COALESCE(CurrentInvoiceNo, '') = '' AND "
                                   "COALESCE(LastInvoiceOrderNo, '') = '' ORDER BY SalesOrderNo")
    return [r["SalesOrderNo"] for r in rows[:count]]


def invoice_notes(kashflow, number: int) -> list[str]:
    return [note["Text"] for note in kashflow.store.list_notes("invoices", str(number))]


def test_order_status_changes_become_one_note_each_on_the_linked_kashflow_invoice(
        sage_flows, sage_kashflow_sandbox, sage_sandbox, sage_user, monkeypatch):
    from integrations.sync import pipeline
    from tests.e2e.helpers import WorkerDied

    flow = sage_flows["sage_order_status_to_kashflow"]
    linked, customer_po, dangling = open_orders(sage_sandbox, 3)
    number = sage_kashflow_sandbox.store.list_invoices(page=1, perpage=1).items[0]["Number"]
    before = invoice_notes(sage_kashflow_sandbox, number)
    sage_user("SO_SalesOrderHeader", {"SalesOrderNo": linked}, {"CustomerPONo": str(number)})
    sage_user("SO_SalesOrderHeader", {"SalesOrderNo": customer_po}, {"CustomerPONo": "PO-778"})
    sage_user("SO_SalesOrderHeader", {"SalesOrderNo": dangling}, {"CustomerPONo": "9999999"})

    # The note is written, then the worker dies before the answer is bound: the resumed run finds the note.
    def die(at: str) -> None:
        if at == "send":
            raise WorkerDied(at)

    monkeypatch.setattr(pipeline, "crash_hook", die)
    with pytest.raises(WorkerDied):
        run_inline(flow)
    monkeypatch.setattr(pipeline, "crash_hook", None)
    first = run_inline(flow)
    notes = invoice_notes(sage_kashflow_sandbox, number)
    assert len(notes) == len(before) + 1
    assert notes[-1].startswith(f"Sage 100 sales order {linked}: Open (OrderStatus O)")
    record = SyncRecord.objects.get(flow=flow, source_id=linked, status="posted")
    assert record.payload["invoice_number"] == str(number) and record.payload["status"] == "released"
    assert record.target_id.startswith(f"{number}/notes/")
    # An order naming an invoice Kashflow lacks is in the inbox; one with a customer's own PO is not linked.
    failed = SyncRecord.objects.get(flow=flow, source_id=dangling)
    assert failed.status == "failed" and failed.error_code == "invalid_value"
    assert "9999999" in failed.last_error and dangling in failed.last_error
    assert not SyncRecord.objects.filter(flow=flow, source_id=customer_po).exclude(status="skipped").exists()
    assert first.records_posted == 1  # the linked order, bound from the note the crashed run wrote

    assert run_inline(flow).records_posted == 0
    assert len(invoice_notes(sage_kashflow_sandbox, number)) == len(before) + 1

    # An edit that is not a status change writes nothing; shipping, then completion, one note each.
    sage_user("SO_SalesOrderHeader", {"SalesOrderNo": linked}, {"Comment": "Call before delivery"})
    assert run_inline(flow).records_posted == 0
    sage_user("SO_SalesOrderHeader", {"SalesOrderNo": linked}, {"CurrentInvoiceNo": "0100900"})
    assert run_inline(flow).records_posted == 1
    sage_user("SO_SalesOrderHeader", {"SalesOrderNo": linked}, {"OrderStatus": "C"})
    assert run_inline(flow).records_posted == 1
    notes = invoice_notes(sage_kashflow_sandbox, number)
    assert len(notes) == len(before) + 3
    assert notes[-2].startswith(f"Sage 100 sales order {linked}: Shipped (shipping invoice 0100900)")
    assert notes[-1].startswith(f"Sage 100 sales order {linked}: Completed (OrderStatus C)")
    assert run_inline(flow).records_posted == 0
    assert len(invoice_notes(sage_kashflow_sandbox, number)) == len(before) + 3


# ---------------------------------------------------------------------- paid status


def sage_receipt(connection, key: str, invoice_no: str, customer: str, amount: Decimal, check: str) -> None:
    from integrations.sync.connectors import sage_agent_client_for

    division, customer_no = customer.split("-", 1)
    sage_agent_client_for(connection).apply_one({
        "key": key, "object": "AR_CashReceipts_bus", "action": "create",
        "fields": {"ARDivisionNo": division, "CustomerNo": customer_no, "CheckNo": check,
                   "DepositDate": date.today().isoformat(), "PaymentType": "CHECK", "PostingAmt": float(amount)},
        "lines": [{"InvoiceNo": invoice_no, "AmountPosted": float(amount)}]})


def test_invoices_settled_in_sage_get_their_payment_in_kashflow_once(sage_flows, sage_kashflow_sandbox, sage_sandbox):
    invoices = sage_flows["kashflow_invoices_to_sage"]
    invoices.options = {**invoices.options, "paid_only": False}
    invoices.save()
    assert run_inline(invoices).status == SyncRun.Status.SUCCEEDED
    store = sage_kashflow_sandbox.store
    listed = store.list_invoices(page=1, perpage=500).items
    unpaid = [i for i in listed if i["Status"] != "Paid" and Decimal(str(i["DueAmount"])) > 0]
    part_paid = next(i for i in unpaid if Decimal(str(i["TotalPaidAmount"] or 0)) > 0)
    never_paid = [i for i in unpaid if not Decimal(str(i["TotalPaidAmount"] or 0))][:2]
    paid_in_sage, paid_from_kashflow = never_paid
    for n, (invoice, check) in enumerate([(paid_in_sage, "5001"), (part_paid, "5002"),
                                          (paid_from_kashflow, "KF77")]):
        number = str(invoice["Number"])
        [open_item] = sage_rows(sage_sandbox, "SELECT Balance FROM AR_OpenInvoice WHERE InvoiceNo = ? AND "
                                              "Comment = ?", (number.zfill(7), f"Kashflow invoice {number}"))
        sage_receipt(invoices.target, f"test-receipt-{n}", number.zfill(7), invoice["CustomerCode"],
                     Decimal(str(open_item["Balance"])), check)

    flow = sage_flows["sage_paid_status_to_kashflow"]
    first = run_inline(flow)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    assert first.records_posted == 2
    default_bank = next(b for b in store.list_bank_accounts() if b["IsDefaultAccount"])
    for invoice in (paid_in_sage, part_paid):
        after = store.get_invoice(invoice["Number"])
        assert after["Status"] == "Paid"
        line = after["PaymentLines"][-1]
        assert Decimal(str(line["Amount"])) == Decimal(str(invoice["DueAmount"])).quantize(Decimal("0.01"))
        assert line["AccountId"] == default_bank["Id"]
        assert line["Date"][:10] == date.today().isoformat()
        assert line["Note"].startswith("Ledgerbridge: paid in Sage 100 (A/R invoice") and "check 500" in line["Note"]
    # Settled only by a receipt that came from Kashflow: Kashflow is not told again.
    assert store.get_invoice(paid_from_kashflow["Number"])["Status"] != "Paid"
    record = SyncRecord.objects.get(flow=flow, source_id__endswith=str(paid_from_kashflow["Number"]).zfill(7))
    assert record.status == "skipped" and "came from Kashflow" in record.last_error

    lines_before = {i["Number"]: len(store.get_invoice(i["Number"])["PaymentLines"]) for i in (paid_in_sage, part_paid)}
    second = run_inline(flow)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 0
    assert {n: len(store.get_invoice(n)["PaymentLines"]) for n in lines_before} == lines_before


def test_the_custom_field_target_reports_a_field_kashflow_does_not_keep(sage_flows, sage_kashflow_sandbox,
                                                                        sage_sandbox, sage_user):
    flow = sage_flows["sage_order_status_to_kashflow"]
    flow.options = {**flow.options, "status_target": "custom_field"}
    flow.save()
    [order] = open_orders(sage_sandbox, 1)
    invoice = sage_kashflow_sandbox.store.list_invoices(page=1, perpage=1).items[0]
    before = sage_kashflow_sandbox.store.get_invoice(invoice["Number"])
    sage_user("SO_SalesOrderHeader", {"SalesOrderNo": order}, {"CustomerPONo": str(invoice["Number"])})
    run = run_inline(flow)
    record = SyncRecord.objects.get(flow=flow, source_id=order)
    assert record.status == "failed" and record.error_code == "invalid_value"
    assert "did not keep AdditionalFieldValue" in record.last_error and "note" in record.last_error
    assert run.status == SyncRun.Status.PARTIAL
    after = sage_kashflow_sandbox.store.get_invoice(invoice["Number"])  # the read-modify-write lost nothing
    assert after["LineItems"] == before["LineItems"] and after["PaymentLines"] == before["PaymentLines"]
    assert after["GrossAmount"] == before["GrossAmount"]
