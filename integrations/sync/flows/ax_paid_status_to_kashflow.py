"""Paid status, Dynamics AX -> Kashflow: an invoice settled in AX gets the settled amount as a payment in
Kashflow. (The other direction, paid in Kashflow -> settled in AX, is ``kashflow_payments_to_ax``.)

Change detection: in AX an invoice is paid when it is *settled* (reference §8): settlement raises the invoice's
CUSTTRANS.SETTLEAMOUNTCUR (and writes CUSTSETTLEMENT, reduces CUSTTRANSOPEN), which stamps the CUSTTRANS row.
So the flow polls CUSTTRANS over ODBC (:meth:`AxSqlReader.changes`, keyset cursor on (MODIFIEDDATETIME, RECID)
with a look-back window) and keeps invoice transactions with something settled. Each is followed to its
free-text invoice (CUSTINVOICETABLE) and from there to the Kashflow invoice: the binding
``kashflow_invoices_to_ax`` made (RecId -> Kashflow number), else a numeric CustomerRef (checked against the
Kashflow invoice's customer). Invoices AX did not get from Kashflow are not candidates. The record is the
invoice with its settlements (CUSTSETTLEMENT joined to the paying transaction, as canonical Payments); its digest
is their hash, so a re-read row or a change the flow does not carry is skipped. The cursor only moves when every
record of the scan is settled.

What is carried: settlements whose payment came from Kashflow (PaymReference ``KF<invoice>-<payment>``, written
by ``kashflow_payments_to_ax``) are left out — Kashflow has those payments already. Each remaining settlement
becomes one Kashflow payment on the invoice, through a bulk payment (``POST /invoices/bulk/payments``: adds a
payment line without rewriting the invoice) whose Comment — and so the payment line's Note — is
``Ledgerbridge: AX settlement <recid> of <invoice> (<voucher>)``. That Note is the natural key: before writing,
the Kashflow invoice is read and a settlement whose Note is there is not written again (a repeat after a crash,
a second run), and the payment flows never carry those lines back. The amount is capped at what Kashflow
still shows due (it refuses overpayment); an invoice Kashflow shows paid is skipped.

Mapping: ``bank_account_id`` (the Kashflow bank account the money is recorded in; empty = Kashflow's default
account) and ``payment_methods`` (AX method of payment -> Kashflow payment method id, ``default``; empty = the
bank account's default invoice payment type).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from integrations.core.canonical import Payment, content_hash
from integrations.core.errors import AUTH, CONFIGURATION, ConnectorError, NotFoundError, TargetValidationError
from integrations.dynamics_ax.sql import AxSqlReader, ChangeCursor
from integrations.sync.connectors import kashflow_client_for
from integrations.sync.flows.kashflow_payment_source import LEDGERBRIDGE_NOTE
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

__all__ = ["AxPaidStatusToKashflow", "default_rules", "settlement_note"]

PAGE_SIZE = 500
OVERLAP_SECONDS = 30
INVOICE_ENTITY = "sales_invoice"  # what kashflow_invoices_to_ax binds (AX RecId <- Kashflow number)
# PaymReference of a payment kashflow_payments_to_ax wrote (see payment_reference there).
_FROM_KASHFLOW = re.compile(r"^KF(\d+-\d+|[0-9A-F]{18})$")
COMMENT_LENGTH = 255
CENT = Decimal("0.01")


def default_rules() -> dict[str, Any]:
    """``bank_account_id``: Kashflow bank account id (empty: Kashflow's default account); ``payment_methods``:
    AX method of payment -> Kashflow payment method id (``default``; empty: the account's default)."""
    return {"bank_account_id": "", "payment_methods": {"default": ""}, "routing": []}


def settlement_note(payment: Payment, invoice_id: str) -> str:
    """The Note of the Kashflow payment line for one AX settlement: the natural key of that payment."""
    return f"{LEDGERBRIDGE_NOTE} AX settlement {payment.source_id} of {invoice_id} ({payment.reference})"[
        :COMMENT_LENGTH]


def from_kashflow(payment_reference: str) -> bool:
    return bool(_FROM_KASHFLOW.match((payment_reference or "").strip()))


class AxPaidStatusToKashflow(RecordFlow):
    """Options: ``page_size`` (rows per change poll, default 500), ``overlap_seconds`` (look-back, default 30)."""

    entity = "invoice_payment_status"
    stream = "custtrans_settlement"
    batch_size = 20  # Kashflow has no batch API: each invoice is its own call(s); results per invoice
    # A new settlement of an invoice already carried is a change to write (its new settlements only: the Notes
    # already in Kashflow are skipped).
    resend_changes = True

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.page_size = max(1, min(5000, int(self.options.get("page_size", PAGE_SIZE))))
        self.overlap = timedelta(seconds=float(self.options.get("overlap_seconds", OVERLAP_SECONDS)))
        self._next: dict[str, Any] | None = None

    def open(self) -> None:
        self.reader = AxSqlReader.from_settings(self.flow.source.settings or {})
        self.kashflow = kashflow_client_for(self.flow.target, gate=self.target_gate)  # sender thread
        self.lookup = kashflow_client_for(self.flow.target, gate=self.target_gate)  # main thread (transform)

    # ------------------------------------------------------------------ change detection

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        position = ChangeCursor.from_json(json.dumps(cursor["custtrans"]) if cursor.get("custtrans") else None)
        offered: dict[str, str] = {}
        try:
            self.source_gate.call(self.reader.open, metered=False)
            while True:
                batch = self.source_gate.call(lambda p=position: self.reader.changes(
                    "CUSTTRANS", p, limit=self.page_size, overlap=self.overlap,
                    columns=["INVOICE", "AMOUNTCUR", "SETTLEAMOUNTCUR"]), metered=False)
                invoices = {str(row["INVOICE"]): int(row["RECID"]) for row in batch.rows
                            if row["INVOICE"] and Decimal(str(row["AMOUNTCUR"] or 0)) > 0
                            and Decimal(str(row["SETTLEAMOUNTCUR"] or 0)) != 0}
                page = [c for c in self._candidates(invoices) if offered.get(c.source_id) != c.digest]
                offered.update({c.source_id: c.digest for c in page})
                position = batch.cursor
                if page:
                    yield page
                if not batch.more:
                    break
        finally:
            self.reader.close()
        self._next = {"custtrans": json.loads(position.to_json())}
        scan.complete = True

    def _candidates(self, invoices: dict[str, int]) -> list[Candidate]:
        """The page's settled invoices that came from Kashflow, read in full (three queries per page)."""
        if not invoices:
            return []
        headers = self.source_gate.call(lambda: self.reader.invoice_headers(invoice_ids=list(invoices)),
                                        metered=False)
        bound = dict(Binding.objects.filter(
            connection=self.flow.source, entity=INVOICE_ENTITY, source_connection=self.flow.target,
            external_id__in=[str(h["RECID"]) for h in headers]).values_list("external_id", "source_id"))
        numbers = {}
        for header in headers:
            number = bound.get(str(header["RECID"])) or (
                str(header["CUSTOMERREF"]).strip() if str(header["CUSTOMERREF"] or "").strip().isdigit() else "")
            if number:
                numbers[str(header["INVOICEID"])] = (number, header, str(header["RECID"]) in bound)
        if not numbers:
            return []
        settlements = self.source_gate.call(lambda: self.reader.invoice_settlements(list(numbers)), metered=False)
        out = []
        for invoice_id, (number, header, is_bound) in sorted(numbers.items()):
            rows = [row for row in settlements if row["INVOICE"] == invoice_id]
            payments = [Payment(
                source_system="dynamics_ax", source_id=str(row["SETTLEMENTRECID"]), kind="customer",
                party_code=str(row["ACCOUNTNUM"]), invoice_number=number, payment_date=row["TRANSDATE"],
                amount=row["SETTLEAMOUNTCUR"], currency=str(row["CURRENCYCODE"]), method=str(row["PAYMMODE"] or ""),
                reference=str(row["OFFSETTRANSVOUCHER"] or ""),
            ).to_dict() for row in rows if not from_kashflow(str(row["PAYMREFERENCE"] or ""))]
            payload = {
                "source_id": invoice_id, "invoice_id": invoice_id, "kashflow_number": number,
                "customer_account": str(header["INVOICEACCOUNT"] or header["ORDERACCOUNT"]),
                "currency": str(header["CURRENCYCODE"]), "bound": is_bound,
                "settled_from_kashflow": str(sum((r["SETTLEAMOUNTCUR"] for r in rows
                                                  if from_kashflow(str(r["PAYMREFERENCE"] or ""))), Decimal(0))),
                "settlements": payments,
            }
            out.append(Candidate(source_id=invoice_id, digest=content_hash(payload)[:32],
                                 number=invoices[invoice_id], summary=payload))
        return out

    def next_cursor(self, cursor: dict[str, Any], scan: Scan) -> dict[str, Any]:
        if self._next is None or scan.unsettled_numbers:
            return cursor
        return {**cursor, **self._next}

    def load(self, candidate: Candidate) -> Any:
        return candidate.summary  # read in full by the change poll

    def canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("invoice_id"):
            raise TargetValidationError("The AX invoice transaction has no invoice id.", system="Dynamics AX",
                                        code="unreadable")
        return raw

    def unwanted(self, payload: dict[str, Any]) -> str:
        return "" if payload.get("settlements") else "Settled in AX only by payments that came from Kashflow."

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        number, invoice_id = str(payload["kashflow_number"]), str(payload["invoice_id"])
        try:
            invoice = self.target_gate.call(lambda: self.lookup.get_invoice(number), metered=False)
        except NotFoundError:
            if payload.get("bound"):
                raise TargetValidationError(
                    f"Kashflow invoice {number} (posted to AX as {invoice_id}) no longer exists in Kashflow.",
                    system="Kashflow", code="invalid_value", payload={"invoice": number}) from None
            return Transformed(skip=f"AX invoice {invoice_id} (CustomerRef {number}) is not a Kashflow invoice.")
        if not payload.get("bound") and str(invoice.get("CustomerCode") or "").upper() != str(
                payload.get("customer_account") or "").upper():
            return Transformed(skip=f"AX invoice {invoice_id} has CustomerRef {number}, but Kashflow invoice {number} "
                                    f"belongs to another customer ({invoice.get('CustomerCode')}).")
        if str(invoice.get("Currency", {}).get("Code") or "").upper() != str(payload.get("currency")).upper():
            raise TargetValidationError(
                f"AX invoice {invoice_id} is in {payload.get('currency')}, Kashflow invoice {number} in "
                f"{invoice.get('Currency', {}).get('Code')}; the settled amount cannot be carried.",
                system="Mapping", code="invalid_value", payload={"invoice": number})
        notes = {str(line.get("Note") or "") for line in invoice.get("PaymentLines") or []}
        due = Decimal(str(invoice.get("DueAmount") or 0))
        warnings: list[str] = []
        payments = []
        for item in payload["settlements"]:
            payment = Payment.from_dict(item)
            note = settlement_note(payment, invoice_id)
            if note in notes or payment.amount <= 0:
                continue
            amount = min(payment.amount, due).quantize(CENT)
            if amount <= 0:
                warnings.append(f"AX settlement {payment.source_id} ({payment.amount}) not carried: Kashflow shows "
                                f"invoice {number} paid already.")
                continue
            if amount < payment.amount:
                warnings.append(f"AX settlement {payment.source_id} of {payment.amount} carried as {amount}: that is "
                                f"all Kashflow still shows due on invoice {number}.")
            due -= amount
            body: dict[str, Any] = {
                "Date": payment.payment_date.isoformat(), "Comment": note,
                "PaymentItems": [{"ObjectNumber": int(number), "Amount": str(amount),
                                  "PaidDate": payment.payment_date.isoformat()}],
            }
            account = str(rules.get("bank_account_id") or "")
            if account:
                body["AccountId"] = int(account)
            method = self._method(rules, payment.method)
            if method:
                body["Method"] = int(method)
            payments.append(body)
        if not payments:
            reason = (f"Kashflow invoice {number} already shows every AX settlement of {invoice_id}."
                      if not warnings else " ".join(warnings))
            return Transformed(skip=reason)
        return Transformed(document={"KashflowInvoice": number, "AxInvoice": invoice_id, "BulkPayments": payments},
                           warnings=warnings)

    @staticmethod
    def _method(rules: dict[str, Any], paym_mode: str) -> str:
        table = {str(k): str(v) for k, v in (rules.get("payment_methods") or {}).items()}
        method = table.get(paym_mode, table.get("default", ""))
        if method and not method.isdigit():
            raise TargetValidationError(f"Kashflow payment method {method!r} (for AX method of payment {paym_mode!r}) "
                                        "must be a Kashflow payment method id.", system="Mapping",
                                        code="invalid_value", payload={"payment_methods": paym_mode})
        return method

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        out: list[str | ConnectorError] = []
        for document in documents:
            try:
                out.append(self.write(document))
            except ConnectorError as error:
                if error.kind in {AUTH, CONFIGURATION}:
                    raise
                out.append(error)
        return out

    def write(self, document: dict[str, Any]) -> str:
        """Read the invoice, then add each settlement whose Note it does not hold yet. Safe to repeat."""
        number = document["KashflowInvoice"]
        invoice = self.kashflow.get_invoice(number)
        have = {str(line.get("Note") or ""): line for line in invoice.get("PaymentLines") or []}
        created = []
        for body in document["BulkPayments"]:
            line = have.get(body["Comment"])
            if line is not None:
                created.append(str(line.get("BulkPaymentNumber") or line.get("Id")))
                continue
            result = self.kashflow.create_bulk_payment("invoices", body)
            created.append(str((result or {}).get("Number") or ""))
        return f"{number}:" + ",".join(created)

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        number = document.get("KashflowInvoice")
        if not number:
            return None
        try:
            invoice = self.kashflow.get_invoice(number)
        except NotFoundError:
            return None
        notes = {str(line.get("Note") or ""): line for line in invoice.get("PaymentLines") or []}
        found = [notes[body["Comment"]] for body in document.get("BulkPayments") or [] if body["Comment"] in notes]
        if len(found) != len(document.get("BulkPayments") or []):
            return None
        return f"{number}:" + ",".join(str(line.get("BulkPaymentNumber") or line.get("Id")) for line in found)
