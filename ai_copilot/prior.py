"""The opt-in global prior: what confirmed GL mappings across tenants teach about names and account classes.

Only tenants that switched ``share_prior`` on contribute, and only they use the result (a fair exchange). What is
stored (``portal.tenants.CopilotPrior``, public schema) is one ``GlobalPrior.to_dict()`` per ERP: word and class
association statistics, never a tenant's codes or names as such, and it is built only when at least
``LEDGERBRIDGE_COPILOT_PRIOR_MIN_TENANTS`` tenants (3) contributed, so no statistic stands for one tenant.
A tenant's own confirmations always outrank the prior (``ai_copilot.gl``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from ai_copilot.accounts import Account
from ai_copilot.gl import GlobalPrior

log = logging.getLogger("ledgerbridge.copilot.prior")

REBUILD_EVERY = timedelta(hours=24)


def min_tenants() -> int:
    return int(getattr(settings, "LEDGERBRIDGE_COPILOT_PRIOR_MIN_TENANTS", 3))


def prior_for_tenant(system: str) -> tuple[GlobalPrior | None, int | None]:
    """(prior, its id) for a flow into ``system`` (the ERP): the newest prior learnt from tenants on that system,
    if the tenant opted in, else (None, None). Priors are per target system: word associations learnt on one ERP's
    chart mislead on another's (an AX chart has no legal-fees account, so "legal" learns "miscellaneous")."""
    from ai_copilot.models import CopilotSettings
    from portal.tenants.models import CopilotPrior

    if not CopilotSettings.current().share_prior:
        return None, None
    row = CopilotPrior.objects.order_by("-created_at", "-pk").first()  # public table, on every search path
    if row is None:
        return None, None
    if system not in row.payload:
        return None, None
    try:
        return GlobalPrior.from_dict(row.payload[system]), row.pk
    except (KeyError, TypeError, ValueError):
        log.exception("global prior %s is unreadable; suggestions go on without it", row.pk)
        return None, None


def tenant_pairs() -> dict[str, list[tuple[Account, Account]]]:
    """The current tenant's confirmed (source, target) accounts with names and types, per target system:
    accepted suggestions as recorded, plus every row of its published GL maps whose accounts both charts still
    name."""
    from ai_copilot import charts, gl_service
    from ai_copilot.models import GLFeedback
    from integrations.sync.models import Flow
    from mapping import versions

    pairs: dict[tuple[str, int, str, str], tuple[Account, Account]] = {}
    for row in GLFeedback.objects.filter(verdict=GLFeedback.Verdict.ACCEPTED).exclude(source_name="") \
            .exclude(target_name="").select_related("flow__target"):
        pairs[(row.flow.target.system, row.flow_id, row.source_code, row.target_code)] = (
            Account(row.source_code, row.source_name, row.source_type),
            Account(row.target_code, row.target_name, row.target_type))
    for flow in Flow.objects.select_related("source", "target"):
        try:
            if not gl_service.supports(flow):
                continue
            table = versions.published_version(flow).rules.get(gl_service.SECTION) or {}
            sources = {a.code: a for a in charts.source_accounts(flow)}
            targets = {a.code: a for a in charts.target_accounts(flow)}
        except charts.ChartUnavailable as error:
            log.info("prior: %s skipped: %s", flow.key, error.message)
            continue
        for source, target in table.items():
            if str(source) in sources and str(target) in targets:
                pairs[(flow.target.system, flow.pk, str(source), str(target))] = (sources[str(source)],
                                                                                  targets[str(target)])
    found: dict[str, list[tuple[Account, Account]]] = {}
    for (system, *_rest), pair in pairs.items():
        found.setdefault(system, []).append(pair)
    return found


def rebuild(*, force: bool = False) -> dict[str, Any]:
    """Public-schema task: collect the opted-in tenants' confirmed pairs and store a new prior (daily)."""
    from ai_copilot.models import CopilotSettings
    from portal.tenants.models import CopilotPrior, Tenant

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        latest = CopilotPrior.objects.order_by("-created_at").first()
        if latest is not None and not force and timezone.now() - latest.created_at < REBUILD_EVERY:
            return {"built": False, "why": "fresh"}
        schemas = list(Tenant.objects.filter(is_active=True).exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
                       .values_list("schema_name", flat=True))
    pairs: dict[str, list[tuple[Account, Account]]] = {}
    contributors: dict[str, int] = {}
    for schema in schemas:
        try:
            with schema_context(schema):
                if not CopilotSettings.current().share_prior:
                    continue
                found = tenant_pairs()
        except Exception:  # one tenant's broken connection must not stop the others
            log.exception("prior: tenant %s could not contribute", schema)
            continue
        for system, system_pairs in found.items():
            if system_pairs:
                contributors[system] = contributors.get(system, 0) + 1
                pairs.setdefault(system, []).extend(system_pairs)
    systems = sorted(system for system, count in contributors.items() if count >= min_tenants())
    if not systems:
        return {"built": False, "why": f"contributors per ERP {contributors}; {min_tenants()} needed for one"}
    payload = {system: GlobalPrior.fit(pairs[system]).to_dict() for system in systems}
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        row = CopilotPrior.objects.create(payload=payload, tenants=max(contributors[s] for s in systems),
                                          pairs=sum(len(pairs[s]) for s in systems))
        CopilotPrior.objects.exclude(pk=row.pk).filter(created_at__lt=timezone.now() - 7 * REBUILD_EVERY).delete()
    log.info("global prior %s built for %s from %s tenants", row.pk, systems, contributors)
    return {"built": True, "id": row.pk, "systems": systems, "tenants": contributors,
            "pairs": {s: len(pairs[s]) for s in systems}}
