"""Sage 100 sales-order status -> the Kashflow invoice the order belongs to (a note, or a custom field).

Change detection: ``SO_SalesOrderHeader`` polled over ODBC on ``DateUpdated``/``TimeUpdated`` (see
:class:`~integrations.sync.flows.sage_master_to_kashflow.SageTableSource`). A record's digest is the hash of
(order, status, linked invoice) only, so an order edited without a status change (a comment, a ship-to address)
is settled without a write: one note per status change. The row -> :class:`OrderStatus` conversion is
:func:`integrations.sage100.adapter.order_status`.

The status: Sage's ``OrderStatus`` (N new, O open, C closed/completed, H hold; reference §2.12), with an open order
that has shipping invoiced against it (``CurrentInvoiceNo`` in shipping data entry, or ``LastInvoiceOrderNo``
posted) counted as *shipped*. Canonical statuses (:class:`~integrations.core.canonical.OrderStatus`):
N -> ``open``, O -> ``released`` (or ``shipped``), H -> ``on_hold``, C -> ``invoiced``. The text Kashflow shows for
each is the ``status_labels`` rule.

The link: the order's ``CustomerPONo`` (option ``link_field``: another header column) holds the Kashflow invoice
number, optionally after a prefix (option ``link_prefix``, e.g. ``"KF-"``). An order whose field does not hold a
number (a customer's own PO number) belongs to no Kashflow invoice and is skipped; one that names an invoice
Kashflow does not have goes to the error inbox.

Writes (option ``status_target``):

* ``"note"`` (default): a note on the invoice (``POST /invoices/{number}/notes``). Each note ends with a marker made
  from the record's idempotency key; the invoice's notes are read first and a note already carrying the marker
  is not written again, so a re-run, a replay or a write whose answer was lost never adds a second note.
* ``"custom_field"``: the invoice's custom field (rule ``custom_field``, default ``AdditionalFieldValue``) is set to
  the status text by a read-modify-write of the whole invoice (Kashflow's PUT replaces the invoice: lines and
  payment lines are sent back as read). Nothing is written when the field already shows the text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from integrations.core.canonical import OrderStatus
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.sage100.adapter import order_status
from integrations.sage100.layouts import layout
from integrations.sage100.odbc import row_stamp
from integrations.sync.flows.sage_master_to_kashflow import SageTableSource
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

DEFAULT_LABELS = {"open": "New", "released": "Open", "shipped": "Shipped", "invoiced": "Completed",
                  "on_hold": "On hold", "cancelled": "Cancelled"}
NOTE_LIMIT = 2000
MARKER = re.compile(r"\[lb:[0-9a-f]{16}\]")


def default_rules() -> dict[str, Any]:
    """``status_labels``: canonical status -> the text Kashflow shows; ``custom_field``: the invoice field the
    ``custom_field`` target writes; ``routing``: unused."""
    return {"status_labels": dict(DEFAULT_LABELS), "custom_field": "AdditionalFieldValue", "routing": []}


class SageOrderStatusToKashflow(SageTableSource):
    """Options: ``status_target`` (``"note"`` | ``"custom_field"``), ``link_field`` (default ``CustomerPONo``),
    ``link_prefix``, ``page_size``, ``lookback_minutes``."""

    entity = "order_status"
    stream = "so_salesorderheader"
    table = "SO_SalesOrderHeader"

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.target = str(self.options.get("status_target") or "note").strip().lower()
        if self.target not in ("note", "custom_field"):
            self.target = "note"
        wanted = str(self.options.get("link_field") or "CustomerPONo").strip()
        column = layout(self.table).column(wanted)
        self.link_field = column.name if column is not None else "CustomerPONo"
        self.link_prefix = str(self.options.get("link_prefix") or "").strip().upper()
        self.columns = tuple(dict.fromkeys(("SalesOrderNo", "OrderType", "OrderStatus", "ARDivisionNo", "CustomerNo",
                                            "CurrentInvoiceNo", "LastInvoiceOrderNo", "LastInvoiceOrderDate",
                                            self.link_field)))

    # ------------------------------------------------------------------ change detection

    def candidates_for(self, rows: list[dict[str, Any]]) -> list[Candidate]:
        page = []
        for row in rows:
            order = str(row.get("SalesOrderNo") or "")
            if not order:
                continue
            status = order_status(row, self.link_field, self.link_prefix, row_stamp(row))
            identity = {"order": order, "status": status.status, "invoice": status.invoice_number}
            page.append(self.candidate(order, status.to_dict(), identity))
        return page

    def unwanted_listed(self, candidate: Candidate) -> str:
        return self.unwanted(candidate.summary)

    def unwanted(self, payload: dict[str, Any]) -> str:
        if not payload.get("invoice_number"):
            return f"The order's {self.link_field} names no Kashflow invoice."
        if not payload.get("status"):
            return f"Sage order status {payload.get('detail')!r} is not one Ledgerbridge reflects."
        return ""

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        try:
            status = OrderStatus.from_dict(payload)
        except (KeyError, ValueError, TypeError) as error:
            raise TargetValidationError(f"The stored order status is not valid ({error}).", system="Ledgerbridge",
                                        code="invalid_payload") from None
        labels = {**DEFAULT_LABELS, **(rules.get("status_labels") or {})}
        label = str(labels.get(status.status) or "").strip()
        if not label:
            raise TargetValidationError(f"No Kashflow text is mapped for order status {status.status!r}; set it in "
                                        "status_labels.", system="Mapping", code="mapping_missing",
                                        payload={"status": status.status})
        try:
            self.target_gate.call(lambda: self.lookup.get_invoice(status.invoice_number), metered=False)
        except NotFoundError:
            raise TargetValidationError(
                f"Sage sales order {status.source_id} names Kashflow invoice {status.invoice_number} in "
                f"{self.link_field}, but Kashflow has no invoice {status.invoice_number}.", system="Mapping",
                code="invalid_value", payload={"order": status.source_id, "invoice": status.invoice_number}) from None
        text = f"Sage 100 sales order {status.source_id}: {label}"
        if status.detail:
            text += f" ({status.detail})"
        if status.changed_at:
            text += f", {status.changed_at.replace('T', ' ')[:16]}"
        document: dict[str, Any] = {"invoice": status.invoice_number, "order": status.source_id,
                                    "target": self.target, "label": label}
        if self.target == "note":
            document["text"] = f"{text[:NOTE_LIMIT - 24]} {marker(record)}"
        else:
            document["field"] = str(rules.get("custom_field") or "AdditionalFieldValue")
            document["value"] = f"{label} (Sage order {status.source_id})"
        return Transformed(document=document)

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        return [self.write(document) for document in documents]

    def write(self, document: dict[str, Any]) -> str:
        invoice = document["invoice"]
        if document["target"] == "note":
            existing = self._note_with(invoice, document["text"])
            if existing is not None:
                return existing
            note = self.kashflow.add_note("invoices", invoice, document["text"])
            return f"{invoice}/notes/{note.get('Number', '')}"
        current = self.kashflow.get_invoice(invoice)
        field = document["field"]
        if str(current.get(field) or "") != document["value"]:
            saved = self.kashflow.invoices.update(invoice, {**current, field: document["value"]})
            if str((saved or {}).get(field) or "") != document["value"]:
                raise TargetValidationError(
                    f"Kashflow did not keep {field} on invoice {invoice} (it documents no custom fields on "
                    "invoices); use status_target \"note\" or map custom_field to a field Kashflow keeps.",
                    system="Kashflow", code="invalid_value", payload={"invoice": invoice, "field": field})
        return f"{invoice}/{field}"

    def _note_with(self, invoice: str, text: str) -> str | None:
        found = MARKER.search(text)
        for note in self.kashflow.list_notes("invoices", invoice):
            if found and found.group(0) in str(note.get("Text") or ""):
                return f"{invoice}/notes/{note.get('Number', '')}"
        return None

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        if not document.get("invoice"):
            return None
        try:
            if document.get("target") == "note":
                return self._note_with(document["invoice"], document["text"])
            current = self.kashflow.get_invoice(document["invoice"])
        except NotFoundError:
            return None
        field = document.get("field")
        return f"{document['invoice']}/{field}" if str(current.get(field) or "") == document.get("value") else None


def marker(record: SyncRecord) -> str:
    """What makes a note recognisable as this record's: the same record version always writes the same marker."""
    return f"[lb:{record.idempotency_key[:16]}]"
