"""Status translation: Kashflow's Paid / Unpaid / part-paid <-> AX settlement state <-> Sage 100 open balance.

Each system says "how paid is this invoice" differently:

- Kashflow: ``Status`` only says Paid or Unpaid; part payment is read from ``TotalPaidAmount`` against
  ``GrossAmount`` (canonical ``paid`` | ``part_paid`` | ``unpaid``, as :mod:`integrations.kashflow.adapter`).
- AX: an invoice's CUSTTRANS row carries ``AMOUNTCUR`` and ``SETTLEAMOUNTCUR`` (reference dynamics-ax.md §8;
  CUSTTRANSOPEN holds what is left): ``open`` (nothing settled), ``partly_settled``, ``settled``.
- Sage 100: AR_OpenInvoice keeps ``Balance`` (what is still owed) against the invoice's total: ``open``
  (balance = total), ``partly_paid``, ``paid`` (balance 0; Sage then moves the invoice to history).

The three state functions read those numbers (sign-aware: a credit note's amounts are negative; over-payment
counts as paid). Translation between systems goes through tables with defaults that the tenant can override
in the ``status`` rules section, e.g. ``{"status": {"ax_to_kashflow": {"partly_settled": "unpaid"}}}`` for a
tenant that wants Kashflow to show an invoice as paid only when AX has settled it in full. A table may name a
``"*"`` fallback; a value a table does not map (and no fallback) is ``mapping_missing`` naming the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.core.errors import TargetValidationError

__all__ = [
    "AX_STATES", "DEFAULT_TABLES", "KASHFLOW_STATES", "SAGE_STATES", "ax_settlement_state", "kashflow_state",
    "sage_balance_state", "status_tables", "translate_status",
]

KASHFLOW_STATES = ("paid", "part_paid", "unpaid")
AX_STATES = ("settled", "partly_settled", "open")
SAGE_STATES = ("paid", "partly_paid", "open")
FALLBACK = "*"

DEFAULT_TABLES: dict[str, dict[str, str]] = {
    "kashflow_to_ax": dict(zip(KASHFLOW_STATES, AX_STATES, strict=True)),
    "ax_to_kashflow": dict(zip(AX_STATES, KASHFLOW_STATES, strict=True)),
    "kashflow_to_sage": dict(zip(KASHFLOW_STATES, SAGE_STATES, strict=True)),
    "sage_to_kashflow": dict(zip(SAGE_STATES, KASHFLOW_STATES, strict=True)),
}
# What each table's values may be (checked when the tenant's tables are read).
TARGET_STATES = {"kashflow_to_ax": AX_STATES, "ax_to_kashflow": KASHFLOW_STATES,
                 "kashflow_to_sage": SAGE_STATES, "sage_to_kashflow": KASHFLOW_STATES}
ZERO = Decimal(0)


def _amount(value: Any, what: str) -> Decimal:
    if value is None or str(value).strip() == "":
        return ZERO
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise TargetValidationError(f"The {what} {value!r} is not a number.", system="Mapping",
                                    code="invalid_value", payload={what: str(value)}) from None


def _paid_share(total: Decimal, paid: Decimal) -> str:
    """"full" | "part" | "none" for ``paid`` of ``total``, compared as magnitudes (credit notes are negative)."""
    total, paid = abs(total), abs(paid)
    if paid == ZERO:
        return "none"
    return "full" if paid >= total else "part"


def kashflow_state(status: Any, paid: Any, gross: Any) -> str:
    """``paid`` | ``part_paid`` | ``unpaid`` from Kashflow's ``Status`` text, ``TotalPaidAmount`` and
    ``GrossAmount``. Kashflow's "Paid" wins (a write-off can make it paid with less than the gross); a zero
    invoice is paid only when Kashflow says so."""
    paid_amount, gross_amount = _amount(paid, "paid amount"), _amount(gross, "gross amount")
    if str(status or "").strip().lower() == "paid":
        return "paid"
    if gross_amount == ZERO:
        return "unpaid"
    return {"full": "paid", "part": "part_paid", "none": "unpaid"}[_paid_share(gross_amount, paid_amount)]


def ax_settlement_state(amount_cur: Any, settle_amount_cur: Any) -> str:
    """``settled`` | ``partly_settled`` | ``open`` for an AX CUSTTRANS/VENDTRANS row (AMOUNTCUR,
    SETTLEAMOUNTCUR, both in the transaction currency)."""
    amount, settled = _amount(amount_cur, "AMOUNTCUR"), _amount(settle_amount_cur, "SETTLEAMOUNTCUR")
    if amount == ZERO:
        return "settled" if settled == ZERO else "open"
    return {"full": "settled", "part": "partly_settled", "none": "open"}[_paid_share(amount, settled)]


def sage_balance_state(invoice_total: Any, balance: Any) -> str:
    """``paid`` | ``partly_paid`` | ``open`` for a Sage invoice from its total and AR_OpenInvoice ``Balance``
    (what is still owed; an invoice no longer in AR_OpenInvoice has balance 0)."""
    total, owed = _amount(invoice_total, "invoice total"), _amount(balance, "Balance")
    if owed == ZERO or (total != ZERO and (owed > ZERO) != (total > ZERO)):
        return "paid"  # nothing owed, or over-paid into a balance of the other sign
    if total == ZERO or abs(owed) >= abs(total):
        return "open"
    return "partly_paid"


def status_tables(rules: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """The translation tables: the defaults with the ``status`` rules section laid over them (per table, per
    value; the section may also be passed on its own). Values are compared case-insensitively. Raises
    ``invalid_value`` naming an unknown table or a target state the table's system does not have."""
    section = dict(rules or {})
    if isinstance(section.get("status"), Mapping):
        section = dict(section["status"])
    tables = {name: dict(table) for name, table in DEFAULT_TABLES.items()}
    for name, overrides in section.items():
        if name not in tables:
            raise TargetValidationError(f"Unknown status table {name!r}; expected one of {', '.join(tables)}.",
                                        system="Mapping", code="invalid_value", payload={"table": name})
        for source, target in dict(overrides or {}).items():
            target = str(target).strip().lower()
            if target not in TARGET_STATES[name]:
                raise TargetValidationError(
                    f"Status table {name}: {source!r} -> {target!r} is not one of "
                    f"{', '.join(TARGET_STATES[name])}.", system="Mapping", code="invalid_value",
                    payload={"table": name, "value": str(source)})
            tables[name][str(source).strip().lower()] = target
    return tables


def translate_status(value: str, table: str, rules: Mapping[str, Any] | None = None) -> str:
    """``value`` through status table ``table`` (e.g. ``"ax_to_kashflow"``), tenant overrides included."""
    tables = status_tables(rules)
    if table not in tables:
        raise TargetValidationError(f"Unknown status table {table!r}.", system="Mapping", code="invalid_value",
                                    payload={"table": table})
    mapping = tables[table]
    key = str(value or "").strip().lower()
    found = mapping.get(key) or mapping.get(FALLBACK)
    if not found:
        raise TargetValidationError(f"Status {value!r} is not mapped in status table {table}; map it in "
                                    "status.", system="Mapping", code="mapping_missing",
                                    payload={"table": table, "value": str(value)})
    return found
