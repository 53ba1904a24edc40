"""The flow catalogue: every flow the tenant's connections allow, switched on or off, with its options.

A tenant picks a pair by connecting Kashflow and its ERP; this page then lists that pair's catalogue (direction,
trigger, master) and lets an admin switch each flow on or off and edit its options (``Flow.options`` JSON).
Flows a definition ``excludes`` (record-by-record and summarised posting of the same invoices) cannot both be on.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations.sync.flows import FLOWS
from integrations.sync.models import Connection, Flow, System
from portal.accounts.audit import audit
from portal.accounts.models import Role
from portal.accounts.roles import role_required

TRIGGERS = {"poll": "Near real time (short poll)", "event": "Event (webhook), polled as a safety net",
            "batch": "Batch (summarised per period)"}
MAX_OPTIONS = 8 * 1024


def _connection_for(system: str) -> Connection | None:
    """The connection a new flow uses for a system: a real one before a sandbox one, oldest first."""
    return Connection.objects.filter(system=system).order_by("is_sandbox", "pk").first()


def catalogue_rows() -> list[dict]:
    flows = {flow.key: flow for flow in Flow.objects.select_related("source", "target")}
    systems = set(Connection.objects.values_list("system", flat=True))
    rows = []
    for definition in FLOWS.values():
        flow = flows.get(definition.key)
        if flow is None and not {definition.source_system, definition.target_system} <= systems:
            continue
        rows.append({"definition": definition, "flow": flow, "trigger": TRIGGERS.get(definition.trigger,
                                                                                     definition.trigger),
                     "direction": f"{definition.source_label or _label(definition.source_system)} → "
                                  f"{_label(definition.target_system)}",
                     "master": _label(definition.master) if definition.master else "—",
                     "options": json.dumps(flow.options if flow else definition.default_options, indent=1,
                                           sort_keys=True)})
    rows.sort(key=lambda row: (row["definition"].target_system if row["definition"].source_system == "kashflow"
                               else row["definition"].source_system, row["definition"].name))
    return rows


def _label(system: str) -> str:
    try:
        return System(system).label
    except ValueError:
        return system


@role_required(Role.VIEWER)
def flow_catalogue(request):
    return render(request, "web/flows.html", {"rows": catalogue_rows()})


@require_POST
@role_required(Role.ADMIN)
def flow_switch(request, key: str):
    definition = FLOWS.get(key)
    if definition is None:
        messages.error(request, f"There is no flow “{key}”.")
        return redirect("flows")
    turn_on = request.POST.get("enabled") == "on"
    flow = Flow.objects.filter(key=key).first()
    if turn_on:
        clash = Flow.objects.filter(enabled=True, key__in=definition.excludes).first() or Flow.objects.filter(
            enabled=True, key__in=[d.key for d in FLOWS.values() if key in d.excludes]).first()
        if clash is not None:
            messages.error(request, f"“{definition.name}” posts the same records as “{clash.name}”, which is on. "
                                    "Switch that one off first.")
            return redirect("flows")
        if flow is None:
            source, target = _connection_for(definition.source_system), _connection_for(definition.target_system)
            if source is None or target is None:
                messages.error(request, f"Connect {definition.source_system} and {definition.target_system} first.")
                return redirect("flows")
            flow = Flow.objects.create(key=key, name=definition.name, source=source, target=target,
                                       options=dict(definition.default_options), enabled=True)
            audit(request.user, "flow.created", flow, {"enabled": True})
            messages.success(request, f"“{flow.name}” is on.")
            return redirect("flows")
    if flow is None:
        return redirect("flows")
    if flow.enabled != turn_on:
        flow.enabled = turn_on
        flow.save(update_fields=["enabled"])
        audit(request.user, "flow.switched", flow, {"enabled": turn_on})
    messages.success(request, f"“{flow.name}” is {'on' if turn_on else 'off'}.")
    return redirect("flows")


@require_POST
@role_required(Role.ADMIN)
def flow_options(request, key: str):
    flow = Flow.objects.filter(key=key).first()
    if flow is None:
        messages.error(request, "Switch the flow on before setting its options.")
        return redirect("flows")
    text = request.POST.get("options", "")
    try:
        if len(text) > MAX_OPTIONS:
            raise ValueError(f"options are limited to {MAX_OPTIONS} characters")
        options = json.loads(text or "{}")
        if not isinstance(options, dict):
            raise ValueError("options must be a JSON object, e.g. {\"paid_only\": true}")
    except (json.JSONDecodeError, ValueError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        messages.error(request, f"Options of “{flow.name}” not saved: {error}{where}.")
        return redirect("flows")
    before = flow.options
    flow.options = options
    flow.save(update_fields=["options"])
    audit(request.user, "flow.options_changed", flow, {"before": before, "after": options})
    messages.success(request, f"Options of “{flow.name}” saved; they apply from its next run.")
    return redirect("flows")
