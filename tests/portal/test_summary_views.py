"""Summary journals in the portal: the list per flow, the drill-down from a line to its Kashflow sources."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from integrations.sync.models import Connection, Flow, SyncRun
from integrations.sync.summary_models import SummaryContribution, SummaryJournal, SummaryLine, SummarySource
from tests.portal.test_inbox_views import signed_in


@pytest.fixture
def journal(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    flow = Flow.objects.create(key="kashflow_summary_to_ax", name="Summary to AX", source=kf, target=ax)
    run = SyncRun.objects.create(flow=flow, status="succeeded")
    journal = SummaryJournal.objects.create(
        flow=flow, period_start=date(2026, 11, 20), period_end=date(2026, 11, 20), status="posted",
        message_id="A1B2", document={}, target_id="GBSI-000123", description="Kashflow sales 2026-11-20",
        total_debit=Decimal("240.00"), total_credit=Decimal("240.00"), source_count=2, posted_run=run)
    ar, sales, tax = (SummaryLine.objects.create(journal=journal, line_no=n, role=role, account=account,
                                                  currency="GBP", debit=debit, credit=credit, text=text,
                                                  dimensions=dims, tax_code=code, source_count=2)
                      for n, role, account, debit, credit, text, dims, code in (
                          (1, "ar_invoice", "130100", Decimal("240.00"), 0, "Invoices 20.11", {}, ""),
                          (2, "sales", "401100", 0, Decimal("200.00"), "Sales 20.11 VAT 20%",
                           {"BusinessUnit": "001"}, "20"),
                          (3, "tax", "222200", 0, Decimal("40.00"), "VAT 20% 20.11", {}, "20")))
    for number, net in (("1041", Decimal("150.00")), ("1042", Decimal("50.00"))):
        source = SummarySource.objects.create(
            flow=flow, kind="invoice", source_id=number, invoice_number=number, customer_code="ACME",
            date=date(2026, 11, 20), currency="GBP", amount=net * Decimal("1.2"), payload={}, digest="d",
            status="journaled", journal=journal, note="Changed in Kashflow after it was summarised" if
            number == "1042" else "")
        SummaryContribution.objects.create(line=ar, source=source, amount=net * Decimal("1.2"))
        SummaryContribution.objects.create(line=sales, source=source, amount=-net)
        SummaryContribution.objects.create(line=tax, source=source, amount=-net * Decimal("0.2"))
    return journal


def test_the_journal_list_needs_a_login(tenant_client, journal):
    response = tenant_client.get(f"/flows/{journal.flow_id}/journals/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_viewer_sees_the_journals_of_a_flow_and_finds_one_by_kashflow_number(make_user, journal):
    client = signed_in("viewer", make_user)
    page = client.get(f"/flows/{journal.flow_id}/journals/").content.decode()
    assert "2026-11-20" in page and "GBSI-000123" in page and f"/journals/{journal.pk}/" in page
    assert "GBSI-000123" in client.get(f"/flows/{journal.flow_id}/journals/?q=1042").content.decode()
    assert "No journal holds Kashflow invoice 9999" in client.get(
        f"/flows/{journal.flow_id}/journals/?q=9999").content.decode()


def test_the_drill_down_shows_each_line_and_the_sources_it_totals(make_user, journal):
    client = signed_in("viewer", make_user)
    page = client.get(f"/journals/{journal.pk}/").content.decode()
    assert "130100" in page and "401100" in page and "BusinessUnit=001" in page and "222200" in page
    assert "1041" in page and "1042" in page and "changed in Kashflow after this journal" in page
    line = client.get(f"/journals/{journal.pk}/?line=2").content.decode()
    assert "Sources of line 2 (401100)" in line and "-150.00" in line and "-50.00" in line
    assert f"/flows/{journal.flow_id}/journals/?q=1041" in line  # each Kashflow number leads to its journals


def test_the_run_page_links_to_the_journals(make_user, journal):
    client = signed_in("viewer", make_user)
    page = client.get(f"/runs/{journal.posted_run_id}/").content.decode()
    assert "1 journal posted by this run" in page and f"/flows/{journal.flow_id}/journals/" in page
