"""The error inbox and the approvals queue: what a person does with a record the engine could not settle.

Inbox = failed records nobody has resolved yet; approvals = held records waiting for a decision. Every action
changes state in one transaction (bulk, in a few statements whatever the number of records), writes one audit
entry per flow touched and, when records go back to the engine, requests one replay run per flow *after* the
state change is committed, so the worker never starts before it can see the records.

The engine's side of the contract: a run processes every pending record of its flow; ``replay_mapping`` says
which mapping transforms it ("ran" = the version recorded on the record, "current" = the published one);
``resolution="approved"`` stops it from being held again; a failure puts a replayed/edited/approved record back
in the inbox (resolution cleared).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Left, NullIf
from django.utils import timezone

from integrations.sync.models import Flow, Resolution, SyncRecord, SyncRun
from integrations.sync.services import flow_run_request
from portal.accounts.audit import audit
from portal.accounts.models import AuditEntry

FAILED, HELD, PENDING, SKIPPED = (SyncRecord.Status.FAILED, SyncRecord.Status.HELD, SyncRecord.Status.PENDING,
                                  SyncRecord.Status.SKIPPED)
MAPPING_MODES = {"ran": "with the mapping that ran", "current": "with the current mapping"}
MAX_IDS = 10_000  # most ids one request may name (the UI's "all matching" goes through a query instead)
KEEP_ERRORS = 20_000
_CHUNK = 5_000  # ids per IN (...) list
# Resolutions after which nothing more happens to a record: the only ones retention may delete.
FINAL_RESOLUTIONS = (Resolution.AUTO_RESOLVED, Resolution.IGNORED, Resolution.REJECTED)
GROUP_LINE_LENGTH = 200


class InboxError(Exception):
    """Bad input for an inbox action; ``field`` names the offending input (for forms and the API)."""

    def __init__(self, message: str, *, code: str = "invalid", field: str = "", ids: list[int] | None = None):
        super().__init__(message)
        self.message, self.code, self.field, self.ids = message, code, field, ids or []


@dataclass
class Outcome:
    """What an action did: records changed, records left alone (and why), runs requested."""

    action: str
    changed: list[int] = field(default_factory=list)
    not_eligible: list[int] = field(default_factory=list)  # not in a state the action applies to
    busy: list[int] = field(default_factory=list)  # a run holds them right now
    runs: list[SyncRun] = field(default_factory=list)
    mapping: str = ""

    @property
    def count(self) -> int:
        return len(self.changed)

    def summary(self) -> str:
        verb = {"ignore": "ignored", "replay": "queued for replay", "edit": "edited and queued for replay",
                "approve": "approved", "reject": "rejected"}[self.action]
        text = f"{self.count} record{'s' if self.count != 1 else ''} {verb}"
        if self.mapping:
            text += f" {MAPPING_MODES[self.mapping]}"
        if self.runs:
            text += f" (run{'s' if len(self.runs) > 1 else ''} {', '.join(f'#{r.pk}' for r in self.runs)})"
        text += "."
        if self.not_eligible:
            text += f" {len(self.not_eligible)} skipped: no longer in a state this applies to."
        if self.busy:
            text += f" {len(self.busy)} skipped: a run is working on them right now; try again shortly."
        return text


# ---------------------------------------------------------------------------------------------- selectors

def inbox_records(flow: Flow | int | None = None) -> QuerySet[SyncRecord]:
    """Failed records nobody has resolved, newest first."""
    records = SyncRecord.objects.filter(status=FAILED, resolution="")
    if flow is not None:
        records = records.filter(flow=flow)
    return records.order_by("-updated_at", "-pk")


def approval_records(flow: Flow | int | None = None) -> QuerySet[SyncRecord]:
    """Held records waiting for a decision, oldest first (first come, first served)."""
    records = SyncRecord.objects.filter(status=HELD, resolution="")
    if flow is not None:
        records = records.filter(flow=flow)
    return records.order_by("updated_at", "pk")


def attention_counts() -> dict[str, int]:
    """Inbox and approvals sizes in one query (for the navigation)."""
    return SyncRecord.objects.filter(status__in=[FAILED, HELD], resolution="").aggregate(
        inbox=Count("pk", filter=Q(status=FAILED)), approvals=Count("pk", filter=Q(status=HELD)))


def with_group_fields(records: QuerySet[SyncRecord]) -> QuerySet[SyncRecord]:
    """Annotate ``group_code`` (error code, else kind) and ``group_line`` (first line of the message)."""
    first_line = Func(F("last_error"), Value("\n"), Value(1), function="split_part", output_field=CharField())
    return records.annotate(
        group_code=Coalesce(NullIf(F("error_code"), Value("")), F("error_kind"), output_field=CharField()),
        group_line=Left(first_line, GROUP_LINE_LENGTH),
    )


def inbox_groups(flow: Flow | int | None = None, records: QuerySet[SyncRecord] | None = None) -> list[dict[str, Any]]:
    """Unresolved failures grouped by (flow, error code or kind, first line of the message), biggest first.

    Each group: flow (object), code, line, count, latest (last failure), sample_id (one record to open).
    """
    base = records if records is not None else inbox_records(flow)
    rows = list(
        with_group_fields(base.order_by()).values("flow_id", "group_code", "group_line")
        .annotate(count=Count("pk"), latest=Max("updated_at"), sample_id=Min("pk"))
        .order_by("-count", "-latest")
    )
    flows = Flow.objects.in_bulk({row["flow_id"] for row in rows})
    return [{"flow": flows.get(row["flow_id"]), "flow_id": row["flow_id"], "code": row["group_code"] or "",
             "line": row["group_line"] or "", "count": row["count"], "latest": row["latest"],
             "sample_id": row["sample_id"]} for row in rows]


def in_group(records: QuerySet[SyncRecord], *, code: str, line: str) -> QuerySet[SyncRecord]:
    return with_group_fields(records).filter(group_code=code, group_line=line)


def payload_summary(payload: Any) -> dict[str, str]:
    """Amount, currency, party, number and date from a canonical record, where present (for lists)."""
    if not isinstance(payload, dict):
        return {}

    def pick(*keys: str) -> str:
        for key in keys:
            value = payload.get(key)
            if value not in (None, ""):
                return str(value)
        return ""
    code, name = pick("customer_code", "supplier_code", "vendor_code", "party_code"), pick(
        "customer_name", "supplier_name", "vendor_name", "party_name", "name")
    return {
        "amount": pick("gross_amount", "total", "amount", "net_amount"),
        "currency": pick("currency"),
        "party": f"{name} ({code})" if name and code else (name or code),
        "number": pick("number", "reference"),
        "date": pick("issue_date", "date", "posting_date"),
    }


def record_history(record: SyncRecord, limit: int = 50) -> list[AuditEntry]:
    """Audit entries about one record: its own (edits) and the bulk entries on its flow that name it."""
    own = Q(target_type=SyncRecord._meta.label_lower, target_id=str(record.pk))
    bulk = Q(target_type=Flow._meta.label_lower, target_id=str(record.flow_id), action__startswith="records.",
             at__gte=record.created_at - timedelta(seconds=1))
    entries = []
    for entry in AuditEntry.objects.filter(own | bulk).order_by("-at")[:2000]:
        if entry.target_type == Flow._meta.label_lower and not ids_contain(entry.changes.get("records", ""),
                                                                             record.pk):
            continue
        entries.append(entry)
        if len(entries) >= limit:
            break
    return entries


# ---------------------------------------------------------------------------------------------- actions

RecordsArg = QuerySet[SyncRecord] | Iterable[SyncRecord | int | str]


def ignore(records: RecordsArg, actor: Any) -> Outcome:
    """Failed records: stop asking about them (skipped, resolution ignored)."""
    outcome = Outcome("ignore")
    now = timezone.now()
    with transaction.atomic():
        by_flow = _take(records, outcome, eligible=lambda status, resolution: status == FAILED and not resolution)
        _update(by_flow, status=SKIPPED, resolution=Resolution.IGNORED, resolved_at=now, resolved_by=_user(actor),
                replay_mapping="", updated_at=now)
        _audit_per_flow(actor, "records.ignored", by_flow)
    return outcome


def replay(records: RecordsArg, *, mapping: str, actor: Any) -> Outcome:
    """Failed, held or pending records: transform and send them again, with the mapping that ran or the current one.

    A record without a recorded mapping version cannot replay "with the mapping that ran"; it is queued with the
    current mapping (what the engine would do anyway), so the audit says what really happens.
    """
    if mapping not in MAPPING_MODES:
        raise InboxError(f"mapping must be one of {', '.join(MAPPING_MODES)}, not {mapping!r}.", field="mapping",
                         code="invalid_choice")
    outcome = Outcome("replay", mapping=mapping)
    now = timezone.now()
    with transaction.atomic():
        by_flow = _take(records, outcome, eligible=_replayable)
        mode = Value(mapping) if mapping == "current" else Case(
            When(mapping_version__isnull=True, then=Value("current")), default=Value("ran"))
        _update(by_flow, status=PENDING, replay_mapping=mode, updated_at=now,
                resolution=Case(When(resolution="", then=Value(Resolution.REPLAYED)), default=F("resolution")))
        flows = _audit_per_flow(actor, "records.replayed", by_flow, mapping=mapping)
    outcome.runs = _request_runs(flows, actor)
    return outcome


def edit_and_retry(record: SyncRecord | int, payload: Any, actor: Any) -> Outcome:
    """Replace one record's canonical payload (the extracted one is kept) and replay it with the current mapping."""
    if not isinstance(payload, dict):
        raise InboxError("The payload must be a JSON object ({ ... }).", field="payload", code="not_an_object")
    pk = record.pk if isinstance(record, SyncRecord) else record
    outcome = Outcome("edit", mapping="current")
    with transaction.atomic():
        locked = SyncRecord.objects.select_for_update(of=("self",)).select_related("flow").filter(pk=pk).first()
        if locked is None:
            raise InboxError(f"There is no record {pk}.", field="ids", code="unknown_ids", ids=[pk])
        if _busy(locked.lease_until, locked.message_id):
            raise InboxError("A run is working on this record right now; try again shortly.", code="busy")
        if not _replayable(locked.status, locked.resolution):
            raise InboxError(f"This record is {locked.get_status_display().lower()}; only failed, held or pending "
                             "records can be edited.", code="not_eligible")
        before = locked.payload if isinstance(locked.payload, dict) else {"_": locked.payload}
        changes = payload_diff(before, payload)
        if locked.original_payload is None:
            locked.original_payload = locked.payload
        locked.payload = payload
        locked.status = PENDING
        locked.replay_mapping = "current"
        if locked.resolution in ("", Resolution.REPLAYED):
            locked.resolution = Resolution.EDITED
        locked.save(update_fields=["payload", "original_payload", "status", "replay_mapping", "resolution",
                                   "updated_at"])
        audit(actor, "record.edited", locked, {"payload": changes, "flow": locked.flow.key, "replay": "current"},
              label=_record_label(locked))
        outcome.changed = [locked.pk]
    outcome.runs = _request_runs({locked.flow_id: locked.flow}, actor)
    return outcome


