"""Sage 100 master data -> Kashflow: the Sage side shared by the customer, supplier and product flows.

Change detection: the master table (AR_Customer, AP_Vendor, CI_Item) is polled over ODBC with
:meth:`SageOdbcReader.changes` on ``DateUpdated``/``TimeUpdated`` (and the created pair): the reader re-reads a
look-back window (``lookback_minutes``; ProvideX filters dates to the day, so in practice from the start of that
day), orders rows by (stamp, key) in Python and skips those it already emitted, so a row committed late with an
earlier stamp is still read. Each row is turned into its canonical record and offered with the hash of that
record as its digest: a row re-read, or changed only in columns the flow does not carry (balances, dates of last
activity: Sage stamps the customer whenever an invoice posts), is skipped by the pipeline without a write.

The cursor (the reader's :class:`ChangeCursor` as JSON under ``changes``) is stored only when every record of the
scan is settled; otherwise the next run reads the same changes again and the settled ones are skipped by digest.

Writes go to Kashflow one record per call (no batch API) through a natural-key look-up first; see
:mod:`integrations.sync.flows.kashflow_parties` and :mod:`integrations.sync.flows.sage_products_to_kashflow`.
Sage is master: what the write overwrites in Kashflow is recorded as the record's warnings. The row -> canonical
conversions are in :mod:`integrations.sage100.adapter`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from integrations.core.canonical import Party, content_hash
from integrations.core.errors import ConfigurationError, TargetValidationError
from integrations.sage100.adapter import sage_party
from integrations.sage100.odbc import ChangeCursor, SageOdbcReader
from integrations.sync.connectors import kashflow_client_for
from integrations.sync.flows.kashflow_parties import (
    KashflowPartyWrites,
    PartyKind,
    checked_code,
    party_document,
)
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

PAGE_SIZE = 500
LOOKBACK_MINUTES = 15
MASTER = "Sage 100"


class SageTableSource(RecordFlow):
    """A Sage 100 table polled over ODBC for changes (``DateUpdated``/``TimeUpdated``) as a flow's source.

    The base of every Sage -> Kashflow flow (master data, stock, order and paid status). Subclasses name
    ``table`` and ``columns`` and either convert a row to its canonical payload (:meth:`payload`; the digest is
    then the hash of that payload) or turn a page of changed rows into candidates themselves
    (:meth:`candidates_for`, with :meth:`candidate` choosing what the digest covers). Options: ``page_size``
    (rows per change poll, default 500), ``lookback_minutes`` (default 15: rows committed late with an earlier
    stamp are still read), ``lease_seconds``."""

    table: str = ""
    columns: tuple[str, ...] = ()
    cursor_key = ""  # where the table's cursor is kept in the flow's cursor ("" = under the flow's stream)
    batch_size = 1  # Kashflow has no batch API: one write per call
    # A changed source value is written again (master data, a stock level, a status): honoured by the pipeline's
    # "posted version stands" check in Pipeline.persist (invoices keep the posted version).
    resend_changes = True

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.page_size = max(1, min(5000, int(self.options.get("page_size", PAGE_SIZE))))
        self.lookback = timedelta(minutes=float(self.options.get("lookback_minutes", LOOKBACK_MINUTES)))
        self._next: dict[str, Any] | None = None
        self._sequence = 0

    def open(self) -> None:
        self.reader = SageOdbcReader.from_settings(self.flow.source.settings or {})
        self.kashflow = kashflow_client_for(self.flow.target, gate=self.target_gate)
        # Look-ups during transform run while a write may be in flight on the sender thread: their own client.
        self.lookup = kashflow_client_for(self.flow.target, gate=self.target_gate)

    # ------------------------------------------------------------------ change detection

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        key = self.cursor_key or self.stream
        stored = cursor.get(key)
        position = ChangeCursor.from_json(stored) if stored else None
        self._sequence = 0
        try:
            while True:
                batch = self.source_gate.call(
                    lambda p=position: self.reader.changes(self.table, p, columns=list(self.columns),
                                                           lookback=self.lookback, limit=self.page_size),
                    metered=False)
                position = batch.cursor
                page = self.candidates_for(batch.rows) if batch.rows else []
                if page:
                    yield page
                if not batch.more:
                    break
        finally:
            self.reader.close()
        self._next = {key: position.to_json()} if position is not None else {}
        scan.complete = True

    def candidates_for(self, rows: list[dict[str, Any]]) -> list[Candidate]:
        """One candidate a row, its digest the hash of the row's canonical payload."""
        return [self.candidate(payload["source_id"], payload, payload) for payload in map(self.payload, rows)]

    def payload(self, row: dict[str, Any]) -> dict[str, Any]:
        """The canonical record (JSON) of a row; subclasses convert (or override :meth:`candidates_for`)."""
        raise NotImplementedError

    def candidate(self, source_id: str, payload: dict[str, Any], identity: dict[str, Any]) -> Candidate:
        """A candidate whose digest is the hash of ``identity`` (what must change for a write to be due).

        ``number`` is a sequence within the scan: the pipeline uses it to tell whether every record of the scan
        was settled before the cursor moves."""
        self._sequence += 1
        return Candidate(source_id=source_id, digest=content_hash(identity)[:32], number=self._sequence,
                         summary=payload)

    def next_cursor(self, cursor: dict[str, Any], scan: Scan) -> dict[str, Any]:
        """The table's cursor, unless a record of the scan is still unsettled (then the next run reads the
        same changes again; the settled ones are skipped by their digest)."""
        if self._next is None or scan.unsettled_numbers:
            return cursor
        return {**cursor, **self._next}

    def load(self, candidate: Candidate) -> Any:
        return candidate.summary  # read in full by the change poll

    def canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("source_id"):
            raise TargetValidationError(f"The Sage 100 {self.table} row could not be read.", system=MASTER,
                                        code="unreadable")
        return raw


