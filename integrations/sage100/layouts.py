"""Sage 100 table layouts: real column names, types and primary keys, for the sandbox and the ODBC reader.

Most layouts are copied from DDL taken from a live Sage 100 company (about 2023; reference S11,
github.com/UtahGooner/sage100-ddl), without the site-specific ``UDF_*`` columns and third-party add-on columns
(``D546_*``...). Tables no public DDL covers are assembled from the 4.40 data dictionary and a SQL mirror
(S10, S12) and completed by analogy; ``SOURCES`` says which is which and docs/sandbox/sage100.md lists them.

Types are the ODBC/SQL names the ProvideX driver reports: ``varchar(n)``, ``char(n)``, ``date``,
``decimal(p,s)``, ``TEXT``. ``TimeCreated``/``TimeUpdated`` are ``varchar(8)`` holding decimal hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

AUDIT_COLUMNS = ("DateCreated", "TimeCreated", "UserCreatedKey", "DateUpdated", "TimeUpdated", "UserUpdatedKey")

_TYPE = re.compile(r"^(varchar|char|date|decimal|TEXT)(?:\((\d+)(?:,(\d+))?\))?$")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "string", "date", "decimal" or "text"
    length: int = 0  # characters for strings, precision for decimals
    scale: int = 0
    key: bool = False

    @property
    def sql_type(self) -> str:
        if self.kind == "decimal":
            return f"DECIMAL({self.length},{self.scale})"
        if self.kind == "string":
            return f"VARCHAR({self.length})"
        return "DATE" if self.kind == "date" else "TEXT"

    @property
    def is_string(self) -> bool:
        """Strings carry the ``$`` suffix in BOI (``CustomerNo$``); dates are ``YYYYMMDD`` strings there too."""
        return self.kind in ("string", "text", "date")

    @cached_property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.scale)


@dataclass(frozen=True)
class Layout:
    table: str
    columns: tuple[Column, ...]
    source: str

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.key)

    @property
    def has_audit_columns(self) -> bool:
        return all(name in self.by_name for name in AUDIT_COLUMNS)

    def column(self, name: str) -> Column | None:
        """Case-insensitive lookup, as ProvideX matches column names."""
        found = self.by_name.get(name)
        if found is None:
            lowered = name.lower()
            found = next((c for c in self.columns if c.name.lower() == lowered), None)
        return found


def _parse_column(spec: str) -> Column:
    parts = spec.split()
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "PK"):
        raise ValueError(f"bad column spec {spec!r}")
    match = _TYPE.match(parts[1])
    if not match:
        raise ValueError(f"bad column type in {spec!r}")
    base, length, scale = match.group(1), int(match.group(2) or 0), int(match.group(3) or 0)
    kind = {"varchar": "string", "char": "string", "date": "date", "decimal": "decimal", "TEXT": "text"}[base]
    return Column(parts[0], kind, length, scale, key=len(parts) == 3)


def _parse(text: str, sources: dict[str, str]) -> dict[str, Layout]:
    layouts: dict[str, Layout] = {}
    for block in text.strip().split("["):
        if not block.strip():
            continue
        table, _, body = block.partition("]")
        specs = [item for item in " ".join(body.split()).split(", ") if item.strip(", ")]
        layouts[table] = Layout(table, tuple(_parse_column(spec) for spec in specs), sources[table])
    return layouts


REAL = "S11: DDL of a live Sage 100 company"
DICTIONARY = "S10/S12: 4.40 data dictionary and a Premium SQL mirror, completed by analogy (inferred)"
INFERRED = "inferred: no public layout; columns chosen by analogy with neighbouring tables"

SOURCES: dict[str, str] = {
    "AR_Customer": REAL,
    "AR_CustomerContact": REAL,
    "AR_TermsCode": REAL,
    "AR_Salesperson": REAL,
    "AR_OpenInvoice": REAL,
    "AR_InvoiceHistoryHeader": REAL,
    "AR_InvoiceHistoryDetail": REAL,
    "AR_CashReceiptsHistory": REAL,
    "CI_Item": REAL,
    "IM_ItemWarehouse": REAL,
    "SO_SalesOrderHeader": REAL,
    "SO_SalesOrderDetail": REAL,
    "SO_InvoiceHeader": REAL,
    "SO_InvoiceDetail": REAL,
    "SY_User": REAL,
    "AR_Division": DICTIONARY,
    "AR_PaymentType": DICTIONARY,
    "AP_Vendor": DICTIONARY,
    "AP_TermsCode": DICTIONARY,
    "AP_OpenInvoice": DICTIONARY,
    "AP_InvoiceHistoryHeader": DICTIONARY,
    "AP_InvoiceHistoryDetail": DICTIONARY,
    "GL_Account": DICTIONARY,
    "GL_DetailPosting": DICTIONARY,
    "IM_Warehouse": DICTIONARY,
    "SY_Company": INFERRED,
}

_AUDIT = ("DateCreated date, TimeCreated varchar(8), UserCreatedKey varchar(10), DateUpdated date, "
          "TimeUpdated varchar(8), UserUpdatedKey varchar(10)")

# Copied from S11 (see the module docstring); one block per table, columns in their real order.
_REAL_LAYOUTS = """
[AR_Customer]
ARDivisionNo varchar(2) PK, CustomerNo varchar(20) PK, CustomerName varchar(50), AddressLine1 varchar(40),
AddressLine2 varchar(40), AddressLine3 varchar(40), City varchar(30), State varchar(2), ZipCode varchar(10),
CountryCode varchar(3), TelephoneNo varchar(20), TelephoneExt varchar(6), FaxNo varchar(20), EmailAddress
varchar(250), URLAddress varchar(50), EBMEnabled varchar(1), EBMConsumerUserID varchar(15), BatchFax
varchar(1), DefaultCreditCardPmtType varchar(5), ContactCode varchar(10), ShipMethod varchar(15),
TaxSchedule varchar(9), TaxExemptNo varchar(15), TermsCode varchar(2), SalespersonDivisionNo varchar(2),
SalespersonNo varchar(4), Comment varchar(30), SortField varchar(10), TemporaryCustomer varchar(1),
OpenItemCustomer varchar(1), ResidentialAddress varchar(1), StatementCycle varchar(1), PrintDunningMessage
varchar(1), CustomerType varchar(4), PriceLevel varchar(1), DateLastActivity date, DateLastPayment date,
DateLastStatement date, DateLastFinanceChrg date, DateLastAging date, DefaultItemCode varchar(30),
CreditHold varchar(1), PrimaryShipToCode varchar(4), DateEstablished date, DefaultPaymentType varchar(5),
EmailStatements varchar(1), NumberOfInvToUseInCalc decimal(2,0), AvgDaysPaymentInvoice decimal(3,0),
AvgDaysOverDue decimal(3,0), CustomerDiscountRate decimal(12,3), ServiceChargeRate decimal(12,3),
CreditLimit decimal(13,2), LastPaymentAmt decimal(13,2), HighestStmntBalance decimal(13,2),
UnpaidServiceChrg decimal(13,2), BalanceForward decimal(13,2), CurrentBalance decimal(13,2), AgingCategory1
decimal(13,2), AgingCategory2 decimal(13,2), AgingCategory3 decimal(13,2), AgingCategory4 decimal(13,2),
OpenOrderAmt decimal(13,2), RetentionCurrent decimal(13,2), RetentionAging1 decimal(13,2), RetentionAging2
decimal(13,2), RetentionAging3 decimal(13,2), RetentionAging4 decimal(13,2), DateCreated date, TimeCreated
varchar(8), UserCreatedKey varchar(10), DateUpdated date, TimeUpdated varchar(8), UserUpdatedKey
varchar(10), SalespersonDivisionNo2 varchar(2), SalespersonNo2 varchar(4), SalespersonDivisionNo3
varchar(2), SalespersonNo3 varchar(4), SalespersonDivisionNo4 varchar(2), SalespersonNo4 varchar(4),
SalespersonDivisionNo5 varchar(2), SalespersonNo5 varchar(4), CustomerStatus varchar(1), InactiveReasonCode
varchar(5), DefaultCostCode varchar(9), DefaultCostType varchar(1), CreditCardGUID varchar(32),
SplitCommRate2 decimal(8,3), SplitCommRate3 decimal(8,3), SplitCommRate4 decimal(8,3), SplitCommRate5
decimal(8,3), UseSageCloudForInvPrinting varchar(1), TelephoneType varchar(1), EInvoicePayments varchar(1),
EInvoiceContactId varchar(24), PIIEncryptedDate date, EncryptedVals TEXT
[AR_CustomerContact]
ARDivisionNo varchar(2) PK, CustomerNo varchar(20) PK, ContactCode varchar(10) PK, ContactName varchar(50),
AddressLine1 varchar(40), AddressLine2 varchar(40), AddressLine3 varchar(40), City varchar(30), State
varchar(2), ZipCode varchar(10), CountryCode varchar(3), Salutation varchar(10), ContactTitle varchar(15),
TelephoneNo1 varchar(20), TelephoneExt1 varchar(6), TelephoneNo2 varchar(20), TelephoneExt2 varchar(6),
FaxNo varchar(20), EmailAddress varchar(50), ContactNotes TEXT, EBMUserID varchar(15), DateCreated date,
TimeCreated varchar(8), UserCreatedKey varchar(10), DateUpdated date, TimeUpdated varchar(8), UserUpdatedKey
varchar(10), TelephoneType1 varchar(1), PrimaryTelephone1 varchar(1), TelephoneType2 varchar(1),
PrimaryTelephone2 varchar(1), EncryptedVals TEXT
[AR_TermsCode]
TermsCode varchar(2) PK, TermsCodeDesc varchar(30), DueDateADayOfTheMonth varchar(1),
DiscountDateADayOfTheMo varchar(1), DiscountCalculationMethod varchar(1), DaysBeforeDue decimal(3,0),
MinimumDaysAllowedInv decimal(3,0), DaysBeforeDiscountDue decimal(3,0), MinimumDaysAllowedDisc decimal(3,0),
DiscountRate decimal(8,3), DateCreated date, TimeCreated varchar(8), UserCreatedKey varchar(10), DateUpdated
date, TimeUpdated varchar(8), UserUpdatedKey varchar(10)
[AR_Salesperson]
SalespersonDivisionNo varchar(2) PK, SalespersonNo varchar(4) PK, SalespersonName varchar(30), AddressLine1
varchar(40), AddressLine2 varchar(40), AddressLine3 varchar(40), City varchar(30), State varchar(2), ZipCode
varchar(10), CountryCode varchar(3), TelephoneNo varchar(20), TelephoneExt varchar(6), EmailAddress
varchar(50), SalesManagerDivisionNo varchar(2), SalesManagerNo varchar(4), CommissionRate decimal(8,3),
SalesManagerCommRate decimal(8,3), DateCreated date, TimeCreated varchar(8), UserCreatedKey varchar(10),
DateUpdated date, TimeUpdated varchar(8), UserUpdatedKey varchar(10), CRMUserID varchar(11), UserKey
varchar(10), TelephoneType varchar(1)
[AR_OpenInvoice]
ARDivisionNo varchar(2) PK, CustomerNo varchar(20) PK, InvoiceNo varchar(7) PK, InvoiceType varchar(2) PK,
InvoiceDate date, InvoiceDueDate date, InvoiceDiscountDate date, InvoiceHistoryHeaderSeqNo varchar(6),
PostingDate date, TermsCode varchar(2), TaxSchedule varchar(9), SalespersonDivisionNo varchar(2),
SalespersonNo varchar(4), SplitCommissionFlag varchar(1), Comment varchar(30), CreditMemoInvoiceReference
varchar(7), JobNo varchar(7), CustomerPONo varchar(30), PostingReference varchar(14), CheckNo varchar(10),
CommissionRate decimal(8,3), TaxableAmt decimal(13,2), NonTaxableAmt decimal(13,2), FreightAmt
decimal(12,2), SalesTaxAmt decimal(12,2), CostOfSalesAmt decimal(13,2), SalesSubjectToComm decimal(13,2),
CostSubjectToComm decimal(13,2), CommissionAmt decimal(12,2), DiscountAmt decimal(13,2), PaymentsToday
decimal(13,2), Balance decimal(13,2), RetentionAmt decimal(13,2), DateUpdated date, TimeUpdated varchar(8),
UserUpdatedKey varchar(10), SoldToDivisionNo varchar(2), SoldToCustomerNo varchar(20), DateCreated date,
TimeCreated varchar(8), UserCreatedKey varchar(10), EInvoiceId varchar(24)
[AR_InvoiceHistoryHeader]
InvoiceNo varchar(7) PK, HeaderSeqNo varchar(6) PK, ModuleCode varchar(3), InvoiceType varchar(2),
InvoiceDate date, TransactionDate date, ARDivisionNo varchar(2), CustomerNo varchar(20), TermsCode
varchar(2), TaxSchedule varchar(9), TaxExemptNo varchar(15), SalespersonDivisionNo varchar(2), SalespersonNo
varchar(4), CustomerPONo varchar(30), ApplyToInvoiceNo varchar(7), Comment varchar(30),
RepetitiveInvoiceRefNo varchar(4), JobNo varchar(7), InvoiceDueDate date, DiscountDueDate date,
SourceJournal varchar(2), JournalNoGLBatchNo varchar(6), BatchFax varchar(1), FaxNo varchar(20),
ShippingInvoice varchar(1), SalesOrderNo varchar(7), OrderType varchar(1), OrderDate date, BillToName
varchar(50), BillToAddress1 varchar(40), BillToAddress2 varchar(40), BillToAddress3 varchar(40), BillToCity
varchar(30), BillToState varchar(2), BillToZipCode varchar(10), BillToCountryCode varchar(3), ShipToCode
varchar(4), ShipToName varchar(50), ShipToAddress1 varchar(40), ShipToAddress2 varchar(40), ShipToAddress3
varchar(40), ShipToCity varchar(30), ShipToState varchar(2), ShipToZipCode varchar(10), ShipToCountryCode
varchar(3), ShipDate date, ShipVia varchar(15), ShipZone varchar(5), FOB varchar(15), ConfirmTo varchar(50),
CheckNoForDeposit varchar(10), SplitCommissions varchar(1), SalespersonDivisionNo2 varchar(2),
SalespersonNo2 varchar(4), SalespersonDivisionNo3 varchar(2), SalespersonNo3 varchar(4),
SalespersonDivisionNo4 varchar(2), SalespersonNo4 varchar(4), SalespersonDivisionNo5 varchar(2),
SalespersonNo5 varchar(4), PaymentType varchar(5), PaymentTypeCategory varchar(1), OtherPaymentTypeRefNo
varchar(24), RMANo varchar(7), EBMSubmissionType varchar(1), EBMUserIDSubmittingThisOrder varchar(15),
EBMUserType varchar(1), ShipperID varchar(3), UserKey varchar(10), WarehouseCode varchar(3), ShipWeight
varchar(5), ResidentialAddress varchar(1), EmailAddress varchar(250), TaxableSalesAmt decimal(12,2),
NonTaxableSalesAmt decimal(12,2), FreightAmt decimal(11,2), SalesTaxAmt decimal(11,2), CostOfSalesAmt
decimal(12,2), AmountSubjectToDiscount decimal(12,2), DiscountRate decimal(8,3), DiscountAmt decimal(11,2),
SalesSubjectToComm decimal(12,2), CostSubjectToComm decimal(12,2), CommissionRate decimal(8,3),
CommissionAmt decimal(12,2), SplitCommRate2 decimal(8,3), SplitCommRate3 decimal(8,3), SplitCommRate4
decimal(8,3), SplitCommRate5 decimal(8,3), DepositAmt decimal(12,2), Weight decimal(11,2), RetentionAmt
decimal(12,2), NumberOfPackages decimal(5,0), DateUpdated date, TimeUpdated varchar(8), UserUpdatedKey
varchar(10), CRMUserID varchar(11), CRMCompanyID varchar(11), CRMPersonID varchar(11), CRMOpportunityID
varchar(11), BillToDivisionNo varchar(2), BillToCustomerNo varchar(20), DateCreated date, TimeCreated
varchar(8), UserCreatedKey varchar(10), MultipleSalesOrdersApplied varchar(1), MultipleCustomerPONos
varchar(1), MultipleDepositsApplied varchar(1), EInvoiceId varchar(24), EncryptedVals TEXT
[AR_InvoiceHistoryDetail]
InvoiceNo varchar(7) PK, HeaderSeqNo varchar(6) PK, DetailSeqNo varchar(6) PK, ItemCode varchar(30),
ItemType varchar(1), ItemCodeDesc varchar(30), ExtendedDescriptionKey varchar(10), SalesAcctKey varchar(9),
CostOfGoodsSoldAcctKey varchar(9), InventoryAcctKey varchar(9), UnitOfMeasure varchar(4), SubjectToExemption
varchar(1), Commissionable varchar(1), TaxClass varchar(2), Discount varchar(1), DropShip varchar(1),
WarehouseCode varchar(3), PriceLevel varchar(1), ProductLine varchar(4), Valuation varchar(1),
PriceOverridden varchar(1), OrderWarehouse varchar(3), Revision varchar(3), BillOption1 varchar(2),
BillOption2 varchar(2), BillOption3 varchar(2), BillOption4 varchar(2), BillOption5 varchar(2), BillOption6
varchar(2), BillOption7 varchar(2), BillOption8 varchar(2), BillOption9 varchar(2), KitItem varchar(1),
ExplodedKitItem varchar(1), SkipPrintCompLine varchar(1), StandardKitBill varchar(1), AliasItemNo
varchar(30), CustomerAction varchar(1), ItemAction varchar(1), WarrantyCode varchar(10), ExpirationDate
date, ExpirationOverridden varchar(1), CostCode varchar(9), CostType varchar(1), CommentText TEXT,
PromiseDate date, QuantityShipped decimal(15,6), QuantityOrdered decimal(15,6), QuantityBackordered
decimal(15,6), UnitPrice decimal(15,6), UnitCost decimal(15,6), UnitOfMeasureConvFactor decimal(11,4),
CommissionAmt decimal(12,2), LineDiscountPercent decimal(8,3), QuantityPerBill decimal(15,6), ExtensionAmt
decimal(11,2), APDivisionNo varchar(2), VendorNo varchar(7), PurchaseOrderNo varchar(7),
PurchaseOrderRequiredDate date, CommodityCode varchar(12), AlternateTaxIdentifier varchar(15),
TaxTypeApplied varchar(4), NetGrossIndicator varchar(1), DebitCreditIndicator varchar(1), TaxAmt
decimal(11,2), TaxRate decimal(10,6), AppliedSalesOrderNo varchar(7), AppliedCustomerPONo varchar(30),
EncryptedVals varchar(64)
[AR_CashReceiptsHistory]
BankCode varchar(1) PK, DepositDate date PK, DepositNo varchar(5) PK, DepositType varchar(1) PK,
ARDivisionNo varchar(2) PK, CustomerNo varchar(20) PK, CheckNo varchar(10) PK, SequenceNo varchar(6) PK,
PostingDate date, CustomerName varchar(50), OpenItemCustomer varchar(1), TransactionType varchar(2),
InvoiceNo varchar(7), InvoiceType varchar(2), AccountKey varchar(9), DepositDesc varchar(30), BatchNo
varchar(5), Last4UnencryptedCreditCardNos varchar(4), ExpirationDateYear varchar(4), ExpirationDateMonth
varchar(2), CorporateCustIDPurchOrder varchar(17), CorporateTaxOverrd varchar(1), CardholderName
varchar(50), CreditCardTransactionID varchar(15), CreditCardAuthorizationNo varchar(16), AuthorizationDate
date, AuthorizationTime varchar(8), AVSCity varchar(30), AVSState varchar(2), AVSZipCode varchar(10),
CreditCardComment varchar(30), Comment TEXT, CashAmountApplied decimal(12,2), DiscountAmountApplied
decimal(12,2), InvoiceBalance decimal(13,2), CorporateSalesTax decimal(11,2), DateUpdated date, TimeUpdated
varchar(8), UserUpdatedKey varchar(10), CreditCardEntryNo varchar(6) PK, SoldToDivisionNo varchar(2),
SoldToCustomerNo varchar(20), PaymentType varchar(5), CreditCardID varchar(10), CardType varchar(1),
BankAccountType varchar(1), Last4BankRoutingNos varchar(4), Last4BankAccountNos varchar(4), BankName
varchar(30), AVSAddressLine1 varchar(40), AVSAddressLine2 varchar(40), AVSCountryCode varchar(3),
CreditCardEmailAddress varchar(250), DateCreated date, TimeCreated varchar(8), UserCreatedKey varchar(10),
AVSAddressLine3 varchar(40), EInvoiceTransactionId varchar(24), EncryptedVals TEXT
[CI_Item]
ItemCode varchar(30) PK, ItemType varchar(1), ItemCodeDesc varchar(30), ExtendedDescriptionKey varchar(10),
UseInAR varchar(1), UseInSO varchar(1), UseInPO varchar(1), UseInBM varchar(1), CalculateCommission
varchar(1), DropShip varchar(1), EBMEnabled varchar(1), PriceCode varchar(4), PrintReceiptLabels varchar(1),
AllocateLandedCost varchar(1), WarrantyCode varchar(10), SalesUnitOfMeasure varchar(4),
PurchaseUnitOfMeasure varchar(4), StandardUnitOfMeasure varchar(4), PostToGLByDivision varchar(1),
SalesAcctKey varchar(9), CostOfGoodsSoldAcctKey varchar(9), InventoryAcctKey varchar(9), PurchaseAcctKey
varchar(9), ManufacturingCostAcctKey varchar(9), TaxClass varchar(2), PurchasesTaxClass varchar(2),
ProductLine varchar(4), ProductType varchar(1), Valuation varchar(1), DefaultWarehouseCode varchar(3),
PrimaryAPDivisionNo varchar(2), PrimaryVendorNo varchar(7), ImageFile varchar(30), Category1 varchar(10),
Category2 varchar(10), Category3 varchar(10), Category4 varchar(10), ExplodeKitItems varchar(1), ShipWeight
varchar(10), CommentText TEXT, RestockingMethod varchar(1), StandardUnitCost decimal(15,6),
StandardUnitPrice decimal(15,6), CommissionRate decimal(8,3), BaseCommAmt decimal(11,2), PurchaseUMConvFctr
decimal(11,4), SalesUMConvFctr decimal(11,4), Volume decimal(10,4), RestockingCharge decimal(10,3),
ProcurementType varchar(1), DateCreated date, TimeCreated varchar(8), UserCreatedKey varchar(10),
DateUpdated date, TimeUpdated varchar(8), UserUpdatedKey varchar(10), AllowBackOrders varchar(1),
AllowReturns varchar(1), AllowTradeDiscount varchar(1), ConfirmCostIncrInRcptOfGoods varchar(1),
LastSoldDate date, LastReceiptDate date, SalesPromotionCode varchar(10), SaleStartingDate date,
SaleEndingDate date, SaleMethod varchar(1), NextLotSerialNo varchar(15), InventoryCycle varchar(1),
RoutingNo varchar(20), PlannerCode varchar(3), BuyerCode varchar(3), LowLevelCode varchar(2), PlannedByMRP
varchar(1), VendorItemCode varchar(30), SetupCharge varchar(1), AttachmentFileName varchar(30),
ItemImageWidthInPixels decimal(4,0), ItemImageHeightInPixels decimal(4,0), LastTotalUnitCost decimal(15,6),
AverageUnitCost decimal(15,6), SalesPromotionPrice decimal(15,6), SuggestedRetailPrice decimal(15,6),
SalesPromotionDiscountPercent decimal(11,3), TotalQuantityOnHand decimal(15,6), AverageBackOrderFillDays
decimal(5,0), LastAllocatedUnitCost decimal(15,6), TotalInventoryValue decimal(14,2), InactiveItem
varchar(1), LastPhysicalCountDate date, CommodityCode varchar(12), TrackLotSerialExpirationDates varchar(1),
RequireExpirationDate varchar(1), CalculateExpDateBasedOn varchar(1), NumberUntilExpiration decimal(3,0),
CalculateSellByBasedOn varchar(1), NumberToSellByBefore decimal(3,0), NumberToSellByAfter decimal(3,0),
CalculateUseByBasedOn varchar(1), NumberToUseByBefore decimal(3,0), NumberToUseByAfter decimal(3,0),
CalculateReturnsBasedOn varchar(1), NumberToReturnAfter decimal(3,0)
[IM_ItemWarehouse]
ItemCode varchar(30) PK, WarehouseCode varchar(3) PK, BinLocation varchar(10), ReorderMethod varchar(1),
QuantityOnHand decimal(15,6), QuantityOnPurchaseOrder decimal(15,6), QuantityOnSalesOrder decimal(15,6),
QuantityOnBackOrder decimal(15,6), AverageCost decimal(15,6), QuantityRequiredForWO decimal(15,6),
EconomicOrderQty decimal(15,6), ReorderPointQty decimal(15,6), MinimumOrderQty decimal(15,6),
MaximumOnHandQty decimal(15,6), QuantityOnWorkOrder decimal(15,6), QuantityInShipping decimal(15,6),
TotalWarehouseValue decimal(14,2), CostCalcQtyCommitted decimal(15,6), CostCalcCostCommitted decimal(15,6),
DateCreated date, TimeCreated varchar(8), UserCreatedKey varchar(10), DateUpdated date, TimeUpdated
varchar(8), UserUpdatedKey varchar(10), LastPhysicalCountDate date
[SO_SalesOrderHeader]
SalesOrderNo varchar(7) PK, OrderDate date, OrderType varchar(1), OrderStatus varchar(1),
MasterRepeatingOrderNo varchar(7), ShipExpireDate date, ARDivisionNo varchar(2), CustomerNo varchar(20),
BillToName varchar(50), BillToAddress1 varchar(40), BillToAddress2 varchar(40), BillToAddress3 varchar(40),
BillToCity varchar(30), BillToState varchar(2), BillToZipCode varchar(10), BillToCountryCode varchar(3),
ShipToCode varchar(4), ShipToName varchar(50), ShipToAddress1 varchar(40), ShipToAddress2 varchar(40),
ShipToAddress3 varchar(40), ShipToCity varchar(30), ShipToState varchar(2), ShipToZipCode varchar(10),
ShipToCountryCode varchar(3), ShipVia varchar(15), ShipZone varchar(5), ShipZoneActual varchar(5),
ShipWeight varchar(5), CustomerPONo varchar(30), FOB varchar(15), WarehouseCode varchar(3), ConfirmTo
varchar(50), Comment varchar(30), TermsCode varchar(2), TaxSchedule varchar(9), TaxExemptNo varchar(15),
InvalidTaxCalc varchar(1), PrintSalesOrders varchar(1), PrintPickingSheets varchar(1), LastInvoiceOrderDate
date, LastInvoiceOrderNo varchar(7), CurrentInvoiceNo varchar(7), CheckNoForDeposit varchar(10), CycleCode
varchar(2), FaxNo varchar(20), BatchFax varchar(1), BatchEmail varchar(1), EmailAddress varchar(250),
FreightCalculationMethod varchar(1), LotSerialLinesExist varchar(1), SalespersonDivisionNo varchar(2),
SalespersonNo varchar(4), SplitCommissions varchar(1), SalespersonDivisionNo2 varchar(2), SalespersonNo2
varchar(4), SalespersonDivisionNo3 varchar(2), SalespersonNo3 varchar(4), SalespersonDivisionNo4 varchar(2),
SalespersonNo4 varchar(4), SalespersonDivisionNo5 varchar(2), SalespersonNo5 varchar(4), EBMUserType
varchar(1), EBMSubmissionType varchar(1), EBMUserIDSubmittingThisOrder varchar(15), PaymentType varchar(5),
OtherPaymentTypeRefNo varchar(24), CancelReasonCode varchar(5), PaymentTypeCategory varchar(1), RMANo
varchar(7), JobNo varchar(7), ResidentialAddress varchar(1), TaxableSubjectToDiscount decimal(12,2),
NonTaxableSubjectToDiscount decimal(12,2), TaxSubjToDiscPrcntOfTotSubjTo decimal(6,2), DiscountRate
decimal(7,3), DiscountAmt decimal(11,2), TaxableAmt decimal(12,2), NonTaxableAmt decimal(12,2), SalesTaxAmt
decimal(11,2), Weight decimal(11,2), FreightAmt decimal(11,2), DepositAmt decimal(12,2), CommissionRate
decimal(8,3), SplitCommRate2 decimal(8,3), SplitCommRate3 decimal(8,3), SplitCommRate4 decimal(8,3),
SplitCommRate5 decimal(8,3), NumberOfShippingLabels decimal(3,0), LastNoOfShippingLabels decimal(3,0),
DateCreated date, TimeCreated varchar(8), UserCreatedKey varchar(10), DateUpdated date, TimeUpdated
varchar(8), UserUpdatedKey varchar(10), CRMUserID varchar(11), CRMPersonID varchar(11), CRMOpportunityID
varchar(11), CRMCompanyID varchar(11), CRMProspectID varchar(11), SalesOrderPrinted varchar(1),
PickingSheetPrinted varchar(1), BillToDivisionNo varchar(2), BillToCustomerNo varchar(20), PromotedDate
date, PayBalance varchar(1)
[SO_SalesOrderDetail]
SalesOrderNo varchar(7) PK, LineKey varchar(6) PK, LineSeqNo varchar(14), ItemCode varchar(30), ItemType
varchar(1), ItemCodeDesc varchar(30), ExtendedDescriptionKey varchar(10), Discount varchar(1),
Commissionable varchar(1), SubjectToExemption varchar(1), WarehouseCode varchar(3), PriceLevel varchar(1),
MasterOrderLineKey varchar(6), UnitOfMeasure varchar(4), DropShip varchar(1), PrintDropShipment varchar(1),
SalesKitLineKey varchar(6), CostOfGoodsSoldAcctKey varchar(9), SalesAcctKey varchar(9), PriceOverridden
varchar(1), ExplodedKitItem varchar(1), StandardKitBill varchar(1), Revision varchar(3), BillOption1
varchar(2), BillOption2 varchar(2), BillOption3 varchar(2), BillOption4 varchar(2), BillOption5 varchar(2),
BillOption6 varchar(2), BillOption7 varchar(2), BillOption8 varchar(2), BillOption9 varchar(2),
BackorderKitCompLine varchar(1), SkipPrintCompLine varchar(1), PromiseDate date, AliasItemNo varchar(30),
SOHistoryDetlSeqNo varchar(14), TaxClass varchar(2), CustomerAction varchar(1), ItemAction varchar(1),
WarrantyCode varchar(10), ExpirationDate date, ExpirationOverridden varchar(1), CostOverridden varchar(1),
CostCode varchar(9), CostType varchar(1), CommentText TEXT, QuantityOrdered decimal(15,6), QuantityShipped
decimal(15,6), QuantityBackordered decimal(15,6), MasterOriginalQty decimal(15,6), MasterQtyBalance
decimal(15,6), MasterQtyOrderedToDate decimal(15,6), RepeatingQtyShippedToDate decimal(15,6), UnitPrice
decimal(15,6), UnitCost decimal(15,6), ExtensionAmt decimal(11,2), UnitOfMeasureConvFactor decimal(11,4),
QuantityPerBill decimal(15,6), LineDiscountPercent decimal(8,3), LineWeight decimal(11,2), Valuation
varchar(1), LotSerialFullyDistributed varchar(1), APDivisionNo varchar(2), VendorNo varchar(7),
PurchaseOrderNo varchar(7), PurchaseOrderRequiredDate date, CommodityCode varchar(12),
AlternateTaxIdentifier varchar(15), TaxTypeApplied varchar(4), NetGrossIndicator varchar(1),
DebitCreditIndicator varchar(1), TaxAmt decimal(11,2), TaxRate decimal(10,6)
[SO_InvoiceHeader]
InvoiceNo varchar(7) PK, InvoiceDate date, InvoiceType varchar(2), SalesOrderNo varchar(7), OrderType
varchar(1), OrderStatus varchar(1), OrderDate date, ARDivisionNo varchar(2), CustomerNo varchar(20),
BillToName varchar(50), BillToAddress1 varchar(40), BillToAddress2 varchar(40), BillToAddress3 varchar(40),
BillToCity varchar(30), BillToState varchar(2), BillToZipCode varchar(10), BillToCountryCode varchar(3),
ShipToCode varchar(4), ShipToName varchar(50), ShipToAddress1 varchar(40), ShipToAddress2 varchar(40),
ShipToAddress3 varchar(40), ShipToCity varchar(30), ShipToState varchar(2), ShipToZipCode varchar(10),
ShipToCountryCode varchar(3), ShipDate date, ShipVia varchar(15), ShipZone varchar(5), ShipZoneActual
varchar(5), ShipWeight varchar(5), CustomerPONo varchar(30), FOB varchar(15), WarehouseCode varchar(3),
ConfirmTo varchar(50), Comment varchar(30), TaxSchedule varchar(9), TermsCode varchar(2), TaxExemptNo
varchar(15), PrintInvoice varchar(1), InvoicePrinted varchar(1), AcceptCashOnly varchar(1), CustomerType
varchar(4), ResidentialAddress varchar(1), InvalidTaxCalc varchar(1), FreightCalculationMethod varchar(1),
CheckNoForDeposit varchar(10), ApplyToInvoiceNo varchar(7), LotSerialLinesExist varchar(1),
SalespersonDivisionNo varchar(2), SalespersonNo varchar(4), SplitCommissions varchar(1),
SalespersonDivisionNo2 varchar(2), SalespersonNo2 varchar(4), SalespersonDivisionNo3 varchar(2),
SalespersonNo3 varchar(4), SalespersonDivisionNo4 varchar(2), SalespersonNo4 varchar(4),
SalespersonDivisionNo5 varchar(2), SalespersonNo5 varchar(4), InvoiceDueDate date, DiscountDueDate date,
BatchNo varchar(5), EBMSubmissionType varchar(1), EBMUserIDSubmittingThisOrder varchar(15), EBMUserType
varchar(1), EMailUpdateFlagForRestart varchar(1), FaxNo varchar(20), BatchFax varchar(1), BatchEmail
varchar(1), EmailAddress varchar(250), PaymentType varchar(5), PaymentTypeCategory varchar(1),
OtherPaymentTypeRefNo varchar(24), OrderChangedInShipping varchar(1), LinesChangedInShipping varchar(1),
ShipperID varchar(3), ShipStatus varchar(1), StarshipFreightUsed varchar(1), StarshipRecordsCreated
varchar(1), JobNo varchar(7), RMANo varchar(7), InvalidWarrantyCode varchar(1), TaxableSubjectToDiscount
decimal(12,2), NonTaxableSubjectToDiscount decimal(12,2), TaxSubjToDiscPrcntOfTotSubjTo decimal(7,2),
DiscountRate decimal(8,3), TaxableAmt decimal(12,2), NonTaxableAmt decimal(12,2), SalesTaxAmt decimal(11,2),
DiscountAmt decimal(11,2), RetentionAmt decimal(12,2), TotalSubjectToComm decimal(12,2), CommissionRate
decimal(8,3), CommissionAmt decimal(11,2), SplitCommRate2 decimal(8,3), SplitCommRate3 decimal(8,3),
SplitCommRate4 decimal(8,3), SplitCommRate5 decimal(8,3), OverrideCommAmt decimal(11,2), FreightAmt
decimal(11,2), CostOfGoodsSoldAmt decimal(12,2), CostOfGoodsSoldSubjToComm decimal(12,2), DepositAmt
decimal(12,2), Weight decimal(11,2), SIShippedLinesCOGS decimal(12,2), NumberOfCODLabels decimal(2,0),
NumberOfBackOrderLines decimal(5,0), NumberOfShippingLabels decimal(4,0), LastNoOfShippingLabels
decimal(4,0), NumberofPackages decimal(4,0), DateCreated date, TimeCreated varchar(8), UserCreatedKey
varchar(10), DateUpdated date, TimeUpdated varchar(8), UserUpdatedKey varchar(10), CRMUserID varchar(11),
CRMCompanyID varchar(11), CRMPersonID varchar(11), CRMOpportunityID varchar(11), BillToDivisionNo
varchar(2), BillToCustomerNo varchar(20), MultipleSalesOrdersApplied varchar(1), MultipleCustomerPONos
varchar(1), MultipleDepositsApplied varchar(1), EInvoicePayments varchar(1), PayBalance varchar(1),
ActualPercentComplete decimal(9,2)
[SO_InvoiceDetail]
InvoiceNo varchar(7) PK, LineKey varchar(6) PK, LineSeqNo varchar(14), ItemCode varchar(30), ItemType
varchar(1), ItemCodeDesc varchar(30), ExtendedDescriptionKey varchar(10), Discount varchar(1),
Commissionable varchar(1), SubjectToExemption varchar(1), WarehouseCode varchar(3), ProductLine varchar(4),
Valuation varchar(1), PriceLevel varchar(1), UnitOfMeasure varchar(4), DropShip varchar(1),
LotSerialFullyDistributed varchar(1), SalesKitLineKey varchar(6), CostOfGoodsSoldAcctKey varchar(9),
SalesAcctKey varchar(9), PriceOverridden varchar(1), OrderWarehouse varchar(3), ExplodedKitItem varchar(1),
OrderLineKey varchar(6), Revision varchar(3), BillOption1 varchar(2), BillOption2 varchar(2), BillOption3
varchar(2), BillOption4 varchar(2), BillOption5 varchar(2), BillOption6 varchar(2), BillOption7 varchar(2),
BillOption8 varchar(2), BillOption9 varchar(2), BackorderKitCompLine varchar(1), StandardKitBill varchar(1),
SkipPrintCompLine varchar(1), AliasItemNo varchar(30), TaxClass varchar(2), SOHistoryDetlSeqNo varchar(14),
CustomerAction varchar(1), WarrantyCode varchar(10), ExpirationDate date, ExpirationOverridden varchar(1),
CostOverridden varchar(1), ItemAction varchar(1), CostCode varchar(9), CostType varchar(1), CommentText
TEXT, PromiseDate date, QuantityOrdered decimal(15,6), QuantityShipped decimal(15,6), QuantityBackordered
decimal(15,6), UnitPrice decimal(15,6), ExtensionAmt decimal(11,2), UnitCost decimal(15,6),
UnitOfMeasureConvFactor decimal(11,4), CommissionAmt decimal(12,2), QuantityPerBill decimal(15,6),
LineDiscountPercent decimal(8,3), ExtendedCost decimal(11,2), ExtendedNegQtyAdj decimal(11,2), LineWeight
decimal(11,2), APDivisionNo varchar(2), VendorNo varchar(7), PurchaseOrderNo varchar(7),
PurchaseOrderRequiredDate date, CommodityCode varchar(12), AlternateTaxIdentifier varchar(15),
TaxTypeApplied varchar(4), NetGrossIndicator varchar(1), DebitCreditIndicator varchar(1), TaxAmt
decimal(11,2), TaxRate decimal(10,6), AppliedSalesOrderNo varchar(7), AppliedCustomerPONo varchar(30)
[SY_User]
UserKey varchar(10) PK, UserCode varchar(3), UserLogon varchar(60), SecurityKey varchar(10), FirstName
varchar(20), LastName varchar(30), CustomizationCode varchar(3), Password varchar(30), Active varchar(1),
InactiveDate date, LastCompany varchar(10), LookupLimit varchar(6), PartialLookup varchar(1), ImpliedDecimal
varchar(1), AutoLogoff varchar(1), InactivityTime varchar(3), EnterKeyLikeTab varchar(1), InPeriodEnd
varchar(1), PeriodEndPrinter varchar(3), CurrentPrinter varchar(3), LowSpeedConnect varchar(1), SystemDate
date, Theme varchar(1), GraphicReportFormat varchar(1), ReductionAmountsInRed varchar(1),
PromptForCompanyCode varchar(1), UseCrystalWebReports varchar(1), Locked varchar(1), ShowHiddenDialog
varchar(1), External varchar(1), LockedDate decimal(8,0), LockedTime decimal(8,0), PasswordDate
decimal(8,0), EnableCSODBC varchar(1), AppServSpawn varchar(1), EnableWebServicesForUser varchar(1),
ReportPreviewZoom decimal(3,0), SurveyVersion decimal(2,1), SurveyLaunchDate decimal(8,0), EmailAddress
varchar(250), JobTitle varchar(1), RetainModuleOnCompanyChange varchar(1), ThemeCode varchar(20), MapService
varchar(1)
"""

# Tables without public DDL (SOURCES gives the basis of each).
_OTHER_LAYOUTS = """
[AR_Division]
ARDivisionNo varchar(2) PK, DivisionDesc varchar(30), AccountsReceivableAcctKey varchar(9), CashAcctKey varchar(9),
DiscountsAllowedAcctKey varchar(9), FreightAcctKey varchar(9), SalesTaxAcctKey varchar(9),
FinanceChrgAcctKey varchar(9), {audit}
[AR_PaymentType]
PaymentType varchar(5) PK, PaymentDesc varchar(30), PaymentMethod varchar(1), AssetAcctKey varchar(9),
CreditCardAccrualAcctKey varchar(9), DefaultTransaction varchar(1), EBMInternetEnabled varchar(1), {audit}
[AP_Vendor]
APDivisionNo varchar(2) PK, VendorNo varchar(7) PK, VendorName varchar(50), AddressLine1 varchar(40),
AddressLine2 varchar(40), AddressLine3 varchar(40), City varchar(30), State varchar(2), ZipCode varchar(10),
CountryCode varchar(3), TelephoneNo varchar(20), TelephoneExt varchar(6), FaxNo varchar(20),
EmailAddress varchar(250), URLAddress varchar(50), ContactCode varchar(10), SortField varchar(10),
Reference varchar(15), TermsCode varchar(2), HoldPayment varchar(1), AccountKey varchar(9),
DateLastActivity date, DateLastPayment date, DateEstablished date, {audit}
[AP_TermsCode]
TermsCode varchar(2) PK, TermsCodeDesc varchar(30), DaysBeforeDue decimal(3,0), DaysBeforeDiscountDue decimal(3,0),
DiscountRate decimal(8,3), {audit}
[AP_OpenInvoice]
APDivisionNo varchar(2) PK, VendorNo varchar(7) PK, InvoiceNo varchar(10) PK, InvoiceDate date,
InvoiceDueDate date, InvoiceDiscountDate date, TermsCode varchar(2), HoldPayment varchar(1), Comment varchar(30),
PurchaseOrderNo varchar(7), InvoiceAmt decimal(12,2), DiscountAmt decimal(12,2), Balance decimal(12,2),
CheckNo varchar(10), CheckType varchar(1), CheckDate date, {audit}
[AP_InvoiceHistoryHeader]
APDivisionNo varchar(2) PK, VendorNo varchar(7) PK, InvoiceNo varchar(10) PK, HeaderSeqNo varchar(6) PK,
InvoiceDate date, InvoiceDueDate date, TermsCode varchar(2), Comment varchar(30), PurchaseOrderNo varchar(7),
FreightAmt decimal(12,2), InvoiceAmt decimal(12,2), {audit}
[AP_InvoiceHistoryDetail]
APDivisionNo varchar(2) PK, VendorNo varchar(7) PK, InvoiceNo varchar(10) PK, HeaderSeqNo varchar(6) PK,
DetailSeqNo varchar(6) PK, ItemCode varchar(30), CommentText varchar(30), AccountKey varchar(9),
QuantityOrdered decimal(15,6), QuantityReceived decimal(15,6), QuantityInvoiced decimal(15,6),
ExtensionAmt decimal(12,2)
[GL_Account]
AccountKey varchar(9) PK, AccountDesc varchar(50), Account varchar(41), RawAccount varchar(32),
MainAccountCode varchar(15), DateStart date, DateEnd date, Status varchar(1), ClearBalance varchar(1),
AccountType varchar(2), CashFlowsType varchar(1), RollupCode1 varchar(20), RollupCode2 varchar(20),
RollupCode3 varchar(20), RollupCode4 varchar(20), AccountGroup varchar(15), AccountCategory varchar(1),
CompanyCode varchar(3), {audit}
[GL_DetailPosting]
JournalRegisterNo varchar(6) PK, SequenceNo varchar(14) PK, AccountKey varchar(9), PostingDate date,
SourceJournal varchar(2), SourceModule varchar(3), PostingComment varchar(30), DebitAmount decimal(16,2),
CreditAmount decimal(16,2), DateCreated date, TimeCreated varchar(8), UserCreatedKey varchar(10)
[IM_Warehouse]
WarehouseCode varchar(3) PK, WarehouseDesc varchar(30), WarehouseName varchar(30), WarehouseAddress1 varchar(30),
WarehouseAddress2 varchar(30), WarehouseCity varchar(20), WarehouseState varchar(2), WarehouseZipCode varchar(10),
{audit}
[SY_Company]
CompanyCode varchar(3) PK, CompanyName varchar(50), AddressLine1 varchar(40), AddressLine2 varchar(40),
City varchar(30), State varchar(2), ZipCode varchar(10), TelephoneNo varchar(20), AllowExternalAccess varchar(1)
"""

LAYOUTS: dict[str, Layout] = _parse(_REAL_LAYOUTS + "\n" + _OTHER_LAYOUTS.replace("{audit}", _AUDIT), SOURCES)


# Data-entry tables the business objects take fields for. The sandbox posts entries at once, so it has no such
# tables; these layouts only type the fields (keys from S22, fields from the UI help S21 and S10; inferred).
_ENTRY_LAYOUTS = """
[AR_CashReceiptsHeader]
DepositNo varchar(5) PK, ARDivisionNo varchar(2) PK, CustomerNo varchar(20) PK, CheckNo varchar(10) PK,
DepositType varchar(1), DepositDate date, BankCode varchar(1), PaymentType varchar(5), PostingAmt decimal(12,2),
DepositDesc varchar(30), Comment varchar(30)
[AR_CashReceiptsDetail]
InvoiceNo varchar(7), InvoiceType varchar(2), AmountPosted decimal(12,2), DiscountAmt decimal(12,2)
[AP_InvoiceHeader]
APDivisionNo varchar(2) PK, VendorNo varchar(7) PK, InvoiceNo varchar(10) PK, InvoiceDate date, InvoiceDueDate date,
InvoiceDiscountDate date, TermsCode varchar(2), HoldPayment varchar(1), Comment varchar(30),
PurchaseOrderNo varchar(7), InvoiceAmt decimal(12,2), DiscountAmt decimal(12,2), FreightAmt decimal(12,2)
[GL_GeneralJournalHeader]
SourceJournal varchar(2) PK, EntryNo varchar(6) PK, PostingDate date, JournalComment varchar(30),
AcceptOutofBalance varchar(1)
[GL_GeneralJournalDetail]
AccountKey varchar(9), PostingComment varchar(30), DebitAmount decimal(16,2), CreditAmount decimal(16,2)
"""

ENTRY_LAYOUTS: dict[str, Layout] = _parse(_ENTRY_LAYOUTS, dict.fromkeys(
    ("AR_CashReceiptsHeader", "AR_CashReceiptsDetail", "AP_InvoiceHeader", "GL_GeneralJournalHeader",
     "GL_GeneralJournalDetail"), INFERRED))


def find_layout(name: str) -> Layout | None:
    """A table or data-entry layout by exact name, or None."""
    return LAYOUTS.get(name) or ENTRY_LAYOUTS.get(name)


def layout(table: str) -> Layout:
    """The layout of ``table`` (case-insensitive); KeyError with the known names otherwise."""
    found = LAYOUTS.get(table) or next((v for k, v in LAYOUTS.items() if k.lower() == table.lower()), None)
    if found is None:
        raise KeyError(f"no Sage 100 layout for table {table!r}; known: {', '.join(sorted(LAYOUTS))}")
    return found