def approve(records: RecordsArg, actor: Any) -> Outcome:
    """Held records: let them through (pending, resolution approved) with the mapping that held them."""
    outcome = Outcome("approve")
    now = timezone.now()
    with transaction.atomic():
        by_flow = _take(records, outcome, eligible=lambda status, resolution: status == HELD and not resolution)
        _update(by_flow, status=PENDING, resolution=Resolution.APPROVED, resolved_at=now, resolved_by=_user(actor),
                replay_mapping=Case(When(mapping_version__isnull=True, then=Value("current")), default=Value("ran")),
                updated_at=now)
        flows = _audit_per_flow(actor, "records.approved", by_flow)
        _label_anomalies(by_flow, approved=True, actor=actor)
    outcome.runs = _request_runs(flows, actor)
    return outcome


def reject(records: RecordsArg, actor: Any, reason: str) -> Outcome:
    """Held records: do not post them (skipped, resolution rejected); the reason is kept on the record."""
    reason = (reason or "").strip()
    if not reason:
        raise InboxError("Say why the records are rejected.", field="reason", code="required")
    if len(reason) > 500:
        raise InboxError("Keep the reason under 500 characters.", field="reason", code="too_long")
    outcome = Outcome("reject")
    now = timezone.now()
    who = getattr(_user(actor), "email", "") or "system"
    with transaction.atomic():
        by_flow = _take(records, outcome, eligible=lambda status, resolution: status == HELD and not resolution)
        _update(by_flow, status=SKIPPED, resolution=Resolution.REJECTED, resolved_at=now, resolved_by=_user(actor),
                last_error=f"Rejected by {who}: {reason}", replay_mapping="", updated_at=now)
        _audit_per_flow(actor, "records.rejected", by_flow, reason=reason)
        _label_anomalies(by_flow, approved=False, actor=actor)
    return outcome


