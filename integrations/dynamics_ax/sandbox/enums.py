"""AX enums as the sandbox stores them (integers in SQL, names in AIF XML).

Values are the positions of the enumerations in the real AX 2012 R2 sharedtypes schema
(ax-samples/jaestevan-.../JAEEServicios10.xsd), which match the documented values where the reference gives them
(LedgerTransType Sales 2, Cust 8, Payment 15, Settlement 24). Enums that are not in that schema are marked.
"""

from __future__ import annotations


class AxEnum:
    """Name <-> value mapping of one AX enum."""

    def __init__(self, name: str, names: list[str], values: list[int] | None = None) -> None:
        self.name = name
        self.values = dict(zip(names, values or range(len(names)), strict=True))
        self.names = {value: key for key, value in self.values.items()}

    def __getitem__(self, name: str) -> int:
        return self.values[name]

    def value(self, name: str | None, default: int = 0) -> int:
        """Value of an enum name from XML; raises ValueError for an unknown name (schema validation catches
        those first)."""
        if name is None or name == "":
            return default
        try:
            return self.values[name]
        except KeyError:
            raise ValueError(f"'{name}' is not a value of enum {self.name}") from None

    def label(self, value: int | None) -> str:
        return self.names.get(int(value or 0), "")


LEDGER_JOURNAL_AC_TYPE = AxEnum(
    "LedgerJournalACType",
    ["Ledger", "Cust", "Vend", "Project", "FixedAssets", "Bank", "FixedAssets_RU", "Employee_RU", "RDeferrals",
     "RCash"],
)
LEDGER_JOURNAL_TYPE = AxEnum(
    "LedgerJournalType",
    ["Daily", "Periodic", "PurchaseLedger", "Approval", "Payment", "CustPayment", "Cost", "VendInvoiceRegister"],
)
LEDGER_TRANS_TYPE = AxEnum(
    "LedgerTransType",
    ["None", "Transfer", "Sales", "Purch", "Invent", "Production", "Project", "Interest", "Cust", "ExchAdjustment",
     "SummedUp", "Payroll", "FixedAssets", "CollectionLetter", "Vend", "Payment", "Tax", "Bank", "Conversion",
     "BillOfExchange", "PromissoryNote", "Cost", "Work", "Fee", "Settlement", "Allocation", "Elimination",
     "CashDiscount", "OverUnder", "PennyDifference", "CrossCompanySettlement", "PurchReq",
     "InflationAdjustment_MX", "PurchAdvanceApplication", "ConversionReporting", "FixedAssets_RU",
     "RTax25_BadDebtDebitAmortisation", "RDeferrals", "RTax25_BadDebtCreditAmortisation", "AdvanceAdjustment_RU",
     "VATTaxAgent_RU", "GainLossCurrencyDeal_RU", "PdsRebateCreditNote", "PdsRebatePassToAP", "WriteOff",
     "GeneralJournal"],
)
SETTLEMENT_TYPE = AxEnum("SettlementType", ["None", "OpenTransact", "SelectedTransact"])
NO_YES = AxEnum("NoYes", ["No", "Yes"])
# Not in the real sample schema: values inferred from the order the reference lists them in.
CUST_VENDOR_BLOCKED = AxEnum("CustVendorBlocked", ["No", "Invoice", "All", "Payment", "Requisition", "Never"])
ITEM_TYPE = AxEnum("ItemType", ["Item", "BOM", "Service"])
MODULE_INVENT_PURCH_SALES = AxEnum("ModuleInventPurchSales", ["Invent", "Purch", "Sales"])
ELECTRONIC_ADDRESS_TYPE = AxEnum("LogisticsElectronicAddressMethodType",
                                 ["None", "Phone", "Email", "URL", "Telex", "Fax"])
# EcoResProductType: Item 1, Service 2 (AX 2012).
PRODUCT_TYPE = AxEnum("EcoResProductType", ["Item", "Service"], [1, 2])
# DirPartyTable.InstanceRelationType holds the table id of the concrete party type; sandbox ids (not AX's).
PARTY_ORGANIZATION, PARTY_PERSON, PARTY_COMPANY = 2978, 2975, 41
# DimensionAttributeValueCombination.LedgerDimensionType: 0 account (main account + dimensions); the sandbox uses
# 1 for the combinations that hold a customer/vendor/bank account of a journal line (AX's value is not documented).
LEDGER_DIMENSION_ACCOUNT, LEDGER_DIMENSION_NON_LEDGER = 0, 1
# TaxDirection (TAXTRANS.TAXDIRECTION): not in the sample schema; values inferred from AX 2012's enum order.
TAX_DIRECTION = AxEnum("TaxDirection", ["IncomingTax", "OutgoingTax", "TaxExemptPurchase", "TaxExemptSales",
                                        "UseTax"])
