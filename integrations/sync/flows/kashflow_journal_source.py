"""The Kashflow side of the flows that carry Kashflow nominal journals to an ERP (AX, Sage 100).

Journals are numbered like invoices and have no modified-since filter either, so the change detection is the
invoices' (:mod:`integrations.sync.flows.kashflow_source`) walking ``/journals``: listed by number, only
journals whose listing digest changed are fetched. Templates are not journals and are skipped. A journal is
posted once: a change after posting is recorded, not re-sent.

Kashflow journals carry no currency (they are in the account's home currency): the option
``home_currency`` (default GBP) names it.

A flow subclasses :class:`KashflowJournalSource` and adds the target side, reading the journal with
:meth:`KashflowJournalSource.journal_for` and applying the tenant's rules with
:meth:`~integrations.sync.flows.kashflow_purchase_source.MappedSource.apply_rules`.
"""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from integrations.core.canonical import Journal
from integrations.core.errors import TargetValidationError
from integrations.kashflow.adapter import journal_to_canonical
from integrations.sync.flows.kashflow_purchase_source import MappedSource
from integrations.sync.flows.kashflow_source import KashflowInvoiceSource
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate


class KashflowJournalSource(MappedSource, KashflowInvoiceSource):
    """Kashflow journals as the source of a record flow (options: ``home_currency``, ``batch_size``,
    ``full_sweep_minutes``, ``overlap_numbers``, ``page_size``)."""

    entity = "journal"
    stream = "journals"
    list_path = "journals"

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.paid_only = False
        self.home_currency = str(self.options.get("home_currency") or "GBP").upper()

    def unwanted_listed(self, candidate: Candidate) -> str:
        return "A journal template, not a journal." if candidate.summary.get("IsTemplate") else ""

    def unwanted(self, payload: dict[str, Any]) -> str:
        return "" if payload.get("lines") else "The journal has no lines."

    def load(self, candidate: Candidate) -> Any:
        return self.kashflow.get(f"journals/{int(candidate.source_id)}")

    def canonical(self, raw: Any) -> dict[str, Any]:
        return journal_to_canonical(raw, currency=self.home_currency).to_dict()

    def journal_for(self, payload: dict[str, Any], record: SyncRecord) -> Journal:
        try:
            return Journal.from_dict(payload)
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise TargetValidationError(f"The stored journal is not a valid journal ({error}).",
                                        system="Ledgerbridge", code="invalid_payload") from None