def _label_anomalies(by_flow: dict[int, list[int]], *, approved: bool, actor: Any) -> None:
    """A held record the co-pilot flagged: approving it dismisses the flag, rejecting it confirms it (labels the
    co-pilot learns from)."""
    from ai_copilot.anomaly_service import on_approved_or_rejected

    on_approved_or_rejected([pk for pks in by_flow.values() for pk in pks], approved=approved, actor=actor)


def prune(flow: Flow | int, keep: int = KEEP_ERRORS) -> int:
    """Retention: delete resolved error records of ``flow`` beyond its newest ``keep`` errors; returns how many.

    Errors are failed records and records resolved as auto-resolved, ignored or rejected. Unresolved ones
    (the inbox) and anything pending, held or posted are never deleted, whatever their age.
    """
    flow_id = flow.pk if isinstance(flow, Flow) else int(flow)
    errors = SyncRecord.objects.filter(flow_id=flow_id).filter(
        Q(status=FAILED) | Q(status__in=[FAILED, SKIPPED], resolution__in=FINAL_RESOLUTIONS))
    boundary = errors.order_by("-updated_at", "-pk").values_list("updated_at", "pk")[keep:keep + 1].first()
    if boundary is None:
        return 0
    at, pk = boundary
    doomed = errors.filter(resolution__in=FINAL_RESOLUTIONS).filter(
        Q(updated_at__lt=at) | Q(updated_at=at, pk__lte=pk)).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now()))
    deleted = 0
    while True:
        batch = list(doomed.order_by("pk").values_list("pk", flat=True)[:_CHUNK])
        if not batch:
            break
        deleted += SyncRecord.objects.filter(pk__in=batch).delete()[0]
    if deleted:
        target = Flow.objects.filter(pk=flow_id).first()
        audit(None, "records.pruned", target, {"deleted": deleted, "keep": keep})
    return deleted


