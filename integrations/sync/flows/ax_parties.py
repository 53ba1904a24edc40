"""Dynamics AX parties (customers, vendors) -> Kashflow customers / suppliers, record by record (AX is master).

The shared base of ``ax_customers_to_kashflow`` and ``ax_suppliers_to_kashflow``; a subclass names the AX table
(CUSTTABLE / VENDTABLE) and the Kashflow shape (:class:`KashflowShape`), nothing else.

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
overwrites are recorded as the record's warnings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from integrations.core.canonical import Party, content_hash
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.dynamics_ax.adapter import ISO3_TO_ISO2, party_from_row
from integrations.dynamics_ax.sql import AxSqlReader, ChangeCursor
from integrations.sync.connectors import kashflow_client_for
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

PAGE_SIZE = 500
OVERLAP_SECONDS = 30
CODE_LIMIT = 20  # Kashflow customer / supplier codes
NAME_LIMIT = 100
CODE_FORBIDDEN = "/\\?#%"
ADDRESS_FIELDS = ("Line1", "Line2", "Line3", "Line4", "PostCode", "CountryCode")


def default_rules() -> dict[str, Any]:
    """``code_map``: AX account -> Kashflow code (default: the same code); ``currencies``: AX currency ->
    Kashflow currency; ``countries``: AX country/region id -> ISO alpha-2; ``routing``: unused (kept for the
    mapping editor's common shape)."""
    return {"routing": [], "code_map": {}, "currencies": {}, "countries": {}}


@dataclass(frozen=True)
class KashflowShape:
    """How a Kashflow party kind is shaped: customers keep ``Addresses[]`` and Email / TelephoneNumber on the
    record; suppliers one ``Address`` object, e-mail and phone on their primary contact, ``VatNumber``."""

    kind: str  # canonical Party.kind: customer | supplier
    noun: str  # "customer" / "supplier" (messages)
    resource: str  # KashflowClient attribute: customers | suppliers
    many_addresses: bool
    contact_on_record: bool
    vat_field: str = ""  # carried when AX has a VAT number ("" = not carried)


CUSTOMERS = KashflowShape("customer", "customer", "customers", many_addresses=True, contact_on_record=True)
SUPPLIERS = KashflowShape("supplier", "supplier", "suppliers", many_addresses=False, contact_on_record=False,
                          vat_field="VatNumber")


class AxPartiesToKashflow(RecordFlow):
    """Options: ``page_size`` (default 500 rows per change poll), ``overlap_seconds`` (default 30, the
    look-back window for late commits), ``lease_seconds``."""

    table = ""  # CUSTTABLE | VENDTABLE
    shape: KashflowShape = CUSTOMERS
    ax_noun = ""  # "customer" / "vendor"
    batch_size = 1  # Kashflow has no batch API: one party per call
    # Master data: a party changed after it was posted is written again (the invoice flows keep the posted
    # version). Honoured by the pipeline's "posted version stands" check in Pipeline.persist.
    resend_changes = True

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.page_size = max(1, min(5000, int(self.options.get("page_size", PAGE_SIZE))))
        self.overlap = timedelta(seconds=float(self.options.get("overlap_seconds", OVERLAP_SECONDS)))
        self._next: dict[str, Any] | None = None

    @property
    def tables(self) -> tuple[str, str]:
        return (self.table.lower(), "dirpartytable")

    def open(self) -> None:
        self.reader = AxSqlReader.from_settings(self.flow.source.settings or {})
        self.kashflow = kashflow_client_for(self.flow.target, gate=self.target_gate)
        # Conflict look-ups happen while a write may be in flight on the sender thread: their own client.
        self.lookup = kashflow_client_for(self.flow.target, gate=self.target_gate)

    # ------------------------------------------------------------------ change detection

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        cursors = {table: ChangeCursor.from_json(json.dumps(cursor[table]) if cursor.get(table) else None)
                   for table in self.tables}
        yielded: dict[str, str] = {}  # account -> digest offered this run (both tables may report an account)
        try:
            self.source_gate.call(self.reader.open, metered=False)
            for table in self.tables:
                while True:
                    batch = self.source_gate.call(
                        lambda t=table: self.reader.changes(t.upper(), cursors[t], limit=self.page_size,
                                                            overlap=self.overlap), metered=False)
                    page = []
                    for row in self._accounts_of(table, batch.rows):
                        candidate = self._candidate(row)
                        if yielded.get(candidate.source_id) == candidate.digest:
                            continue
                        yielded[candidate.source_id] = candidate.digest
                        page.append(candidate)
                    cursors[table] = batch.cursor
                    if page:
                        yield page
                    if not batch.more:
                        break
        finally:
            self.reader.close()
        self._next = {table: json.loads(c.to_json()) for table, c in cursors.items()}
        scan.complete = True

    def _accounts_of(self, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        if table == self.table.lower():
            accounts = [row["ACCOUNTNUM"] for row in rows]
            return self.source_gate.call(lambda: self.read_accounts(accounts), metered=False)
        recids = [row["RECID"] for row in rows]
        return self.source_gate.call(lambda: self.reader.parties_of(self.table, recids), metered=False)

    def read_accounts(self, accounts: list[str]) -> list[dict[str, Any]]:
        return self.reader.customers(accounts) if self.table == "CUSTTABLE" else self.reader.vendors(accounts)

    def _candidate(self, row: dict[str, Any]) -> Candidate:
        payload = party_from_row(row, self.shape.kind).to_dict()
        return Candidate(source_id=payload["source_id"], digest=content_hash(payload)[:32],
                         number=int(row["RECID"]), summary=payload)

    def next_cursor(self, cursor: dict[str, Any], scan: Scan) -> dict[str, Any]:
        """Both tables' cursors, unless a record of the scan is still unsettled (then the next run reads the
        same changes again; settled ones are skipped by their digest)."""
        if self._next is None or scan.unsettled_numbers:
            return cursor
        return {**cursor, **self._next}

    def load(self, candidate: Candidate) -> Any:
        return candidate.summary  # read in full by the change poll (one query per page)

    def canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("source_id"):
            raise TargetValidationError(f"The AX {self.ax_noun} row has no account number.", system="Dynamics AX",
                                        code="unreadable")
        return raw

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        document = kashflow_party(as_party(payload, self.shape.kind), rules, self.shape)
        existing = self.target_gate.call(lambda: find_party(self.lookup, self.shape, document["Code"]),
                                         metered=False)
        warnings = []
        if existing is not None:
            warnings = [f"Kashflow {name} {old!r} overwritten with AX's {new!r} (AX is master for "
                        f"{self.shape.noun}s)." for name, old, new in differences(existing, document, self.shape)]
        return Transformed(document=document, warnings=warnings)

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        return [self.upsert(document) for document in documents]

    def upsert(self, document: dict[str, Any]) -> str:
        """Look the code up, then update (AX over Kashflow) or create. Safe to repeat."""
        code = document["Code"]
        resource = getattr(self.kashflow, self.shape.resource)
        existing = find_party(self.kashflow, self.shape, code)
        if existing is None:
            try:
                created = resource.create(document)
                return str((created or {}).get("Code") or code)
            except TargetValidationError as error:
                if not _duplicate(error):
                    raise
                existing = find_party(self.kashflow, self.shape, code)  # created meanwhile: update it instead
                if existing is None:
                    raise
        if differences(existing, document, self.shape):
            resource.update(code, merged(existing, document, self.shape))
        return code

    def find_existing(self, record: SyncRecord) -> str | None:
        code = (record.target_payload or {}).get("Code")
        if not code:
            return None
        return code if find_party(self.kashflow, self.shape, code) is not None else None


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


def kashflow_party(party: Party, rules: dict[str, Any], shape: KashflowShape = CUSTOMERS) -> dict[str, Any]:
    """The Kashflow customer / supplier document for a canonical AX party."""
    account = party.code or party.source_id
    code = str((rules.get("code_map") or {}).get(account) or account).strip()
    if not code or len(code) > CODE_LIMIT or any(ch in code for ch in CODE_FORBIDDEN):
        raise TargetValidationError(
            f"AX {shape.noun} {account} cannot be Kashflow {shape.noun} code {code!r} (1-{CODE_LIMIT} characters, "
            f"none of {CODE_FORBIDDEN}); map it in code_map.", system="Mapping", code="invalid_value",
            payload={"account": account})
    name = party.name.strip()
    if not name:
        raise TargetValidationError(f"AX {shape.noun} {account} has no name; Kashflow needs one.", system="Mapping",
                                    code="invalid_value", payload={"account": account})
    address = party.address
    lines = [line.strip() for line in address.street.splitlines() if line.strip()]
    lines += [part for part in (address.city, address.county) if part]
    if len(lines) > 4:
        lines = [*lines[:3], ", ".join(lines[3:])]
    country = address.country_code.upper()
    countries = {**ISO3_TO_ISO2, **{str(k).upper(): str(v).upper() for k, v in (rules.get("countries") or {}).items()}}
    country_code = countries.get(country) or (country if len(country) == 2 else "")
    if country and not country_code:
        raise TargetValidationError(
            f"No ISO country code is mapped for AX country/region {country}; map it in countries.",
            system="Mapping", code="mapping_missing", payload={"country": country})
    kashflow_address = {**{f"Line{i}": lines[i - 1] if i <= len(lines) else None for i in range(1, 5)},
                        "PostCode": address.zip_code or None, "CountryCode": country_code or None}
    currency = str((rules.get("currencies") or {}).get(party.currency) or party.currency)
    document: dict[str, Any] = {"Code": code, "Name": name[:NAME_LIMIT]}
    if shape.many_addresses:
        document["Addresses"] = [kashflow_address]
    else:
        document["Address"] = kashflow_address
    if currency:
        document["Currency"] = {"Code": currency}
    if shape.vat_field and party.tax_number:
        document[shape.vat_field] = party.tax_number
    # Empty AX contact fields do not erase what Kashflow knows.
    if shape.contact_on_record:
        if party.email:
            document["Email"] = party.email
        if party.phone:
            document["TelephoneNumber"] = party.phone
    elif party.email or party.phone:
        contact: dict[str, Any] = {"Name": name[:NAME_LIMIT], "IsPrimary": True}
        if party.email:
            contact["Email"] = party.email
        if party.phone:
            contact["Telephone"] = party.phone
        document["Contacts"] = [contact]
    return document


# Kept for callers of the customer-only helper.
def kashflow_customer(payload: dict[str, Any], rules: dict[str, Any]) -> dict[str, Any]:
    return kashflow_party(as_party(payload, "customer"), rules, CUSTOMERS)


def find_party(client, shape: KashflowShape, code: str) -> dict[str, Any] | None:
    try:
        return getattr(client, shape.resource).get(code)
    except NotFoundError:
        return None


def _address(record: dict[str, Any], shape: KashflowShape) -> dict[str, Any]:
    if shape.many_addresses:
        return (record.get("Addresses") or [{}])[0] or {}
    return record.get("Address") or {}


def _primary(contacts: list[dict[str, Any]] | None) -> tuple[int, dict[str, Any]]:
    contacts = [c for c in contacts or [] if isinstance(c, dict)]
    for index, contact in enumerate(contacts):
        if contact.get("IsPrimary"):
            return index, contact
    return (0, contacts[0]) if contacts else (-1, {})


def differences(existing: dict[str, Any], document: dict[str, Any],
                shape: KashflowShape = CUSTOMERS) -> list[tuple[str, Any, Any]]:
    """(field, Kashflow value, AX value) for each field of ``document`` that Kashflow holds differently."""
    out = []
    if _blank(existing.get("Name")) != _blank(document.get("Name")):
        out.append(("Name", existing.get("Name"), document.get("Name")))
    if "Currency" in document:
        old = ((existing.get("Currency") or {}).get("Code") or "").upper()
        if old != document["Currency"]["Code"].upper():
            out.append(("Currency", old, document["Currency"]["Code"]))
    for name in ("Email", "TelephoneNumber", shape.vat_field):
        if name and name in document and _blank(existing.get(name)) != _blank(document[name]):
            out.append((name, existing.get(name), document[name]))
    if document.get("Contacts"):
        _index, old_contact = _primary(existing.get("Contacts"))
        new_contact = document["Contacts"][0]
        for name in ("Email", "Telephone"):
            if name in new_contact and _blank(old_contact.get(name)) != _blank(new_contact[name]):
                out.append((f"Contact {name}", old_contact.get(name), new_contact[name]))
    old_address, new_address = _address(existing, shape), _address(document, shape)
    for name in ADDRESS_FIELDS:
        if _blank(old_address.get(name)).upper() != _blank(new_address.get(name)).upper():
            out.append((f"Address {name}", old_address.get(name), new_address.get(name)))
    return out


def merged(existing: dict[str, Any], document: dict[str, Any], shape: KashflowShape = CUSTOMERS) -> dict[str, Any]:
    """Kashflow's record with AX's fields laid over it (a PUT replaces the whole record)."""
    out = {**existing, **{k: v for k, v in document.items() if k not in ("Addresses", "Address", "Contacts")}}
    primary = {**_address(existing, shape), **_address(document, shape)}
    primary.pop("CountryName", None)  # resolved from CountryCode by Kashflow
    if shape.many_addresses:
        out["Addresses"] = [primary, *list(existing.get("Addresses") or [])[1:]]
    else:
        out["Address"] = primary
    if document.get("Contacts"):
        contacts = [dict(c) for c in existing.get("Contacts") or [] if isinstance(c, dict)]
        index, _old = _primary(contacts)
        new = {k: v for k, v in document["Contacts"][0].items() if k in ("Email", "Telephone")}
        if index < 0:
            contacts = [dict(document["Contacts"][0])]
        else:
            contacts[index] = {**contacts[index], **new}
        out["Contacts"] = contacts
    return out


def _blank(value: Any) -> str:
    return str(value or "").strip()


def _duplicate(error: ConnectorError) -> bool:
    return (error.code or "").lower() == "duplicatecode" or "already exists" in str(error).lower()
