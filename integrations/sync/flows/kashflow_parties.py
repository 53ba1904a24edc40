"""Kashflow customers and suppliers as an ERP master writes them (and as flows read them back).

Shared by the flows that keep Kashflow's parties in step with an ERP that is master for them
(``sage_customers_to_kashflow``, ``sage_suppliers_to_kashflow``, and through ``ax_parties``
``ax_customers_to_kashflow`` and ``ax_suppliers_to_kashflow``).

Why a natural-key upsert: Kashflow has no idempotency key and no batch API, but it refuses a second party with
the same ``Code``. So every write starts with ``GET /{customers|suppliers}/{Code}``: a party Kashflow already has
is updated (``PUT`` is a full replacement, so Kashflow's record is read, the master's fields laid over it and sent
back; nothing is sent when it already matches), otherwise it is created. A write repeated after a lost answer or
a dead worker therefore finds the party and never creates it twice, and a create that loses a race with another
writer ("code already exists") turns into an update.

The two kinds differ only in shape: customers have ``Addresses[]`` and top-level ``Email``/``TelephoneNumber``;
suppliers one ``Address``, their e-mail and phone on the primary contact (``IsPrimary``; else the first) and a
``VatNumber``, carried when the master keeps one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from integrations.core.canonical import Party, StructuredAddress
from integrations.core.countries import ISO3_TO_ISO2
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.sync.pipeline import Transformed
from mapping.addresses import parse_address

if TYPE_CHECKING:
    from integrations.sync.models import SyncRecord

CODE_LIMIT = 20  # Kashflow customer/supplier codes
NAME_LIMIT = 100
CODE_FORBIDDEN = "/\\?#%"
ADDRESS_FIELDS = ("Line1", "Line2", "Line3", "Line4", "PostCode", "CountryCode")
LINE_FIELDS = ("Line1", "Line2", "Line3", "Line4")


@dataclass(frozen=True)
class PartyKind:
    """What differs between Kashflow customers and suppliers."""

    name: str  # "customer" | "supplier" (the canonical Party.kind and the flows' entity)
    resource: str  # KashflowClient attribute and URL segment: "customers" | "suppliers"
    label: str  # for messages
    vat_field: str = ""  # where Kashflow keeps this kind's VAT number, when a master carries it ("" = not carried)

    @property
    def single_address(self) -> bool:
        return self.name == "supplier"

    def address(self, record: dict[str, Any]) -> dict[str, Any]:
        """The party's (first) address."""
        if self.single_address:
            return dict(record.get("Address") or {})
        addresses = record.get("Addresses") or []
        return dict(addresses[0] or {}) if addresses else {}

    def contact(self, record: dict[str, Any]) -> dict[str, str]:
        """E-mail and phone as Kashflow shows them for this kind."""
        if self.single_address:
            _index, primary = _primary(record.get("Contacts"))
            return {"Email": _blank(primary.get("Email")), "Telephone": _blank(primary.get("Telephone"))}
        return {"Email": _blank(record.get("Email")), "Telephone": _blank(record.get("TelephoneNumber"))}


CUSTOMERS = PartyKind("customer", "customers", "customer")
SUPPLIERS = PartyKind("supplier", "suppliers", "supplier", vat_field="VatNumber")
KINDS = {kind.name: kind for kind in (CUSTOMERS, SUPPLIERS)}


# ---------------------------------------------------------------------- master -> Kashflow documents


def checked_code(code: str, *, source: str, mapped_in: str = "code_map") -> str:
    """``code`` if Kashflow accepts it as a party code, else TargetValidationError naming it."""
    code = str(code or "").strip()
    if not code or len(code) > CODE_LIMIT or any(ch in code for ch in CODE_FORBIDDEN):
        raise TargetValidationError(
            f"{source} cannot be Kashflow code {code!r} (1-{CODE_LIMIT} characters, none of {CODE_FORBIDDEN}); "
            f"map it in {mapped_in}.", system="Mapping", code="invalid_value", payload={"code": code})
    return code


def kashflow_country(country: str, rules: dict[str, Any], *, source: str) -> str:
    """ISO alpha-2 for a master's country code (alpha-2 passes; alpha-3 through the table and ``countries``)."""
    country = str(country or "").strip().upper()
    if not country:
        return ""
    mapped = {str(k).upper(): str(v).upper() for k, v in (rules.get("countries") or {}).items()}
    found = mapped.get(country) or ISO3_TO_ISO2.get(country) or (country if len(country) == 2 else "")
    if not found:
        raise TargetValidationError(
            f"No ISO country code is mapped for {source} country {country}; map it in countries.",
            system="Mapping", code="mapping_missing", payload={"country": country})
    return found


