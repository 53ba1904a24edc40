"""Tenant portal views: thin — parse input, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from integrations.sync.flows import FLOWS
from integrations.sync.models import Connection, Flow, SyncRecord, SyncRun
from integrations.sync.services import connection_test, flow_run_request
from portal.accounts.audit import audit, diff
from portal.accounts.models import AuditEntry, Role, User
from portal.accounts.roles import role_required
from portal.web.forms import ConnectionForm, UserCreateForm
from reconciliation.services import latest_per_flow as latest_reconciliations


@role_required(Role.VIEWER)
def dashboard(request):
    flows = list(Flow.objects.select_related("source", "target"))
    for flow in flows:
        flow.definition = FLOWS.get(flow.key)
    return render(request, "web/dashboard.html", {
        "connections": Connection.objects.all(),
        "flows": flows,
        "runs": SyncRun.objects.select_related("flow")[:10],
        "failed_records": SyncRecord.objects.filter(status=SyncRecord.Status.FAILED).count(),
        "reconciliations": latest_reconciliations(),
    })


@role_required(Role.VIEWER)
def connection_list(request):
    return render(request, "web/connections.html", {"connections": Connection.objects.all()})


@role_required(Role.ADMIN)
def connection_edit(request, pk: int):
    conn = get_object_or_404(Connection, pk=pk)
    initial = {"name": conn.name, "base_url": conn.base_url, "username": conn.username,
               "company": conn.settings.get("company", ""), "auth": conn.settings.get("auth", "ntlm")}
    form = ConnectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        before = {"name": conn.name, "base_url": conn.base_url, "username": conn.username, "settings": conn.settings}
        conn.name, conn.base_url, conn.username = data["name"], data["base_url"], data["username"]
        changes = {}
        if data["password"]:
            conn.password = data["password"]
            changes["password"] = True
        if data["memorable_word"]:
            conn.memorable_word = data["memorable_word"]
            changes["memorable_word"] = True
        if conn.system == "dynamics_ax":
            conn.settings = {**conn.settings, "company": data["company"].upper(), "auth": data["auth"] or "ntlm"}
        conn.status = Connection.Status.UNTESTED
        conn.save()
        after = {"name": conn.name, "base_url": conn.base_url, "username": conn.username, "settings": conn.settings}
        audit(request.user, "connection.updated", conn, diff(before, after) | changes)
        messages.success(request, f"Saved {conn.name}. Use “Test connection” to check it.")
        return redirect("connections")
    return render(request, "web/connection_edit.html", {"form": form, "conn": conn})


@require_POST
@role_required(Role.OPERATOR)
def connection_test_view(request, pk: int):
    conn = get_object_or_404(Connection, pk=pk)
    ok, message = connection_test(connection=conn)
    (messages.success if ok else messages.error)(request, f"{conn.name}: {message}")
    return redirect(request.POST.get("next") or "connections")


@require_POST
@role_required(Role.OPERATOR)
def flow_run(request, pk: int):
    flow = get_object_or_404(Flow, pk=pk)
    run = flow_run_request(flow=flow, trigger=SyncRun.Trigger.MANUAL)
    audit(request.user, "flow.run_requested", flow, {"run": run.pk})
    messages.success(request, f"Run #{run.pk} of “{flow.name}” queued.")
    return redirect("dashboard")


@role_required(Role.VIEWER)
def run_list(request):
    page = Paginator(SyncRun.objects.select_related("flow"), 25).get_page(request.GET.get("page"))
    return render(request, "web/runs.html", {"page": page})


@role_required(Role.VIEWER)
def run_detail(request, pk: int):
    run = get_object_or_404(SyncRun.objects.select_related("flow"), pk=pk)
    records = run.records.order_by("status", "source_id")[:500]
    return render(request, "web/run_detail.html", {"run": run, "records": records})


@role_required(Role.ADMIN)
def user_list(request):
    form = UserCreateForm(request.POST or None, acting_user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        added = User.objects.create_user(email=data["email"], password=data["password"], role=data["role"],
                                         full_name=data["full_name"])
        audit(request.user, "user.added", added, {"role": data["role"]})
        messages.success(request, f"Added {data['email']} as {Role(data['role']).label}.")
        return redirect("users")
    return render(request, "web/users.html", {"users": User.objects.all(), "form": form})


@role_required(Role.ADMIN)
def audit_list(request):
    entries = AuditEntry.objects.all()
    if request.GET.get("q"):
        q = request.GET["q"]
        entries = entries.filter(action__icontains=q) | entries.filter(actor_label__icontains=q) | entries.filter(
            target_label__icontains=q)
    page = Paginator(entries.order_by("-at"), 50).get_page(request.GET.get("page"))
    return render(request, "web/audit.html", {"page": page, "q": request.GET.get("q", "")})
