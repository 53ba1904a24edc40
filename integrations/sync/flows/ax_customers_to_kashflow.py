"""Dynamics AX customers -> Kashflow customers, record by record (AX is master for customers).

Change detection: the AX database is polled over ODBC (:meth:`AxSqlReader.changes`) on two tables, each with
its own keyset cursor ``(MODIFIEDDATETIME, RECID)`` and look-back window (rows committed late with an earlier
stamp are still read):

* ``CUSTTABLE`` — customers created or changed (currency, blocking, ...);
* ``DIRPARTYTABLE`` — the global address book party, where the customer's name lives (followed to the account
  with :meth:`AxSqlReader.parties_of`).

Each changed account is read in full (name, primary postal address, primary e-mail and phone) and its digest
is the hash of those values, so a row re-read in the look-back window, or changed in a column the flow does not
carry, is skipped. Both cursors are stored as JSON in the flow's cursor and only move when every record of the
scan is settled.

Writes: Kashflow has no batch API and refuses duplicate codes, so each customer is one write, preceded by a
natural-key look-up (``GET /customers/{Code}``): a customer Kashflow already has is updated with AX's values
(``PUT``, a full replacement: the Kashflow record is read, AX's fields laid over it, and sent back; nothing is
written when it already matches), otherwise it is created. A repeat after a crash therefore finds the customer
and does not create it twice. Conflicts resolve to AX: the Kashflow values it overwrites are recorded as the
record's warnings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from integrations.core.canonical import content_hash
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.dynamics_ax.sql import AxSqlReader, ChangeCursor
from integrations.sync.connectors import kashflow_client_for
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

PAGE_SIZE = 500
OVERLAP_SECONDS = 30
CODE_LIMIT = 20  # Kashflow customer codes
NAME_LIMIT = 100
CODE_FORBIDDEN = "/\\?#%"
ADDRESS_FIELDS = ("Line1", "Line2", "Line3", "Line4", "PostCode", "CountryCode")
# AX 2012 keeps ISO 3166-1 alpha-3 country/region ids; Kashflow wants alpha-2 (extend with the ``countries`` rule).
ISO3_TO_ISO2 = {
    "GBR": "GB", "USA": "US", "IRL": "IE", "FRA": "FR", "DEU": "DE", "NLD": "NL", "BEL": "BE", "ESP": "ES",
    "ITA": "IT", "PRT": "PT", "DNK": "DK", "SWE": "SE", "NOR": "NO", "FIN": "FI", "AUT": "AT", "CHE": "CH",
    "POL": "PL", "CZE": "CZ", "HUN": "HU", "GRC": "GR", "LUX": "LU", "ISL": "IS", "CAN": "CA", "AUS": "AU",
    "NZL": "NZ", "JPN": "JP", "CHN": "CN", "IND": "IN", "SGP": "SG", "HKG": "HK", "ZAF": "ZA", "MEX": "MX",
    "BRA": "BR", "ARE": "AE",
}


def default_rules() -> dict[str, Any]:
    """``code_map``: AX account -> Kashflow code (default: the same code); ``currencies``: AX currency ->
    Kashflow currency; ``countries``: AX country/region id -> ISO alpha-2; ``routing``: unused (kept for the
    mapping editor's common shape)."""
    return {"routing": [], "code_map": {}, "currencies": {}, "countries": {}}


class AxCustomersToKashflow(RecordFlow):
    """Options: ``page_size`` (default 500 rows per change poll), ``overlap_seconds`` (default 30, the
    look-back window for late commits), ``lease_seconds``."""

    entity = "customer"
    stream = "custtable"
    batch_size = 1  # Kashflow has no batch API: one customer per call
    # Master data: a customer changed after it was posted is written again (the invoice flows keep the posted
    # version). Honoured by the pipeline's "posted version stands" check in Pipeline.persist.
    resend_changes = True

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.page_size = max(1, min(5000, int(self.options.get("page_size", PAGE_SIZE))))
        self.overlap = timedelta(seconds=float(self.options.get("overlap_seconds", OVERLAP_SECONDS)))
        self._next: dict[str, Any] | None = None

    def open(self) -> None:
        self.reader = AxSqlReader.from_settings(self.flow.source.settings or {})
        self.kashflow = kashflow_client_for(self.flow.target, gate=self.target_gate)
        # Conflict look-ups happen while a write may be in flight on the sender thread: their own client.
        self.lookup = kashflow_client_for(self.flow.target, gate=self.target_gate)

    # ------------------------------------------------------------------ change detection

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        cursors = {table: ChangeCursor.from_json(json.dumps(cursor[table]) if cursor.get(table) else None)
                   for table in ("custtable", "dirpartytable")}
        yielded: dict[str, str] = {}  # account -> digest offered this run (both tables may report a customer)
        try:
            self.source_gate.call(self.reader.open, metered=False)
            for table in ("custtable", "dirpartytable"):
                while True:
                    batch = self.source_gate.call(
                        lambda t=table: self.reader.changes(t.upper(), cursors[t], limit=self.page_size,
                                                            overlap=self.overlap), metered=False)
                    rows = self._customers_of(table, batch.rows)
                    page = []
                    for row in rows:
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

    def _customers_of(self, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        if table == "custtable":
            accounts = [row["ACCOUNTNUM"] for row in rows]
            return self.source_gate.call(lambda: self.reader.customers(accounts), metered=False) if accounts else []
        recids = [row["RECID"] for row in rows]
        return self.source_gate.call(lambda: self.reader.parties_of("CUSTTABLE", recids), metered=False)

    def _candidate(self, row: dict[str, Any]) -> Candidate:
        payload = customer_payload(row)
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
            raise TargetValidationError("The AX customer row has no account number.", system="Dynamics AX",
                                        code="unreadable")
        return raw

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        document = kashflow_customer(payload, rules)
        existing = self.target_gate.call(lambda: find_customer(self.lookup, document["Code"]), metered=False)
        warnings = []
        if existing is not None:
            warnings = [f"Kashflow {name} {old!r} overwritten with AX's {new!r} (AX is master for customers)."
                        for name, old, new in differences(existing, document)]
        return Transformed(document=document, warnings=warnings)

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        return [self.upsert(document) for document in documents]

    def upsert(self, document: dict[str, Any]) -> str:
        """Look the code up, then update (AX over Kashflow) or create. Safe to repeat."""
        code = document["Code"]
        existing = find_customer(self.kashflow, code)
        if existing is None:
            try:
                created = self.kashflow.create_customer(document)
                return str((created or {}).get("Code") or code)
            except TargetValidationError as error:
                if not _duplicate(error):
                    raise
                existing = find_customer(self.kashflow, code)  # created meanwhile: update it instead
                if existing is None:
                    raise
        if differences(existing, document):
            self.kashflow.customers.update(code, merged(existing, document))
        return code

    def find_existing(self, record: SyncRecord) -> str | None:
        code = (record.target_payload or {}).get("Code")
        if not code:
            return None
        return code if find_customer(self.kashflow, code) is not None else None


# ---------------------------------------------------------------------- conversions


def customer_payload(row: dict[str, Any]) -> dict[str, Any]:
    """The canonical customer (JSON) of an AX customer row (:meth:`AxSqlReader.customers`)."""

    def text(name: str) -> str:
        return str(row.get(name) or "").strip()

    return {
        "source_id": text("ACCOUNTNUM"), "account": text("ACCOUNTNUM"), "name": text("NAME"),
        "currency": text("CURRENCY").upper(), "blocked": int(row.get("BLOCKED") or 0),
        "address": {"street": str(row.get("STREET") or "").strip(), "city": text("CITY"), "state": text("STATE"),
                    "postcode": text("ZIPCODE"), "country": text("COUNTRYREGIONID").upper()},
        "email": text("EMAIL"), "phone": text("PHONE"),
    }


def kashflow_customer(payload: dict[str, Any], rules: dict[str, Any]) -> dict[str, Any]:
    """The Kashflow customer document for a canonical AX customer."""
    account = str(payload.get("account") or payload.get("source_id") or "")
    code = str((rules.get("code_map") or {}).get(account) or account).strip()
    if not code or len(code) > CODE_LIMIT or any(ch in code for ch in CODE_FORBIDDEN):
        raise TargetValidationError(
            f"AX customer {account} cannot be Kashflow customer code {code!r} (1-{CODE_LIMIT} characters, none of "
            f"{CODE_FORBIDDEN}); map it in code_map.", system="Mapping", code="invalid_value",
            payload={"account": account})
    name = str(payload.get("name") or "").strip()
    if not name:
        raise TargetValidationError(f"AX customer {account} has no name; Kashflow needs one.", system="Mapping",
                                    code="invalid_value", payload={"account": account})
    address = payload.get("address") or {}
    lines = [line.strip() for line in str(address.get("street") or "").splitlines() if line.strip()]
    lines += [part for part in (address.get("city"), address.get("state")) if part]
    if len(lines) > 4:
        lines = [*lines[:3], ", ".join(lines[3:])]
    country = str(address.get("country") or "")
    countries = {**ISO3_TO_ISO2, **{str(k).upper(): str(v) for k, v in (rules.get("countries") or {}).items()}}
    country_code = countries.get(country) or (country if len(country) == 2 else "")
    if country and not country_code:
        raise TargetValidationError(
            f"No ISO country code is mapped for AX country/region {country}; map it in countries.",
            system="Mapping", code="mapping_missing", payload={"country": country})
    currency = str(payload.get("currency") or "")
    currency = str((rules.get("currencies") or {}).get(currency) or currency)
    document: dict[str, Any] = {
        "Code": code, "Name": name[:NAME_LIMIT],
        "Addresses": [{**{f"Line{i}": lines[i - 1] if i <= len(lines) else None for i in range(1, 5)},
                       "PostCode": address.get("postcode") or None, "CountryCode": country_code or None}],
    }
    if currency:
        document["Currency"] = {"Code": currency}
    if payload.get("email"):  # empty AX contact fields do not erase what Kashflow knows
        document["Email"] = payload["email"]
    if payload.get("phone"):
        document["TelephoneNumber"] = payload["phone"]
    return document


def find_customer(client, code: str) -> dict[str, Any] | None:
    try:
        return client.get_customer(code)
    except NotFoundError:
        return None


def differences(existing: dict[str, Any], document: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, Kashflow value, AX value) for each field of ``document`` that Kashflow holds differently."""
    out = []
    if _blank(existing.get("Name")) != _blank(document.get("Name")):
        out.append(("Name", existing.get("Name"), document.get("Name")))
    if "Currency" in document:
        old = ((existing.get("Currency") or {}).get("Code") or "").upper()
        if old != document["Currency"]["Code"].upper():
            out.append(("Currency", old, document["Currency"]["Code"]))
    for name in ("Email", "TelephoneNumber"):
        if name in document and _blank(existing.get(name)) != _blank(document[name]):
            out.append((name, existing.get(name), document[name]))
    old_address = (existing.get("Addresses") or [{}])[0] or {}
    new_address = document["Addresses"][0]
    for name in ADDRESS_FIELDS:
        if _blank(old_address.get(name)).upper() != _blank(new_address.get(name)).upper():
            out.append((f"Address {name}", old_address.get(name), new_address.get(name)))
    return out


def merged(existing: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Kashflow's record with AX's fields laid over it (a PUT replaces the whole record)."""
    out = {**existing, **{k: v for k, v in document.items() if k != "Addresses"}}
    addresses = list(existing.get("Addresses") or [])
    primary = {**(addresses[0] if addresses else {}), **document["Addresses"][0]}
    primary.pop("CountryName", None)  # resolved from CountryCode by Kashflow
    out["Addresses"] = [primary, *addresses[1:]]
    return out


def _blank(value: Any) -> str:
    return str(value or "").strip()


def _duplicate(error: ConnectorError) -> bool:
    return (error.code or "").lower() == "duplicatecode" or "already exists" in str(error).lower()
