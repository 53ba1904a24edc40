"""Tenant-schema models of the sync engine: connections, flows, runs, records, bindings.

Every source record a run touches is persisted as a SyncRecord *before* anything is posted, and
every successful external create is bound (source id <-> target id) in its own commit straight
after the call, so a worker killed at any point loses nothing and posts nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.crypto import EncryptedTextField


class System(models.TextChoices):
    KASHFLOW = "kashflow", "Kashflow"
    DYNAMICS_AX = "dynamics_ax", "Microsoft Dynamics AX"
    SAGE100 = "sage100", "Sage 100"


class Connection(models.Model):
    class Status(models.TextChoices):
        UNTESTED = "untested", "Not tested yet"
        OK = "ok", "Working"
        FAILING = "failing", "Failing"
        AUTH_FAILED = "auth_failed", "Credentials refused"
        PAUSED = "paused", "Paused (keeps failing)"

    name = models.CharField(max_length=80)
    system = models.CharField(max_length=20, choices=System.choices)
    base_url = models.URLField(
        "endpoint URL", max_length=400,
        help_text="Kashflow: https://api.kashflow.com/v2 · AX: http://<iis>/MicrosoftDynamicsAXAif60/<port>/xppservice.svc",
    )
    username = models.CharField(max_length=150, blank=True)
    password = EncryptedTextField(blank=True)
    memorable_word = EncryptedTextField(blank=True, help_text="Kashflow only.")
    settings = models.JSONField(default=dict, blank=True, help_text="System-specific options (AX company, auth).")
    is_sandbox = models.BooleanField(default=False)
    rate_per_second = models.FloatField(
        null=True, blank=True, help_text="Most requests per second to this system, shared by every worker (empty: "
                                         "no limit).")
    burst = models.PositiveIntegerField(default=1, help_text="Requests allowed back to back before the rate applies.")
    max_concurrency = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Most requests in flight at once, across every worker (empty: no limit).")
    daily_budget = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most requests per day (UTC), e.g. an API plan's quota (empty: no limit).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNTESTED)
    status_message = models.CharField(max_length=500, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="connection_name_unique")]

    def __str__(self) -> str:
        return self.name

    def secret_summary(self) -> dict[str, bool]:
        """What the UI and API may know about secrets: only whether they are set."""
        return {"password": bool(self.password), "memorable_word": bool(self.memorable_word)}


class ConnectionThrottle(models.Model):
    """Shared, database-held state of a connection's rate limiter, daily budget and circuit breaker.

    One row per connection, updated with single atomic statements, so every worker on every machine sees
    the same bucket (see integrations/sync/limits.py).
    """

    class Breaker(models.TextChoices):
        CLOSED = "closed", "Closed"
        OPEN = "open", "Open (paused)"
        HALF_OPEN = "half_open", "Half-open (trying)"

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, primary_key=True, related_name="throttle")
    tokens = models.FloatField(default=0)
    refilled_at = models.DateTimeField(default=timezone.now)
    blocked_until = models.DateTimeField(null=True, blank=True, help_text="Set from the system's Retry-After.")
    budget_day = models.DateField(null=True, blank=True)
    budget_used = models.PositiveIntegerField(default=0)
    requests_total = models.PositiveBigIntegerField(default=0)
    breaker = models.CharField(max_length=10, choices=Breaker.choices, default=Breaker.CLOSED)
    failures_in_a_row = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_until = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0, help_text="Times opened since last closed (backoff).")
    reason = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"limits of connection {self.connection_id} ({self.breaker})"


class Flow(models.Model):
    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    source = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="source_flows")
    target = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="target_flows")
    enabled = models.BooleanField(default=True)
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def last_run(self) -> SyncRun | None:
        return self.runs.order_by("-created_at").first()


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Finished with errors"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Run now"
        COMMAND = "command", "Command line"
        SCHEDULE = "schedule", "Schedule"
        WEBHOOK = "webhook", "Webhook"
        REPLAY = "replay", "Replay"
        RESUME = "resume", "Resumed by the watchdog"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    records_seen = models.PositiveIntegerField(default=0)
    records_posted = models.PositiveIntegerField(default=0)
    records_skipped = models.PositiveIntegerField(default=0)
    records_failed = models.PositiveIntegerField(default=0)
    records_held = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    mapping_version = models.ForeignKey("mapping.MappingVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    resumed_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_calls = models.PositiveIntegerField(default=0, help_text="Write calls made to the target.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["flow", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.flow.key} #{self.pk} {self.status}"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class Resolution(models.TextChoices):
    """What became of a record that needed a person (an error or a hold)."""

    AUTO_RESOLVED = "auto_resolved", "Posted by a later run"
    IGNORED = "ignored", "Ignored"
    REPLAYED = "replayed", "Replayed"
    EDITED = "edited", "Edited and retried"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class SyncRecord(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        POSTED = "posted", "Posted"
        HELD = "held", "Held for approval"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="records")
    last_run = models.ForeignKey(SyncRun, null=True, on_delete=models.SET_NULL, related_name="records")
    entity = models.CharField(max_length=40)
    source_id = models.CharField(max_length=120)
    source_version = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=64, unique=True)
    payload = models.JSONField(help_text="The canonical record as extracted.")
    target_payload = models.JSONField(null=True, blank=True)
    target_id = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    error_kind = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=60, blank=True, help_text="The system's or the mapping's error code.")
    suggested_fix = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True,
                                help_text="What the mapping had to change, e.g. values cut to the target's lengths.")
    mapping_version = models.ForeignKey("mapping.MappingVersion", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="records", help_text="The mapping that last transformed it.")
    # Outbox: set (and committed) before the write leaves, cleared when the outcome is known. A record still
    # carrying one after a crash is re-sent with the same message id, which the target recognises.
    message_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Record-level lease: the run working on it, until when (a dead worker's lease simply expires).
    lease_run = models.PositiveBigIntegerField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    hold_reason = models.CharField(max_length=300, blank=True)
    anomaly_score = models.FloatField(null=True, blank=True, help_text="The co-pilot's anomaly score (0..1).")
    anomaly_flagged = models.BooleanField(default=False, help_text="Within the tenant's alert budget.")
    anomaly_reasons = models.JSONField(default=list, blank=True,
                                       help_text='Why it was flagged: [{"code", "text", "key"}].')
    # Queued for replay: "ran" = with the mapping version that ran, "current" = with the published one.
    replay_mapping = models.CharField(max_length=8, blank=True)
    original_payload = models.JSONField(null=True, blank=True, help_text="The payload as extracted, when edited.")
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "entity", "source_id", "source_version"],
                                    name="syncrecord_source_version_unique"),
        ]
        indexes = [models.Index(fields=["flow", "status"]),
                   models.Index(fields=["flow", "entity", "source_id"]),
                   models.Index(fields=["flow", "status", "-updated_at"], name="syncrecord_inbox")]

    def __str__(self) -> str:
        return f"{self.entity} {self.source_id} ({self.status})"


class Binding(models.Model):
    """Source record <-> target record, one row per pair of connections and entity."""

    entity = models.CharField(max_length=40)
    source_connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    source_id = models.CharField(max_length=120)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="bindings",
                                   help_text="The connection the external id belongs to (the target).")
    external_id = models.CharField(max_length=120)
    payload_hash = models.CharField(max_length=64)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "entity", "external_id"],
                                    name="binding_external_id_unique"),
            models.UniqueConstraint(fields=["connection", "entity", "source_connection", "source_id"],
                                    name="binding_source_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.source_id} -> {self.external_id}"


def _webhook_token() -> str:
    import secrets

    return secrets.token_urlsafe(18)


def _webhook_secret() -> str:
    import secrets

    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """Where a system (a storefront, a partner) posts signed events for one connection."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="webhook_endpoints")
    token = models.CharField(max_length=40, unique=True, default=_webhook_token,
                             help_text="The unguessable part of the URL; the signature is what authenticates.")
    secret = EncryptedTextField(default=_webhook_secret)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"webhook for {self.connection}"


