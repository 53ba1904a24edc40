"""Sage 100 paid status -> Kashflow: an invoice Sage has settled gets its payment in Kashflow.

When a customer pays in Sage (a cash receipt applied to an A/R invoice), Kashflow still shows the invoice unpaid.
This flow closes the gap: an A/R invoice whose open balance Sage brought to zero, and that Kashflow still shows
as (part) unpaid, gets a payment line in Kashflow for what Kashflow has outstanding.

Change detection: ``AR_OpenInvoice`` polled over ODBC on ``DateUpdated``/``TimeUpdated`` (applying a receipt
rewrites the open invoice's ``Balance`` and stamps it; see
:class:`~integrations.sync.flows.sage_master_to_kashflow.SageTableSource`). Only invoices (type ``IN``) at a zero
balance are candidates; their digest is the invoice key alone, so an invoice is looked at once when it is
settled, however often the row is re-read.

Which Kashflow invoice: the binding of ``kashflow_invoices_to_sage`` (the Sage invoice it created from a Kashflow
invoice), else the ``Comment`` that flow writes on every invoice (``Kashflow invoice <number>``). Invoices raised
in Sage itself have no Kashflow invoice and are skipped.

Skipped, with the reason: invoices Kashflow already shows paid, and invoices Sage settled only with receipts that
came from Kashflow (check numbers ``KF...`` written by ``kashflow_payments_to_sage``): Kashflow has those payments.

Writes: a bulk payment (``POST /invoices/bulk/payments``) adds the payment line without rewriting the invoice. Its
comment, which Kashflow keeps as the line's note, starts with ``Ledgerbridge:`` (so ``kashflow_payments_to_sage``
never carries it back to Sage) and ends with a marker made from the record's idempotency key, and
the invoice's payment lines are read before writing: a line already carrying the marker means the payment is in
Kashflow (a re-run, a replay or an answer that was lost) and nothing is written. The amount is Kashflow's own
``DueAmount``, so a payment never takes the invoice above its total. Bank account (rule ``bank_account``: a
Kashflow bank account Code or Id, default Kashflow's default account) and payment method (rule
``payment_methods``: Sage PaymentType -> Kashflow invoice payment method Id or Name, default the bank account's
default) come from the mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.sage100.adapter import from_kashflow, iso_date, kashflow_invoice_number, money, settled_invoice
from integrations.sync.flows.kashflow_payment_source import LEDGERBRIDGE_NOTE
from integrations.sync.flows.sage_master_to_kashflow import SageTableSource
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Candidate, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

ZERO = Decimal(0)


def default_rules() -> dict[str, Any]:
    """``bank_account``: Kashflow bank account Code or Id (default: Kashflow's default account);
    ``payment_methods``: Sage PaymentType -> Kashflow invoice payment method Id or Name; ``routing``: unused."""
    return {"bank_account": "", "payment_methods": {}, "routing": []}


class SagePaidStatusToKashflow(SageTableSource):
    """Options: ``page_size``, ``lookback_minutes``."""

    entity = "invoice_payment"
    stream = "ar_openinvoice"
    table = "AR_OpenInvoice"
    columns = ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType", "InvoiceDate", "Balance", "Comment",
               "CustomerPONo")

    def open(self) -> None:
        super().open()
        self._banks: list[dict[str, Any]] | None = None
        self._methods: list[dict[str, Any]] | None = None

    # ------------------------------------------------------------------ change detection

    def candidates_for(self, rows: list[dict[str, Any]]) -> list[Candidate]:
        page = []
        for row in rows:
            payload = settled_invoice(row)
            if payload is None:
                continue  # still open (or a credit memo): nothing to carry yet
            key = payload["source_id"]
            page.append(self.candidate(key, payload, {"invoice": key, "balance": "0"}))
        return page

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        key = payload["source_id"]
        number = self.kashflow_number(key, payload.get("comment") or "")
        if not number:
            return Transformed(skip=f"Sage A/R invoice {key} did not come from Kashflow.")
        try:
            invoice = self.target_gate.call(lambda: self.lookup.get_invoice(number), metered=False)
        except NotFoundError:
            return Transformed(skip=f"Kashflow has no invoice {number} (Sage A/R invoice {key}) any more.")
        due = money(invoice.get("DueAmount"))
        if due <= ZERO or str(invoice.get("Status") or "") == "Paid":
            return Transformed(skip=f"Kashflow already shows invoice {number} paid.")
        receipts = self.receipts(payload)
        own = [r for r in receipts if not from_kashflow(r)]
        if receipts and not own:
            return Transformed(skip=f"Sage settled A/R invoice {key} with payments that came from Kashflow.")
        latest = max(own, key=lambda r: str(r.get("DepositDate") or ""), default={})
        paid_on = iso_date(latest.get("DepositDate")) or payload["settled_at"][:10] or date.today().isoformat()
        account = self.bank_account(rules)
        document: dict[str, Any] = {
            "invoice": number, "amount": str(due), "date": paid_on, "account_id": account["Id"],
            "comment": (f"{LEDGERBRIDGE_NOTE} paid in Sage 100 (A/R invoice {key}"
                        + (f", check {latest.get('CheckNo')}" if latest.get("CheckNo") else "") + ")"
                        )[:170] + f" {marker(record)}",
        }
        method = self.payment_method(str(latest.get("PaymentType") or ""), rules)
        if method:
            document["method"] = method
        return Transformed(document=document)

    def kashflow_number(self, key: str, comment: str) -> str:
        """The Kashflow invoice a Sage A/R invoice came from: the invoice flow's binding, else its comment."""
        bound = (Binding.objects.filter(connection=self.flow.source, source_connection=self.flow.target,
                                        entity="sales_invoice", external_id=key)
                 .values_list("source_id", flat=True).first())
        if bound:
            return str(bound)
        return kashflow_invoice_number(comment)

    def receipts(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        return self.source_gate.call(lambda: self.reader.read(
            "AR_CashReceiptsHistory", ["DepositDate", "CheckNo", "PaymentType", "CashAmountApplied", "InvoiceNo"],
            ARDivisionNo=payload["division"], CustomerNo=payload["customer"], InvoiceNo=payload["invoice_no"]),
            metered=False)

    def bank_account(self, rules: dict[str, Any]) -> dict[str, Any]:
        if self._banks is None:
            self._banks = self.target_gate.call(lambda: list(self.lookup.bank_accounts.list()), metered=False)
        wanted = str(rules.get("bank_account") or "").strip()
        if wanted:
            found = next((b for b in self._banks if wanted in (str(b.get("Code")), str(b.get("Id")))), None)
            if found is None:
                raise TargetValidationError(f"Kashflow has no bank account {wanted} (the bank_account rule).",
                                            system="Mapping", code="mapping_missing", payload={"bank_account": wanted})
            return found
        found = next((b for b in self._banks if b.get("IsDefaultAccount")), None) or next(iter(self._banks), None)
        if found is None:
            raise TargetValidationError("Kashflow has no bank account to record the payment in.", system="Mapping",
                                        code="mapping_missing")
        return found

    def payment_method(self, payment_type: str, rules: dict[str, Any]) -> int | None:
        mapped = str((rules.get("payment_methods") or {}).get(payment_type) or "").strip()
        if not mapped:
            return None
        if self._methods is None:
            self._methods = self.target_gate.call(lambda: self.lookup.list_payment_methods("invoice"), metered=False)
        found = next((m for m in self._methods if mapped in (str(m.get("Id")), str(m.get("Name")))), None)
        if found is None:
            raise TargetValidationError(
                f"payment_methods maps Sage payment type {payment_type} to {mapped!r}, which is not a Kashflow invoice "
                "payment method.", system="Mapping", code="mapping_missing", payload={"payment_type": payment_type})
        return int(found["Id"])

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        return [self.write(document) for document in documents]

    def write(self, document: dict[str, Any]) -> str:
        number = document["invoice"]
        invoice = self.kashflow.get_invoice(number)
        existing = _line_with(invoice, document["comment"])
        if existing:
            return existing
        due = money(invoice.get("DueAmount"))
        if due <= ZERO:
            return f"{number}/paid"  # paid in Kashflow meanwhile: nothing left to record
        item = {"ObjectNumber": int(number), "Amount": float(min(due, Decimal(document["amount"]))),
                "PaidDate": document["date"]}
        body: dict[str, Any] = {"Date": document["date"], "AccountId": document["account_id"],
                                "Comment": document["comment"], "PaymentItems": [item]}
        if document.get("method"):
            body["Method"] = document["method"]
        created = self.kashflow.create_bulk_payment("invoices", body)
        return f"{number}/bulk/{created.get('Number', '')}"

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        if not document.get("invoice"):
            return None
        try:
            return _line_with(self.kashflow.get_invoice(document["invoice"]), document["comment"])
        except NotFoundError:
            return None


def marker(record: SyncRecord) -> str:
    return f"[lb:{record.idempotency_key[:16]}]"


def _line_with(invoice: dict[str, Any], comment: str) -> str | None:
    """The payment line that carries this write's marker (so it was written before), if any."""
    tag = comment.rsplit(" ", 1)[-1]
    for line in invoice.get("PaymentLines") or []:
        if tag and tag in str(line.get("Note") or ""):
            return f"{invoice.get('Number')}/payments/{line.get('Id')}"
    return None
