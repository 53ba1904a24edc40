"""Read-only API of reconciliation runs: ``/api/v1/reconciliations/`` (filter ``flow`` = id or key, ``status``)
and ``/api/v1/reconciliations/<id>/`` with its mismatches. Reconciling and re-syncing are portal actions."""

from __future__ import annotations

from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from integrations.sync.models import Flow
from portal.api.views import HasRole, Pagination
from reconciliation.models import Mismatch, ReconciliationRun


class MismatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Mismatch
        fields = ["id", "kind", "reason", "source_id", "target_id", "customer", "kashflow_value", "erp_value",
                  "detail", "resyncable", "resynced_at", "resync_outcome"]


class RunSerializer(serializers.ModelSerializer):
    flow = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = ReconciliationRun
        fields = ["id", "flow", "period_start", "period_end", "status", "trigger", "created_at", "started_at",
                  "finished_at", "mismatch_count", "message", "summary"]


class RunDetailSerializer(RunSerializer):
    mismatches = MismatchSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "mismatches"]


class ReconciliationList(generics.ListAPIView):
    permission_classes = [HasRole]
    pagination_class = Pagination
    serializer_class = RunSerializer

    def get_queryset(self):
        runs = ReconciliationRun.objects.select_related("flow")
        value = (self.request.query_params.get("flow") or "").strip()
        if value:
            flow = Flow.objects.filter(pk=int(value)).first() if value.isdigit() else \
                Flow.objects.filter(key=value).first()
            if flow is None:
                raise ValidationError({"flow": [f"Unknown flow {value!r} (give its id or key)."]})
            runs = runs.filter(flow=flow)
        status = (self.request.query_params.get("status") or "").strip()
        if status:
            if status not in ReconciliationRun.Status.values:
                raise ValidationError({"status": [f"{status!r} is not one of "
                                                  f"{', '.join(ReconciliationRun.Status.values)}."]})
            runs = runs.filter(status=status)
        return runs


class ReconciliationDetail(generics.RetrieveAPIView):
    permission_classes = [HasRole]
    serializer_class = RunDetailSerializer
    queryset = ReconciliationRun.objects.select_related("flow").prefetch_related("mismatches")
