"""Flow definitions: orders (order-to-cash: storefront orders in, order status back).

Storefront orders have no system of their own: the storefront posts signed webhooks to an endpoint of the
tenant's Kashflow connection, and the flow reads those stored deliveries (source and target are the same
Kashflow connection). See docs/order-to-cash.md.
"""

from __future__ import annotations

from integrations.sync.flows.definition import FlowDefinition
from integrations.sync.models import System

CATALOGUE: tuple[FlowDefinition, ...] = (
    FlowDefinition(
        key="storefront_orders_to_kashflow",
        name="Storefront orders → Kashflow invoices and payments",
        source_system=System.KASHFLOW,
        source_label="Web shop",
        target_system=System.KASHFLOW,
        entity="storefront_order",
        spec="integrations.sync.flows.storefront_orders.StorefrontOrdersToKashflow",
        description="Signed storefront webhooks (order.created, payment.confirmed) become a Kashflow customer "
                    "(found by code or e-mail, created if new), one sales invoice per order (customer reference = "
                    "order id) and one payment line per confirmed gateway transaction, each exactly once.",
        trigger="event",
        master="",
    ),
    FlowDefinition(
        key="ax_invoice_status_to_kashflow",
        name="AX invoice posting and settlement → Kashflow invoice notes",
        source_system=System.DYNAMICS_AX,
        target_system=System.KASHFLOW,
        entity="invoice_status",
        spec="integrations.sync.flows.ax_invoice_status_to_kashflow.AxInvoiceStatusToKashflow",
        description="When AX posts a free-text invoice that came from Kashflow, and whenever it is part or fully "
                    "settled (CUSTTRANS polled over ODBC), the Kashflow invoice gets one note saying so.",
        trigger="poll", master=System.DYNAMICS_AX,
    ),
)
