"""Reconcilers: for one flow and period, read both systems and say record by record where they disagree.

Pluggable per flow key (:data:`REGISTRY`): a reconciler knows how to list the flow's source records in scope,
how to read what the flow created in the target, and how to match the two. The ones here cover the flows that
carry Kashflow sales invoices to an ERP:

* **Kashflow** is read over REST, the invoice *list* only (it carries net, VAT, gross, TotalPaidAmount and the
  status, so no invoice is fetched one by one), filtered by issue date and by the flow's scope (``paid_only``).
* **The ERP** is read over ODBC, read-only: AX free-text invoices (CUSTINVOICETABLE with its CUSTINVOICEJOUR,
  settlement from CUSTTRANS) with :class:`~integrations.dynamics_ax.sql.AxSqlReader`; Sage 100 A/R invoice
  history (AR_InvoiceHistoryHeader) and open items (AR_OpenInvoice) with
  :class:`~integrations.sage100.odbc.SageOdbcReader`.
* **Matching** goes by the bindings the flow recorded (source id -> target id) first, then by the natural key the
  flow writes (AX CustomerRef = the Kashflow number, Sage Comment "Kashflow invoice N"), so an invoice whose
  binding was lost still matches.

Reasons: *missing in the ERP* (in scope in Kashflow, nothing in the ERP), *missing in Kashflow* (the ERP holds an
invoice the flow created whose Kashflow invoice no longer exists), *different amount*, *different status / paid
state* (not posted in AX; settled in the ERP while Kashflow says unpaid; and, when the pair also carries
payments, paid in Kashflow while still open in the ERP), and per customer *different balance* (only when
payments are carried: without a payments flow nothing settles the ERP's copies, and open items there are
expected).

Payments (flows ``kashflow_payments_to_ax`` / ``kashflow_payments_to_sage``) plug in the same way: a subclass of
:class:`Reconciler` registered under the payments flow's key (see docs/reconciliation.md).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.module_loading import import_string

from integrations.core.errors import ConfigurationError
from integrations.sync.models import Binding, Flow

log = logging.getLogger("ledgerbridge.reconciliation")

CENT = Decimal("0.01")
TOLERANCE = Decimal("0.01")  # rounding: one cent either way is the same amount
STATE_ORDER = {"unpaid": 0, "part_paid": 1, "paid": 2}
STATE_LABEL = {"unpaid": "unpaid", "part_paid": "part paid", "paid": "paid", "not_posted": "not posted"}
SAGE_COMMENT = re.compile(r"^Kashflow invoice (\S+)$")

# flow key -> the flow that carries its invoices' payments (their paid state) to the same ERP.
PAYMENT_FLOWS = {"kashflow_invoices_to_ax": "kashflow_payments_to_ax",
                 "kashflow_invoices_to_sage": "kashflow_payments_to_sage"}

# flow key -> dotted path of its Reconciler. Payments flows register here when they exist.
REGISTRY: dict[str, str] = {
    "kashflow_invoices_to_ax": "reconciliation.reconcilers.AxInvoiceReconciler",
    "kashflow_invoices_to_sage": "reconciliation.reconcilers.SageInvoiceReconciler",
    "kashflow_payments_to_ax": "reconciliation.payments.AxPaymentReconciler",
    "kashflow_payments_to_sage": "reconciliation.payments.SagePaymentReconciler",
}


def register(flow_key: str, spec: str) -> None:
    """Plug a reconciler in for a flow key (e.g. from the module of a payments flow)."""
    REGISTRY[flow_key] = spec


def supported(flow_key: str) -> bool:
    return flow_key in REGISTRY


def reconciler_for(flow: Flow) -> Reconciler:
    spec = REGISTRY.get(flow.key)
    if spec is None:
        raise ConfigurationError(f"There is no reconciliation for the flow {flow.key}.", system="Ledgerbridge")
    return import_string(spec)(flow)


# ---------------------------------------------------------------------------------------------- results


@dataclass
class Found:
    """A mismatch as a reconciler reports it (stored as a Mismatch row)."""

    kind: str
    reason: str
    source_id: str = ""
    target_id: str = ""
    customer: str = ""
    kashflow_value: str = ""
    erp_value: str = ""
    detail: str = ""
    resyncable: bool = False


@dataclass
class Result:
    summary: dict[str, Any] = field(default_factory=dict)
    mismatches: list[Found] = field(default_factory=list)


@dataclass
class KashflowInvoice:
    number: str
    customer: str
    issue_date: date
    currency: str
    net: Decimal
    tax: Decimal
    gross: Decimal
    paid: Decimal

    @property
    def state(self) -> str:
        return paid_state(self.gross, self.paid)

    @property
    def open(self) -> Decimal:
        return max(self.gross - self.paid, Decimal(0))


@dataclass
class ErpInvoice:
    target_id: str
    number: str  # the Kashflow number by natural key ("" when the ERP record does not carry one)
    customer: str
    invoice_date: date | None
    currency: str
    amount: Decimal  # as the ERP carries it (AX: incl. the tax AX computed; Sage: the invoice total)
    tax: Decimal
    open: Decimal
    state: str  # unpaid | part_paid | paid | not_posted


class Reconciler:
    """Compare one flow's records in one period. Subclasses read the ERP; the Kashflow side is shared."""

    erp_name = "ERP"

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.options = flow.options or {}

    def reconcile(self, start: date, end: date) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError


