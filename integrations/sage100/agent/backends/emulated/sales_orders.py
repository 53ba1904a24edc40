"""The sales order object: editable like Sage's, committing stock and the customer's open order amount."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .base import BoiError, EmulatedLines, Record, blank, code, money, number
from .checks import Checks
from .common import ZERO, CustomerDocument, extension, item_line_defaults, seq

ORDER_TYPES = {"S": "standard", "B": "back order", "M": "master", "R": "repeating", "Q": "quote",
               "P": "prospect quote"}
ORDER_STATUSES = {"N", "O", "C", "H"}
ALLOCATING_TYPES = {"S", "B"}  # orders that commit stock and count in the customer's open order amount
DUPLICATE_PO = "This customer PO number already exists on one or more sales orders or invoices."  # real text [S15]


class SalesOrderLines(EmulatedLines):
    FIELDS = "SO_SalesOrderDetail"
    HIDDEN = ("SalesOrderNo", "LineKey", "LineSeqNo")
    REQUIRED = ("ItemCode",)
    FORMATS = {"ItemCode": code(30)}


class SalesOrderObject(CustomerDocument):
    NAME = "SO_SalesOrder_bus"
    LABEL = "sales order"
    TASK = "SO_SalesOrder_ui"
    FIELDS = "SO_SalesOrderHeader"
    KEY = {"SalesOrderNo": number(7)}
    REQUIRED = ("ARDivisionNo", "CustomerNo", "OrderDate")
    LINES = SalesOrderLines

    def nGetNextSalesOrderNo(self, _out: Any = "") -> tuple[int, str]:  # noqa: N802 - BOI method name
        return 1, self.db.next_number("sales-order", "SELECT SalesOrderNo FROM SO_SalesOrderHeader UNION "
                                      "SELECT SalesOrderNo FROM AR_InvoiceHistoryHeader", 7)

    def load_lines(self, keys: Record) -> list[Record]:
        return self.db.rows("SELECT * FROM SO_SalesOrderDetail WHERE SalesOrderNo = ? ORDER BY LineSeqNo, LineKey",
                            (keys["SalesOrderNo"],))

    def defaults(self, keys: Record) -> Record:
        return {"OrderDate": self.session.module_date("S/O").isoformat(), "OrderType": "S", "OrderStatus": "N",
                "WarehouseCode": "000", "FreightAmt": ZERO, "DiscountAmt": ZERO, "SalesTaxAmt": ZERO}

    def on_set(self, name: str, value: Any) -> str | None:
        if name == "OrderType" and value not in ORDER_TYPES:
            raise BoiError(f"{value} is not a valid order type ({', '.join(ORDER_TYPES)}).")
        if name == "OrderStatus" and value not in ORDER_STATUSES:
            raise BoiError(f"{value} is not a valid order status ({', '.join(sorted(ORDER_STATUSES))}).")
        if name == "CustomerPONo" and not blank(value) and self._po_used(value):
            return DUPLICATE_PO
        return super().on_set(name, value)

    def _po_used(self, po: str) -> bool:
        division_no, customer_no = self.record.get("ARDivisionNo"), self.record.get("CustomerNo")
        other = self.db.one("SELECT 1 FROM SO_SalesOrderHeader WHERE ARDivisionNo = ? AND CustomerNo = ? AND "
                            "CustomerPONo = ? AND SalesOrderNo <> ? LIMIT 1",
                            (division_no, customer_no, po, self.record["SalesOrderNo"]))
        invoiced = self.db.one("SELECT 1 FROM AR_InvoiceHistoryHeader WHERE ARDivisionNo = ? AND CustomerNo = ? AND "
                               "CustomerPONo = ? LIMIT 1", (division_no, customer_no, po))
        return other is not None or invoiced is not None

    def line_defaults(self) -> Record:
        return {"WarehouseCode": self.record.get("WarehouseCode") or "000", "QuantityOrdered": ZERO,
                "QuantityShipped": ZERO, "QuantityBackordered": ZERO, "UnitPrice": ZERO, "LineDiscountPercent": ZERO}

    def on_line_set(self, line: Record, name: str, value: Any) -> str | None:
        checks = Checks(self.db)
        if name == "ItemCode":
            line.update(item_line_defaults(checks, value, line, price_field="UnitPrice"))
        elif name == "WarehouseCode":
            checks.warehouse(value)
        elif name in ("SalesAcctKey", "CostOfGoodsSoldAcctKey") and not blank(value):
            checks.gl_account(value)
        return None

    def validate_line(self, line: Record) -> str | None:
        if line.get("ItemType") == "1" and (line.get("QuantityOrdered") or ZERO) <= ZERO:
            raise BoiError("QuantityOrdered must be greater than zero.")
        line["ExtensionAmt"] = extension(line, "QuantityOrdered")
        return None

    def validate(self) -> str | None:
        if self.state == 2 and blank(self.record.get("ShipExpireDate")):
            self.record["ShipExpireDate"] = self.record["OrderDate"]
        return None

    def save(self, *, is_new: bool) -> None:
        old_lines = [] if is_new else self.load_lines(self.keys_of(self.record))
        before = _order_effect(self.original, old_lines)
        self.record["NonTaxableAmt"] = money(sum((line["ExtensionAmt"] for line in self.oLines.rows), ZERO))
        self.record["TaxableAmt"] = ZERO
        super().save(is_new=is_new)
        if not is_new:
            self.db.delete("SO_SalesOrderDetail", SalesOrderNo=self.record["SalesOrderNo"])
        self._insert_lines(old_lines)
        self._apply_effect(before, _order_effect(self.record, self.oLines.rows))

    def remove(self) -> None:
        lines = self.load_lines(self.keys_of(self.record))
        self.db.delete("SO_SalesOrderDetail", SalesOrderNo=self.record["SalesOrderNo"])
        self.db.delete("SO_SalesOrderHeader", SalesOrderNo=self.record["SalesOrderNo"])
        self._apply_effect(_order_effect(self.original, lines), _order_effect({}, []))

    def _insert_lines(self, old_lines: list[Record]) -> None:
        used = [int(line["LineKey"]) for line in old_lines if str(line.get("LineKey", "")).isdigit()]
        next_key = max(used, default=0) + 1
        for n, line in enumerate(self.oLines.rows, 1):
            if blank(line.get("LineKey")):
                line["LineKey"], next_key = seq(next_key), next_key + 1
            row = {**line, "SalesOrderNo": self.record["SalesOrderNo"], "LineSeqNo": seq(n, 14)}
            self.db.insert("SO_SalesOrderDetail", row, user_key=self.user_key)

    def _apply_effect(self, before: tuple[Decimal, dict], after: tuple[Decimal, dict]) -> None:
        """Move the order's committed quantities and open amount from their old to their new values."""
        (old_amount, old_qty), (new_amount, new_qty) = before, after
        for item, warehouse in set(old_qty) | set(new_qty):
            delta = new_qty.get((item, warehouse), ZERO) - old_qty.get((item, warehouse), ZERO)
            if delta:
                self._commit_stock(item, warehouse, delta)
        if new_amount != old_amount:
            keys = {"ARDivisionNo": self.record.get("ARDivisionNo") or self.original.get("ARDivisionNo"),
                    "CustomerNo": self.record.get("CustomerNo") or self.original.get("CustomerNo")}
            self.db.add("AR_Customer", keys, "OpenOrderAmt", new_amount - old_amount, user_key=self.user_key)

    def _commit_stock(self, item: str, warehouse: str, delta: Decimal) -> None:
        key = {"ItemCode": item, "WarehouseCode": warehouse}
        if self.db.get("IM_ItemWarehouse", **key) is None:
            self.db.insert("IM_ItemWarehouse", {**key, "QuantityOnHand": ZERO, "QuantityOnSalesOrder": ZERO},
                           user_key=self.user_key)
        self.db.add("IM_ItemWarehouse", key, "QuantityOnSalesOrder", delta, user_key=self.user_key)


def _order_effect(header: Record, lines: list[Record]) -> tuple[Decimal, dict[tuple[str, str], Decimal]]:
    """What an order commits: its open amount and the quantity per (item, warehouse) of regular items."""
    if header.get("OrderType") not in ALLOCATING_TYPES or header.get("OrderStatus") == "C":
        return ZERO, {}
    quantities: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        if line.get("ItemType") == "1":
            key = (line["ItemCode"], line.get("WarehouseCode") or "000")
            quantities[key] = quantities.get(key, ZERO) + (line.get("QuantityOrdered") or ZERO)
    amount = money(sum((line.get("ExtensionAmt") or ZERO for line in lines), ZERO))
    return amount, quantities