class SageMasterSource(SageTableSource):
    """A Sage 100 master table (AR_Customer, AP_Vendor, CI_Item) written to Kashflow record by record.

    Its cursor is kept under ``changes`` (where these flows have always stored it), and it refuses a connection
    without ODBC settings rather than falling back to the default DSN: the master flows read Sage's tables and
    nothing else."""

    cursor_key = "changes"

    def open(self) -> None:
        settings = self.flow.source.settings or {}
        if not (settings.get("odbc") or settings.get("dsn")):
            raise ConfigurationError(
                f"The Sage 100 connection {self.flow.source.name!r} has no ODBC settings (odbc or dsn); this flow "
                "reads Sage's tables over ODBC.", system=MASTER)
        super().open()


class SagePartiesToKashflow(KashflowPartyWrites, SageMasterSource):
    """Sage customers (AR_Customer) or vendors (AP_Vendor) -> Kashflow customers or suppliers."""

    kind: PartyKind
    master = MASTER
    division_column = ""
    number_column = ""
    name_column = ""

    def payload(self, row: dict[str, Any]) -> dict[str, Any]:
        return sage_party(row, self.kind.name, self.division_column, self.number_column,
                          self.name_column).to_dict()

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        party = Party.from_dict(payload)
        return self.with_conflicts(party_document(self.kind, party, self.kashflow_code(party, rules), rules,
                                                  master=MASTER))

    def kashflow_code(self, party: Party, rules: dict[str, Any]) -> str:
        """The Kashflow code of a Sage party: ``code_map``; else the code of the Kashflow party it was created
        from (Kashflow -> Sage flow's binding, so a party made in Kashflow is not echoed back under a second
        code); else ``DD-NUMBER``, the form ``kashflow_invoices_to_sage`` reads."""
        mapped = (rules.get("code_map") or {}).get(party.source_id)
        if mapped:
            return checked_code(mapped, source=f"Sage {self.kind.label} {party.source_id}")
        came_from = (Binding.objects.filter(connection=self.flow.source, source_connection=self.flow.target,
                                            entity=self.kind.name, external_id=party.source_id)
                     .values_list("source_id", flat=True).first())
        return checked_code(came_from or party.code, source=f"Sage {self.kind.label} {party.source_id}")