class InvoiceReconciler(Reconciler):
    """Kashflow sales invoices against the ERP invoices a ``kashflow_invoices_to_*`` flow created."""

    # ------------------------------------------------------------------ to implement per ERP

    def erp_invoices(self, start: date, end: date, bound: Iterable[str]) -> list[ErpInvoice]:
        """ERP invoices with these target ids, and those of the period that carry a Kashflow natural key."""
        raise NotImplementedError

    def expected_amount(self, invoice: KashflowInvoice, erp: ErpInvoice) -> Decimal:
        """What the ERP should carry for this Kashflow invoice."""
        return invoice.gross

    # ------------------------------------------------------------------ shared

    @property
    def paid_only(self) -> bool:
        return bool(self.options.get("paid_only", True))

    def carries_payments(self) -> bool:
        """Whether a payments flow between the same two connections keeps the ERP's paid state in step."""
        key = PAYMENT_FLOWS.get(self.flow.key)
        return bool(key) and Flow.objects.filter(key=key, enabled=True, source=self.flow.source_id,
                                                 target=self.flow.target_id).exists()

    def in_scope(self, invoice: KashflowInvoice) -> bool:
        return not self.paid_only or invoice.state == "paid"

    def kashflow_client(self):
        from integrations.sync.connectors import kashflow_client_for
        from integrations.sync.pipeline import gate_for

        return kashflow_client_for(self.flow.source, gate=gate_for(self.flow.source))

    def kashflow_invoices(self, start: date, end: date) -> list[KashflowInvoice]:
        """Every Kashflow invoice issued in the period (the list, filtered by issue date at Kashflow and here)."""
        client = self.kashflow_client()
        invoices = []
        for item in client.list_invoices(issuedatefrom=start.isoformat(), issuedateto=end.isoformat(),
                                         perpage=int(self.options.get("page_size", 250))):
            invoice = kashflow_invoice(item)
            if invoice is not None and start <= invoice.issue_date <= end:
                invoices.append(invoice)
        return invoices

    def kashflow_exists(self, numbers: Iterable[str]) -> dict[str, KashflowInvoice | None]:
        """Kashflow invoices fetched one by one (for ERP invoices whose Kashflow invoice is not in the list)."""
        from integrations.core.errors import NotFoundError

        client = self.kashflow_client()
        found: dict[str, KashflowInvoice | None] = {}
        for number in numbers:
            try:
                found[number] = kashflow_invoice(client.get_invoice(number))
            except NotFoundError:
                found[number] = None
        return found

    def reconcile(self, start: date, end: date) -> Result:
        listed = self.kashflow_invoices(start, end)
        scope = {i.number: i for i in listed if self.in_scope(i)}
        bindings = dict(Binding.objects.filter(
            connection=self.flow.target, source_connection=self.flow.source, entity="sales_invoice",
        ).values_list("source_id", "external_id"))
        bound_ids = [bindings[n] for n in scope if n in bindings]
        erp = self.erp_invoices(start, end, bound_ids)
        by_target = {e.target_id: e for e in erp}
        by_number: dict[str, list[ErpInvoice]] = defaultdict(list)
        for e in erp:
            if e.number:
                by_number[e.number].append(e)
        source_of = {external: source for source, external in bindings.items()}
        payments = self.carries_payments()

        found: list[Found] = []
        matched: set[str] = set()
        pairs: list[tuple[KashflowInvoice, ErpInvoice]] = []
        for number, invoice in sorted(scope.items(), key=lambda kv: _sort_key(kv[0])):
            target = by_target.get(bindings.get(number, "")) or next(
                (e for e in by_number.get(number, []) if e.target_id not in matched), None)
            if target is None:
                found.append(Found(
                    "invoice", "missing_in_erp", source_id=number, target_id=bindings.get(number, ""),
                    customer=invoice.customer, kashflow_value=_money(invoice.gross, invoice.currency),
                    detail=(f"Kashflow invoice {number} ({invoice.state}, issued {invoice.issue_date}) is not in "
                            f"{self.flow.target.name}" + (f"; the flow had bound it to {bindings[number]}, which "
                                                          "no longer exists." if number in bindings else ".")),
                    resyncable=True))
                continue
            matched.add(target.target_id)
            pairs.append((invoice, target))
            found += self.compare(invoice, target, payments)

        # ERP invoices the flow created (bound, or carrying a Kashflow number) that match nothing in scope.
        orphans = [e for e in erp if e.target_id not in matched and (e.target_id in source_of or e.number)]
        numbers = {e.target_id: source_of.get(e.target_id) or e.number for e in orphans}
        unknown = sorted({n for n in numbers.values() if n not in scope}, key=_sort_key)
        in_kashflow = {n: i for n, i in ((i.number, i) for i in listed)}
        missing_lookup = [n for n in unknown if n not in in_kashflow]
        in_kashflow.update(self.kashflow_exists(missing_lookup) if missing_lookup else {})
        for e in orphans:
            number = numbers[e.target_id]
            invoice = in_kashflow.get(number)
            if invoice is None:
                found.append(Found(
                    "invoice", "missing_in_kashflow", source_id=number, target_id=e.target_id, customer=e.customer,
                    erp_value=_money(e.amount, e.currency),
                    detail=f"{self.flow.target.name} holds {e.target_id} for Kashflow invoice {number}, which is "
                           "not in Kashflow (deleted there?). Correct it in the ERP (a credit note)."))
            elif not self.in_scope(invoice):
                found.append(Found(
                    "invoice", "different_status", source_id=number, target_id=e.target_id, customer=e.customer,
                    kashflow_value=STATE_LABEL[invoice.state], erp_value=STATE_LABEL.get(e.state, e.state),
                    detail=f"Kashflow invoice {number} is {STATE_LABEL[invoice.state]} now, outside the flow's "
                           "scope (paid invoices only), but it was posted to the ERP."))
            # else: a Kashflow invoice of another period matched to an ERP date in this one: its own period's
            # run compares it (by binding).

        customers = self.balances(pairs, payments, found)
        summary = {
            "scope": {"paid_only": self.paid_only, "carries_payments": payments, "period": [start.isoformat(),
                                                                                             end.isoformat()]},
            "kashflow": _totals((i.currency, i.gross, i.open) for i in scope.values()),
            "kashflow_listed": len(listed),
            "erp": _totals((e.currency, e.amount, e.open) for e in erp
                           if e.target_id in matched or e.target_id in source_of or e.number),
            "matched": len(pairs),
            "customers": customers,
            "reasons": _count(found),
        }
        return Result(summary=summary, mismatches=found)

    def compare(self, invoice: KashflowInvoice, erp: ErpInvoice, payments: bool) -> list[Found]:
        out: list[Found] = []
        common = {"kind": "invoice", "source_id": invoice.number, "target_id": erp.target_id,
                  "customer": invoice.customer}
        expected = self.expected_amount(invoice, erp)
        if erp.currency and erp.currency.upper() != invoice.currency.upper():
            out.append(Found(reason="different_amount", kashflow_value=_money(invoice.gross, invoice.currency),
                             erp_value=_money(erp.amount, erp.currency),
                             detail=f"Kashflow invoice {invoice.number} is in {invoice.currency}, the ERP's copy in "
                                    f"{erp.currency}.", **common))
        elif erp.state != "not_posted" and abs(erp.amount - expected) > TOLERANCE:
            out.append(Found(reason="different_amount", kashflow_value=_money(expected, invoice.currency),
                             erp_value=_money(erp.amount, erp.currency),
                             detail=f"Kashflow invoice {invoice.number}: {_money(expected, invoice.currency)} "
                                    f"expected, the ERP's {erp.target_id} carries {_money(erp.amount, erp.currency)} "
                                    f"(difference {_money(erp.amount - expected, invoice.currency)}).", **common))
        if erp.state == "not_posted":
            out.append(Found(reason="different_status", kashflow_value=STATE_LABEL[invoice.state],
                             erp_value="not posted",
                             detail=f"{erp.target_id} was created in {self.flow.target.name} but is not posted "
                                    "yet (post it there; until then it is not in the customer's balance).",
                             **common))
        elif erp.state != invoice.state:
            ahead = STATE_ORDER.get(erp.state, 0) > STATE_ORDER[invoice.state]
            if ahead or payments:
                why = ("the ERP has settled more than Kashflow has been paid" if ahead else
                       "Kashflow has been paid but the payment is not settled in the ERP")
                out.append(Found(reason="different_status", kashflow_value=STATE_LABEL[invoice.state],
                                 erp_value=STATE_LABEL.get(erp.state, erp.state),
                                 detail=f"Kashflow invoice {invoice.number} is {STATE_LABEL[invoice.state]}, "
                                        f"{erp.target_id} is {STATE_LABEL.get(erp.state, erp.state)}: {why}.",
                                 **common))
        return out

    def balances(self, pairs: list[tuple[KashflowInvoice, ErpInvoice]], payments: bool,
                 found: list[Found]) -> list[dict[str, Any]]:
        """Open balance per customer over the matched invoices: Kashflow's open share of each invoice applied to
        what the ERP carries for it, against the ERP's open amount. Flagged only when payments are carried."""
        per: dict[tuple[str, str], list[Decimal]] = {}
        for invoice, erp in pairs:
            if erp.state == "not_posted":
                continue
            expected = self.expected_amount(invoice, erp)
            share = invoice.open / invoice.gross if invoice.gross else Decimal(0)
            row = per.setdefault((invoice.customer, invoice.currency), [Decimal(0), Decimal(0)])
            row[0] += (expected * share).quantize(CENT)
            row[1] += erp.open
        rows = []
        for (customer, currency), (kashflow_open, erp_open) in sorted(per.items()):
            difference = erp_open - kashflow_open
            flagged = payments and abs(difference) > TOLERANCE
            rows.append({"customer": customer, "currency": currency, "kashflow_open": str(kashflow_open),
                         "erp_open": str(erp_open), "difference": str(difference), "flagged": flagged})
            if flagged:
                found.append(Found("balance", "different_balance", customer=customer,
                                   kashflow_value=_money(kashflow_open, currency), erp_value=_money(erp_open, currency),
                                   detail=f"Customer {customer}: the period's invoices are "
                                          f"{_money(kashflow_open, currency)} open in Kashflow, "
                                          f"{_money(erp_open, currency)} in the ERP."))
        return rows


