"""Enrichment: values looked up in data Ledgerbridge already synced, for the mapping rules.

A Kashflow invoice knows its customer's code, not the AX customer group or the Sage customer type; those live in
the ERP's master data, which the master-data flows (``ax_customers_to_kashflow``, ``sage_customers_to_kashflow``)
have already read and stored as canonical :class:`~integrations.core.canonical.Party` payloads on their
SyncRecords. An ``enrichment`` rule names such a value (``{"name": "customer_group", "entity": "customer",
"key": "invoice.customer_code", "field": "group"}``) and the mapping reads it through an
:class:`EnrichmentSource` — never by calling the ERP during a transform, which must stay pure and fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class EnrichmentSource(Protocol):
    """Where enrichment values come from: ``lookup(entity, key, field)`` -> the value, or None if unknown."""

    def lookup(self, entity: str, key: str, field: str) -> Any: ...


class DictEnrichment:
    """Enrichment from a plain ``{entity: {key: {field: value}}}`` mapping (previews, tests, the benchmark)."""

    def __init__(self, data: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        self.data = data

    def lookup(self, entity: str, key: str, field: str) -> Any:
        return ((self.data.get(entity) or {}).get(key) or {}).get(field)


class SyncedRecords:
    """Enrichment from the tenant's SyncRecord payloads (the canonical records other flows read).

    The newest record per (entity, code) wins; records are matched on the payload's ``code`` (a Party's customer
    or supplier code: the Kashflow code the master-data flows write is the ERP account) or, failing that, the
    record's ``source_id``. Each (entity, key) is read once per instance: a flow builds one per run, so a run
    sees one consistent answer and a thousand invoices of one customer cost one query.
    """

    def __init__(self, *, flow_keys: tuple[str, ...] | None = None) -> None:
        self.flow_keys = flow_keys
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}

    def lookup(self, entity: str, key: str, field: str) -> Any:
        cache_key = (entity, key)
        if cache_key not in self._cache:
            self._cache[cache_key] = self._payload(entity, key)
        payload = self._cache[cache_key]
        return None if payload is None else payload.get(field)

    def _payload(self, entity: str, key: str) -> dict[str, Any] | None:
        from django.db.models import Q

        from integrations.sync.models import SyncRecord

        records = SyncRecord.objects.filter(entity=entity).filter(Q(payload__code=key) | Q(source_id=key))
        if self.flow_keys:
            records = records.filter(flow__key__in=self.flow_keys)
        record = records.order_by("-pk").only("payload").first()
        return record.payload if record is not None and isinstance(record.payload, dict) else None
