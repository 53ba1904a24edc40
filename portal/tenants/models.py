"""Public-schema models: plans, tenants and their domains."""

from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Plan(models.Model):
    code = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    max_connections = models.PositiveIntegerField(default=4)
    max_records_per_month = models.PositiveIntegerField(default=10_000)

    def __str__(self) -> str:
        return self.name


class Tenant(TenantMixin):
    name = models.CharField("company name", max_length=120)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT)
    is_active = models.BooleanField(
        default=True, help_text="Suspended tenants cannot sign in and their background tasks do not run."
    )
    suspended_reason = models.CharField(max_length=200, blank=True)
    owner_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"


class Domain(DomainMixin):
    pass


class CopilotPrior(models.Model):
    """The co-pilot's global GL prior: word and account-class association statistics learnt from the confirmed
    mappings of tenants that opted in. It holds no tenant's codes or names, only aggregates, and is built only
    when enough tenants contributed (``ai_copilot.prior``)."""

    payload = models.JSONField()
    tenants = models.PositiveIntegerField()
    pairs = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Global prior of {self.created_at:%Y-%m-%d} ({self.tenants} tenants, {self.pairs} pairs)"
