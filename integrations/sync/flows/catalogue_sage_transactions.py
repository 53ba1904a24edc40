"""Flow definitions: Kashflow <-> Sage 100 payments, purchases, journals, stock, order status and paid status."""

from __future__ import annotations

from integrations.sync.flows.definition import FlowDefinition
from integrations.sync.models import System

CATALOGUE: tuple[FlowDefinition, ...] = (
    FlowDefinition(
        key="kashflow_payments_to_sage",
        name="Kashflow customer payments → Sage 100 A/R cash receipts",
        source_system=System.KASHFLOW,
        target_system=System.SAGE100,
        entity="customer_payment",
        spec="integrations.sync.flows.kashflow_payments_to_sage.KashflowPaymentsToSage",
        description="Payments recorded on Kashflow invoices become Sage 100 cash receipts (check number KF<id>, "
                    "payment type and bank code mapped) applied to the A/R invoice kashflow_invoices_to_sage "
                    "created; a payment waits until its invoice is in Sage.",
        trigger="poll", master=System.KASHFLOW,
    ),
    FlowDefinition(
        key="kashflow_purchases_to_sage",
        name="Kashflow purchase invoices → Sage 100 A/P invoices",
        source_system=System.KASHFLOW,
        target_system=System.SAGE100,
        entity="purchase_invoice",
        spec="integrations.sync.flows.kashflow_purchases_to_sage.KashflowPurchasesToSage",
        description="Kashflow purchases become Sage 100 A/P invoices through the agent for vendor DD-VENDNO (the "
                    "supplier code), lines on mapped G/L accounts and the VAT on the tax account.",
        trigger="poll", master=System.KASHFLOW, default_options={"paid_only": False},
    ),
    FlowDefinition(
        key="kashflow_journals_to_sage",
        name="Kashflow journals → Sage 100 G/L journal entries",
        source_system=System.KASHFLOW,
        target_system=System.SAGE100,
        entity="journal",
        spec="integrations.sync.flows.kashflow_journals_to_sage.KashflowJournalsToSage",
        description="Kashflow nominal journals become balanced Sage 100 general journal entries (source journal "
                    "GJ) on mapped G/L accounts; an unbalanced journal is refused with both totals named.",
        trigger="poll", master=System.KASHFLOW,
    ),
    FlowDefinition(
        key="sage_stock_to_kashflow",
        name="Sage 100 stock on hand → Kashflow product stock levels",
        source_system=System.SAGE100,
        target_system=System.KASHFLOW,
        entity="stock_level",
        spec="integrations.sync.flows.sage_stock_to_kashflow.SageStockToKashflow",
        description="Quantity on hand in Sage 100 (IM_ItemWarehouse, summed over warehouses or one warehouse) "
                    "becomes the stock level of the Kashflow product with the item's code, polled on "
                    "DateUpdated/TimeUpdated; Kashflow is written only when the quantity changed.",
        trigger="poll", master=System.SAGE100, default_options={"unmatched": "skip"},
    ),
    FlowDefinition(
        key="sage_order_status_to_kashflow",
        name="Sage 100 sales-order status → Kashflow invoice notes",
        source_system=System.SAGE100,
        target_system=System.KASHFLOW,
        entity="order_status",
        spec="integrations.sync.flows.sage_order_status_to_kashflow.SageOrderStatusToKashflow",
        description="Status changes of Sage 100 sales orders (new, open, shipped, completed, on hold) are reflected "
                    "on the Kashflow invoice the order belongs to (its CustomerPONo holds the invoice number), as "
                    "one note per change or as a custom field.",
        trigger="poll", master=System.SAGE100, default_options={"status_target": "note"},
    ),
    FlowDefinition(
        key="sage_paid_status_to_kashflow",
        name="Sage 100 paid status → Kashflow invoice payments",
        source_system=System.SAGE100,
        target_system=System.KASHFLOW,
        entity="invoice_payment",
        spec="integrations.sync.flows.sage_paid_status_to_kashflow.SagePaidStatusToKashflow",
        description="A/R invoices that came from Kashflow and that Sage 100 has settled (AR_OpenInvoice balance 0) "
                    "get a payment line in Kashflow for what Kashflow still shows due, once; invoices settled by "
                    "payments that came from Kashflow are skipped.",
        trigger="poll", master=System.SAGE100,
    ),
)
