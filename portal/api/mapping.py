"""The partner API of a flow's mapping: ``/api/v1/flows/<flow>/mapping/...`` (flow = id or key).

Reads (versions, draft, diff, exports) need a viewer; editing the draft and importing into it an operator;
publishing and rolling back an admin, because they change what the next run posts to the ledger. Errors are
400 with ``errors`` (path, message, expression position) for invalid rules or files, 404 for an unknown flow,
version or missing draft, 409 when the state does not allow the action (stale draft, nothing to publish, draft
changed since it was read). The view logic lives in ``mapping.versions`` / ``mapping.io``; this module only
parses, calls and answers (docs/mapping.md "API").
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.sync.models import Flow
from mapping import io as mapping_io
from mapping import versions
from mapping.models import MappingVersion
from mapping.versions import MappingError
from portal.accounts.models import Role

_STATUS = {"unknown_version": status.HTTP_404_NOT_FOUND, "live_check_failed": status.HTTP_409_CONFLICT,
           "invalid_value": status.HTTP_400_BAD_REQUEST,
           "invalid": status.HTTP_400_BAD_REQUEST}


class MappingRole(BasePermission):
    """Viewer to read; operator to change the draft; admin for actions that change what the next run posts."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and hasattr(user, "has_role")):
            return False
        needed = Role.VIEWER if request.method in SAFE_METHODS else getattr(view, "write_role", Role.OPERATOR)
        self.message = f"This needs the {Role(needed).label} role or higher."
        return user.has_role(needed)


class CsvParser(BaseParser):
    """A raw ``text/csv`` body, as bytes (decoded and checked by mapping.io, which reports bad encoding)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        data = stream.read(mapping_io.MAX_CSV_BYTES + 1) if stream is not None else b""
        if len(data) > mapping_io.MAX_CSV_BYTES:
            raise ValidationError({"detail": f"The file is larger than {mapping_io.MAX_CSV_BYTES:,} bytes."})
        return data


# ---------------------------------------------------------------------------------------------- shapes

class VersionSummarySerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True)
    published_by = serializers.SlugRelatedField(slug_field="email", read_only=True)
    based_on = serializers.IntegerField(source="based_on.number", read_only=True, allow_null=True, default=None)
    number = serializers.SerializerMethodField(help_text="null for the draft (numbered when published).")
    revision = serializers.SerializerMethodField(help_text="Send back with PUT draft to refuse lost updates.")

    class Meta:
        model = MappingVersion
        fields = ["number", "status", "note", "based_on", "created_at", "created_by", "updated_at", "published_at",
                  "published_by", "revision"]

    def get_number(self, version) -> int | None:
        return None if version.status == MappingVersion.Status.DRAFT else version.number

    def get_revision(self, version) -> str:
        return versions.revision_of(version)


class VersionSerializer(VersionSummarySerializer):
    class Meta(VersionSummarySerializer.Meta):
        fields = [*VersionSummarySerializer.Meta.fields, "rules"]


class DraftInputSerializer(serializers.Serializer):
    rules = serializers.JSONField(help_text="The whole rules object (every section).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)
    revision = serializers.CharField(required=False, help_text="The draft's revision as last read.")


class PublishInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)
    force = serializers.BooleanField(default=False, help_text="Publish a draft started from an older version.")
    require_live_check = serializers.BooleanField(
        default=False, help_text="Refuse (409 live_check_failed) when the ERP's chart or dimensions cannot be read.")


class RollbackInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)
    require_live_check = serializers.BooleanField(default=False)


# ---------------------------------------------------------------------------------------------- helpers

def _flow(value: str) -> Flow:
    flow = Flow.objects.filter(pk=int(value)).first() if value.isdigit() else Flow.objects.filter(key=value).first()
    if flow is None:
        raise NotFound(f"Unknown flow {value!r} (give its id or key).")
    return flow


def _refused(error: MappingError) -> Response:
    body = {"detail": error.message, "code": error.code}
    if hasattr(error, "errors"):
        body["errors"] = [versions.problem_of(e).to_dict() for e in error.errors]
    return Response(body, status=_STATUS.get(error.code, status.HTTP_409_CONFLICT))


def _input(serializer_class, request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _version(version: MappingVersion, code: int = status.HTTP_200_OK) -> Response:
    """The version; after a publish also ``warnings``: what the live check could not verify (e.g. the ERP's chart
    was unreachable), empty when everything was checked."""
    body = dict(VersionSerializer(version).data)
    if hasattr(version, "warnings"):
        body["warnings"] = list(version.warnings)
    return Response(body, status=code)


class MappingView(APIView):
    permission_classes = [MappingRole]
    parser_classes = [JSONParser]


# ---------------------------------------------------------------------------------------------- views

class MappingOverview(MappingView):
    """The flow's published version, its draft (if any) and the history of versions (without rules)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, flow: str):
        target = _flow(flow)
        published = versions.published_version(target)
        draft = versions.draft_version(target)
        return Response({"flow": target.key, "published": published.number,
                         "draft": VersionSummarySerializer(draft).data if draft else None,
                         "versions": VersionSummarySerializer(versions.versions(target), many=True).data})


