"""The Sage 100 business objects the agent drives, and how each is opened and keyed in BOI.

Names, modules, UI tasks and key order follow the reference (§3.5). Where the reference marks a name as
inferred (cash receipts, A/P invoice, G/L journal), the sandbox docs say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class BusObject:
    name: str  # "AR_Customer_bus"
    label: str  # "customer", for messages
    module: str  # "A/R": what nSetModule / nSetDate take
    task: str  # UI task for nLookupTask / nSetProgram ("AR_Customer_ui")
    key: tuple[str, ...]  # key columns in nSetKeyValue order
    key_defaults: dict[str, str] = field(default_factory=dict)  # key values used when an operation omits them
    next_number: tuple[str, str] | None = None  # (key column, by-ref method giving the next number on create)
    lead: tuple[str, ...] = ()  # fields set before the others (the customer before anything defaulted from it)
    lines: bool = False  # has oLines
    batches: bool = False  # data entry grouped in batches (nSelectBatch when the operation names a BatchNo)
    table: str = ""  # the table whose layout types the header fields (to add BOI's "$" and coerce values)
    lines_table: str = ""


BUS_OBJECTS: dict[str, BusObject] = {
    spec.name: spec
    for spec in (
        BusObject("AR_Customer_bus", "customer", "A/R", "AR_Customer_ui", ("ARDivisionNo", "CustomerNo"),
                  next_number=("CustomerNo", "nGetNextCustomerNo"), table="AR_Customer"),
        BusObject("AP_Vendor_bus", "vendor", "A/P", "AP_Vendor_ui", ("APDivisionNo", "VendorNo"),
                  next_number=("VendorNo", "nGetNextVendorNo"), table="AP_Vendor"),
        BusObject("CI_ItemCode_bus", "item", "C/I", "CI_ItemCode_ui", ("ItemCode",), table="CI_Item"),
        BusObject("AR_Invoice_bus", "A/R invoice", "A/R", "AR_Invoice_ui", ("InvoiceNo", "InvoiceType"),
                  key_defaults={"InvoiceType": "IN"}, next_number=("InvoiceNo", "nGetNextInvoiceNo"),
                  lead=("ARDivisionNo", "CustomerNo"), lines=True, batches=True,
                  table="AR_InvoiceHistoryHeader", lines_table="AR_InvoiceHistoryDetail"),
        BusObject("AR_CashReceipts_bus", "cash receipt", "A/R", "AR_CashReceipts_ui",
                  ("DepositNo", "ARDivisionNo", "CustomerNo", "CheckNo"),
                  next_number=("DepositNo", "nGetNextDepositNo"), lines=True, batches=True,
                  table="AR_CashReceiptsHeader", lines_table="AR_CashReceiptsDetail"),
        BusObject("AP_Invoice_bus", "A/P invoice", "A/P", "AP_Invoice_ui", ("APDivisionNo", "VendorNo", "InvoiceNo"),
                  lines=True, batches=True, table="AP_InvoiceHeader", lines_table="AP_InvoiceHistoryDetail"),
        BusObject("GL_GeneralJournal_bus", "G/L journal entry", "G/L", "GL_GeneralJournal_ui",
                  ("SourceJournal", "EntryNo"), key_defaults={"SourceJournal": "GJ"},
                  next_number=("EntryNo", "nGetNextEntryNo"), lines=True, batches=True,
                  table="GL_GeneralJournalHeader", lines_table="GL_GeneralJournalDetail"),
        BusObject("SO_SalesOrder_bus", "sales order", "S/O", "SO_SalesOrder_ui", ("SalesOrderNo",),
                  next_number=("SalesOrderNo", "nGetNextSalesOrderNo"), lead=("ARDivisionNo", "CustomerNo"),
                  lines=True, table="SO_SalesOrderHeader", lines_table="SO_SalesOrderDetail"),
    )
}

MODULES = ("A/R", "A/P", "G/L", "C/I", "I/M", "S/O", "P/O")
