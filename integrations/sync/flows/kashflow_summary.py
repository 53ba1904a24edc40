"""Summarised posting: Kashflow sales invoices and receipts -> one balanced GL journal per closed period.

Why not the record pipeline: the pipeline's unit of work is one source record -> one target document (batched
on the wire, but bound one to one). A summary turns thousands of source records into *one* document whose
lines each total many records, and it may only be written once its period is closed. So a summary run is
its own small engine (``run_flow``), built from the same parts: the Kashflow listing and change detection of
:mod:`integrations.sync.flows.kashflow_source` (listing digests, watermark, full sweeps, ``SourceState``), the
connection gates (rate limits, breaker, retries), the run recorder, the error inbox and the crash checkpoints
of :mod:`integrations.sync.pipeline`.

A run:

1. **Recover**: journals recorded but not confirmed (a crash or a lost answer between send and bind) are sent
   again as the very same message — AX answers ``DuplicateMessage`` for a MessageId it has processed (the
   JournalNum is then looked up by the journal's DocumentNum over ODBC), the Sage agent returns the stored
   result of an operation key it has applied.
2. **Stage**: changed invoices are fetched; the invoice and each of its payment lines (receipts) become
   ``SummarySource`` rows, committed together with the listing digests (nothing lost: an invoice whose staging
   did not commit is seen as changed next run).
3. **Summarise**: for every *closed* period (day or week; closed ``close_after_hours`` after its end, so late
   invoices of the day still land in it) the staged sources are mapped to postings — invoices Dr AR control,
   Cr sales per mapped account, Cr VAT per tax code; receipts Dr bank, Cr AR control — grouped into lines by
   account, dimensions / division, currency and tax code. Each source's postings, and so the journal per
   currency, balance exactly (Decimal sums of the exact line amounts; asserted). A source the mapping cannot
   place goes to the error inbox and is retried by every run (it joins a later journal of its own period once
   fixed). The journal, its lines, the contributions (drill-down) and the claim of its sources are committed
   in one transaction *before* anything is sent; a source is claimed by one journal only (DB constraint).
4. **Send** every recorded journal (one target call each) and bind the answer in one commit.

Sources arriving for a period whose journal is already posted go into a supplementary journal of that period
(sequence 2, 3...). A source that changes in Kashflow after it was journaled is not re-posted (the journal
stands); the change is noted on the source and shown in the drill-down.

Target specifics (accounts, dimensions, the document, the call) live in the subclasses
:class:`~integrations.sync.flows.kashflow_summary_to_ax.KashflowSummaryToAx` and
:class:`~integrations.sync.flows.kashflow_summary_to_sage.KashflowSummaryToSage`.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from integrations.core.canonical import Payment, SalesInvoice, content_hash
from integrations.core.errors import AUTH, CONFIGURATION, ConnectorError, DuplicateError, TargetValidationError
from integrations.kashflow.adapter import invoice_payments, invoice_to_canonical
from integrations.sync.engine import FlowAborted, RunRecorder, idempotency_key
from integrations.sync.flows.kashflow_source import KashflowInvoiceSource
from integrations.sync.limits import CircuitOpen
from integrations.sync.models import Flow, FlowCursor, Resolution, SourceState, SyncRecord
from integrations.sync.pipeline import Candidate, Scan, checkpoint, gate_for
from integrations.sync.summary_models import SummaryContribution, SummaryJournal, SummaryLine, SummarySource
from mapping.versions import published_version

log = logging.getLogger("ledgerbridge.sync.summaries")

STREAM = "summary_invoices"
ZERO = Decimal(0)
MAX_FAILURES_IN_A_ROW = 3
MESSAGE_NAMESPACE = uuid.UUID("0c5d3f8e-7a1b-4f62-9d7e-5b2a8c4e1f90")
# Line roles, in the order lines appear in a currency's block (invoices first, then receipts).
ROLES = ("ar_invoice", "sales", "tax", "bank", "ar_receipt")
ENTITY = {SummarySource.Kind.INVOICE: "sales_invoice", SummarySource.Kind.RECEIPT: "payment"}


class SummaryListing(KashflowInvoiceSource):
    """The Kashflow invoice listing and change detection, for a summary run (which stages invoices instead of
    sending them one by one: the record hooks below are never called)."""

    stream = STREAM

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        # Accrual posting: invoices are summarised when issued, receipts when paid (not only paid invoices).
        self.paid_only = bool(self.options.get("paid_only", False))

    def transform(self, payload, rules, record):  # pragma: no cover - not a record flow
        raise NotImplementedError("summaries are not transformed record by record")

    def send(self, documents, message_id):  # pragma: no cover
        raise NotImplementedError("summaries are sent as journals")

    def find_existing(self, record):  # pragma: no cover
        raise NotImplementedError("summaries are recovered as journals")


@dataclass(frozen=True)
class Posting:
    """One source's share of one journal line (signed: + debit, - credit)."""

    role: str
    account: str
    dimensions: tuple[tuple[str, str], ...]
    currency: str
    tax_code: str
    amount: Decimal

    @property
    def key(self) -> tuple:
        return (self.currency, ROLES.index(self.role), self.account, self.dimensions, self.tax_code)


