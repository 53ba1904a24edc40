"""The Kashflow side of the flows that carry Kashflow sales invoices to an ERP (AX, Sage 100).

Change detection: Kashflow has no modified-since filter for invoices, so each run lists invoices by number —
incrementally, newest first, down to the watermark minus an overlap (numbers committed late are caught),
and as a full sweep every ``full_sweep_minutes`` (status changes on older invoices, gaps far below the
watermark) — and compares each listed invoice's digest with the one settled last time. Only changed
invoices are fetched in full.

A flow subclasses :class:`KashflowInvoiceSource` and adds the target side (``transform``, ``send``,
``find_existing``), reading the invoice with :meth:`KashflowInvoiceSource.invoice_for`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import InvalidOperation
from typing import Any

from django.utils import timezone

from integrations.core.canonical import SalesInvoice, content_hash
from integrations.core.errors import TargetValidationError
from integrations.kashflow.adapter import invoice_to_canonical
from integrations.sync.connectors import kashflow_client_for
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan

PAGE_SIZE = 250
OVERLAP_NUMBERS = 200
SORT_BY_NUMBER = 0


class KashflowInvoiceSource(RecordFlow):
    """Kashflow sales invoices as the source of a record flow (options: ``paid_only``, ``batch_size``,
    ``full_sweep_minutes``, ``overlap_numbers``, ``page_size``)."""

    entity = "sales_invoice"
    stream = "invoices"
    # The Kashflow list the change detection walks (numbered documents: "invoices", "purchases", "journals").
    list_path = "invoices"

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.paid_only = bool(self.options.get("paid_only", True))
        self.batch_size = max(1, min(200, int(self.options.get("batch_size", 100))))
        self.sweep_every = timedelta(minutes=float(self.options.get("full_sweep_minutes", 15)))
        self.overlap = int(self.options.get("overlap_numbers", OVERLAP_NUMBERS))
        self.page_size = max(1, min(1000, int(self.options.get("page_size", PAGE_SIZE))))
        self._parsed: dict[str, SalesInvoice] = {}  # converted this run: spares parsing the payload back

    def open(self) -> None:
        self.kashflow = kashflow_client_for(self.flow.source, gate=self.source_gate)

    # ------------------------------------------------------------------ change detection

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        watermark = cursor.get("watermark")
        last_sweep = _parse(cursor.get("last_sweep"))
        scan.full_sweep = watermark is None or last_sweep is None or timezone.now() - last_sweep >= self.sweep_every
        order = "asc" if scan.full_sweep else "desc"
        floor = None if scan.full_sweep else int(watermark) - self.overlap
        page_no = 1
        while True:
            page = self.source_gate.call(lambda n=page_no: self.kashflow.get(self.list_path, {
                "page": n, "perpage": self.page_size, "sortby": SORT_BY_NUMBER, "order": order}), metered=False)
            items = (page or {}).get("Data") or [] if isinstance(page, dict) else []
            batch = []
            for item in items:
                try:
                    number = int(item.get("Number"))
                except (TypeError, ValueError):
                    number = None
                if floor is not None and number is not None and number < floor:
                    continue
                batch.append(Candidate(source_id=str(item.get("Number", "")), digest=content_hash(item)[:32],
                                       number=number, summary=item))
                if number is not None:
                    scan.numbers_seen.append(number)
            if batch:
                yield batch
            reached_floor = floor is not None and any(
                c.get("Number") is not None and _int(c.get("Number")) < floor for c in items)
            if not items or reached_floor or not ((page or {}).get("MetaData") or {}).get("NextPageUrl"):
                break
            page_no += 1
        scan.complete = True

    def next_cursor(self, cursor: dict[str, Any], scan: Scan) -> dict[str, Any]:
        """Advance the watermark only over numbers whose records are settled."""
        value = dict(cursor)
        if scan.numbers_seen:
            top = max(scan.numbers_seen)
            if scan.unsettled_numbers:
                top = min(top, min(scan.unsettled_numbers) - 1)
            value["watermark"] = top
        if scan.full_sweep and not scan.unsettled_numbers:
            value["last_sweep"] = timezone.now().isoformat()
        return value

    def load(self, candidate: Candidate) -> Any:
        return self.kashflow.get_invoice(candidate.source_id)

    def canonical(self, raw: Any) -> dict[str, Any]:
        invoice = invoice_to_canonical(raw)
        if len(self._parsed) > 5000:  # records that were never transformed (already settled) don't pile up
            self._parsed.clear()
        self._parsed[invoice.source_id] = invoice
        return invoice.to_dict()

    def unwanted_listed(self, candidate: Candidate) -> str:
        if self.paid_only and candidate.summary.get("Status") not in (None, "Paid"):
            return "Not paid yet (the flow carries paid invoices only)."
        return ""

    def unwanted(self, payload: dict[str, Any]) -> str:
        if self.paid_only and payload.get("status") != "paid":
            return "Not paid yet (the flow carries paid invoices only)."
        return ""

    # ------------------------------------------------------------------ for the target side

    def invoice_for(self, payload: dict[str, Any], record: SyncRecord) -> SalesInvoice:
        """The record's invoice (converted this run, or read back from the stored payload)."""
        try:
            invoice = self._parsed.pop(record.source_id, None) if not record.original_payload else None
            if invoice is None:
                invoice = SalesInvoice.from_dict(payload)
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise TargetValidationError(f"The stored invoice is not a valid sales invoice ({error}).",
                                        system="Ledgerbridge", code="invalid_payload") from None
        return invoice


def route(invoice: SalesInvoice, routing: list[dict[str, Any]]) -> str:
    """Conditional routing: the first matching ``hold`` rule's reason, or "".

    The rules are :mod:`mapping.rules` routing rules: ``{"when": "total_above", "amount": ...}`` (the original
    form) or ``{"when": <expression>, "action": "hold"|"skip", "reason": ...}``. Callers that can skip records
    use :func:`mapping.rules.route_invoice`, which also answers the skip reason; here only holds count."""
    from mapping.rules import route_invoice

    hold_rules = [rule for rule in routing if isinstance(rule, dict) and rule.get("action", "hold") == "hold"]
    return route_invoice(invoice, hold_rules)[0] if hold_rules else ""


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def jsonable(document: Any) -> Any:
    return json.loads(json.dumps(document, default=str))