def address_lines(address: StructuredAddress, *, join_town: bool = True) -> list[str]:
    """Street lines, then "City, State" on a line of its own (how the Sage sandbox pairs its parties with
    Kashflow's), at most four: extra lines are joined into the fourth.

    ``join_town=False`` puts the city and the state on lines of their own instead: the AX side reads Kashflow's
    lines back as street, town, then a short state code (``kashflow_parties_to_ax``), so AX writes them so."""
    lines = [line.strip() for line in (address.street or "").splitlines() if line.strip()]
    town = [part for part in (address.city.strip(), address.county.strip()) if part]
    if join_town and town:
        town = [", ".join(town)]
    lines += town
    if len(lines) > 4:
        lines = [*lines[:3], ", ".join(lines[3:])]
    return lines


def party_document(kind: PartyKind, party: Party, code: str, rules: dict[str, Any], *, master: str,
                   join_town: bool = True) -> dict[str, Any]:
    """The Kashflow document for a master's party: what the master owns, nothing else.

    Empty e-mail, phone and VAT values are left out, so an ERP that does not keep them never erases Kashflow's.
    ``join_town``: see :func:`address_lines`.
    """
    name = party.name.strip()
    if not name:
        raise TargetValidationError(f"{master} {kind.label} {party.source_id} has no name; Kashflow needs one.",
                                    system="Mapping", code="invalid_value", payload={"source_id": party.source_id})
    lines = address_lines(party.address, join_town=join_town)
    country = kashflow_country(party.address.country_code, rules, source=master)
    address = {**{field: lines[n] if n < len(lines) else None for n, field in enumerate(LINE_FIELDS)},
               "PostCode": party.address.zip_code.strip() or None, "CountryCode": country or None}
    document: dict[str, Any] = {"Code": code, "Name": name[:NAME_LIMIT]}
    if kind.single_address:
        document["Address"] = address
        contact = {k: v for k, v in (("Email", party.email.strip()), ("Telephone", party.phone.strip())) if v}
        if contact:
            document["Contacts"] = [{"Name": name[:NAME_LIMIT], "IsPrimary": True, **contact}]
    else:
        document["Addresses"] = [address]
        if party.email.strip():
            document["Email"] = party.email.strip()
        if party.phone.strip():
            document["TelephoneNumber"] = party.phone.strip()
    currency = str((rules.get("currencies") or {}).get(party.currency) or party.currency or
                   rules.get("currency") or "").strip().upper()
    if currency:
        document["Currency"] = {"Code": currency}
    if kind.vat_field and party.tax_number.strip():
        document[kind.vat_field] = party.tax_number.strip()
    return document


def _document_contact(kind: PartyKind, document: dict[str, Any]) -> dict[str, str]:
    """E-mail and phone the document sets (only those present)."""
    if kind.single_address:
        _index, primary = _primary(document.get("Contacts"))
        return {k: str(primary[k]) for k in ("Email", "Telephone") if primary.get(k)}
    names = {"Email": "Email", "TelephoneNumber": "Telephone"}
    return {names[k]: str(document[k]) for k in names if document.get(k)}


def differences(kind: PartyKind, existing: dict[str, Any], document: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, Kashflow value, master value) for each field of ``document`` Kashflow holds differently."""
    out = []
    if _blank(existing.get("Name")) != _blank(document.get("Name")):
        out.append(("Name", existing.get("Name"), document.get("Name")))
    if "Currency" in document:
        old = _blank((existing.get("Currency") or {}).get("Code")).upper()
        if old != document["Currency"]["Code"].upper():
            out.append(("Currency", old, document["Currency"]["Code"]))
    if kind.vat_field in document and _blank(existing.get(kind.vat_field)) != _blank(document[kind.vat_field]):
        out.append((kind.vat_field, existing.get(kind.vat_field), document[kind.vat_field]))
    held = kind.contact(existing)
    for name, value in _document_contact(kind, document).items():
        if held[name] != value.strip():
            out.append((name, held[name] or None, value))
    old_address = kind.address(existing)
    new_address = kind.address(document)
    for name in ADDRESS_FIELDS:
        if name == "CountryCode" and not new_address.get(name):
            continue  # Kashflow fills in its own default; an empty master value is no conflict
        if _blank(old_address.get(name)).upper() != _blank(new_address.get(name)).upper():
            out.append((f"Address {name}", old_address.get(name), new_address.get(name)))
    return out


def conflict_warnings(kind: PartyKind, existing: dict[str, Any] | None, document: dict[str, Any], *,
                      master: str) -> list[str]:
    if existing is None:
        return []
    return [f"Kashflow {kind.label} {document['Code']}: {name} {old!r} overwritten with {master}'s {new!r} "
            f"({master} is master for {kind.resource})." for name, old, new in differences(kind, existing, document)]


def merged(kind: PartyKind, existing: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Kashflow's record with the master's fields laid over it (a PUT replaces the whole record)."""
    out = {**existing, **{k: v for k, v in document.items() if k not in ("Addresses", "Address", "Contacts")}}
    new_address = {k: v for k, v in kind.address(document).items() if k != "CountryCode" or v}
    primary = {**kind.address(existing), **new_address}
    primary.pop("CountryName", None)  # resolved from CountryCode by Kashflow
    if kind.single_address:
        out["Address"] = primary
        contact = _document_contact(kind, document)
        if contact:
            people = [dict(p) for p in existing.get("Contacts") or [] if isinstance(p, dict)]
            index, _old = _primary(people)
            if index >= 0:
                people[index].update(contact)
            else:
                people = [{"Name": document["Name"], "IsPrimary": True, **contact}]
            out["Contacts"] = people
    else:
        addresses = list(existing.get("Addresses") or [])
        out["Addresses"] = [primary, *addresses[1:]]
    return out


