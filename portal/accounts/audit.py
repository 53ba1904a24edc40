"""Write the tenant's audit log: ``audit(request.user, "connection.updated", conn, changes)``."""

from __future__ import annotations

from typing import Any

from django.db import models

from portal.accounts.models import AuditEntry

SECRET_FIELDS = {"password", "memorable_word", "secret", "api_key", "token"}


def audit(actor: Any, action: str, target: models.Model | None = None, changes: dict[str, Any] | None = None,
          *, label: str = "") -> AuditEntry:
    clean = {}
    for key, value in (changes or {}).items():
        clean[key] = "(changed)" if key in SECRET_FIELDS else _jsonable(value)
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user, actor_label=getattr(user, "email", "") or str(actor or "system"), action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=label or (str(target) if target is not None else ""), changes=clean)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` for fields that changed (secrets reduced to '(changed)' by ``audit``)."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
