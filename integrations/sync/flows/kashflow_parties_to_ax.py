"""Kashflow customers / suppliers -> new Dynamics AX customers / vendors (AX stays master).

Why only new ones: AX is master for parties (``ax_customers_to_kashflow`` / ``ax_suppliers_to_kashflow`` carry
AX's values into Kashflow). A customer or supplier first entered in Kashflow — a walk-in customer, a new
supplier keyed in with its first bill — is created in AX so invoices and purchases can be posted against it;
after that AX owns it. An account AX already has is never written from Kashflow: the record is skipped and the
values Kashflow holds differently are recorded as its warnings (the conflict, for someone to settle in AX).

Change detection: Kashflow has no modified-since filter on parties, so every run lists them (``GET /customers``
or ``/suppliers``, ``page_size`` per page) and compares each list item's digest — over the fields the flow
carries (code, name, address, currency, contacts, archived), not the balances that move with every invoice —
with the one settled last time; only changed parties are read in full. Archived parties are not carried.

Writes: one AIF create per party (``CustomerService.create`` / ``VendTableService.create``) under the message id
of its record, preceded by a natural-key look-up in AX: ``read`` by account number (the Kashflow code, or
``code_map``) and ``findKeys`` by party name (an AX party of the same name under another account is a likely
duplicate: skipped with a warning, to be mapped in ``code_map``). The document: AccountNum, the group
(``customer_group`` / ``vendor_group``), Currency, VAT number, and a DirParty organisation with the name, one
structured primary postal address (Street, City, State, ZipCode, CountryRegionId — Kashflow's free address lines
read as street lines then town, then a short state code; ISO alpha-2 country -> AX alpha-3) and the primary
e-mail and phone. AX silently truncates over-long strings, so lengths are checked first (``invalid_value``).
A create whose answer was lost is re-sent with the same MessageId; AX answers ``DuplicateMessage`` and the
account is read back. No echo loop: the AX -> Kashflow flows write the same account back under the same code,
which this flow then finds in AX (bound, or present) and skips.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from integrations.core.canonical import Party, content_hash
from integrations.core.countries import ISO2_TO_ISO3, ISO3_TO_ISO2
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.dynamics_ax.adapter import (
    CITY_LENGTH,
    PARTY_NAME_LENGTH,
    STATE_LENGTH,
    STREET_LENGTH,
    ZIP_LENGTH,
    party_create_document,
)
from integrations.dynamics_ax.aif_documents import Criterion
from integrations.kashflow.adapter import party_to_canonical
from integrations.sync.connectors import ax_client_for, kashflow_client_for
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

PAGE_SIZE = 100
SORT_BY_CODE = 1  # customers and suppliers: sortby 1 = Code (reference kashflow.md §9.1, §9.2)
ACCOUNT_LIMIT = 20  # EDT CustAccount / VendAccount
LISTED = ("Code", "Name", "Addresses", "Address", "Contacts", "Currency", "IsArchived", "VATNumber", "VatNumber")


def default_rules() -> dict[str, Any]:
    """``code_map``: Kashflow code -> AX account (default: the same code); ``customer_group`` / ``vendor_group``:
    the AX group new accounts get (30 Retail customers, 10 Parts vendors in the demo data); ``currencies``:
    Kashflow currency -> AX currency; ``countries``: ISO alpha-2 -> AX country/region id (beyond the built-in
    alpha-3 table); ``address_roles``: the postal address's purpose (Business); ``routing``: unused."""
    return {"routing": [], "code_map": {}, "customer_group": "30", "vendor_group": "10", "currencies": {},
            "countries": {}, "address_roles": "Business"}