class InboundWebhook(models.Model):
    """A delivery, stored before it is acknowledged, then processed by the worker."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=120, blank=True)
    event = models.CharField(max_length=80, blank=True)
    body = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "delivery_id"], condition=~models.Q(delivery_id=""),
                                               name="webhook_delivery_unique")]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.event or 'event'} {self.delivery_id or self.pk} ({self.status})"


class SourceState(models.Model):
    """What the engine last saw of each source record (change detection without a modified-since filter).

    ``digest`` is the hash of the record as listed; it is written only in the transaction that settles the
    record (posted, skipped, held, failed for good), so anything unsettled is seen as changed next run.
    """

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="source_states")
    stream = models.CharField(max_length=40)
    source_id = models.CharField(max_length=120)
    number = models.BigIntegerField(null=True, blank=True)
    digest = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "stream", "source_id"], name="sourcestate_unique")]

    def __str__(self) -> str:
        return f"{self.stream} {self.source_id}"


class FlowCursor(models.Model):
    """Where a flow's stream got to: a timestamp + ids at it, or a number watermark. Advanced only after the
    records it covers are committed."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="cursors")
    stream = models.CharField(max_length=40)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "stream"], name="flowcursor_unique")]

    def __str__(self) -> str:
        return f"{self.flow.key}/{self.stream}: {self.value}"


class FlowSchedule(models.Model):
    """When a flow runs by itself: every N minutes (1 or more) or a cron expression (UTC)."""

    class Kind(models.TextChoices):
        INTERVAL = "interval", "Every N minutes"
        CRON = "cron", "Cron expression"

    flow = models.OneToOneField(Flow, on_delete=models.CASCADE, related_name="schedule")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INTERVAL)
    interval_minutes = models.PositiveIntegerField(default=15)
    cron = models.CharField(max_length=120, blank=True)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"schedule of {self.flow}"


class Notification(models.Model):
    """An in-app alert; e-mailed to the tenant's admins in a digest (one e-mail per window, not a storm)."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    kind = models.CharField(max_length=40)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.WARNING)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    flow = models.ForeignKey(Flow, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="notifications")
    dedup_key = models.CharField(max_length=120, blank=True, db_index=True,
                                 help_text="One open notification per key (an episode), e.g. flow:3:failing.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When the episode ended.")
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["emailed_at", "created_at"])]

    def __str__(self) -> str:
        return self.title


from integrations.sync.summary_models import SummaryContribution, SummaryJournal, SummaryLine, SummarySource  # noqa: E402, F401
