"""GeneralJournalService (create, read), CustPaymJournalService and PurchaseInvoiceService (create) over
LEDGERJOURNALTABLE/TRANS.

A journal is a LedgerJournalTable header with LedgerJournalTrans lines whose accounts are
AxdType_MultiTypeAccount (reference §3.5, §3.7, §4.1): a ledger account with its dimension values, or a
customer / vendor / bank account. The journal name decides the journal type (GenJrn = Daily, CustPay =
CustPayment, APInvoice = PurchaseLedger, the vendor invoice journal) and the voucher series. Lines without a
voucher get vouchers the way a journal name set to "In connection with balance" assigns them: one voucher until
the lines balance, then the next. Every voucher must balance or the create faults (AX checks this at posting; the
sandbox at create, see the docs). Customer payment lines may name an open invoice in ``MarkedInvoice``; posting
settles it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from integrations.dynamics_ax import wsdl as axwsdl

from ..aif import NO_VALID_DOCUMENT, AifError, CallContext, OperationResult, business_error
from ..enums import LEDGER_JOURNAL_AC_TYPE, LEDGER_JOURNAL_TYPE, LEDGER_TRANS_TYPE, NO_YES, SETTLEMENT_TYPE
from ..ledger import Account, Ledger
from ..posting import Poster
from ..seed import exchange_rate, money
from ..store import EMPTY_DATE
from ..xmlkit import Builder, children, document_hash, fields, key_list_from, q
from .base import Handler, PortOptions, Service

ZERO = Decimal(0)


@dataclass
class LinePlan:
    number: int
    values: dict[str, str]
    account: Account | None
    offset: Account | None
    debit: Decimal
    credit: Decimal
    currency: str
    trans_date: str
    default_dimension: list = field(default_factory=list)
    offset_dimension: list = field(default_factory=list)
    voucher: str = ""

    def net_mst(self, rate: Decimal) -> Decimal:
        """What the line adds to its voucher's balance in accounting currency (zero when it has an offset)."""
        if self.offset is not None:
            return ZERO
        return money((self.debit - self.credit) * rate)


