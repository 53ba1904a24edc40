"""Wire a tenant to a sandbox instance: its connections, already tested, and the pair's flows switched on.

Used by the portal's "Start a sandbox integration" (through the control API) and by the demo (directly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from integrations.sync.flows import FLOWS
from integrations.sync.models import Connection, Flow, FlowSchedule, System
from integrations.sync.scheduling import save_schedule

LABELS = {System.KASHFLOW: "Kashflow", System.DYNAMICS_AX: "Dynamics AX", System.SAGE100: "Sage 100"}
SANDBOX_INTERVAL_MINUTES = 5


@dataclass
class SandboxIntegration:
    instance_id: str
    connections: dict[str, Connection]
    flows: list[Flow]


@transaction.atomic
def connect_sandbox(*, instance_id: str, fields: dict[str, dict[str, Any]]) -> SandboxIntegration:
    """Create or update the tenant's sandbox connections from ``fields`` (system -> connection fields).

    Idempotent per instance: running it again (the demo does on every start) updates URLs and secrets in place.
    A tenant has at most one sandbox connection per system; a new instance replaces the previous one's details.
    """
    connections = {}
    for system, data in fields.items():
        conn = (Connection.objects.filter(system=system, is_sandbox=True).order_by("pk").first()
                or Connection(system=system, is_sandbox=True))
        conn.name = _free_name(f"{LABELS.get(system, system)} (sandbox)", conn)
        conn.base_url = data["base_url"]
        conn.username = data.get("username", "")
        conn.password = data.get("password", "")
        conn.memorable_word = data.get("memorable_word", "")
        conn.settings = {**data.get("settings", {}), "sandbox_instance": instance_id}
        conn.status, conn.status_message = Connection.Status.UNTESTED, ""
        conn.save()
        connections[system] = conn
    _switch_off_mixed_flows(instance_id)
    flows = []
    for key, definition in FLOWS.items():
        source = connections.get(definition.source_system)
        target = connections.get(definition.target_system)
        if source is None or target is None:
            continue
        flow, _ = Flow.objects.get_or_create(
            key=key, defaults={"name": definition.name, "source": source, "target": target,
                               "options": dict(definition.default_options)})
        if (flow.source_id, flow.target_id) != (source.pk, target.pk) and (
                flow.source.is_sandbox and flow.target.is_sandbox):
            flow.source, flow.target = source, target
        flow.enabled = definition.enabled_by_default
        flow.save()
        if not FlowSchedule.objects.filter(flow=flow).exists():  # a sandbox moves data by itself
            save_schedule(flow, FlowSchedule.Kind.INTERVAL, SANDBOX_INTERVAL_MINUTES, "", True, "sandbox setup")
        flows.append(flow)
    return SandboxIntegration(instance_id, connections, flows)


def _switch_off_mixed_flows(instance_id: str) -> None:
    """A flow whose ends now belong to two different sandbox instances would move one company's data into
    another's: switch it off (it comes back when a sandbox of its own pair is started)."""
    for flow in Flow.objects.select_related("source", "target").filter(source__is_sandbox=True,
                                                                       target__is_sandbox=True):
        ends = {flow.source.settings.get("sandbox_instance"), flow.target.settings.get("sandbox_instance")}
        if len(ends) > 1 and flow.enabled:
            flow.enabled = False
            flow.save(update_fields=["enabled"])


@transaction.atomic
def forget_sandbox_history(instance_id: str) -> dict[str, int]:
    """After a sandbox instance's data is thrown away and seeded again, forget what the tenant's flows knew about
    the old data: records, bindings, cursors, listing digests and summary journals of the flows between its
    connections, and the webhook deliveries (web shop orders) received for it. Otherwise new records that happen
    to reuse old numbers would be taken for ones already posted. Runs, audit entries and reconciliation reports
    stay as history."""
    from ai_copilot.models import StoredModel
    from integrations.sync.models import Binding, FlowCursor, InboundWebhook, SourceState, SyncRecord
    from integrations.sync.summary_models import SummaryJournal, SummarySource

    connections = [c.pk for c in Connection.objects.filter(is_sandbox=True)
                   if c.settings.get("sandbox_instance") == instance_id]
    flows = Flow.objects.filter(source_id__in=connections, target_id__in=connections)
    counts = {
        "records": SyncRecord.objects.filter(flow__in=flows).delete()[0],
        "bindings": Binding.objects.filter(connection_id__in=connections).delete()[0],
        "cursors": FlowCursor.objects.filter(flow__in=flows).delete()[0],
        "digests": SourceState.objects.filter(flow__in=flows).delete()[0],
        "summary_sources": SummarySource.objects.filter(flow__in=flows).delete()[0],
        "summary_journals": SummaryJournal.objects.filter(flow__in=flows).delete()[0],
        # Web shop orders received for the old data were applied to it; replaying them would re-create them.
        "webhook_deliveries": InboundWebhook.objects.filter(endpoint__connection_id__in=connections).delete()[0],
        # The co-pilot learnt the old data's habits; its models retrain on the new history.
        "copilot_models": StoredModel.objects.all().delete()[0],
    }
    return counts


def sandbox_instance_ids() -> list[str]:
    ids = {c.settings.get("sandbox_instance") for c in Connection.objects.filter(is_sandbox=True)}
    return sorted(i for i in ids if i)


def _free_name(wanted: str, conn: Connection) -> str:
    name, n = wanted, 2
    while Connection.objects.filter(name=name).exclude(pk=conn.pk).exists():
        name, n = f"{wanted} {n}", n + 1
    return name
