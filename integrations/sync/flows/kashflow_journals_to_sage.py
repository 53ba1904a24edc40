"""Kashflow journals -> Sage 100 G/L general journal entries, written through the agent (GL_GeneralJournal_bus).

Change detection: Kashflow journal numbers (see :mod:`integrations.sync.flows.kashflow_journal_source`;
templates are skipped). A journal is posted once: a change after posting is recorded, not re-sent.

Writes: one agent operation per journal, many per batch, each under ``lb-<record idempotency key>`` (see
:mod:`integrations.sync.flows.kashflow_invoices_to_sage` for the exactly-once behaviour). Sage assigns the entry
number (``nGetNextEntryNo``); the record is bound to ``<SourceJournal>-<EntryNo>``.

What a journal becomes: an entry in source journal ``source_journal`` (default ``GJ``) dated the journal date,
its comment ``Kashflow journal <number>: <comment>`` (30 characters), one line per mapped line on its Sage G/L
account, its debit or credit, the line comment as the posting comment. Debits must equal credits: an unbalanced
journal is refused here with both totals named (it never reaches Sage, which would refuse it too unless told to
accept it out of balance). The operation is built by :func:`integrations.sage100.adapter.gl_journal_operation`.

The lines are mapped by the tenant's rules through the engine every Kashflow document flow shares
(:func:`mapping.rules.apply_mapping`): ``gl_accounts`` / ``gl_rules``, dimensions (``Division`` / ``Department``
become the account's segments), line splits (each part to the cent, the remainder on the last: the entry still
balances to the penny) and merges (by account, dimensions and side), ``routing`` (hold / skip), and
``field_mappings`` / custom fields of kind field as entry fields.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from integrations.sage100.adapter import gl_journal_operation
from integrations.sync.flows.kashflow_journal_source import KashflowJournalSource
from integrations.sync.flows.kashflow_purchases_to_sage import ACCOUNT_LABEL, SageLedgerTarget
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import KASHFLOW_TO_SAGE_LEDGER

log = logging.getLogger("ledgerbridge.sync.flows")


def default_rules() -> dict[str, Any]:
    return {"gl_accounts": dict(KASHFLOW_TO_SAGE_LEDGER), "source_journal": "GJ", "routing": []}


class KashflowJournalsToSage(SageLedgerTarget, KashflowJournalSource):
    def open(self) -> None:
        super().open()
        self.open_target()

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        journal = self.journal_for(payload, record)
        # Mapping keeps each side's total (splits and merges are exact), so gl_journal_operation still refuses an
        # unbalanced journal with Kashflow's own totals named.
        mapped = self.apply_rules(journal, rules, record, account_label=ACCOUNT_LABEL)
        if mapped.skip:
            return Transformed(skip=mapped.skip, warnings=mapped.warnings)
        document = gl_journal_operation(replace(journal, lines=self.posted_lines(mapped)),
                                        key=self.operation_key(record),
                                        source_journal=str(rules.get("source_journal") or "GJ"),
                                        account_for=lambda key: key)
        document["fields"].update(mapped.fields)  # field mappings and custom fields of kind field
        return Transformed(document=document, hold=mapped.hold, warnings=mapped.warnings)

    def target_id(self, document: dict[str, Any], record_key: dict[str, str]) -> str:
        """``<SourceJournal>-<EntryNo>`` of the journal entry (the number Sage assigned)."""
        fields = document.get("fields") or {}
        return f"{record_key.get('SourceJournal') or fields.get('SourceJournal', 'GJ')}-{record_key.get('EntryNo', '')}"
