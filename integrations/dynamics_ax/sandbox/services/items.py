"""ItemService (AxdItem over INVENTTABLE): read, find, findKeys of released products.

The item document joins what AX 2012 keeps in separate tables: INVENTTABLE (the released item), the shared
product (ECORESPRODUCT, ECORESPRODUCTTRANSLATION for name and description), prices and units per module
(INVENTTABLEMODULE) and the item group (INVENTITEMGROUPITEM). Reference §3.3.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ..aif import NO_VALID_DOCUMENT, AifError, CallContext, OperationResult
from ..enums import ITEM_TYPE, MODULE_INVENT_PURCH_SALES
from ..query import Column, where
from ..xmlkit import Builder, document_hash, key_list_from, query_criteria
from .base import Handler, Service

SOURCES = {
    "InventTable": {"ItemId": Column("I.ITEMID"), "ItemType": Column("I.ITEMTYPE", "enum", ITEM_TYPE),
                    "NameAlias": Column("I.NAMEALIAS"), "PrimaryVendorId": Column("I.PRIMARYVENDORID"),
                    "Product": Column("P.DISPLAYPRODUCTNUMBER"), "RecId": Column("I.RECID", "int")},
    "InventItemGroupItem": {"ItemGroupId": Column("G.ITEMGROUPID")},
    "EcoResProductTranslation": {"Name": Column("T.NAME")},
}


class ItemService(Service):
    document_root = "Item"

    def handlers(self) -> dict[tuple[str, str], Handler]:
        return {("ItemService", "read"): self.read, ("ItemService", "find"): self.find,
                ("ItemService", "findKeys"): self.find_keys}

    def read(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        rows = []
        for key in key_list_from(wrapper):
            found = self._select(ctx, "I.ITEMID = ?", [key.get("ItemId", "")])
            if not found:
                raise AifError([NO_VALID_DOCUMENT])
            rows.extend(found)
        return OperationResult(document=self._document(ctx, rows))

    def find(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        return OperationResult(document=self._document(ctx, self._query(ctx, wrapper)))

    def find_keys(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        return OperationResult(keys=[{"ItemId": row["ITEMID"]} for row in self._query(ctx, wrapper)])

    def _query(self, ctx: CallContext, wrapper: etree._Element) -> list[dict[str, Any]]:
        condition, params = where(query_criteria(wrapper), SOURCES, "Item")
        return self._select(ctx, condition, params)

    def _select(self, ctx: CallContext, condition: str, params: list[Any]) -> list[dict[str, Any]]:
        return self.store.query(
            "SELECT I.*, P.DISPLAYPRODUCTNUMBER, T.NAME AS T_NAME, T.DESCRIPTION AS T_DESCRIPTION, T.LANGUAGEID AS "  # noqa: S608
            "T_LANGUAGEID, G.ITEMGROUPID FROM INVENTTABLE I JOIN ECORESPRODUCT P ON P.RECID = I.PRODUCT "
            "LEFT JOIN ECORESPRODUCTTRANSLATION T ON T.PRODUCT = P.RECID LEFT JOIN INVENTITEMGROUPITEM G ON "
            "G.ITEMID = I.ITEMID AND G.ITEMDATAAREAID = I.DATAAREAID "
            f"WHERE I.DATAAREAID = ? AND ({condition}) ORDER BY I.ITEMID",
            [ctx.dataareaid, *params],
        )

    def _document(self, ctx: CallContext, rows: list[dict[str, Any]]) -> etree._Element:
        builder = Builder("Item")
        builder.add(builder.root, "DocPurpose", "Original")
        builder.add(builder.root, "SenderId", ctx.company)
        modules = self._modules(ctx, [row["ITEMID"] for row in rows])
        for row in rows:
            entity = builder.entity(builder.root, "InventTable")
            builder.ordered(entity, "AxdEntity_InventTable", {
                "_DocumentHash": document_hash([(row["RECID"], row["RECVERSION"])]), "ItemId": row["ITEMID"],
                "ItemType": ITEM_TYPE.label(row["ITEMTYPE"]), "NameAlias": row["NAMEALIAS"],
                "PrimaryVendorId": row["PRIMARYVENDORID"], "Product": row["DISPLAYPRODUCTNUMBER"],
                "RecId": row["RECID"], "RecVersion": row["RECVERSION"]}, keep=("ItemType", "RecVersion"))
            if row["T_NAME"]:
                translation = builder.entity(entity, "EcoResProductTranslation")
                builder.ordered(translation, "AxdEntity_EcoResProductTranslation", {
                    "Description": row["T_DESCRIPTION"], "LanguageId": row["T_LANGUAGEID"], "Name": row["T_NAME"]})
            if row["ITEMGROUPID"]:
                group = builder.entity(entity, "InventItemGroupItem")
                builder.add(group, "ItemGroupId", row["ITEMGROUPID"])
            for module in modules.get(row["ITEMID"], []):
                element = builder.entity(entity, "InventTableModule")
                builder.ordered(element, "AxdEntity_InventTableModule", {
                    "ModuleType": MODULE_INVENT_PURCH_SALES.label(module["MODULETYPE"]), "Price": module["PRICE"],
                    "UnitId": module["UNITID"]}, keep=("ModuleType",))
        return builder.root

    def _modules(self, ctx: CallContext, items: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(items), 500):
            chunk = items[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.store.query(
                    f"SELECT * FROM INVENTTABLEMODULE WHERE DATAAREAID = ? AND ITEMID IN ({marks}) ORDER BY "  # noqa: S608
                    "ITEMID, MODULETYPE", [ctx.dataareaid, *chunk]):
                out.setdefault(row["ITEMID"], []).append(row)
        return out