class AxInvoiceReconciler(InvoiceReconciler):
    """Kashflow invoices against AX free-text invoices (target id = the CUSTINVOICETABLE RecId AIF returned)."""

    erp_name = "Dynamics AX"

    def erp_invoices(self, start: date, end: date, bound: Iterable[str]) -> list[ErpInvoice]:
        from integrations.dynamics_ax.sql import AxSqlReader

        recids = [int(b) for b in bound if str(b).isdigit()]
        with AxSqlReader.from_settings(self.flow.target.settings or {}) as reader:
            headers = reader.free_text_invoices(recids=recids, date_from=start, date_to=end)
            posted = [h["INVOICEID"] for h in headers if h.get("POSTED") and h.get("INVOICEID")]
            status = reader.invoice_status(posted) if posted else {}
        out = []
        for h in headers:
            invoice_id = h.get("INVOICEID") or ""
            settled = status.get(invoice_id) if h.get("POSTED") else None
            if not h.get("POSTED") or h.get("INVOICEAMOUNT") is None:
                state, amount, tax, open_amount = "not_posted", Decimal(0), Decimal(0), Decimal(0)
            else:
                amount, tax = _dec(h.get("INVOICEAMOUNT")), _dec(h.get("SUMTAX"))
                open_amount = settled.open_amount if settled else amount
                state = {"paid": "paid", "partially_paid": "part_paid"}.get(settled.status if settled else "",
                                                                           "unpaid")
            out.append(ErpInvoice(
                target_id=str(h["RECID"]), number=str(h.get("CUSTOMERREF") or "").strip(),
                customer=str(h.get("INVOICEACCOUNT") or h.get("ORDERACCOUNT") or ""),
                invoice_date=_to_date(h.get("INVOICEDATE")), currency=str(h.get("CURRENCYCODE") or ""),
                amount=amount, tax=tax, open=open_amount, state=state))
        return out

    def expected_amount(self, invoice: KashflowInvoice, erp: ErpInvoice) -> Decimal:
        """AX computes the tax itself from the lines' sales tax groups (the flow maps each Kashflow VAT rate to
        one), so the posted invoice carries the gross; an AX invoice without the VAT shows as a different
        amount."""
        return invoice.gross


