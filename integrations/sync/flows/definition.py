"""What the catalogue knows about a flow: its ends, entity, how it is triggered, who is master, its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class FlowDefinition:
    key: str
    name: str
    source_system: str
    target_system: str
    entity: str
    spec: str  # dotted path of the RecordFlow subclass (or any class the pipeline runs)
    description: str = ""
    # "poll" (short poll of the source, near real time), "event" (webhook-driven, polled as a safety net) or
    # "batch" (periodic, summarised); shown in the catalogue and docs/flows.md.
    trigger: str = "poll"
    master: str = ""  # system that wins a conflict, when the entity lives in both
    default_options: dict[str, Any] = field(default_factory=dict)  # Flow.options a new flow starts with
    # Flows that write the same target objects and must not both be switched on (e.g. record-by-record and
    # summarised posting of the same invoices): switching one on by sandbox setup leaves the others off.
    excludes: tuple[str, ...] = ()
    enabled_by_default: bool = True  # switched on by "Start a sandbox integration"
    # Where the records really come from, when the source connection is only where they are received (the web
    # shop's orders arrive as webhooks on the Kashflow connection).
    source_label: str = ""

    def spec_class(self):
        return import_string(self.spec)

    def default_rules(self) -> dict[str, Any]:
        module = import_string(self.spec.rsplit(".", 1)[0] + ".default_rules")
        return module()

    def run(self, flow, recorder) -> None:
        spec = self.spec_class()
        runner = getattr(spec, "run_flow", None)
        if runner is not None:  # flows that are not record pipelines (summarised batches) run themselves
            runner(flow, recorder)
            return
        from integrations.sync.pipeline import Pipeline

        Pipeline(flow, recorder, spec).execute()
