"""CustomerService (AxdCustomer over CUSTTABLE) and VendTableService (AxdVendor over VENDTABLE).

Both documents are a company-specific account (CUSTTABLE / VENDTABLE) on a shared global address book party
(DIRPARTYTABLE) with postal addresses (DIRPARTYLOCATION -> LOGISTICSLOCATION -> LOGISTICSPOSTALADDRESS) and
electronic addresses (LOGISTICSELECTRONICADDRESS) — reference §3.1, §3.2, §6.2. Operations: create, read,
update (full, or partial with ``action="update"``; optimistic concurrency through ``_DocumentHash`` or
RecId + RecVersion, §3.8), delete, find, findKeys.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from ..aif import (
    HASH_MISMATCH,
    NO_VALID_DOCUMENT,
    XPP_DUPLICATE_KEY,
    XPP_UPDATE_CONFLICT,
    AifError,
    CallContext,
    OperationResult,
    business_error,
)
from ..enums import CUST_VENDOR_BLOCKED, ELECTRONIC_ADDRESS_TYPE, NO_YES, PARTY_PERSON
from ..ledger import Ledger
from ..query import Column, where
from ..xmlkit import (
    XSI_NS,
    Builder,
    children,
    document_hash,
    fields,
    key_list_from,
    nil_fields,
    q,
    query_criteria,
)
from .address_book import Address, Contact, PartyData, PartyReader, PartyWriter
from .base import Handler, PortOptions, Service


@dataclass(frozen=True)
class PartyKind:
    """What differs between customers and vendors."""

    service: str
    document: str
    entity: str
    table: str
    group_field: str
    group_table: str
    group_label: str
    group_table_label: str
    table_label: str  # "Customers"
    record_label: str  # "Customers (CustTable)"
    account_label: str  # "Customer account"
    noun: str
    sequence: str
    trans_table: str = ""
    fields: tuple[str, ...] = ()


CUSTOMER = PartyKind(
    service="CustomerService", document="Customer", entity="CustTable", table="CUSTTABLE", group_field="CustGroup",
    group_table="CUSTGROUP", group_label="Customer group", group_table_label="Customer groups",
    table_label="Customers", record_label="Customers (CustTable)", account_label="Customer account",
    noun="customer", sequence="Cust", trans_table="CUSTTRANS",
    fields=("Blocked", "CreditMax", "Currency", "CustGroup", "DefaultDimension", "InvoiceAccount", "PaymMode",
            "PaymTermId", "TaxGroup", "VATNum"),
)
VENDOR = PartyKind(
    service="VendTableService", document="Vendor", entity="VendTable", table="VENDTABLE", group_field="VendGroup",
    group_table="VENDGROUP", group_label="Vendor group", group_table_label="Vendor groups", table_label="Vendors",
    record_label="Vendors (VendTable)", account_label="Vendor account", noun="vendor", sequence="Vend",
    fields=("Blocked", "Currency", "DefaultDimension", "InvoiceAccount", "PaymMode", "PaymTermId", "TaxGroup",
            "VATNum", "VendGroup"),
)
_COLUMN = {"Blocked": "BLOCKED", "CreditMax": "CREDITMAX", "Currency": "CURRENCY", "CustGroup": "CUSTGROUP",
           "VendGroup": "VENDGROUP", "DefaultDimension": "DEFAULTDIMENSION", "InvoiceAccount": "INVOICEACCOUNT",
           "PaymMode": "PAYMMODE", "PaymTermId": "PAYMTERMID", "TaxGroup": "TAXGROUP", "VATNum": "VATNUM"}
_DEFAULTS: dict[str, Any] = {"BLOCKED": 0, "CREDITMAX": 0, "DEFAULTDIMENSION": 0}


class PartyService(Service):
    def __init__(self, store: Any, options: PortOptions, kind: PartyKind) -> None:
        super().__init__(store, options)
        self.kind = kind
        self.document_root = kind.document
        self.ns = Builder(kind.document).ns
        self.sources = _query_sources(kind)

    def handlers(self) -> dict[tuple[str, str], Handler]:
        service = self.kind.service
        return {(service, "create"): self.create, (service, "read"): self.read, (service, "update"): self.update,
                (service, "delete"): self.delete, (service, "find"): self.find, (service, "findKeys"): self.find_keys}

    # -- operations ------------------------------------------------------------------------------------------
    def create(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        entities = self._entities(self.document(wrapper))
        ledger = self.ledger(ctx)
        keys = []
        for entity in entities:
            keys.append({"AccountNum": self._create_one(ctx, ledger, entity)})
        return OperationResult(keys=keys)

    def read(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        rows = [self._row_for_key(ctx, key) for key in key_list_from(wrapper)]
        return OperationResult(document=self._document(ctx, rows))

    def update(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        keys = key_list_from(wrapper)
        document = self.document(wrapper)
        entities = self._entities(document)
        if len(keys) != len(entities):
            raise AifError([f"The number of entity keys ({len(keys)}) does not match the number of {self.kind.entity} "
                            f"records in the document ({len(entities)})."])
        clear_nil = fields(document, self.ns).get("ClearNilFieldsOnUpdate") == "true"
        ledger = self.ledger(ctx)
        for key, entity in zip(keys, entities, strict=True):
            row = self._row_for_key(ctx, key)
            self._check_concurrency(ctx, row, entity)
            self._update_one(ctx, ledger, row, entity, clear_nil)
        return OperationResult(keys=keys)

    def delete(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        keys = key_list_from(wrapper)
        for key in keys:
            row = self._row_for_key(ctx, key)
            if self.kind.trans_table and self.store.scalar(
                    f"SELECT 1 FROM {self.kind.trans_table} WHERE DATAAREAID = ? AND ACCOUNTNUM = ? LIMIT 1",  # noqa: S608
                    (ctx.dataareaid, row["ACCOUNTNUM"])):
                raise business_error([f"The {self.kind.noun} {row['ACCOUNTNUM']} cannot be deleted because "
                                      "transactions exist for it."])
            self.store.delete(self.kind.table, [row["RECID"]])
        return OperationResult(keys=keys)

    def find(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        return OperationResult(document=self._document(ctx, self._query(ctx, wrapper)))

    def find_keys(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        return OperationResult(keys=[{"AccountNum": row["ACCOUNTNUM"]} for row in self._query(ctx, wrapper)])

    # -- create ----------------------------------------------------------------------------------------------
    def _entities(self, document: etree._Element) -> list[etree._Element]:
        entities = children(document, self.ns, self.kind.entity)
        if not entities:
            raise business_error([f"The document does not contain a {self.kind.noun}."])
        return entities

    def _create_one(self, ctx: CallContext, ledger: Ledger, entity: etree._Element) -> str:
        values = fields(entity, self.ns)
        errors: list[str] = []
        account = values.get("AccountNum", "")
        if account and self._row(ctx, account) is not None:
            raise AifError([f"Cannot create a record in {self.kind.record_label}. {self.kind.account_label}: "
                            f"{account}. The record already exists."], xpp_type=XPP_DUPLICATE_KEY)
        group = values.get(self.kind.group_field, "")
        columns = self._validated_columns(ctx, ledger, entity, values, errors, full=True)
        party = self._party(entity, errors, required=True)
        if errors:
            raise business_error(errors)
        if not columns.get("PAYMTERMID") and group:
            columns["PAYMTERMID"] = self.store.scalar(
                f"SELECT PAYMTERMID FROM {self.kind.group_table} WHERE DATAAREAID = ? AND {_COLUMN[self.kind.group_field]} = ?",  # noqa: E501, S608
                (ctx.dataareaid, group)) or ""
        if not account:
            account = self.store.next_number(ctx.dataareaid, self.kind.sequence)
        party_recid = PartyWriter(self.store, ctx.dataareaid).create(party)
        self.store.insert(self.kind.table, {"DATAAREAID": ctx.dataareaid, "ACCOUNTNUM": account, "PARTY": party_recid,
                                            **columns})
        return account

    def _validated_columns(self, ctx: CallContext, ledger: Ledger, entity: etree._Element, values: dict[str, str],
                           errors: list[str], *, full: bool, clear: set[str] = frozenset()) -> dict[str, Any]:
        """Table columns for the document fields given (and, on a full update, the cleared ones)."""
        company = self.store.company(ctx.dataareaid) or {}
        out: dict[str, Any] = {}
        for name in self.kind.fields:
            column = _COLUMN[name]
            if name == "DefaultDimension":
                node = entity.find(q(self.ns, name))
                if node is not None:
                    out[column] = ledger.value_set(ledger.default_dimension(node, errors))
                elif full or name in clear:
                    out[column] = 0
                continue
            if name not in values:
                if name == self.kind.group_field and (full or name in clear):
                    errors.append(f"Field '{self.kind.group_label}' must be filled in.")
                elif name == "Currency" and (full or name in clear):
                    out[column] = company.get("ACCOUNTINGCURRENCY") or "USD"
                elif full or name in clear:
                    out[column] = _DEFAULTS.get(column, "")
                continue
            out[column] = self._field_value(ctx, name, values[name], errors)
        return out

    def _field_value(self, ctx: CallContext, name: str, value: str, errors: list[str]) -> Any:
        kind = self.kind
        if name == "Blocked":
            return CUST_VENDOR_BLOCKED.value(value)
        if name == "CreditMax":
            try:
                return float(Decimal(value))
            except InvalidOperation:
                errors.append(f"The value '{value}' is not valid for field 'Credit limit'.")
                return 0
        checks = {
            kind.group_field: (f"SELECT 1 FROM {kind.group_table} WHERE DATAAREAID = ? AND "  # noqa: S608
                               f"{_COLUMN[kind.group_field]} = ?", (ctx.dataareaid, value), kind.group_label,
                               kind.group_table_label),
            "Currency": ("SELECT 1 FROM CURRENCY WHERE CURRENCYCODE = ?", (value,), "Currency", "Currency"),
            "PaymTermId": ("SELECT 1 FROM PAYMTERM WHERE DATAAREAID = ? AND PAYMTERMID = ?", (ctx.dataareaid, value),
                           "Terms of payment", "Terms of payment"),
            "InvoiceAccount": (f"SELECT 1 FROM {kind.table} WHERE DATAAREAID = ? AND ACCOUNTNUM = ?",  # noqa: S608
                               (ctx.dataareaid, value), "Invoice account", kind.table_label),
        }
        if name in checks:
            sql, params, label, table_label = checks[name]
            if not self.store.scalar(sql, params):
                errors.append(f"The value '{value}' in field '{label}' is not found in the relating table "
                              f"'{table_label}'.")
        return value

    def _party(self, entity: etree._Element, errors: list[str], *, required: bool) -> PartyData | None:
        nodes = children(entity, self.ns, "DirParty")
        if not nodes:
            if required:
                errors.append("Field 'Name' must be filled in.")
            return None
        if len(nodes) > 1:
            errors.append(f"A {self.kind.noun} has exactly one party (DirParty); the document contains {len(nodes)}.")
        node = nodes[0]
        xsi_type = (node.get(q(XSI_NS, "type")) or "").split(":")[-1]
        person = xsi_type == "AxdEntity_DirParty_DirPerson"
        values = fields(node, self.ns)
        if person and "Name" not in values:
            names = [fields(name, self.ns) for name in children(node, self.ns, "PersonName")]
            full_name = " ".join(n.get(part, "") for n in names[:1] for part in ("FirstName", "MiddleName", "LastName")
                                 if n.get(part))
            if full_name:
                values["Name"] = full_name
        action = node.get("action") or ""
        if required and not values.get("Name"):
            errors.append("Field 'Name' must be filled in.")
        party = PartyData(values, person, action, nil=nil_fields(node, self.ns))
        for view in children(node, self.ns, "DirPartyPostalAddressView"):
            address = Address(fields(view, self.ns), view.get("action") or "", nil=nil_fields(view, self.ns))
            address.recid = _int(address.values.get("RecId"))
            self._check_address(address, errors)
            party.addresses.append(address)
        for view in children(node, self.ns, "DirPartyContactInfoView"):
            contact = Contact(fields(view, self.ns), view.get("action") or "")
            contact.recid = _int(contact.values.get("RecId"))
            if contact.action != "delete" and not contact.values.get("Locator"):
                errors.append("Field 'Contact number/address' must be filled in.")
            party.contacts.append(contact)
        return party

    def _check_address(self, address: Address, errors: list[str]) -> None:
        if address.action == "delete":
            return
        country = address.values.get("CountryRegionId")
        if country and not self.store.scalar(
                "SELECT 1 FROM LOGISTICSADDRESSCOUNTRYREGION WHERE COUNTRYREGIONID = ?", (country,)):
            errors.append(f"The value '{country}' in field 'Country/region' is not found in the relating table "
                          "'Address country/region'.")
        for role in filter(None, (r.strip() for r in address.values.get("Roles", "").split(";"))):
            if not self.store.scalar("SELECT 1 FROM LOGISTICSLOCATIONROLE WHERE NAME = ?", (role,)):
                errors.append(f"The value '{role}' in field 'Purpose' is not found in the relating table "
                              "'Location roles'.")

    # -- update ----------------------------------------------------------------------------------------------
    def _check_concurrency(self, ctx: CallContext, row: dict[str, Any], entity: etree._Element) -> None:
        values = fields(entity, self.ns)
        if values.get("_DocumentHash"):
            if values["_DocumentHash"] != self._hash(ctx, row):
                raise AifError([HASH_MISMATCH])
            return
        if values.get("RecId") and values.get("RecVersion"):
            if _int(values["RecId"]) != row["RECID"] or _int(values["RecVersion"]) != row["RECVERSION"]:
                raise AifError([f"Cannot edit a record in {self.kind.record_label}. An update conflict occurred due "
                                "to another user process deleting the record or changing one or more fields in the "
                                "record."], xpp_type=XPP_UPDATE_CONFLICT)
            return
        raise AifError(["The document hash (_DocumentHash) or the RecId and RecVersion of the record must be "
                        "specified to update it."])

    def _update_one(self, ctx: CallContext, ledger: Ledger, row: dict[str, Any], entity: etree._Element,
                    clear_nil: bool) -> None:
        values = fields(entity, self.ns)
        full = entity.get("action") not in ("update",)
        clear = nil_fields(entity, self.ns) if clear_nil else set()
        errors: list[str] = []
        columns = self._validated_columns(ctx, ledger, entity, values, errors, full=full, clear=clear)
        party = self._party(entity, errors, required=False)
        if errors:
            raise business_error(errors)
        changed = {column: value for column, value in columns.items() if row.get(column) != value}
        if changed:
            self.store.update(self.kind.table, row["RECID"], changed)
        if party is not None:
            PartyWriter(self.store, ctx.dataareaid).update(row["PARTY"], party, full=full and party.action != "update",
                                                           clear_nil=clear_nil)

    # -- read ------------------------------------------------------------------------------------------------
    def _row(self, ctx: CallContext, account: str) -> dict[str, Any] | None:
        rows = self._select(ctx, "C.ACCOUNTNUM = ?", [account])
        return rows[0] if rows else None

    def _row_for_key(self, ctx: CallContext, key: dict[str, str]) -> dict[str, Any]:
        row = None
        if key.get("AccountNum"):
            row = self._row(ctx, key["AccountNum"])
        elif key.get("RecId"):
            rows = self._select(ctx, "C.RECID = ?", [_int(key["RecId"])])
            row = rows[0] if rows else None
        if row is None:
            raise AifError([NO_VALID_DOCUMENT])
        return row

    def _select(self, ctx: CallContext, condition: str, params: list[Any]) -> list[dict[str, Any]]:
        return self.store.query(
            f"SELECT C.*, P.RECID AS P_RECID, P.RECVERSION AS P_RECVERSION, P.NAME AS P_NAME, P.NAMEALIAS AS "  # noqa: S608
            "P_NAMEALIAS, P.KNOWNAS AS P_KNOWNAS, P.PARTYNUMBER AS P_PARTYNUMBER, P.LANGUAGEID AS P_LANGUAGEID, "
            "P.INSTANCERELATIONTYPE AS P_TYPE, P.ORGNUMBER AS P_ORGNUMBER "
            f"FROM {self.kind.table} C JOIN DIRPARTYTABLE P ON P.RECID = C.PARTY "
            f"WHERE C.DATAAREAID = ? AND ({condition}) ORDER BY C.ACCOUNTNUM",
            [ctx.dataareaid, *params],
        )

    def _query(self, ctx: CallContext, wrapper: etree._Element) -> list[dict[str, Any]]:
        condition, params = where(query_criteria(wrapper), self.sources, self.kind.document)
        return self._select(ctx, condition, params)

    def _hash(self, ctx: CallContext, row: dict[str, Any]) -> str:
        details = PartyReader(self.store).load([row["PARTY"]])
        return _hash(row, details)

    def _document(self, ctx: CallContext, rows: list[dict[str, Any]]) -> etree._Element:
        builder = Builder(self.kind.document)
        root = builder.root
        builder.add(root, "DocPurpose", "Original")
        builder.add(root, "SenderId", ctx.company)
        details = PartyReader(self.store).load([row["PARTY"] for row in rows])
        ledger = self.ledger(ctx)
        for row in rows:
            self._entity(builder, root, row, details, ledger)
        return root

    def _entity(self, builder: Builder, root: etree._Element, row: dict[str, Any], details: dict[int, dict],
                ledger: Ledger) -> None:
        entity = builder.entity(root, self.kind.entity)
        dimension = self.store.value_set_values(row["DEFAULTDIMENSION"])
        values: dict[str, Any] = {
            "_DocumentHash": _hash(row, details), "AccountNum": row["ACCOUNTNUM"],
            "Blocked": CUST_VENDOR_BLOCKED.label(row["BLOCKED"]), "CreditMax": row.get("CREDITMAX"),
            "Currency": row["CURRENCY"], "DefaultDimension": lambda p: builder.dimension_values(p, "DefaultDimension",
                                                                                                  dimension),
            "InvoiceAccount": row["INVOICEACCOUNT"], "Party": row["P_PARTYNUMBER"], "PaymMode": row["PAYMMODE"],
            "PaymTermId": row["PAYMTERMID"], "RecId": row["RECID"], "RecVersion": row["RECVERSION"],
            "TaxGroup": row["TAXGROUP"], "VATNum": row["VATNUM"],
            self.kind.group_field: row[_COLUMN[self.kind.group_field]],
        }
        builder.ordered(entity, f"AxdEntity_{self.kind.entity}", values, keep=("Blocked", "RecVersion"))
        self._party_entity(builder, entity, row, details.get(row["PARTY"], {}))

    def _party_entity(self, builder: Builder, parent: etree._Element, row: dict[str, Any], detail: dict) -> None:
        person = row["P_TYPE"] == PARTY_PERSON
        party = builder.entity(parent, "DirParty", xsi_type="AxdEntity_DirParty_DirPerson" if person
                               else "AxdEntity_DirParty_DirOrganization")
        builder.ordered(party, "AxdEntity_DirParty_DirPartyTable", {
            "KnownAs": row["P_KNOWNAS"], "LanguageId": row["P_LANGUAGEID"], "Name": row["P_NAME"],
            "NameAlias": row["P_NAMEALIAS"], "PartyNumber": row["P_PARTYNUMBER"], "RecId": row["P_RECID"],
            "RecVersion": row["P_RECVERSION"]}, keep=("RecVersion",))
        for address in detail.get("addresses", []):
            view = builder.entity(party, "DirPartyPostalAddressView")
            builder.ordered(view, "AxdEntity_DirPartyPostalAddressView", {
                "Address": address["ADDRESS"], "City": address["CITY"], "CountryRegionId": address["COUNTRYREGIONID"],
                "County": address["COUNTY"], "IsPrimary": NO_YES.label(address["ISPRIMARY"]),
                "LocationName": address["DESCRIPTION"], "RecId": address["RECID"], "Roles": address["ROLES"],
                "State": address["STATE"], "Street": address["STREET"], "ZipCode": address["ZIPCODE"]},
                keep=("IsPrimary",))
        for contact in detail.get("contacts", []):
            view = builder.entity(party, "DirPartyContactInfoView")
            builder.ordered(view, "AxdEntity_DirPartyContactInfoView", {
                "IsPrimary": NO_YES.label(contact["ISPRIMARY"]), "LocationName": contact["DESCRIPTION"],
                "Locator": contact["LOCATOR"], "RecId": contact["RECID"],
                "Type": ELECTRONIC_ADDRESS_TYPE.label(contact["TYPE"])}, keep=("IsPrimary", "Type"))
        if person:
            name = builder.entity(party, "PersonName")
            first, _, last = (row["P_NAME"] or "").rpartition(" ")
            builder.ordered(name, "AxdEntity_PersonName", {"FirstName": first or last, "LastName": last if first
                                                           else ""})
        else:
            builder.ordered(party, "AxdEntity_DirParty_DirOrganization", {"OrgNumber": row["P_ORGNUMBER"]})


def _hash(row: dict[str, Any], details: dict[int, dict]) -> str:
    detail = details.get(row["PARTY"], {})
    records = [(row["RECID"], row["RECVERSION"]), (row["P_RECID"], row["P_RECVERSION"])]
    records += [(a["A_RECID"], a["RECVERSION"]) for a in detail.get("addresses", [])]
    records += [(c["RECID"], c["RECVERSION"]) for c in detail.get("contacts", [])]
    return document_hash(records)


def _query_sources(kind: PartyKind) -> dict[str, dict[str, Column]]:
    table = {"AccountNum": Column("C.ACCOUNTNUM"), "Blocked": Column("C.BLOCKED", "enum", CUST_VENDOR_BLOCKED),
             "Currency": Column("C.CURRENCY"), "InvoiceAccount": Column("C.INVOICEACCOUNT"),
             "PaymMode": Column("C.PAYMMODE"), "PaymTermId": Column("C.PAYMTERMID"), "TaxGroup": Column("C.TAXGROUP"),
             "VATNum": Column("C.VATNUM"), "RecId": Column("C.RECID", "int"), "Party": Column("P.PARTYNUMBER"),
             kind.group_field: Column(f"C.{_COLUMN[kind.group_field]}")}
    if "CreditMax" in kind.fields:
        table["CreditMax"] = Column("C.CREDITMAX", "decimal")
    party = {"Name": Column("P.NAME"), "NameAlias": Column("P.NAMEALIAS"), "PartyNumber": Column("P.PARTYNUMBER"),
             "LanguageId": Column("P.LANGUAGEID")}
    return {kind.entity: table, "DirParty": party}


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0
