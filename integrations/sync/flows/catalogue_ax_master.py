"""Flow definitions: ax master (Kashflow <-> Dynamics AX master data and stock; AX is master).

The customer flow (``ax_customers_to_kashflow``) is defined in ``flows/__init__.py``; the flows here share its
base (``ax_parties.py``) or its polling (``ax_products_to_kashflow.AxPolledFlow``).
"""

from __future__ import annotations

from integrations.sync.flows.definition import FlowDefinition
from integrations.sync.models import System

_FLOWS = "integrations.sync.flows."

CATALOGUE: tuple[FlowDefinition, ...] = (
    FlowDefinition(
        key="ax_suppliers_to_kashflow",
        name="AX vendors → Kashflow suppliers",
        source_system=System.DYNAMICS_AX,
        target_system=System.KASHFLOW,
        entity="supplier",
        spec=_FLOWS + "ax_suppliers_to_kashflow.AxSuppliersToKashflow",
        description="Vendors created or changed in Dynamics AX (the master) are created or updated in Kashflow as "
                    "suppliers, one by one, matched on the Kashflow code; AX's values overwrite Kashflow's.",
        trigger="poll", master=System.DYNAMICS_AX,
    ),
    FlowDefinition(
        key="kashflow_customers_to_ax",
        name="Kashflow customers → AX customers (new ones only)",
        source_system=System.KASHFLOW,
        target_system=System.DYNAMICS_AX,
        entity="customer",
        spec=_FLOWS + "kashflow_parties_to_ax.KashflowCustomersToAx",
        description="Customers created in Kashflow that AX does not have are created in AX through AIF "
                    "(CustomerService), with their name and structured postal address. AX is master: an existing "
                    "AX customer is never overwritten; differences are recorded as warnings.",
        trigger="poll", master=System.DYNAMICS_AX,
    ),
    FlowDefinition(
        key="kashflow_suppliers_to_ax",
        name="Kashflow suppliers → AX vendors (new ones only)",
        source_system=System.KASHFLOW,
        target_system=System.DYNAMICS_AX,
        entity="supplier",
        spec=_FLOWS + "kashflow_parties_to_ax.KashflowSuppliersToAx",
        description="Suppliers created in Kashflow that AX does not have are created in AX as vendors through AIF "
                    "(VendTableService). AX is master: an existing AX vendor is never overwritten.",
        trigger="poll", master=System.DYNAMICS_AX,
    ),
    FlowDefinition(
        key="ax_products_to_kashflow",
        name="AX released products → Kashflow products",
        source_system=System.DYNAMICS_AX,
        target_system=System.KASHFLOW,
        entity="product",
        spec=_FLOWS + "ax_products_to_kashflow.AxProductsToKashflow",
        description="Released products created or changed in AX (name, description, sales price) are created or "
                    "updated in Kashflow under the mapped nominal code; new ones start with AX's stock on hand.",
        trigger="poll", master=System.DYNAMICS_AX,
    ),
    FlowDefinition(
        key="ax_stock_to_kashflow",
        name="AX on-hand stock → Kashflow stock levels",
        source_system=System.DYNAMICS_AX,
        target_system=System.KASHFLOW,
        entity="stock_level",
        spec=_FLOWS + "ax_stock_to_kashflow.AxStockToKashflow",
        description="AX on-hand quantities (INVENTSUM, all warehouses) are set as the Kashflow products' quantity "
                    "in stock whenever they change.",
        trigger="poll", master=System.DYNAMICS_AX, default_options={"measure": "physical"},
    ),
)
