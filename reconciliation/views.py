"""Portal pages: the list of reconciliation runs (run now per flow and period), one run's report, re-sync."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from integrations.sync.inbox import InboxError
from portal.accounts.models import Role
from portal.accounts.roles import role_required
from reconciliation import services
from reconciliation.models import Mismatch, ReconciliationRun


@role_required(Role.VIEWER)
def run_list(request):
    runs = ReconciliationRun.objects.select_related("flow")
    flow = request.GET.get("flow", "")
    if flow.isdigit():
        runs = runs.filter(flow_id=int(flow))
    start, end = services.default_period()
    return render(request, "reconciliation/list.html", {
        "page": Paginator(runs, 50).get_page(request.GET.get("page")),
        "flows": services.reconcilable_flows(), "latest": services.latest_per_flow(), "flow_filter": flow,
        "default_start": start, "default_end": end,
    })


@role_required(Role.OPERATOR)
@require_POST
def run_now(request):
    flow = services.reconcilable_flows().filter(pk=request.POST.get("flow") or 0).first()
    if flow is None:
        messages.error(request, "Choose a flow to reconcile.")
        return redirect("reconciliations")
    try:
        start = date.fromisoformat(request.POST.get("start", ""))
        end = date.fromisoformat(request.POST.get("end", ""))
    except ValueError:
        messages.error(request, "Give the period as two dates (YYYY-MM-DD).")
        return redirect("reconciliations")
    try:
        run = services.request_run(flow=flow, start=start, end=end, actor=request.user)
    except services.ReconciliationError as error:
        messages.error(request, str(error))
        return redirect("reconciliations")
    messages.success(request, f"Reconciliation of {flow.name} ({start} to {end}) queued.")
    return redirect("reconciliation_detail", pk=run.pk)


@role_required(Role.VIEWER)
def run_detail(request, pk: int):
    run = get_object_or_404(ReconciliationRun.objects.select_related("flow__source", "flow__target"), pk=pk)
    mismatches = run.mismatches.all()
    reason = request.GET.get("reason", "")
    if reason in Mismatch.Reason.values:
        mismatches = mismatches.filter(reason=reason)
    return render(request, "reconciliation/detail.html", {
        "run": run, "page": Paginator(mismatches, 200).get_page(request.GET.get("page")),
        "reasons": Mismatch.Reason.choices, "reason": reason, "summary": run.summary or {},
    })


@role_required(Role.OPERATOR)
@require_POST
def resync(request, pk: int):
    run = get_object_or_404(ReconciliationRun.objects.select_related("flow"), pk=pk)
    try:
        outcome = services.resync(run, request.POST.getlist("ids"), actor=request.user)
    except (services.ReconciliationError, InboxError) as error:
        messages.error(request, getattr(error, "message", None) or str(error))
        return redirect("reconciliation_detail", pk=run.pk)
    (messages.success if outcome.replayed or outcome.rescanned else messages.warning)(request, outcome.message)
    return redirect("reconciliation_detail", pk=run.pk)
