"""The global address book as the Customer and Vendor documents see it: parties with addresses and contacts.

A customer or vendor account points at a DIRPARTYTABLE party; its postal addresses are DIRPARTYLOCATION ->
LOGISTICSLOCATION -> LOGISTICSPOSTALADDRESS with location roles, its phone numbers and e-mail addresses
LOGISTICSELECTRONICADDRESS rows on a contact location (reference §3.1, §6.2). DIRPARTYTABLE keeps the primary
address and contacts in PRIMARYADDRESSLOCATION / PRIMARYCONTACTEMAIL / PRIMARYCONTACTPHONE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..aif import AifError
from ..enums import ELECTRONIC_ADDRESS_TYPE, NO_YES, PARTY_ORGANIZATION, PARTY_PERSON
from ..seed import format_address, name_alias
from ..store import timestamp

VALID_TO = "2154-12-31 23:59:59.000"

@dataclass
class Address:
    values: dict[str, str]
    action: str
    recid: int = 0
    nil: set[str] = field(default_factory=set)


@dataclass
class Contact:
    values: dict[str, str]
    action: str
    recid: int = 0


@dataclass
class PartyData:
    values: dict[str, str]
    person: bool
    action: str
    addresses: list[Address] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    nil: set[str] = field(default_factory=set)


class PartyReader:
    """Addresses and contacts of many parties in a few queries."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def load(self, parties: list[int]) -> dict[int, dict[str, list[dict[str, Any]]]]:
        out: dict[int, dict[str, list[dict[str, Any]]]] = {p: {"addresses": [], "contacts": []} for p in parties}
        unique = list(dict.fromkeys(parties))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(
                "SELECT DL.RECID, DL.PARTY, DL.ISPRIMARY, L.DESCRIPTION, A.RECID AS A_RECID, A.RECVERSION, A.STREET, "  # noqa: S608
                "A.CITY, A.STATE, A.COUNTY, A.ZIPCODE, A.COUNTRYREGIONID, A.ADDRESS, (SELECT GROUP_CONCAT(R.NAME, ';')"
                " FROM DIRPARTYLOCATIONROLE X JOIN LOGISTICSLOCATIONROLE R ON R.RECID = X.LOCATIONROLE WHERE "
                "X.PARTYLOCATION = DL.RECID) AS ROLES FROM DIRPARTYLOCATION DL JOIN LOGISTICSLOCATION L ON L.RECID = "
                f"DL.LOCATION JOIN LOGISTICSPOSTALADDRESS A ON A.LOCATION = L.RECID WHERE DL.PARTY IN ({marks}) AND "
                "DL.ISPOSTALADDRESS = 1 ORDER BY DL.RECID", chunk):
                out[row["PARTY"]]["addresses"].append(row)
            for row in self.store.query(
                "SELECT E.*, DL.PARTY FROM DIRPARTYLOCATION DL JOIN LOGISTICSELECTRONICADDRESS E ON E.LOCATION = "  # noqa: S608
                f"DL.LOCATION WHERE DL.PARTY IN ({marks}) AND DL.ISPOSTALADDRESS = 0 ORDER BY E.RECID", chunk):
                out[row["PARTY"]]["contacts"].append(row)
        return out


