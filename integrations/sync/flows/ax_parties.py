"""Dynamics AX parties (customers, vendors) -> Kashflow customers / suppliers, record by record (AX is master).

The shared base of ``ax_customers_to_kashflow`` and ``ax_suppliers_to_kashflow``; a subclass names the AX table
(CUSTTABLE / VENDTABLE) and the Kashflow party kind (:class:`~integrations.sync.flows.kashflow_parties.PartyKind`),
nothing else. The polling is :class:`~integrations.sync.flows.ax_products_to_kashflow.AxPolledFlow`; the Kashflow
documents, conflicts and upsert are :mod:`integrations.sync.flows.kashflow_parties`, shared with the Sage flows.

Change detection: the AX database is polled over ODBC (:meth:`AxSqlReader.changes`) on two tables, each with
its own keyset cursor ``(MODIFIEDDATETIME, RECID)`` and look-back window (rows committed late with an earlier
stamp are still read):

* the account table (``CUSTTABLE`` / ``VENDTABLE``) — accounts created or changed (currency, blocking, ...);
* ``DIRPARTYTABLE`` — the global address book party, where the name lives (followed to the account with
  :meth:`AxSqlReader.parties_of`; a party that is not an account of this kind yields nothing).

Each changed account is read in full (name, primary postal address, primary e-mail and phone) and becomes a
canonical :class:`Party`; its digest is the hash of that record, so a row re-read in the look-back window, or
changed in a column the flow does not carry, is skipped. Both cursors are stored as JSON in the flow's cursor
and only move when every record of the scan is settled.

Writes: Kashflow has no batch API and refuses duplicate codes, so each party is one write, preceded by a
natural-key look-up (``GET /customers/{Code}`` or ``/suppliers/{Code}``): a party Kashflow already has is
updated with AX's values (``PUT``, a full replacement: the Kashflow record is read, AX's fields laid over it, and
sent back; nothing is written when it already matches), otherwise it is created. A repeat after a crash
therefore finds the party and does not create it twice. Conflicts resolve to AX: the Kashflow values it
overwrites are recorded as the record's warnings. AX's city and state go to Kashflow as address lines of their
own (``join_town=False``): that is how the Kashflow -> AX flow reads them back.
"""

from __future__ import annotations

import logging
from typing import Any

from integrations.core.canonical import Party, content_hash
from integrations.core.countries import ISO3_TO_ISO2
from integrations.core.errors import TargetValidationError
from integrations.dynamics_ax.adapter import party_from_row
from integrations.sync.flows.ax_products_to_kashflow import AxPolledFlow
from integrations.sync.flows.kashflow_parties import (
    CUSTOMERS,
    SUPPLIERS,
    KashflowPartyWrites,
    PartyKind,
    checked_code,
    party_document,
)
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate, Transformed

__all__ = ["CUSTOMERS", "SUPPLIERS", "AxPartiesToKashflow", "as_party", "default_rules", "kashflow_party"]

log = logging.getLogger("ledgerbridge.sync.flows")

MASTER = "AX"


def default_rules() -> dict[str, Any]:
    """``code_map``: AX account -> Kashflow code (default: the same code); ``currencies``: AX currency ->
    Kashflow currency; ``countries``: AX country/region id -> ISO alpha-2; ``routing``: unused (kept for the
    mapping editor's common shape)."""
    return {"routing": [], "code_map": {}, "currencies": {}, "countries": {}}


class AxPartiesToKashflow(KashflowPartyWrites, AxPolledFlow):
    """Options: ``page_size`` (default 500 rows per change poll), ``overlap_seconds`` (default 30, the
    look-back window for late commits), ``lease_seconds``."""

    table = ""  # CUSTTABLE | VENDTABLE
    kind: PartyKind = CUSTOMERS
    master = MASTER
    ax_noun = ""  # "customer" / "vendor"
    batch_size = 1  # Kashflow has no batch API: one party per call
    # Master data: a party changed after it was posted is written again (the invoice flows keep the posted
    # version). Honoured by the pipeline's "posted version stands" check in Pipeline.persist.
    resend_changes = True

    @property
    def poll_tables(self) -> tuple[str, ...]:  # per instance: the account table of this kind
        return (self.table.lower(), "dirpartytable")

    # ------------------------------------------------------------------ change detection

    def rows_of(self, table: str, rows: list[dict[str, Any]]) -> list[Candidate]:
        """The changed accounts, read in full: from the account table directly, from ``DIRPARTYTABLE`` through
        the party's account of this kind (a party that is not one yields nothing)."""
        if table == self.table.lower():
            accounts = self.read_accounts([row["ACCOUNTNUM"] for row in rows])
        else:
            accounts = self.reader.parties_of(self.table, [row["RECID"] for row in rows])
        return [self._candidate(row) for row in accounts]

    def read_accounts(self, accounts: list[str]) -> list[dict[str, Any]]:
        return self.reader.customers(accounts) if self.table == "CUSTTABLE" else self.reader.vendors(accounts)

    def _candidate(self, row: dict[str, Any]) -> Candidate:
        payload = party_from_row(row, self.kind.name).to_dict()
        return Candidate(source_id=payload["source_id"], digest=content_hash(payload)[:32],
                         number=int(row["RECID"]), summary=payload)

    def canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("source_id"):
            raise TargetValidationError(f"The AX {self.ax_noun} row has no account number.", system="Dynamics AX",
                                        code="unreadable")
        return raw

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        return self.with_conflicts(kashflow_party(as_party(payload, self.kind.name), rules, self.kind))


# ---------------------------------------------------------------------- conversions


def as_party(payload: dict[str, Any], kind: str) -> Party:
    """The canonical party stored on a record. Records stored before the flows used the canonical model kept
    AX's own row shape (``account``, ``address.street/postcode/country``): read those too, so a replay of an
    old inbox entry still works."""
    if "kind" in payload:
        return Party.from_dict(payload)
    address = payload.get("address") or {}
    country = str(address.get("country") or "").upper()
    return Party.from_dict({
        "source_system": "dynamics_ax", "source_id": payload.get("source_id") or "", "kind": kind,
        "code": payload.get("account") or payload.get("source_id") or "", "name": payload.get("name") or "",
        "address": {"street": address.get("street") or "", "city": address.get("city") or "",
                    "county": address.get("state") or "", "zip_code": address.get("postcode") or "",
                    "country_code": ISO3_TO_ISO2.get(country, country)},
        "email": payload.get("email") or "", "phone": payload.get("phone") or "",
        "currency": payload.get("currency") or "", "blocked": bool(payload.get("blocked")),
    })


def kashflow_party(party: Party, rules: dict[str, Any], kind: PartyKind = CUSTOMERS) -> dict[str, Any]:
    """The Kashflow customer / supplier document for a canonical AX party (its code through ``code_map``)."""
    account = party.code or party.source_id
    code = checked_code((rules.get("code_map") or {}).get(account) or account,
                        source=f"AX {kind.label} {account}")
    return party_document(kind, party, code, rules, master=MASTER, join_town=False)