# ---------------------------------------------------------------------------------------------- helpers

def payload_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{key: [old, new]}`` for top-level keys added, removed or changed."""
    keys = list(dict.fromkeys([*before, *after]))
    return {key: [before.get(key), after.get(key)] for key in keys
            if key not in before or key not in after or before[key] != after[key]}


def compact_ids(ids: Iterable[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1-3,7,9-10"``: every id, short enough for the audit log."""
    ordered = sorted(set(ids))
    parts: list[str] = []
    start = prev = None
    for pk in ordered:
        if start is None:
            start = prev = pk
        elif pk == prev + 1:
            prev = pk
        else:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = pk
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(parts)


def ids_contain(compact: Any, pk: int) -> bool:
    if not isinstance(compact, str):
        return False
    for part in compact.split(","):
        low, _, high = part.partition("-")
        try:
            if int(low) <= pk <= int(high or low):
                return True
        except ValueError:
            continue
    return False


def parse_ids(raw: Any) -> list[int]:
    """A list of record ids from user input; InboxError when it is not one."""
    if isinstance(raw, str | int):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not raw:
        raise InboxError("Give a non-empty list of record ids.", field="ids", code="required")
    if len(raw) > MAX_IDS:
        raise InboxError(f"At most {MAX_IDS} ids per request; filter and repeat for more.", field="ids",
                         code="too_many")
    ids = []
    for value in raw:
        if isinstance(value, bool):
            raise InboxError(f"{value!r} is not a record id.", field="ids", code="invalid")
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise InboxError(f"{value!r} is not a record id.", field="ids", code="invalid") from None
    return list(dict.fromkeys(ids))


