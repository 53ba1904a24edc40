"""Dynamics AX released products -> Kashflow products, record by record (AX is master for products).

Change detection: the AX database is polled over ODBC (:meth:`AxSqlReader.changes`) on the tables a released
product is made of, each with its own keyset cursor and look-back window (as the party flows do):

* ``INVENTTABLE`` — items released to the company (created or changed);
* ``INVENTTABLEMODULE`` — the item's sales price (module 2, Sales) lives here, not on the item;
* ``ECORESPRODUCTTRANSLATION`` — the product name and description (shared across companies; followed to the
  company's items through ``INVENTTABLE.PRODUCT``).

Option ``poll_tables`` narrows the list where a table's ModifiedDateTime property is off in AX. Each changed item
is read in full (:meth:`AxSqlReader.items`) and becomes a canonical :class:`Product`; its digest decides whether
anything the flow carries changed.

Writes: Kashflow keys a product by ``(NominalCode, Code)``: the code is the AX item id, the nominal comes from the
mapping rule ``product_nominals`` (item id or item group -> nominal code), else ``default_nominal``. Each product
is one write preceded by a look-up (``GET /products/{nominal}/{code}``): an existing product gets AX's name,
description, sales price and stock-managed flag laid over Kashflow's record (``PUT``, a full replacement; no call
when it already matches; conflicts recorded as warnings), otherwise it is created (``POST``) with AX's on-hand
quantity as its opening stock (later stock changes are the stock flow's). A product whose nominal mapping changed
is moved (``PUT`` on its old key with the new NominalCode), not created twice. Target id: ``nominal/code``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from integrations.core.canonical import Product, content_hash
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.dynamics_ax.adapter import product_from_row
from integrations.dynamics_ax.sql import AxSqlReader, ChangeCursor
from integrations.sync.connectors import kashflow_client_for
from integrations.sync.models import Binding, SyncRecord
from integrations.sync.pipeline import Candidate, RecordFlow, Scan, Transformed

log = logging.getLogger("ledgerbridge.sync.flows")

PAGE_SIZE = 500
OVERLAP_SECONDS = 30
CODE_LIMIT = 30  # Kashflow product codes
NAME_LIMIT = 100
DEFAULT_NOMINAL = 4000  # Kashflow's UK "Sales"
POLL_TABLES = ("inventtable", "inventtablemodule", "ecoresproducttranslation")
COMPARED = ("Name", "Description", "Price", "ManageStockLevel")


def default_rules() -> dict[str, Any]:
    """``product_nominals``: AX item id or item group -> Kashflow sales nominal code (the item id wins);
    ``default_nominal``: the nominal of everything else (4000, Sales; empty = unmapped items fail with
    ``mapping_missing``); ``routing``: unused."""
    return {"routing": [], "product_nominals": {}, "default_nominal": DEFAULT_NOMINAL}


def nominal_for(product: Product, rules: dict[str, Any]) -> int:
    """The Kashflow nominal code a product lives under (``product_nominals`` by item id, then by item group,
    then ``default_nominal``)."""
    mapping = {str(k).upper(): v for k, v in (rules.get("product_nominals") or {}).items()}
    value = mapping.get(product.code.upper())
    if value in (None, "") and product.sales_account:
        value = mapping.get(product.sales_account.upper())
    if value in (None, ""):
        value = rules.get("default_nominal")
    if value in (None, ""):
        raise TargetValidationError(
            f"No Kashflow nominal code is mapped for AX item {product.code} (item group "
            f"{product.sales_account or 'none'}); map it in product_nominals or set default_nominal.",
            system="Mapping", code="mapping_missing", payload={"item": product.code, "group": product.sales_account})
    try:
        nominal = int(str(value).strip())
    except ValueError:
        nominal = 0
    if nominal <= 0:
        raise TargetValidationError(f"Kashflow nominal code {value!r} mapped for AX item {product.code} is not a "
                                    "positive number; fix product_nominals / default_nominal.", system="Mapping",
                                    code="invalid_value", payload={"item": product.code, "nominal": str(value)})
    return nominal


def whole_quantity(quantity: Decimal, item: str, warnings: list[str]) -> int:
    """Kashflow keeps whole quantities in stock: a fraction is cut off (towards zero), with a warning."""
    whole = int(quantity.to_integral_value(rounding=ROUND_DOWN))
    if whole != quantity:
        warnings.append(f"AX item {item} has {quantity} on hand; Kashflow keeps whole units, so {whole} was sent.")
    return whole


class AxPolledFlow(RecordFlow):
    """Polling of several AX tables with one keyset cursor each, stored together as the flow's cursor; the
    cursors move only when every record of the scan is settled. Subclasses turn a page of changed rows of a
    table into full records (:meth:`rows_of`) and a record into a candidate (:meth:`candidate`)."""

    poll_tables: tuple[str, ...] = ()

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.page_size = max(1, min(5000, int(self.options.get("page_size", PAGE_SIZE))))
        self.overlap = timedelta(seconds=float(self.options.get("overlap_seconds", OVERLAP_SECONDS)))
        chosen = self.options.get("poll_tables")
        self.tables = tuple(t.lower() for t in chosen if t.lower() in self.poll_tables) if chosen else \
            self.poll_tables
        self._next: dict[str, Any] | None = None

    def open(self) -> None:
        self.reader = AxSqlReader.from_settings(self.flow.source.settings or {})
        self.kashflow = kashflow_client_for(self.flow.target, gate=self.target_gate)
        # Look-ups in transform run while a write may be in flight on the sender thread: their own client.
        self.lookup = kashflow_client_for(self.flow.target, gate=self.target_gate)

    def candidates(self, cursor: dict[str, Any], scan: Scan) -> Iterator[list[Candidate]]:
        cursors = {table: ChangeCursor.from_json(json.dumps(cursor[table]) if cursor.get(table) else None)
                   for table in self.tables}
        yielded: dict[str, str] = {}  # source id -> digest offered this run (several tables may report it)
        try:
            self.source_gate.call(self.reader.open, metered=False)
            for table in self.tables:
                while True:
                    batch = self.source_gate.call(
                        lambda t=table: self.reader.changes(t.upper(), cursors[t], limit=self.page_size,
                                                            overlap=self.overlap), metered=False)
                    page = []
                    if batch.rows:
                        for candidate in self.source_gate.call(lambda t=table, b=batch: self.rows_of(t, b.rows),
                                                               metered=False):
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

    def rows_of(self, table: str, rows: list[dict[str, Any]]) -> list[Candidate]:
        raise NotImplementedError

    def next_cursor(self, cursor: dict[str, Any], scan: Scan) -> dict[str, Any]:
        if self._next is None or scan.unsettled_numbers:
            return cursor
        return {**cursor, **self._next}

    def load(self, candidate: Candidate) -> Any:
        return candidate.summary  # read in full by the change poll (one query per page)


class AxProductsToKashflow(AxPolledFlow):
    """Options: ``page_size`` (500), ``overlap_seconds`` (30), ``poll_tables`` (all three), ``lease_seconds``."""

    entity = "product"
    stream = "inventtable"
    batch_size = 1  # Kashflow has no batch API
    resend_changes = True  # master data: a product changed in AX is written again
    poll_tables = POLL_TABLES

    def rows_of(self, table: str, rows: list[dict[str, Any]]) -> list[Candidate]:
        if table == "ecoresproducttranslation":
            items = self.reader.items(product_recids=sorted({int(r["PRODUCT"]) for r in rows}))
        else:
            items = self.reader.items(sorted({str(r["ITEMID"]) for r in rows}))
        out = []
        for row in items:
            payload = product_from_row(row).to_dict()
            out.append(Candidate(source_id=payload["source_id"], digest=content_hash(payload)[:32],
                                 number=int(row["RECID"]), summary=payload))
        return out

    def canonical(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw.get("source_id"):
            raise TargetValidationError("The AX item row has no item id.", system="Dynamics AX", code="unreadable")
        return raw

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        product = Product.from_dict(payload)
        document = kashflow_product(product, rules)
        nominal, code = document["NominalCode"], document["Code"]
        existing = self.target_gate.call(lambda: find_product(self.lookup, nominal, code), metered=False)
        warnings: list[str] = []
        if existing is None:
            moved_from = self._bound_nominal(product.source_id)
            if moved_from and moved_from != nominal:
                document["_move_from"] = moved_from
                existing = self.target_gate.call(lambda: find_product(self.lookup, moved_from, code), metered=False)
        if existing is not None:
            warnings = [f"Kashflow product {name} {old!r} overwritten with AX's {new!r} (AX is master for products)."
                        for name, old, new in product_differences(existing, document)]
        elif product.stock_managed:  # opening stock: what AX has on hand now (the stock flow keeps it current)
            rows = self.source_gate.call(lambda: self.reader.on_hand([product.code]), metered=False)
            on_hand = sum((Decimal(str(r["PHYSICALINVENT"])) for r in rows), Decimal(0))
            document["QuantityInStock"] = whole_quantity(on_hand, product.code, warnings)
        return Transformed(document=document, warnings=warnings)

    def _bound_nominal(self, item: str) -> int | None:
        """Where this flow put the item last time (``nominal/code`` binding), to move it on a mapping change."""
        external = (Binding.objects.filter(connection=self.flow.target, entity=self.entity,
                                           source_connection=self.flow.source, source_id=item)
                    .values_list("external_id", flat=True).first())
        nominal = str(external or "").split("/", 1)[0]
        return int(nominal) if nominal.isdigit() else None

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        return [self.upsert(document) for document in documents]

    def upsert(self, document: dict[str, Any]) -> str:
        """Look the product up (where it should be, then where it was), then update, move or create."""
        document = dict(document)
        moved_from = document.pop("_move_from", None)
        nominal, code = document["NominalCode"], document["Code"]
        key = (nominal, code)
        existing = find_product(self.kashflow, nominal, code)
        if existing is None and moved_from:
            existing = find_product(self.kashflow, moved_from, code)
            key = (moved_from, code)
        if existing is None:
            try:
                created = self.kashflow.products.create(document)
                return f"{(created or {}).get('NominalCode') or nominal}/{(created or {}).get('Code') or code}"
            except TargetValidationError as error:
                existing = find_product(self.kashflow, nominal, code)
                if existing is None or "already exists" not in str(error).lower():
                    raise
                key = (nominal, code)  # created meanwhile (a lost answer): update it instead
        document.pop("QuantityInStock", None)  # an existing product's stock is the stock flow's business
        if product_differences(existing, document) or key[0] != nominal:
            self.kashflow.products.update(key, {**existing, **document})
        return f"{nominal}/{code}"

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        if not document.get("Code"):
            return None
        found = find_product(self.kashflow, document["NominalCode"], document["Code"])
        return f"{document['NominalCode']}/{document['Code']}" if found is not None else None


def kashflow_product(product: Product, rules: dict[str, Any]) -> dict[str, Any]:
    """The Kashflow product document (``POST /products``) for a canonical AX product."""
    code = product.code.strip()
    if not code or len(code) > CODE_LIMIT or "/" in code:
        raise TargetValidationError(
            f"AX item {product.code!r} cannot be a Kashflow product code (1-{CODE_LIMIT} characters, no '/').",
            system="Mapping", code="invalid_value", payload={"item": product.code})
    name = product.name.strip()
    if not name:
        raise TargetValidationError(f"AX item {code} has no product name (ECORESPRODUCTTRANSLATION); Kashflow "
                                    "needs one.", system="Mapping", code="invalid_value", payload={"item": code})
    document: dict[str, Any] = {"Code": code, "Name": name[:NAME_LIMIT], "NominalCode": nominal_for(product, rules),
                                "Description": product.description, "ManageStockLevel": product.stock_managed}
    if product.sales_price is not None:
        # A JSON number (the document is kept in the outbox as JSON); Kashflow keeps 4 decimals.
        document["Price"] = float(product.sales_price.quantize(Decimal("0.0001")))
    return document


def find_product(client, nominal: int, code: str) -> dict[str, Any] | None:
    try:
        return client.products.get((nominal, code))
    except NotFoundError:
        return None


def product_differences(existing: dict[str, Any], document: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, Kashflow value, AX value) for each carried field Kashflow holds differently."""
    out = []
    for name in COMPARED:
        if name not in document:
            continue
        old, new = existing.get(name), document[name]
        if name == "Price":
            same = Decimal(str(old or 0)) == Decimal(str(new or 0))
        elif name == "ManageStockLevel":
            same = bool(old) == bool(new)
        else:
            same = str(old or "").strip() == str(new or "").strip()
        if not same:
            out.append((name, old, new))
    if str(existing.get("NominalCode")) != str(document.get("NominalCode")):
        out.append(("NominalCode", existing.get("NominalCode"), document.get("NominalCode")))
    return out
