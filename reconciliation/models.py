"""A reconciliation run (one flow, one period) and the mismatches it found, record by record.

A run keeps its summary (counts and totals on both sides, balances per customer) as JSON: the figures are a
snapshot of two external systems at one moment and are never queried by value, only shown and served.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReconciliationRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        MATCHED = "matched", "Reconciled"
        MISMATCHED = "mismatched", "Mismatches found"
        FAILED = "failed", "Could not run"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Run now"
        SCHEDULE = "schedule", "Daily schedule"
        API = "api", "API"

    flow = models.ForeignKey("sync.Flow", on_delete=models.CASCADE, related_name="reconciliations")
    period_start = models.DateField(help_text="First invoice date compared (inclusive).")
    period_end = models.DateField(help_text="Last invoice date compared (inclusive).")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    # Set on scheduled runs only: one scheduled run per flow and day, whichever tick gets there first.
    schedule_day = models.DateField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    mismatch_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["flow", "-created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["flow", "schedule_day"], condition=models.Q(schedule_day__isnull=False),
                                    name="reconciliation_one_scheduled_run_per_day"),
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")),
                                   name="reconciliation_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.flow.key} {self.period_start}–{self.period_end} #{self.pk} {self.status}"

    @property
    def ok(self) -> bool:
        return self.status == self.Status.MATCHED

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.MATCHED, self.Status.MISMATCHED, self.Status.FAILED)


class Mismatch(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Payment"
        BALANCE = "balance", "Customer balance"

    class Reason(models.TextChoices):
        MISSING_IN_ERP = "missing_in_erp", "Missing in the ERP"
        MISSING_IN_KASHFLOW = "missing_in_kashflow", "Missing in Kashflow"
        DIFFERENT_AMOUNT = "different_amount", "Different amount"
        DIFFERENT_STATUS = "different_status", "Different status / paid state"
        DIFFERENT_BALANCE = "different_balance", "Different balance"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="mismatches")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INVOICE)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    source_id = models.CharField(max_length=120, blank=True, help_text="The Kashflow id (invoice number).")
    target_id = models.CharField(max_length=120, blank=True, help_text="The ERP id, where there is one.")
    customer = models.CharField(max_length=60, blank=True)
    kashflow_value = models.CharField(max_length=200, blank=True)
    erp_value = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    resyncable = models.BooleanField(default=False, help_text="Re-sync can repair it (the flow writes the ERP).")
    resynced_at = models.DateTimeField(null=True, blank=True)
    resync_outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["kind", "reason", "source_id", "pk"]
        indexes = [models.Index(fields=["run", "reason"])]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.kind} {self.source_id or self.target_id}"
