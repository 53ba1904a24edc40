"""Sales tax as AX 2012 computes it for a free-text invoice line (sandbox subset).

A line is taxed by every sales tax code that is in both its sales tax group (TaxGroup, TAXGROUPDATA) and its item
sales tax group (TaxItemGroup, TAXONITEM); a line without either group, or whose groups share no code, carries no
tax. The rate is the code's TAXDATA.TAXVALUE valid on the invoice date; a code marked EXEMPTTAX in the group gives
no tax (but is still recorded). The sandbox calculates per line and rounds each line's tax to 0.01 half up, which is
AX's "Line" calculation method with normal rounding -- the reference does not say which method/rounding a given AX
installation uses (General ledger parameters); "Line" matches how Kashflow computes VAT, so gross amounts agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .store import EMPTY_DATE, AxStore

CENT = Decimal("0.01")


@dataclass(frozen=True)
class LineTax:
    tax_code: str
    rate: Decimal
    exempt: bool
    base: Decimal
    amount: Decimal


def tax_group_exists(store: AxStore, dataareaid: str, group: str) -> bool:
    return store.one("SELECT 1 FROM TAXGROUPHEADING WHERE DATAAREAID = ? AND TAXGROUP = ?",
                     (dataareaid, group)) is not None


def tax_item_group_exists(store: AxStore, dataareaid: str, group: str) -> bool:
    return store.one("SELECT 1 FROM TAXITEMGROUPHEADING WHERE DATAAREAID = ? AND TAXITEMGROUP = ?",
                     (dataareaid, group)) is not None


def line_taxes(store: AxStore, dataareaid: str, tax_group: str, tax_item_group: str, base: Decimal,
               on_date: str) -> list[LineTax]:
    """The tax of one line, one entry per applicable tax code (empty when nothing applies)."""
    if not tax_group or not tax_item_group:
        return []
    codes = store.query(
        "SELECT G.TAXCODE, G.EXEMPTTAX FROM TAXGROUPDATA G JOIN TAXONITEM I ON I.DATAAREAID = G.DATAAREAID AND "
        "I.TAXCODE = G.TAXCODE WHERE G.DATAAREAID = ? AND G.TAXGROUP = ? AND I.TAXITEMGROUP = ? ORDER BY G.TAXCODE",
        (dataareaid, tax_group, tax_item_group))
    out = []
    for code in codes:
        rate = store.scalar(
            "SELECT TAXVALUE FROM TAXDATA WHERE DATAAREAID = ? AND TAXCODE = ? AND (TAXFROMDATE = ? OR TAXFROMDATE "
            "<= ?) AND (TAXTODATE = ? OR TAXTODATE >= ?) ORDER BY TAXFROMDATE DESC LIMIT 1",
            (dataareaid, code["TAXCODE"], EMPTY_DATE, on_date, EMPTY_DATE, on_date))
        rate = Decimal(str(rate or 0))
        exempt = bool(code["EXEMPTTAX"])
        amount = Decimal(0) if exempt else (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        out.append(LineTax(tax_code=code["TAXCODE"], rate=rate, exempt=exempt, base=base, amount=amount))
    return out
