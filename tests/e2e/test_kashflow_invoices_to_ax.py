"""Kashflow sandbox -> engine -> AX sandbox, end to end."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.sync.models import Binding, Connection, SyncRecord, SyncRun
from integrations.sync.services import connection_test
from tests.e2e.helpers import ax_invoices, paid_numbers, run_inline


def test_sync_now_posts_every_paid_invoice_once_and_a_second_run_posts_nothing(
    invoice_flow, kashflow_sandbox, ax_sandbox, capsys
):
    paid = paid_numbers(kashflow_sandbox.store)
    assert 5 < len(paid) < 30  # the seed has paid and unpaid invoices

    call_command("sync_now", tenant="alpha", flow="kashflow_invoices_to_ax")
    first = SyncRun.objects.get()
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    assert first.records_posted == len(paid)
    posted = ax_invoices(ax_sandbox.store)
    assert set(posted) == paid and set(posted.values()) == {1}
    assert Binding.objects.count() == len(paid)
    assert "posted" in capsys.readouterr().out

    call_command("sync_now", tenant="alpha", flow="kashflow_invoices_to_ax")
    second = SyncRun.objects.order_by("-pk").first()
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 0
    assert ax_invoices(ax_sandbox.store) == posted


def test_posted_invoice_lines_carry_mapped_main_accounts_and_dimensions(invoice_flow):
    run_inline(invoice_flow)
    record = SyncRecord.objects.filter(status="posted").first()
    header = record.target_payload["CustInvoiceTable"][0]
    lines = header["CustInvoiceLine"]
    assert header["OrderAccount"] == record.payload["customer_code"]
    assert len(lines) == len(record.payload["lines"])
    for line, source_line in zip(lines, record.payload["lines"], strict=True):
        main_account = {"4000": "401100", "4001": "401200", "4002": "401100", "4905": "403150"}[
            source_line["account_code"]]
        assert line["LedgerDimension"]["DisplayValue"] == f"{main_account}-001-022"


def test_ax_timeouts_after_commit_are_resolved_by_messageid_in_the_same_run(invoice_flow, kashflow_sandbox,
                                                                              ax_sandbox):
    paid = paid_numbers(kashflow_sandbox.store)
    ax_sandbox.app.faults.set({"timeout_after_commit": {"every": 3}})
    run = run_inline(invoice_flow)  # each lost answer: same message again -> DuplicateMessage -> key look-up
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    ax_sandbox.app.faults.set({})
    posted = ax_invoices(ax_sandbox.store)
    assert set(posted) == paid and set(posted.values()) == {1}
    assert not Binding.objects.filter(external_id__startswith="MessageId:").exists()


def test_wrong_kashflow_password_is_a_readable_connection_error(invoice_flow):
    source = invoice_flow.source
    source.password = "not-the-password"
    source.save()
    with pytest.raises(CommandError):
        call_command("sync_now", tenant="alpha", flow="kashflow_invoices_to_ax")
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED
    assert "Kashflow" in run.message and "Traceback" not in run.message
    assert "not-the-password" not in run.message
    source.refresh_from_db()
    assert source.status == Connection.Status.AUTH_FAILED

    ok, message = connection_test(connection=source)
    assert not ok and "Kashflow" in message and "not-the-password" not in message


def test_connection_tests_succeed_against_the_sandboxes(invoice_flow):
    assert connection_test(connection=invoice_flow.source)[0]
    ok, message = connection_test(connection=invoice_flow.target)
    assert ok, message


def test_unmapped_nominal_code_fails_the_record_with_a_clear_reason(invoice_flow, monkeypatch):
    from integrations.sync.flows import kashflow_invoices_to_ax

    monkeypatch.setattr(kashflow_invoices_to_ax, "KASHFLOW_TO_AX_GL",
                        {"4001": "401200", "4002": "401100", "4905": "403150"})  # 4000 unmapped
    run = run_inline(invoice_flow)
    failed = SyncRecord.objects.filter(status="failed")
    assert failed.count() == run.records_failed > 0, (run.records_posted, run.records_seen, run.message)
    assert run.status == SyncRun.Status.PARTIAL
    assert all("Kashflow nominal code 4000" in r.last_error for r in failed)
    assert all(any(line["account_code"] == "4000" for line in r.payload["lines"]) for r in failed)


def test_dashboard_shows_the_connections_and_the_last_run(invoice_flow, tenant_client, make_user):
    from tests.portal.test_auth_and_roles import login

    run_inline(invoice_flow)
    login(tenant_client, make_user("viewer"))
    page = tenant_client.get("/").content.decode()
    assert "Kashflow (sandbox)" in page and "Dynamics AX (sandbox)" in page
    assert "Succeeded" in page and "posted" in page


def test_an_unreadable_kashflow_invoice_is_kept_with_its_reason_and_the_run_goes_on(invoice_flow, monkeypatch):
    from integrations.kashflow.client import KashflowClient

    original = KashflowClient.get_invoice
    broken = {}

    def get_invoice(self, number):
        raw = original(self, number)
        if not broken:
            broken["number"] = str(number)
            raw = {k: v for k, v in raw.items() if k != "CustomerCode"}
        return raw

    monkeypatch.setattr(KashflowClient, "get_invoice", get_invoice)
    run = run_inline(invoice_flow)
    assert run.status == SyncRun.Status.PARTIAL and run.records_failed == 1
    assert run.records_posted > 0
    record = SyncRecord.objects.get(status="failed")
    assert record.source_id == broken["number"] and "CustomerCode" in record.last_error
    assert record.payload["unreadable"] and record.payload["raw"]["Number"]


def money(value):
    from decimal import Decimal

    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_lines_carry_the_tax_groups_of_their_vat_rate_and_ax_posts_the_kashflow_vat(invoice_flow, kashflow_sandbox,
                                                                                     ax_sandbox):
    from decimal import Decimal

    from mapping.defaults import AX_TAX_GROUPS

    run_inline(invoice_flow)
    store = ax_sandbox.store
    records = SyncRecord.objects.filter(status="posted")
    assert records.exists()
    rates = set()
    for record in records:
        lines = record.target_payload["CustInvoiceTable"][0]["CustInvoiceLine"]
        for line, source_line in zip(lines, record.payload["lines"], strict=True):
            rate = source_line["tax_rate"]
            key = "exempt" if rate is None else format(Decimal(str(rate)).normalize(), "f")
            rates.add(key)
            assert (line["TaxGroup"], line["TaxItemGroup"]) == (AX_TAX_GROUPS[key]["TaxGroup"],
                                                                AX_TAX_GROUPS[key]["TaxItemGroup"])
        invoice = kashflow_sandbox.store.get_invoice(int(record.source_id))
        header = store.one("SELECT * FROM CUSTINVOICETABLE WHERE RECID = ?", (int(record.target_id),))
        jour = store.one("SELECT * FROM CUSTINVOICEJOUR WHERE INVOICEID = ? AND DATAAREAID = ?",
                         (header["INVOICEID"], header["DATAAREAID"]))
        # AX computed the VAT from the groups (per line, rounded per line): the same as Kashflow's.
        assert money(jour["SUMTAX"]) == money(invoice["VATAmount"]), record.source_id
        assert money(jour["INVOICEAMOUNT"]) == money(invoice["GrossAmount"]), record.source_id
        assert money(jour["SALESBALANCE"]) == money(invoice["NetAmount"])
        trans = store.one("SELECT * FROM CUSTTRANS WHERE INVOICE = ? AND AMOUNTCUR > 0", (header["INVOICEID"],))
        assert money(trans["AMOUNTCUR"]) == money(invoice["GrossAmount"])
        taxes = store.query("SELECT * FROM TAXTRANS WHERE VOUCHER = ?", (jour["LEDGERVOUCHER"],))
        assert len(taxes) == len(lines) and -sum(money(t["SOURCETAXAMOUNTCUR"]) for t in taxes) == money(
            invoice["VATAmount"])
    assert "20" in rates


def test_an_unmapped_vat_rate_fails_the_record_with_a_clear_reason(invoice_flow, monkeypatch):
    from integrations.sync.flows import kashflow_invoices_to_ax

    monkeypatch.setattr(kashflow_invoices_to_ax, "AX_TAX_GROUPS",
                        {k: v for k, v in kashflow_invoices_to_ax.AX_TAX_GROUPS.items() if k != "20"})
    run = run_inline(invoice_flow)
    failed = SyncRecord.objects.filter(status="failed")
    assert failed.count() == run.records_failed > 0 and run.status == SyncRun.Status.PARTIAL
    assert all("VAT rate 20" in r.last_error and r.error_code == "mapping_missing" for r in failed)


def _new_customer_with_a_paid_invoice(store, code: str) -> int:
    template = store.get_invoice(1)
    store.create_customer({"Code": code, "Name": f"{code} Trading Ltd",
                           "Addresses": [{"Line1": "1 Quay St", "Line2": "Bristol", "PostCode": "BS1 4DJ",
                                          "CountryCode": "GB"}]})
    created = store.create_invoice({
        "CustomerCode": code, "IssuedDate": template["IssuedDate"], "DueDate": template["DueDate"],
        "LineItems": [{"Description": "Banner", "Quantity": "1", "Rate": "100", "VATLevel": "20",
                       "NominalCode": template["LineItems"][0]["NominalCode"]}],
        "PaymentLines": [{"Date": template["IssuedDate"], "Amount": "120", "Method": 1, "AccountId": 1}]})
    return int(created["Number"])


def test_an_invoice_for_a_customer_ax_is_still_creating_waits_instead_of_failing(invoice_flow, kashflow_sandbox,
                                                                                   ax_sandbox):
    from integrations.sync.models import Flow

    number = _new_customer_with_a_paid_invoice(kashflow_sandbox.store, "NEWCO1")
    first = run_inline(invoice_flow)  # before kashflow_customers_to_ax has created NEWCO1 in AX
    assert first.status == SyncRun.Status.SUCCEEDED, first.message
    assert "wait for a record they depend on" in first.message
    waiting = SyncRecord.objects.get(flow=invoice_flow, source_id=str(number))
    assert (waiting.status, waiting.error_code) == ("pending", "awaiting_dependency")
    assert "NEWCO1" in waiting.last_error

    customers = Flow.objects.get(key="kashflow_customers_to_ax")
    assert run_inline(customers).status == SyncRun.Status.SUCCEEDED
    second = run_inline(invoice_flow)
    assert second.status == SyncRun.Status.SUCCEEDED, second.message
    waiting.refresh_from_db()
    assert waiting.status == "posted"
    [header] = [h for h in ax_sandbox.store.free_text_invoices() if str(h["CUSTOMERREF"]) == str(number)]
    assert header["ORDERACCOUNT"] == "NEWCO1"


def test_without_the_customer_flow_an_unknown_customer_is_an_inbox_error(invoice_flow, kashflow_sandbox):
    from integrations.sync.models import Flow

    Flow.objects.filter(key="kashflow_customers_to_ax").update(enabled=False)
    number = _new_customer_with_a_paid_invoice(kashflow_sandbox.store, "NEWCO2")
    run = run_inline(invoice_flow)
    assert run.status == SyncRun.Status.PARTIAL
    failed = SyncRecord.objects.get(flow=invoice_flow, source_id=str(number))
    assert failed.status == "failed" and failed.error_code == "RelatedRecordNotFound"
