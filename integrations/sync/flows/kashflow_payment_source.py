"""The Kashflow side of the flows that carry Kashflow customer payments to an ERP (AX, Sage 100).

Kashflow keeps a customer payment as a line of its invoice (``PaymentLines[]``, only in the full invoice) and
has no list of payments and no modified-since filter. So the change detection is the invoices' (see
:mod:`integrations.sync.flows.kashflow_source`): invoices are listed by number, and an invoice whose listing
changed — its ``TotalPaidAmount``/``Status`` move with every payment — is read in full. Invoices with nothing
paid are ruled out from the listing, without being fetched.

One record per invoice: its payload is the invoice's identity plus every payment line on it (canonical
``Payment``s). A new payment on an invoice therefore makes a new version of the record (``resend_changes``);
the target side decides, by a natural key per payment line, which of the lines it does not hold yet. Payment
lines Ledgerbridge wrote itself (paid status carried *from* an ERP, see :data:`LEDGERBRIDGE_NOTE`) are never
carried back.

A flow subclasses :class:`KashflowPaymentSource` and adds the target side (``transform``, ``send``,
``find_existing``), reading the payments with :meth:`KashflowPaymentSource.payments_for`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.core.canonical import Payment
from integrations.core.errors import TargetValidationError
from integrations.kashflow.adapter import invoice_payments, payment_note
from integrations.sync.flows.kashflow_source import KashflowInvoiceSource
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate

# Payment lines Ledgerbridge adds to Kashflow (an invoice settled in the ERP) carry this at the start of their
# Note; the payment flows skip them, so a payment never travels back to the system it came from.
LEDGERBRIDGE_NOTE = "Ledgerbridge:"


class KashflowPaymentSource(KashflowInvoiceSource):
    """Customer payments on Kashflow invoices as the source of a record flow (options: ``batch_size``,
    ``full_sweep_minutes``, ``overlap_numbers``, ``page_size``, as for invoices)."""

    entity = "customer_payment"
    stream = "invoice_payments"
    list_path = "invoices"
    # A payment added to an invoice already carried is a change to send (its new lines only: the target side
    # filters by natural key).
    resend_changes = True

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.paid_only = False  # part-paid invoices carry payments too

    def unwanted_listed(self, candidate: Candidate) -> str:
        try:
            paid = Decimal(str(candidate.summary.get("TotalPaidAmount") or 0))
        except InvalidOperation:
            return ""
        return "" if paid > 0 else "Nothing paid on this invoice yet."

    def canonical(self, raw: Any) -> dict[str, Any]:
        payments = [p for p, line in zip(invoice_payments(raw), raw.get("PaymentLines") or [], strict=True)
                    if not payment_note(line).startswith(LEDGERBRIDGE_NOTE)]
        currency = raw.get("Currency") if isinstance(raw.get("Currency"), dict) else {}
        return {
            "invoice_number": str(raw.get("Number")),
            "customer_code": str(raw.get("CustomerCode") or ""),
            "currency": str(currency.get("Code") or "GBP").upper(),
            "payments": [payment.to_dict() for payment in payments],
        }

    def unwanted(self, payload: dict[str, Any]) -> str:
        return "" if payload.get("payments") else "No payment on this invoice came from Kashflow."

    def payments_for(self, payload: dict[str, Any], record: SyncRecord) -> list[Payment]:
        """The record's payments (read back from the stored payload)."""
        try:
            return [Payment.from_dict(item) for item in payload.get("payments") or []]
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise TargetValidationError(f"The stored payments of invoice {payload.get('invoice_number')} are not "
                                        f"valid payments ({error}).", system="Ledgerbridge",
                                        code="invalid_payload") from None
