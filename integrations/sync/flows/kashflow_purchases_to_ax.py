"""Kashflow purchase invoices -> Dynamics AX vendor invoice journals (default) or general journals, one AX
journal per Kashflow purchase.

Change detection: :mod:`integrations.sync.flows.kashflow_purchase_source` (purchase numbers, watermark,
periodic full sweep, listing digests); every purchase is carried, paid or not (option ``paid_only``).

The journal (option ``purchase_journal``):

* ``vendor_invoice`` (default): ``PurchaseInvoiceService.create`` (AxdPurchaseInvoice, the vendor invoice
  journal), journal name ``vendor_invoice_journal_name`` (default ``APInvoice``, type PurchaseLedger);
* ``general``: ``GeneralJournalService.create``, journal name ``journal_name`` (default ``GenJrn``, Daily).

Either way the lines are the same, one voucher that balances: a credit of the gross amount on the vendor
account (AccountType Vend; the Kashflow supplier code, or ``supplier_accounts`` mapped) carrying the supplier's
invoice number (``Invoice``), document date and due date; a debit of each mapped line's net amount on its AX main
account and financial dimensions; and the VAT — either one debit per VAT rate on the mapped tax account
(``vat_account``, default 130800 VAT Tax Receivable, dimensions as ``dimensions_by_account["VAT"]``), or, when
``vat_account`` is empty, as AX sales tax: the lines carry the ``tax_groups`` mapped for their VAT rate
(``{"20": ["VATPUR", "STD"]}`` = TaxGroup, TaxItemGroup) and AX calculates it.

The lines are mapped by the tenant's rules through the engine the sales invoices use
(:func:`mapping.rules.apply_mapping`): ``gl_accounts`` / ``gl_rules`` (by department or supplier group),
``dimensions``, ``dimensions_by_account``, ``dimension_rules``, ``line_handling`` (splits to the cent, merges by
account, dimensions and VAT rate: the voucher still balances), ``routing`` (hold / skip), ``enrichment`` (as
``supplier.<name>``), the ``currency`` lookup, and ``field_mappings`` / custom fields of kind field on the
LedgerJournalTable.

Writes: one purchase per AIF message, the MessageId derived from the record (``DuplicateMessage`` on a
repeat). Every line carries ``DocumentNum`` ``KFP<number>``, the natural key :meth:`find_existing` looks up in
LEDGERJOURNALTRANS (ODBC) when an answer was lost. A purchase changed after posting is not re-sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from integrations.core.canonical import PurchaseInvoice
from integrations.core.errors import ConfigurationError, TargetValidationError
from integrations.sync.connectors import ax_client_for
from integrations.sync.flows.kashflow_journals_to_ax import (
    ACCOUNT_LABEL,
    DOCUMENT_NUM_LENGTH,
    NAME_LENGTH,
    TXT_LENGTH,
    account_dimensions,
    dimensions_for,
    journal_num_of,
    ledger_multi_account,
    party_multi_account,
    reader_for,
    shorten,
)
from integrations.sync.flows.kashflow_purchase_source import KashflowPurchaseSource
from integrations.sync.flows.kashflow_source import jsonable
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import AX_DEFAULT_DIMENSIONS, AX_PURCHASE_VAT_ACCOUNT, KASHFLOW_TO_AX_LEDGER
from mapping.rules import MappedDocument, apply_mapping

log = logging.getLogger("ledgerbridge.sync.flows")

__all__ = ["JOURNALS", "KashflowPurchasesToAx", "default_rules", "postable_purchase", "purchase_journal_document"]

JOURNALS = ("vendor_invoice", "general")
INVOICE_LENGTH = 20  # LedgerJournalTrans.Invoice (EDT InvoiceId)


def default_rules() -> dict[str, Any]:
    """``gl_accounts`` (Kashflow nominal -> AX main account), ``dimensions``, ``dimensions_by_account``,
    ``supplier_accounts`` (Kashflow supplier code -> AX vendor account; default the same code), ``vat_account``
    (AX main account the VAT is posted to; empty: AX calculates it from ``tax_groups``), ``tax_groups`` (VAT
    rate -> [TaxGroup, TaxItemGroup]), ``journal_name`` / ``vendor_invoice_journal_name``."""
    return {"gl_accounts": dict(KASHFLOW_TO_AX_LEDGER), "dimensions": dict(AX_DEFAULT_DIMENSIONS),
            "dimensions_by_account": {}, "supplier_accounts": {}, "vat_account": AX_PURCHASE_VAT_ACCOUNT,
            "tax_groups": {}, "journal_name": "GenJrn", "vendor_invoice_journal_name": "APInvoice", "routing": []}


def _rate_key(rate: Decimal | None) -> str:
    if rate is None:
        return "exempt"
    return format(rate.normalize(), "f") if rate == rate.to_integral_value() else str(rate)


def postable_purchase(purchase: PurchaseInvoice) -> None:
    """Refuse a purchase that cannot become a balanced voucher, before its rules are applied: no lines, or lines
    (net + VAT) that do not add up to its gross amount."""
    if not purchase.lines:
        raise TargetValidationError(f"Kashflow purchase {purchase.number} has no lines.", system="Mapping",
                                    code="invalid_value")
    net_total = sum((line.net_amount for line in purchase.lines), Decimal(0))
    tax_total = sum((line.tax_amount for line in purchase.lines), Decimal(0))
    if net_total + tax_total != purchase.gross_amount:
        raise TargetValidationError(
            f"Kashflow purchase {purchase.number}: the lines (net {net_total} + VAT {tax_total}) do not add up to "
            f"its gross amount {purchase.gross_amount}; correct it in Kashflow.", system="Mapping",
            code="invalid_value", payload={"purchase": purchase.number})


def purchase_journal_document(purchase: PurchaseInvoice, rules: Mapping[str, Any], *, journal: str,
                              mapped: MappedDocument | None = None) -> tuple[dict[str, Any], list[str]]:
    """The LedgerJournalTable (with its LedgerJournalTrans) posting one Kashflow purchase. ``mapped``: the rules
    already applied to the purchase (the flow applies them first, for routing)."""
    postable_purchase(purchase)
    if mapped is None:
        mapped = apply_mapping(purchase, rules, account_label=ACCOUNT_LABEL)
    warnings: list[str] = []
    currency = mapped.currency or purchase.currency
    supplier = str(purchase.supplier_code)
    vendor = str((rules.get("supplier_accounts") or {}).get(supplier) or supplier).strip()
    vendor_account = party_multi_account(vendor, what=f"AX vendor account for Kashflow supplier {supplier}")
    document_num = f"KFP{purchase.number}"[:DOCUMENT_NUM_LENGTH]
    invoice = shorten(purchase.supplier_reference or f"KF{purchase.number}", INVOICE_LENGTH,
                      "Supplier reference (Invoice)", warnings)
    label = f"{purchase.supplier_name or supplier} {purchase.supplier_reference}".strip()
    vat_account = str(rules.get("vat_account") or "")
    tax_groups = {str(k): v for k, v in (rules.get("tax_groups") or {}).items()}

    def line(account: dict[str, Any], *, debit: Decimal = Decimal(0), credit: Decimal = Decimal(0), text: str,
             account_type: str = "Ledger", **extra: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"AccountType": account_type}
        if debit:
            entry["AmountCurDebit"] = debit
        entry["CurrencyCode"] = currency
        entry["Txt"] = text
        if credit:
            entry["AmountCurCredit"] = credit
        entry["TransDate"] = purchase.issue_date
        entry["DocumentDate"] = purchase.issue_date
        entry["DocumentNum"] = document_num
        entry.update(extra)
        entry["LedgerDimension"] = account
        return entry

    lines = []
    vat_by_rate: dict[str, Decimal] = {}
    for position, item in enumerate(mapped.lines, start=1):
        source = item.line
        number = source.number or position
        extra: dict[str, Any] = {}
        if not vat_account and source.tax_amount:
            extra.update(_tax_groups(tax_groups, source.tax_rate, purchase.number, number))
        account = ledger_multi_account(item.account, account_dimensions(item.dimensions))
        text = shorten(source.description or label, TXT_LENGTH, f"Line {number} text", warnings)
        amount = source.net_amount
        if amount:
            lines.append(line(account, debit=amount if amount > 0 else Decimal(0),
                              credit=-amount if amount < 0 else Decimal(0), text=text, **extra))
        if source.tax_amount:
            key = _rate_key(source.tax_rate)
            vat_by_rate[key] = vat_by_rate.get(key, Decimal(0)) + source.tax_amount
    if vat_account:
        vat_ledger = ledger_multi_account(vat_account, dimensions_for(rules, "VAT", base=mapped.dimensions))
        for rate, amount in sorted(vat_by_rate.items()):
            lines.append(line(vat_ledger, debit=amount if amount > 0 else Decimal(0),
                              credit=-amount if amount < 0 else Decimal(0),
                              text=shorten(f"VAT {rate} % {label}", TXT_LENGTH, "VAT line text", warnings)))
    gross = purchase.gross_amount
    due = {"Due": purchase.due_date} if purchase.due_date else {}
    lines.append(line(vendor_account, debit=-gross if gross < 0 else Decimal(0),
                      credit=gross if gross > 0 else Decimal(0), account_type="Vend",
                      text=shorten(f"Invoice {invoice} {purchase.supplier_name}", TXT_LENGTH, "Vendor line text",
                                   warnings), Invoice=invoice, **due))
    name_rule = "vendor_invoice_journal_name" if journal == "vendor_invoice" else "journal_name"
    header = {
        "Name": shorten(f"Kashflow purchase {purchase.number} {label}", NAME_LENGTH, "Journal name", warnings),
        "JournalName": str(rules.get(name_rule) or ("APInvoice" if journal == "vendor_invoice" else "GenJrn")),
        "CurrencyCode": currency,
        "DocumentNum": document_num,
        **mapped.fields,  # field mappings and custom fields of kind field (LedgerJournalTable fields)
        "LedgerJournalTrans": lines,
    }
    return jsonable(header), warnings


def _tax_groups(tax_groups: Mapping[str, Any], rate: Decimal | None, purchase: str, line: int) -> dict[str, str]:
    """TaxGroup (and TaxItemGroup) of a taxed line, from ``tax_groups`` by its VAT rate (mapping_missing if none)."""
    groups = tax_groups.get(_rate_key(rate))
    if not groups:
        raise TargetValidationError(
            f"No AX tax group is mapped for VAT rate {_rate_key(rate)} % (Kashflow purchase {purchase}, line "
            f"{line}); map it in tax_groups or set vat_account.", system="Mapping", code="mapping_missing",
            payload={"vat_rate": _rate_key(rate)})
    groups = [groups] if isinstance(groups, str) else list(groups)
    result = {"TaxGroup": groups[0]}
    if len(groups) > 1 and groups[1]:
        result["TaxItemGroup"] = groups[1]
    return result


class KashflowPurchasesToAx(KashflowPurchaseSource):
    """Options: ``purchase_journal`` ("vendor_invoice" | "general"), plus the purchase source's."""

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.batch_size = 1  # one journal per AIF message (its own AX transaction and its own MessageId)
        self.journal = str(self.options.get("purchase_journal") or "vendor_invoice")

    def open(self) -> None:
        super().open()
        if self.journal not in JOURNALS:
            raise ConfigurationError(f"Option purchase_journal is {self.journal!r}; it must be one of "
                                     f"{', '.join(JOURNALS)}.", system="Ledgerbridge")
        self.ax = ax_client_for(self.flow.target, gate=self.target_gate)
        self.reader = reader_for(self.flow.target)

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        purchase = self.purchase_for(payload, record)
        postable_purchase(purchase)
        mapped = self.apply_rules(purchase, rules, record, account_label=ACCOUNT_LABEL)
        if mapped.skip:
            return Transformed(skip=mapped.skip, warnings=mapped.warnings)
        document, warnings = purchase_journal_document(purchase, rules, journal=self.journal, mapped=mapped)
        return Transformed(document=document, hold=mapped.hold, warnings=[*mapped.warnings, *warnings])

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str]:
        (document,) = documents
        if self.journal == "general":
            return [self.ax.create_general_journal(document, message_id=message_id)]
        return [self.ax.create_vendor_invoice_journal(document, message_id=message_id)]

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        if not document.get("DocumentNum"):
            return None
        return journal_num_of(self.reader, document["DocumentNum"], journal_name=document.get("JournalName", ""))
