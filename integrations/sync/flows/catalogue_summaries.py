"""Flow definitions: summaries.

Summarised posting of Kashflow sales invoices and receipts as one GL journal per closed day (or week), for
either ERP. A tenant chooses it *instead of* the record-by-record invoice flow of the same pair (``excludes``),
so sandbox setup leaves it off (``enabled_by_default=False``).
"""

from __future__ import annotations

from integrations.sync.flows.definition import FlowDefinition
from integrations.sync.models import System

SUMMARY_OPTIONS = {"period": "day", "close_after_hours": 1, "paid_only": False}

CATALOGUE: tuple[FlowDefinition, ...] = (
    FlowDefinition(
        key="kashflow_summary_to_ax",
        name="Kashflow sales and receipts → AX general journal (summarised)",
        source_system=System.KASHFLOW,
        target_system=System.DYNAMICS_AX,
        entity="journal",
        spec="integrations.sync.flows.kashflow_summary_to_ax.KashflowSummaryToAx",
        description="Kashflow sales invoices and receipts of each closed day (or week) become one balanced AX "
                    "general journal: AR control, sales per mapped main account and dimensions, VAT per tax code, "
                    "bank; each line drills down to its Kashflow invoices and receipts.",
        trigger="batch", master=System.KASHFLOW, default_options=dict(SUMMARY_OPTIONS),
        excludes=("kashflow_invoices_to_ax", "kashflow_payments_to_ax"), enabled_by_default=False,
    ),
    FlowDefinition(
        key="kashflow_summary_to_sage",
        name="Kashflow sales and receipts → Sage 100 G/L journal (summarised)",
        source_system=System.KASHFLOW,
        target_system=System.SAGE100,
        entity="journal",
        spec="integrations.sync.flows.kashflow_summary_to_sage.KashflowSummaryToSage",
        description="Kashflow sales invoices and receipts of each closed day (or week) become one balanced Sage "
                    "100 G/L journal entry (GL_GeneralJournal_bus through the agent): AR control, sales per mapped "
                    "account and division segment, sales tax, cash; each line drills down to its sources.",
        trigger="batch", master=System.KASHFLOW, default_options=dict(SUMMARY_OPTIONS),
        excludes=("kashflow_invoices_to_sage", "kashflow_payments_to_sage"), enabled_by_default=False,
    ),
)
