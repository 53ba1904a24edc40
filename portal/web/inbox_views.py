"""Error inbox and approvals queue: look (viewer), act (operator). Every action is a POST to one service."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from integrations.sync import inbox
from integrations.sync.inbox import InboxError
from integrations.sync.models import Flow, SyncRecord
from portal.accounts.models import Role
from portal.accounts.roles import role_required
from portal.web.mapping_views import missing_value

log = logging.getLogger("ledgerbridge.portal.inbox")

PAGE_SIZE = 50
FILTERS = ("flow", "kind", "q", "code", "line")


# ---------------------------------------------------------------------------------------------- inbox

def _inbox_filtered(params) -> tuple[QuerySet[SyncRecord], dict[str, str]]:
    """The inbox narrowed by the request's filters (GET for the page, POST for "all matching")."""
    filters = {name: (params.get(name) or "").strip() for name in FILTERS}
    records = inbox.inbox_records()
    if filters["flow"].isdigit():
        records = records.filter(flow_id=int(filters["flow"]))
    else:
        filters["flow"] = ""
    if filters["kind"]:
        records = records.filter(error_kind=filters["kind"])
    if filters["q"]:
        records = records.filter(Q(source_id__icontains=filters["q"]) | Q(last_error__icontains=filters["q"]))
    if filters["code"] or filters["line"]:  # a group of the grouped view (or every record with one code)
        records = inbox.with_group_fields(records)
        if filters["code"]:
            records = records.filter(group_code=filters["code"])
        if filters["line"]:
            records = records.filter(group_line=filters["line"])
    return records, filters


def _query(filters: dict[str, str], **extra: str) -> str:
    return urlencode({k: v for k, v in {**filters, **extra}.items() if v})


@role_required(Role.VIEWER)
def inbox_list(request):
    records, filters = _inbox_filtered(request.GET)
    grouped = request.GET.get("view") == "groups"
    context: dict[str, Any] = {
        "filters": filters, "grouped": grouped, "query": _query(filters),
        "flows": Flow.objects.all(),
        "kinds": sorted(k for k in inbox.inbox_records().order_by().values_list("error_kind", flat=True).distinct()
                        if k),
        "can_act": request.user.has_role(Role.OPERATOR),
        "can_map": request.user.has_role(Role.ADMIN),  # fixing a mapping publishes it: admins only
    }
    if grouped:
        groups = inbox.inbox_groups(records=records)
        for group in groups:
            group["query"] = _query({"flow": str(group["flow_id"]), "code": group["code"], "line": group["line"]})
            # "mapping missing" groups name the unmapped value (nominal 4010: 37 records), fixable right here
            group["missing"] = missing_value(group["line"]) if group["code"] == "mapping_missing" else None
        context["groups"] = groups
    else:
        page = Paginator(records.select_related("flow", "mapping_version"), PAGE_SIZE).get_page(
            request.GET.get("page"))
        context["page"] = page
        context["filtered"] = any(filters.values())
    return render(request, "web/inbox.html", context)


@require_POST
@role_required(Role.OPERATOR)
def inbox_action(request):
    """Bulk replay / ignore: the ticked ids, or every record matching the posted filters (scope=all)."""
    action = request.POST.get("action", "")
    if request.POST.get("scope") == "all":
        records, filters = _inbox_filtered(request.POST)
    else:
        records, filters = request.POST.getlist("ids"), {}
    try:
        if action == "ignore":
            outcome = inbox.ignore(records, request.user)
        elif action in ("replay_ran", "replay_current"):
            outcome = inbox.replay(records, mapping=action.removeprefix("replay_"), actor=request.user)
        else:
            raise InboxError("Choose replay or ignore.")
    except InboxError as error:
        messages.error(request, error.message if error.code != "required" else "Tick at least one record first.")
    else:
        (messages.success if outcome.count else messages.warning)(request, outcome.summary())
    return _back(request, reverse("inbox") + (f"?{_query(filters)}" if filters else ""))


# ---------------------------------------------------------------------------------------------- one record