def find_party(client, kind: PartyKind, code: str) -> dict[str, Any] | None:
    try:
        return getattr(client, kind.resource).get(code)
    except NotFoundError:
        return None


def upsert_party(client, kind: PartyKind, document: dict[str, Any]) -> str:
    """Look the code up, then update (master over Kashflow) or create. Safe to repeat; returns the code."""
    code = document["Code"]
    resource = getattr(client, kind.resource)
    existing = find_party(client, kind, code)
    if existing is None:
        try:
            created = resource.create(document)
            return str((created or {}).get("Code") or code)
        except TargetValidationError as error:
            if not is_duplicate(error):
                raise
            existing = find_party(client, kind, code)  # created meanwhile: update it instead
            if existing is None:
                raise
    if differences(kind, existing, document):
        resource.update(code, merged(kind, existing, document))
    return code


def is_duplicate(error: ConnectorError) -> bool:
    return (error.code or "").lower() == "duplicatecode" or "already exists" in str(error).lower()


class KashflowPartyWrites:
    """The Kashflow half of a flow that keeps Kashflow's parties in step with an ERP master (AX and Sage): the
    conflict look-up, the natural-key upsert and the replay check. The flow sets ``kind`` and ``master`` and
    opens ``kashflow`` (the sender's client) and ``lookup`` (its own client for look-ups during transform, which
    run while a write may be in flight on the sender thread)."""

    kind: PartyKind
    master = ""

    def with_conflicts(self, document: dict[str, Any]) -> Transformed:
        """``document`` with the Kashflow values it overwrites as the record's warnings."""
        existing = self.target_gate.call(lambda: find_party(self.lookup, self.kind, document["Code"]),
                                         metered=False)
        return Transformed(document=document,
                           warnings=conflict_warnings(self.kind, existing, document, master=self.master))

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        return [upsert_party(self.kashflow, self.kind, document) for document in documents]

    def find_existing(self, record: SyncRecord) -> str | None:
        code = (record.target_payload or {}).get("Code")
        if not code:
            return None
        return code if find_party(self.kashflow, self.kind, code) is not None else None


# ---------------------------------------------------------------------- Kashflow -> canonical


def party_from_kashflow(kind: PartyKind, record: dict[str, Any]) -> Party:
    """The canonical party of a Kashflow customer/supplier. Kashflow has no city field: its free address lines
    are read as street / town / county-state by :func:`mapping.addresses.parse_address` (the one place those
    rules of thumb live; a missing country is inferred from the postcode's shape). The parser's warnings (a
    guessed country, a postcode in a line that differs from PostCode) are not kept: a canonical Party has no
    place for them."""
    code = _blank(record.get("Code"))
    if not code:
        raise TargetValidationError(f"A Kashflow {kind.label} has no code.", system="Kashflow", code="unreadable",
                                    payload={"Id": record.get("Id")})
    address = kind.address(record)
    structured, _warnings = parse_address([_blank(address.get(field)) for field in LINE_FIELDS],
                                          _blank(address.get("PostCode")), _blank(address.get("CountryCode")))
    contact = kind.contact(record)
    return Party(
        source_system="kashflow", source_id=code, kind=kind.name, code=code, name=_blank(record.get("Name")),
        address=structured,
        email=contact["Email"], phone=contact["Telephone"],
        currency=_blank((record.get("Currency") or {}).get("Code")).upper(),
        tax_number=_blank(record.get("VATNumber") or record.get("VatNumber")),
        blocked=bool(record.get("IsArchived")),
    )


def listing_digest_fields(kind: PartyKind, item: dict[str, Any]) -> dict[str, Any]:
    """What of a listed party the Kashflow -> ERP flows carry (balances and statistics left out: they change
    with every invoice and must not make a party look changed)."""
    keys: Iterable[str] = ("Code", "Name", "IsArchived", "Currency", "Contacts",
                           "Address" if kind.single_address else "Addresses")
    return {key: item.get(key) for key in keys}


def _primary(contacts: list[dict[str, Any]] | None) -> tuple[int, dict[str, Any]]:
    """(index, contact) of Kashflow's primary contact (``IsPrimary``; else the first), or (-1, {})."""
    contacts = [c for c in contacts or [] if isinstance(c, dict)]
    for index, contact in enumerate(contacts):
        if contact.get("IsPrimary"):
            return index, contact
    return (0, contacts[0]) if contacts else (-1, {})


def _blank(value: Any) -> str:
    return str(value or "").strip()
