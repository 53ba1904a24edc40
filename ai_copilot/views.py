"""Portal pages of the co-pilot: its settings and models, the records it flagged, and the actions on GL suggestions
(accept, reject, accept all above a confidence) that the mapping editor and the inbox post to."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sklearn
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ai_copilot import anomaly_service, charts, gl_service, tasks
from ai_copilot.models import AnomalyLabel, CopilotSettings, GLFeedback, StoredModel
from integrations.sync.models import Flow, SyncRecord
from mapping.versions import MappingError
from portal.accounts.audit import audit
from portal.accounts.models import Role
from portal.accounts.roles import role_required


def _back(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@role_required(Role.VIEWER)
def copilot_home(request):
    options = CopilotSettings.current()
    flagged = anomaly_service.flagged_records().select_related("flow").order_by("-updated_at")
    return render(request, "ai_copilot/home.html", {
        "options": options, "modes": CopilotSettings.AnomalyMode.choices,
        "models": StoredModel.objects.defer("payload").order_by("scope"), "sklearn_version": sklearn.__version__,
        "page": Paginator(flagged, 25).get_page(request.GET.get("page")),
        "labels": {"dismissed": AnomalyLabel.objects.filter(verdict=AnomalyLabel.Verdict.DISMISSED).count(),
                   "confirmed": AnomalyLabel.objects.filter(verdict=AnomalyLabel.Verdict.CONFIRMED).count()},
        "feedback": {"accepted": GLFeedback.objects.filter(verdict=GLFeedback.Verdict.ACCEPTED).count(),
                     "rejected": GLFeedback.objects.filter(verdict=GLFeedback.Verdict.REJECTED).count()},
        "can_edit": request.user.has_role(Role.ADMIN),
    })


def parse_settings(data, options: CopilotSettings) -> dict[str, str]:
    """Apply posted settings to ``options`` (not saved); returns {field: error} for what is invalid."""
    errors: dict[str, str] = {}
    mode = data.get("anomaly_mode", options.anomaly_mode)
    if mode not in CopilotSettings.AnomalyMode.values:
        errors["anomaly_mode"] = f"Choose one of {', '.join(CopilotSettings.AnomalyMode.values)}."
    else:
        options.anomaly_mode = mode
    for name, low, high, what in (("alert_rate", Decimal("0.0001"), Decimal("0.2"), "a share between 0.0001 and 0.2"),
                                  ("approval_limit", Decimal(0), Decimal("1e12"), "an amount of 0 or more")):
        if name not in data:
            continue
        raw = str(data.get(name)).strip().rstrip("%")
        try:
            value = Decimal(raw)
            if str(data.get(name)).strip().endswith("%"):
                value = value / 100
        except (InvalidOperation, ValueError):
            errors[name] = f"Enter {what}."
            continue
        if not low <= value <= high:
            errors[name] = f"Enter {what}."
        else:
            setattr(options, name, value.quantize(Decimal("0.0001") if name == "alert_rate" else Decimal("0.01")))
    if "gl_auto_accept" in data:
        raw = str(data.get("gl_auto_accept") or "").strip()
        if not raw:
            options.gl_auto_accept = None
        else:
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if not 0.5 <= value <= 1.0:
                errors["gl_auto_accept"] = "Enter a confidence between 0.5 and 1, or leave it empty."
            else:
                options.gl_auto_accept = value
    if "share_prior" in data or data.get("form") == "settings":
        options.share_prior = str(data.get("share_prior", "")).lower() in {"1", "true", "on", "yes"}
    return errors


@role_required(Role.ADMIN)
@require_POST
def copilot_settings(request):
    options = CopilotSettings.current()
    before = {f: str(getattr(options, f)) for f in ("anomaly_mode", "alert_rate", "approval_limit", "gl_auto_accept",
                                                    "share_prior")}
    errors = parse_settings(request.POST, options)
    if errors:
        for name, text in errors.items():
            messages.error(request, f"{name.replace('_', ' ').capitalize()}: {text}")
        return redirect("copilot")
    options.save()
    after = {f: str(getattr(options, f)) for f in before}
    audit(request.user, "copilot.settings", options, {k: [before[k], after[k]] for k in after if before[k] != after[k]},
          label="co-pilot settings")
    messages.success(request, "Co-pilot settings saved.")
    return redirect("copilot")


@role_required(Role.OPERATOR)
@require_POST
def copilot_retrain(request):
    task = tasks.request_retrain()
    messages.success(request, "Retraining queued; the worker refits the models in the background." if task else
                     "A retrain is already queued.")
    return redirect("copilot")


@role_required(Role.OPERATOR)
@require_POST
def copilot_dismiss(request, pk: int):
    record = get_object_or_404(SyncRecord, pk=pk)
    if not record.anomaly_flagged:
        messages.info(request, "That record is not flagged.")
    else:
        anomaly_service.dismiss(record, actor=request.user)
        audit(request.user, "copilot.anomaly_dismissed", record, {"reasons": [r.get("code") for r in
                                                                              record.anomaly_reasons or []]},
              label=f"{record.entity} {record.source_id}")
        messages.success(request, "Dismissed: the co-pilot learns from it at its next training.")
    return redirect(_back(request, reverse("copilot")))


# ---------------------------------------------------------------------------------------------- GL suggestions


def _flow(key: str) -> Flow:
    return get_object_or_404(Flow.objects.select_related("source", "target"), key=key)


def _score(raw) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


@role_required(Role.ADMIN)
@require_POST
def gl_accept(request, key: str):
    flow = _flow(key)
    back = _back(request, reverse("mapping_editor", args=[flow.key]))
    source, target = request.POST.get("source", "").strip(), request.POST.get("target", "").strip()
    if not source or not target:
        messages.error(request, "Choose a suggestion to accept.")
        return redirect(back)
    try:
        gl_service.accept(flow, [(source, target, _score(request.POST.get("score")))], actor=request.user)
    except (gl_service.CopilotError, MappingError) as error:
        messages.error(request, error.message)
    except charts.ChartUnavailable as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{source} → {target} is in the draft. Preview and publish when ready.")
    return redirect(back)


@role_required(Role.ADMIN)
@require_POST
def gl_reject(request, key: str):
    flow = _flow(key)
    back = _back(request, reverse("mapping_editor", args=[flow.key]))
    try:
        gl_service.reject(flow, request.POST.get("source", ""), request.POST.get("target", ""), actor=request.user,
                          score=_score(request.POST.get("score")))
    except gl_service.CopilotError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Rejected: the co-pilot will not suggest it again for that nominal.")
    return redirect(back)


@role_required(Role.ADMIN)
@require_POST
def gl_accept_above(request, key: str):
    flow = _flow(key)
    back = _back(request, reverse("mapping_editor", args=[flow.key]))
    threshold = _score(request.POST.get("threshold"))
    if threshold is not None and threshold > 1:
        threshold /= 100  # "90" means 90 %
    try:
        count = gl_service.accept_all_above(flow, threshold if threshold is not None else -1, actor=request.user)
    except (gl_service.CopilotError, MappingError) as error:
        messages.error(request, error.message)
    except charts.ChartUnavailable as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{count} suggestion{'s' if count != 1 else ''} at confidence ≥ {threshold:.0%} "
                                  "accepted into the draft." if count else
                         f"No unmapped nominal has a suggestion at confidence ≥ {threshold:.0%}.")
    return redirect(back)


EDITOR_ROWS = 15  # shown at once; the rest fold away


def editor_context(flow: Flow) -> dict:
    """The mapping editor's co-pilot panel: unmapped nominals with suggestions, or why there are none."""
    try:
        if not gl_service.supports(flow):
            return {}
        rows = gl_service.rows(flow, top=3, only_unmapped=True)
    except charts.ChartUnavailable as error:
        return {"copilot_error": error.message}
    names = {}
    try:
        names = {a.code: a.name for a in charts.target_accounts(flow)}
    except charts.ChartUnavailable:
        pass
    from portal.web.mapping_views import missing_in_inbox

    waiting = missing_in_inbox(flow).get(gl_service.SECTION, {})
    rows.sort(key=lambda r: -waiting.get(r.account.code, 0))  # nominals records are failing on come first (stable)
    shown = [{"account": r.account, "waiting": waiting.get(r.account.code, 0),
              "suggestions": [{"target_code": s.target_code, "name": names.get(s.target_code, ""), "score": s.score,
                               "reason": s.reason} for s in r.suggestions]} for r in rows]
    return {"copilot_rows": shown[:EDITOR_ROWS], "copilot_more": shown[EDITOR_ROWS:], "copilot_enabled": True}