def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _record_context(request, record: SyncRecord, **extra: Any) -> dict[str, Any]:
    status = record.status
    replayable = status == SyncRecord.Status.PENDING or (
        status in (SyncRecord.Status.FAILED, SyncRecord.Status.HELD) and not record.resolution)
    return {
        "record": record,
        "payload_json": _pretty(record.payload),
        "original_json": _pretty(record.original_payload),
        "target_json": _pretty(record.target_payload),
        "history": inbox.record_history(record),
        "summary": inbox.payload_summary(record.payload),
        "can_act": request.user.has_role(Role.OPERATOR),
        "can_replay": replayable,
        "can_ignore": status == SyncRecord.Status.FAILED and not record.resolution,
        "can_decide": status == SyncRecord.Status.HELD and not record.resolution,
        "edit_text": extra.pop("edit_text", None) or _pretty(record.payload),
        "here": request.get_full_path(),
        "fixes": _copilot_fixes(record),
        "fix_line": (record.last_error or "").split("\n", 1)[0][:inbox.GROUP_LINE_LENGTH],
        "can_fix": request.user.has_role(Role.ADMIN),
        **extra,
    }


def _copilot_fixes(record: SyncRecord):
    """The co-pilot's nearest valid values for a failed record (None when it has nothing to say). A failure to
    suggest never breaks the page."""
    if record.status != SyncRecord.Status.FAILED or record.resolution:
        return None
    from ai_copilot.fixes import for_record

    try:
        return for_record(record)
    except Exception:
        log.exception("co-pilot fix suggestions failed for record %s", record.pk)
        return None


def _record(pk: int) -> SyncRecord:
    return get_object_or_404(
        SyncRecord.objects.select_related("flow__source", "flow__target", "mapping_version", "last_run",
                                          "resolved_by"), pk=pk)


@role_required(Role.VIEWER)
def inbox_record(request, pk: int):
    record = _record(pk)
    return render(request, "web/inbox_record.html", _record_context(request, record))


@require_POST
@role_required(Role.OPERATOR)
def inbox_edit(request, pk: int):
    """Edit and retry. A bad payload re-renders the page with the text as typed and the record untouched."""
    record = _record(pk)
    text = request.POST.get("payload", "")
    try:
        payload = json.loads(text)
    except ValueError as error:
        message = f"That is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})." if isinstance(
            error, json.JSONDecodeError) else f"That is not valid JSON: {error}."
        return render(request, "web/inbox_record.html",
                      _record_context(request, record, edit_text=text, edit_error=message), status=400)
    try:
        outcome = inbox.edit_and_retry(record, payload, request.user)
    except InboxError as error:
        return render(request, "web/inbox_record.html",
                      _record_context(request, record, edit_text=text, edit_error=error.message), status=400)
    messages.success(request, outcome.summary())
    return redirect("inbox_record", pk=record.pk)


# ---------------------------------------------------------------------------------------------- approvals

@role_required(Role.VIEWER)
def approvals_list(request):
    flow = (request.GET.get("flow") or "").strip()
    records = inbox.approval_records(int(flow) if flow.isdigit() else None)
    page = Paginator(records.select_related("flow"), PAGE_SIZE).get_page(request.GET.get("page"))
    for record in page:
        record.summary = inbox.payload_summary(record.payload)
    return render(request, "web/approvals.html", {
        "page": page, "flows": Flow.objects.all(), "flow": flow if flow.isdigit() else "",
        "query": urlencode({"flow": flow}) if flow.isdigit() else "",
        "can_act": request.user.has_role(Role.OPERATOR),
    })


@require_POST
@role_required(Role.OPERATOR)
def approvals_action(request):
    action = request.POST.get("action", "")
    ids = request.POST.getlist("ids")
    try:
        if action == "approve":
            outcome = inbox.approve(ids, request.user)
        elif action == "reject":
            outcome = inbox.reject(ids, request.user, request.POST.get("reason", ""))
        else:
            raise InboxError("Choose approve or reject.")
    except InboxError as error:
        messages.error(request, error.message if error.code != "required" or error.field == "reason"
                       else "Tick at least one record first.")
    else:
        (messages.success if outcome.count else messages.warning)(request, outcome.summary())
    return _back(request, reverse("approvals"))


def _back(request, default: str):
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)
