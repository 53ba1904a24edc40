"""Kashflow sales invoices and receipts -> one Sage 100 G/L journal entry per closed day or week (summarised).

The engine (staging, closed periods, balancing, drill-down, crash safety) is
:mod:`integrations.sync.flows.kashflow_summary`. This module is the Sage side:

* one agent operation per journal: ``GL_GeneralJournal_bus`` create (SourceJournal ``source_journal``, "GJ";
  EntryNo from Sage's next number), PostingDate the period's last day, a line per account with AccountKey,
  PostingComment (30 characters), DebitAmount or CreditAmount. The operation key is ``lb-`` + a hash of the
  tenant, flow, period, sequence and document: re-sending a journal whose answer was lost returns the
  agent's stored result (the same EntryNo) instead of a second entry;
* accounts are formatted G/L accounts of the company's chart (``gl_accounts`` per Kashflow nominal code,
  ``ar_account``, ``tax_accounts`` per tax code, ``bank_accounts`` per Kashflow bank account id), turned into
  AccountKeys by reading GL_Account over ODBC (a mapping may hold AccountKeys when there is no ODBC);
* the division segment: with ``division_segment`` on, a sales account's middle segment becomes the customer's
  A/R division (``01-ABF`` -> division 01, so ``400-00-00`` -> ``400-01-00``) when the chart has that account;
* Sage 100's general ledger keeps one currency (``currency``, the company's): a source in another currency
  goes to the error inbox instead of being posted at a guessed rate.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import connection

from integrations.core.canonical import Payment, SalesInvoice, content_hash
from integrations.core.errors import TargetValidationError
from integrations.sage100.adapter import DIVISION_PREFIX
from integrations.sage100.agent.operations import MAX_KEY_LENGTH
from integrations.sync.connectors import sage_agent_client_for
from integrations.sync.flows.kashflow_summary import KashflowSummary
from integrations.sync.summary_models import SummaryJournal, SummaryLine
from mapping.defaults import (
    KASHFLOW_TO_SAGE_GL,
    SAGE_DEFAULT_DIVISION,
    SAGE_SUMMARY_AR_ACCOUNT,
    SAGE_SUMMARY_BANK_ACCOUNTS,
    SAGE_SUMMARY_TAX_ACCOUNTS,
)

COMMENT_LENGTH = 30  # GL_GeneralJournalHeader.JournalComment / Detail.PostingComment varchar(30)


def default_rules() -> dict[str, Any]:
    return {"gl_accounts": dict(KASHFLOW_TO_SAGE_GL), "ar_account": SAGE_SUMMARY_AR_ACCOUNT,
            "tax_accounts": dict(SAGE_SUMMARY_TAX_ACCOUNTS), "bank_accounts": dict(SAGE_SUMMARY_BANK_ACCOUNTS),
            "division_segment": True, "customer_accounts": {}, "default_division": SAGE_DEFAULT_DIVISION,
            "currency": "USD", "source_journal": "GJ"}


class KashflowSummaryToSage(KashflowSummary):
    target_label = "Sage 100"
    text_length = COMMENT_LENGTH

    def open_target(self) -> None:
        self.agent = sage_agent_client_for(self.flow.target, gate=self.target_gate)
        self._chart: dict[str, tuple[str, str]] | None = None

    # ------------------------------------------------------------------ accounts

    def chart(self) -> dict[str, tuple[str, str]] | None:
        """GL_Account (formatted account -> AccountKey, Status), read once per run; None without ODBC."""
        if self._chart is None:
            from integrations.sage100.odbc import gl_chart_for

            self._chart = gl_chart_for(self.flow.target.settings or {})
        return self._chart

    def known(self, account: str) -> bool:
        chart = self.chart()
        return chart is None or (account in chart and chart[account][1] == "A")

    def checked(self, account: str, what: str, payload: dict[str, str]) -> str:
        chart = self.chart()
        if chart is not None and account not in chart and not any(v[0] == account for v in chart.values()):
            raise TargetValidationError(f"Sage 100 G/L account {account} (mapped for {what}) is not in the "
                                        "company's chart of accounts", system="Mapping", code="mapping_missing",
                                        payload=payload)
        if chart is not None and account in chart and chart[account][1] != "A":
            raise TargetValidationError(f"Sage 100 G/L account {account} (mapped for {what}) is inactive",
                                        system="Mapping", code="mapping_missing", payload=payload)
        return account

    def division_of(self, customer_code: str) -> str:
        mapped = str((self.rules.get("customer_accounts") or {}).get(customer_code) or customer_code).strip()
        found = DIVISION_PREFIX.match(mapped)
        return found.group(1).zfill(2) if found else str(self.rules.get("default_division") or SAGE_DEFAULT_DIVISION)

    def sales_account(self, invoice: SalesInvoice, nominal_code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        accounts = {str(k): str(v) for k, v in (self.rules.get("gl_accounts") or {}).items()}
        account = accounts.get(str(nominal_code))
        if not account:
            raise TargetValidationError(
                f"No Sage 100 G/L account is mapped for Kashflow nominal code {nominal_code} (invoice "
                f"{invoice.number})", system="Mapping", code="mapping_missing",
                payload={"nominal_code": str(nominal_code)})
        if self.rules.get("division_segment", True):
            segments = account.split("-")
            division = self.division_of(invoice.customer_code)
            if len(segments) == 3 and segments[1] != division:
                candidate = f"{segments[0]}-{division}-{segments[2]}"
                if self.chart() is not None and self.known(candidate):
                    return candidate, (("Division", division),)
        return (self.checked(account, f"Kashflow nominal code {nominal_code}", {"nominal_code": str(nominal_code)}),
                ())

    def control_account(self, role: str, currency: str, *, payment: Payment | None = None,
                        tax_code: str = "") -> tuple[str, tuple[tuple[str, str], ...]]:
        if role in ("ar_invoice", "ar_receipt"):
            account = str(self.rules.get("ar_account") or "")
            if not account:
                raise TargetValidationError("No Sage 100 G/L account is set for the A/R control (ar_account)",
                                            system="Mapping", code="mapping_missing")
            return self.checked(account, "the A/R control", {}), ()
        if role == "tax":
            account = str((self.rules.get("tax_accounts") or {}).get(tax_code) or "")
            if not account:
                raise TargetValidationError(f"No Sage 100 sales tax account is mapped for tax code {tax_code} "
                                            "(tax_accounts)", system="Mapping", code="mapping_missing",
                                            payload={"tax_code": tax_code})
            return self.checked(account, f"tax code {tax_code}", {"tax_code": tax_code}), ()
        banks = self.rules.get("bank_accounts") or {}
        bank = payment.bank_account if payment else ""
        account = str(banks.get(f"{bank}/{currency}") or banks.get(bank) or "")
        if not account:
            raise TargetValidationError(
                f"No Sage 100 cash account is mapped for Kashflow bank account {bank or '(none)'} (bank_accounts)",
                system="Mapping", code="mapping_missing", payload={"bank_account": bank})
        return self.checked(account, f"Kashflow bank account {bank}", {"bank_account": bank}), ()

    def check_currency(self, currency: str, what: str) -> None:
        home = str(self.rules.get("currency") or "").upper()
        if home and currency.upper() != home:
            raise TargetValidationError(
                f"{what} is in {currency}; Sage 100's general ledger keeps {home} only, so it cannot be summarised "
                "without a rate (post it by hand, or set currency in the mapping)", system="Mapping",
                code="invalid_value", payload={"currency": currency})

    def account_key(self, account: str) -> str:
        chart = self.chart()
        if chart is None:
            return account
        found = chart.get(account)
        return found[0] if found else account  # an AccountKey given as such

    # ------------------------------------------------------------------ the document

    def document(self, journal: SummaryJournal, lines: list[SummaryLine]) -> dict[str, Any]:
        details = []
        for line in lines:
            detail: dict[str, Any] = {"AccountKey": self.account_key(line.account), "PostingComment": line.text}
            if line.debit:
                detail["DebitAmount"] = float(line.debit)
            else:
                detail["CreditAmount"] = float(line.credit)
            details.append(detail)
        fields = {"SourceJournal": str(self.rules.get("source_journal") or "GJ"),
                  "PostingDate": journal.period_end.isoformat(),
                  "JournalComment": journal.description[:COMMENT_LENGTH]}
        return {"key": "", "object": "GL_GeneralJournal_bus", "action": "create", "fields": fields,
                "lines": details}

    def message_id(self, journal: SummaryJournal, document: dict[str, Any]) -> str:
        digest = hashlib.sha256("|".join(str(p) for p in (
            connection.schema_name, self.flow.key, journal.period_start, journal.sequence,
            content_hash(document))).encode()).hexdigest()
        key = f"lb-summary-{digest[:48]}"[:MAX_KEY_LENGTH]  # fits SummaryJournal.message_id (64)
        document["key"] = key  # the operation carries its own idempotency key
        return key

    # ------------------------------------------------------------------ writing

    def send_document(self, document: dict[str, Any], message_id: str) -> str:
        result = self.agent.apply([{**document, "key": message_id}])[0]
        failure = result.error()
        if failure is not None:
            raise failure
        return _entry(document, result.record_key)

    def find_existing(self, journal: SummaryJournal) -> str | None:
        result = self.agent.applied(journal.message_id)
        return _entry(journal.document, result.record_key) if result is not None and result.ok else None


def _entry(document: dict[str, Any], record_key: dict[str, str]) -> str:
    source = record_key.get("SourceJournal") or (document.get("fields") or {}).get("SourceJournal") or "GJ"
    return f"{source}-{record_key.get('EntryNo', '')}"
