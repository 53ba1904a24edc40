"""The flow catalogue: key -> definition. Later issues add every flow of both pairs here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from integrations.sync.models import System


@dataclass(frozen=True)
class FlowDefinition:
    key: str
    name: str
    source_system: str
    target_system: str
    entity: str
    run: Callable  # run(flow, recorder) -> None
    description: str = ""


def _kashflow_invoices_to_ax(flow, recorder):
    from integrations.sync.flows.kashflow_invoices_to_ax import run

    return run(flow, recorder)


FLOWS: dict[str, FlowDefinition] = {
    "kashflow_invoices_to_ax": FlowDefinition(
        key="kashflow_invoices_to_ax",
        name="Kashflow sales invoices → AX free-text invoices",
        source_system=System.KASHFLOW,
        target_system=System.DYNAMICS_AX,
        entity="sales_invoice",
        run=_kashflow_invoices_to_ax,
        description="Paid (or all, if configured) Kashflow sales invoices become AX free-text invoices, "
                    "one per invoice, with lines on mapped main accounts and financial dimensions.",
    ),
}
