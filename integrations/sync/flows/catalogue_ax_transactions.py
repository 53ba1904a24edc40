"""Flow definitions: ax transactions (Kashflow payments, purchases and journals to AX; paid status back)."""

from __future__ import annotations

from integrations.sync.flows.definition import FlowDefinition
from integrations.sync.models import System

CATALOGUE: tuple[FlowDefinition, ...] = (
    FlowDefinition(
        key="kashflow_payments_to_ax",
        name="Kashflow customer payments → AX customer payment journals",
        source_system=System.KASHFLOW,
        target_system=System.DYNAMICS_AX,
        entity="customer_payment",
        spec="integrations.sync.flows.kashflow_payments_to_ax.KashflowPaymentsToAx",
        description="Payments on Kashflow invoices become AX customer payment journal lines that settle the AX "
                    "invoice the Kashflow invoice became (a payment waits until that invoice is posted in AX); "
                    "method of payment and bank account from the mapping.",
        master=System.KASHFLOW,
    ),
    FlowDefinition(
        key="kashflow_purchases_to_ax",
        name="Kashflow purchase invoices → AX vendor invoice journals",
        source_system=System.KASHFLOW,
        target_system=System.DYNAMICS_AX,
        entity="purchase_invoice",
        spec="integrations.sync.flows.kashflow_purchases_to_ax.KashflowPurchasesToAx",
        description="Kashflow purchases become AX vendor invoice journals (or general journals): the gross on the "
                    "vendor account, the lines on mapped main accounts with financial dimensions, the VAT on a "
                    "mapped tax account or tax group.",
        master=System.KASHFLOW,
        # The vendor invoice journal (PurchaseInvoiceService) is the flow's code default and the AX sandbox's port
        # exposes it (journal name APInvoice), but a customer's port often does not, so a new flow starts on the
        # general journal; switch with purchase_journal: "vendor_invoice" (see docs/flows.md).
        default_options={"purchase_journal": "general"},
    ),
    FlowDefinition(
        key="kashflow_journals_to_ax",
        name="Kashflow journals → AX general journals",
        source_system=System.KASHFLOW,
        target_system=System.DYNAMICS_AX,
        entity="journal",
        spec="integrations.sync.flows.kashflow_journals_to_ax.KashflowJournalsToAx",
        description="Kashflow nominal journals become balanced AX general journals on mapped main accounts with "
                    "financial dimensions; an unbalanced journal is refused with both totals.",
        master=System.KASHFLOW,
    ),
    FlowDefinition(
        key="ax_paid_status_to_kashflow",
        name="AX settled invoices → Kashflow payments (paid status)",
        source_system=System.DYNAMICS_AX,
        target_system=System.KASHFLOW,
        entity="invoice_payment_status",
        spec="integrations.sync.flows.ax_paid_status_to_kashflow.AxPaidStatusToKashflow",
        description="An invoice settled in AX that Kashflow still shows unpaid gets the settled amount as a "
                    "payment in Kashflow, once per settlement; payments that came from Kashflow are not carried back.",
        master=System.DYNAMICS_AX,
    ),
)
