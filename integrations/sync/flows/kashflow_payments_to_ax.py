"""Kashflow customer payments -> Dynamics AX customer payment journals that settle the AX invoice.

Change detection: :mod:`integrations.sync.flows.kashflow_payment_source` — one record per Kashflow invoice
with something paid, holding its payment lines; a new payment makes a new version of the record.

Each payment line becomes one line of a customer payment journal (``CustPaymJournalService.create``, journal
name ``payment_journal_name``, type CustPayment): a credit of the amount on the customer's AX account, offset on
the AX bank account the Kashflow bank account maps to (``bank_accounts``: Kashflow AccountId -> AX bank
account, ``default`` for the rest), with the method of payment the Kashflow method maps to
(``payment_methods``: Kashflow method id -> AX PaymMode, ``default``), and ``MarkedInvoice`` = the AX invoice
the Kashflow invoice became, so posting the journal settles it (CUSTSETTLEMENT, CUSTTRANSOPEN reduced).

Finding the AX invoice: the binding ``kashflow_invoices_to_ax`` made (the CUSTINVOICETABLE RecId), else the
free-text invoice whose CustomerRef is the Kashflow number for the same customer account. Until it is in AX and
posted (only a posted invoice has an invoice id and an open transaction), the payment *waits*: the record stays
pending in the outbox and every run tries again (a retryable outcome, not an inbox error). This is resolved when
the message is sent, not when it is transformed, so a waiting payment goes out as soon as the invoice arrives.

Natural key: every journal line carries ``PaymReference`` ``KF<invoice>-<payment id>``. Before a payment is
sent, LEDGERJOURNALTRANS is read (ODBC) for those references; lines AX already holds are not sent again (a
second run, a re-listed invoice, a new payment next to old ones), and :meth:`find_existing` resolves a lost answer
the same way. Each invoice's journal travels in its own AIF message (MessageId from the record), so one
waiting invoice never holds back another. Payment lines Ledgerbridge itself added to Kashflow (settled in AX,
``ax_paid_status_to_kashflow``) are not carried back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from integrations.core.canonical import Payment
from integrations.core.errors import (
    AUTH,
    CONFIGURATION,
    ConnectorError,
    DuplicateError,
    TargetValidationError,
    TransientError,
)
from integrations.dynamics_ax.adapter import message_id_for
from integrations.sync.connectors import ax_client_for
from integrations.sync.flows.kashflow_journals_to_ax import NAME_LENGTH, TXT_LENGTH, party_multi_account, reader_for
from integrations.sync.flows.kashflow_payment_source import KashflowPaymentSource
from integrations.sync.flows.kashflow_source import jsonable
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import AX_DEFAULT_BANK_ACCOUNT, AX_PAYMENT_JOURNAL_NAME

log = logging.getLogger("ledgerbridge.sync.flows")

__all__ = ["KashflowPaymentsToAx", "default_rules", "payment_reference"]

REFERENCE_LENGTH = 20  # LEDGERJOURNALTRANS.PAYMREFERENCE
PAYM_MODE_LENGTH = 10
INVOICE_ENTITY = "sales_invoice"  # what kashflow_invoices_to_ax binds


def default_rules() -> dict[str, Any]:
    """``payment_methods``: Kashflow payment method id -> AX method of payment (``default``: for the rest;
    empty = none); ``bank_accounts``: Kashflow bank account id -> AX bank account (``default``: for the rest);
    ``customer_accounts``: Kashflow customer code -> AX account (as for invoices); ``payment_journal_name``."""
    return {"payment_methods": {"default": ""}, "bank_accounts": {"default": AX_DEFAULT_BANK_ACCOUNT},
            "customer_accounts": {}, "payment_journal_name": AX_PAYMENT_JOURNAL_NAME, "routing": []}


def payment_reference(invoice_number: str, payment_id: str) -> str:
    """The AX PaymReference of a Kashflow payment line: ``KF<invoice>-<payment id>`` (or a digest of both when
    that would not fit the 20 characters), the natural key of the line in AX."""
    reference = f"KF{invoice_number}-{payment_id}"
    if len(reference) <= REFERENCE_LENGTH:
        return reference
    return "KF" + hashlib.sha256(f"{invoice_number}-{payment_id}".encode()).hexdigest()[:REFERENCE_LENGTH - 2].upper()


def _lookup(rules: Mapping[str, Any], name: str, key: str, what: str) -> str:
    table = {str(k): str(v) for k, v in (rules.get(name) or {}).items()}
    if key in table:
        return table[key]
    if "default" in table:
        return table["default"]
    raise TargetValidationError(f"No AX {what} is mapped for Kashflow {what} {key!r} and there is no default; map "
                                f"it in {name}.", system="Mapping", code="mapping_missing", payload={name: key})


def payment_line(payment: Payment, rules: Mapping[str, Any], *, customer_account: str, invoice_number: str
                 ) -> dict[str, Any]:
    """One LedgerJournalTrans of the customer payment journal (``MarkedInvoice`` is filled in when sent)."""
    bank = _lookup(rules, "bank_accounts", payment.bank_account, "bank account")
    mode = _lookup(rules, "payment_methods", payment.method, "payment method")
    if len(mode) > PAYM_MODE_LENGTH:
        raise TargetValidationError(f"AX method of payment {mode!r} (for Kashflow method {payment.method}) is longer "
                                    f"than {PAYM_MODE_LENGTH} characters.", system="Mapping", code="invalid_value",
                                    payload={"payment_methods": payment.method})
    if payment.amount <= 0:
        raise TargetValidationError(f"Kashflow payment {payment.source_id} on invoice {invoice_number} has amount "
                                    f"{payment.amount}; only receipts can settle an invoice.", system="Mapping",
                                    code="invalid_value")
    entry: dict[str, Any] = {
        "AccountType": "Cust",
        "CurrencyCode": payment.currency,
        "Txt": f"Kashflow payment {payment.source_id} invoice {invoice_number} {payment.reference}".strip()[
            :TXT_LENGTH],
        "AmountCurCredit": payment.amount,
        "PaymReference": payment_reference(invoice_number, payment.source_id),
    }
    if mode:
        entry["PaymMode"] = mode
    entry.update({
        "OffsetAccountType": "Bank",
        "TransDate": payment.payment_date,
        "DocumentDate": payment.payment_date,
        "LedgerDimension": party_multi_account(customer_account, what=f"AX customer account for {payment.party_code}"),
        "OffsetLedgerDimension": party_multi_account(bank, what="AX bank account"),
    })
    return entry


class KashflowPaymentsToAx(KashflowPaymentSource):
    def open(self) -> None:
        super().open()
        self.ax = ax_client_for(self.flow.target, gate=self.target_gate)
        self.lookup = reader_for(self.flow.target)  # main thread: transform's natural-key check
        self.reader = reader_for(self.flow.target)  # sender thread: invoice resolution, find_existing

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        payments = self.payments_for(payload, record)
        number = str(payload.get("invoice_number") or "")
        code = str(payload.get("customer_code") or "")
        account = str((rules.get("customer_accounts") or {}).get(code) or code)
        lines = [payment_line(p, rules, customer_account=account, invoice_number=number) for p in payments]
        held = self.target_gate.call(lambda: {row["PAYMREFERENCE"] for row in self.lookup.journal_lines(
            "PAYMREFERENCE", [line["PaymReference"] for line in lines])}, metered=False)
        new = [line for line in lines if line["PaymReference"] not in held]
        if not new:
            return Transformed(skip=f"Every Kashflow payment on invoice {number} is already in AX.")
        binding = (Binding.objects.filter(connection=self.flow.target, entity=INVOICE_ENTITY,
                                          source_connection=self.flow.source, source_id=number)
                   .values_list("external_id", flat=True).first())
        document = {
            "MessageKey": record.idempotency_key,
            "KashflowInvoice": number,
            "CustomerAccount": account,
            "InvoiceRecId": int(binding) if binding and binding.isdigit() else None,
            "Journal": {
                "JournalName": str(rules.get("payment_journal_name") or AX_PAYMENT_JOURNAL_NAME),
                "Name": f"Kashflow receipts invoice {number}"[:NAME_LENGTH],
                "LedgerJournalTrans": new,
            },
        }
        return Transformed(document=jsonable(document))

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        """Per invoice: resolve the AX invoice, then one create message (its own MessageId).

        What AX already holds is read for the whole batch up front (the journal lines by PaymReference, the
        invoice headers by RecId and CustomerRef: two reads, not two per payment). Messages go one after another
        on this thread, so what a message of the batch creates is added to ``held`` before the next one is
        checked (two versions of the same invoice's payments in one batch never post a line twice)."""
        held = {row["PAYMREFERENCE"]: row["JOURNALNUM"] for row in self.reader.journal_lines(
            "PAYMREFERENCE", [line["PaymReference"] for d in documents for line in d["Journal"]["LedgerJournalTrans"]])}
        headers = self.reader.invoice_headers(
            recids=sorted({int(d["InvoiceRecId"]) for d in documents if d.get("InvoiceRecId")}),
            customer_refs=sorted({str(d["KashflowInvoice"]) for d in documents}))
        out: list[str | ConnectorError] = []
        for document in documents:
            result = self._send_one(document, held, headers)
            if isinstance(result, str) and not result.startswith("MessageId:"):
                held.update({line["PaymReference"]: result for line in document["Journal"]["LedgerJournalTrans"]})
            out.append(result)
        return out

    def _send_one(self, document: dict[str, Any], held: dict[str, str],
                  headers: list[dict[str, Any]]) -> str | ConnectorError:
        lines = document["Journal"]["LedgerJournalTrans"]
        if all(line["PaymReference"] in held for line in lines):
            return held[lines[0]["PaymReference"]]
        try:
            invoice_id = self.ax_invoice(document, headers)
        except TransientError as error:
            return error
        journal = dict(document["Journal"])
        journal["LedgerJournalTrans"] = [{**line, "MarkedInvoice": invoice_id} for line in lines
                                         if line["PaymReference"] not in held]
        message_id = message_id_for(document["MessageKey"])
        try:
            return self.ax.create_customer_payment_journal(journal, message_id=message_id)
        except DuplicateError:
            found = self._journal_of(document)
            return found or f"MessageId:{message_id}"
        except ConnectorError as error:
            if error.kind in {AUTH, CONFIGURATION}:
                raise  # stops the run; nothing was written
            return error  # this invoice only: retried (transient) or into the inbox (refused)

    @staticmethod
    def ax_invoice(document: dict[str, Any], headers: list[dict[str, Any]]) -> str:
        """The posted AX invoice id of the document's Kashflow invoice among ``headers`` (CUSTINVOICETABLE rows
        read for the batch); TransientError while it is not there."""
        number, account = document["KashflowInvoice"], document["CustomerAccount"]
        rows = []
        if document.get("InvoiceRecId"):
            rows = [row for row in headers if int(row["RECID"]) == int(document["InvoiceRecId"])]
        if not rows:
            rows = [row for row in headers if str(row["CUSTOMERREF"]) == str(number)
                    and account in (row["ORDERACCOUNT"], row["INVOICEACCOUNT"])]
        if not rows:
            raise TransientError(f"Kashflow invoice {number} is not in AX yet; its payment waits for it (posted by "
                                 "kashflow_invoices_to_ax).", system="Ledgerbridge", code="awaiting_invoice")
        posted = [row for row in rows if int(row["POSTED"] or 0) and row["INVOICEID"]]
        if not posted:
            raise TransientError(f"The AX free-text invoice for Kashflow invoice {number} is not posted yet; its "
                                 "payment waits (only a posted invoice can be settled).", system="Ledgerbridge",
                                 code="awaiting_invoice")
        return str(posted[0]["INVOICEID"])

    def _journal_of(self, document: dict[str, Any]) -> str | None:
        references = [line["PaymReference"] for line in document["Journal"]["LedgerJournalTrans"]]
        rows = self.reader.journal_lines("PAYMREFERENCE", references)
        return rows[0]["JOURNALNUM"] if rows else None

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        if not (document.get("Journal") or {}).get("LedgerJournalTrans"):
            return None
        return self._journal_of(document)
