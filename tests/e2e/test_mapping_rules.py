"""A published mapping change (multi-level GL rules, dimensions, line splits) alters the next run and not the
records already posted: Kashflow sandbox -> engine -> AX / Sage sandboxes, read back from their tables."""

from __future__ import annotations

from decimal import Decimal

from integrations.sage100.sandbox.abc import ACCOUNT_KEYS
from integrations.sync.models import SyncRecord, SyncRun
from mapping.defaults import KASHFLOW_TO_SAGE_GL
from mapping.versions import publish, published_version
from tests.e2e.helpers import paid_numbers, run_inline, sage_rows


def add_paid_invoice(store, lines: list[tuple[str, str, int]]) -> str:
    """A new paid Kashflow invoice with (quantity, rate, nominal) lines at 20 % VAT; its number."""
    template = store.get_invoice(1)
    net = sum(Decimal(q) * Decimal(r) for q, r, _ in lines)
    created = store.create_invoice({
        "CustomerCode": template["CustomerCode"], "IssuedDate": template["IssuedDate"],
        "DueDate": template["DueDate"], "Currency": {"Code": "GBP", "ExchangeRate": "1"},
        "LineItems": [{"Description": f"Mapped line {i}", "Quantity": q, "Rate": r, "VATLevel": "20",
                       "NominalCode": nominal} for i, (q, r, nominal) in enumerate(lines, start=1)],
        "PaymentLines": [{"Date": template["IssuedDate"], "Amount": str(net * Decimal("1.2")), "Method": 1,
                          "AccountId": 1}]})
    return str(created["Number"])


def ax_snapshot(ax_store) -> dict[str, list[tuple]]:
    """Kashflow number -> its AX lines as (LINENUM, AMOUNTCUR, ledger display value, TAXGROUP, TAXITEMGROUP)."""
    result = {}
    for header in ax_store.free_text_invoices():
        result[str(header["CUSTOMERREF"])] = [
            (Decimal(str(line["LINENUM"])), Decimal(str(line["AMOUNTCUR"])),
             ax_store.combination(line["LEDGERDIMENSION"])["DISPLAYVALUE"], line["TAXGROUP"], line["TAXITEMGROUP"])
            for line in header["lines"]]
    return result


def test_a_published_gl_rule_and_split_change_the_next_ax_run_only(invoice_flow, kashflow_sandbox, ax_sandbox):
    first = run_inline(invoice_flow)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    before = ax_snapshot(ax_sandbox.store)
    assert set(before) == paid_numbers(kashflow_sandbox.store)
    v1 = published_version(invoice_flow)

    rules = dict(v1.rules)
    rules["dimensions"] = {"BusinessUnit": "002", "Department": "023"}
    rules["gl_rules"] = [{"nominal": "4000", "department": "023", "account": "401400"},
                         {"nominal": "4000", "department": "099", "account": "401200"}]  # does not match
    rules["line_handling"] = {"splits": [{"nominal": "4001", "parts": [
        {"percent": 60, "dimensions": {"Department": "024"}}, {"percent": 40, "dimensions": {"Department": "025"}}]}]}
    v2 = publish(invoice_flow, rules, note="Department 023, accrued sales, design split")
    number = add_paid_invoice(kashflow_sandbox.store, [("2", "50", 4000), ("1", "33.33", 4001)])

    second = run_inline(invoice_flow)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    assert second.records_posted == 1
    after = ax_snapshot(ax_sandbox.store)
    assert {k: v for k, v in after.items() if k != number} == before  # posted records untouched
    assert after[number] == [
        (Decimal(1), Decimal("100"), "401400-002-023", "GB", "STD"),
        (Decimal(2), Decimal("20"), "401200-002-024", "GB", "STD"),  # 60 % of 33.33 = 19.998 -> 20.00
        (Decimal(3), Decimal("13.33"), "401200-002-025", "GB", "STD"),  # the remainder
    ]
    new = SyncRecord.objects.get(flow=invoice_flow, source_id=number)
    assert new.mapping_version_id == v2.pk
    assert set(SyncRecord.objects.filter(flow=invoice_flow).exclude(source_id=number)
               .values_list("mapping_version_id", flat=True)) == {v1.pk}

    third = run_inline(invoice_flow)
    assert third.status == SyncRun.Status.SUCCEEDED and third.records_posted == 0
    assert ax_snapshot(ax_sandbox.store) == after