class PartyWriter:
    """Creates and changes global address book parties with their addresses and contacts."""

    def __init__(self, store: Any, dataareaid: str) -> None:
        self.store = store
        self.dataareaid = dataareaid

    def create(self, party: PartyData) -> int:
        number = self._next_party_number()
        values = party.values
        recid = self.store.insert("DIRPARTYTABLE", {
            "NAME": values["Name"], "NAMEALIAS": values.get("NameAlias") or name_alias(values["Name"]),
            "KNOWNAS": values.get("KnownAs", ""), "PARTYNUMBER": number,
            "LANGUAGEID": values.get("LanguageId") or ("en-gb" if self.dataareaid == "gbsi" else "en-us"),
            "INSTANCERELATIONTYPE": PARTY_PERSON if party.person else PARTY_ORGANIZATION,
            "ORGNUMBER": values.get("OrgNumber", ""),
        })
        for address in party.addresses:
            self._add_address(recid, address, number)
        for contact in party.contacts:
            self._add_contact(recid, contact, number)
        self._refresh_primaries(recid)
        return recid

    def update(self, party_recid: int, party: PartyData, *, full: bool, clear_nil: bool) -> None:
        changes: dict[str, Any] = {}
        mapping = {"Name": "NAME", "NameAlias": "NAMEALIAS", "KnownAs": "KNOWNAS", "LanguageId": "LANGUAGEID",
                   "OrgNumber": "ORGNUMBER"}
        for name, column in mapping.items():
            if name in party.values:
                changes[column] = party.values[name]
            elif name != "Name" and (full or (clear_nil and name in party.nil)):
                changes[column] = ""
        current = self.store.one("SELECT * FROM DIRPARTYTABLE WHERE RECID = ?", (party_recid,)) or {}
        changes = {column: value for column, value in changes.items() if current.get(column) != value}
        if changes:
            self.store.update("DIRPARTYTABLE", party_recid, changes)
        number = current.get("PARTYNUMBER", "")
        existing = PartyReader(self.store).load([party_recid])[party_recid]
        self._sync_addresses(party_recid, number, party.addresses, existing["addresses"], full=full)
        self._sync_contacts(party_recid, number, party.contacts, existing["contacts"], full=full)
        self._refresh_primaries(party_recid)

    def _sync_addresses(self, party: int, number: str, addresses: list[Address], existing: list[dict], *,
                        full: bool) -> None:
        known = {row["RECID"]: row for row in existing}
        kept = set()
        for address in addresses:
            if address.recid and address.recid not in known:
                raise AifError([f"The postal address {address.recid} does not belong to this party."])
            if address.action == "delete" and address.recid:
                self._delete_location(known[address.recid]["RECID"])
            elif address.recid and address.action in ("", "update"):
                self._update_address(known[address.recid], address, partial=address.action == "update")
                kept.add(address.recid)
            else:
                kept.add(self._add_address(party, address, number))
        if full and addresses:
            for recid in set(known) - kept:
                self._delete_location(recid)

    def _sync_contacts(self, party: int, number: str, contacts: list[Contact], existing: list[dict], *,
                       full: bool) -> None:
        known = {row["RECID"]: row for row in existing}
        kept = set()
        for contact in contacts:
            if contact.recid and contact.recid not in known:
                raise AifError([f"The contact information {contact.recid} does not belong to this party."])
            if contact.action == "delete" and contact.recid:
                self.store.delete("LOGISTICSELECTRONICADDRESS", [contact.recid])
            elif contact.recid and contact.action in ("", "update"):
                self.store.update("LOGISTICSELECTRONICADDRESS", contact.recid, _contact_columns(contact.values))
                kept.add(contact.recid)
            else:
                kept.add(self._add_contact(party, contact, number))
        if full and contacts:
            self.store.delete("LOGISTICSELECTRONICADDRESS", set(known) - kept)

    def _add_address(self, party: int, address: Address, number: str) -> int:
        values = address.values
        count = self.store.scalar("SELECT COUNT(*) FROM DIRPARTYLOCATION WHERE PARTY = ?", (party,)) or 0
        location = self.store.insert("LOGISTICSLOCATION", {
            "DESCRIPTION": values.get("LocationName", ""), "LOCATIONID": f"{number}-{count + 1}-{party}",
            "ISPOSTALADDRESS": 1})
        self.store.insert("LOGISTICSPOSTALADDRESS", {"LOCATION": location, **_address_columns(values),
                                                     "VALIDFROM": timestamp(), "VALIDTO": VALID_TO})
        has_primary = self.store.scalar("SELECT 1 FROM DIRPARTYLOCATION WHERE PARTY = ? AND ISPRIMARY = 1 AND "
                                        "ISPOSTALADDRESS = 1", (party,))
        primary = values.get("IsPrimary") == "Yes" or (not has_primary and values.get("IsPrimary") != "No")
        if primary:
            self.store.execute("UPDATE DIRPARTYLOCATION SET ISPRIMARY = 0 WHERE PARTY = ? AND ISPOSTALADDRESS = 1",
                               (party,))
        link = self.store.insert("DIRPARTYLOCATION", {"PARTY": party, "LOCATION": location, "ISPRIMARY": int(primary),
                                                      "ISPOSTALADDRESS": 1, "ISLOCATIONOWNER": 1})
        self._set_roles(link, values.get("Roles", "Business"))
        return link

    def _update_address(self, row: dict[str, Any], address: Address, *, partial: bool) -> None:
        values = address.values
        columns = _address_columns(values) if not partial else _address_columns(values, only_given=True)
        if columns:
            merged = {"STREET": row["STREET"], "CITY": row["CITY"], "STATE": row["STATE"], "ZIPCODE": row["ZIPCODE"],
                      "COUNTRYREGIONID": row["COUNTRYREGIONID"], **columns}
            merged["ADDRESS"] = format_address(merged["STREET"], merged["CITY"], merged["STATE"], merged["ZIPCODE"],
                                               merged["COUNTRYREGIONID"])
            self.store.update("LOGISTICSPOSTALADDRESS", row["A_RECID"], {**columns, "ADDRESS": merged["ADDRESS"]})
        if "LocationName" in values:
            location = self.store.scalar("SELECT LOCATION FROM DIRPARTYLOCATION WHERE RECID = ?", (row["RECID"],))
            self.store.update("LOGISTICSLOCATION", location, {"DESCRIPTION": values["LocationName"]})
        if "Roles" in values:
            self.store.execute("DELETE FROM DIRPARTYLOCATIONROLE WHERE PARTYLOCATION = ?", (row["RECID"],))
            self._set_roles(row["RECID"], values["Roles"])
        if values.get("IsPrimary") == "Yes":
            party = self.store.scalar("SELECT PARTY FROM DIRPARTYLOCATION WHERE RECID = ?", (row["RECID"],))
            self.store.execute("UPDATE DIRPARTYLOCATION SET ISPRIMARY = CASE WHEN RECID = ? THEN 1 ELSE 0 END WHERE "
                               "PARTY = ? AND ISPOSTALADDRESS = 1", (row["RECID"], party))

    def _delete_location(self, party_location: int) -> None:
        location = self.store.scalar("SELECT LOCATION FROM DIRPARTYLOCATION WHERE RECID = ?", (party_location,))
        self.store.execute("DELETE FROM DIRPARTYLOCATIONROLE WHERE PARTYLOCATION = ?", (party_location,))
        self.store.delete("DIRPARTYLOCATION", [party_location])
        self.store.execute("DELETE FROM LOGISTICSPOSTALADDRESS WHERE LOCATION = ?", (location,))
        self.store.delete("LOGISTICSLOCATION", [location])

    def _add_contact(self, party: int, contact: Contact, number: str) -> int:
        location = self.store.scalar("SELECT LOCATION FROM DIRPARTYLOCATION WHERE PARTY = ? AND ISPOSTALADDRESS = 0 "
                                     "ORDER BY RECID LIMIT 1", (party,))
        if location is None:
            location = self.store.insert("LOGISTICSLOCATION", {"DESCRIPTION": "Contact", "ISPOSTALADDRESS": 0,
                                                               "LOCATIONID": f"{number}-C-{party}"})
            self.store.insert("DIRPARTYLOCATION", {"PARTY": party, "LOCATION": location, "ISPRIMARY": 1,
                                                   "ISPOSTALADDRESS": 0, "ISLOCATIONOWNER": 1})
        return self.store.insert("LOGISTICSELECTRONICADDRESS", {"LOCATION": location, **_contact_columns(
            contact.values, defaults=True)})

    def _set_roles(self, party_location: int, roles: str) -> None:
        for role in filter(None, (r.strip() for r in roles.split(";"))):
            role_id = self.store.scalar("SELECT RECID FROM LOGISTICSLOCATIONROLE WHERE NAME = ?", (role,))
            if role_id:
                self.store.insert("DIRPARTYLOCATIONROLE", {"PARTYLOCATION": party_location, "LOCATIONROLE": role_id})

    def _refresh_primaries(self, party: int) -> None:
        """DIRPARTYTABLE.PRIMARYADDRESSLOCATION / PRIMARYCONTACTEMAIL / PRIMARYCONTACTPHONE follow the children."""
        address = self.store.scalar("SELECT LOCATION FROM DIRPARTYLOCATION WHERE PARTY = ? AND ISPOSTALADDRESS = 1 "
                                    "ORDER BY ISPRIMARY DESC, RECID LIMIT 1", (party,)) or 0
        contacts = {}
        for kind in ("Email", "Phone"):
            contacts[kind] = self.store.scalar(
                "SELECT E.RECID FROM LOGISTICSELECTRONICADDRESS E JOIN DIRPARTYLOCATION DL ON DL.LOCATION = E.LOCATION "
                "WHERE DL.PARTY = ? AND E.TYPE = ? ORDER BY E.ISPRIMARY DESC, E.RECID LIMIT 1",
                (party, ELECTRONIC_ADDRESS_TYPE[kind])) or 0
        current = self.store.one("SELECT PRIMARYADDRESSLOCATION, PRIMARYCONTACTEMAIL, PRIMARYCONTACTPHONE FROM "
                                 "DIRPARTYTABLE WHERE RECID = ?", (party,))
        wanted = {"PRIMARYADDRESSLOCATION": address, "PRIMARYCONTACTEMAIL": contacts["Email"],
                  "PRIMARYCONTACTPHONE": contacts["Phone"]}
        if current != wanted:
            self.store.execute("UPDATE DIRPARTYTABLE SET PRIMARYADDRESSLOCATION = ?, PRIMARYCONTACTEMAIL = ?, "
                               "PRIMARYCONTACTPHONE = ? WHERE RECID = ?", (*wanted.values(), party))

    def _next_party_number(self) -> str:
        highest = self.store.scalar("SELECT MAX(CAST(PARTYNUMBER AS INTEGER)) FROM DIRPARTYTABLE") or 0
        return f"{int(highest) + 1:06d}"


def _address_columns(values: dict[str, str], *, only_given: bool = False) -> dict[str, Any]:
    mapping = {"Street": "STREET", "City": "CITY", "State": "STATE", "County": "COUNTY", "ZipCode": "ZIPCODE",
               "CountryRegionId": "COUNTRYREGIONID"}
    columns = {column: values.get(name, "") for name, column in mapping.items()
               if not only_given or name in values}
    if not only_given:
        columns["ADDRESS"] = format_address(columns["STREET"], columns["CITY"], columns["STATE"], columns["ZIPCODE"],
                                            columns["COUNTRYREGIONID"])
    return columns


def _contact_columns(values: dict[str, str], *, defaults: bool = False) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    if "Locator" in values or defaults:
        columns["LOCATOR"] = values.get("Locator", "")
    if "Type" in values or defaults:
        columns["TYPE"] = ELECTRONIC_ADDRESS_TYPE.value(values.get("Type"), default=0)
    if "LocationName" in values or defaults:
        columns["DESCRIPTION"] = values.get("LocationName", "")
    if "IsPrimary" in values or defaults:
        columns["ISPRIMARY"] = NO_YES.value(values.get("IsPrimary"), default=0)
    return columns
