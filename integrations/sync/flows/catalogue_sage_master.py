"""Flow definitions: Kashflow <-> Sage 100 master data (Sage is master for customers, suppliers and products)."""

from __future__ import annotations

from integrations.sync.flows.definition import FlowDefinition
from integrations.sync.models import System

_FLOWS = "integrations.sync.flows"

CATALOGUE: tuple[FlowDefinition, ...] = (
    FlowDefinition(
        key="sage_customers_to_kashflow",
        name="Sage 100 customers → Kashflow customers",
        source_system=System.SAGE100, target_system=System.KASHFLOW, entity="customer",
        spec=f"{_FLOWS}.sage_customers_to_kashflow.SageCustomersToKashflow",
        description="Customers created or changed in Sage 100 (AR_Customer, polled over ODBC) are created or "
                    "updated in Kashflow under the code DD-CUSTNO, one by one; Sage's values overwrite Kashflow's.",
        master=System.SAGE100,
    ),
    FlowDefinition(
        key="sage_suppliers_to_kashflow",
        name="Sage 100 vendors → Kashflow suppliers",
        source_system=System.SAGE100, target_system=System.KASHFLOW, entity="supplier",
        spec=f"{_FLOWS}.sage_suppliers_to_kashflow.SageSuppliersToKashflow",
        description="Vendors created or changed in Sage 100 (AP_Vendor, polled over ODBC) are created or updated "
                    "in Kashflow as suppliers under the code DD-VENDORNO; Sage's values overwrite Kashflow's.",
        master=System.SAGE100,
    ),
    FlowDefinition(
        key="sage_products_to_kashflow",
        name="Sage 100 items → Kashflow products",
        source_system=System.SAGE100, target_system=System.KASHFLOW, entity="product",
        spec=f"{_FLOWS}.sage_products_to_kashflow.SageProductsToKashflow",
        description="Regular items created or changed in Sage 100 (CI_Item, polled over ODBC) are created or "
                    "updated as Kashflow products: code, description, price and the sales nominal mapped from "
                    "the item's sales G/L account.",
        master=System.SAGE100, default_options={"item_types": ["1"]},
    ),
    FlowDefinition(
        key="kashflow_customers_to_sage",
        name="New Kashflow customers → Sage 100 customers",
        source_system=System.KASHFLOW, target_system=System.SAGE100, entity="customer",
        spec=f"{_FLOWS}.kashflow_parties_to_sage.KashflowCustomersToSage",
        description="Customers created in Kashflow that Sage 100 does not have are created in Sage through the "
                    "agent (AR_Customer_bus); an existing Sage customer is never overwritten.",
        master=System.SAGE100,
    ),
    FlowDefinition(
        key="kashflow_suppliers_to_sage",
        name="New Kashflow suppliers → Sage 100 vendors",
        source_system=System.KASHFLOW, target_system=System.SAGE100, entity="supplier",
        spec=f"{_FLOWS}.kashflow_parties_to_sage.KashflowSuppliersToSage",
        description="Suppliers created in Kashflow that Sage 100 does not have are created in Sage as vendors "
                    "through the agent (AP_Vendor_bus); an existing Sage vendor is never overwritten.",
        master=System.SAGE100,
    ),
)
