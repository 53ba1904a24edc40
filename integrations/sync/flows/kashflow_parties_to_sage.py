"""Kashflow customers/suppliers -> Sage 100 customers/vendors: only the parties Sage does not have yet.

Sage is master for parties; these flows fill in the ones people create in Kashflow first (a new customer invoiced
there before anyone set it up in Sage), so that ``kashflow_invoices_to_sage`` finds them. They never change a
Sage party: a Kashflow party Sage already has is settled as *skipped*, with the conflict as its reason.

Change detection: Kashflow has no modified-since filter for parties, so each run lists them (``/customers`` or
``/suppliers``, ``page_size`` per page) and compares each listing's digest (code, name, address, contacts,
currency, archived; not balances, which change with every invoice) with the one settled last time. Only changed
parties are read in full. Archived parties are not carried.

Mapping: the Kashflow code is read as ``DD-NUMBER`` (``01-ACME``: division 01, number ACME), unless
``customer_accounts``/``vendor_accounts`` maps it to another ``DD-NUMBER``; a code without a division prefix goes
to ``default_division`` (suppliers: ``default_vendor_division``), the rule ``kashflow_invoices_to_sage`` applies,
so invoices find the customer. Sage keys are not cut: a number longer than Sage allows (CustomerNo 20, VendorNo
7) fails the record with ``invalid_value``. The address is parsed into Sage's fields: Kashflow lines 1-3 become
AddressLine1-3 (40 each); when there are two lines or more, the last one is the town (``City, ST`` -> City and
State when it ends with a two-letter state); PostCode -> ZipCode (10); the alpha-2 country -> Sage's alpha-3
(``countries`` extends the table). Values longer than Sage's columns are cut, each cut recorded as a warning on
the record (:func:`integrations.sage100.adapter.party_fields`).

Existence: Sage's keys are read once per run over the connection's ODBC (AR_Customer / AP_Vendor). Without ODBC
settings the agent's answer decides: a create of a party already on file fails with Sage's "already on file"
message (error inbox), and nothing is overwritten either way.

Writes: one agent operation (``AR_Customer_bus`` / ``AP_Vendor_bus`` create) per party, many per batch, each with
the idempotency key ``lb-<record idempotency key>``; a repeat of an applied key returns the stored result, so a
batch whose answer was lost is simply sent again. The target id is ``DD-NUMBER`` as Sage stored it.

No echo loop: a party these flows create in Sage is polled by ``sage_*_to_kashflow``, which finds it in Kashflow
under the code it came from (through this flow's binding) and at most lays Sage's values (cuts included) over it;
a party that flow creates in Kashflow is listed here and skipped, Sage having it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from integrations.core.canonical import Party, content_hash
from integrations.core.errors import ConnectorError
from integrations.sage100.adapter import party_country, party_fields, party_key
from integrations.sage100.agent.operations import MAX_KEY_LENGTH
from integrations.sage100.layouts import layout
from integrations.sync.connectors import kashflow_client_for, sage_agent_client_for
from integrations.sync.flows.kashflow_parties import (
    CUSTOMERS,
    SUPPLIERS,
    PartyKind,
    listing_digest_fields,
    party_from_kashflow,
)
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan, Transformed
from mapping.defaults import SAGE_DEFAULT_DIVISION

log = logging.getLogger("ledgerbridge.sync.flows")

PAGE_SIZE = 100


def default_rules() -> dict[str, Any]:
    """``default_division`` / ``default_vendor_division``: A/R and A/P division for codes without a ``DD-``
    prefix (01 and 00, as in the ABC demo company); ``customer_accounts`` / ``vendor_accounts``: Kashflow code
    -> Sage ``DD-NUMBER``; ``countries``: ISO alpha-2 -> Sage country code beyond the built-in ones;
    ``customer_terms_code`` / ``vendor_terms_code``: TermsCode of new parties (Sage needs one before it takes
    their invoices); ``routing``: unused."""
    return {"routing": [], "default_division": SAGE_DEFAULT_DIVISION, "default_vendor_division": "00",
            "customer_accounts": {}, "vendor_accounts": {}, "countries": {},
            "customer_terms_code": "01", "vendor_terms_code": "01"}


class KashflowPartiesToSage(RecordFlow):
    """Options: ``page_size`` (Kashflow listing page, default 100), ``batch_size`` (agent operations per call,
    default 50), ``lease_seconds``."""

    kind: PartyKind
    bus_object = ""
    table = ""
    division_column = ""
    terms_rule = ""  # the mapping rule holding new parties' TermsCode
    number_column = ""
    name_column = ""
    accounts_rule = ""
    division_rule = "default_division"

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.page_size = max(1, min(100, int(self.options.get("page_size", PAGE_SIZE))))
        self.batch_size = max(1, min(200, int(self.options.get("batch_size", 50))))
        self.table_layout = layout(self.table)

    def open(self) -> None:
        self.kashflow = kashflow_client_for(self.flow.source, gate=self.source_gate)
        self.agent = sage_agent_client_for(self.flow.target, gate=self.target_gate)
        self._keys: set[tuple[str, str]] | None = None

    # ------------------------------------------------------------------ change detection

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        page_no, number = 1, 0
        while True:
            page = self.source_gate.call(lambda n=page_no: self.kashflow.get(self.kind.resource, {
                "page": n, "perpage": self.page_size, "sortby": 1, "order": "asc"}), metered=False)
            items = (page or {}).get("Data") or [] if isinstance(page, dict) else list(page or [])
            batch = []
            for item in items:
                number += 1
                code = str(item.get("Code") or "").strip()
                batch.append(Candidate(source_id=code, number=number, summary=item,
                                       digest=content_hash(listing_digest_fields(self.kind, item))[:32]))
            if batch:
                yield batch
            if not items or not isinstance(page, dict) or not (page.get("MetaData") or {}).get("NextPageUrl"):
                break
            page_no += 1
        scan.complete = True

    def unwanted_listed(self, candidate: Candidate) -> str:
        return "archived in Kashflow" if candidate.summary.get("IsArchived") else ""

    def load(self, candidate: Candidate) -> Any:
        return getattr(self.kashflow, self.kind.resource).get(candidate.source_id)

    def canonical(self, raw: Any) -> dict[str, Any]:
        return party_from_kashflow(self.kind, raw).to_dict()

    def unwanted(self, payload: dict[str, Any]) -> str:
        return "archived in Kashflow" if payload.get("blocked") else ""

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        party = Party.from_dict(payload)
        division, number = self.sage_key(party.code, rules)
        if self.sage_has(division, number):
            return Transformed(skip=(
                f"Conflict: Sage 100 already has {self.kind.label} {division}-{number}. Sage is master for "
                f"{self.kind.resource}, so the Kashflow {self.kind.label} {party.code} is not written to it."))
        warnings: list[str] = []
        fields = {self.division_column: division, self.number_column: number,
                  **self.sage_fields(party, rules, warnings)}
        # Sage needs terms on a customer before it takes an invoice for it (and a vendor before an A/P invoice);
        # a new party gets the tenant's default terms, which Sage's own screens would ask for.
        terms = str(rules.get(self.terms_rule) or "").strip()
        if terms and not fields.get("TermsCode"):
            fields["TermsCode"] = terms
        document = {"key": f"lb-{record.idempotency_key}"[:MAX_KEY_LENGTH], "object": self.bus_object,
                    "action": "create", "fields": fields}
        return Transformed(document=document, warnings=warnings)

    def sage_key(self, code: str, rules: dict[str, Any]) -> tuple[str, str]:
        """(division, number) for a Kashflow code: the accounts rule, else ``DD-NUMBER``, else the default
        division. Keys are never cut."""
        return party_key(code, rules.get(self.accounts_rule), str(rules.get(self.division_rule) or
                                                                 SAGE_DEFAULT_DIVISION),
                         length=self.table_layout.column(self.number_column).length, label=self.kind.label,
                         number_label=self.number_column, rule=self.accounts_rule, example="DD-NUMBER")

    def sage_fields(self, party: Party, rules: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        """Name, address, e-mail and phone in Sage's columns, cut to their lengths (each cut a warning)."""
        return party_fields(party, self.table_layout, self.name_column, label=self.kind.label, warnings=warnings,
                            countries=rules.get("countries"))

    @staticmethod
    def sage_country(party: Party, rules: dict[str, Any]) -> str:
        return party_country(party, rules.get("countries"))

    def sage_has(self, division: str, number: str) -> bool:
        keys = self.sage_keys()
        return keys is not None and (division, number) in keys

    def sage_keys(self) -> set[tuple[str, str]] | None:
        """Sage's keys, read once per run over ODBC (None without ODBC settings: the agent's answer decides)."""
        if self._keys is None:
            settings = self.flow.target.settings or {}
            if not (settings.get("odbc") or settings.get("dsn")):
                return None
            from integrations.sage100.odbc import SageOdbcReader

            with SageOdbcReader.from_settings(settings) as reader:
                rows = self.target_gate.call(lambda: reader.key_scan(self.table), metered=False)
            self._keys = {(str(d).upper(), str(n).upper()) for d, n in rows}
        return self._keys

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        results = self.agent.apply(documents)
        out: list[str | ConnectorError] = []
        for document, result in zip(documents, results, strict=True):
            error = result.error()
            if error is None and self._keys is not None:
                key = self.target_id(document, result.record_key)
                self._keys.add(tuple(key.split("-", 1)))  # type: ignore[arg-type]
            out.append(error or self.target_id(document, result.record_key))
        return out

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        key = document.get("key")
        if not key:
            return None
        result = self.agent.applied(key)
        return self.target_id(document, result.record_key) if result is not None and result.ok else None

    def target_id(self, document: dict[str, Any], record_key: dict[str, str]) -> str:
        """``DD-NUMBER`` as Sage stored it (zero-filled division, upper-case number)."""
        fields = document.get("fields") or {}
        division = record_key.get(self.division_column) or fields.get(self.division_column, "")
        number = record_key.get(self.number_column) or fields.get(self.number_column, "")
        return f"{division}-{number}"


class KashflowCustomersToSage(KashflowPartiesToSage):
    entity = "customer"
    stream = "kashflow_customers"
    kind = CUSTOMERS
    bus_object = "AR_Customer_bus"
    table = "AR_Customer"
    division_column = "ARDivisionNo"
    terms_rule = "customer_terms_code"
    number_column = "CustomerNo"
    name_column = "CustomerName"
    accounts_rule = "customer_accounts"


class KashflowSuppliersToSage(KashflowPartiesToSage):
    entity = "supplier"
    stream = "kashflow_suppliers"
    kind = SUPPLIERS
    bus_object = "AP_Vendor_bus"
    table = "AP_Vendor"
    division_column = "APDivisionNo"
    terms_rule = "vendor_terms_code"
    number_column = "VendorNo"
    name_column = "VendorName"
    accounts_rule = "vendor_accounts"
    division_rule = "default_vendor_division"