@dataclass
class LineDraft:
    posting: Posting
    amount: Decimal = ZERO
    shares: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def tax_code_of(rate: Decimal | None) -> str:
    """Kashflow has no tax codes, only a VAT rate per line: the code is the rate ("20", "5", "0") or EXEMPT."""
    if rate is None:
        return "EXEMPT"
    rate = rate.normalize()
    return str(rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate)


# Fields of an invoice that do not change what it posts: an invoice being paid later is not a change.
NOT_POSTED = ("status", "paid_amount", "due_date", "customer_name", "customer_reference")


def posting_digest(payload: dict[str, Any]) -> str:
    """Hash of what a source posts (a change after journaling is noted; payment status is not such a change)."""
    return content_hash({k: v for k, v in payload.items() if k not in NOT_POSTED})[:32]


def period_of(day: date, period: str) -> tuple[date, date]:
    if period == "week":  # ISO week, Monday to Sunday
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    return day, day


class KashflowSummary:
    """The summary engine; subclasses supply the target side (see the module docstring)."""

    target_label = ""
    text_length = 60  # longest line text the target keeps

    def __init__(self, flow: Flow, recorder: RunRecorder) -> None:
        self.flow = flow
        self.recorder = recorder
        self.run = recorder.run
        self.options = flow.options or {}
        self.period = "week" if self.options.get("period") == "week" else "day"
        try:
            self.close_after = timedelta(hours=float(self.options.get("close_after_hours", 1)))
        except (TypeError, ValueError):
            self.close_after = timedelta(hours=1)
        self.source_gate = gate_for(flow.source)
        self.target_gate = gate_for(flow.target)
        self.version = published_version(flow)
        self.rules = self.version.rules or {}
        self.run.mapping_version = self.version
        self.listing = SummaryListing(flow, source_gate=self.source_gate, target_gate=self.target_gate)
        self._failures_in_a_row = 0
        self.journals_posted = 0

    @classmethod
    def run_flow(cls, flow: Flow, recorder: RunRecorder) -> None:
        """Entry point used by FlowDefinition.run (the flow's advisory lock is held by the caller)."""
        cls(flow, recorder).execute()

    def execute(self) -> None:
        self.listing.open()
        self.open_target()
        self.send_recorded()  # 1. journals whose answer never came back
        self.stage_changes()  # 2. what changed in Kashflow
        self.summarise()  # 3. closed periods -> recorded journals
        self.send_recorded()  # 4. send them
        self.recorder.beat()

    # ------------------------------------------------------------------ target hooks

    def open_target(self) -> None:
        raise NotImplementedError

    def sales_account(self, invoice: SalesInvoice, nominal_code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """(target account, dimensions) of a sales line; TargetValidationError when it cannot be mapped."""
        raise NotImplementedError

    def control_account(self, role: str, currency: str, *, payment: Payment | None = None,
                        tax_code: str = "") -> tuple[str, tuple[tuple[str, str], ...]]:
        """(account, dimensions) of the AR control (``ar_invoice``/``ar_receipt``), ``bank`` or ``tax`` line."""
        raise NotImplementedError

    def check_currency(self, currency: str, what: str) -> None:
        """Raise TargetValidationError when the target cannot take a posting in ``currency``."""

    def document(self, journal: SummaryJournal, lines: list[SummaryLine]) -> dict[str, Any]:
        raise NotImplementedError

    def message_id(self, journal: SummaryJournal, document: dict[str, Any]) -> str:
        raise NotImplementedError

    def send_document(self, document: dict[str, Any], message_id: str) -> str:
        """Create the journal; its target id. DuplicateError when the target has processed ``message_id``."""
        raise NotImplementedError

    def find_existing(self, journal: SummaryJournal) -> str | None:
        """The target id of a journal an earlier (answer-lost) call created, if it can be found."""
        return None

    # ------------------------------------------------------------------ 2. staging

    def stage_changes(self) -> None:
        cursor_row, _ = FlowCursor.objects.get_or_create(flow=self.flow, stream=STREAM)
        scan = Scan()
        unsettled: list[int] = []
        for page in self.listing.candidates(dict(cursor_row.value or {}), scan):
            self.recorder.count("seen", len(page))
            checkpoint("extract")
            settled = dict(SourceState.objects.filter(flow=self.flow, stream=STREAM, source_id__in=[
                c.source_id for c in page]).values_list("source_id", "digest"))
            changed = [c for c in page if settled.get(c.source_id) != c.digest]
            self.recorder.count("skipped", len(page) - len(changed))
            loaded: list[tuple[Candidate, SalesInvoice, list[Payment]]] = []
            unwanted: list[Candidate] = []
            for candidate in changed:
                if self.listing.unwanted_listed(candidate):
                    unwanted.append(candidate)
                    continue
                try:
                    raw = self.source_gate.call(lambda c=candidate: self.listing.load(c), metered=False)
                except ConnectorError as error:
                    if error.kind in {AUTH, CONFIGURATION} or isinstance(error, CircuitOpen) or error.retryable:
                        self._source_failure(error, candidate, unsettled)
                    else:
                        self.keep_unreadable(candidate, None, error)
                    continue
                self._failures_in_a_row = 0
                try:
                    invoice, payments = invoice_to_canonical(raw), invoice_payments(raw)
                except ConnectorError as error:
                    self.keep_unreadable(candidate, raw, error)
                    continue
                if self.listing.paid_only and invoice.status != "paid":
                    unwanted.append(candidate)
                    continue
                loaded.append((candidate, invoice, payments))
            self.stage(loaded, unwanted)
            checkpoint("persist")
        if scan.complete:
            scan.unsettled_numbers = unsettled
            checkpoint("cursor")
            cursor_row.value = self.listing.next_cursor(dict(cursor_row.value or {}), scan)
            cursor_row.save(update_fields=["value", "updated_at"])

    def _source_failure(self, error: ConnectorError, candidate: Candidate, unsettled: list[int]) -> None:
        if error.kind in {AUTH, CONFIGURATION} or isinstance(error, CircuitOpen):
            raise error
        if candidate.number is not None:
            unsettled.append(candidate.number)
        self.recorder.retry_later(1, str(error))
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
            raise FlowAborted(f"{self.flow.source.name} failed {self._failures_in_a_row} times in a row ({error}); "
                              "the next run continues where this one stopped.")

    def stage(self, loaded: list[tuple[Candidate, SalesInvoice, list[Payment]]], unwanted: list[Candidate]) -> None:
        """Stage the invoices and their receipts and settle their listing digests, in one commit."""
        numbers = [invoice.number for _c, invoice, _p in loaded]
        payment_ids = [p.source_id for _c, _i, payments in loaded for p in payments]
        existing: dict[tuple[str, str], SummarySource] = {}
        if loaded:
            rows = SummarySource.objects.filter(flow=self.flow, invoice_number__in=numbers)
            more = SummarySource.objects.filter(flow=self.flow, kind=SummarySource.Kind.RECEIPT,
                                                source_id__in=payment_ids)
            existing = {(s.kind, s.source_id): s for s in [*rows, *more]}
        create: list[SummarySource] = []
        update: list[SummarySource] = []
        delete: list[SummarySource] = []
        for _candidate, invoice, payments in loaded:
            items = [(SummarySource.Kind.INVOICE, invoice)] + [(SummarySource.Kind.RECEIPT, p) for p in payments]
            seen = set()
            for kind, record in items:
                payload = record.to_dict()
                digest = posting_digest(payload)
                seen.add((kind, record.source_id))
                current = existing.get((kind, record.source_id))
                amount = record.gross_amount if kind == SummarySource.Kind.INVOICE else record.amount
                day = record.issue_date if kind == SummarySource.Kind.INVOICE else record.payment_date
                if current is None:
                    create.append(SummarySource(
                        flow=self.flow, kind=kind, source_id=record.source_id, invoice_number=invoice.number,
                        customer_code=invoice.customer_code[:40], date=day, currency=record.currency,
                        amount=amount, payload=payload, digest=digest))
                elif current.digest != digest:
                    if current.status == SummarySource.Status.JOURNALED:
                        current.note = (f"Changed in Kashflow on {timezone.now():%Y-%m-%d %H:%M} after it was "
                                        f"summarised; journal {current.journal_id} stands as posted.")
                    else:
                        current.payload, current.digest, current.date = payload, digest, day
                        current.amount, current.currency = amount, record.currency
                        current.status, current.last_error = SummarySource.Status.STAGED, ""
                    update.append(current)
            for key, source in existing.items():
                if source.invoice_number != invoice.number or key in seen:
                    continue
                if source.status == SummarySource.Status.JOURNALED:
                    source.note = (f"Removed from Kashflow invoice {invoice.number} after it was summarised; "
                                   f"journal {source.journal_id} stands as posted.")
                    update.append(source)
                else:
                    delete.append(source)  # a payment taken off before its period was summarised
        with transaction.atomic():
            if delete:
                SummarySource.objects.filter(pk__in=[s.pk for s in delete], journal__isnull=True).delete()
            SummarySource.objects.bulk_create(create, batch_size=1000)
            SummarySource.objects.bulk_update(update, ["payload", "digest", "date", "amount", "currency", "status",
                                                       "last_error", "note"], batch_size=500)
            self.settle_digests([c for c, _i, _p in loaded] + unwanted)
        self.recorder.count("skipped", len(unwanted))

    def keep_unreadable(self, candidate: Candidate, raw: Any, error: ConnectorError) -> None:
        """An invoice Kashflow returns but we cannot read: the inbox, with what was returned."""
        import json

        raw = json.loads(json.dumps(raw, default=str)) if isinstance(raw, dict | list) else str(raw or "")
        payload = {"unreadable": True, "raw": raw}
        with transaction.atomic():
            self._inbox_record("sales_invoice", candidate.source_id, payload, error)
            self.settle_digests([candidate])
        self.recorder.count("failed")

    def settle_digests(self, candidates: list[Candidate]) -> None:
        if not candidates:
            return
        now = timezone.now()
        rows = [(self.flow.pk, STREAM, c.source_id, c.number, c.digest, now) for c in candidates]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SourceState._meta.db_table} (flow_id, stream, source_id, number, digest, seen_at) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s, %s, %s, %s)'] * len(rows))} "
                "ON CONFLICT (flow_id, stream, source_id) DO UPDATE SET digest = EXCLUDED.digest, "
                "number = EXCLUDED.number, seen_at = EXCLUDED.seen_at", [v for row in rows for v in row])

    # ------------------------------------------------------------------ 3. summarising

    def is_closed(self, period_end: date, now: datetime | None = None) -> bool:
        """A period is closed ``close_after_hours`` after its last day ends (in the portal's time zone)."""
        now = now or timezone.now()
        end = datetime.combine(period_end + timedelta(days=1), time(0), tzinfo=timezone.get_current_timezone())
        return end + self.close_after <= now

    def summarise(self) -> None:
        now = timezone.now()
        last_day = (timezone.localtime(now - self.close_after)).date() - timedelta(days=1)
        ignored = set(SyncRecord.objects.filter(flow=self.flow, resolution=Resolution.IGNORED).values_list(
            "entity", "source_id"))
        waiting = (SummarySource.objects.filter(flow=self.flow, journal__isnull=True, date__lte=last_day,
                                                status__in=[SummarySource.Status.STAGED, SummarySource.Status.FAILED])
                   .order_by("date", "kind", "source_id"))
        periods: dict[tuple[date, date], list[SummarySource]] = defaultdict(list)
        for source in waiting.iterator(chunk_size=2000):
            if (ENTITY[source.kind], source.source_id) in ignored:
                continue
            periods[period_of(source.date, self.period)].append(source)
        for (start, end), sources in sorted(periods.items()):
            if self.is_closed(end, now):
                self.record_journal(start, end, sources)

    def postings(self, source: SummarySource) -> list[Posting]:
        """What one source adds to the journal. Balanced per source: an invoice's AR debit is the sum of the
        exact net and VAT amounts it credits, a receipt's bank debit is its AR credit."""
        try:
            if source.kind == SummarySource.Kind.RECEIPT:
                payment = Payment.from_dict(source.payload)
            else:
                invoice = SalesInvoice.from_dict(source.payload)
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise TargetValidationError(f"The staged {source.get_kind_display().lower()} {source.source_id} is not "
                                        f"readable ({error}).", system="Ledgerbridge", code="invalid_payload") from None
        out: list[Posting] = []
        if source.kind == SummarySource.Kind.RECEIPT:
            self.check_currency(payment.currency, f"Kashflow receipt {payment.source_id} (invoice "
                                                  f"{payment.invoice_number})")
            if payment.amount == 0:
                return []
            bank, bank_dims = self.control_account("bank", payment.currency, payment=payment)
            ar, ar_dims = self.control_account("ar_receipt", payment.currency, payment=payment)
            out.append(Posting("bank", bank, bank_dims, payment.currency, "", payment.amount))
            out.append(Posting("ar_receipt", ar, ar_dims, payment.currency, "", -payment.amount))
        else:
            self.check_currency(invoice.currency, f"Kashflow invoice {invoice.number}")
            total = ZERO
            taxes: dict[str, Decimal] = defaultdict(Decimal)
            for line in invoice.lines:
                code = tax_code_of(line.tax_rate)
                account, dims = self.sales_account(invoice, line.account_code)
                if line.net_amount:
                    out.append(Posting("sales", account, dims, invoice.currency, code, -line.net_amount))
                taxes[code] += line.tax_amount
                total += line.net_amount + line.tax_amount
            for code, amount in taxes.items():
                if amount:
                    account, dims = self.control_account("tax", invoice.currency, tax_code=code)
                    out.append(Posting("tax", account, dims, invoice.currency, code, -amount))
            if total:
                ar, ar_dims = self.control_account("ar_invoice", invoice.currency)
                out.append(Posting("ar_invoice", ar, ar_dims, invoice.currency, "", total))
        balance = sum((p.amount for p in out), ZERO)
        assert balance == 0, f"{source} does not balance ({balance})"  # noqa: S101 - exact sums by construction
        return out

    def record_journal(self, start: date, end: date, sources: list[SummarySource]) -> SummaryJournal | None:
        """Map the period's sources, then record the journal with its lines, contributions and claimed sources
        in one commit (before anything is sent)."""
        drafts: dict[tuple, LineDraft] = {}
        included: list[SummarySource] = []
        failed: list[tuple[SummarySource, ConnectorError]] = []
        for source in sources:
            try:
                postings = self.postings(source)
            except TargetValidationError as error:
                failed.append((source, error))
                continue
            included.append(source)
            for posting in postings:
                draft = drafts.setdefault(posting.key, LineDraft(posting))
                draft.amount += posting.amount
                draft.shares[source.pk] += posting.amount
        if failed:
            self.fail_sources(failed)
        if not included:
            return None
        ordered = [drafts[key] for key in sorted(drafts) if drafts[key].amount != 0]
        per_currency: dict[str, Decimal] = defaultdict(Decimal)
        for draft in ordered:
            per_currency[draft.posting.currency] += draft.amount
        assert not any(per_currency.values()), f"journal {start} does not balance: {dict(per_currency)}"  # noqa: S101
        with transaction.atomic():
            sequence = (SummaryJournal.objects.filter(flow=self.flow, period_start=start)
                        .aggregate(n=Max("sequence"))["n"] or 0) + 1
            journal = SummaryJournal(
                flow=self.flow, period=self.period, period_start=start, period_end=end, sequence=sequence,
                mapping_version=self.version, created_run=self.run, source_count=len(included),
                total_debit=sum((d.amount for d in ordered if d.amount > 0), ZERO),
                total_credit=-sum((d.amount for d in ordered if d.amount < 0), ZERO))
            journal.description = self.describe(journal)
            lines = [SummaryLine(
                line_no=n, role=d.posting.role, account=d.posting.account, dimensions=dict(d.posting.dimensions),
                currency=d.posting.currency, tax_code=d.posting.tax_code, debit=max(d.amount, ZERO),
                credit=max(-d.amount, ZERO), text=self.line_text(journal, d.posting)[:self.text_length],
                source_count=len(d.shares)) for n, d in enumerate(ordered, start=1)]
            journal.document = self.document(journal, lines)
            journal.message_id = self.message_id(journal, journal.document)
            journal.save()
            for line in lines:
                line.journal = journal
            SummaryLine.objects.bulk_create(lines, batch_size=1000)
            contributions = [SummaryContribution(line=line, source_id=pk, amount=amount)
                             for line, draft in zip(lines, ordered, strict=True) for pk, amount in draft.shares.items()
                             if amount]
            SummaryContribution.objects.bulk_create(contributions, batch_size=2000)
            claimed = SummarySource.objects.filter(pk__in=[s.pk for s in included], journal__isnull=True).update(
                journal=journal, status=SummarySource.Status.JOURNALED, last_error="")
            if claimed != len(included):  # another journal took some of them: record nothing
                raise IntegrityError(f"{len(included) - claimed} source(s) of {journal} are already in a journal")
        checkpoint("outbox")
        return journal

    def describe(self, journal: SummaryJournal) -> str:
        when = (f"{journal.period_start:%Y-%m-%d}" if journal.period == "day"
                else f"week {journal.period_start:%Y-%m-%d}")
        late = f" (late #{journal.sequence})" if journal.sequence > 1 else ""
        return f"Kashflow sales {when}{late}"

    def line_text(self, journal: SummaryJournal, posting: Posting) -> str:
        when = f"{journal.period_start:%d.%m}" if journal.period == "day" else f"wk {journal.period_start:%d.%m}"
        tax = "" if posting.tax_code in ("", "EXEMPT") else f"{posting.tax_code}%"
        return {
            "ar_invoice": f"Invoices {when}",
            "sales": f"Sales {when} VAT {tax or 'exempt'}",
            "tax": f"VAT {tax} {when}",
            "bank": f"Receipts {when}",
            "ar_receipt": f"Receipts {when}",
        }[posting.role]

    def fail_sources(self, failed: list[tuple[SummarySource, ConnectorError]]) -> None:
        """Sources the mapping (or the target) cannot place: the error inbox; every run tries them again."""
        with transaction.atomic():
            for source, error in failed:
                first_time = source.status != SummarySource.Status.FAILED or source.last_error != str(error)
                source.status, source.last_error, source.journal = SummarySource.Status.FAILED, str(error), None
                source.save(update_fields=["status", "last_error", "journal", "updated_at"])
                self._inbox_record(ENTITY[source.kind], source.source_id, source.payload, error,
                                   version=source.digest)
                if first_time:  # a source still unmapped from an earlier run is not counted again
                    self.recorder.count("failed")

    def _inbox_record(self, entity: str, source_id: str, payload: Any, error: ConnectorError, *,
                      version: str = "") -> None:
        from integrations.sync.suggestions import suggest_fix

        version = version or content_hash(payload)[:32]
        record, _ = SyncRecord.objects.get_or_create(
            idempotency_key=idempotency_key(self.flow, entity, source_id, version),
            defaults={"flow": self.flow, "last_run": self.run, "entity": entity, "source_id": source_id,
                      "source_version": version, "payload": payload})
        record.last_run = self.run
        record.status = SyncRecord.Status.FAILED
        record.last_error = str(error)
        record.error_kind = error.kind
        record.error_code = (error.code or "")[:60]
        record.attempts += 1
        record.mapping_version = self.version
        record.replay_mapping = ""
        if record.resolution in (Resolution.REPLAYED, Resolution.EDITED, Resolution.APPROVED):
            record.resolution = ""
        record.suggested_fix = suggest_fix(record)
        record.save()

    # ------------------------------------------------------------------ 1./4. sending

    def send_recorded(self) -> None:
        for journal in SummaryJournal.objects.filter(flow=self.flow, status=SummaryJournal.Status.PENDING).order_by(
                "period_start", "sequence"):
            self.send_journal(journal)

    def send_journal(self, journal: SummaryJournal) -> None:
        journal.attempts += 1
        journal.save(update_fields=["attempts"])
        self.run.target_calls += 1
        try:
            target_id = self.target_gate.call(lambda: self.send_document(journal.document, journal.message_id),
                                              metered=False)
        except DuplicateError:
            # The target processed this very message before (the answer was lost): look the journal up.
            target_id = (self.target_gate.call(lambda: self.find_existing(journal), metered=False)
                         or f"MessageId:{journal.message_id}")
        except ConnectorError as error:
            if error.kind in {AUTH, CONFIGURATION} or isinstance(error, CircuitOpen):
                raise
            if error.retryable:  # unknown outcome: the journal stays recorded and is re-sent as is
                SummaryJournal.objects.filter(pk=journal.pk).update(last_error=str(error), error_code=error.code or "")
                self.recorder.retry_later(journal.source_count, str(error))
                self._failures_in_a_row += 1
                if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                    raise FlowAborted(f"{self.flow.target.name} failed {self._failures_in_a_row} times in a row "
                                      f"({error}); the recorded journals are sent by the next run.") from None
                return
            self.refused(journal, error)
            return
        self._failures_in_a_row = 0
        checkpoint("send")
        self.bind(journal, str(target_id))
        checkpoint("bind")

    def bind(self, journal: SummaryJournal, target_id: str) -> None:
        now = timezone.now()
        with transaction.atomic():
            SummaryJournal.objects.filter(pk=journal.pk).update(
                status=SummaryJournal.Status.POSTED, target_id=target_id[:120], posted_at=now, posted_run=self.run,
                last_error="", error_code="")
            # Sources that were in the inbox before (unmapped, then fixed) are settled by this journal.
            by_entity: dict[str, list[str]] = defaultdict(list)
            for kind, source_id in journal.sources.values_list("kind", "source_id"):
                by_entity[ENTITY[kind]].append(source_id)
            for entity, ids in by_entity.items():
                waiting = SyncRecord.objects.filter(flow=self.flow, entity=entity, source_id__in=ids,
                                                    status__in=[SyncRecord.Status.FAILED, SyncRecord.Status.PENDING])
                waiting.filter(resolution="").update(
                    status=SyncRecord.Status.POSTED, resolution=Resolution.AUTO_RESOLVED, resolved_at=now,
                    target_id=target_id[:120], replay_mapping="")
                waiting.update(status=SyncRecord.Status.POSTED, resolved_at=now, target_id=target_id[:120],
                               replay_mapping="")
        journal.status, journal.target_id = SummaryJournal.Status.POSTED, target_id
        self.journals_posted += 1
        self.recorder.count("posted", journal.source_count)

    def refused(self, journal: SummaryJournal, error: ConnectorError) -> None:
        """The target refused the journal for good: nothing was created. Its sources go back (to the inbox, with
        the target's message) and the journal record is dropped; a later run rebuilds it once fixed."""
        label = journal.description or str(journal)
        wrapped = TargetValidationError(f"{self.target_label} refused the summary journal {label}: {error}",
                                        system=error.system or self.target_label, code=error.code or "refused")
        with transaction.atomic():
            sources = list(journal.sources.all())
            SummarySource.objects.filter(journal=journal).update(journal=None, status=SummarySource.Status.STAGED)
            for source in sources:
                source.journal = None
            journal.delete()
            self.fail_sources([(source, wrapped) for source in sources])


def message_uuid(*parts: Any) -> str:
    """A deterministic MessageId (upper-case GUID) for a journal's identity and content."""
    return str(uuid.uuid5(MESSAGE_NAMESPACE, "|".join(str(p) for p in parts))).upper()
