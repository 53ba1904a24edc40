"""Preview a draft mapping: run it against real sample records from the flow's source, writing nothing.

The editor shows, before anything is published, what the draft would make of records the source really holds:
source (as read) -> canonical -> target document, with warnings, hold/skip and the error a record would land in
the inbox with. To be faithful the preview drives the flow's own :class:`RecordFlow` hooks (``open``,
``candidates``, ``load``, ``canonical``, ``unwanted``, ``transform``), the code a run executes, rather than a
re-implementation that could drift from it.

What it must not do is change anything: no SyncRecord, source digest, cursor or binding is written and no
target write is made (``send`` and ``find_existing`` are never called). Transforms get an *unsaved* SyncRecord,
and the whole preview runs in a transaction that is always rolled back, so even a flow hook that happened to
write (a cache row, a gate's bookkeeping) leaves no trace. Reads still go through the connections' gates (rate
limits and circuit breakers apply to a preview as to a run), and a flow's transform may read the target (e.g.
the Sage chart to resolve G/L account keys), exactly as it does in a run.

Which records: the flow's candidate listing from an empty cursor (the same listing a first run or full sweep
walks), keeping records the flow would carry (``unwanted_listed``/``unwanted`` drop the rest), up to ``limit``.
Records listed are read one by one; the listing stops as soon as ``limit`` records are in hand, and after
``MAX_READS`` reads whatever the outcome so a preview stays quick on a large source.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction

from integrations.core.errors import ConnectorError
from integrations.sync.models import SyncRecord

log = logging.getLogger("ledgerbridge.mapping.preview")

MAX_READS = 50  # source records read at most per preview, wanted or not
MAX_LIMIT = 50


class PreviewUnavailable(Exception):
    """The flow cannot be previewed record by record (unknown key, or a summarised batch flow)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def preview(flow, rules: dict[str, Any], *, limit: int = 10) -> list[dict[str, Any]]:
    """Run ``rules`` (a draft, not yet published) over up to ``limit`` sample source records of ``flow``.

    One dict per record: ``source_id``, ``source`` (the record as read, JSON-safe), ``canonical``, ``target``
    (the document that would be sent, or None), ``warnings``, ``hold``, ``skip`` (reasons, "" when none) and
    ``error`` (None, or {"code", "kind", "message", "payload"}: what the inbox would show). A source that cannot
    be reached raises the ConnectorError (the caller shows it once rather than per record).
    """
    from integrations.sync.flows import FLOWS
    from integrations.sync.pipeline import RecordFlow, Scan, gate_for

    definition = FLOWS.get(flow.key)
    if definition is None:
        raise PreviewUnavailable(f"There is no flow {flow.key!r} in the catalogue.")
    spec_class = definition.spec_class()
    if not (isinstance(spec_class, type) and issubclass(spec_class, RecordFlow)):
        raise PreviewUnavailable(f"{definition.name} posts summaries per period; it has no record-by-record preview.")
    if not isinstance(rules, dict):
        raise PreviewUnavailable("The mapping must be a JSON object.")
    limit = max(1, min(MAX_LIMIT, int(limit)))
    source_gate, target_gate = gate_for(flow.source), gate_for(flow.target)
    spec = spec_class(flow, source_gate=source_gate, target_gate=target_gate)
    results: list[dict[str, Any]] = []
    with transaction.atomic():
        try:
            spec.open()
            reads = 0
            scan = Scan()
            for page in spec.candidates({}, scan):
                for candidate in page:
                    if len(results) >= limit or reads >= MAX_READS:
                        break
                    if spec.unwanted_listed(candidate):
                        continue
                    reads += 1
                    result = _preview_one(spec, source_gate, candidate, rules)
                    if result is not None:
                        results.append(result)
                if len(results) >= limit or reads >= MAX_READS:
                    break
        finally:
            transaction.set_rollback(True)  # a preview leaves nothing behind, whatever a hook did
    return results


def _preview_one(spec, source_gate, candidate, rules: dict[str, Any]) -> dict[str, Any] | None:
    """One record through load -> canonical -> transform; None when the flow would not carry it at all."""
    result: dict[str, Any] = {"source_id": candidate.source_id, "source": None, "canonical": None, "target": None,
                              "warnings": [], "hold": "", "skip": "", "error": None}
    try:
        raw = source_gate.call(lambda: spec.load(candidate), metered=False)
    except ConnectorError as error:
        result["error"] = _error(error)
        return result
    result["source"] = _jsonable(raw)
    try:
        payload = spec.canonical(raw)
    except ConnectorError as error:
        result["error"] = _error(error)
        return result
    if spec.unwanted(payload):
        return None
    result["canonical"] = _jsonable(payload)
    record = SyncRecord(flow=spec.flow, entity=spec.entity, source_id=candidate.source_id, payload=payload,
                        status=SyncRecord.Status.PENDING)  # never saved: transform only reads it
    try:
        with transaction.atomic():  # a savepoint: one record's database error does not spoil the others
            transformed = spec.transform(payload, rules, record)
    except ConnectorError as error:
        result["error"] = _error(error)
        return result
    except Exception as error:  # a rule the flow's code chokes on: shown on the record, the preview goes on
        log.exception("preview of %s %s failed", spec.flow.key, candidate.source_id)
        result["error"] = {"code": "preview_failed", "kind": "internal", "message": f"{type(error).__name__}: "
                           f"{error}", "payload": None}
        return result
    result["target"] = _jsonable(transformed.document)
    result["warnings"] = [str(w) for w in transformed.warnings]
    result["hold"], result["skip"] = transformed.hold or "", transformed.skip or ""
    return result


def _error(error: ConnectorError) -> dict[str, Any]:
    return {"code": error.code or "", "kind": error.kind, "message": str(error), "payload": _jsonable(error.payload)}


def _jsonable(value: Any) -> Any:
    """JSON-safe copy (Decimals, dates and protocol objects as text), so the result can be rendered or returned."""
    if value is None:
        return None
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)
