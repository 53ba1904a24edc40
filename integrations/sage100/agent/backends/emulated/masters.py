"""Master-data business objects: AR_Customer_bus, AP_Vendor_bus, CI_ItemCode_bus."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .base import BoiError, EmulatedObject, Record, blank, code, division
from .checks import Checks

ITEM_TYPES = {"1": "regular", "3": "charge", "4": "comment", "5": "miscellaneous"}
VALUATIONS = {"1", "2", "3", "4", "5", "6"}  # standard, average, FIFO, LIFO, lot, serial
ZERO = Decimal(0)


class CustomerObject(EmulatedObject):
    NAME = "AR_Customer_bus"
    LABEL = "customer"
    TASK = "AR_Customer_ui"
    FIELDS = "AR_Customer"
    KEY = {"ARDivisionNo": division, "CustomerNo": code(20)}
    REQUIRED = ("CustomerName",)

    def nGetNextCustomerNo(self, _out: Any = "") -> tuple[int, str]:  # noqa: N802 - BOI method name
        """Automatic numbering: the next numeric customer number, seven digits (the width is inferred)."""
        return 1, self.db.next_number("customer", "SELECT CustomerNo FROM AR_Customer", 7)

    def check_key(self, keys: Record) -> None:
        Checks(self.db).division(keys["ARDivisionNo"])

    def defaults(self, keys: Record) -> Record:
        return {
            "CountryCode": "USA", "TemporaryCustomer": "N", "OpenItemCustomer": "Y", "CreditHold": "N",
            "StatementCycle": "M", "EmailStatements": "N", "CustomerStatus": "A", "PrintDunningMessage": "N",
            "DateEstablished": self.session.module_date("A/R").isoformat(), "CreditLimit": ZERO,
            "CurrentBalance": ZERO, "AgingCategory1": ZERO, "AgingCategory2": ZERO, "AgingCategory3": ZERO,
            "AgingCategory4": ZERO, "OpenOrderAmt": ZERO, "BalanceForward": ZERO, "LastPaymentAmt": ZERO,
        }

    def on_set(self, name: str, value: Any) -> str | None:
        checks = Checks(self.db)
        if name == "TermsCode" and not blank(value):
            checks.terms_code("AR_TermsCode", value)
        elif name in ("DefaultPaymentType", "DefaultCreditCardPmtType") and not blank(value):
            checks.payment_type(value)
        elif name == "CustomerStatus" and value not in ("A", "I"):
            raise BoiError(f"{value} is not a valid customer status (A or I).")
        return None

    def validate(self) -> str | None:
        person = (self.record.get("SalespersonDivisionNo"), self.record.get("SalespersonNo"))
        if not blank(person[1]):
            Checks(self.db).salesperson(person[0] or self.record["ARDivisionNo"], person[1])
        return None

    def check_delete(self) -> None:
        keys = {"ARDivisionNo": self.record["ARDivisionNo"], "CustomerNo": self.record["CustomerNo"]}
        if self.db.one("SELECT 1 FROM AR_OpenInvoice WHERE ARDivisionNo = ? AND CustomerNo = ? AND Balance <> 0",
                       tuple(keys.values())):
            raise BoiError(f"Customer {'-'.join(keys.values())} has open invoices and cannot be deleted.")
        if self.db.exists("SO_SalesOrderHeader", **keys):
            raise BoiError(f"Customer {'-'.join(keys.values())} has sales orders and cannot be deleted.")

    def remove(self) -> None:
        keys = self.keys_of(self.record)
        self.db.delete("AR_CustomerContact", **keys)
        self.db.delete("AR_Customer", **keys)


class VendorObject(EmulatedObject):
    NAME = "AP_Vendor_bus"
    LABEL = "vendor"
    TASK = "AP_Vendor_ui"
    FIELDS = "AP_Vendor"
    KEY = {"APDivisionNo": division, "VendorNo": code(7)}
    REQUIRED = ("VendorName",)

    def nGetNextVendorNo(self, _out: Any = "") -> tuple[int, str]:  # noqa: N802 - BOI method name
        return 1, self.db.next_number("vendor", "SELECT VendorNo FROM AP_Vendor", 7)

    def check_key(self, keys: Record) -> None:
        Checks(self.db).division(keys["APDivisionNo"])

    def defaults(self, keys: Record) -> Record:
        return {"CountryCode": "USA", "HoldPayment": "N",
                "DateEstablished": self.session.module_date("A/P").isoformat()}

    def on_set(self, name: str, value: Any) -> str | None:
        if name == "TermsCode" and not blank(value):
            Checks(self.db).terms_code("AP_TermsCode", value)
        elif name == "AccountKey" and not blank(value):
            Checks(self.db).gl_account(value)
        return None

    def check_delete(self) -> None:
        if self.db.exists("AP_OpenInvoice", **self.keys_of(self.record)):
            raise BoiError(f"Vendor {'-'.join(self.keys_of(self.record).values())} has open invoices and cannot "
                           "be deleted.")


class ItemObject(EmulatedObject):
    NAME = "CI_ItemCode_bus"
    LABEL = "item"
    TASK = "CI_ItemCode_ui"
    FIELDS = "CI_Item"
    KEY = {"ItemCode": code(30)}
    REQUIRED = ("ItemCodeDesc",)
    ACCOUNT_FIELDS = ("SalesAcctKey", "CostOfGoodsSoldAcctKey", "InventoryAcctKey", "PurchaseAcctKey",
                      "ManufacturingCostAcctKey")

    def defaults(self, keys: Record) -> Record:
        return {
            "ItemType": "1", "Valuation": "2", "UseInAR": "Y", "UseInSO": "Y", "UseInPO": "Y", "InactiveItem": "N",
            "StandardUnitOfMeasure": "EACH", "SalesUnitOfMeasure": "EACH", "PurchaseUnitOfMeasure": "EACH",
            "SalesUMConvFctr": Decimal(1), "PurchaseUMConvFctr": Decimal(1), "DefaultWarehouseCode": "000",
            "AllowBackOrders": "Y", "AllowReturns": "Y", "AllowTradeDiscount": "Y", "TaxClass": "TX",
            "StandardUnitCost": ZERO, "StandardUnitPrice": ZERO, "TotalQuantityOnHand": ZERO,
        }

    def on_set(self, name: str, value: Any) -> str | None:
        checks = Checks(self.db)
        if name == "ItemType" and value not in ITEM_TYPES:
            raise BoiError(f"{value} is not a valid item type (1, 3, 4 or 5).")
        if name == "Valuation" and value not in VALUATIONS:
            raise BoiError(f"{value} is not a valid valuation method (1 to 6).")
        if name == "DefaultWarehouseCode":
            checks.warehouse(value)
        if name in self.ACCOUNT_FIELDS and not blank(value):
            checks.gl_account(value)
        if name in ("PrimaryAPDivisionNo", "PrimaryVendorNo") and not blank(value):
            self.record[name] = value
            vendor = (self.record.get("PrimaryAPDivisionNo"), self.record.get("PrimaryVendorNo"))
            if not blank(vendor[0]) and not blank(vendor[1]):
                checks.vendor(*vendor)
        return None

    def save(self, *, is_new: bool) -> None:
        super().save(is_new=is_new)
        if is_new and self.record.get("ItemType") == "1":
            self.db.insert("IM_ItemWarehouse", {
                "ItemCode": self.record["ItemCode"], "WarehouseCode": self.record["DefaultWarehouseCode"],
                "QuantityOnHand": ZERO, "QuantityOnSalesOrder": ZERO, "QuantityOnPurchaseOrder": ZERO,
                "QuantityOnBackOrder": ZERO, "AverageCost": self.record.get("StandardUnitCost") or ZERO,
            }, user_key=self.user_key)

    def check_delete(self) -> None:
        item = self.record["ItemCode"]
        if (self.record.get("TotalQuantityOnHand") or ZERO) != ZERO:
            raise BoiError(f"Item {item} has quantity on hand and cannot be deleted.")
        if self.db.exists("SO_SalesOrderDetail", ItemCode=item):
            raise BoiError(f"Item {item} is on open sales orders and cannot be deleted.")

    def remove(self) -> None:
        self.db.delete("IM_ItemWarehouse", ItemCode=self.record["ItemCode"])
        self.db.delete("CI_Item", ItemCode=self.record["ItemCode"])
