"""Sage 100 vendors (AP_Vendor) -> Kashflow suppliers, record by record (Sage is master for suppliers).

Same as :mod:`integrations.sync.flows.sage_customers_to_kashflow`, on AP_Vendor: Code ``DD-VENDORNO``
(``00-AIRWAYS``), Name, the single Kashflow ``Address`` (AddressLine1-3, "City, State", ZipCode, CountryCode as
ISO alpha-2), and the e-mail and phone on the supplier's primary contact (Kashflow suppliers have no top-level
e-mail or phone).
"""

from __future__ import annotations

from typing import Any

from integrations.sync.flows.kashflow_parties import SUPPLIERS
from integrations.sync.flows.sage_master_to_kashflow import SagePartiesToKashflow

COLUMNS = ("APDivisionNo", "VendorNo", "VendorName", "AddressLine1", "AddressLine2", "AddressLine3", "City",
           "State", "ZipCode", "CountryCode", "TelephoneNo", "TelephoneExt", "EmailAddress", "TermsCode")


def default_rules() -> dict[str, Any]:
    """``code_map``: Sage ``DD-VENDORNO`` -> Kashflow code (default: the same); ``countries``; ``currency``;
    ``routing`` (unused). See :func:`integrations.sync.flows.sage_customers_to_kashflow.default_rules`."""
    return {"routing": [], "code_map": {}, "countries": {}, "currency": ""}


class SageSuppliersToKashflow(SagePartiesToKashflow):
    entity = "supplier"
    stream = "ap_vendor"
    table = "AP_Vendor"
    columns = COLUMNS
    kind = SUPPLIERS
    division_column = "APDivisionNo"
    number_column = "VendorNo"
    name_column = "VendorName"