def _replayable(status: str, resolution: str) -> bool:
    return status == PENDING or (status in (FAILED, HELD) and not resolution)


def _busy(lease_until, message_id: str = "") -> bool:
    """A live run holds it, or its write is in flight (the engine re-sends that very document, edits or not)."""
    return bool(message_id) or (lease_until is not None and lease_until > timezone.now())


def _take(records: RecordsArg, outcome: Outcome, *, eligible) -> dict[int, list[int]]:
    """Lock the records (in id order, so two bulk actions cannot deadlock) and sort them: eligible ones by
    flow, the rest into ``outcome``. Unknown ids are an error: nothing is changed."""
    columns = ("pk", "flow_id", "status", "resolution", "lease_until", "message_id")
    if isinstance(records, QuerySet):
        rows = list(records.order_by("pk").select_for_update(of=("self",)).values_list(*columns))
    else:
        ids = parse_ids([r.pk if isinstance(r, SyncRecord) else r for r in records])
        rows = []
        for start in range(0, len(ids), _CHUNK):
            rows += SyncRecord.objects.filter(pk__in=ids[start:start + _CHUNK]).order_by("pk").select_for_update(
                of=("self",)).values_list(*columns)
        unknown = sorted(set(ids) - {row[0] for row in rows})
        if unknown:
            shown = ", ".join(str(pk) for pk in unknown[:20]) + (" …" if len(unknown) > 20 else "")
            raise InboxError(f"Unknown record id{'s' if len(unknown) > 1 else ''}: {shown}.", field="ids",
                             code="unknown_ids", ids=unknown)
    by_flow: dict[int, list[int]] = {}
    for pk, flow_id, status, resolution, lease_until, message_id in rows:
        if not eligible(status, resolution):
            outcome.not_eligible.append(pk)
        elif _busy(lease_until, message_id):
            outcome.busy.append(pk)
        else:
            by_flow.setdefault(flow_id, []).append(pk)
            outcome.changed.append(pk)
    return by_flow


def _update(by_flow: dict[int, list[int]], **values: Any) -> None:
    ids = [pk for pks in by_flow.values() for pk in pks]
    for start in range(0, len(ids), _CHUNK):
        SyncRecord.objects.filter(pk__in=ids[start:start + _CHUNK]).update(**values)


def _audit_per_flow(actor: Any, action: str, by_flow: dict[int, list[int]], **extra: Any) -> dict[int, Flow]:
    """One entry per flow, naming every record (as id ranges); returns the flows for the run requests."""
    if not by_flow:
        return {}
    flows = Flow.objects.in_bulk(list(by_flow))
    for flow_id, pks in by_flow.items():
        flow = flows[flow_id]
        audit(actor, action, flow, {"count": len(pks), "flow": flow.key, **extra, "records": compact_ids(pks)},
              label=f"{len(pks)} record{'s' if len(pks) != 1 else ''} of {flow.name}")
    return flows


def _request_runs(flows: dict[int, Flow], actor: Any) -> list[SyncRun]:
    """One replay run per flow, requested once the records are committed (a worker must see them)."""
    return [flow_run_request(flow=flows[flow_id], trigger=SyncRun.Trigger.REPLAY, requested_by=actor)
            for flow_id in sorted(flows)]


def _user(actor: Any):
    return actor if getattr(actor, "is_authenticated", False) else None


def _record_label(record: SyncRecord) -> str:
    return f"{record.entity} {record.source_id} (#{record.pk})"[:200]
