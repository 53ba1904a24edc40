"""Flow definitions: ax master."""

from __future__ import annotations

from integrations.sync.flows.definition import FlowDefinition

CATALOGUE: tuple[FlowDefinition, ...] = ()