class SageInvoiceReconciler(InvoiceReconciler):
    """Kashflow invoices against Sage 100 A/R invoices (target id ``DD-CUSTNO-INVOICENO``)."""

    erp_name = "Sage 100"
    HEADER = ("InvoiceNo", "HeaderSeqNo", "InvoiceType", "InvoiceDate", "ARDivisionNo", "CustomerNo", "Comment",
              "TaxableSalesAmt", "NonTaxableSalesAmt", "FreightAmt", "SalesTaxAmt", "DiscountAmt")
    OPEN = ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType", "Balance")

    def erp_invoices(self, start: date, end: date, bound: Iterable[str]) -> list[ErpInvoice]:
        from integrations.sage100.odbc import SageOdbcReader

        wanted = {str(b) for b in bound}
        settings = self.flow.target.settings or {}
        if not (settings.get("odbc") or settings.get("dsn")):
            raise ConfigurationError("The Sage 100 connection has no ODBC settings; reconciliation reads the "
                                     "company's A/R tables over ODBC.", system="Sage 100")
        with SageOdbcReader.from_settings(settings) as reader:
            headers = list(reader.select("AR_InvoiceHistoryHeader", self.HEADER))
            open_items = {(r["ARDivisionNo"], r["CustomerNo"], r["InvoiceNo"], r["InvoiceType"]): r
                          for r in reader.select("AR_OpenInvoice", self.OPEN)}
        out = []
        for h in headers:
            if (h.get("InvoiceType") or "IN") != "IN":
                continue
            target_id = f"{h['ARDivisionNo']}-{h['CustomerNo']}-{h['InvoiceNo']}"
            invoice_date = _to_date(h.get("InvoiceDate"))
            marker = SAGE_COMMENT.match(str(h.get("Comment") or "").strip())
            in_period = invoice_date is not None and start <= invoice_date <= end
            if target_id not in wanted and not (in_period and marker):
                continue
            amount = (_dec(h.get("TaxableSalesAmt")) + _dec(h.get("NonTaxableSalesAmt")) + _dec(h.get("FreightAmt"))
                      + _dec(h.get("SalesTaxAmt")) - _dec(h.get("DiscountAmt")))
            item = open_items.get((h["ARDivisionNo"], h["CustomerNo"], h["InvoiceNo"], "IN"))
            open_amount = _dec(item.get("Balance")) if item else Decimal(0)
            out.append(ErpInvoice(
                target_id=target_id, number=marker.group(1) if marker else "",
                customer=f"{h['ARDivisionNo']}-{h['CustomerNo']}", invoice_date=invoice_date, currency="",
                amount=amount, tax=_dec(h.get("SalesTaxAmt")), open=open_amount,
                state=paid_state(amount, amount - open_amount)))
        return out


