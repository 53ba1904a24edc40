"""What the API shows and accepts. Connections appear only as name/system/status: never a secret or a login."""

from __future__ import annotations

from rest_framework import serializers

from integrations.sync.inbox import MAPPING_MODES, MAX_IDS
from integrations.sync.models import Connection, Flow, Resolution, SyncRecord, SyncRun


class ConnectionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Connection
        fields = ["id", "name", "system", "status", "is_sandbox"]


class FlowSerializer(serializers.ModelSerializer):
    source = ConnectionSummarySerializer(read_only=True)
    target = ConnectionSummarySerializer(read_only=True)
    inbox = serializers.IntegerField(read_only=True, help_text="Unresolved failed records.")
    approvals = serializers.IntegerField(read_only=True, help_text="Held records waiting for a decision.")

    class Meta:
        model = Flow
        fields = ["id", "key", "name", "enabled", "source", "target", "inbox", "approvals", "created_at"]


class RunSerializer(serializers.ModelSerializer):
    flow_key = serializers.CharField(source="flow.key", read_only=True)
    mapping_version = serializers.IntegerField(source="mapping_version.number", read_only=True, allow_null=True,
                                               default=None)

    class Meta:
        model = SyncRun
        fields = ["id", "flow", "flow_key", "trigger", "status", "created_at", "started_at", "finished_at",
                  "records_seen", "records_posted", "records_skipped", "records_failed", "records_held",
                  "target_calls", "message", "mapping_version", "resumed_from"]


class RecordSerializer(serializers.ModelSerializer):
    """A record in a list: what it is and where it stands (payloads only in the detail)."""

    flow_key = serializers.CharField(source="flow.key", read_only=True)
    last_run = serializers.PrimaryKeyRelatedField(read_only=True)
    mapping_version = serializers.IntegerField(source="mapping_version.number", read_only=True, allow_null=True,
                                               default=None)

    class Meta:
        model = SyncRecord
        fields = ["id", "flow", "flow_key", "entity", "source_id", "source_version", "status", "target_id",
                  "attempts", "error_kind", "error_code", "last_error", "hold_reason", "resolution",
                  "replay_mapping", "mapping_version", "last_run", "anomaly_score", "anomaly_flagged", "created_at",
                  "updated_at"]


class RecordDetailSerializer(RecordSerializer):
    resolved_by = serializers.SlugRelatedField(slug_field="email", read_only=True)
    edited = serializers.SerializerMethodField()

    class Meta(RecordSerializer.Meta):
        fields = [*RecordSerializer.Meta.fields, "suggested_fix", "warnings", "payload", "original_payload",
                  "target_payload", "edited", "resolved_at", "resolved_by", "anomaly_reasons"]

    def get_edited(self, record: SyncRecord) -> bool:
        return record.original_payload is not None


# ---------------------------------------------------------------------------------------------- filters

class RunFilterSerializer(serializers.Serializer):
    flow = serializers.CharField(required=False, help_text="Flow id or key.")
    status = serializers.ChoiceField(choices=SyncRun.Status.choices, required=False)
    trigger = serializers.ChoiceField(choices=SyncRun.Trigger.choices, required=False)


class RecordFilterSerializer(serializers.Serializer):
    flow = serializers.CharField(required=False, help_text="Flow id or key.")
    status = serializers.ChoiceField(choices=SyncRecord.Status.choices, required=False)
    source_id = serializers.CharField(required=False, max_length=120)
    error_kind = serializers.CharField(required=False, max_length=20)
    resolution = serializers.ChoiceField(choices=[("none", "Unresolved"), *Resolution.choices], required=False,
                                         help_text="'none' for records nobody has resolved.")
    inbox = serializers.BooleanField(required=False, help_text="Only the error inbox (failed, unresolved).")
    approvals = serializers.BooleanField(required=False, help_text="Only the approvals queue (held, unresolved).")


# ---------------------------------------------------------------------------------------------- actions

class IdsSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=MAX_IDS,
                                help_text=f"Record ids (at most {MAX_IDS}).")


class ReplaySerializer(IdsSerializer):
    mapping = serializers.ChoiceField(choices=list(MAPPING_MODES.items()),
                                      help_text="'ran' = the mapping version that transformed the record; "
                                                "'current' = the flow's published mapping.")


class RejectSerializer(IdsSerializer):
    reason = serializers.CharField(max_length=500, help_text="Kept on the record and in the audit log.")


class EditSerializer(serializers.Serializer):
    payload = serializers.JSONField(help_text="The corrected canonical record (a JSON object).")

    def validate_payload(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("The payload must be a JSON object.")
        return value


class OutcomeSerializer(serializers.Serializer):
    action = serializers.CharField()
    mapping = serializers.CharField(allow_blank=True)
    changed = serializers.IntegerField(source="count", help_text="Records the action applied to.")
    changed_ids = serializers.ListField(child=serializers.IntegerField(), source="changed")
    not_eligible = serializers.ListField(child=serializers.IntegerField(),
                                         help_text="Left alone: not in a state this action applies to.")
    busy = serializers.ListField(child=serializers.IntegerField(),
                                 help_text="Left alone: a run is working on them right now; try again.")
    runs = serializers.SerializerMethodField(help_text="Replay runs requested (one per flow).")
    message = serializers.CharField(source="summary")

    def get_runs(self, outcome) -> list[int]:
        return [run.pk for run in outcome.runs]
