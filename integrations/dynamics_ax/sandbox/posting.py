"""Posting free-text invoices and journals, and settling customer payments against invoices.

AIF creates free-text invoices and journals unposted; posting is a user action or a batch job in AX (reference
§3.5–3.7, §8). The sandbox posts them when the port option ``auto_post`` is on (as if a posting batch job ran at
once) or on ``POST /_sandbox/post``. Posting writes what the read side of the connector looks at (§8):

* a free-text invoice -> CUSTINVOICEJOUR + CUSTINVOICETRANS, TAXTRANS per line and tax code (sales tax computed from
  the line's TaxGroup and TaxItemGroup, see ``tax.py``), a CUSTTRANS (TRANSTYPE Cust) at the gross amount and its
  CUSTTRANSOPEN; CUSTINVOICEJOUR.SUMTAX holds the tax, INVOICEAMOUNT the gross, SALESBALANCE the net;
* a journal line on a customer account -> a CUSTTRANS (TRANSTYPE Payment in a customer payment journal); a
  payment line with ``MarkedInvoice`` settles that invoice: CUSTSETTLEMENT rows for both sides,
  CUSTTRANS.SETTLEAMOUNTCUR/MST raised, CUSTTRANSOPEN reduced or removed, CLOSED / LASTSETTLEDATE /
  LASTSETTLEVOUCHER set when fully settled.

Not emulated: tax on journal lines, the general ledger (GENERALJOURNALENTRY), vendor and bank transactions,
cross-currency settlement, cash discounts and penny differences.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .enums import LEDGER_JOURNAL_AC_TYPE, LEDGER_JOURNAL_TYPE, LEDGER_TRANS_TYPE, TAX_DIRECTION
from .seed import exchange_rate, money
from .store import EMPTY_DATE, AxStore, timestamp
from .tax import line_taxes


def _d(value: Any) -> Decimal:
    return money(Decimal(str(value or 0)))


class Poster:
    """Posts documents of one company inside the caller's transaction."""

    def __init__(self, store: AxStore, dataareaid: str) -> None:
        self.store = store
        self.dataareaid = dataareaid
        self.accounting = (store.company(dataareaid) or {}).get("ACCOUNTINGCURRENCY") or "USD"

    def rate(self, currency: str) -> Decimal:
        return exchange_rate(currency, self.accounting)

    # -- free-text invoices ----------------------------------------------------------------------------------
    def post_free_text_invoice(self, header_recid: int) -> str:
        """Post one CUSTINVOICETABLE row; returns the invoice id."""
        store = self.store
        header = store.one("SELECT * FROM CUSTINVOICETABLE WHERE RECID = ?", (header_recid,))
        if header is None or header["POSTED"]:
            return (header or {}).get("INVOICEID", "")
        lines = store.query("SELECT * FROM CUSTINVOICELINE WHERE PARENTRECID = ? ORDER BY LINENUM", (header_recid,))
        invoice_id = store.next_number(self.dataareaid, "FreeTextInvoice")
        voucher = store.next_number(self.dataareaid, "FreeTextVoucher")
        rate = self.rate(header["CURRENCYCODE"])
        net = sum((_d(line["AMOUNTCUR"]) for line in lines), Decimal(0))
        taxes = {line["RECID"]: line_taxes(store, self.dataareaid, line["TAXGROUP"], line["TAXITEMGROUP"],
                                           _d(line["AMOUNTCUR"]), header["INVOICEDATE"]) for line in lines}
        sum_tax = sum((tax.amount for line_tax in taxes.values() for tax in line_tax), Decimal(0))
        total = net + sum_tax  # what the customer owes: AX's invoice amount includes the sales tax
        customer = store.customer(self.dataareaid, header["INVOICEACCOUNT"]) or {}
        jour = store.insert("CUSTINVOICEJOUR", {
            "DATAAREAID": self.dataareaid, "INVOICEID": invoice_id, "INVOICEACCOUNT": header["INVOICEACCOUNT"],
            "ORDERACCOUNT": header["ORDERACCOUNT"], "INVOICINGNAME": header["NAME"] or customer.get("PARTYNAME", ""),
            "INVOICEDATE": header["INVOICEDATE"], "DUEDATE": header["DUEDATE"], "CURRENCYCODE": header["CURRENCYCODE"],
            "INVOICEAMOUNT": float(total), "INVOICEAMOUNTMST": float(money(total * rate)),
            "SALESBALANCE": float(net), "SUMTAX": float(sum_tax), "LEDGERVOUCHER": voucher,
            "PAYMENT": header["PAYMENT"], "DEFAULTDIMENSION": header["DEFAULTDIMENSION"],
        })
        for line in lines:
            amount = _d(line["AMOUNTCUR"])
            for tax in taxes[line["RECID"]]:
                # Sales tax is outgoing tax, posted with a negative sign (a credit to the tax payable account).
                store.insert("TAXTRANS", {
                    "DATAAREAID": self.dataareaid, "VOUCHER": voucher, "TRANSDATE": header["INVOICEDATE"],
                    "INVOICEID": invoice_id, "TAXCODE": tax.tax_code, "TAXGROUP": line["TAXGROUP"],
                    "TAXITEMGROUP": line["TAXITEMGROUP"],
                    "TAXDIRECTION": TAX_DIRECTION["TaxExemptSales" if tax.exempt else "OutgoingTax"],
                    "SOURCECURRENCYCODE": header["CURRENCYCODE"], "SOURCEBASEAMOUNTCUR": float(-tax.base),
                    "SOURCETAXAMOUNTCUR": float(-tax.amount), "TAXBASEAMOUNT": float(-money(tax.base * rate)),
                    "TAXAMOUNT": float(-money(tax.amount * rate)), "TAXVALUE": float(tax.rate),
                    "EXEMPTTAX": int(tax.exempt), "SOURCERECID": line["RECID"],
                })
            store.insert("CUSTINVOICETRANS", {
                "DATAAREAID": self.dataareaid, "PARENTRECID": jour, "INVOICEID": invoice_id,
                "INVOICEDATE": header["INVOICEDATE"], "LINENUM": line["LINENUM"], "NAME": line["DESCRIPTION"],
                "QTY": line["QUANTITY"], "SALESPRICE": line["UNITPRICE"], "LINEAMOUNT": float(amount),
                "LINEAMOUNTMST": float(money(amount * rate)), "CURRENCYCODE": header["CURRENCYCODE"],
                "LEDGERDIMENSION": line["LEDGERDIMENSION"], "DEFAULTDIMENSION": line["DEFAULTDIMENSION"],
                "TAXGROUP": line["TAXGROUP"], "TAXITEMGROUP": line["TAXITEMGROUP"],
            })
        self._customer_transaction(
            account=header["INVOICEACCOUNT"], voucher=voucher, trans_date=header["INVOICEDATE"], amount=total,
            currency=header["CURRENCYCODE"], trans_type="Cust", invoice=invoice_id, due=header["DUEDATE"],
            text=f"Invoice {invoice_id}", document_num=header["DOCUMENTNUM"], dimension=header["DEFAULTDIMENSION"],
            posting_profile=header["POSTINGPROFILE"],
        )
        store.update("CUSTINVOICETABLE", header_recid, {"POSTED": 1, "INVOICEID": invoice_id})
        return invoice_id

    # -- journals --------------------------------------------------------------------------------------------
    def post_journal(self, journal_num: str) -> None:
        store = self.store
        journal = store.one("SELECT * FROM LEDGERJOURNALTABLE WHERE DATAAREAID = ? AND JOURNALNUM = ?",
                            (self.dataareaid, journal_num))
        if journal is None or journal["POSTED"]:
            return
        payment_journal = journal["JOURNALTYPE"] == LEDGER_JOURNAL_TYPE["CustPayment"]
        for line in store.query("SELECT * FROM LEDGERJOURNALTRANS WHERE DATAAREAID = ? AND JOURNALNUM = ? ORDER BY "
                                "LINENUM", (self.dataareaid, journal_num)):
            amount = _d(line["AMOUNTCURDEBIT"]) - _d(line["AMOUNTCURCREDIT"])
            sides = ((line["ACCOUNTTYPE"], line["LEDGERDIMENSION"], amount),
                     (line["OFFSETACCOUNTTYPE"], line["OFFSETLEDGERDIMENSION"], -amount))
            for account_type, dimension, signed in sides:
                if dimension and account_type == LEDGER_JOURNAL_AC_TYPE["Cust"] and signed:
                    self._post_customer_line(line, dimension, signed, payment_journal)
        store.update("LEDGERJOURNALTABLE", journal["RECID"], {"POSTED": 1, "POSTEDDATETIME": timestamp()})

    def _post_customer_line(self, line: dict[str, Any], dimension: int, amount: Decimal,
                            payment_journal: bool) -> None:
        account = (self.store.combination(dimension) or {}).get("DISPLAYVALUE", "")
        trans_type = LEDGER_TRANS_TYPE.label(line["TRANSACTIONTYPE"]) if line["TRANSACTIONTYPE"] else (
            "Payment" if payment_journal and amount < 0 else "Cust")
        recid = self._customer_transaction(
            account=account, voucher=line["VOUCHER"], trans_date=line["TRANSDATE"], amount=amount,
            currency=line["CURRENCYCODE"], trans_type=trans_type, invoice=line["INVOICE"] if amount > 0 else "",
            due=line["DUE"] if line["DUE"] != EMPTY_DATE else line["TRANSDATE"], text=line["TXT"],
            document_num=line["DOCUMENTNUM"], dimension=line["DEFAULTDIMENSION"], paym_mode=line["PAYMMODE"],
            paym_reference=line["PAYMREFERENCE"], open_item=False,
        )
        if amount < 0 and line["MARKEDINVOICE"]:
            invoice = self.open_invoice(account, line["MARKEDINVOICE"])
            if invoice is not None:
                self.settle(recid, invoice["RECID"], line["TRANSDATE"], line["VOUCHER"])
        self._refresh_open(recid)

    # -- customer transactions and settlement ----------------------------------------------------------------
    def _customer_transaction(self, *, account: str, voucher: str, trans_date: str, amount: Decimal, currency: str,
                              trans_type: str, invoice: str = "", due: str = "", text: str = "",
                              document_num: str = "", dimension: int = 0, paym_mode: str = "",
                              paym_reference: str = "", posting_profile: str = "", open_item: bool = True) -> int:
        rate = self.rate(currency)
        recid = self.store.insert("CUSTTRANS", {
            "DATAAREAID": self.dataareaid, "ACCOUNTNUM": account, "VOUCHER": voucher, "TRANSDATE": trans_date,
            "INVOICE": invoice, "DUEDATE": due or trans_date, "TRANSTYPE": LEDGER_TRANS_TYPE[trans_type],
            "AMOUNTCUR": float(amount), "AMOUNTMST": float(money(amount * rate)), "CURRENCYCODE": currency,
            "EXCHRATE": float(rate * 100), "TXT": text[:60], "DOCUMENTNUM": document_num,
            "DEFAULTDIMENSION": dimension, "PAYMMODE": paym_mode, "PAYMREFERENCE": paym_reference,
            "POSTINGPROFILE": posting_profile or "GEN",
        })
        if open_item:
            self._refresh_open(recid)
        return recid

    def open_invoice(self, account: str, invoice_id: str) -> dict[str, Any] | None:
        """The customer's invoice transaction for an invoice id if it still has an open amount."""
        return self.store.one(
            "SELECT * FROM CUSTTRANS WHERE DATAAREAID = ? AND ACCOUNTNUM = ? AND INVOICE = ? AND AMOUNTCUR > 0 AND "
            "SETTLEAMOUNTCUR < AMOUNTCUR ORDER BY RECID LIMIT 1", (self.dataareaid, account, invoice_id))

    def settle(self, payment_recid: int, invoice_recid: int, when: str, voucher: str) -> Decimal:
        """Settle a payment (negative CUSTTRANS) against an invoice (positive); returns the amount settled."""
        store = self.store
        payment = store.one("SELECT * FROM CUSTTRANS WHERE RECID = ?", (payment_recid,))
        invoice = store.one("SELECT * FROM CUSTTRANS WHERE RECID = ?", (invoice_recid,))
        available = -_d(payment["AMOUNTCUR"]) + _d(payment["SETTLEAMOUNTCUR"])
        open_amount = _d(invoice["AMOUNTCUR"]) - _d(invoice["SETTLEAMOUNTCUR"])
        amount = min(available, open_amount)
        if amount <= 0:
            return Decimal(0)
        rate = self.rate(invoice["CURRENCYCODE"])
        amount_mst = money(amount * rate)
        for row, sign, offset in ((invoice, 1, payment), (payment, -1, invoice)):
            settled = _d(row["SETTLEAMOUNTCUR"]) + sign * amount
            settled_mst = _d(row["SETTLEAMOUNTMST"]) + sign * amount_mst
            closed = when if abs(settled) >= abs(_d(row["AMOUNTCUR"])) else EMPTY_DATE
            store.update("CUSTTRANS", row["RECID"], {
                "SETTLEAMOUNTCUR": float(settled), "SETTLEAMOUNTMST": float(settled_mst), "CLOSED": closed,
                "LASTSETTLEDATE": when, "LASTSETTLEVOUCHER": voucher,
            })
            store.insert("CUSTSETTLEMENT", {
                "DATAAREAID": self.dataareaid, "TRANSRECID": row["RECID"], "OFFSETRECID": offset["RECID"],
                "ACCOUNTNUM": row["ACCOUNTNUM"], "TRANSCOMPANY": self.dataareaid, "OFFSETCOMPANY": self.dataareaid,
                "OFFSETACCOUNTNUM": offset["ACCOUNTNUM"], "OFFSETTRANSVOUCHER": offset["VOUCHER"],
                "SETTLEAMOUNTCUR": float(sign * amount), "SETTLEAMOUNTMST": float(sign * amount_mst),
                "TRANSDATE": when, "DUEDATE": row["DUEDATE"],
            })
        self._refresh_open(invoice_recid)
        self._refresh_open(payment_recid)
        return amount

    def _refresh_open(self, recid: int) -> None:
        """CUSTTRANSOPEN holds the unsettled remainder of a CUSTTRANS (none when fully settled)."""
        store = self.store
        trans = store.one("SELECT * FROM CUSTTRANS WHERE RECID = ?", (recid,))
        remaining = _d(trans["AMOUNTCUR"]) - _d(trans["SETTLEAMOUNTCUR"])
        remaining_mst = _d(trans["AMOUNTMST"]) - _d(trans["SETTLEAMOUNTMST"])
        row = store.one("SELECT RECID, AMOUNTCUR FROM CUSTTRANSOPEN WHERE REFRECID = ?", (recid,))
        if remaining == 0:
            if row:
                store.delete("CUSTTRANSOPEN", [row["RECID"]])
        elif row is None:
            store.insert("CUSTTRANSOPEN", {
                "DATAAREAID": self.dataareaid, "REFRECID": recid, "ACCOUNTNUM": trans["ACCOUNTNUM"],
                "AMOUNTCUR": float(remaining), "AMOUNTMST": float(remaining_mst), "TRANSDATE": trans["TRANSDATE"],
                "DUEDATE": trans["DUEDATE"],
            })
        elif _d(row["AMOUNTCUR"]) != remaining:
            store.update("CUSTTRANSOPEN", row["RECID"], {"AMOUNTCUR": float(remaining),
                                                         "AMOUNTMST": float(remaining_mst)})

    # -- batch -----------------------------------------------------------------------------------------------
    def post_pending(self) -> dict[str, int]:
        """Post every unposted free-text invoice and journal of the company (the posting batch job)."""
        invoices = [row["RECID"] for row in self.store.query(
            "SELECT RECID FROM CUSTINVOICETABLE WHERE DATAAREAID = ? AND POSTED = 0 ORDER BY RECID",
            (self.dataareaid,))]
        journals = [row["JOURNALNUM"] for row in self.store.query(
            "SELECT JOURNALNUM FROM LEDGERJOURNALTABLE WHERE DATAAREAID = ? AND POSTED = 0 ORDER BY RECID",
            (self.dataareaid,))]
        for recid in invoices:
            self.post_free_text_invoice(recid)
        for journal_num in journals:
            self.post_journal(journal_num)
        return {"free_text_invoices": len(invoices), "journals": len(journals)}

