"""Tenant life cycle: create (signup), suspend, reactivate. Views and commands call these."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import schema_context

from portal.tenants.models import Domain, Plan, Tenant

SUBDOMAIN_RE = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
RESERVED_SUBDOMAINS = frozenset(
    {
        "admin", "api", "app", "assets", "auth", "billing", "dashboard", "docs", "help", "login", "mail",
        "media", "portal", "public", "sandbox", "signup", "smtp", "static", "status", "support", "www",
        "ledgerbridge", "staff", "root", "system", "information_schema", "postgres", "template",
    }
)


def validate_subdomain(subdomain: str) -> str:
    """Return the normalised subdomain or raise ValidationError with a message for the signup form."""
    value = (subdomain or "").strip().lower()
    if not SUBDOMAIN_RE.match(value) or "--" in value:
        raise ValidationError(
            "Use 3 to 30 lower-case letters, digits or hyphens, starting with a letter and not ending "
            "with a hyphen.", code="invalid",
        )
    if value in RESERVED_SUBDOMAINS or value.startswith("pg-"):
        raise ValidationError(f"“{value}” is reserved. Please choose another subdomain.", code="reserved")
    if Tenant.objects.filter(schema_name=schema_name_for(value)).exists() or Domain.objects.filter(
        domain=domain_for(value)
    ).exists():
        raise ValidationError(f"“{value}” is already taken. Please choose another subdomain.", code="taken")
    return value


def schema_name_for(subdomain: str) -> str:
    return subdomain.replace("-", "_")


def domain_for(subdomain: str) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}"


def tenant_url(tenant: Tenant, path: str = "/") -> str:
    domain = tenant.get_primary_domain()
    port = settings.PORTAL_PORT
    port_part = "" if port in {"80", "443", ""} else f":{port}"
    return f"{settings.PORTAL_SCHEME}://{domain.domain}{port_part}{path}"


@dataclass
class SignupResult:
    tenant: Tenant
    owner_email: str


def tenant_create(
    *, company_name: str, subdomain: str, owner_email: str, owner_password: str, plan_code: str = "starter"
) -> SignupResult:
    """Create the schema, the domain and the owner. Slow-ish (runs tenant migrations)."""
    from portal.accounts.models import Role, User

    subdomain = validate_subdomain(subdomain)
    plan, _ = Plan.objects.get_or_create(code=plan_code, defaults={"name": plan_code.title()})
    with transaction.atomic():
        tenant = Tenant(
            schema_name=schema_name_for(subdomain), name=company_name.strip(), plan=plan,
            owner_email=owner_email,
        )
        tenant.save(verbosity=0)
        Domain.objects.create(domain=domain_for(subdomain), tenant=tenant, is_primary=True)
    with schema_context(tenant.schema_name):
        User.objects.create_user(email=owner_email, password=owner_password, role=Role.OWNER,
                                 full_name="")
    return SignupResult(tenant=tenant, owner_email=owner_email)


def tenant_suspend(*, tenant: Tenant, reason: str = "") -> None:
    tenant.is_active = False
    tenant.suspended_reason = reason[:200]
    tenant.save(update_fields=["is_active", "suspended_reason"])


def tenant_reactivate(*, tenant: Tenant) -> None:
    tenant.is_active = True
    tenant.suspended_reason = ""
    tenant.save(update_fields=["is_active", "suspended_reason"])
