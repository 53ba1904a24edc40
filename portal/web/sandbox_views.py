"""The tenant's sandbox integration: start one, see what it holds, reset it, switch faults on it."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.db import connection as db_connection
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations.sandboxes import ControlClient, SandboxUnavailable
from integrations.sync.models import Connection
from integrations.sync.sandbox_setup import connect_sandbox, forget_sandbox_history, sandbox_instance_ids
from integrations.sync.services import connection_test
from portal.accounts.audit import audit
from portal.accounts.models import Role
from portal.accounts.roles import role_required

log = logging.getLogger(__name__)

ERP_CHOICES = [("dynamics_ax", "Microsoft Dynamics AX 2012"), ("sage100", "Sage 100")]
SIZE_CHOICES = [("tiny", "Tiny — 20 invoices"), ("small", "Small — 200 invoices"),
                ("medium", "Medium — 5,000 invoices")]
FAULT_PRESETS = {
    "none": ("Everything healthy", {}),
    "kf_rate_limit": ("Kashflow rate-limits every 3rd request (429, Retry-After 1 s)",
                      {"kashflow": {"rate_limit": {"every": 3, "retry_after": 1}}}),
    "kf_sql_timeout": ("Kashflow answers every 4th request with its SQL timeout (400)",
                       {"kashflow": {"sql_timeout": {"every": 4}}}),
    "kf_session": ("Kashflow session expires on the next request", {"kashflow": {"expire_sessions": {"times": 1}}}),
    "erp_5xx": ("ERP answers every 2nd request with a 503", {"erp": {"server_error": {"every": 2, "status": 503}}}),
    "erp_drop": ("ERP drops every 3rd connection", {"erp": {"drop": {"every": 3}}}),
    "ax_timeout_after_commit": ("AX commits, then times out (every 2nd call)",
                                {"dynamics_ax": {"timeout_after_commit": {"every": 2}}}),
    "sage_agent_down": ("Sage agent is down", {"sage100": {"agent_down": {"every": 1}}}),
    "slow": ("Every system answers slowly (400 ms)", {"kashflow": {"slow_ms": 400}, "erp": {"slow_ms": 400}}),
}


def _client() -> ControlClient:
    return ControlClient.from_root(settings.SANDBOX_CONTROL_URL, settings.SANDBOX_ROOT, settings.SANDBOX_TOKEN)


@role_required(Role.VIEWER)
def sandbox_home(request):
    instances = []
    error = ""
    ids = sandbox_instance_ids()
    if ids:
        try:
            client = _client()
            instances = [client.inspect(i) for i in ids]
        except SandboxUnavailable as exc:
            error = str(exc)
    return render(request, "web/sandbox.html", {
        "instances": instances, "error": error, "erp_choices": ERP_CHOICES, "size_choices": SIZE_CHOICES,
        "presets": [(key, label) for key, (label, _) in FAULT_PRESETS.items()],
        "connections": Connection.objects.filter(is_sandbox=True),
    })


@require_POST
@role_required(Role.ADMIN)
def sandbox_start(request):
    erp = request.POST.get("erp")
    size = request.POST.get("size", "small")
    if erp not in dict(ERP_CHOICES) or size not in dict(SIZE_CHOICES):
        messages.error(request, "Choose an ERP and a size.")
        return redirect("sandbox")
    try:
        created = _client().create(erp=erp, size=size, tenant=db_connection.schema_name,
                                   label=request.tenant.name)
    except SandboxUnavailable as exc:
        log.warning("sandbox start failed: %s", exc)
        messages.error(request, f"The sandbox systems are not available right now ({exc}).")
        return redirect("sandbox")
    integration = connect_sandbox(instance_id=created["instance"]["id"], fields=created["connections"])
    audit(request.user, "sandbox.started", None, {"instance": created["instance"]["id"], "erp": erp, "size": size},
          label=f"sandbox {created['instance']['id']}")
    failures = []
    for conn in integration.connections.values():
        ok, message = connection_test(connection=conn)
        if not ok:
            failures.append(f"{conn.name}: {message}")
    if failures:
        messages.error(request, "Sandbox created, but a connection test failed: " + "; ".join(failures))
    else:
        names = ", ".join(f.name for f in integration.flows) or "no flows yet for this pair"
        messages.success(request, f"Your sandbox integration is ready and connected. Flows: {names}.")
    return redirect("dashboard")


@require_POST
@role_required(Role.ADMIN)
def sandbox_reseed(request, instance_id: str):
    if instance_id not in sandbox_instance_ids():
        messages.error(request, "That sandbox does not belong to this account.")
        return redirect("sandbox")
    try:
        _client().reseed(instance_id)
    except SandboxUnavailable as exc:
        messages.error(request, f"Could not reset the sandbox ({exc}).")
        return redirect("sandbox")
    forgotten = forget_sandbox_history(instance_id)
    audit(request.user, "sandbox.reseeded", None, {"instance": instance_id, "forgotten": forgotten},
          label=f"sandbox {instance_id}")
    messages.success(request, "Sandbox data reset to a fresh seed; the flows start over with it.")
    return redirect("sandbox")


@require_POST
@role_required(Role.OPERATOR)
def sandbox_faults(request, instance_id: str):
    preset = FAULT_PRESETS.get(request.POST.get("preset", ""))
    if instance_id not in sandbox_instance_ids() or preset is None:
        messages.error(request, "Unknown sandbox or fault preset.")
        return redirect("sandbox")
    label, config = preset
    try:
        client = _client()
        instance = client.inspect(instance_id)
        erp = instance["erp"]
        for system in instance["systems"]:
            wanted = config.get(system, {}) | (config.get("erp", {}) if system == erp else {})
            client.faults(instance_id, system, wanted)
    except SandboxUnavailable as exc:
        messages.error(request, f"Could not switch faults ({exc}).")
        return redirect("sandbox")
    audit(request.user, "sandbox.faults_switched", None, {"instance": instance_id, "preset": request.POST["preset"]},
          label=f"sandbox {instance_id}")
    messages.success(request, f"Sandbox now: {label}.")
    return redirect("sandbox")


@require_POST
@role_required(Role.OPERATOR)
def sandbox_storefront(request):
    """Send orders (and their payment confirmations) from the sandbox web shop, signed as a real shop would.

    Delivered in-process through the same verification and storage as ``POST /webhooks/<token>/``, so the portal
    does not call itself over HTTP."""
    from integrations.sandboxes.storefront import StorefrontError, simulate_for_tenant

    try:
        orders = max(1, min(20, int(request.POST.get("orders") or 3)))
    except ValueError:
        orders = 3
    try:
        sent = simulate_for_tenant(request.build_absolute_uri("/"), orders=orders,
                                   confirm=request.POST.get("confirm") == "on", transport=_in_process)
    except StorefrontError as exc:
        messages.error(request, str(exc))
        return redirect("sandbox")
    except Exception as exc:  # noqa: BLE001 - the sandbox Kashflow may be down: say so, don't 500
        log.warning("storefront simulation failed: %s", exc)
        messages.error(request, f"The sandbox web shop could not send orders ({exc}).")
        return redirect("sandbox")
    audit(request.user, "sandbox.storefront_orders", None, {"orders": sent["orders"]})
    messages.success(request, f"The web shop sent {len(sent['orders'])} order(s) and {len(sent['payments'])} "
                              "payment confirmation(s); the storefront flow turns them into Kashflow invoices.")
    return redirect("sandbox")


def _in_process(url: str, body: bytes, headers: dict[str, str]):
    from integrations.sync import webhooks

    token = url.rstrip("/").rsplit("/", 1)[-1]
    verdict = webhooks.receive(token, body=body, headers={k.lower(): v for k, v in headers.items()},
                               content_length=len(body))
    answer = {"status": verdict.message} if verdict.status < 400 else {"error": verdict.message}
    return verdict.status, answer