class KashflowPartiesToAx(RecordFlow):
    """Options: ``page_size`` (default 100, Kashflow list page), ``lease_seconds``."""

    kind = "customer"  # canonical Party.kind
    ax_noun = "customer"
    resource = "customers"
    group_rule = "customer_group"
    batch_size = 1  # one AIF message per party: a refused party never holds up another
    # AX is master once the account exists: a Kashflow change after it was created is recorded, not sent.
    resend_changes = False

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.page_size = max(1, min(100, int(self.options.get("page_size", PAGE_SIZE))))

    def open(self) -> None:
        self.kashflow = kashflow_client_for(self.flow.source, gate=self.source_gate)
        self.ax = ax_client_for(self.flow.target, gate=self.target_gate)
        # Look-ups in transform run while a create may be in flight on the sender thread: their own client.
        self.lookup = ax_client_for(self.flow.target, gate=self.target_gate)

    # ------------------------------------------------------------------ change detection

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        """Every party, page by page (each page one gated call, retried on its own), sorted by code."""
        page_no = 1
        while True:
            page = self.source_gate.call(lambda n=page_no: self.kashflow.get(self.resource, {
                "page": n, "perpage": self.page_size, "sortby": SORT_BY_CODE, "order": "asc"}), metered=False)
            items = page if isinstance(page, list) else ((page or {}).get("Data") or [])
            batch = []
            for item in items:
                if not isinstance(item, dict) or not str(item.get("Code") or "").strip():
                    continue
                listed = {name: item.get(name) for name in LISTED if name in item}
                batch.append(Candidate(source_id=str(item["Code"]).strip(), digest=content_hash(listed)[:32],
                                       summary={"archived": bool(item.get("IsArchived"))}))
            if batch:
                yield batch
            if not items or isinstance(page, list) or not ((page or {}).get("MetaData") or {}).get("NextPageUrl"):
                break
            page_no += 1
        scan.complete = True

    def unwanted_listed(self, candidate: Candidate) -> str:
        return "Archived in Kashflow; not carried to AX." if candidate.summary.get("archived") else ""

    def load(self, candidate: Candidate) -> Any:
        return getattr(self.kashflow, self.resource).get(candidate.source_id)

    def canonical(self, raw: Any) -> dict[str, Any]:
        return party_to_canonical(raw, self.kind).to_dict()

    def unwanted(self, payload: dict[str, Any]) -> str:
        return "Archived in Kashflow; not carried to AX." if payload.get("blocked") else ""

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        party = Party.from_dict(payload)
        account = ax_account(party, rules, self.ax_noun)
        existing = self.target_gate.call(lambda: self._read(self.lookup, account), metered=False)
        if existing is not None:
            conflicts = party_conflicts(existing, party)
            record.warnings = [f"AX {self.ax_noun} {account}: Kashflow has {name} {new!r}, AX {old!r}; AX is master, "
                               "so AX was not changed." for name, old, new in conflicts]
            return Transformed(skip=f"AX already has {self.ax_noun} {account}"
                                    f"{' (with different values, see warnings)' if conflicts else ''}; AX is master, "
                                    "so it was not changed.")
        namesakes = [key for key in self.target_gate.call(
            lambda: self._find_keys(self.lookup, [Criterion("DirParty", "Name", party.name)]), metered=False)
            if key.upper() != account.upper()]
        if namesakes:
            record.warnings = [f"AX has {self.ax_noun} {', '.join(namesakes)} named {party.name!r}; map Kashflow code "
                               f"{party.code} to it in code_map (or rename one of them) to link them."]
            return Transformed(skip=f"Not created in AX: AX already has a {self.ax_noun} named {party.name!r} "
                                    f"({', '.join(namesakes)}); see warnings.")
        return Transformed(document=ax_party_document(party, rules, account=account,
                                                      group=str(rules.get(self.group_rule) or "")))

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        """One AIF create (batch_size 1) under the record's MessageId; a repeat raises DuplicateError, which the
        pipeline resolves through :meth:`find_existing`."""
        return [self._create(self.ax, document, message_id) for document in documents]

    def find_existing(self, record: SyncRecord) -> str | None:
        account = (record.target_payload or {}).get("AccountNum")
        if not account:
            return None
        found = self._read(self.ax, account)
        return str(found.get("AccountNum") or account) if found is not None else None

    # ------------------------------------------------------------------ AIF per kind

    def _create(self, client, document: dict[str, Any], message_id: str) -> str:
        return client.create_customer(document, message_id=message_id)

    def _read(self, client, account: str) -> dict[str, Any] | None:
        try:
            return client.read_customer(account)
        except NotFoundError:
            return None

    def _find_keys(self, client, criteria: list[Criterion]) -> list[str]:
        return client.find_customer_keys(criteria)


class KashflowCustomersToAx(KashflowPartiesToAx):
    entity = "customer"
    stream = "kashflow_customers"


