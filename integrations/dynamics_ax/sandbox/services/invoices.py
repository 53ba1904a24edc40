"""FreeTextInvoiceService.create (AxdFreeTextInvoice over CUSTINVOICETABLE / CUSTINVOICELINE).

create and findKeys (reference §1.1, §3.6). Lines' TaxGroup (default: the header's, else the customer's) and
TaxItemGroup must exist; the tax itself is computed on posting (``tax.py``). The invoice is stored unposted, as AIF
leaves it; with the port option ``auto_post`` it is posted at once (see ``posting.py``). The entity key returned is
the header RecId (key field inferred).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from integrations.dynamics_ax import wsdl as axwsdl

from ..aif import CallContext, OperationResult, business_error
from ..ledger import Ledger
from ..posting import Poster
from ..query import Column, where
from ..store import EMPTY_DATE
from ..tax import tax_group_exists, tax_item_group_exists
from ..xmlkit import fields, q, query_criteria
from .base import Handler, Service


class FreeTextInvoiceService(Service):
    document_root = "FreeTextInvoice"

    def handlers(self) -> dict[tuple[str, str], Handler]:
        return {("FreeTextInvoiceService", "create"): self.create,
                ("FreeTextInvoiceService", "findKeys"): self.find_keys}

    def find_keys(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        """findKeys on CustInvoiceTable (e.g. by CustomerRef + OrderAccount): the RecIds, oldest first."""
        condition, params = where(query_criteria(wrapper), _QUERY_SOURCES, "FreeTextInvoice")
        rows = self.store.query(
            f"SELECT T.RECID FROM CUSTINVOICETABLE T WHERE T.DATAAREAID = ? AND {condition} ORDER BY T.RECID",  # noqa: S608
            [ctx.dataareaid, *params])
        return OperationResult(keys=[{"RecId": str(row["RECID"])} for row in rows])

    def create(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        ns = axwsdl.document_ns("FreeTextInvoice")
        document = self.document(wrapper)
        headers = document.findall(q(ns, "CustInvoiceTable"))
        if not headers:
            raise business_error(["The document does not contain a free text invoice."])
        ledger = self.ledger(ctx)
        errors: list[str] = []
        plans = [self._plan(ctx, ledger, header, ns, errors) for header in headers]
        if errors:
            raise business_error(errors)
        keys = []
        for plan in plans:
            recid = self._insert(ctx, ledger, plan)
            if self.options.auto_post:
                Poster(self.store, ctx.dataareaid).post_free_text_invoice(recid)
            keys.append({"RecId": str(recid)})
        return OperationResult(keys=keys)

    def _plan(self, ctx: CallContext, ledger: Ledger, header: etree._Element, ns: str, errors: list[str]
              ) -> dict[str, Any]:
        values = fields(header, ns)
        store = self.store
        customer = None
        order_account = values.get("OrderAccount", "")
        if not order_account:
            errors.append("Field 'Customer account' must be filled in.")
        else:
            customer = store.customer(ctx.dataareaid, order_account)
            if customer is None:
                errors.append(f"The value '{order_account}' in field 'Customer account' is not found in the relating "
                              "table 'Customers'.")
        invoice_account = values.get("InvoiceAccount") or (customer or {}).get("INVOICEACCOUNT") or order_account
        if values.get("InvoiceAccount") and store.customer(ctx.dataareaid, values["InvoiceAccount"]) is None:
            errors.append(f"The value '{values['InvoiceAccount']}' in field 'Invoice account' is not found in the "
                          "relating table 'Customers'.")
        currency = values.get("CurrencyCode") or (customer or {}).get("CURRENCY") or ""
        if values.get("CurrencyCode") and store.currency(values["CurrencyCode"]) is None:
            errors.append(f"The value '{values['CurrencyCode']}' in field 'Currency' is not found in the relating "
                          "table 'Currency'.")
        payment = values.get("Payment") or (customer or {}).get("PAYMTERMID") or ""
        if values.get("Payment") and store.payment_term(ctx.dataareaid, values["Payment"]) is None:
            errors.append(f"The value '{values['Payment']}' in field 'Terms of payment' is not found in the relating "
                          "table 'Terms of payment'.")
        invoice_date = values.get("InvoiceDate") or self.options.today().isoformat()
        plan: dict[str, Any] = {
            "DEFAULTDIMENSION": ledger.default_dimension(header.find(q(ns, "DefaultDimension")), errors),
            "lines": [],
            "header": {
                "DATAAREAID": ctx.dataareaid, "ORDERACCOUNT": order_account, "INVOICEACCOUNT": invoice_account,
                "NAME": values.get("Name") or (customer or {}).get("PARTYNAME") or "", "CURRENCYCODE": currency,
                "CUSTOMERREF": values.get("CustomerRef", ""), "DOCUMENTNUM": values.get("DocumentNum", ""),
                "DOCUMENTDATE": values.get("DocumentDate") or EMPTY_DATE, "INVOICEDATE": invoice_date,
                "DUEDATE": values.get("DueDate") or invoice_date, "PAYMENT": payment,
                "PAYMMODE": values.get("PaymMode", ""), "POSTINGPROFILE": values.get("PostingProfile") or "GEN",
                "TAXGROUP": values.get("TaxGroup", ""),
                "LANGUAGEID": values.get("LanguageId") or (customer or {}).get("LANGUAGEID") or ctx.language,
            },
        }
        lines = header.findall(q(ns, "CustInvoiceLine"))
        if not lines:
            errors.append("The free text invoice must contain at least one line.")
        default_tax_group = values.get("TaxGroup") or (customer or {}).get("TAXGROUP") or ""
        for index, line in enumerate(lines, start=1):
            planned = self._plan_line(ledger, line, ns, index, errors)
            planned["TAXGROUP"] = planned["TAXGROUP"] or default_tax_group  # line defaults from header/customer
            self._check_tax(ctx, planned, errors)
            plan["lines"].append(planned)
        return plan

    def _check_tax(self, ctx: CallContext, line: dict[str, Any], errors: list[str]) -> None:
        if line["TAXGROUP"] and not tax_group_exists(self.store, ctx.dataareaid, line["TAXGROUP"]):
            errors.append(f"The value '{line['TAXGROUP']}' in field 'Sales tax group' is not found in the relating "
                          "table 'Sales tax groups'.")
        if line["TAXITEMGROUP"] and not tax_item_group_exists(self.store, ctx.dataareaid, line["TAXITEMGROUP"]):
            errors.append(f"The value '{line['TAXITEMGROUP']}' in field 'Item sales tax group' is not found in the "
                          "relating table 'Item sales tax groups'.")

    @staticmethod
    def _plan_line(ledger: Ledger, line: etree._Element, ns: str, index: int, errors: list[str]) -> dict[str, Any]:
        values = fields(line, ns)
        quantity = _decimal(values.get("Quantity"))
        unit_price = _decimal(values.get("UnitPrice"))
        amount = _decimal(values.get("AmountCur"))
        if amount is None:
            amount = (quantity or Decimal(0)) * (unit_price or Decimal(0))
        return {
            "LINENUM": str(_decimal(values.get("LineNum")) or index),
            "DESCRIPTION": values.get("Description", ""),
            "QUANTITY": str(quantity or 0),
            "UNITPRICE": str(unit_price or 0),
            "AMOUNTCUR": str(amount),
            "TAXGROUP": values.get("TaxGroup", ""),
            "TAXITEMGROUP": values.get("TaxItemGroup", ""),
            "DEFAULTDIMENSION": ledger.default_dimension(line.find(q(ns, "DefaultDimension")), errors),
            "ledger": ledger.ledger_account(line.find(q(ns, "LedgerDimension")), errors),
        }

    def _insert(self, ctx: CallContext, ledger: Ledger, plan: dict[str, Any]) -> int:
        store = self.store
        total = sum((Decimal(line["AMOUNTCUR"]) for line in plan["lines"]), Decimal(0))
        header_recid = store.insert("CUSTINVOICETABLE", {
            **plan["header"], "DEFAULTDIMENSION": ledger.value_set(plan["DEFAULTDIMENSION"]),
            "INVOICEAMOUNT": str(total), "POSTED": 0,
        })
        for line in plan["lines"]:
            account = line.pop("ledger")
            default_dimension = ledger.value_set(line.pop("DEFAULTDIMENSION"))
            store.insert("CUSTINVOICELINE", {
                **line, "DATAAREAID": ctx.dataareaid, "PARENTRECID": header_recid,
                "DEFAULTDIMENSION": default_dimension, "LEDGERDIMENSION": ledger.combination(account),
            })
        return header_recid


_QUERY_SOURCES = {"CustInvoiceTable": {
    "CustomerRef": Column("T.CUSTOMERREF"), "OrderAccount": Column("T.ORDERACCOUNT"),
    "InvoiceAccount": Column("T.INVOICEACCOUNT"), "InvoiceId": Column("T.INVOICEID"),
    "CurrencyCode": Column("T.CURRENCYCODE"), "RecId": Column("T.RECID", "int"),
}}


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
