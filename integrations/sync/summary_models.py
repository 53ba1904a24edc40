"""Summarised posting: one GL journal per closed period instead of one document per source record.

* ``SummarySource`` — one Kashflow sales invoice or receipt (a payment line of an invoice), staged when the
  source scan sees it and claimed by exactly one journal. The unique constraint on (flow, kind, source id)
  means a source record exists once per flow, and its single ``journal`` foreign key means it can be in at
  most one journal: the "no source in two journals" rule is held by the database, not only by the code.
* ``SummaryJournal`` — a journal of one period (day or week). It is recorded together with its lines, its
  contributions and the claim of its sources in one transaction *before* it is sent; its ``message_id`` (the
  AX MessageId, or the Sage agent's operation key) and the exact ``document`` are its outbox entry, so a
  crash between sending and recording the answer is recovered by sending the very same message again.
* ``SummaryLine`` — one journal line (account, dimensions, currency, tax code, debit or credit).
* ``SummaryContribution`` — what each source added to each line (the drill-down from a line to its sources;
  the contributions of a line add up to the line's amount exactly).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SummaryJournal(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Recorded, not confirmed by the target yet"
        POSTED = "posted", "Posted"
        FAILED = "failed", "Refused by the target"

    flow = models.ForeignKey("sync.Flow", on_delete=models.CASCADE, related_name="summary_journals")
    period = models.CharField(max_length=8, default="day", help_text="day or week")
    period_start = models.DateField()
    period_end = models.DateField()
    sequence = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the period's journal; 2, 3... for sources that arrived after it was posted.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message_id = models.CharField(max_length=64, unique=True,
                                  help_text="AX MessageId or Sage agent operation key: the same journal always "
                                            "travels under the same id.")
    document = models.JSONField(help_text="The exact document sent to the target (re-sent as is after a crash).")
    target_id = models.CharField(max_length=120, blank=True, help_text="AX JournalNum or Sage SourceJournal-EntryNo.")
    description = models.CharField(max_length=120, blank=True)
    total_debit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    total_credit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    source_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    mapping_version = models.ForeignKey("mapping.MappingVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    created_run = models.ForeignKey("sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="summary_journals_created")
    posted_run = models.ForeignKey("sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="summary_journals_posted")
    created_at = models.DateTimeField(default=timezone.now)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "period_start", "sequence"], name="summaryjournal_period_unique"),
        ]
        indexes = [models.Index(fields=["flow", "status"])]

    def __str__(self) -> str:
        return f"{self.flow.key} {self.period_start}#{self.sequence} ({self.status})"


class SummaryLine(models.Model):
    journal = models.ForeignKey(SummaryJournal, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    role = models.CharField(max_length=10, help_text="ar, sales, tax or bank")
    account = models.CharField(max_length=60, help_text="The target account as posted (AX main account, Sage "
                                                        "formatted account).")
    dimensions = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3)
    tax_code = models.CharField(max_length=20, blank=True)
    debit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    credit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    text = models.CharField(max_length=60, blank=True)
    source_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["journal", "line_no"]
        constraints = [models.UniqueConstraint(fields=["journal", "line_no"], name="summaryline_unique")]

    def __str__(self) -> str:
        return f"line {self.line_no} {self.account} {self.debit or -self.credit}"


class SummarySource(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Sales invoice"
        RECEIPT = "receipt", "Receipt"

    class Status(models.TextChoices):
        STAGED = "staged", "Waiting for its period to close"
        JOURNALED = "journaled", "In a journal"
        FAILED = "failed", "Cannot be mapped (error inbox)"

    flow = models.ForeignKey("sync.Flow", on_delete=models.CASCADE, related_name="summary_sources")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source_id = models.CharField(max_length=120, help_text="Invoice number, or <invoice number>/<payment id>.")
    invoice_number = models.CharField(max_length=40)
    customer_code = models.CharField(max_length=40, blank=True)
    date = models.DateField(help_text="Issue date (invoice) or payment date (receipt): decides the period.")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=18, decimal_places=2, help_text="Gross (invoice) or paid (receipt).")
    payload = models.JSONField(help_text="The canonical record (SalesInvoice or Payment) as staged.")
    digest = models.CharField(max_length=64, help_text="Hash of the payload: a change after journaling is noted.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STAGED)
    journal = models.ForeignKey(SummaryJournal, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="sources")
    last_error = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="E.g. the source changed after its journal was posted.")
    staged_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "kind", "source_id"]
        constraints = [
            # One row per source record and flow, so a source can be claimed by one journal only.
            models.UniqueConstraint(fields=["flow", "kind", "source_id"], name="summarysource_once_per_flow"),
        ]
        indexes = [models.Index(fields=["flow", "status", "date"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}"


class SummaryContribution(models.Model):
    line = models.ForeignKey(SummaryLine, on_delete=models.CASCADE, related_name="contributions")
    source = models.ForeignKey(SummarySource, on_delete=models.CASCADE, related_name="contributions")
    amount = models.DecimalField(max_digits=18, decimal_places=2, help_text="Signed: + debit, - credit.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "source"], name="summarycontribution_unique")]

    def __str__(self) -> str:
        return f"{self.source} -> {self.line}"
