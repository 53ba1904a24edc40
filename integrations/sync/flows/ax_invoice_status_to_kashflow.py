"""Dynamics AX invoice status -> a note on the Kashflow invoice it came from ("order status back" for AX).

The AX sandbox (like many AX 2012 set-ups fed by an accounting front end) has no sales orders: a Kashflow invoice
becomes an AX free-text invoice (``kashflow_invoices_to_ax``), which AX then *posts* (a posting batch job:
CUSTINVOICEJOUR, a CUSTTRANS and its CUSTTRANSOPEN) and later *settles* against payments (CUSTTRANS.SETTLEAMOUNTCUR,
CLOSED; the CUSTTRANSOPEN row shrinks or goes). That life cycle is what this flow reports back.

Change detection: ``CUSTTRANS`` polled over ODBC on ``(MODIFIEDDATETIME, RECID)`` with a look-back window
(:class:`~integrations.sync.flows.ax_products_to_kashflow.AxPolledFlow`); posting inserts the invoice's row and
every settlement restamps it. The changed invoice rows (AMOUNTCUR > 0) are followed to their free-text invoice
header (CUSTINVOICETABLE.INVOICEID, whose CUSTOMERREF is the Kashflow invoice number) and read with their
settlement (:meth:`AxSqlReader.invoice_status`). Only invoices that ``kashflow_invoices_to_ax`` posted from this
Kashflow account are reported (their binding), so AX's own invoices never write to Kashflow. The record is the
canonical :class:`~integrations.core.canonical.OrderStatus` (source id = the AX invoice id, ``detail`` the status
text); its digest covers the status and the settled amount only, so each change is one note and a row restamped
without a change writes nothing.

Writes: a note on the Kashflow invoice (``POST /invoices/{number}/notes``), e.g. ``Dynamics AX: posted as invoice
GB-0007 on 2026-11-23 (87.59 GBP, due 2026-12-23)`` or ``Dynamics AX: invoice GB-0007 settled on 2026-11-25
(87.59 GBP)``. Each note ends with a marker made from the record's idempotency key; the invoice's notes are read
first and a note already carrying the marker is not written again, so a repeat after a lost answer, a re-run or a
replay never adds a second note.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from integrations.core.canonical import OrderStatus, content_hash
from integrations.core.errors import AUTH, CONFIGURATION, ConnectorError, TargetValidationError
from integrations.sync.flows.ax_products_to_kashflow import AxPolledFlow
from integrations.sync.limits import CircuitOpen
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Candidate, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

NOTE_LIMIT = 2000
INVOICE_FLOW_ENTITY = "sales_invoice"  # what kashflow_invoices_to_ax binds


def default_rules() -> dict[str, Any]:
    """``note_prefix``: how each note starts; ``routing``: unused (the mapping editor's common shape)."""
    return {"note_prefix": "Dynamics AX", "routing": []}


class AxInvoiceStatusToKashflow(AxPolledFlow):
    """Options: ``page_size`` (500), ``overlap_seconds`` (30), ``only_bound`` (default true: only invoices this
    tenant's ``kashflow_invoices_to_ax`` posted), ``lease_seconds``."""

    entity = "invoice_status"
    stream = "custtrans"
    batch_size = 1  # one note per call
    resend_changes = True  # every status change of an invoice is reported (a new note)
    poll_tables = ("custtrans",)

    def rows_of(self, table: str, rows: list[dict[str, Any]]) -> list[Candidate]:
        invoice_ids = sorted({str(r.get("INVOICE") or "") for r in rows
                              if r.get("INVOICE") and Decimal(str(r.get("AMOUNTCUR") or 0)) > 0})
        if not invoice_ids:
            return []
        headers = [h for h in self.reader.invoice_headers(invoice_ids=invoice_ids) if h.get("POSTED")]
        if bool(self.options.get("only_bound", True)):
            ours = set(Binding.objects.filter(
                connection=self.flow.source, source_connection=self.flow.target, entity=INVOICE_FLOW_ENTITY,
                source_id__in=[str(h.get("CUSTOMERREF") or "") for h in headers]).values_list("source_id", flat=True))
            headers = [h for h in headers if str(h.get("CUSTOMERREF") or "") in ours]
        if not headers:
            return []
        statuses = self.reader.invoice_status([h["INVOICEID"] for h in headers])
        recids = {str(r.get("INVOICE")): int(r["RECID"]) for r in rows if r.get("INVOICE")}
        out = []
        for header in headers:
            status = statuses.get(header["INVOICEID"])
            if status is None:
                continue
            record = OrderStatus(source_system="dynamics_ax", source_id=str(header["INVOICEID"]), status="invoiced",
                                 invoice_number=str(header.get("CUSTOMERREF") or ""),
                                 customer_code=str(header.get("ORDERACCOUNT") or ""), detail=status_text(status))
            payload = record.to_dict()
            out.append(Candidate(source_id=record.source_id, number=recids.get(record.source_id),
                                 digest=content_hash([status.status, str(status.settled), payload])[:32],
                                 summary=payload))
        return out

    def canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("source_id"):
            raise TargetValidationError("The AX invoice row has no invoice id.", system="Dynamics AX",
                                        code="unreadable")
        return raw

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        status = OrderStatus.from_dict(payload)
        number = status.invoice_number.strip()
        if not number.isdigit():
            raise TargetValidationError(
                f"AX invoice {status.source_id} names Kashflow invoice {number!r} in CustomerRef, which is not a "
                "Kashflow invoice number.", system="Mapping", code="invalid_value",
                payload={"invoice": status.source_id, "customer_ref": number})
        prefix = str(rules.get("note_prefix") or "Dynamics AX")
        text = f"{prefix}: {status.detail}"
        marker = note_marker(record)
        return Transformed(document={"invoice": int(number), "text": f"{text} {marker}"[:NOTE_LIMIT],
                                     "marker": marker})

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        out: list[str | ConnectorError] = []
        for document in documents:
            try:
                out.append(self.write_note(document))
            except ConnectorError as error:
                if error.kind in (AUTH, CONFIGURATION) or isinstance(error, CircuitOpen):
                    raise
                out.append(error)
        return out

    def write_note(self, document: dict[str, Any]) -> str:
        existing = self.find_note(document)
        if existing is not None:
            return existing
        note = self.kashflow.add_note("invoices", document["invoice"], document["text"])
        return f"{document['invoice']}/notes/{(note or {}).get('Number', '')}"

    def find_note(self, document: dict[str, Any]) -> str | None:
        for note in self.kashflow.list_notes("invoices", document["invoice"]):
            if document["marker"] in str(note.get("Text") or ""):
                return f"{document['invoice']}/notes/{note.get('Number', '')}"
        return None

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        return self.find_note(document) if document.get("marker") else None


def status_text(status) -> str:
    """What Kashflow's users read: posted / part settled / settled, with the amounts (AX's currency)."""
    amount = f"{status.amount:.2f} {status.currency}"
    if status.status == "paid":
        when = f" on {status.last_settled.isoformat()}" if status.last_settled else ""
        return f"invoice {status.invoice} settled{when} ({amount})"
    if status.status == "partially_paid":
        return (f"invoice {status.invoice} part settled: {status.settled:.2f} of {amount}, "
                f"{status.open_amount:.2f} open")
    due = f", due {status.due_date.isoformat()}" if status.due_date else ""
    return f"posted as invoice {status.invoice} ({amount}{due}), open"


def note_marker(record: SyncRecord) -> str:
    return f"[lb:{record.idempotency_key[:16]}]"
