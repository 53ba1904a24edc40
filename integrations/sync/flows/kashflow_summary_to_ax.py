"""Kashflow sales invoices and receipts -> one AX general journal per closed day or week (summarised).

The engine (staging, closed periods, balancing, drill-down, crash safety) is
:mod:`integrations.sync.flows.kashflow_summary`. This module is the AX side:

* one ``GeneralJournalService.create`` message per journal (journal name ``journal_name``, type Daily), its
  MessageId a UUIDv5 of the tenant, flow, period, sequence and document content: the same journal always
  travels under the same id, so a lost answer is re-sent safely (AX answers ``DuplicateMessage``). The journal's
  ``DocumentNum`` (``LB<yyyymmdd>-<sequence>``) is how its JournalNum is found again over ODBC after a lost
  answer;
* ledger lines (AccountType Ledger) whose LedgerDimension is the main account with financial dimensions:
  sales lines the main account mapped from the Kashflow nominal code (``gl_accounts``) with ``dimensions``
  (overridden per nominal code in ``nominal_dimensions``), the AR control (``ar_account``), VAT
  (``tax_accounts`` per tax code) and bank (``bank_accounts`` per Kashflow bank account id, or
  ``<id>/<currency>``) with ``control_dimensions``;
* lines keep their transaction currency (AX journals are multi-currency; AX converts at its own rates).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from integrations.core.canonical import Payment, SalesInvoice, content_hash
from integrations.core.errors import TargetValidationError
from integrations.dynamics_ax.adapter import dimension_values, ledger_display_value
from integrations.sync.connectors import ax_client_for
from integrations.sync.flows.kashflow_summary import KashflowSummary, Posting, message_uuid
from integrations.sync.summary_models import SummaryJournal, SummaryLine
from mapping.defaults import (
    AX_DEFAULT_DIMENSIONS,
    AX_SUMMARY_AR_ACCOUNT,
    AX_SUMMARY_BANK_ACCOUNTS,
    AX_SUMMARY_JOURNAL_NAME,
    AX_SUMMARY_TAX_ACCOUNTS,
    KASHFLOW_TO_AX_GL,
)

DOCUMENT_NUM_LENGTH = 20  # EDT DocumentNum
NAME_LENGTH = 60  # EDT Name


def default_rules() -> dict[str, Any]:
    return {"gl_accounts": dict(KASHFLOW_TO_AX_GL), "dimensions": dict(AX_DEFAULT_DIMENSIONS),
            "nominal_dimensions": {}, "control_dimensions": {}, "ar_account": AX_SUMMARY_AR_ACCOUNT,
            "tax_accounts": dict(AX_SUMMARY_TAX_ACCOUNTS), "bank_accounts": dict(AX_SUMMARY_BANK_ACCOUNTS),
            "journal_name": AX_SUMMARY_JOURNAL_NAME}


def _dims(values: Any, what: str) -> tuple[tuple[str, str], ...]:
    dims = {str(k): str(v) for k, v in (values or {}).items() if v not in (None, "")}
    try:
        dimension_values(dims)  # names must be in the account structure
    except ValueError as error:
        raise TargetValidationError(f"The financial dimensions for {what} are invalid: {error}", system="Mapping",
                                    code="invalid_value") from None
    return tuple(sorted(dims.items()))


class KashflowSummaryToAx(KashflowSummary):
    target_label = "Dynamics AX"
    text_length = 60  # EDT LedgerJournalTransTxt

    def open_target(self) -> None:
        self.ax = ax_client_for(self.flow.target, gate=self.target_gate)

    # ------------------------------------------------------------------ accounts

    def sales_account(self, invoice: SalesInvoice, nominal_code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        accounts = {str(k): str(v) for k, v in (self.rules.get("gl_accounts") or {}).items()}
        account = accounts.get(str(nominal_code))
        if not account:
            raise TargetValidationError(
                f"No AX main account is mapped for Kashflow nominal code {nominal_code} (invoice {invoice.number})",
                system="Mapping", code="mapping_missing", payload={"nominal_code": str(nominal_code)})
        dims = dict(self.rules.get("dimensions") or {})
        dims.update((self.rules.get("nominal_dimensions") or {}).get(str(nominal_code)) or {})
        return account, _dims(dims, f"Kashflow nominal code {nominal_code}")

    def control_account(self, role: str, currency: str, *, payment: Payment | None = None,
                        tax_code: str = "") -> tuple[str, tuple[tuple[str, str], ...]]:
        dims = _dims(self.rules.get("control_dimensions"), "the control accounts")
        if role in ("ar_invoice", "ar_receipt"):
            account = str(self.rules.get("ar_account") or "")
            if not account:
                raise TargetValidationError("No AX main account is set for the AR control (ar_account)",
                                            system="Mapping", code="mapping_missing")
            return account, dims
        if role == "tax":
            account = str((self.rules.get("tax_accounts") or {}).get(tax_code) or "")
            if not account:
                raise TargetValidationError(f"No AX VAT account is mapped for tax code {tax_code} (tax_accounts)",
                                            system="Mapping", code="mapping_missing", payload={"tax_code": tax_code})
            return account, dims
        banks = self.rules.get("bank_accounts") or {}
        bank = payment.bank_account if payment else ""
        account = str(banks.get(f"{bank}/{currency}") or banks.get(bank) or "")
        if not account:
            raise TargetValidationError(
                f"No AX bank main account is mapped for Kashflow bank account {bank or '(none)'} (bank_accounts)",
                system="Mapping", code="mapping_missing", payload={"bank_account": bank})
        return account, dims

    # ------------------------------------------------------------------ the document

    @staticmethod
    def document_num(journal: SummaryJournal) -> str:
        return f"LB{journal.period_start:%Y%m%d}-{journal.sequence}"[:DOCUMENT_NUM_LENGTH]

    def document(self, journal: SummaryJournal, lines: list[SummaryLine]) -> dict[str, Any]:
        document_num = self.document_num(journal)
        trans = []
        for line in lines:
            dims = dict(line.dimensions)
            entry: dict[str, Any] = {
                "AccountType": "Ledger", "Txt": line.text, "CurrencyCode": line.currency,
                "TransDate": journal.period_end.isoformat(), "DocumentNum": document_num,
                "LedgerDimension": {"DisplayValue": ledger_display_value(line.account, dims), "Account": line.account},
            }
            values = dimension_values(dims)
            if values["Value"]:
                entry["LedgerDimension"]["Values"] = values
            if line.debit:
                entry["AmountCurDebit"] = str(line.debit)
            else:
                entry["AmountCurCredit"] = str(line.credit)
            trans.append(entry)
        return {"JournalName": str(self.rules.get("journal_name") or AX_SUMMARY_JOURNAL_NAME),
                "Name": journal.description[:NAME_LENGTH], "DocumentNum": document_num, "LedgerJournalTrans": trans}

    def message_id(self, journal: SummaryJournal, document: dict[str, Any]) -> str:
        return message_uuid(connection.schema_name, self.flow.key, journal.period_start, journal.sequence,
                            content_hash(document))

    # ------------------------------------------------------------------ writing

    def send_document(self, document: dict[str, Any], message_id: str) -> str:
        return self.ax.create_general_journal(document, message_id=message_id)

    def find_existing(self, journal: SummaryJournal) -> str | None:
        settings = self.flow.target.settings or {}
        if not settings.get("odbc"):
            return None  # no database access: the binding keeps the MessageId instead of the JournalNum
        from integrations.dynamics_ax.sql import AxSqlReader

        with AxSqlReader.from_settings(settings) as reader:
            rows = reader.journals_by_document_num(self.document_num(journal))
        return str(rows[0]["JOURNALNUM"]) if rows else None


__all__ = ["KashflowSummaryToAx", "Posting", "default_rules"]
