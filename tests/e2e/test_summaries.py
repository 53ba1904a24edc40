"""Summarised posting, end to end: Kashflow sandbox -> one GL journal per closed day -> AX / Sage 100 sandboxes.

Every expectation is computed independently from the Kashflow sandbox's own invoices (lines, VAT, payment
lines) and compared with what the ERP sandbox stored, line by line.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.sync import pipeline
from integrations.sync.models import Flow, SyncRecord, SyncRun
from integrations.sync.summary_models import SummaryContribution, SummaryJournal, SummaryLine, SummarySource
from mapping.defaults import KASHFLOW_TO_AX_GL, KASHFLOW_TO_SAGE_GL
from tests.e2e.helpers import WorkerDied, run_inline

CENT = Decimal("0.01")


def _wire(pair, key: str, **options) -> Flow:
    from integrations.sync.sandbox_setup import connect_sandbox

    flows = connect_sandbox(instance_id=pair.id, fields=pair.fields).flows
    flow = next(f for f in flows if f.key == key)
    assert not flow.enabled  # the tenant chooses summarised posting; sandbox setup leaves it off
    flow.enabled = True
    flow.options = {**flow.options, "close_after_hours": 0, **options}
    flow.save()
    return flow


@pytest.fixture
def ax_summary(tenant, ax_pair, kashflow_sandbox, ax_sandbox):
    return _wire(ax_pair, "kashflow_summary_to_ax")


@pytest.fixture
def sage_summary(tenant, sage_pair, sage_kashflow_sandbox, sage_sandbox):
    return _wire(sage_pair, "kashflow_summary_to_sage")


# ---------------------------------------------------------------------- the expectation, from Kashflow itself


def kashflow_invoices(store) -> list[dict]:
    out, page = [], 1
    while True:
        result = store.list_invoices(page=page, perpage=100)
        out += [store.get_invoice(int(item["Number"])) for item in result.items]
        if page * 100 >= result.total:
            return out
        page += 1


def _day(text: str) -> date:
    return date.fromisoformat(str(text)[:10])


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def expected_postings(store, *, closed_before: date, sales_account, ar: str, tax_account, bank_account):
    """(day, currency, account) -> signed amount, and the set of (kind, source id) in closed periods."""
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    sources = set()
    for invoice in kashflow_invoices(store):
        currency = invoice["Currency"]["Code"]
        issued = _day(invoice["IssuedDate"])
        if issued < closed_before:
            sources.add(("invoice", str(invoice["Number"])))
            for line in invoice["LineItems"]:
                net = (Decimal(str(line["Quantity"])) * Decimal(str(line["Rate"]))).quantize(CENT)
                vat = Decimal(0) if line.get("VATExempt") else _money(line.get("VATAmount") or 0)
                totals[(issued, currency, sales_account(str(line["NominalCode"]), invoice))] -= net
                if vat:
                    totals[(issued, currency, tax_account(str(line["VATLevel"]).split(".")[0]))] -= vat
                totals[(issued, currency, ar)] += net + vat
        for payment in invoice.get("PaymentLines") or []:
            paid = _day(payment["Date"])
            if paid < closed_before:
                sources.add(("receipt", str(payment["Id"])))
                totals[(paid, currency, bank_account(currency))] += _money(payment["Amount"])
                totals[(paid, currency, ar)] -= _money(payment["Amount"])
    return {k: v for k, v in totals.items() if v}, sources


def ax_journal_lines(ax_store) -> list[dict]:
    return ax_store.query(
        "SELECT J.JOURNALNUM, J.DOCUMENTNUM, J.NAME, T.LINENUM, T.TRANSDATE, T.CURRENCYCODE, T.AMOUNTCURDEBIT, "
        "T.AMOUNTCURCREDIT, T.TXT, T.VOUCHER, C.DISPLAYVALUE FROM LEDGERJOURNALTABLE J JOIN LEDGERJOURNALTRANS T ON "
        "T.DATAAREAID = J.DATAAREAID AND T.JOURNALNUM = J.JOURNALNUM JOIN DIMENSIONATTRIBUTEVALUECOMBINATION C ON "
        "C.RECID = T.LEDGERDIMENSION WHERE J.DOCUMENTNUM LIKE 'LB%' ORDER BY J.JOURNALNUM, T.LINENUM")


def ax_totals(lines: list[dict]) -> dict[tuple, Decimal]:
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in lines:
        account = row["DISPLAYVALUE"].split("-")[0]
        totals[(_day(row["TRANSDATE"]), row["CURRENCYCODE"], account)] += (
            _money(row["AMOUNTCURDEBIT"]) - _money(row["AMOUNTCURCREDIT"]))
    return {k: v for k, v in totals.items() if v}


def ax_expected(kashflow_store):
    return expected_postings(
        kashflow_store, closed_before=timezone.localdate(), sales_account=lambda n, _i: KASHFLOW_TO_AX_GL[n],
        ar="130100", tax_account=lambda rate: "222200",
        bank_account=lambda currency: "110130" if currency == "EUR" else "110150")


def assert_drill_down_adds_up(flow: Flow) -> None:
    for line in SummaryLine.objects.filter(journal__flow=flow).prefetch_related("contributions"):
        shares = sum((c.amount for c in line.contributions.all()), Decimal(0))
        assert shares == line.debit - line.credit, (line, shares)
    for journal in SummaryJournal.objects.filter(flow=flow):
        by_currency: dict[str, Decimal] = defaultdict(Decimal)
        for line in journal.lines.all():
            by_currency[line.currency] += line.debit - line.credit
        assert not any(by_currency.values()), (journal, by_currency)
        assert journal.total_debit == journal.total_credit
        assert journal.sources.count() == journal.source_count
    # each contribution's source is in the journal of its line (a source is in one journal only)
    assert not SummaryContribution.objects.filter(line__journal__flow=flow).exclude(
        source__journal=F("line__journal")).exists()


# ---------------------------------------------------------------------- AX


def test_ax_one_balanced_journal_per_closed_day_line_by_line_and_a_second_run_posts_nothing(
        ax_summary, kashflow_sandbox, ax_sandbox):
    run = run_inline(ax_summary)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    expected, sources = ax_expected(kashflow_sandbox.store)
    lines = ax_journal_lines(ax_sandbox.store)
    assert lines, "no journal was posted"
    assert ax_totals(lines) == expected

    journals = list(SummaryJournal.objects.filter(flow=ax_summary))
    days = {day for day, _c, _a in expected}
    assert sorted(j.period_start for j in journals) == sorted(days)  # one journal per closed day, no more
    assert all(j.status == "posted" and j.sequence == 1 and j.target_id for j in journals)
    ax_nums = {row["DOCUMENTNUM"]: row["JOURNALNUM"] for row in lines}
    assert {j.target_id for j in journals} == set(ax_nums.values())  # bound to AX's JournalNum
    assert run.target_calls == len(journals)
    assert run.records_posted == len(sources)

    # Line by line: our lines are AX's lines (account with dimensions, currency, debit/credit, text).
    by_num = defaultdict(list)
    for row in lines:
        by_num[row["JOURNALNUM"]].append(row)
    for journal in journals:
        ours = list(journal.lines.order_by("line_no"))
        theirs = by_num[journal.target_id]
        assert len(ours) == len(theirs)
        for line, row in zip(ours, theirs, strict=True):
            assert row["LINENUM"] == line.line_no
            dims = "-001-022" if line.role == "sales" else ""
            assert row["DISPLAYVALUE"] == f"{line.account}{dims}"
            assert (_money(row["AMOUNTCURDEBIT"]), _money(row["AMOUNTCURCREDIT"])) == (line.debit, line.credit)
            assert row["CURRENCYCODE"] == line.currency and row["TXT"] == line.text
            assert _day(row["TRANSDATE"]) == journal.period_end

    # Drill-down: every staged source of a closed day is in exactly one journal, and the shares add up.
    journaled = set(SummarySource.objects.filter(flow=ax_summary, journal__isnull=False).values_list(
        "kind", "source_id"))
    assert journaled == sources
    assert_drill_down_adds_up(ax_summary)
    # Today's invoices wait for their day to close.
    assert not SummarySource.objects.filter(flow=ax_summary, journal__isnull=False,
                                            date__gte=timezone.localdate()).exists()

    second = run_inline(ax_summary)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 0 and second.target_calls == 0
    assert ax_journal_lines(ax_sandbox.store) == lines
    assert SummaryJournal.objects.filter(flow=ax_summary).count() == len(journals)


def _late_invoice(store, issued: date) -> dict:
    """A paid invoice committed now but dated in an already summarised (closed) day."""
    customer = kashflow_invoices(store)[0]["CustomerCode"]
    return store.create_invoice({
        "CustomerCode": customer, "IssuedDate": issued.isoformat(), "Currency": {"Code": "GBP"},
        "LineItems": [{"Number": 1, "Description": "Late print run", "NominalCode": 4002, "Quantity": 3,
                       "Rate": Decimal("19.99"), "VATLevel": 20, "VATExempt": False},
                      {"Number": 2, "Description": "Carriage", "NominalCode": 4905, "Quantity": 1,
                       "Rate": Decimal("7.50"), "VATLevel": 20, "VATExempt": False}],
        "PaymentLines": [{"Amount": Decimal("80.96"), "Date": issued.isoformat(), "Method": 3, "AccountId": 1}],
    })


def test_ax_a_late_invoice_for_a_posted_day_goes_into_a_supplementary_journal_of_that_day(
        ax_summary, kashflow_sandbox, ax_sandbox):
    run_inline(ax_summary)
    posted_day = SummaryJournal.objects.filter(flow=ax_summary).latest("period_start").period_start
    before = SummaryJournal.objects.filter(flow=ax_summary).count()
    late = _late_invoice(kashflow_sandbox.store, posted_day)

    run = run_inline(ax_summary)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    journal = SummaryJournal.objects.get(flow=ax_summary, sequence=2)
    assert SummaryJournal.objects.filter(flow=ax_summary).count() == before + 1
    assert (journal.period_start, journal.status, journal.source_count) == (posted_day, "posted", 2)
    assert set(journal.sources.values_list("kind", "invoice_number")) == {
        ("invoice", str(late["Number"])), ("receipt", str(late["Number"]))}
    lines = [(r["DISPLAYVALUE"], _money(r["AMOUNTCURDEBIT"]), _money(r["AMOUNTCURCREDIT"]))
             for r in ax_journal_lines(ax_sandbox.store) if r["JOURNALNUM"] == journal.target_id]
    # 3 x 19.99 = 59.97 (VAT 11.99) on 401100, 7.50 (VAT 1.50) on 403150; AR 80.96; then the receipt.
    assert lines == [("130100", Decimal("80.96"), 0), ("401100-001-022", 0, Decimal("59.97")),
                     ("403150-001-022", 0, Decimal("7.50")), ("222200", 0, Decimal("13.49")),
                     ("110150", Decimal("80.96"), 0), ("130100", 0, Decimal("80.96"))]
    assert journal.description.endswith("(late #2)")
    expected, _sources = ax_expected(kashflow_sandbox.store)
    assert ax_totals(ax_journal_lines(ax_sandbox.store)) == expected


@pytest.mark.parametrize("step", ["outbox", "send", "bind"])
def test_ax_a_worker_killed_at_any_step_posts_each_journal_once(step, ax_summary, kashflow_sandbox, ax_sandbox,
                                                                monkeypatch):
    def die(at: str) -> None:
        if at == step:
            raise WorkerDied(at)

    monkeypatch.setattr(pipeline, "crash_hook", die)
    with pytest.raises(WorkerDied):
        run_inline(ax_summary)
    monkeypatch.setattr(pipeline, "crash_hook", None)
    resumed = run_inline(ax_summary)
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.message

    lines = ax_journal_lines(ax_sandbox.store)
    expected, sources = ax_expected(kashflow_sandbox.store)
    assert ax_totals(lines) == expected  # nothing twice, nothing missing
    journals = SummaryJournal.objects.filter(flow=ax_summary)
    assert journals.count() == len({row["JOURNALNUM"] for row in lines})
    assert set(journals.values_list("target_id", flat=True)) == {row["JOURNALNUM"] for row in lines}
    assert not journals.exclude(status="posted").exists()
    assert set(SummarySource.objects.filter(flow=ax_summary, journal__isnull=False).values_list(
        "kind", "source_id")) == sources


def test_ax_unmapped_nominal_lands_in_the_inbox_and_posts_after_the_mapping_is_fixed(
        ax_summary, kashflow_sandbox, ax_sandbox):
    from mapping.versions import publish, published_version

    rules = published_version(ax_summary).rules
    publish(ax_summary, {**rules, "gl_accounts": {k: v for k, v in rules["gl_accounts"].items() if k != "4001"}})
    run = run_inline(ax_summary)
    assert run.status == SyncRun.Status.PARTIAL
    failed = SyncRecord.objects.filter(flow=ax_summary, status="failed")
    assert failed.count() == run.records_failed > 0
    assert all("Kashflow nominal code 4001" in r.last_error and r.error_code == "mapping_missing" for r in failed)
    assert all(any(line["account_code"] == "4001" for line in r.payload["lines"]) for r in failed)
    assert not SummarySource.objects.filter(flow=ax_summary, status="failed", journal__isnull=False).exists()
    assert_drill_down_adds_up(ax_summary)
    unmapped = failed.count()

    publish(ax_summary, rules)
    fixed = run_inline(ax_summary)
    assert fixed.status == SyncRun.Status.SUCCEEDED, fixed.message
    assert fixed.records_posted == unmapped
    assert not SyncRecord.objects.filter(flow=ax_summary, status="failed").exists()
    assert SyncRecord.objects.filter(flow=ax_summary, status="posted", resolution="auto_resolved").exists()
    assert SummaryJournal.objects.filter(flow=ax_summary, sequence=2).exists()
    expected, _sources = ax_expected(kashflow_sandbox.store)
    assert ax_totals(ax_journal_lines(ax_sandbox.store)) == expected


def test_ax_a_journal_ax_refuses_sends_its_sources_to_the_inbox_with_ax_message(ax_summary, kashflow_sandbox,
                                                                                ax_sandbox):
    from mapping.versions import publish, published_version

    rules = published_version(ax_summary).rules
    publish(ax_summary, {**rules, "gl_accounts": {**rules["gl_accounts"], "4001": "999999"}})
    run = run_inline(ax_summary)
    assert run.status == SyncRun.Status.PARTIAL
    failed = SummarySource.objects.filter(flow=ax_summary, status="failed")
    assert failed.exists() and not failed.filter(journal__isnull=False).exists()
    inbox = SyncRecord.objects.filter(flow=ax_summary, status="failed")
    assert inbox.count() == failed.count() == run.records_failed
    assert all("Dynamics AX refused the summary journal" in r.last_error and "999999" in r.last_error for r in inbox)
    refused_days = set(failed.values_list("date", flat=True))
    posted_days = {_day(r["TRANSDATE"]) for r in ax_journal_lines(ax_sandbox.store)}
    assert refused_days and not refused_days & posted_days  # a refused journal created nothing in AX
    assert not SummaryJournal.objects.filter(flow=ax_summary).exclude(status="posted").exists()

    publish(ax_summary, rules)
    assert run_inline(ax_summary).status == SyncRun.Status.SUCCEEDED
    expected, _sources = ax_expected(kashflow_sandbox.store)
    assert ax_totals(ax_journal_lines(ax_sandbox.store)) == expected
    assert not SyncRecord.objects.filter(flow=ax_summary, status="failed").exists()


def test_ax_weekly_journals_cover_closed_weeks_only(tenant, ax_pair, kashflow_sandbox, ax_sandbox):
    flow = _wire(ax_pair, "kashflow_summary_to_ax", period="week")
    run = run_inline(flow)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    today = timezone.localdate()
    this_monday = today - timedelta(days=today.weekday())
    journals = list(SummaryJournal.objects.filter(flow=flow))
    assert journals and all(j.period_start.weekday() == 0 and j.period_end == j.period_start + timedelta(days=6)
                            and j.period_end < this_monday for j in journals)
    assert len({j.period_start for j in journals}) == len(journals)
    expected, _sources = expected_postings(
        kashflow_sandbox.store, closed_before=this_monday, sales_account=lambda n, _i: KASHFLOW_TO_AX_GL[n],
        ar="130100", tax_account=lambda rate: "222200",
        bank_account=lambda currency: "110130" if currency == "EUR" else "110150")
    weekly: dict[tuple, Decimal] = defaultdict(Decimal)
    for (day, currency, account), amount in expected.items():
        weekly[(day - timedelta(days=day.weekday()) + timedelta(days=6), currency, account)] += amount
    assert ax_totals(ax_journal_lines(ax_sandbox.store)) == {k: v for k, v in weekly.items() if v}
    assert_drill_down_adds_up(flow)


def test_the_database_refuses_a_source_in_two_journals(ax_summary):
    run_inline(ax_summary)
    source = SummarySource.objects.filter(flow=ax_summary, journal__isnull=False).first()
    other = SummaryJournal.objects.filter(flow=ax_summary).exclude(pk=source.journal_id).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        SummarySource.objects.create(flow=ax_summary, kind=source.kind, source_id=source.source_id,
                                     invoice_number=source.invoice_number, date=source.date, currency=source.currency,
                                     amount=source.amount, payload=source.payload, digest="x", journal=other)


# ---------------------------------------------------------------------- Sage 100


def sage_rows(company_db, sql: str, params=()) -> list[dict]:
    with sqlite3.connect(company_db) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, params)]


def sage_journal_lines(company_db) -> list[dict]:
    return sage_rows(company_db, "SELECT P.JournalRegisterNo, P.SequenceNo, P.PostingDate, P.PostingComment, "
                                 "P.DebitAmount, P.CreditAmount, A.Account FROM GL_DetailPosting P JOIN GL_Account A "
                                 "ON A.AccountKey = P.AccountKey WHERE P.SourceJournal = 'GJ' AND P.PostingComment "
                                 "NOT LIKE '%bonus%' ORDER BY P.JournalRegisterNo, P.SequenceNo")


def test_sage_one_balanced_journal_entry_per_closed_day_with_division_accounts(
        sage_summary, sage_kashflow_sandbox, sage_sandbox):
    before = {r["JournalRegisterNo"] for r in sage_journal_lines(sage_sandbox.company_db)}
    chart = {r["Account"] for r in sage_rows(sage_sandbox.company_db, "SELECT Account FROM GL_Account")}

    def sales_account(nominal: str, invoice: dict) -> str:
        account = KASHFLOW_TO_SAGE_GL[nominal]
        division = invoice["CustomerCode"].split("-")[0] if "-" in invoice["CustomerCode"] else "01"
        with_division = f"{account[:3]}-{division.zfill(2)}-{account[-2:]}"
        return with_division if with_division in chart else account

    run = run_inline(sage_summary)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    expected, sources = expected_postings(
        sage_kashflow_sandbox.store, closed_before=timezone.localdate(), sales_account=sales_account,
        ar="110-00-00", tax_account=lambda rate: "210-00-00", bank_account=lambda currency: "100-00-00")
    lines = [r for r in sage_journal_lines(sage_sandbox.company_db) if r["JournalRegisterNo"] not in before]
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in lines:
        totals[(_day(row["PostingDate"]), "USD", row["Account"])] += _money(row["DebitAmount"]) - _money(
            row["CreditAmount"])
    assert {k: v for k, v in totals.items() if v} == expected
    assert any("-01-" in account and account != "110-00-00" for _d, _c, account in expected)  # division segment

    journals = list(SummaryJournal.objects.filter(flow=sage_summary))
    assert sorted(j.period_start for j in journals) == sorted({day for day, _c, _a in expected})
    assert {j.target_id for j in journals} == {f"GJ-{r['JournalRegisterNo']}" for r in lines}
    by_entry = defaultdict(list)
    for row in lines:
        by_entry[f"GJ-{row['JournalRegisterNo']}"].append(row)
    for journal in journals:
        ours = list(journal.lines.order_by("line_no"))
        theirs = by_entry[journal.target_id]
        assert [(line.account, line.debit, line.credit, line.text) for line in ours] == [
            (r["Account"], _money(r["DebitAmount"]), _money(r["CreditAmount"]), r["PostingComment"]) for r in theirs]
        assert {r["PostingDate"][:10] for r in theirs} == {journal.period_end.isoformat()}
    assert set(SummarySource.objects.filter(flow=sage_summary, journal__isnull=False).values_list(
        "kind", "source_id")) == sources
    assert_drill_down_adds_up(sage_summary)

    second = run_inline(sage_summary)
    assert second.status == SyncRun.Status.SUCCEEDED and second.records_posted == 0 and second.target_calls == 0
    assert [r for r in sage_journal_lines(sage_sandbox.company_db) if r["JournalRegisterNo"] not in before] == lines


def test_sage_a_lost_answer_is_resolved_by_the_same_operation_key(sage_summary, sage_kashflow_sandbox,
                                                                  sage_sandbox, monkeypatch):
    def die(at: str) -> None:
        if at == "send":
            raise WorkerDied(at)

    monkeypatch.setattr(pipeline, "crash_hook", die)
    with pytest.raises(WorkerDied):
        run_inline(sage_summary)
    # Every journal was recorded before the first was sent; the first one's answer was lost.
    pending = SummaryJournal.objects.filter(flow=sage_summary).order_by("period_start", "sequence").first()
    assert pending.status == "pending" and pending.attempts == 1
    assert not SummaryJournal.objects.filter(flow=sage_summary).exclude(status="pending").exists()
    monkeypatch.setattr(pipeline, "crash_hook", None)
    assert run_inline(sage_summary).status == SyncRun.Status.SUCCEEDED
    pending.refresh_from_db()
    assert pending.status == "posted" and pending.attempts == 2
    entries = {r["JournalRegisterNo"] for r in sage_journal_lines(sage_sandbox.company_db)}
    assert pending.target_id.removeprefix("GJ-") in entries
    posted = SummaryJournal.objects.filter(flow=sage_summary)
    assert len({j.target_id for j in posted}) == posted.count()  # one entry per journal, none twice


def test_ax_an_invoice_changed_after_its_journal_is_noted_not_posted_again(ax_summary, kashflow_sandbox, ax_sandbox):
    from integrations.kashflow.sandbox.documents import INVOICE

    run_inline(ax_summary)
    lines = ax_journal_lines(ax_sandbox.store)
    source = SummarySource.objects.filter(flow=ax_summary, kind="invoice", journal__isnull=False).first()
    store = kashflow_sandbox.store
    raw = store.get_invoice(int(source.invoice_number))
    raw["LineItems"][0]["Rate"] = Decimal(str(raw["LineItems"][0]["Rate"])) + 1
    store.update_document(INVOICE, int(source.invoice_number), raw)

    run = run_inline(ax_summary)
    assert run.status == SyncRun.Status.SUCCEEDED and run.records_posted == 0 and run.target_calls == 0
    assert ax_journal_lines(ax_sandbox.store) == lines
    source.refresh_from_db()
    assert "after it was summarised" in source.note and source.journal_id is not None
    # being paid later is not a change of what an invoice posts: no note on the others
    assert SummarySource.objects.filter(flow=ax_summary).exclude(note="").count() == 1


def test_ax_a_source_ignored_in_the_inbox_stays_out_of_every_journal(ax_summary, kashflow_sandbox, ax_sandbox):
    from integrations.sync import inbox
    from mapping.versions import publish, published_version

    rules = published_version(ax_summary).rules
    publish(ax_summary, {**rules, "gl_accounts": {k: v for k, v in rules["gl_accounts"].items() if k != "4001"}})
    run_inline(ax_summary)
    failed = SyncRecord.objects.filter(flow=ax_summary, status="failed")
    ignored = {r.source_id for r in failed}
    assert ignored
    inbox.ignore(failed, actor=None)
    publish(ax_summary, rules)
    assert run_inline(ax_summary).status == SyncRun.Status.SUCCEEDED
    assert set(SummarySource.objects.filter(flow=ax_summary, kind="invoice", journal__isnull=False).values_list(
        "source_id", flat=True)).isdisjoint(ignored)
    assert SummarySource.objects.filter(flow=ax_summary, source_id__in=ignored, status="failed").count() == len(ignored)
