"""The flow catalogue: key -> definition. Each record-by-record flow is a RecordFlow run by the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string

from integrations.sync.models import System


@dataclass(frozen=True)
class FlowDefinition:
    key: str
    name: str
    source_system: str
    target_system: str
    entity: str
    spec: str  # dotted path of the RecordFlow subclass
    description: str = ""

    def spec_class(self):
        return import_string(self.spec)

    def default_rules(self) -> dict[str, Any]:
        module = import_string(self.spec.rsplit(".", 1)[0] + ".default_rules")
        return module()

    def run(self, flow, recorder) -> None:
        from integrations.sync.pipeline import Pipeline

        Pipeline(flow, recorder, self.spec_class()).execute()


FLOWS: dict[str, FlowDefinition] = {
    "kashflow_invoices_to_ax": FlowDefinition(
        key="kashflow_invoices_to_ax",
        name="Kashflow sales invoices → AX free-text invoices",
        source_system=System.KASHFLOW,
        target_system=System.DYNAMICS_AX,
        entity="sales_invoice",
        spec="integrations.sync.flows.kashflow_invoices_to_ax.KashflowInvoicesToAx",
        description="Paid (or all, if configured) Kashflow sales invoices become AX free-text invoices, "
                    "one per invoice, with lines on mapped main accounts and financial dimensions.",
    ),
    "kashflow_invoices_to_sage": FlowDefinition(
        key="kashflow_invoices_to_sage",
        name="Kashflow sales invoices → Sage 100 A/R invoices",
        source_system=System.KASHFLOW,
        target_system=System.SAGE100,
        entity="sales_invoice",
        spec="integrations.sync.flows.kashflow_invoices_to_sage.KashflowInvoicesToSage",
        description="Paid (or all, if configured) Kashflow sales invoices become Sage 100 A/R invoices through the "
                    "Ledgerbridge agent, one per invoice, with lines on mapped G/L accounts and the VAT as sales tax.",
    ),
    "ax_customers_to_kashflow": FlowDefinition(
        key="ax_customers_to_kashflow",
        name="AX customers → Kashflow customers",
        source_system=System.DYNAMICS_AX,
        target_system=System.KASHFLOW,
        entity="customer",
        spec="integrations.sync.flows.ax_customers_to_kashflow.AxCustomersToKashflow",
        description="Customers created or changed in Dynamics AX (the master) are created or updated in Kashflow, "
                    "one by one, matched on the Kashflow code; AX's values overwrite Kashflow's.",
    ),
}