class KashflowSuppliersToAx(KashflowPartiesToAx):
    entity = "supplier"
    stream = "kashflow_suppliers"
    kind = "supplier"
    ax_noun = "vendor"
    resource = "suppliers"
    group_rule = "vendor_group"

    def _create(self, client, document: dict[str, Any], message_id: str) -> str:
        return client.create_vendor(document, message_id=message_id)

    def _read(self, client, account: str) -> dict[str, Any] | None:
        try:
            return client.read_vendor(account)
        except NotFoundError:
            return None

    def _find_keys(self, client, criteria: list[Criterion]) -> list[str]:
        return client.find_vendor_keys(criteria)


# ---------------------------------------------------------------------- conversions


def ax_account(party: Party, rules: dict[str, Any], noun: str = "customer") -> str:
    account = str((rules.get("code_map") or {}).get(party.code) or party.code).strip()
    if not account or len(account) > ACCOUNT_LIMIT:
        raise TargetValidationError(
            f"Kashflow code {party.code!r} cannot be an AX {noun} account (1-{ACCOUNT_LIMIT} characters); map it in "
            "code_map.", system="Mapping", code="invalid_value", payload={"code": party.code})
    return account


def ax_party_document(party: Party, rules: dict[str, Any], *, account: str, group: str) -> dict[str, Any]:
    """The AIF create values for a canonical Kashflow party, after checking what AX would silently truncate."""
    if not group:
        raise TargetValidationError(f"No AX {'customer' if party.kind == 'customer' else 'vendor'} group is set for "
                                    f"new accounts ({party.code}); set customer_group / vendor_group.",
                                    system="Mapping", code="mapping_missing", payload={"code": party.code})
    address = party.address
    for label, value, limit in (("name", party.name, PARTY_NAME_LENGTH), ("street", address.street, STREET_LENGTH),
                                ("town", address.city, CITY_LENGTH), ("state", address.county, STATE_LENGTH),
                                ("postcode", address.zip_code, ZIP_LENGTH)):
        if len(value) > limit:
            raise TargetValidationError(
                f"Kashflow {party.kind} {party.code}: the {label} {value!r} is longer than AX keeps ({limit} "
                "characters); shorten it in Kashflow.", system="Mapping", code="invalid_value",
                payload={"code": party.code, "field": label})
    if not party.name:
        raise TargetValidationError(f"Kashflow {party.kind} {party.code} has no name; AX needs one.",
                                    system="Mapping", code="invalid_value", payload={"code": party.code})
    country = address.country_code.upper()
    countries = {**ISO2_TO_ISO3, **{str(k).upper(): str(v).upper() for k, v in (rules.get("countries") or {}).items()}}
    region = countries.get(country, "")
    if country and not region:
        raise TargetValidationError(f"No AX country/region is mapped for ISO country {country} (Kashflow "
                                    f"{party.kind} {party.code}); map it in countries.", system="Mapping",
                                    code="mapping_missing", payload={"country": country})
    currency = str((rules.get("currencies") or {}).get(party.currency) or party.currency)
    return party_create_document(party, account=account, group=group, currency=currency, country_region_id=region,
                                 roles=str(rules.get("address_roles") or "Business"))


def _one(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def party_conflicts(existing: dict[str, Any], party: Party) -> list[tuple[str, str, str]]:
    """(field, AX value, Kashflow value) where an AX account (an AIF read) differs from the Kashflow party."""
    dir_party = _one(existing.get("DirParty"))
    views = dir_party.get("DirPartyPostalAddressView") or []
    views = views if isinstance(views, list) else [views]
    postal = next((v for v in views if str(v.get("IsPrimary")) == "Yes"), views[0] if views else {})
    region = str(postal.get("CountryRegionId") or "").upper()
    ax = {"name": dir_party.get("Name"), "street": postal.get("Street"), "town": postal.get("City"),
          "postcode": postal.get("ZipCode"), "country": ISO3_TO_ISO2.get(region, region),
          "currency": existing.get("Currency")}
    ours = {"name": party.name, "street": party.address.street, "town": party.address.city,
            "postcode": party.address.zip_code, "country": party.address.country_code, "currency": party.currency}
    out = []
    for name, value in ours.items():
        old = " ".join(str(ax[name] or "").split())
        new = " ".join(str(value or "").split())
        if new and old.upper() != new.upper():
            out.append((name, str(ax[name] or ""), str(value)))
    return out
