"""The Kashflow side of the flows that carry Kashflow purchase invoices to an ERP (AX, Sage 100).

Purchases are numbered documents like sales invoices and, like them, have no modified-since filter: the
change detection is the invoices' (:mod:`integrations.sync.flows.kashflow_source`) walking ``/purchases``
instead — incremental runs newest first down to the watermark minus an overlap, a full sweep every
``full_sweep_minutes``, and only purchases whose listing digest changed are fetched.

Every purchase is carried, paid or not (a supplier invoice is a liability from the day it is booked); the
option ``paid_only`` restricts it to paid ones. A purchase is posted once: a change after posting is recorded
and not re-sent (the ERP's journal stands).

A flow subclasses :class:`KashflowPurchaseSource` and adds the target side, reading the purchase with
:meth:`KashflowPurchaseSource.purchase_for` and applying the tenant's rules with :meth:`MappedSource.apply_rules`
(the engine the sales invoices use, :func:`mapping.rules.apply_mapping`).
"""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from integrations.core.canonical import Journal, PurchaseInvoice
from integrations.core.errors import TargetValidationError
from integrations.kashflow.adapter import purchase_to_canonical
from integrations.sync.flows.kashflow_source import KashflowInvoiceSource
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate
from mapping.enrichment import SyncedRecords
from mapping.rules import MappedDocument, apply_mapping


class MappedSource:
    """How the purchase and journal flows apply the tenant's rules: one enrichment source per run (values of data
    already synced, each read once), and the record's anomaly score for routing rules (0 until the co-pilot has
    scored it)."""

    _enrichment: SyncedRecords | None = None

    def apply_rules(self, document: PurchaseInvoice | Journal, rules: dict[str, Any], record: SyncRecord, *,
                    account_label: str) -> MappedDocument:
        return apply_mapping(document, rules, account_label=account_label, enrichment=self.enrichment(),
                             anomaly_score=getattr(record, "anomaly_score", None))

    def enrichment(self) -> SyncedRecords:
        if self._enrichment is None:
            self._enrichment = SyncedRecords()
        return self._enrichment


class KashflowPurchaseSource(MappedSource, KashflowInvoiceSource):
    """Kashflow purchases (purchase invoices and expenses) as the source of a record flow (options:
    ``paid_only`` (default false), ``batch_size``, ``full_sweep_minutes``, ``overlap_numbers``, ``page_size``)."""

    entity = "purchase_invoice"
    stream = "purchases"
    list_path = "purchases"

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.paid_only = bool(self.options.get("paid_only", False))

    def load(self, candidate: Candidate) -> Any:
        return self.kashflow.get(f"purchases/{int(candidate.source_id)}")

    def canonical(self, raw: Any) -> dict[str, Any]:
        return purchase_to_canonical(raw).to_dict()

    def purchase_for(self, payload: dict[str, Any], record: SyncRecord) -> PurchaseInvoice:
        try:
            return PurchaseInvoice.from_dict(payload)
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise TargetValidationError(f"The stored purchase is not a valid purchase invoice ({error}).",
                                        system="Ledgerbridge", code="invalid_payload") from None
