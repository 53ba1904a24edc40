"""Sage 100 customers (AR_Customer) -> Kashflow customers, record by record (Sage is master for customers).

Change detection and the Sage side: :mod:`integrations.sync.flows.sage_master_to_kashflow` (AR_Customer polled over
ODBC on DateUpdated/TimeUpdated with a look-back window; a record's digest is its canonical party, so balance
updates Sage stamps on the customer write nothing). The Kashflow side: :mod:`integrations.sync.flows.kashflow_parties`
(look-up by code, then create or update; Sage's values win and what they overwrite is recorded as warnings).

What a customer becomes: Code ``DD-CUSTNO`` (``01-ABF``: the form ``kashflow_invoices_to_sage`` reads back into
ARDivisionNo and CustomerNo; ``code_map`` overrides it, and a customer first created from Kashflow keeps its
Kashflow code), Name, the first address (AddressLine1-3, then "City, State" as lines; ZipCode as PostCode;
CountryCode turned ISO alpha-2), Email and TelephoneNumber when Sage has them.
"""

from __future__ import annotations

from typing import Any

from integrations.sync.flows.kashflow_parties import CUSTOMERS
from integrations.sync.flows.sage_master_to_kashflow import SagePartiesToKashflow

COLUMNS = ("ARDivisionNo", "CustomerNo", "CustomerName", "AddressLine1", "AddressLine2", "AddressLine3", "City",
           "State", "ZipCode", "CountryCode", "TelephoneNo", "TelephoneExt", "EmailAddress", "TermsCode",
           "CustomerStatus")


def default_rules() -> dict[str, Any]:
    """``code_map``: Sage ``DD-CUSTNO`` -> Kashflow code (default: the same); ``countries``: Sage country code ->
    ISO alpha-2 beyond the built-in ones; ``currency``: Kashflow currency for every customer (default: none sent,
    Kashflow keeps its own); ``routing``: unused (the mapping editor's common shape)."""
    return {"routing": [], "code_map": {}, "countries": {}, "currency": ""}


class SageCustomersToKashflow(SagePartiesToKashflow):
    entity = "customer"
    stream = "ar_customer"
    table = "AR_Customer"
    columns = COLUMNS
    kind = CUSTOMERS
    division_column = "ARDivisionNo"
    number_column = "CustomerNo"
    name_column = "CustomerName"