# ---------------------------------------------------------------------------------------------- helpers


def kashflow_invoice(item: Any) -> KashflowInvoice | None:
    """A Kashflow invoice (list item or full invoice) as the reconciliation needs it; None when unreadable."""
    if not isinstance(item, dict) or item.get("Number") in (None, ""):
        return None
    issued = _to_date(item.get("IssuedDate"))
    if issued is None:
        return None
    currency = item.get("Currency") if isinstance(item.get("Currency"), dict) else {}
    net, tax = _dec(item.get("NetAmount")), _dec(item.get("VATAmount"))
    gross = _dec(item.get("GrossAmount")) if item.get("GrossAmount") not in (None, "") else net + tax
    return KashflowInvoice(number=str(item["Number"]), customer=str(item.get("CustomerCode") or ""),
                           issue_date=issued, currency=(str(currency.get("Code") or "") or "GBP").upper(),
                           net=net.quantize(CENT), tax=tax.quantize(CENT), gross=gross.quantize(CENT),
                           paid=_dec(item.get("TotalPaidAmount")).quantize(CENT))


def paid_state(amount: Decimal, paid: Decimal) -> str:
    if amount > 0 and paid >= amount - TOLERANCE:
        return "paid"
    return "part_paid" if paid > TOLERANCE else "unpaid"


def _dec(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value)).quantize(CENT)
    except InvalidOperation:
        return Decimal(0)


def _to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _money(amount: Decimal, currency: str = "") -> str:
    return f"{amount.quantize(CENT):,} {currency}".strip()


def _sort_key(number: str) -> tuple[int, str]:
    return (int(number), "") if str(number).isdigit() else (1 << 62, str(number))


def _totals(rows: Iterable[tuple[str, Decimal, Decimal]]) -> dict[str, dict[str, str | int]]:
    out: dict[str, list] = {}
    for currency, amount, open_amount in rows:
        entry = out.setdefault(currency or "-", [0, Decimal(0), Decimal(0)])
        entry[0] += 1
        entry[1] += amount
        entry[2] += open_amount
    return {cur: {"count": c, "amount": str(a), "open": str(o)} for cur, (c, a, o) in sorted(out.items())}


def _count(found: list[Found]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in found:
        counts[item.reason] = counts.get(item.reason, 0) + 1
    return counts
