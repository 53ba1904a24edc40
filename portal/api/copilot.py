"""The co-pilot in the partner API.

* ``GET  /api/v1/flows/<flow>/copilot/gl-suggestions/`` — every Kashflow nominal with its mapping and ranked
  suggestions (``?unmapped=1`` only unmapped ones, ``?top=N`` up to 10). Viewer.
* ``POST /api/v1/flows/<flow>/copilot/gl-suggestions/accept/`` — ``{"accept": [{"source_code", "target_code",
  "score"?}], "publish": false}`` into the draft (or published as a patch); or ``{"above": 0.9}`` accepts every
  best suggestion at that confidence. Admin.
* ``POST /api/v1/flows/<flow>/copilot/gl-suggestions/reject/`` — ``{"source_code", "target_code"}``. Admin.
* ``POST /api/v1/copilot/score/`` — score transactions (the ``copilot_score`` CSV columns as JSON objects)
  against the tenant's model, without storing anything. Operator.
* ``GET/PATCH /api/v1/copilot/settings/`` — the tenant's co-pilot settings (PATCH: admin).
* ``GET /api/v1/records/<id>/fixes/`` — fix suggestions for a failed record. Viewer.

The same functions serve the portal (``ai_copilot.gl_service``, ``anomaly_service``, ``fixes``).
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ai_copilot import anomaly_service, charts, fixes, gl_service
from ai_copilot.anomaly import Txn, flag
from ai_copilot.csvio import COLUMNS, CsvError, parse_txn
from ai_copilot.models import CopilotSettings
from ai_copilot.views import parse_settings
from integrations.sync.models import SyncRecord
from mapping.versions import MappingError
from portal.accounts.audit import audit
from portal.accounts.models import Role
from portal.api.mapping import MappingView, _flow, _refused

MAX_RECORDS = 5000


def _unavailable(error: charts.ChartUnavailable) -> Response:
    return Response({"detail": error.message, "code": "chart_unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)


class GLSuggestions(MappingView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, flow: str):
        target = _flow(flow)
        if not gl_service.supports(target):
            raise ValidationError({"detail": f"{target.key} carries no GL map from Kashflow to an ERP."})
        try:
            top = max(1, min(int(request.query_params.get("top", 3)), 10))
        except ValueError:
            raise ValidationError({"top": ["Give a whole number from 1 to 10."]}) from None
        unmapped = request.query_params.get("unmapped", "") in {"1", "true", "yes"}
        try:
            rows = gl_service.rows(target, top=top, only_unmapped=unmapped)
        except charts.ChartUnavailable as error:
            return _unavailable(error)
        return Response({"flow": target.key, "results": [row.as_dict() for row in rows]})


class GLAccept(MappingView):
    write_role = Role.ADMIN

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, flow: str):
        target = _flow(flow)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        publish = bool(data.get("publish", False))
        try:
            if "above" in data:
                try:
                    threshold = float(data["above"])
                except (TypeError, ValueError):
                    raise ValidationError({"above": ["Give a confidence between 0 and 1."]}) from None
                count = gl_service.accept_all_above(target, threshold, actor=request.user, publish=publish)
            else:
                items = data.get("accept")
                if not isinstance(items, list) or not items:
                    raise ValidationError({"accept": ["Give a list of {source_code, target_code} objects, or "
                                                      "'above'."]})
                pairs = []
                for n, item in enumerate(items):
                    if not isinstance(item, dict) or not item.get("source_code") or not item.get("target_code"):
                        raise ValidationError({f"accept[{n}]": ["Needs source_code and target_code."]})
                    score = item.get("score")
                    pairs.append((str(item["source_code"]), str(item["target_code"]),
                                  float(score) if isinstance(score, int | float) else None))
                count = gl_service.accept(target, pairs, actor=request.user, publish=publish)
        except gl_service.CopilotError as error:
            return Response({"detail": error.message, "code": error.code}, status=status.HTTP_400_BAD_REQUEST)
        except MappingError as error:
            return _refused(error)
        except charts.ChartUnavailable as error:
            return _unavailable(error)
        return Response({"accepted": count, "published": publish})


class GLReject(MappingView):
    write_role = Role.ADMIN

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request, flow: str):
        target = _flow(flow)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            gl_service.reject(target, str(data.get("source_code") or ""), str(data.get("target_code") or ""),
                              actor=request.user)
        except gl_service.CopilotError as error:
            return Response({"detail": error.message, "code": error.code}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"rejected": 1})


def txn_from(item: Any, n: int) -> Txn:
    """One scoring row from JSON, checked exactly as ``copilot_score`` checks a CSV row (the same parser); the
    error names the row and field."""
    if not isinstance(item, dict):
        raise ValidationError({f"records[{n}]": ["Send an object."]})
    unknown = sorted(set(item) - set(COLUMNS))
    if unknown:
        raise ValidationError({f"records[{n}].{unknown[0]}": ["Unknown field."]})
    row = {key: "" if item.get(key) is None else str(item[key]) for key in COLUMNS}
    try:
        return parse_txn("records", n, row)
    except CsvError as error:
        raise ValidationError({f"records[{n}].{error.column}" if error.column else f"records[{n}]":
                               [error.problem]}) from None


class Score(MappingView):
    write_role = Role.OPERATOR

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else None
        if data is None or not isinstance(data.get("records"), list):
            raise ValidationError({"records": ["Send {\"records\": [...]} with the copilot_score columns."]})
        if len(data["records"]) > MAX_RECORDS:
            raise ValidationError({"records": [f"At most {MAX_RECORDS} records per request."]})
        options = CopilotSettings.current()
        try:
            alert_rate = float(data.get("alert_rate", options.alert_rate))
        except (TypeError, ValueError):
            alert_rate = -1
        if not 0 < alert_rate <= 0.2:
            raise ValidationError({"alert_rate": ["A share between 0 and 0.2."]})
        txns = [txn_from(item, n) for n, item in enumerate(data["records"])]
        model, _row = anomaly_service.scorer()
        scores = model.score(txns)
        flagged = flag(scores, alert_rate)
        return Response({"results": [
            {"id": s.id, "score": round(s.score, 4), "flagged": s.id in flagged,
             "reasons": [{"code": r.code, "text": r.text} for r in s.reasons]} for s in scores]})


SETTINGS_FIELDS = ("anomaly_mode", "alert_rate", "approval_limit", "gl_auto_accept", "share_prior")


def _settings(options: CopilotSettings) -> dict[str, Any]:
    return {"anomaly_mode": options.anomaly_mode, "alert_rate": str(options.alert_rate),
            "approval_limit": str(options.approval_limit), "gl_auto_accept": options.gl_auto_accept,
            "share_prior": options.share_prior}


class Settings(MappingView):
    write_role = Role.ADMIN

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(_settings(CopilotSettings.current()))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request):
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = sorted(set(data) - set(SETTINGS_FIELDS))
        if unknown:
            raise ValidationError({name: ["Unknown setting."] for name in unknown})
        options = CopilotSettings.current()
        before = _settings(options)
        data = {k: ("" if v is None else v) for k, v in data.items()}
        if "share_prior" in data:
            data["share_prior"] = "1" if data["share_prior"] in (True, "1", "true", "on") else ""
        errors = parse_settings(data, options)
        if errors:
            raise ValidationError({k: [v] for k, v in errors.items()})
        options.save()
        after = _settings(options)
        audit(request.user, "copilot.settings", options, {k: [before[k], after[k]] for k in after
                                                         if before[k] != after[k]}, label="co-pilot settings")
        return Response(after)


class RecordFixes(MappingView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        record = get_object_or_404(SyncRecord.objects.select_related("flow__source", "flow__target",
                                                                     "mapping_version"), pk=pk)
        found = fixes.for_record(record) if record.status == SyncRecord.Status.FAILED else None
        if found is None:
            return Response({"record": record.pk, "problem": "", "fixes": [], "applicable": False, "note": ""})
        return Response({"record": record.pk, "problem": found.problem, "applicable": found.applicable,
                         "section": found.section, "value": found.value, "note": found.note,
                         "fixes": [{"target_code": f.target, "name": f.name, "score": f.score, "reason": f.reason}
                                   for f in found.fixes]})
