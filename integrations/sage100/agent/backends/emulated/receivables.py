"""A/R invoice and cash receipt objects: they post at once (see common.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .base import BoiError, EmulatedLines, EmulatedObject, Record, blank, code, division, money, number
from .checks import Checks
from .common import ZERO, CustomerDocument, extension, invoice_type, item_line_defaults, seq

# -- A/R invoice -------------------------------------------------------------------------------------------------


class ArInvoiceLines(EmulatedLines):
    FIELDS = "AR_InvoiceHistoryDetail"
    HIDDEN = ("InvoiceNo", "HeaderSeqNo", "DetailSeqNo")
    FORMATS = {"ItemCode": code(30)}


class ArInvoiceObject(CustomerDocument):
    NAME = "AR_Invoice_bus"
    LABEL = "A/R invoice"
    TASK = "AR_Invoice_ui"
    FIELDS = "AR_InvoiceHistoryHeader"
    KEY = {"InvoiceNo": number(7), "InvoiceType": invoice_type}
    REQUIRED = ("ARDivisionNo", "CustomerNo", "InvoiceDate", "TermsCode")
    LINES = ArInvoiceLines

    def nGetNextInvoiceNo(self, _out: Any = "") -> tuple[int, str]:  # noqa: N802 - BOI method name
        return 1, self.db.next_number("ar-invoice", "SELECT InvoiceNo FROM AR_InvoiceHistoryHeader UNION "
                                      "SELECT InvoiceNo FROM AR_OpenInvoice", 7)

    def load(self, keys: Record) -> Record | None:
        return None  # nothing waits in data entry: posted invoices are history and cannot be edited

    def defaults(self, keys: Record) -> Record:
        return {"ModuleCode": "A/R", "SourceJournal": "SJ", "FreightAmt": ZERO, "SalesTaxAmt": ZERO,
                "DiscountAmt": ZERO}

    def on_line_set(self, line: Record, name: str, value: Any) -> str | None:
        checks = Checks(self.db)
        if name == "ItemCode" and not blank(value):
            line.update(item_line_defaults(checks, value, line, price_field="UnitPrice"))
        elif name in ("SalesAcctKey", "CostOfGoodsSoldAcctKey", "InventoryAcctKey") and not blank(value):
            checks.gl_account(value)
        elif name == "WarehouseCode" and not blank(value):
            checks.warehouse(value)
        return None

    def line_defaults(self) -> Record:
        return {"QuantityShipped": Decimal(1), "UnitPrice": ZERO, "ExtensionAmt": ZERO, "ItemType": "5"}

    def validate_line(self, line: Record) -> str | None:
        if blank(line.get("SalesAcctKey")):
            raise BoiError("SalesAcctKey is required.")
        Checks(self.db).gl_account(line["SalesAcctKey"])
        if not line.get("ExtensionAmt"):
            line["ExtensionAmt"] = extension(line, "QuantityShipped")
        return None

    def validate(self) -> str | None:
        if not self.oLines.rows:
            raise BoiError("The invoice has no lines.")
        division_no, customer_no = self.customer_key()
        invoice_no, kind = self.record["InvoiceNo"], self.record["InvoiceType"]
        for table in ("AR_OpenInvoice", "AR_InvoiceHistoryHeader"):
            if self.db.exists(table, ARDivisionNo=division_no, CustomerNo=customer_no, InvoiceNo=invoice_no,
                              InvoiceType=kind):
                raise BoiError(f"Invoice {invoice_no} already exists for customer {division_no}-{customer_no}.")
        Checks(self.db).terms_code("AR_TermsCode", self.record["TermsCode"])
        return None

    def save(self, *, is_new: bool) -> None:
        header = self.record
        lines_total = money(sum((line["ExtensionAmt"] for line in self.oLines.rows), ZERO))
        total = lines_total + money(header.get("FreightAmt")) + money(header.get("SalesTaxAmt")) \
            - money(header.get("DiscountAmt"))
        due, discount = self.due_dates(header["InvoiceDate"], header["TermsCode"])
        header_seq = self._next_header_seq(header["InvoiceNo"])
        header.update({"HeaderSeqNo": header_seq, "NonTaxableSalesAmt": lines_total, "TaxableSalesAmt": ZERO,
                       "TransactionDate": header["InvoiceDate"], "InvoiceDueDate": header.get("InvoiceDueDate") or due,
                       "DiscountDueDate": header.get("DiscountDueDate") or discount})
        self.db.insert("AR_InvoiceHistoryHeader", header, user_key=self.user_key)
        for n, line in enumerate(self.oLines.rows, 1):
            detail = {**line, "InvoiceNo": header["InvoiceNo"], "HeaderSeqNo": header_seq, "DetailSeqNo": seq(n)}
            detail.setdefault("QuantityOrdered", line.get("QuantityShipped"))
            self.db.insert("AR_InvoiceHistoryDetail", detail, user_key=self.user_key)
        balance = -total if header["InvoiceType"] == "CM" else total
        self._open_invoice(header, header_seq, lines_total, balance)
        keys = dict(zip(("ARDivisionNo", "CustomerNo"), self.customer_key(), strict=True))
        self.db.add("AR_Customer", keys, "CurrentBalance", balance, user_key=self.user_key)
        self.db.update("AR_Customer", keys, {"DateLastActivity": header["InvoiceDate"]}, user_key=self.user_key)

    def _open_invoice(self, header: Record, header_seq: str, lines_total: Decimal, balance: Decimal) -> None:
        copied = ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType", "InvoiceDate", "InvoiceDueDate",
                  "TermsCode", "TaxSchedule", "SalespersonDivisionNo", "SalespersonNo", "Comment", "CustomerPONo",
                  "FreightAmt", "SalesTaxAmt", "DiscountAmt")
        row = {name: header.get(name) for name in copied}
        row.update({"InvoiceDiscountDate": header.get("DiscountDueDate"), "InvoiceHistoryHeaderSeqNo": header_seq,
                    "PostingDate": self.session.module_date("A/R").isoformat(), "NonTaxableAmt": lines_total,
                    "TaxableAmt": ZERO, "Balance": balance, "PaymentsToday": ZERO,
                    "SalesSubjectToComm": lines_total})
        self.db.insert("AR_OpenInvoice", row, user_key=self.user_key)

    def _next_header_seq(self, invoice_no: str) -> str:
        row = self.db.one("SELECT MAX(HeaderSeqNo) AS top FROM AR_InvoiceHistoryHeader WHERE InvoiceNo = ?",
                          (invoice_no,))
        return seq(int(row["top"]) + 1) if row and row["top"] is not None else seq(0)


# -- A/R cash receipt --------------------------------------------------------------------------------------------


class CashReceiptLines(EmulatedLines):
    FIELDS = "AR_CashReceiptsDetail"
    REQUIRED = ("InvoiceNo",)
    FORMATS = {"InvoiceNo": number(7), "InvoiceType": invoice_type}


class CashReceiptObject(EmulatedObject):
    NAME = "AR_CashReceipts_bus"
    LABEL = "cash receipt"
    TASK = "AR_CashReceipts_ui"
    FIELDS = "AR_CashReceiptsHeader"
    KEY = {"DepositNo": number(5), "ARDivisionNo": division, "CustomerNo": code(20), "CheckNo": code(10)}
    REQUIRED = ("DepositDate", "PostingAmt")
    LINES = CashReceiptLines

    def nGetNextDepositNo(self, _out: Any = "") -> tuple[int, str]:  # noqa: N802 - BOI method name
        return 1, self.db.next_number("deposit", "SELECT DISTINCT DepositNo FROM AR_CashReceiptsHistory", 5)

    def check_key(self, keys: Record) -> None:
        Checks(self.db).customer(keys["ARDivisionNo"], keys["CustomerNo"])

    def load(self, keys: Record) -> Record | None:
        posted = self.db.one(
            "SELECT * FROM AR_CashReceiptsHistory WHERE DepositNo = ? AND ARDivisionNo = ? AND CustomerNo = ? "
            "AND CheckNo = ? LIMIT 1", (keys["DepositNo"], keys["ARDivisionNo"], keys["CustomerNo"], keys["CheckNo"]))
        if posted is not None:
            return {**keys, "DepositType": posted["DepositType"], "DepositDate": posted["DepositDate"],
                    "BankCode": posted["BankCode"], "PaymentType": posted["PaymentType"]}
        if self.db.exists("AR_CashReceiptsHistory", ARDivisionNo=keys["ARDivisionNo"],
                          CustomerNo=keys["CustomerNo"], CheckNo=keys["CheckNo"]):
            raise BoiError(f"Check number {keys['CheckNo']} has already been used for customer "
                           f"{keys['ARDivisionNo']}-{keys['CustomerNo']}.")
        return None

    def defaults(self, keys: Record) -> Record:
        return {"DepositType": "C", "BankCode": "A", "DepositDate": self.session.module_date("A/R").isoformat()}

    def on_set(self, name: str, value: Any) -> str | None:
        if name == "PaymentType" and not blank(value):
            Checks(self.db).payment_type(value)
        elif name == "DepositType" and value not in ("C", "R"):
            raise BoiError(f"{value} is not a valid deposit type (C or R).")
        elif name == "PostingAmt" and value <= ZERO:
            raise BoiError("PostingAmt must be greater than zero.")
        return None

    def line_defaults(self) -> Record:
        return {"InvoiceType": "IN", "AmountPosted": ZERO, "DiscountAmt": ZERO}

    def validate_line(self, line: Record) -> str | None:
        invoice = self.db.get("AR_OpenInvoice", ARDivisionNo=self.record["ARDivisionNo"],
                              CustomerNo=self.record["CustomerNo"], InvoiceNo=line["InvoiceNo"],
                              InvoiceType=line.get("InvoiceType") or "IN")
        who = f"{self.record['ARDivisionNo']}-{self.record['CustomerNo']}"
        if invoice is None:
            raise BoiError(f"Invoice {line['InvoiceNo']} is not on file for customer {who}.")
        applied = money(line.get("AmountPosted")) + money(line.get("DiscountAmt"))
        if applied <= ZERO:
            raise BoiError("AmountPosted must be greater than zero.")
        if applied > money(invoice["Balance"]):
            raise BoiError(f"The amount posted exceeds the balance of invoice {line['InvoiceNo']} "
                           f"({money(invoice['Balance'])}).")
        return None

    def check_write(self) -> None:
        if self.state == 1:
            raise BoiError("This cash receipt has been posted and cannot be changed.")

    def validate(self) -> str | None:
        if not self.oLines.rows:
            raise BoiError("Apply the cash receipt to at least one invoice.")
        posted = money(sum((money(line["AmountPosted"]) for line in self.oLines.rows), ZERO))
        if posted != money(self.record["PostingAmt"]):
            raise BoiError(f"The amount received ({money(self.record['PostingAmt'])}) does not equal the amounts "
                           f"posted ({posted}).")
        return None

    def check_delete(self) -> None:
        raise BoiError("This cash receipt has been posted and cannot be deleted.")

    def save(self, *, is_new: bool) -> None:
        receipt = self.record
        customer = self.db.get("AR_Customer", ARDivisionNo=receipt["ARDivisionNo"], CustomerNo=receipt["CustomerNo"])
        total = ZERO
        for n, line in enumerate(self.oLines.rows, 1):
            total += self._post_line(receipt, customer, line, n)
        keys = {"ARDivisionNo": receipt["ARDivisionNo"], "CustomerNo": receipt["CustomerNo"]}
        self.db.add("AR_Customer", keys, "CurrentBalance", -total, user_key=self.user_key)
        self.db.update("AR_Customer", keys, {"DateLastPayment": receipt["DepositDate"],
                                             "LastPaymentAmt": money(receipt["PostingAmt"]),
                                             "DateLastActivity": receipt["DepositDate"]}, user_key=self.user_key)

    def _post_line(self, receipt: Record, customer: Record | None, line: Record, n: int) -> Decimal:
        invoice_key = {"ARDivisionNo": receipt["ARDivisionNo"], "CustomerNo": receipt["CustomerNo"],
                       "InvoiceNo": line["InvoiceNo"], "InvoiceType": line.get("InvoiceType") or "IN"}
        invoice = self.db.get("AR_OpenInvoice", **invoice_key) or {}
        applied = money(line["AmountPosted"]) + money(line.get("DiscountAmt"))
        balance = money(invoice.get("Balance")) - applied
        payment = self.db.get("AR_PaymentType", PaymentType=receipt.get("PaymentType") or "") or {}
        self.db.insert("AR_CashReceiptsHistory", {
            "BankCode": receipt["BankCode"], "DepositDate": receipt["DepositDate"], "DepositNo": receipt["DepositNo"],
            "DepositType": receipt["DepositType"], "ARDivisionNo": receipt["ARDivisionNo"],
            "CustomerNo": receipt["CustomerNo"], "CheckNo": receipt["CheckNo"], "SequenceNo": seq(n),
            "CreditCardEntryNo": seq(0), "PostingDate": self.session.module_date("A/R").isoformat(),
            "CustomerName": (customer or {}).get("CustomerName"), "TransactionType": "PY",
            "InvoiceNo": line["InvoiceNo"], "InvoiceType": invoice_key["InvoiceType"],
            "AccountKey": payment.get("AssetAcctKey"), "DepositDesc": receipt.get("DepositDesc"),
            "BatchNo": self.batch or None, "Comment": receipt.get("Comment"),
            "CashAmountApplied": money(line["AmountPosted"]), "DiscountAmountApplied": money(line.get("DiscountAmt")),
            "InvoiceBalance": balance, "PaymentType": receipt.get("PaymentType"),
        }, user_key=self.user_key)
        self.db.update("AR_OpenInvoice", invoice_key, {"Balance": balance}, user_key=self.user_key)
        return applied


