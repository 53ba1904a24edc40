"""Kashflow journals -> Sage 100 G/L general journal entries, written through the agent (GL_GeneralJournal_bus).

Change detection: Kashflow journal numbers (see :mod:`integrations.sync.flows.kashflow_journal_source`;
templates are skipped). A journal is posted once: a change after posting is recorded, not re-sent.

Writes: one agent operation per journal, many per batch, each under ``lb-<record idempotency key>`` (see
:mod:`integrations.sync.flows.kashflow_invoices_to_sage` for the exactly-once behaviour). Sage assigns the entry
number (``nGetNextEntryNo``); the record is bound to ``<SourceJournal>-<EntryNo>``.

What a journal becomes: an entry in source journal ``source_journal`` (default ``GJ``) dated the journal date,
its comment ``Kashflow journal <number>: <comment>`` (30 characters), one line per Kashflow line on the Sage G/L
account mapped from its nominal code (``gl_accounts``), its debit or credit, the line comment as the posting
comment. Debits must equal credits: an unbalanced journal is refused here with both totals named (it never
reaches Sage, which would refuse it too unless told to accept it out of balance).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from integrations.core.errors import TargetValidationError
from integrations.sync.flows.kashflow_journal_source import KashflowJournalSource
from integrations.sync.flows.kashflow_purchases_to_sage import SageLedgerTarget
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import KASHFLOW_TO_SAGE_LEDGER

log = logging.getLogger("ledgerbridge.sync.flows")

COMMENT_LENGTH = 30
ZERO = Decimal(0)


def default_rules() -> dict[str, Any]:
    return {"gl_accounts": dict(KASHFLOW_TO_SAGE_LEDGER), "source_journal": "GJ", "routing": []}


class KashflowJournalsToSage(SageLedgerTarget, KashflowJournalSource):
    def open(self) -> None:
        super().open()
        self.open_target()

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        journal = self.journal_for(payload, record)
        debits = sum((line.amount for line in journal.lines if line.amount > 0), ZERO)
        credits = -sum((line.amount for line in journal.lines if line.amount < 0), ZERO)
        if debits != credits:
            raise TargetValidationError(
                f"Kashflow journal {journal.number} is not balanced: debits {debits:.2f} and credits {credits:.2f} "
                f"differ by {abs(debits - credits):.2f}; Sage 100 posts balanced journal entries only.",
                system="Mapping",
                code="invalid_value", payload={"journal": journal.number})
        if not debits:
            raise TargetValidationError(f"Kashflow journal {journal.number} moves no money; nothing to post.",
                                        system="Mapping", code="invalid_value", payload={"journal": journal.number})
        gl_accounts = {str(k): str(v) for k, v in (rules.get("gl_accounts") or {}).items()}
        lines = []
        for line in journal.lines:
            if not line.amount:
                continue
            entry: dict[str, Any] = {"AccountKey": self.account_key(line.account_code, gl_accounts),
                                     "PostingComment": (line.description or journal.description
                                                        or f"Kashflow journal {journal.number}")[:COMMENT_LENGTH]}
            if line.amount > 0:
                entry["DebitAmount"] = float(line.amount)
            else:
                entry["CreditAmount"] = float(-line.amount)
            lines.append(entry)
        source_journal = str(rules.get("source_journal") or "GJ").strip().upper()
        if not source_journal or len(source_journal) > 2:
            raise TargetValidationError(f"source_journal {source_journal!r} must be a 1-2 character Sage source "
                                        "journal code.", system="Mapping", code="invalid_value")
        comment = f"Kashflow journal {journal.number}" + (f": {journal.description}" if journal.description else "")
        document = {"key": self.operation_key(record), "object": "GL_GeneralJournal_bus", "action": "create",
                    "fields": {"SourceJournal": source_journal, "PostingDate": journal.journal_date.isoformat(),
                               "JournalComment": comment[:COMMENT_LENGTH]},
                    "lines": lines}
        return Transformed(document=document)

    def target_id(self, document: dict[str, Any], record_key: dict[str, str]) -> str:
        """``<SourceJournal>-<EntryNo>`` of the journal entry (the number Sage assigned)."""
        fields = document.get("fields") or {}
        return f"{record_key.get('SourceJournal') or fields.get('SourceJournal', 'GJ')}-{record_key.get('EntryNo', '')}"
