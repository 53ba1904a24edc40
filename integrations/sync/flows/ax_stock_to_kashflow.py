"""Dynamics AX on-hand stock -> Kashflow product stock levels, near real time (AX is master for stock).

Change detection: ``INVENTSUM`` (one row per item and inventory dimension, restamped by every inventory
transaction) is polled over ODBC on ``(MODIFIEDDATETIME, RECID)`` with a look-back window; the items of the
changed rows are read again as totals over all their dimensions (:meth:`AxSqlReader.on_hand`, open rows only).
The candidate's digest is the whole quantity Kashflow would get, so a transaction that moves stock between
warehouses, reserves it, or leaves the total where it was writes nothing: only a changed quantity is sent.
Schedule the flow often (the sandbox runs it every 5 minutes); each run costs one query per page of changes.

Writes: Kashflow keeps one whole ``QuantityInStock`` per product (``KashflowClient.set_stock_level``: read the
product, set the quantity, ``PUT`` it back). The product is where ``ax_products_to_kashflow`` put it (its binding,
``nominal/code``), else under the nominal the ``product_nominals`` / ``default_nominal`` rules give. An item
Kashflow does not have yet is skipped (the product flow creates it with its opening stock); one that already
shows the quantity is skipped too. Setting a level is idempotent, so a repeat after a lost answer is harmless.
Options: ``measure`` (``physical``: PHYSICALINVENT, the default; ``available``: AVAILPHYSICAL, on hand less
reservations), ``page_size``, ``overlap_seconds``, ``lease_seconds``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from integrations.core.canonical import Product, StockLevel, content_hash
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.dynamics_ax.adapter import stock_level_from_row
from integrations.sync.flows.ax_products_to_kashflow import (
    DEFAULT_NOMINAL,
    AxPolledFlow,
    find_product,
    nominal_for,
    whole_quantity,
)
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Candidate, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

MEASURES = {"physical": "PHYSICALINVENT", "available": "AVAILPHYSICAL"}


def default_rules() -> dict[str, Any]:
    """``product_nominals`` / ``default_nominal``: where to find an item in Kashflow when the product flow has not
    bound it (same meaning as in ``ax_products_to_kashflow``); ``routing``: unused."""
    return {"routing": [], "product_nominals": {}, "default_nominal": DEFAULT_NOMINAL}


class AxStockToKashflow(AxPolledFlow):
    entity = "stock_level"
    stream = "inventsum"
    batch_size = 1
    resend_changes = True  # every change of quantity is written
    poll_tables = ("inventsum",)

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        measure = str(self.options.get("measure", "physical")).lower()
        if measure not in MEASURES:
            raise TargetValidationError(f"Option measure is {measure!r}; use one of {', '.join(MEASURES)}.",
                                        system="Ledgerbridge", code="invalid_value")
        self.measure = MEASURES[measure]

    def rows_of(self, table: str, rows: list[dict[str, Any]]) -> list[Candidate]:
        numbers: dict[str, int] = {}
        for row in rows:
            numbers[str(row["ITEMID"])] = max(numbers.get(str(row["ITEMID"]), 0), int(row["RECID"]))
        out = []
        totals = {str(r["ITEMID"]): r for r in self.reader.on_hand(sorted(numbers))}
        for item, number in numbers.items():
            # An item whose rows were all closed has nothing on hand.
            row = totals.get(item) or {"ITEMID": item, self.measure: Decimal(0), "MODIFIEDDATETIME": None}
            level = stock_level_from_row(row, measure=self.measure)
            quantity = int(level.quantity_on_hand)  # what Kashflow can hold decides what counts as a change
            out.append(Candidate(source_id=item, digest=content_hash({"item": item, "quantity": quantity})[:32],
                                 number=number, summary=level.to_dict()))
        return out

    def canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("product_code"):
            raise TargetValidationError("The AX on-hand row has no item id.", system="Dynamics AX", code="unreadable")
        return raw

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        level = StockLevel.from_dict(payload)
        item = level.product_code
        warnings: list[str] = []
        quantity = whole_quantity(level.quantity_on_hand, item, warnings)
        nominal = self._bound_nominal(item)
        if nominal is None:
            nominal = nominal_for(Product(source_system="dynamics_ax", source_id=item, code=item, name=item), rules)
        existing = self.target_gate.call(lambda: find_product(self.lookup, nominal, item), metered=False)
        if existing is None:
            return Transformed(skip=f"Kashflow has no product {item} under nominal code {nominal} yet; the product "
                                    "flow creates it with its stock on hand.")
        if existing.get("QuantityInStock") == quantity:
            return Transformed(skip=f"Kashflow already shows {quantity} in stock for {item}.")
        if not existing.get("ManageStockLevel"):
            warnings.append(f"Kashflow does not manage stock for product {item}; its quantity is set anyway.")
        return Transformed(document={"NominalCode": nominal, "Code": item, "QuantityInStock": quantity},
                           warnings=warnings)

    def _bound_nominal(self, item: str) -> int | None:
        """Where the product flow (same AX and Kashflow connections) put the item: its ``nominal/code`` binding."""
        external = (Binding.objects.filter(connection=self.flow.target, entity="product",
                                           source_connection=self.flow.source, source_id=item)
                    .values_list("external_id", flat=True).first())
        nominal = str(external or "").split("/", 1)[0]
        return int(nominal) if nominal.isdigit() else None

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        out: list[str | ConnectorError] = []
        for document in documents:
            nominal, code = document["NominalCode"], document["Code"]
            try:
                self.kashflow.set_stock_level(nominal, code, document["QuantityInStock"])
            except NotFoundError:
                out.append(TargetValidationError(
                    f"Kashflow has no product {code} under nominal code {nominal} (deleted or moved since); run "
                    "ax_products_to_kashflow or map the item in product_nominals, then replay.", system="Kashflow",
                    code="mapping_missing", payload={"item": code, "nominal": nominal}))
                continue
            out.append(f"{nominal}/{code}")
        return out

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        return f"{document['NominalCode']}/{document['Code']}" if document.get("Code") else None