class MappingVersionDetail(MappingView):
    """One version with its rules: a number, ``published`` or ``draft``."""

    @extend_schema(responses=VersionSerializer)
    def get(self, request, flow: str, ref: str):
        try:
            return _version(versions.resolve_version(_flow(flow), ref))
        except MappingError as error:
            return _refused(error) if error.code != "no_draft" else Response(
                {"detail": error.message, "code": error.code}, status=status.HTTP_404_NOT_FOUND)


class MappingDraft(MappingView):
    """GET the draft (404 if none), PUT the whole rules object (validated; creates the draft), DELETE it."""

    @extend_schema(responses=VersionSerializer)
    def get(self, request, flow: str):
        target = _flow(flow)
        draft = versions.draft_version(target)
        if draft is None:
            return Response({"detail": f"{target.name} has no draft mapping; PUT one to start.", "code": "no_draft"},
                            status=status.HTTP_404_NOT_FOUND)
        return _version(draft)

    @extend_schema(request=DraftInputSerializer, responses=VersionSerializer)
    def put(self, request, flow: str):
        target = _flow(flow)
        data = _input(DraftInputSerializer, request)
        try:
            return _version(versions.save_draft(target, data["rules"], actor=request.user, note=data.get("note"),
                                                revision=data.get("revision")))
        except MappingError as error:
            return _refused(error)

    @extend_schema(responses={204: None})
    def delete(self, request, flow: str):
        target = _flow(flow)
        if not versions.discard_draft(target, actor=request.user):
            return Response({"detail": f"{target.name} has no draft mapping.", "code": "no_draft"},
                            status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MappingPublish(MappingView):
    """Validate the draft and publish it as the next version (the next run uses it)."""

    write_role = Role.ADMIN

    @extend_schema(request=PublishInputSerializer, responses={201: VersionSerializer})
    def post(self, request, flow: str):
        target = _flow(flow)
        data = _input(PublishInputSerializer, request)
        try:
            version = versions.publish_draft(target, actor=request.user, note=data.get("note"), force=data["force"],
                                             require_live_check=data.get("require_live_check", False))
        except MappingError as error:
            return _refused(error)
        return _version(version, status.HTTP_201_CREATED)


class MappingRollback(MappingView):
    """Publish a copy of an older version as the new version."""

    write_role = Role.ADMIN

    @extend_schema(request=RollbackInputSerializer, responses={201: VersionSerializer})
    def post(self, request, flow: str):
        target = _flow(flow)
        data = _input(RollbackInputSerializer, request)
        try:
            version = versions.rollback(target, data["version"], actor=request.user, note=data.get("note", ""),
                                        require_live_check=data.get("require_live_check", False))
        except MappingError as error:
            return _refused(error)
        return _version(version, status.HTTP_201_CREATED)


class MappingDiff(MappingView):
    """The difference between two versions (default: published -> draft), per section and as text."""

    @extend_schema(parameters=[OpenApiParameter("from", str, description="number, 'published' or 'draft'"),
                               OpenApiParameter("to", str, description="number, 'published' or 'draft'")],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, flow: str):
        target = _flow(flow)
        try:
            diff = versions.diff_versions(target, request.query_params.get("from") or "published",
                                          request.query_params.get("to") or "draft")
        except MappingError as error:
            return _refused(error) if error.code != "no_draft" else Response(
                {"detail": error.message, "code": error.code}, status=status.HTTP_404_NOT_FOUND)
        return Response(diff.to_dict())


def _export_version(flow: Flow, request) -> MappingVersion:
    return versions.resolve_version(flow, request.query_params.get("version") or "published")


class MappingExport(MappingView):
    """The mapping set as a ``ledgerbridge-mapping/1`` JSON document (``?version=``, default published)."""

    @extend_schema(parameters=[OpenApiParameter("version", str)], responses=OpenApiTypes.OBJECT)
    def get(self, request, flow: str):
        target = _flow(flow)
        try:
            version = _export_version(target, request)
        except MappingError as error:
            return _refused(error)
        response = Response(mapping_io.export_json(target, version))
        label = "draft" if version.status == MappingVersion.Status.DRAFT else f"v{version.number}"
        response["Content-Disposition"] = f'attachment; filename="{target.key}-mapping-{label}.json"'
        return response


class MappingExportGl(MappingView):
    """The GL map of a version as CSV (``source_code,target_account[,department,customer_group]``)."""

    @extend_schema(parameters=[OpenApiParameter("version", str)], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, flow: str):
        target = _flow(flow)
        try:
            version = _export_version(target, request)
        except MappingError as error:
            return _refused(error)
        label = "draft" if version.status == MappingVersion.Status.DRAFT else f"v{version.number}"
        response = HttpResponse(mapping_io.export_gl_csv(version.rules), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{target.key}-gl-{label}.csv"'
        return response


class MappingImport(MappingView):
    """A ``ledgerbridge-mapping/1`` document (the request body) replaces the draft; validated, not published."""

    @extend_schema(request=OpenApiTypes.OBJECT, responses=VersionSerializer)
    def post(self, request, flow: str):
        target = _flow(flow)
        try:
            return _version(mapping_io.import_json(target, request.data, actor=request.user))
        except MappingError as error:
            return _refused(error)


class MappingImportGl(MappingView):
    """A GL CSV (``text/csv`` body, or a multipart ``file``) into the draft; ``mode`` = replace (default) | merge."""

    parser_classes = [CsvParser, MultiPartParser]

    @extend_schema(parameters=[OpenApiParameter("mode", str, enum=["replace", "merge"])],
                   request={"text/csv": OpenApiTypes.STR}, responses=VersionSerializer)
    def post(self, request, flow: str):
        target = _flow(flow)
        if isinstance(request.data, bytes | str):
            data = request.data
            mode = request.query_params.get("mode") or "replace"
        else:
            upload = request.data.get("file")
            if upload is None or isinstance(upload, str):
                raise ValidationError({"file": ["Send the CSV as a text/csv body or a multipart field 'file'."]})
            if upload.size > mapping_io.MAX_CSV_BYTES:
                raise ValidationError({"file": [f"The file is larger than {mapping_io.MAX_CSV_BYTES:,} bytes."]})
            data = upload.read()
            mode = request.data.get("mode") or request.query_params.get("mode") or "replace"
        try:
            return _version(mapping_io.import_gl_csv(target, data, mode=mode, actor=request.user))
        except MappingError as error:
            return _refused(error)

