"""Kashflow purchase invoices -> Sage 100 A/P invoices, written through the Ledgerbridge agent (AP_Invoice_bus).

Change detection: Kashflow purchase numbers (see :mod:`integrations.sync.flows.kashflow_purchase_source`). A
purchase is posted once: a change after posting is recorded, not re-sent.

Writes: one agent operation per purchase under the idempotency key ``lb-<record idempotency key>``, many per
batch, exactly as :mod:`integrations.sync.flows.kashflow_invoices_to_sage` (a repeat of an applied key returns the
stored result; retryable codes stay in the outbox, the others go to the error inbox).

What a purchase becomes:

* vendor: the Kashflow supplier code as ``DD-VENDNO`` (the Sage pair's Kashflow holds Sage's vendors under that
  code), overridable per code in ``vendor_accounts``; a code without a division prefix goes to
  ``default_division``. VendorNo is 7 characters in Sage: a longer one must be mapped;
* InvoiceNo: the supplier's invoice number (``SupplierReference``, what A/P keys an invoice by), or the Kashflow
  purchase number when it has none or when the option ``invoice_number`` is ``"kashflow_number"``; Sage keeps 10
  characters;
* lines: each mapped line's net amount on its Sage G/L account, and the purchase's VAT as one more distribution
  line on ``tax_account``: the A/P invoice total (``InvoiceAmt``) equals the Kashflow gross, which Sage checks
  against the distribution. The lines are mapped by the tenant's rules through the engine the sales invoices use
  (:func:`mapping.rules.apply_mapping`): ``gl_accounts`` / ``gl_rules``, dimensions (a ``Division`` or
  ``Department`` dimension becomes the account's second or third segment, as for sales invoices), line splits
  and merges (to the cent: the distribution still equals the gross), ``routing`` (hold / skip), ``enrichment``
  (as ``supplier.<name>``), and ``field_mappings`` / custom fields of kind field as A/P invoice fields (``UDF_``
  columns);
* dates, and the comment ``Kashflow purchase <number>``; terms default from the vendor.

The operation itself is built by :func:`integrations.sage100.adapter.ap_invoice_operation`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from integrations.core.canonical import InvoiceLine, JournalLine
from integrations.core.errors import ConnectorError, TargetValidationError
from integrations.sage100.adapter import ap_invoice_operation, party_key
from integrations.sync.connectors import sage_agent_client_for
from integrations.sync.flows.kashflow_invoices_to_sage import KashflowInvoicesToSage, segmented_account
from integrations.sync.flows.kashflow_purchase_source import KashflowPurchaseSource
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import KASHFLOW_TO_SAGE_LEDGER, SAGE_DEFAULT_DIVISION, SAGE_PURCHASE_TAX_ACCOUNT
from mapping.rules import MappedDocument

log = logging.getLogger("ledgerbridge.sync.flows")

VENDOR_NO_LENGTH = 7
INVOICE_NO_LENGTH = 10
ACCOUNT_LABEL = "Sage 100 G/L account"  # "No Sage 100 G/L account is mapped for Kashflow nominal code ..."


def default_rules() -> dict[str, Any]:
    return {"gl_accounts": dict(KASHFLOW_TO_SAGE_LEDGER), "vendor_accounts": {}, "routing": [],
            "default_division": SAGE_DEFAULT_DIVISION, "tax_account": SAGE_PURCHASE_TAX_ACCOUNT}


class SageLedgerTarget:
    """What the Sage flows posting to the G/L share: the agent, Sage's AccountKey for a mapped account (the chart
    read once per run over ODBC, as in :class:`KashflowInvoicesToSage`), idempotent sends."""

    account_key = KashflowInvoicesToSage.account_key
    chart = KashflowInvoicesToSage.chart
    operation_key = staticmethod(KashflowInvoicesToSage.operation_key)

    def open_target(self) -> None:
        self.agent = sage_agent_client_for(self.flow.target, gate=self.target_gate)
        self._account_keys = None

    def posted_lines(self, mapped: MappedDocument) -> tuple[InvoiceLine | JournalLine, ...]:
        """The mapped lines, each carrying Sage's AccountKey as its account code: the operation builders
        (``ap_invoice_operation``, ``gl_journal_operation``) then take it as is. A line's account is its mapped G/L
        account with the ``Division`` / ``Department`` dimensions as segments (``segmented_account``), checked
        against the chart like any mapped account; lines that move no money are not posted, so not looked up."""
        posted = []
        for item in mapped.lines:
            line = item.line
            if line.amount if isinstance(line, JournalLine) else line.net_amount:
                nominal = str(line.account_code)
                account = segmented_account(item.account, item.dimensions)
                line = replace(line, account_code=self.account_key(nominal, {nominal: account}))
            posted.append(line)
        return tuple(posted)

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        results = self.agent.apply(documents)
        return [result.error() or self.target_id(document, result.record_key)
                for document, result in zip(documents, results, strict=True)]

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        key = document.get("key")
        if not key:
            return None
        result = self.agent.applied(key)
        return self.target_id(document, result.record_key) if result is not None and result.ok else None

    def target_id(self, document: dict[str, Any], record_key: dict[str, str]) -> str:
        raise NotImplementedError


class KashflowPurchasesToSage(SageLedgerTarget, KashflowPurchaseSource):
    """Options: ``invoice_number`` (``"supplier_reference"`` | ``"kashflow_number"``), and the purchase source's."""

    def open(self) -> None:
        super().open()
        self.open_target()

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        purchase = self.purchase_for(payload, record)
        division_no, vendor_no = vendor_for(purchase.supplier_code, rules)
        invoice_no = self.invoice_number(purchase.number, purchase.supplier_reference)
        mapped = self.apply_rules(purchase, rules, record, account_label=ACCOUNT_LABEL)
        if mapped.skip:
            return Transformed(skip=mapped.skip, warnings=mapped.warnings)
        tax_account = str(rules.get("tax_account") or SAGE_PURCHASE_TAX_ACCOUNT)
        document = ap_invoice_operation(
            replace(purchase, lines=self.posted_lines(mapped)), key=self.operation_key(record),
            division_no=division_no, vendor_no=vendor_no, invoice_no=invoice_no, account_for=lambda key: key,
            tax_account_for=lambda: self.account_key("VAT", {"VAT": tax_account}))
        document["fields"].update(mapped.fields)  # field mappings and custom fields (UDF_ columns)
        return Transformed(document=document, hold=mapped.hold, warnings=mapped.warnings)

    def invoice_number(self, number: str, reference: str) -> str:
        use_number = str(self.options.get("invoice_number") or "supplier_reference") == "kashflow_number"
        text = (number if use_number or not reference.strip() else reference).strip().upper()
        if len(text) > INVOICE_NO_LENGTH:
            raise TargetValidationError(
                f"Kashflow purchase {number}: invoice number {text!r} is longer than Sage's {INVOICE_NO_LENGTH}-"
                "character A/P InvoiceNo; set the flow option invoice_number to kashflow_number.",
                system="Mapping", code="invalid_value", payload={"purchase": number})
        return text

    def target_id(self, document: dict[str, Any], record_key: dict[str, str]) -> str:
        """``APDivisionNo-VendorNo-InvoiceNo`` of the A/P invoice."""
        fields = document.get("fields") or {}
        return "-".join(record_key.get(name) or str(fields.get(name, ""))
                        for name in ("APDivisionNo", "VendorNo", "InvoiceNo"))


def vendor_for(code: str, rules: dict[str, Any]) -> tuple[str, str]:
    """(APDivisionNo, VendorNo) for a Kashflow supplier code."""
    return party_key(code, rules.get("vendor_accounts"), str(rules.get("default_division") or SAGE_DEFAULT_DIVISION),
                     length=VENDOR_NO_LENGTH, label="supplier", number_label="vendor number",
                     rule="vendor_accounts", example="DD-VENDNO")

