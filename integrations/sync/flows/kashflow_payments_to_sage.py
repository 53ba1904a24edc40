"""Kashflow customer payments -> Sage 100 A/R cash receipts applied to their invoices (AR_CashReceipts_bus).

Change detection: the payment lines of Kashflow invoices (see :mod:`integrations.sync.flows.kashflow_payment_source`:
one record per invoice holding every payment on it; payment lines Ledgerbridge wrote itself are left out).

Which Sage invoice: the A/R invoice ``kashflow_invoices_to_sage`` created for the Kashflow invoice — its binding
(``DD-CUSTNO-InvoiceNo``), else, over the Sage connection's ODBC, the open invoice with the Kashflow number as
InvoiceNo and that flow's comment (``Kashflow invoice <number>``). Until it exists the payment waits: the write
answers a retryable error, the record stays in the outbox and the next run sends it again.

What a payment becomes: one cash receipt per Kashflow payment line, applied in full to the invoice:

* ``CheckNo`` ``KF<payment line Id>`` — the natural key in Sage (a check number is unique per customer), which also
  tells the paid-status flow that this receipt came from Kashflow; payments Sage already holds under that check
  number for the invoice (read over ODBC when the connection has it) are not sent again;
* ``PaymentType`` from the ``payment_methods`` lookup (Kashflow payment method Id or Name -> Sage PaymentType,
  default ``default_payment_type``), ``BankCode`` from ``bank_accounts`` (Kashflow bank account Id -> Sage bank
  code, default ``default_bank_code``);
* ``DepositDate`` the payment date, ``PostingAmt`` and the line's ``AmountPosted`` the amount; DepositNo is
  assigned by Sage (one deposit per receipt).

Reads: one ODBC connection per run (opened on first use, closed when the run moves its cursor), and per batch,
not per record: the batch's invoices from their bindings (one query), the unbound ones from AR_OpenInvoice, and the
check numbers Sage already holds from AR_CashReceiptsHistory, each in a few ``IN`` queries
(:meth:`SageOdbcReader.read_in`). The row conversions are in :mod:`integrations.sage100.adapter`.

Writes: every payment line is its own agent operation with its own idempotency key, ``lb-`` + a key derived from
(tenant, flow, Kashflow payment line) — independent of the record's version, so when a second payment arrives on
the invoice, the first one travels again under its old key and the agent answers it from its applied keys instead
of writing it twice. A record is posted when all its operations are applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from integrations.core.errors import ConnectorError, TransientError
from integrations.sage100.adapter import cash_receipt, receipt_operation
from integrations.sage100.agent.operations import MAX_KEY_LENGTH
from integrations.sage100.odbc import SageOdbcReader
from integrations.sync.connectors import sage_agent_client_for
from integrations.sync.engine import idempotency_key
from integrations.sync.flows.kashflow_payment_source import KashflowPaymentSource
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Scan, Transformed
from mapping.defaults import SAGE_DEFAULT_BANK_CODE, SAGE_DEFAULT_PAYMENT_TYPE

log = logging.getLogger("ledgerbridge.sync.flows")

INVOICE_NO_LENGTH = 7
Invoice = tuple[str, str, str]  # (ARDivisionNo, CustomerNo, InvoiceNo) of an A/R invoice


def default_rules() -> dict[str, Any]:
    """``payment_methods``: Kashflow payment method Id or Name -> Sage PaymentType; ``bank_accounts``: Kashflow
    bank account Id -> Sage BankCode; the defaults for anything those lookups do not name."""
    return {"payment_methods": {}, "bank_accounts": {}, "default_payment_type": SAGE_DEFAULT_PAYMENT_TYPE,
            "default_bank_code": SAGE_DEFAULT_BANK_CODE, "routing": []}


class KashflowPaymentsToSage(KashflowPaymentSource):
    def open(self) -> None:
        super().open()
        self.agent = sage_agent_client_for(self.flow.target, gate=self.target_gate)
        self._method_names: dict[str, str] | None = None
        # One ODBC reader for the run, opened on first use. Reads happen in send(), which runs on the sender thread
        # (and on the main thread while in-flight writes are recovered): the lock keeps them one at a time.
        self._sage: SageOdbcReader | None = None
        self._sage_lock = threading.Lock()

    def next_cursor(self, cursor: dict[str, Any], scan: Scan) -> dict[str, Any]:
        """The pipeline's last call of a completed run (every send is over): the run's reader is closed here.
        A run that stops early leaves it to be closed with the flow instance."""
        try:
            return super().next_cursor(cursor, scan)
        finally:
            self.close_reader()

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        payments = self.payments_for(payload, record)
        number = str(payload["invoice_number"])
        methods = {str(k): str(v) for k, v in (rules.get("payment_methods") or {}).items()}
        banks = {str(k): str(v) for k, v in (rules.get("bank_accounts") or {}).items()}
        receipts = []
        for payment in payments:
            payment_type = (methods.get(payment.method) or methods.get(self.method_name(payment.method))
                            or str(rules.get("default_payment_type") or SAGE_DEFAULT_PAYMENT_TYPE)).upper()
            bank_code = (banks.get(payment.bank_account) or str(rules.get("default_bank_code")
                                                                 or SAGE_DEFAULT_BANK_CODE)).upper()
            receipts.append(cash_receipt(payment, key=self.operation_key(number, payment.source_id),
                                         payment_type=payment_type, bank_code=bank_code))
        return Transformed(document={"invoice_number": number, "customer_code": payload.get("customer_code") or "",
                                     "receipts": receipts})

    def operation_key(self, invoice_number: str, payment_id: str) -> str:
        """One agent key per Kashflow payment line, whatever else changes on its invoice."""
        return f"lb-{idempotency_key(self.flow, self.entity, f'{invoice_number}/{payment_id}', '1')}"[:MAX_KEY_LENGTH]

    def method_name(self, method_id: str) -> str:
        if self._method_names is None:
            try:
                methods = self.target_gate.call(lambda: self.kashflow.list_payment_methods("invoice"),
                                                metered=False)
            except ConnectorError:
                methods = []
            self._method_names = {str(m.get("Id")): str(m.get("Name") or "") for m in methods or []}
        return self._method_names.get(str(method_id), "")

    # ------------------------------------------------------------------ Sage reads, a batch at a time

    def sage_invoices(self, numbers: Sequence[str]) -> dict[str, Invoice]:
        """Kashflow invoice number -> the A/R invoice ``kashflow_invoices_to_sage`` made from it, for those Sage
        has: bindings first (one query), then AR_OpenInvoice over ODBC (InvoiceNo in a few IN lists)."""
        wanted = list(dict.fromkeys(str(n) for n in numbers))
        found: dict[str, Invoice] = {}
        bound = (Binding.objects.filter(connection=self.flow.target, source_connection=self.flow.source,
                                        entity="sales_invoice", source_id__in=wanted)
                 .values_list("source_id", "external_id"))
        for number, external_id in bound:
            if external_id and external_id.count("-") >= 2:
                division, rest = external_id.split("-", 1)
                customer, invoice_no = rest.rsplit("-", 1)
                found[number] = (division, customer, invoice_no)
        unbound = {n.zfill(INVOICE_NO_LENGTH): n for n in wanted
                   if n not in found and n.isdigit() and len(n) <= INVOICE_NO_LENGTH}
        reader = self._reader()
        if unbound and reader is not None:
            rows = reader.read_in("AR_OpenInvoice", ["ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType",
                                                     "Comment"], "InvoiceNo", list(unbound))
            for row in rows:
                number = unbound.get(str(row.get("InvoiceNo") or ""))
                if (number and number not in found and row.get("InvoiceType") == "IN"
                        and str(row.get("Comment") or "") == f"Kashflow invoice {number}"):
                    found[number] = (str(row["ARDivisionNo"]), str(row["CustomerNo"]), str(row["InvoiceNo"]))
        return found

    def held_checks(self, checks: Sequence[str]) -> set[tuple[str, str, str, str]]:
        """(ARDivisionNo, CustomerNo, InvoiceNo, CHECKNO) of the receipts Sage already holds under these check
        numbers (CheckNo in a few IN lists); empty without ODBC."""
        reader = self._reader()
        if reader is None or not checks:
            return set()
        values = list(dict.fromkeys([*checks, *(c.upper() for c in checks)]))
        rows = reader.read_in("AR_CashReceiptsHistory", ["ARDivisionNo", "CustomerNo", "InvoiceNo", "CheckNo"],
                              "CheckNo", values)
        return {(str(r.get("ARDivisionNo") or ""), str(r.get("CustomerNo") or ""), str(r.get("InvoiceNo") or ""),
                 str(r.get("CheckNo") or "").upper()) for r in rows}

    def _reader(self) -> SageOdbcReader | None:
        """The run's reader (None without ODBC settings: bindings alone then find the invoices)."""
        if self._sage is None:
            settings = self.flow.target.settings or {}
            if not (settings.get("odbc") or settings.get("dsn")):
                return None
            self._sage = SageOdbcReader.from_settings(settings)
        return self._sage

    def close_reader(self) -> None:
        with self._sage_lock:
            if self._sage is not None:
                self._sage.close()
                self._sage = None

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        with self._sage_lock:
            invoices = self.sage_invoices([d["invoice_number"] for d in documents])
            held = self.held_checks([r["check"] for d in documents if d["invoice_number"] in invoices
                                     for r in d["receipts"]])
        outcomes: list[str | ConnectorError | None] = []
        operations: list[dict[str, Any]] = []
        owners: list[int] = []
        for index, document in enumerate(documents):
            number = document["invoice_number"]
            invoice = invoices.get(number)
            if invoice is None:
                outcomes.append(TransientError(
                    f"Kashflow invoice {number} ({document.get('customer_code') or ''}) is not in Sage 100 yet; its "
                    "payment waits until kashflow_invoices_to_sage has posted it.", system="Ledgerbridge",
                    code="awaiting_invoice"))
                continue
            outcomes.append(None)
            for receipt in document["receipts"]:
                if (*invoice, receipt["check"].upper()) in held:
                    continue  # Sage holds this check for the invoice already: not sent again
                operations.append(receipt_operation(invoice, receipt))
                owners.append(index)
        results = self.agent.apply(operations) if operations else []
        errors: dict[int, ConnectorError] = {}
        for owner, result in zip(owners, results, strict=True):
            error = result.error()
            if error is not None and result.code != "duplicate" and owner not in errors:
                errors[owner] = error  # "duplicate": Sage already has that check for the customer
        out: list[str | ConnectorError] = []
        for index, document in enumerate(documents):
            outcome = outcomes[index]
            if outcome is not None:
                out.append(outcome)
            elif index in errors:
                out.append(errors[index])
            else:
                out.append(target_id(document))
        return out

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        receipts = document.get("receipts") or []
        for receipt in receipts:
            result = self.agent.applied(receipt["key"])
            if result is None or not result.ok:
                return None
        return target_id(document) if receipts else None


def target_id(document: dict[str, Any]) -> str:
    """``<Kashflow invoice>:KF..,KF..``: the invoice and the check numbers of its receipts in Sage."""
    return f"{document['invoice_number']}:{','.join(r['check'] for r in document['receipts'])}"[:200]

