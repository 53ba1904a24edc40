"""Dynamics AX vendors -> Kashflow suppliers, record by record (AX is master for suppliers).

Polls ``VENDTABLE`` and ``DIRPARTYTABLE`` over ODBC (the vendor's name lives on its global address book party)
and creates or updates Kashflow suppliers by code, exactly as the customer flow does for customers (see
:mod:`integrations.sync.flows.ax_parties`). What differs is Kashflow's supplier shape: one ``Address`` object,
the VAT number as ``VatNumber``, and e-mail / phone on the primary contact (created when the supplier has no
contact yet; an existing one keeps its name and gets AX's e-mail and phone).
"""

from __future__ import annotations

from integrations.sync.flows.ax_parties import SUPPLIERS, AxPartiesToKashflow, default_rules

__all__ = ["AxSuppliersToKashflow", "default_rules"]


class AxSuppliersToKashflow(AxPartiesToKashflow):
    """AX vendors (VENDTABLE + DirParty) -> Kashflow suppliers."""

    entity = "supplier"
    stream = "vendtable"
    table = "VENDTABLE"
    ax_noun = "vendor"
    kind = SUPPLIERS
