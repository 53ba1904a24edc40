"""Kashflow sales invoices -> Dynamics AX free-text invoices, record by record (batched to AX).

Change detection (Kashflow invoice numbers, watermark, periodic full sweep, listing digests): see
:mod:`integrations.sync.flows.kashflow_source`.

Writes: many invoices per AIF create message (one AX transaction), each message carrying a MessageId derived
from its records; an AX rejection of a batch is retried invoice by invoice to find the culprit. An answer
lost after AX committed is resolved by re-sending the same message (``DuplicateMessage``) and looking the
invoices up by CustomerRef (the Kashflow number).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from integrations.core.errors import TargetValidationError
from integrations.dynamics_ax.adapter import free_text_invoice_document_with_warnings
from integrations.sync.connectors import ax_client_for
from integrations.sync.flows.kashflow_source import KashflowInvoiceSource, route
from integrations.sync.flows.kashflow_source import jsonable as _jsonable
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import AX_DEFAULT_DIMENSIONS, KASHFLOW_TO_AX_GL

log = logging.getLogger("ledgerbridge.sync.flows")

__all__ = ["KashflowInvoicesToAx", "default_rules", "route"]


def default_rules() -> dict[str, Any]:
    return {"gl_accounts": dict(KASHFLOW_TO_AX_GL), "dimensions": dict(AX_DEFAULT_DIMENSIONS),
            "customer_accounts": {}, "routing": []}


class KashflowInvoicesToAx(KashflowInvoiceSource):
    def open(self) -> None:
        super().open()
        self.ax = ax_client_for(self.flow.target, gate=self.target_gate)

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        invoice = self.invoice_for(payload, record)
        gl_accounts = {str(k): str(v) for k, v in (rules.get("gl_accounts") or {}).items()}

        def main_account_for(nominal_code: str) -> str:
            try:
                return gl_accounts[str(nominal_code)]
            except KeyError:
                raise TargetValidationError(
                    f"No AX main account is mapped for Kashflow nominal code {nominal_code}", system="Mapping",
                    code="mapping_missing", payload={"nominal_code": str(nominal_code)},
                ) from None

        customer_account = (rules.get("customer_accounts") or {}).get(invoice.customer_code, invoice.customer_code)
        try:
            document, warnings = free_text_invoice_document_with_warnings(
                invoice, customer_account=customer_account, main_account_for=main_account_for,
                dimensions=rules.get("dimensions") or None)
        except ValueError as error:
            raise TargetValidationError(str(error), system="Mapping", code="invalid_value") from None
        document = _jsonable(document)
        hold = route(invoice, rules.get("routing") or [])
        return Transformed(document=document, hold=hold, warnings=warnings)

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str]:
        return self.ax.create_free_text_invoices(documents, message_id=message_id)

    def find_existing(self, record: SyncRecord) -> str | None:
        header = ((record.target_payload or {}).get("CustInvoiceTable") or [{}])[0]
        keys = self.ax.find_free_text_invoice_keys(customer_ref=str(record.payload.get("number") or ""),
                                                   order_account=header.get("OrderAccount") or None)
        return keys[0] if keys else None
