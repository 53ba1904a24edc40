"""The co-pilot's per-tenant state (tenant schema): its settings, its trained models, and what people told it.

Models are stored here and nowhere else, signed for the schema they were trained in (``ai_copilot.store``), so a
row copied into another tenant's schema is refused rather than used. Feedback rows are labels: GL accepts and
rejects teach the tenant's suggester, anomaly dismissals teach its scorer.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class CopilotSettings(models.Model):
    """One row per tenant: what the co-pilot may do. It proposes; these switches say who decides."""

    class AnomalyMode(models.TextChoices):
        OFF = "off", "Off: do not score"
        MARK = "mark", "Mark flagged records, post them anyway"
        HOLD = "hold", "Hold flagged records for approval"

    anomaly_mode = models.CharField(max_length=8, choices=AnomalyMode.choices, default=AnomalyMode.MARK)
    alert_rate = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.0100"),
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("0.2000"))],
        help_text="The alert budget: at most this share of records is flagged (0.01 = 1 %).")
    approval_limit = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("5000.00"), validators=[MinValueValidator(Decimal(0))],
        help_text="Invoices split to stay just under this amount are flagged.")
    gl_auto_accept = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
        help_text="When set, GL suggestions at or above this confidence for unmapped accounts are accepted and "
                  "published without a person. Empty: a person always decides.")
    share_prior = models.BooleanField(
        default=False, help_text="Contribute confirmed GL mappings (as anonymous word and class statistics) to the "
                                 "global prior and use the prior for suggestions.")
    retrain_queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When a retrain was queued and not yet done (one at a time per tenant).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "co-pilot settings"

    def __str__(self) -> str:
        return f"co-pilot settings ({self.anomaly_mode}, budget {self.alert_rate})"

    @classmethod
    def current(cls) -> CopilotSettings:
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls.objects.create()


class StoredModel(models.Model):
    """A trained model: pickled bytes, signed for this schema, with the library versions it was trained with."""

    scope = models.CharField(max_length=80, unique=True, help_text="'anomaly' or 'gl:<flow key>'.")
    format = models.PositiveIntegerField(help_text="Our own format version of the pickled object.")
    sklearn_version = models.CharField(max_length=20)
    python_version = models.CharField(max_length=20)
    payload = models.BinaryField()
    signature = models.CharField(max_length=64)
    inputs_digest = models.CharField(max_length=64, blank=True,
                                     help_text="Digest of what it was trained on; a different digest means stale.")
    training_rows = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    trained_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.scope} (sklearn {self.sklearn_version}, {self.trained_at:%Y-%m-%d %H:%M})"


class GLFeedback(models.Model):
    """A person's (or the auto-accept threshold's) verdict on one GL suggestion. Names and types are kept so the
    tenant's confirmations can teach the global prior without reading the charts again."""

    class Verdict(models.TextChoices):
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    flow = models.ForeignKey("sync.Flow", on_delete=models.CASCADE, related_name="gl_feedback")
    source_code = models.CharField(max_length=40)
    source_name = models.CharField(max_length=120, blank=True)
    source_type = models.CharField(max_length=60, blank=True)
    target_code = models.CharField(max_length=60)
    target_name = models.CharField(max_length=120, blank=True)
    target_type = models.CharField(max_length=60, blank=True)
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    score = models.FloatField(null=True, blank=True)
    automatic = models.BooleanField(default=False, help_text="Accepted by the tenant's auto-accept threshold.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["flow", "source_code"])]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.source_code} -> {self.target_code}: {self.verdict}"


class AnomalyLabel(models.Model):
    """A person's verdict on an anomaly flag: dismissed (not an anomaly) or confirmed. Dismissals are fed to the
    scorer as labels so the same pattern scores lower next time."""

    class Verdict(models.TextChoices):
        DISMISSED = "dismissed"
        CONFIRMED = "confirmed"

    record = models.ForeignKey("sync.SyncRecord", null=True, on_delete=models.SET_NULL, related_name="anomaly_labels")
    reason_code = models.CharField(max_length=40)
    key = models.CharField(max_length=200, blank=True, help_text="The party, account or pair the flag was about.")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.reason_code} ({self.key}): {self.verdict}"
