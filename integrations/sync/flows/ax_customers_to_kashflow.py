"""Dynamics AX customers -> Kashflow customers, record by record (AX is master for customers).

Polls ``CUSTTABLE`` and ``DIRPARTYTABLE`` over ODBC and creates or updates Kashflow customers by code; the
change detection, the natural-key upsert and the conflict rule (AX wins, overwritten Kashflow values recorded as
warnings) are shared with the supplier flow in :mod:`integrations.sync.flows.ax_parties`, which explains them.
"""

from __future__ import annotations

from integrations.sync.flows.ax_parties import CUSTOMERS, AxPartiesToKashflow, default_rules

__all__ = ["AxCustomersToKashflow", "default_rules"]


class AxCustomersToKashflow(AxPartiesToKashflow):
    """AX customers (CUSTTABLE + DirParty) -> Kashflow customers (``Addresses[]``, Email, TelephoneNumber)."""

    entity = "customer"
    stream = "custtable"
    table = "CUSTTABLE"
    ax_noun = "customer"
    kind = CUSTOMERS
