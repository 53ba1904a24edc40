"""Sage 100 stock on hand -> Kashflow product stock levels, near real time.

Change detection: ``IM_ItemWarehouse`` is polled over ODBC with :meth:`SageOdbcReader.changes` on
``DateUpdated``/``TimeUpdated`` (look-back overlap, dedup by (stamp, key), the cursor stored in the flow's cursor
and moved only when every record of the scan is settled). Each changed item's quantity is then worked out —
``QuantityOnHand`` summed over its warehouses, or one warehouse's when the flow option ``warehouse`` names it —
and the digest of a record is the hash of that quantity alone. So a row re-read in the look-back window, or
changed in a column that is not the quantity (reorder point, cost, quantity on sales order...), is settled
without a write: Kashflow is written to only when the quantity it should show changed.

Writes: a stock level is an absolute value, so a write is safe to repeat. The product is read first
(``GET /products/{nominal}/{code}``); when Kashflow already shows the quantity nothing is written, otherwise the
product is sent back with the new ``QuantityInStock`` (Kashflow's PUT replaces the whole product).

Which Kashflow product: the ``products`` rule maps a Sage ItemCode to ``"<nominal code>/<product code>"``; an item
it does not name is matched on the product code (Kashflow products live under a nominal code, so a code found
under two nominals has to be mapped). Kashflow usually carries only part of Sage's items: an item with no Kashflow
product is skipped (option ``unmatched``: ``"skip"``, the default, or ``"fail"`` to send it to the error inbox).

The polling half is :class:`~integrations.sync.flows.sage_master_to_kashflow.SageTableSource`, shared with the
other Sage -> Kashflow flows (master data, order status, paid status).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from integrations.core.canonical import StockLevel
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.sage100.adapter import quantities_on_hand, stock_level
from integrations.sync.flows.sage_master_to_kashflow import SageTableSource
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Candidate, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

WHOLE_TABLE_FROM = 25  # items in a page from which one read of the whole table beats one read per item


def default_rules() -> dict[str, Any]:
    """``products``: Sage ItemCode -> ``"<Kashflow nominal code>/<product code>"`` (default: the product with the
    item's code); ``routing``: unused (kept for the mapping editor's common shape)."""
    return {"products": {}, "routing": []}


class SageStockToKashflow(SageTableSource):
    """Options: ``warehouse`` (one WarehouseCode; default: every warehouse summed), ``unmatched``
    (``"skip"`` | ``"fail"``), ``page_size``, ``lookback_minutes``."""

    entity = "stock_level"
    stream = "im_itemwarehouse"
    table = "IM_ItemWarehouse"
    columns = ("ItemCode", "WarehouseCode", "QuantityOnHand")

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.warehouse = str(self.options.get("warehouse") or "").strip().upper()
        self.unmatched = str(self.options.get("unmatched") or "skip").lower()
        self._products: dict[str, list[tuple[int, str]]] | None = None

    # ------------------------------------------------------------------ change detection

    def candidates_for(self, rows: list[dict[str, Any]]) -> list[Candidate]:
        relevant = [r for r in rows if not self.warehouse or str(r.get("WarehouseCode") or "") == self.warehouse]
        items = list(dict.fromkeys(str(r["ItemCode"]) for r in relevant if r.get("ItemCode")))
        if not items:
            return []
        levels = self._levels(items)
        page = []
        for item in items:
            quantity, stamp = levels.get(item, (Decimal(0), None))
            level = stock_level(item, self.warehouse, quantity, stamp)
            identity = {"item": item, "warehouse": level.warehouse, "quantity": str(quantity.normalize())}
            page.append(self.candidate(level.source_id, level.to_dict(), identity))
        return page

    def _levels(self, items: list[str]) -> dict[str, tuple[Decimal, datetime | None]]:
        """Item -> (quantity on hand in the configured warehouse(s), latest change stamp), read now."""
        columns = ["ItemCode", "WarehouseCode", "QuantityOnHand", "DateCreated", "TimeCreated", "DateUpdated",
                   "TimeUpdated"]
        if len(items) >= WHOLE_TABLE_FROM:
            rows = self.source_gate.call(lambda: self.reader.read(self.table, columns), metered=False)
        else:  # ItemCode leads the primary key: an indexed read per item
            rows = []
            for item in items:
                rows += self.source_gate.call(lambda i=item: self.reader.read(self.table, columns, ItemCode=i),
                                              metered=False)
        return quantities_on_hand(rows, items, self.warehouse)

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        try:
            level = StockLevel.from_dict(payload)
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise TargetValidationError(f"The stored stock level is not valid ({error}).", system="Ledgerbridge",
                                        code="invalid_payload") from None
        product = self.product_for(level.product_code, rules)
        if product is None:
            reason = (f"Kashflow has no product {level.product_code} (Sage item); map it in products "
                      "(\"<nominal code>/<product code>\") to carry its stock.")
            if self.unmatched == "fail":
                raise TargetValidationError(reason, system="Mapping", code="mapping_missing",
                                            payload={"item": level.product_code})
            return Transformed(skip=reason)
        warnings = []
        quantity = level.quantity_on_hand.to_integral_value(rounding=ROUND_DOWN)
        if quantity != level.quantity_on_hand:
            warnings.append(f"Sage item {level.product_code} has {level.quantity_on_hand.normalize()} on hand; "
                            f"Kashflow keeps whole units, so it shows {quantity}.")
        nominal, code = product
        return Transformed(document={"NominalCode": nominal, "Code": code, "QuantityInStock": int(quantity),
                                     "ItemCode": level.product_code, "Warehouse": level.warehouse},
                           warnings=warnings)

    def product_for(self, item: str, rules: dict[str, Any]) -> tuple[int, str] | None:
        """(nominal code, product code) of the Kashflow product for a Sage item, or None."""
        mapped = (rules.get("products") or {}).get(item)
        if mapped:
            nominal, _, code = str(mapped).partition("/")
            try:
                return int(nominal), code or item
            except ValueError:
                raise TargetValidationError(
                    f"products maps Sage item {item} to {mapped!r}; write it as \"<nominal code>/<product code>\".",
                    system="Mapping", code="invalid_value", payload={"item": item}) from None
        found = self.catalogue().get(item.upper(), [])
        if len(found) > 1:
            raise TargetValidationError(
                f"Kashflow has product {item} under nominal codes {', '.join(str(n) for n, _c in found)}; map Sage "
                f"item {item} to one of them in products.", system="Mapping", code="invalid_value",
                payload={"item": item})
        return found[0] if found else None

    def catalogue(self) -> dict[str, list[tuple[int, str]]]:
        """Kashflow's products by upper-cased code, read once per run."""
        if self._products is None:
            products: dict[str, list[tuple[int, str]]] = {}
            for product in self.target_gate.call(
                    lambda: list(self.lookup.products.list(filterbyinuseonly="false")), metered=False):
                code = str(product.get("Code") or "")
                if code and product.get("NominalCode") is not None:
                    products.setdefault(code.upper(), []).append((int(product["NominalCode"]), code))
            self._products = products
        return self._products

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        return [self.write(document) for document in documents]

    def write(self, document: dict[str, Any]) -> str:
        """Read the product; write the quantity only when Kashflow shows another one. Safe to repeat."""
        key = (int(document["NominalCode"]), str(document["Code"]))
        try:
            product = self.kashflow.products.get(key)
        except NotFoundError:
            raise TargetValidationError(
                f"Kashflow product {key[1]} under nominal code {key[0]} (for Sage item {document.get('ItemCode')}) "
                "no longer exists; map the item to another product in products.", system="Kashflow",
                code="mapping_missing", payload={"item": document.get("ItemCode")}) from None
        if _whole(product.get("QuantityInStock")) != int(document["QuantityInStock"]):
            product["QuantityInStock"] = int(document["QuantityInStock"])
            self.kashflow.products.update(key, product)
        return f"{key[0]}/{key[1]}"

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        if not document.get("Code"):
            return None
        key = (int(document["NominalCode"]), str(document["Code"]))
        try:
            product = self.kashflow.products.get(key)
        except NotFoundError:
            return None
        return f"{key[0]}/{key[1]}" if _whole(product.get("QuantityInStock")) == document["QuantityInStock"] else None


def _whole(value: Any) -> int | None:
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError):
        return None

