"""A/P invoice and G/L journal-entry objects: they post at once (see common.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from .base import BoiError, EmulatedLines, EmulatedObject, Record, blank, code, division, money, number
from .checks import Checks
from .common import ZERO, seq

# -- A/P invoice -------------------------------------------------------------------------------------------------


class ApInvoiceLines(EmulatedLines):
    FIELDS = "AP_InvoiceHistoryDetail"
    HIDDEN = ("APDivisionNo", "VendorNo", "InvoiceNo", "HeaderSeqNo", "DetailSeqNo")
    FORMATS = {"ItemCode": code(30)}


class ApInvoiceObject(EmulatedObject):
    NAME = "AP_Invoice_bus"
    LABEL = "A/P invoice"
    TASK = "AP_Invoice_ui"
    FIELDS = "AP_InvoiceHeader"
    KEY = {"APDivisionNo": division, "VendorNo": code(7), "InvoiceNo": code(10)}
    REQUIRED = ("InvoiceDate", "TermsCode")
    LINES = ApInvoiceLines

    def check_key(self, keys: Record) -> None:
        Checks(self.db).division(keys["APDivisionNo"])
        Checks(self.db).vendor(keys["APDivisionNo"], keys["VendorNo"])
        for table in ("AP_OpenInvoice", "AP_InvoiceHistoryHeader"):
            if self.db.exists(table, **keys):
                raise BoiError(f"Invoice number {keys['InvoiceNo']} already exists for vendor "
                               f"{keys['APDivisionNo']}-{keys['VendorNo']}.")

    def load(self, keys: Record) -> Record | None:
        return None

    def defaults(self, keys: Record) -> Record:
        vendor = self.db.get("AP_Vendor", APDivisionNo=keys["APDivisionNo"], VendorNo=keys["VendorNo"]) or {}
        return {"TermsCode": vendor.get("TermsCode"), "HoldPayment": vendor.get("HoldPayment") or "N",
                "InvoiceAmt": ZERO, "DiscountAmt": ZERO, "FreightAmt": ZERO}

    def on_set(self, name: str, value: Any) -> str | None:
        if name == "TermsCode" and not blank(value):
            Checks(self.db).terms_code("AP_TermsCode", value)
        return None

    def line_defaults(self) -> Record:
        vendor = self.db.get("AP_Vendor", APDivisionNo=self.record["APDivisionNo"], VendorNo=self.record["VendorNo"])
        return {"AccountKey": (vendor or {}).get("AccountKey"), "ExtensionAmt": ZERO}

    def on_line_set(self, line: Record, name: str, value: Any) -> str | None:
        if name == "AccountKey" and not blank(value):
            Checks(self.db).gl_account(value)
        elif name == "ItemCode" and not blank(value):
            Checks(self.db).item(value)
        return None

    def validate_line(self, line: Record) -> str | None:
        if blank(line.get("AccountKey")):
            raise BoiError("AccountKey is required.")
        Checks(self.db).gl_account(line["AccountKey"])
        if not line.get("ExtensionAmt"):
            raise BoiError("ExtensionAmt is required.")
        return None

    def validate(self) -> str | None:
        if not self.oLines.rows:
            raise BoiError("The invoice has no distribution lines.")
        distributed = money(sum((line["ExtensionAmt"] for line in self.oLines.rows), ZERO))
        total = distributed + money(self.record.get("FreightAmt"))
        stated = money(self.record.get("InvoiceAmt"))
        if stated and stated != total:
            raise BoiError(f"The invoice amount ({stated}) does not equal the distribution total ({total}).")
        self.record["InvoiceAmt"] = total
        return None

    def save(self, *, is_new: bool) -> None:
        header = self.record
        terms = self.db.get("AP_TermsCode", TermsCode=header["TermsCode"]) or {}
        if blank(header.get("InvoiceDueDate")):
            days = int(terms.get("DaysBeforeDue") or 0)
            header["InvoiceDueDate"] = (date.fromisoformat(header["InvoiceDate"]) + timedelta(days=days)).isoformat()
        keys = {name: header[name] for name in self.KEY}
        self.db.insert("AP_InvoiceHistoryHeader", {**header, "HeaderSeqNo": seq(0)}, user_key=self.user_key)
        for n, line in enumerate(self.oLines.rows, 1):
            self.db.insert("AP_InvoiceHistoryDetail", {**line, **keys, "HeaderSeqNo": seq(0), "DetailSeqNo": seq(n)},
                           user_key=self.user_key)
        self.db.insert("AP_OpenInvoice", {**header, "Balance": header["InvoiceAmt"]}, user_key=self.user_key)
        vendor_key = {"APDivisionNo": keys["APDivisionNo"], "VendorNo": keys["VendorNo"]}
        self.db.update("AP_Vendor", vendor_key, {"DateLastActivity": header["InvoiceDate"]}, user_key=self.user_key)


# -- G/L journal entry -------------------------------------------------------------------------------------------


class JournalLines(EmulatedLines):
    FIELDS = "GL_GeneralJournalDetail"
    REQUIRED = ("AccountKey",)


class JournalObject(EmulatedObject):
    NAME = "GL_GeneralJournal_bus"
    LABEL = "G/L journal entry"
    TASK = "GL_GeneralJournal_ui"
    FIELDS = "GL_GeneralJournalHeader"
    KEY = {"SourceJournal": code(2), "EntryNo": number(6)}
    REQUIRED = ("PostingDate",)
    LINES = JournalLines

    def nGetNextEntryNo(self, _out: Any = "") -> tuple[int, str]:  # noqa: N802 - BOI method name
        return 1, self.db.next_number("gl-entry", "SELECT DISTINCT JournalRegisterNo FROM GL_DetailPosting", 6)

    def load(self, keys: Record) -> Record | None:
        posted = self.db.one("SELECT PostingDate, PostingComment FROM GL_DetailPosting WHERE JournalRegisterNo = ? "
                             "AND SourceJournal = ? LIMIT 1", (keys["EntryNo"], keys["SourceJournal"]))
        if posted is None:
            return None
        return {**keys, "PostingDate": posted["PostingDate"], "JournalComment": posted["PostingComment"]}

    def defaults(self, keys: Record) -> Record:
        return {"PostingDate": self.session.module_date("G/L").isoformat(), "AcceptOutofBalance": "N"}

    def line_defaults(self) -> Record:
        return {"DebitAmount": ZERO, "CreditAmount": ZERO}

    def on_line_set(self, line: Record, name: str, value: Any) -> str | None:
        if name == "AccountKey" and not blank(value):
            Checks(self.db).gl_account(value)
        return None

    def validate_line(self, line: Record) -> str | None:
        Checks(self.db).gl_account(line["AccountKey"])
        debit, credit = money(line.get("DebitAmount")), money(line.get("CreditAmount"))
        if (debit == ZERO) == (credit == ZERO):
            raise BoiError("Enter either a debit or a credit amount on each line.")
        return None

    def check_write(self) -> None:
        if self.state == 1:
            raise BoiError(f"Journal entry {self.record['SourceJournal']}-{self.record['EntryNo']} has been posted "
                           "and cannot be changed.")

    def validate(self) -> str | None:
        if not self.oLines.rows:
            raise BoiError("The journal entry has no lines.")
        difference = sum((money(line["DebitAmount"]) - money(line["CreditAmount"]) for line in self.oLines.rows), ZERO)
        if difference and self.record.get("AcceptOutofBalance") != "Y":
            raise BoiError(f"The journal entry is out of balance by {abs(difference)}.")
        return None

    def check_delete(self) -> None:
        raise BoiError(f"Journal entry {self.record['SourceJournal']}-{self.record['EntryNo']} has been posted and "
                       "cannot be deleted.")

    def save(self, *, is_new: bool) -> None:
        header = self.record
        for n, line in enumerate(self.oLines.rows, 1):
            self.db.insert("GL_DetailPosting", {
                "JournalRegisterNo": header["EntryNo"], "SequenceNo": seq(n), "AccountKey": line["AccountKey"],
                "PostingDate": header["PostingDate"], "SourceJournal": header["SourceJournal"], "SourceModule": "G/L",
                "PostingComment": line.get("PostingComment") or header.get("JournalComment"),
                "DebitAmount": money(line["DebitAmount"]), "CreditAmount": money(line["CreditAmount"]),
            }, user_key=self.user_key)


