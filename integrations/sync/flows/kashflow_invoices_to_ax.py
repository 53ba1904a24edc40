"""Kashflow sales invoices -> Dynamics AX free-text invoices, record by record (batched to AX).

Change detection (Kashflow invoice numbers, watermark, periodic full sweep, listing digests): see
:mod:`integrations.sync.flows.kashflow_source`.

Tax: each line carries the AX sales tax group and item sales tax group its Kashflow VAT rate maps to (rule
``tax_groups``, defaults ``mapping.defaults.AX_TAX_GROUPS``); AX computes the VAT, so the posted invoice is gross.

Writes: many invoices per AIF create message (one AX transaction), each message carrying a MessageId derived
from its records; an AX rejection of a batch is retried invoice by invoice to find the culprit. An answer
lost after AX committed is resolved by re-sending the same message (``DuplicateMessage``) and looking the
invoices up by CustomerRef (the Kashflow number).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.core.canonical import InvoiceLine
from integrations.core.errors import TargetValidationError
from integrations.dynamics_ax.adapter import free_text_invoice_document_with_warnings, ledger_account
from integrations.sync.connectors import ax_client_for
from integrations.sync.flows.kashflow_source import KashflowInvoiceSource, route
from integrations.sync.flows.kashflow_source import jsonable as _jsonable
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import AX_DEFAULT_DIMENSIONS, AX_TAX_GROUPS, KASHFLOW_TO_AX_GL
from mapping.enrichment import SyncedRecords
from mapping.rules import apply_mapping

log = logging.getLogger("ledgerbridge.sync.flows")

__all__ = ["KashflowInvoicesToAx", "default_rules", "rate_key", "route", "tax_groups_for"]


def default_rules() -> dict[str, Any]:
    return {"gl_accounts": dict(KASHFLOW_TO_AX_GL), "dimensions": dict(AX_DEFAULT_DIMENSIONS),
            "customer_accounts": {}, "routing": [],
            "tax_groups": {rate: dict(groups) for rate, groups in AX_TAX_GROUPS.items()}}


def rate_key(rate: Decimal | None) -> str:
    """The ``tax_groups`` key of a Kashflow VAT rate: ``"exempt"`` for exempt lines, else the percentage without
    trailing zeros (``20.00`` -> ``"20"``, ``17.5`` -> ``"17.5"``)."""
    if rate is None:
        return "exempt"
    text = format(rate.normalize(), "f")
    return text if text != "-0" else "0"


def tax_groups_for(rules: dict[str, Any]) -> Callable[[InvoiceLine], tuple[str, str]]:
    """``tax_group_for(line) -> (TaxGroup, TaxItemGroup)`` from the ``tax_groups`` rule (rate -> {"TaxGroup",
    "TaxItemGroup"} or [TaxGroup, TaxItemGroup]); the defaults when a mapping set has no such rule. A rate
    without a mapping fails the record (``mapping_missing``) rather than sending the line untaxed."""
    configured = rules.get("tax_groups")
    table = {rate_key(_rate(str(k))): v for k, v in (AX_TAX_GROUPS if configured is None else configured).items()}

    def tax_group_for(line: InvoiceLine) -> tuple[str, str]:
        key = rate_key(line.tax_rate)
        groups = table.get(key)
        if not groups:
            raise TargetValidationError(
                f"No AX sales tax group is mapped for the Kashflow VAT rate {key}", system="Mapping",
                code="mapping_missing", payload={"tax_rate": key})
        if isinstance(groups, (list, tuple)):  # [TaxGroup, TaxItemGroup], as kashflow_purchases_to_ax takes them
            return str(groups[0] or ""), str(groups[1] if len(groups) > 1 else "")
        return str(groups.get("TaxGroup") or ""), str(groups.get("TaxItemGroup") or "")

    return tax_group_for


def _rate(text: str) -> Decimal | None:
    if text.strip().lower() == "exempt":
        return None
    try:
        return Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        raise TargetValidationError(f"tax_groups: {text!r} is not a VAT rate", system="Mapping",
                                    code="invalid_value") from None


class KashflowInvoicesToAx(KashflowInvoiceSource):
    def open(self) -> None:
        super().open()
        self.ax = ax_client_for(self.flow.target, gate=self.target_gate)

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        invoice = self.invoice_for(payload, record)
        # GL accounts (flat and multi-level), dimensions, line splits/aggregation and routing: mapping.rules.
        mapped = apply_mapping(invoice, rules, account_label="AX main account", enrichment=self.enrichment(),
                               anomaly_score=getattr(record, "anomaly_score", None))
        if mapped.skip:
            return Transformed(skip=mapped.skip, warnings=mapped.warnings)
        lines = [item.line for item in mapped.lines]
        customer_account = (rules.get("customer_accounts") or {}).get(invoice.customer_code, invoice.customer_code)
        try:
            document, warnings = free_text_invoice_document_with_warnings(
                replace(invoice, lines=tuple(lines)), customer_account=customer_account,
                main_account_for=lambda _code: "", dimensions=mapped.dimensions or None,
                tax_group_for=tax_groups_for(rules))
            # Each line's own account and dimensions (derived per line, so they may differ from the header's).
            for entry, item in zip(document["CustInvoiceTable"][0]["CustInvoiceLine"], mapped.lines, strict=True):
                entry["LedgerDimension"] = ledger_account(item.account, item.dimensions or None)
        except ValueError as error:
            raise TargetValidationError(str(error), system="Mapping", code="invalid_value") from None
        if mapped.fields:
            document["CustInvoiceTable"][0].update(mapped.fields)
        document = _jsonable(document)
        return Transformed(document=document, hold=mapped.hold, warnings=[*mapped.warnings, *warnings])

    def enrichment(self) -> SyncedRecords:
        """Values of data already synced (e.g. the AX customer group), read once per run."""
        if getattr(self, "_enrichment", None) is None:
            self._enrichment = SyncedRecords()
        return self._enrichment

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str]:
        return self.ax.create_free_text_invoices(documents, message_id=message_id)

    def waits_for(self, error, record: SyncRecord) -> str:
        """An invoice for a customer AX does not have yet, while ``kashflow_customers_to_ax`` is on: that flow
        creates the customer (a new Kashflow customer and its first invoice often arrive together), so the invoice
        waits for it instead of going to the inbox."""
        header = ((record.target_payload or {}).get("CustInvoiceTable") or [{}])[0]
        account = str(header.get("OrderAccount") or "")
        if error.code != "RelatedRecordNotFound" or not account or f"'{account}'" not in str(error):
            return ""
        from integrations.sync.models import Flow

        if not Flow.objects.filter(key="kashflow_customers_to_ax", enabled=True, target_id=self.flow.target_id
                                   ).exists():
            return ""
        return (f"AX has no customer {account} yet; the invoice waits for kashflow_customers_to_ax to create it "
                f"(AX said: {error})")

    def find_existing(self, record: SyncRecord) -> str | None:
        header = ((record.target_payload or {}).get("CustInvoiceTable") or [{}])[0]
        keys = self.ax.find_free_text_invoice_keys(customer_ref=str(record.payload.get("number") or ""),
                                                   order_account=header.get("OrderAccount") or None)
        return keys[0] if keys else None
