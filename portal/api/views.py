"""API views: parse and validate input, call one inbox service, answer. Reads need a viewer, writes an operator."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.sync import inbox
from integrations.sync.inbox import InboxError
from integrations.sync.models import Flow, SyncRecord, SyncRun
from portal.accounts.models import Role
from portal.api import serializers as s


class HasRole(BasePermission):
    """Viewer or higher to read, operator or higher to change anything."""

    message = "This needs the Operator role or higher."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and hasattr(user, "has_role")):
            return False
        return user.has_role(Role.VIEWER if request.method in SAFE_METHODS else Role.OPERATOR)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ApiView(APIView):
    permission_classes = [HasRole]


def _filters(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _flow_q(value: str) -> Q:
    """A flow given by id or key; unknown -> 400, so a typo never reads as 'no records'."""
    flow = Flow.objects.filter(pk=int(value)).first() if value.isdigit() else Flow.objects.filter(key=value).first()
    if flow is None:
        raise ValidationError({"flow": [f"Unknown flow {value!r} (give its id or key)."]})
    return Q(flow=flow)


def _invalid(error: InboxError) -> Response:
    """DRF's error shape ({field: [messages]}), plus the unknown ids as numbers when there are some."""
    detail: dict = {error.field or "non_field_errors": [error.message]}
    if error.ids:
        detail["unknown_ids"] = error.ids
    if error.code in ("busy", "not_eligible"):
        return Response({"detail": error.message, "code": error.code}, status=status.HTTP_409_CONFLICT)
    return Response(detail, status=status.HTTP_400_BAD_REQUEST)


# ---------------------------------------------------------------------------------------------- reads

class FlowList(generics.ListAPIView):
    """Flows with the size of their inbox and approvals queue."""

    permission_classes = [HasRole]
    serializer_class = s.FlowSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Flow]:
        return Flow.objects.select_related("source", "target").annotate(
            inbox=Count("records", filter=Q(records__status=SyncRecord.Status.FAILED, records__resolution="")),
            approvals=Count("records", filter=Q(records__status=SyncRecord.Status.HELD, records__resolution="")),
        ).order_by("name", "pk")


@extend_schema(parameters=[s.RunFilterSerializer])
class RunList(generics.ListAPIView):
    """Runs, newest first; filter by flow (id or key), status, trigger."""

    permission_classes = [HasRole]
    serializer_class = s.RunSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[SyncRun]:
        filters = _filters(s.RunFilterSerializer, self.request)
        runs = SyncRun.objects.select_related("flow", "mapping_version").order_by("-created_at", "-pk")
        if "flow" in filters:
            runs = runs.filter(_flow_q(filters["flow"]))
        if "status" in filters:
            runs = runs.filter(status=filters["status"])
        if "trigger" in filters:
            runs = runs.filter(trigger=filters["trigger"])
        return runs


class RunDetail(generics.RetrieveAPIView):
    permission_classes = [HasRole]
    serializer_class = s.RunSerializer
    queryset = SyncRun.objects.select_related("flow", "mapping_version")


@extend_schema(parameters=[s.RecordFilterSerializer])
class RecordList(generics.ListAPIView):
    """Records, most recently changed first; ``inbox=true`` is the error inbox, ``approvals=true`` the queue."""

    permission_classes = [HasRole]
    serializer_class = s.RecordSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[SyncRecord]:
        filters = _filters(s.RecordFilterSerializer, self.request)
        records = SyncRecord.objects.select_related("flow", "mapping_version").order_by("-updated_at", "-pk")
        if "flow" in filters:
            records = records.filter(_flow_q(filters["flow"]))
        for name in ("status", "source_id", "error_kind"):
            if name in filters:
                records = records.filter(**{name: filters[name]})
        if "resolution" in filters:
            records = records.filter(resolution="" if filters["resolution"] == "none" else filters["resolution"])
        if filters.get("inbox"):
            records = records.filter(status=SyncRecord.Status.FAILED, resolution="")
        if filters.get("approvals"):
            records = records.filter(status=SyncRecord.Status.HELD, resolution="")
        return records


class RecordDetail(generics.RetrieveAPIView):
    """One record with its payloads, the target's message and the suggested fix."""

    permission_classes = [HasRole]
    serializer_class = s.RecordDetailSerializer
    queryset = SyncRecord.objects.select_related("flow", "mapping_version", "resolved_by")


# ---------------------------------------------------------------------------------------------- actions

def _answer(outcome) -> Response:
    return Response(s.OutcomeSerializer(outcome).data, status=status.HTTP_200_OK)


class ReplayRecords(ApiView):
    """Queue failed, held or pending records for a replay run ("ran" or "current" mapping)."""

    @extend_schema(request=s.ReplaySerializer, responses=s.OutcomeSerializer)
    def post(self, request):
        data = _validated(s.ReplaySerializer, request)
        try:
            return _answer(inbox.replay(data["ids"], mapping=data["mapping"], actor=request.user))
        except InboxError as error:
            return _invalid(error)


class IgnoreRecords(ApiView):
    """Stop asking about failed records (skipped, resolution ignored)."""

    @extend_schema(request=s.IdsSerializer, responses=s.OutcomeSerializer)
    def post(self, request):
        data = _validated(s.IdsSerializer, request)
        try:
            return _answer(inbox.ignore(data["ids"], request.user))
        except InboxError as error:
            return _invalid(error)


class ApproveRecords(ApiView):
    """Let held records through; they are posted by the replay run requested for their flow."""

    @extend_schema(request=s.IdsSerializer, responses=s.OutcomeSerializer)
    def post(self, request):
        data = _validated(s.IdsSerializer, request)
        try:
            return _answer(inbox.approve(data["ids"], request.user))
        except InboxError as error:
            return _invalid(error)


class RejectRecords(ApiView):
    """Keep held records out of the target, with a reason."""

    @extend_schema(request=s.RejectSerializer, responses=s.OutcomeSerializer)
    def post(self, request):
        data = _validated(s.RejectSerializer, request)
        try:
            return _answer(inbox.reject(data["ids"], request.user, data["reason"]))
        except InboxError as error:
            return _invalid(error)


class EditRecord(ApiView):
    """Replace a record's canonical payload and replay it with the current mapping."""

    @extend_schema(request=s.EditSerializer, responses=s.OutcomeSerializer)
    def post(self, request, pk: int):
        data = _validated(s.EditSerializer, request)
        record = generics.get_object_or_404(SyncRecord, pk=pk)
        try:
            return _answer(inbox.edit_and_retry(record, data["payload"], request.user))
        except InboxError as error:
            return _invalid(error)


def _validated(serializer_class, request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
