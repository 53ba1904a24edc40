"""The flow catalogue: key -> definition. Each record-by-record flow is a RecordFlow run by the pipeline.

The catalogue is assembled from the definitions below and the ``CATALOGUE`` tuples of the modules in
``CATALOGUE_MODULES`` (one per area, so areas grow without touching each other).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from integrations.sync.flows.definition import FlowDefinition
from integrations.sync.models import System

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
        master=System.KASHFLOW, default_options={"paid_only": True},
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
        master=System.KASHFLOW, default_options={"paid_only": True},
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
        master=System.DYNAMICS_AX,
    ),
}

CATALOGUE_MODULES = (
    "integrations.sync.flows.catalogue_ax_master",
    "integrations.sync.flows.catalogue_sage_master",
    "integrations.sync.flows.catalogue_ax_transactions",
    "integrations.sync.flows.catalogue_sage_transactions",
    "integrations.sync.flows.catalogue_summaries",
    "integrations.sync.flows.catalogue_orders",
)

for _module in CATALOGUE_MODULES:
    for _definition in import_string(_module + ".CATALOGUE"):
        if _definition.key in FLOWS:
            raise ImproperlyConfigured(f"Flow key {_definition.key} is defined twice")
        FLOWS[_definition.key] = _definition

__all__ = ["FLOWS", "FlowDefinition"]