class JournalService(Service):
    """One journal document service; ``journal_type`` is the LedgerJournalType its journal names must have."""

    def __init__(self, store: Any, options: PortOptions, *, service: str, root: str, journal_type: str,
                 operations: tuple[str, ...]) -> None:
        super().__init__(store, options)
        self.service = service
        self.document_root = root
        self.journal_type = journal_type
        self.operations = operations
        self.ns = axwsdl.document_ns(root)

    def handlers(self) -> dict[tuple[str, str], Handler]:
        methods = {"create": self.create, "read": self.read}
        return {(self.service, op): methods[op] for op in self.operations}

    # -- create ----------------------------------------------------------------------------------------------
    def create(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        document = self.document(wrapper)
        tables = children(document, self.ns, "LedgerJournalTable")
        if not tables:
            raise business_error(["The document does not contain a journal."])
        ledger = self.ledger(ctx)
        keys = []
        for table in tables:
            header, lines = self._plan(ctx, ledger, table)
            journal_num = self._insert(ctx, ledger, header, lines)
            if self.options.auto_post:
                Poster(self.store, ctx.dataareaid).post_journal(journal_num)
            keys.append({"JournalNum": journal_num})
        return OperationResult(keys=keys)

    def _plan(self, ctx: CallContext, ledger: Ledger, table: etree._Element) -> tuple[dict[str, Any], list[LinePlan]]:
        values = fields(table, self.ns)
        errors: list[str] = []
        name = self._journal_name(ctx, values, errors)
        company = self.store.company(ctx.dataareaid) or {}
        currency = values.get("CurrencyCode") or company.get("ACCOUNTINGCURRENCY") or "USD"
        if self.store.currency(currency) is None:
            errors.append(f"The value '{currency}' in field 'Currency' is not found in the relating table 'Currency'.")
        header = {"name": name, "values": values, "currency": currency,
                  "dimension": ledger.default_dimension(table.find(q(self.ns, "DefaultDimension")), errors)}
        nodes = children(table, self.ns, "LedgerJournalTrans")
        if not nodes:
            errors.append("The journal must contain at least one line.")
        lines = [self._plan_line(ctx, ledger, number, node, errors) for number, node in enumerate(nodes, start=1)]
        if not errors and name is not None:
            self._assign_vouchers(ctx, name, lines, errors)
        if errors:
            raise business_error(errors)
        return header, lines

    def _journal_name(self, ctx: CallContext, values: dict[str, str], errors: list[str]) -> dict[str, Any] | None:
        journal_name = values.get("JournalName", "")
        if not journal_name:
            errors.append("Field 'Name' must be filled in.")
            return None
        row = self.store.one("SELECT * FROM LEDGERJOURNALNAME WHERE DATAAREAID = ? AND JOURNALNAME = ?",
                             (ctx.dataareaid, journal_name))
        if row is None:
            errors.append(f"The value '{journal_name}' in field 'Name' is not found in the relating table "
                          "'Journal names'.")
            return None
        if row["JOURNALTYPE"] != LEDGER_JOURNAL_TYPE[self.journal_type]:
            errors.append(f"Journal name {journal_name} is of journal type "
                          f"{LEDGER_JOURNAL_TYPE.label(row['JOURNALTYPE'])}; {self.service} needs a journal name of "
                          f"type {self.journal_type}.")
        given_type = values.get("JournalType")
        if given_type and given_type != self.journal_type:
            errors.append(f"The journal type {given_type} does not match the journal name {journal_name} "
                          f"({self.journal_type}).")
        return row

    def _plan_line(self, ctx: CallContext, ledger: Ledger, number: int, node: etree._Element, errors: list[str]
                   ) -> LinePlan:
        values = fields(node, self.ns)
        account_type = values.get("AccountType") or "Ledger"
        account = ledger.journal_account(node.find(q(self.ns, "LedgerDimension")), account_type, errors)
        offset = None
        offset_node = node.find(q(self.ns, "OffsetLedgerDimension"))
        if offset_node is not None:
            offset = ledger.journal_account(offset_node, values.get("OffsetAccountType") or "Ledger", errors,
                                            label="Offset account")
        debit, credit = _amount(values.get("AmountCurDebit"), errors), _amount(values.get("AmountCurCredit"), errors)
        if debit and credit:
            errors.append(f"Line {number}: a line has either a debit or a credit amount, not both.")
        elif not debit and not credit:
            errors.append(f"Line {number}: field 'Debit' or 'Credit' must be filled in.")
        currency = values.get("CurrencyCode", "")
        if self.store.currency(currency) is None:
            errors.append(f"The value '{currency}' in field 'Currency' is not found in the relating table 'Currency'.")
        line = LinePlan(
            number=number, values=values, account=account, offset=offset, debit=debit, credit=credit,
            currency=currency, trans_date=values.get("TransDate") or self.options.today().isoformat(),
            default_dimension=ledger.default_dimension(node.find(q(self.ns, "DefaultDimension")), errors),
            offset_dimension=ledger.default_dimension(node.find(q(self.ns, "OffsetDefaultDimension")), errors),
        )
        if values.get("MarkedInvoice"):
            self._check_marked_invoice(ctx, line, errors)
        return line

    def _check_marked_invoice(self, ctx: CallContext, line: LinePlan, errors: list[str]) -> None:
        invoice_id = line.values["MarkedInvoice"]
        account = line.account
        if account is None or account.account_type != "Cust":
            errors.append(f"Line {line.number}: only a line on a customer account can settle invoice {invoice_id}.")
            return
        invoice = Poster(self.store, ctx.dataareaid).open_invoice(account.account, invoice_id)
        if invoice is None:
            errors.append(f"Invoice {invoice_id} is not an open transaction of customer {account.account}.")
        elif invoice["CURRENCYCODE"] != line.currency:
            errors.append(f"Invoice {invoice_id} is in {invoice['CURRENCYCODE']}; the payment in {line.currency} "
                          "cannot settle it.")

    def _assign_vouchers(self, ctx: CallContext, name: dict[str, Any], lines: list[LinePlan],
                         errors: list[str]) -> None:
        """Vouchers "in connection with balance", then the balance check per voucher."""
        accounting = (self.store.company(ctx.dataareaid) or {}).get("ACCOUNTINGCURRENCY") or "USD"
        sequence = self.store.scalar("SELECT NUMBERSEQUENCE FROM NUMBERSEQUENCETABLE WHERE RECID = ?",
                                     (name["NUMBERSEQUENCETABLE"],))
        current, balance = "", ZERO
        for line in lines:
            if line.values.get("Voucher"):
                line.voucher = line.values["Voucher"]
                continue
            if not current or balance == 0:
                current, balance = self.store.next_number(ctx.dataareaid, sequence), ZERO
            line.voucher = current
            balance += line.net_mst(exchange_rate(line.currency, accounting))
        totals: dict[str, Decimal] = {}
        dates: dict[str, str] = {}
        # Per voucher and transaction currency: a voucher that balances in each of its currencies is accepted
        # even when the rounded accounting-currency amounts are a penny apart (AX posts that difference to the
        # "penny difference" account of the ledger's automatic transactions).
        in_currency: dict[str, dict[str, Decimal]] = {}
        for line in lines:
            totals[line.voucher] = totals.get(line.voucher, ZERO) + line.net_mst(exchange_rate(line.currency,
                                                                                                accounting))
            dates.setdefault(line.voucher, line.trans_date)
            if line.offset is None:
                by_currency = in_currency.setdefault(line.voucher, {})
                by_currency[line.currency] = by_currency.get(line.currency, ZERO) + line.debit - line.credit
        for voucher, total in totals.items():
            if total != 0 and any(in_currency.get(voucher, {}).values()):
                when = date.fromisoformat(dates[voucher])
                errors.append(f"The transactions on voucher {voucher} do not balance as per {when.month}/{when.day}/"
                              f"{when.year}. (accounting currency: {total:.2f})")

    def _insert(self, ctx: CallContext, ledger: Ledger, header: dict[str, Any], lines: list[LinePlan]) -> str:
        store = self.store
        accounting = (store.company(ctx.dataareaid) or {}).get("ACCOUNTINGCURRENCY") or "USD"
        journal_num = store.next_number(ctx.dataareaid, "LedgerJournal")
        values = header["values"]
        debit = sum((money(line.debit * exchange_rate(line.currency, accounting)) for line in lines), ZERO)
        credit = sum((money(line.credit * exchange_rate(line.currency, accounting)) for line in lines), ZERO)
        store.insert("LEDGERJOURNALTABLE", {
            "DATAAREAID": ctx.dataareaid, "JOURNALNUM": journal_num, "JOURNALNAME": header["name"]["JOURNALNAME"],
            "NAME": values.get("Name") or header["name"]["NAME"], "JOURNALTYPE": LEDGER_JOURNAL_TYPE[self.journal_type],
            "POSTED": 0, "CURRENCYCODE": header["currency"], "DOCUMENTNUM": values.get("DocumentNum", ""),
            "DEFAULTDIMENSION": ledger.value_set(header["dimension"]), "JOURNALTOTALDEBIT": float(debit),
            "JOURNALTOTALCREDIT": float(credit), "NUMOFLINES": len(lines),
        })
        for line in lines:
            store.insert("LEDGERJOURNALTRANS", self._line_row(ctx, ledger, journal_num, line, accounting))
        return journal_num

    def _line_row(self, ctx: CallContext, ledger: Ledger, journal_num: str, line: LinePlan, accounting: str
                  ) -> dict[str, Any]:
        values = line.values
        offset = line.offset
        return {
            "DATAAREAID": ctx.dataareaid, "JOURNALNUM": journal_num, "LINENUM": line.number,
            "ACCOUNTTYPE": LEDGER_JOURNAL_AC_TYPE[line.account.account_type],
            "LEDGERDIMENSION": ledger.combination(line.account),
            "OFFSETACCOUNTTYPE": LEDGER_JOURNAL_AC_TYPE[offset.account_type] if offset else 0,
            "OFFSETLEDGERDIMENSION": ledger.combination(offset) if offset else 0,
            "AMOUNTCURDEBIT": float(line.debit), "AMOUNTCURCREDIT": float(line.credit),
            "CURRENCYCODE": line.currency, "EXCHRATE": float(exchange_rate(line.currency, accounting) * 100),
            "TRANSDATE": line.trans_date, "TXT": values.get("Txt", ""), "VOUCHER": line.voucher,
            "COMPANY": values.get("Company", ctx.company), "OFFSETCOMPANY": values.get("OffsetCompany", ""),
            "DEFAULTDIMENSION": ledger.value_set(line.default_dimension),
            "OFFSETDEFAULTDIMENSION": ledger.value_set(line.offset_dimension),
            "MARKEDINVOICE": values.get("MarkedInvoice", ""), "INVOICE": values.get("Invoice", ""),
            "DOCUMENTNUM": values.get("DocumentNum", ""), "DOCUMENTDATE": values.get("DocumentDate") or EMPTY_DATE,
            "DUE": values.get("Due") or EMPTY_DATE, "PAYMMODE": values.get("PaymMode", ""),
            "PAYMREFERENCE": values.get("PaymReference", ""),
            "SETTLEVOUCHER": SETTLEMENT_TYPE.value(values.get("SettleVoucher") or (
                "SelectedTransact" if values.get("MarkedInvoice") else "None")),
            "TRANSACTIONTYPE": LEDGER_TRANS_TYPE.value(values.get("TransactionType")),
            "TAXGROUP": values.get("TaxGroup", ""), "TAXITEMGROUP": values.get("TaxItemGroup", ""),
        }

    # -- read ------------------------------------------------------------------------------------------------
    def read(self, ctx: CallContext, wrapper: etree._Element) -> OperationResult:
        builder = Builder(self.document_root)
        builder.add(builder.root, "DocPurpose", "Original")
        builder.add(builder.root, "SenderId", ctx.company)
        ledger = self.ledger(ctx)
        for key in key_list_from(wrapper):
            journal = self.store.one("SELECT * FROM LEDGERJOURNALTABLE WHERE DATAAREAID = ? AND JOURNALNUM = ?",
                                     (ctx.dataareaid, key.get("JournalNum", "")))
            if journal is None:
                raise AifError([NO_VALID_DOCUMENT])
            self._journal_entity(builder, ledger, journal)
        return OperationResult(document=builder.root)

    def _journal_entity(self, builder: Builder, ledger: Ledger, journal: dict[str, Any]) -> None:
        lines = self.store.query("SELECT * FROM LEDGERJOURNALTRANS WHERE DATAAREAID = ? AND JOURNALNUM = ? ORDER BY "
                                 "LINENUM", (journal["DATAAREAID"], journal["JOURNALNUM"]))
        entity = builder.entity(builder.root, "LedgerJournalTable")
        records = [(journal["RECID"], journal["RECVERSION"]), *[(line["RECID"], line["RECVERSION"]) for line in lines]]
        dimension = self.store.value_set_values(journal["DEFAULTDIMENSION"])
        builder.ordered(entity, "AxdEntity_LedgerJournalTable", {
            "_DocumentHash": document_hash(records), "RecId": journal["RECID"], "RecVersion": journal["RECVERSION"],
            "JournalNum": journal["JOURNALNUM"], "Name": journal["NAME"],
            "JournalType": LEDGER_JOURNAL_TYPE.label(journal["JOURNALTYPE"]), "JournalName": journal["JOURNALNAME"],
            "Posted": NO_YES.label(journal["POSTED"]), "CurrencyCode": journal["CURRENCYCODE"],
            "DocumentNum": journal["DOCUMENTNUM"], "JournalTotalCredit": journal["JOURNALTOTALCREDIT"],
            "JournalTotalDebit": journal["JOURNALTOTALDEBIT"], "NumOfLines": journal["NUMOFLINES"],
            "DefaultDimension": lambda parent: builder.dimension_values(parent, "DefaultDimension", dimension),
        }, keep=("JournalType", "JournalName", "Posted", "RecVersion"))
        for line in lines:
            self._line_entity(builder, ledger, entity, line)

    def _line_entity(self, builder: Builder, ledger: Ledger, parent: etree._Element, line: dict[str, Any]) -> None:
        element = builder.entity(parent, "LedgerJournalTrans")
        main = ledger.describe(line["LEDGERDIMENSION"], line["ACCOUNTTYPE"])
        offset = ledger.describe(line["OFFSETLEDGERDIMENSION"], line["OFFSETACCOUNTTYPE"]) if line[
            "OFFSETLEDGERDIMENSION"] else None

        def account(name: str, described: tuple[str, str, list] | None) -> Any:
            if described is None:
                return lambda parent: None
            return lambda parent: builder.account(parent, name, *described)

        builder.ordered(element, "AxdEntity_LedgerJournalTrans", {
            "RecId": line["RECID"], "RecVersion": line["RECVERSION"], "JournalNum": line["JOURNALNUM"],
            "LineNum": line["LINENUM"], "AccountType": LEDGER_JOURNAL_AC_TYPE.label(line["ACCOUNTTYPE"]),
            "Company": line["COMPANY"], "Txt": line["TXT"], "AmountCurDebit": line["AMOUNTCURDEBIT"],
            "CurrencyCode": line["CURRENCYCODE"], "ExchRate": line["EXCHRATE"], "TaxGroup": line["TAXGROUP"],
            "SettleVoucher": SETTLEMENT_TYPE.label(line["SETTLEVOUCHER"]), "Voucher": line["VOUCHER"],
            "AmountCurCredit": line["AMOUNTCURCREDIT"], "PaymReference": line["PAYMREFERENCE"],
            "PaymMode": line["PAYMMODE"], "MarkedInvoice": line["MARKEDINVOICE"],
            "OffsetAccountType": LEDGER_JOURNAL_AC_TYPE.label(line["OFFSETACCOUNTTYPE"]),
            "OffsetCompany": line["OFFSETCOMPANY"], "TransDate": line["TRANSDATE"],
            "TransactionType": LEDGER_TRANS_TYPE.label(line["TRANSACTIONTYPE"]) if line["TRANSACTIONTYPE"] else None,
            "DocumentDate": _date(line["DOCUMENTDATE"]), "DocumentNum": line["DOCUMENTNUM"], "Due": _date(line["DUE"]),
            "Invoice": line["INVOICE"], "TaxItemGroup": line["TAXITEMGROUP"],
            "DefaultDimension": lambda parent: builder.dimension_values(
                parent, "DefaultDimension", self.store.value_set_values(line["DEFAULTDIMENSION"])),
            "OffsetDefaultDimension": lambda parent: builder.dimension_values(
                parent, "OffsetDefaultDimension", self.store.value_set_values(line["OFFSETDEFAULTDIMENSION"])),
            "LedgerDimension": account("LedgerDimension", main),
            "OffsetLedgerDimension": account("OffsetLedgerDimension", offset),
        }, keep=("AccountType", "OffsetAccountType", "CurrencyCode", "SettleVoucher", "RecVersion", "LineNum"))


def _amount(text: str | None, errors: list[str]) -> Decimal:
    if not text:
        return ZERO
    try:
        return Decimal(text)
    except InvalidOperation:
        errors.append(f"The value '{text}' is not a valid amount.")
        return ZERO


def _date(text: str | None) -> str | None:
    return None if not text or text == EMPTY_DATE else text
