"""Kashflow sales invoices -> Sage 100 A/R invoices, written through the Ledgerbridge agent (AR_Invoice_bus).

Change detection (Kashflow invoice numbers, watermark, periodic full sweep, listing digests): see
:mod:`integrations.sync.flows.kashflow_source`.

Writes: one agent operation per invoice, many per batch (``POST /v1/batches``). Each operation carries its own
idempotency key, ``lb-<record idempotency key>``, so the agent answers per invoice, and a repeat of a key it has
applied returns the stored result instead of writing again: a batch whose answer was lost (or whose worker died
before binding) is simply sent again. A failed operation is that invoice's error only: retryable codes (record
in use, BOI failure) stay in the outbox for the next run, the others go to the error inbox.

What an invoice becomes:

* customer: the Kashflow code as ``DD-CUSTNO`` (``01-ABF``: the sandbox seeds Kashflow with Sage's customers under
  that code), overridable per code in ``customer_accounts``; a code without a division prefix goes to
  ``default_division``;
* InvoiceNo: ``invoice_prefix`` + the Kashflow number (Sage zero-fills numeric ones); Sage keeps 7 characters, so a
  longer one keeps its last characters, with a warning;
* lines: each Kashflow line on the miscellaneous charge code ``line_item``, its net amount on the Sage G/L account
  mapped from its nominal code (``gl_accounts``: formatted accounts, or AccountKeys);
* VAT: the invoice's total VAT as the header's SalesTaxAmt (the A/R invoice total equals the Kashflow gross);
  terms, tax schedule and salesperson default from the Sage customer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from integrations.core.errors import ConnectorError, TargetValidationError
from integrations.sage100.adapter import party_key
from integrations.sage100.agent.operations import MAX_KEY_LENGTH
from integrations.sync.connectors import sage_agent_client_for
from integrations.sync.flows.kashflow_source import KashflowInvoiceSource
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import KASHFLOW_TO_SAGE_GL, SAGE_DEFAULT_DIVISION, SAGE_DEFAULT_LINE_ITEM
from mapping.enrichment import SyncedRecords
from mapping.rules import apply_mapping

log = logging.getLogger("ledgerbridge.sync.flows")

INVOICE_NO_LENGTH = 7  # AR_InvoiceHistoryHeader.InvoiceNo varchar(7)
CUSTOMER_NO_LENGTH = 20
DESCRIPTION_LENGTH = 30  # ItemCodeDesc
PO_LENGTH = 30  # CustomerPONo
ACCOUNT_KEY = re.compile(r"^\d{9}$")


def default_rules() -> dict[str, Any]:
    return {"gl_accounts": dict(KASHFLOW_TO_SAGE_GL), "customer_accounts": {}, "routing": [],
            "default_division": SAGE_DEFAULT_DIVISION, "line_item": SAGE_DEFAULT_LINE_ITEM, "invoice_prefix": ""}


class KashflowInvoicesToSage(KashflowInvoiceSource):
    def open(self) -> None:
        super().open()
        self.agent = sage_agent_client_for(self.flow.target, gate=self.target_gate)
        self._account_keys: dict[str, tuple[str, str]] | None = None  # Account -> (AccountKey, Status)

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        invoice = self.invoice_for(payload, record)
        warnings: list[str] = []
        division_no, customer_no = self.customer_for(invoice.customer_code, rules)
        invoice_no = self.invoice_number(invoice.number, str(rules.get("invoice_prefix") or ""), warnings)
        item = str(rules.get("line_item") or SAGE_DEFAULT_LINE_ITEM)
        if not invoice.lines:
            raise TargetValidationError(f"Kashflow invoice {invoice.number} has no lines; Sage needs at least one.",
                                        system="Mapping", code="invalid_value")
        # GL accounts (flat and multi-level), segments, line splits/aggregation and routing: mapping.rules.
        mapped = apply_mapping(invoice, rules, account_label="Sage 100 G/L account", enrichment=self.enrichment(),
                               anomaly_score=getattr(record, "anomaly_score", None))
        if mapped.skip:
            return Transformed(skip=mapped.skip, warnings=mapped.warnings)
        warnings.extend(mapped.warnings)
        lines = []
        for entry in mapped.lines:
            line = entry.line
            account = segmented_account(entry.account, entry.dimensions)
            # ItemCode first: Sage fills a line's defaults from its item, and the values set after it stand.
            lines.append({"ItemCode": item,
                          "ItemCodeDesc": (line.description or f"Kashflow line {line.number}")[:DESCRIPTION_LENGTH],
                          "QuantityShipped": _number(line.quantity), "UnitPrice": _number(line.unit_price),
                          "ExtensionAmt": _number(line.net_amount),
                          "SalesAcctKey": self.account_key(line.account_code, {str(line.account_code): account})})
        fields: dict[str, Any] = {"ARDivisionNo": division_no, "CustomerNo": customer_no, "InvoiceNo": invoice_no,
                                  "InvoiceType": "IN", "InvoiceDate": invoice.issue_date.isoformat()}
        if invoice.due_date:
            fields["InvoiceDueDate"] = invoice.due_date.isoformat()
        if invoice.customer_reference:
            fields["CustomerPONo"] = invoice.customer_reference[:PO_LENGTH]
        fields["Comment"] = f"Kashflow invoice {invoice.number}"[:30]
        fields["SalesTaxAmt"] = _number(invoice.tax_amount)
        fields.update(mapped.fields)  # field mappings and custom fields (Sage UDF columns, UDF_...)
        document = {"key": self.operation_key(record), "object": "AR_Invoice_bus", "action": "create",
                    "fields": fields, "lines": lines}
        return Transformed(document=document, hold=mapped.hold, warnings=warnings)

    def enrichment(self) -> SyncedRecords:
        """Values of data already synced (e.g. the Sage customer type), read once per run."""
        if getattr(self, "_enrichment", None) is None:
            self._enrichment = SyncedRecords()
        return self._enrichment

    @staticmethod
    def operation_key(record: SyncRecord) -> str:
        """The agent's idempotency key for this record's write (same record version, same key)."""
        return f"lb-{record.idempotency_key}"[:MAX_KEY_LENGTH]

    @staticmethod
    def customer_for(code: str, rules: dict[str, Any]) -> tuple[str, str]:
        """(ARDivisionNo, CustomerNo) for a Kashflow customer code."""
        return party_key(code, rules.get("customer_accounts"), str(rules.get("default_division") or
                                                                   SAGE_DEFAULT_DIVISION),
                         length=CUSTOMER_NO_LENGTH, label="customer", number_label="customer number",
                         rule="customer_accounts", example="DD-CUSTNO")

    @staticmethod
    def invoice_number(number: str, prefix: str, warnings: list[str]) -> str:
        text = str(number).strip().upper()
        room = INVOICE_NO_LENGTH - len(prefix)
        if room < 1:
            raise TargetValidationError(f"The invoice prefix {prefix!r} leaves no room for the number in Sage's "
                                        f"{INVOICE_NO_LENGTH}-character InvoiceNo.", system="Mapping",
                                        code="invalid_value")
        if len(text) > room:
            cut = text[-room:]
            warning = (f"Kashflow invoice number {text} is longer than Sage's InvoiceNo allows "
                       f"({INVOICE_NO_LENGTH} characters with the prefix); written as {prefix}{cut}.")
            warnings.append(warning)
            log.warning(warning)
            text = cut
        return prefix + text

    def account_key(self, nominal_code: str, gl_accounts: dict[str, str]) -> str:
        """Sage's AccountKey for the G/L account mapped to a Kashflow nominal code."""
        try:
            account = gl_accounts[str(nominal_code)]
        except KeyError:
            raise TargetValidationError(
                f"No Sage 100 G/L account is mapped for Kashflow nominal code {nominal_code}", system="Mapping",
                code="mapping_missing", payload={"nominal_code": str(nominal_code)},
            ) from None
        chart = self.chart()
        if chart is None:  # no ODBC to read the chart with: the mapping must hold AccountKeys
            return account
        found = chart.get(account) or next((v for v in chart.values() if v[0] == account), None)
        if found is None:
            raise TargetValidationError(
                f"Sage 100 G/L account {account} (mapped for Kashflow nominal code {nominal_code}) is not in the "
                "company's chart of accounts", system="Mapping", code="mapping_missing",
                payload={"nominal_code": str(nominal_code), "account": account})
        key, status = found
        if status != "A":
            raise TargetValidationError(
                f"Sage 100 G/L account {account} (mapped for Kashflow nominal code {nominal_code}) is inactive",
                system="Mapping", code="mapping_missing", payload={"nominal_code": str(nominal_code),
                                                                  "account": account})
        return key

    def chart(self) -> dict[str, tuple[str, str]] | None:
        """GL_Account read once per run over the connection's ODBC (None when it has no ODBC settings)."""
        if self._account_keys is None:
            from integrations.sage100.odbc import gl_chart_for

            self._account_keys = gl_chart_for(self.flow.target.settings or {})
        return self._account_keys

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        results = self.agent.apply(documents)
        return [result.error() or target_id(document, result.record_key)
                for document, result in zip(documents, results, strict=True)]

    def waits_for(self, error: ConnectorError, record: SyncRecord) -> str:
        """An invoice for a customer Sage does not have yet, while ``kashflow_customers_to_sage`` is on: that flow
        creates the customer (a new Kashflow customer and its first invoice often arrive together), so the invoice
        waits for it instead of going to the inbox. The agent keeps no answer for a failed key, so the same
        operation key is simply sent again."""
        fields = (record.target_payload or {}).get("fields") or {}
        customer = f"{fields.get('ARDivisionNo', '')}-{fields.get('CustomerNo', '')}"
        if error.code != "not_on_file" or f"Customer {customer} is not on file" not in str(error):
            return ""
        from integrations.sync.models import Flow

        if not Flow.objects.filter(key="kashflow_customers_to_sage", enabled=True,
                                   target_id=self.flow.target_id).exists():
            return ""
        return (f"Sage 100 has no customer {customer} yet; the invoice waits for kashflow_customers_to_sage to "
                f"create it (Sage said: {error})")

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        key = document.get("key")
        if not key:
            return None
        result = self.agent.applied(key)
        return target_id(document, result.record_key) if result is not None and result.ok else None