def test_an_unmapped_nominal_under_the_new_rules_is_one_inbox_group_naming_it(invoice_flow, kashflow_sandbox,
                                                                                ax_sandbox):
    run_inline(invoice_flow)
    rules = dict(published_version(invoice_flow).rules)
    rules["gl_accounts"] = {k: v for k, v in rules["gl_accounts"].items() if k != "4001"}
    publish(invoice_flow, rules, note="4001 unmapped")
    number = add_paid_invoice(kashflow_sandbox.store, [("1", "10", 4001)])
    run = run_inline(invoice_flow)
    failed = SyncRecord.objects.get(flow=invoice_flow, source_id=number)
    assert (failed.status, failed.error_code) == ("failed", "mapping_missing"), run.message
    assert "No AX main account is mapped for Kashflow nominal code 4001" in failed.last_error
    assert number not in {str(h["CUSTOMERREF"]) for h in ax_sandbox.store.free_text_invoices()}


def test_a_division_segment_rule_changes_the_next_sage_run_only(sage_invoice_flow, sage_kashflow_sandbox,
                                                                 sage_sandbox):
    first = run_inline(sage_invoice_flow)
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    query = ("SELECT H.Comment, D.DetailSeqNo, D.SalesAcctKey, D.ExtensionAmt FROM AR_InvoiceHistoryDetail D JOIN "
             "AR_InvoiceHistoryHeader H ON H.InvoiceNo = D.InvoiceNo AND H.HeaderSeqNo = D.HeaderSeqNo "
             "WHERE H.Comment LIKE 'Kashflow invoice %' ORDER BY H.Comment, D.DetailSeqNo")
    before = sage_rows(sage_sandbox, query)
    assert before

    rules = dict(published_version(sage_invoice_flow).rules)
    rules["dimensions"] = {"Division": "02"}  # 400-00-00 -> 400-02-00 (Sales - Western)
    rules["gl_rules"] = [{"nominal": "4001", "account": "400-00-00"}]
    publish(sage_invoice_flow, rules, note="Western division")
    number = add_paid_invoice(sage_kashflow_sandbox.store, [("2", "50", 4000), ("1", "7.5", 4001)])

    second = run_inline(sage_invoice_flow)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    assert second.records_posted == 1
    rows = sage_rows(sage_sandbox, query)
    mine = [r for r in rows if r["Comment"] == f"Kashflow invoice {number}"]
    assert [r for r in rows if r["Comment"] != f"Kashflow invoice {number}"] == before
    assert [(r["SalesAcctKey"], Decimal(str(r["ExtensionAmt"]))) for r in mine] == [
        (ACCOUNT_KEYS["400-02-00"], Decimal("100")),
        (ACCOUNT_KEYS["400-02-00"], Decimal("7.5")),  # 4001 -> 400-00-00 by the rule, then the division segment
    ]
    assert KASHFLOW_TO_SAGE_GL["4001"] != "400-00-00"  # the rule, not the default, decided line 2
    [header] = sage_rows(sage_sandbox, "SELECT SalesTaxAmt FROM AR_InvoiceHistoryHeader WHERE Comment = ?",
                         (f"Kashflow invoice {number}",))
    assert Decimal(str(header["SalesTaxAmt"])) == Decimal("21.50")

    third = run_inline(sage_invoice_flow)
    assert third.status == SyncRun.Status.SUCCEEDED and third.records_posted == 0
    assert sage_rows(sage_sandbox, query) == rows
