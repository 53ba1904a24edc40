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
  number (read over ODBC when the connection has it) are not sent again;
* ``PaymentType`` from the ``payment_methods`` lookup (Kashflow payment method Id or Name -> Sage PaymentType,
  default ``default_payment_type``), ``BankCode`` from ``bank_accounts`` (Kashflow bank account Id -> Sage bank
  code, default ``default_bank_code``);
* ``DepositDate`` the payment date, ``PostingAmt`` and the line's ``AmountPosted`` the amount; DepositNo is
  assigned by Sage (one deposit per receipt).

Writes: every payment line is its own agent operation with its own idempotency key, ``lb-`` + a key derived from
(tenant, flow, Kashflow payment line) — independent of the record's version, so when a second payment arrives on
the invoice, the first one travels again under its old key and the agent answers it from its applied keys instead
of writing it twice. A record is posted when all its operations are applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from integrations.core.errors import ConnectorError, TargetValidationError, TransientError
from integrations.sage100.agent.operations import MAX_KEY_LENGTH
from integrations.sync.connectors import sage_agent_client_for
from integrations.sync.engine import idempotency_key
from integrations.sync.flows.kashflow_payment_source import KashflowPaymentSource
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import SAGE_DEFAULT_BANK_CODE, SAGE_DEFAULT_PAYMENT_TYPE

log = logging.getLogger("ledgerbridge.sync.flows")

CHECK_PREFIX = "KF"  # CheckNo of a receipt that came from Kashflow (read by sage_paid_status_to_kashflow)
CHECK_LENGTH = 10
INVOICE_NO_LENGTH = 7
COMMENT_LENGTH = 30


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
            if len(bank_code) != 1:
                raise TargetValidationError(
                    f"Sage bank code {bank_code!r} (for Kashflow bank account {payment.bank_account}) must be one "
                    "character; fix bank_accounts.", system="Mapping", code="invalid_value",
                    payload={"bank_account": payment.bank_account})
            if payment.amount <= 0:
                raise TargetValidationError(f"Kashflow payment {payment.source_id} on invoice {number} has amount "
                                            f"{payment.amount}; Sage receipts must be positive.", system="Mapping",
                                            code="invalid_value", payload={"payment": payment.source_id})
            receipts.append({
                "key": self.operation_key(number, payment.source_id), "check": check_number(payment.source_id),
                "date": payment.payment_date.isoformat(), "amount": str(payment.amount),
                "payment_type": payment_type, "bank_code": bank_code,
                "comment": f"Kashflow payment {payment.source_id}"[:COMMENT_LENGTH],
            })
        receipts = self.not_in_sage(payload.get("customer_code") or "", number, receipts)
        if not receipts:
            return Transformed(skip=f"Sage 100 already holds every payment of Kashflow invoice {number}.")
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

    def not_in_sage(self, customer_code: str, number: str, receipts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The receipts whose check number Sage does not hold for the invoice yet (all, without ODBC)."""
        invoice = self.sage_invoice(number, customer_code, wait=False)
        reader = self._reader()
        if invoice is None or reader is None:
            return receipts
        division, customer, invoice_no = invoice
        with reader:
            rows = reader.read("AR_CashReceiptsHistory", ["CheckNo", "InvoiceNo"], ARDivisionNo=division,
                               CustomerNo=customer)
        held = {str(r["CheckNo"]).upper() for r in rows if str(r.get("InvoiceNo") or "") == invoice_no}
        return [r for r in receipts if r["check"].upper() not in held]

    # ------------------------------------------------------------------ the Sage invoice

    def sage_invoice(self, number: str, customer_code: str, *, wait: bool = True) -> tuple[str, str, str] | None:
        """(ARDivisionNo, CustomerNo, InvoiceNo) of the A/R invoice made from Kashflow invoice ``number``."""
        bound = (Binding.objects.filter(connection=self.flow.target, source_connection=self.flow.source,
                                        entity="sales_invoice", source_id=number)
                 .values_list("external_id", flat=True).first())
        if bound and bound.count("-") >= 2:
            division, rest = bound.split("-", 1)
            customer, invoice_no = rest.rsplit("-", 1)
            return division, customer, invoice_no
        reader = self._reader()
        if reader is not None and number.isdigit() and len(number) <= INVOICE_NO_LENGTH:
            with reader:
                rows = reader.read("AR_OpenInvoice", ["ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType",
                                                      "Comment"], InvoiceNo=number.zfill(INVOICE_NO_LENGTH))
            for row in rows:
                if row.get("InvoiceType") == "IN" and str(row.get("Comment") or "") == f"Kashflow invoice {number}":
                    return str(row["ARDivisionNo"]), str(row["CustomerNo"]), str(row["InvoiceNo"])
        if not wait:
            return None
        raise TransientError(
            f"Kashflow invoice {number} ({customer_code}) is not in Sage 100 yet; its payment waits until "
            "kashflow_invoices_to_sage has posted it.", system="Ledgerbridge", code="awaiting_invoice")

    def _reader(self):
        settings = self.flow.target.settings or {}
        if not (settings.get("odbc") or settings.get("dsn")):
            return None
        from integrations.sage100.odbc import SageOdbcReader

        return SageOdbcReader.from_settings(settings)

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        outcomes: list[str | ConnectorError | None] = []
        operations: list[dict[str, Any]] = []
        owners: list[int] = []
        for index, document in enumerate(documents):
            try:
                invoice = self.sage_invoice(document["invoice_number"], document.get("customer_code") or "")
            except ConnectorError as error:
                outcomes.append(error)
                continue
            outcomes.append(None)
            for receipt in document["receipts"]:
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


def receipt_operation(invoice: tuple[str, str, str], receipt: dict[str, Any]) -> dict[str, Any]:
    division, customer, invoice_no = invoice
    amount = float(Decimal(receipt["amount"]))
    return {"key": receipt["key"], "object": "AR_CashReceipts_bus", "action": "create",
            "fields": {"ARDivisionNo": division, "CustomerNo": customer, "CheckNo": receipt["check"],
                       "DepositType": "C", "DepositDate": receipt["date"], "BankCode": receipt["bank_code"],
                       "PaymentType": receipt["payment_type"], "PostingAmt": amount, "Comment": receipt["comment"]},
            "lines": [{"InvoiceNo": invoice_no, "InvoiceType": "IN", "AmountPosted": amount}]}


def check_number(payment_id: str) -> str:
    """``KF`` + the Kashflow payment line Id (base 36 when the decimal Id does not fit Sage's 10 characters)."""
    text = f"{CHECK_PREFIX}{payment_id}"
    if len(text) <= CHECK_LENGTH or not payment_id.isdigit():
        return text[:CHECK_LENGTH]
    value, digits = int(payment_id), ""
    while value:
        value, rest = divmod(value, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rest] + digits
    return f"{CHECK_PREFIX}{digits}"[:CHECK_LENGTH]


def target_id(document: dict[str, Any]) -> str:
    """``<Kashflow invoice>:KF..,KF..``: the invoice and the check numbers of its receipts in Sage."""
    return f"{document['invoice_number']}:{','.join(r['check'] for r in document['receipts'])}"[:200]