def segmented_account(account: str, dimensions: dict[str, str]) -> str:
    """A formatted Sage G/L account (``###-##-##``) with its division and department segments taken from the
    ``Division`` / ``Department`` dimensions, when the rules set them (``400-00-00`` + Division ``01`` ->
    ``400-01-00``): Sage keeps divisions and departments as segments of the account, not as dimensions. The
    result is checked against the chart like any mapped account. AccountKeys and other formats pass unchanged."""
    division, department = dimensions.get("Division"), dimensions.get("Department")
    parts = account.split("-")
    if len(parts) != 3 or not (division or department):
        return account
    if division:
        parts[1] = str(division).zfill(len(parts[1]))
    if department:
        parts[2] = str(department).zfill(len(parts[2]))
    return "-".join(parts)


def target_id(document: dict[str, Any], record_key: dict[str, str]) -> str:
    """``ARDivisionNo-CustomerNo-InvoiceNo`` of the A/R invoice (InvoiceNo as Sage stored it)."""
    fields = document.get("fields") or {}
    invoice_no = record_key.get("InvoiceNo") or fields.get("InvoiceNo") or ""
    return f"{fields.get('ARDivisionNo', '')}-{fields.get('CustomerNo', '')}-{invoice_no}"


def _number(value: Decimal) -> float:
    return float(value)

