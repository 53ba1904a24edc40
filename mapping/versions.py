"""Which mapping a run uses: the flow's published version (created from the defaults on first use)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from mapping.models import MappingSet, MappingVersion


def default_rules(flow) -> dict[str, Any]:
    """The code-defined defaults of the flow, overlaid with the options it was created with."""
    from integrations.sync.flows import FLOWS

    definition = FLOWS.get(flow.key)
    rules: dict[str, Any] = dict(definition.default_rules()) if definition else {}
    options = flow.options or {}
    for key in ("gl_accounts", "dimensions", "customer_accounts", "routing"):
        if key in options:
            rules[key] = options[key]
    if "gl_map" in options:  # the option's older name
        overrides = {str(k): str(v) for k, v in options["gl_map"].items()}
        rules["gl_accounts"] = {**rules.get("gl_accounts", {}), **overrides}
    return rules


def published_version(flow) -> MappingVersion:
    """The version the next run applies; version 1 (the defaults) is published on first use."""
    mapping_set, _ = MappingSet.objects.get_or_create(flow=flow)
    version = mapping_set.versions.filter(status=MappingVersion.Status.PUBLISHED).first()
    if version is not None:
        return version
    try:
        with transaction.atomic():
            return MappingVersion.objects.create(
                mapping_set=mapping_set, number=(mapping_set.versions.count() + 1),
                status=MappingVersion.Status.PUBLISHED, rules=default_rules(flow), note="Defaults",
                published_at=timezone.now())
    except IntegrityError:  # another worker published first
        return mapping_set.versions.get(status=MappingVersion.Status.PUBLISHED)


def publish(flow, rules: dict[str, Any], *, actor=None, note: str = "") -> MappingVersion:
    """Freeze ``rules`` as the flow's new published version; the previous one is kept, marked replaced."""
    from portal.accounts.audit import audit

    current = published_version(flow)
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        mapping_set = MappingSet.objects.select_for_update().get(pk=current.mapping_set_id)
        number = (mapping_set.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        mapping_set.versions.filter(status=MappingVersion.Status.PUBLISHED).update(
            status=MappingVersion.Status.RETIRED)
        version = MappingVersion.objects.create(
            mapping_set=mapping_set, number=number, status=MappingVersion.Status.PUBLISHED, rules=rules, note=note,
            created_by=user, published_at=timezone.now(), published_by=user)
        audit(actor, "mapping.published", flow, {"version": number, "previous": current.number, "note": note},
              label=f"{flow.name} mapping v{number}")
    return version
