"""Accounts, their class, and what a chart's code numbering says.

Why: a suggestion must never send turnover to a bank account, and a source account's class is rarely stated
cleanly. Kashflow says "Current Asset/Liability" for debtors and creditors alike, AX may say only "Balance sheet",
Sage 100 gives a two-digit ``GL_AccountType``, and an export may carry no type at all. So the class is inferred
in three steps: the type label narrows the possible classes (:data:`TYPE_LABELS`, :data:`NUMERIC_TYPES`), name
keywords choose among them (:data:`NAME_KEYWORDS`), and the code range votes when names do not decide
(:func:`code_class`). :class:`CodeMap` learns the other code structure there is: how this tenant's confirmed
mappings carry source code ranges to target code ranges.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ai_copilot.text import concept_tokens, words

__all__ = [
    "BALANCE_SHEET", "CLASSES", "PROFIT_AND_LOSS", "Account", "ClassGuess", "CodeMap", "class_of",
    "code_class", "code_pattern", "code_sort_key", "compatibility", "guess_system", "infer_class", "statement",
]

ASSET, LIABILITY, EQUITY, INCOME, COST_OF_SALES, EXPENSE = (
    "asset", "liability", "equity", "income", "cost_of_sales", "expense")
CLASSES: tuple[str, ...] = (ASSET, LIABILITY, EQUITY, INCOME, COST_OF_SALES, EXPENSE)
BALANCE_SHEET = frozenset({ASSET, LIABILITY, EQUITY})
PROFIT_AND_LOSS = frozenset({INCOME, COST_OF_SALES, EXPENSE})
_ALL = frozenset(CLASSES)


@dataclass(frozen=True)
class Account:
    """One account of a chart, as any system gives it: code, name and its own type label (may be empty)."""

    code: str
    name: str
    type: str = ""


@dataclass(frozen=True)
class ClassGuess:
    """The inferred class (None when nothing decides), the classes the type label allowed, and what decided."""

    cls: str | None
    allowed: frozenset[str]
    basis: str  # "type", "type+name", "type+code", "name", "code" or "none"

    @property
    def typed(self) -> bool:
        """True when a type label narrowed the classes: then class contradictions may be applied strictly."""
        return 0 < len(self.allowed) < len(CLASSES)


# Type labels of Kashflow (classifications), AX (DimensionLedgerAccountType) and Sage 100 (GL_AccountType
# descriptions), normalised to lowercase words. A label maps to the classes it allows, most likely first.
TYPE_LABELS: dict[str, tuple[str, ...]] = {
    # Kashflow classifications (REST labels and SOAP InsertNominalCode names)
    "turnover": (INCOME,), "sales": (INCOME,), "sales type": (INCOME,), "cost of sale": (COST_OF_SALES,),
    "cost of sales": (COST_OF_SALES,), "direct costs": (COST_OF_SALES,), "expenditure": (EXPENSE, COST_OF_SALES),
    "expense": (EXPENSE, COST_OF_SALES), "expenses": (EXPENSE, COST_OF_SALES), "overheads": (EXPENSE,),
    "fixed asset": (ASSET,), "fixed assets": (ASSET,), "current asset": (ASSET,), "current assets": (ASSET,),
    "current liability": (LIABILITY,), "current liabilities": (LIABILITY,),
    "current asset liability": (ASSET, LIABILITY), "current assets liabilities": (ASSET, LIABILITY),
    "capital and reserves": (EQUITY,), "capital reserves": (EQUITY,), "capital": (EQUITY,),
    # AX DimensionLedgerAccountType (reference dynamics-ax.md §4.2)
    "profit and loss": (EXPENSE, INCOME, COST_OF_SALES), "profitandloss": (EXPENSE, INCOME, COST_OF_SALES),
    "p l": (EXPENSE, INCOME, COST_OF_SALES), "revenue": (INCOME,), "balance sheet": (ASSET, LIABILITY, EQUITY),
    "balancesheet": (ASSET, LIABILITY, EQUITY), "asset": (ASSET,), "assets": (ASSET,), "liability": (LIABILITY,),
    "liabilities": (LIABILITY,), "equity": (EQUITY,), "income": (INCOME,), "total": (), "reporting": (),
    "blank": (), "common cn": (),
    # Sage 100 GL_AccountType descriptions (reference sage100.md §2.8)
    "cash": (ASSET,), "net accounts receivable": (ASSET,), "other receivables": (ASSET,), "inventory": (ASSET,),
    "prepaid expenses": (ASSET,), "other assets": (ASSET,), "long term liabilities": (LIABILITY,),
    "retained earnings": (EQUITY,), "net revenue": (INCOME,), "operating expenses": (EXPENSE,),
    "interest expense": (EXPENSE,), "non financial": (), "other income and expense": (INCOME, EXPENSE),
    "income taxes": (EXPENSE,),
}

# Numeric type codes. Sage 100 writes GL_AccountType zero-filled ("01".."18"); Kashflow (SOAP classification
# 1-6) and AX (MAINACCOUNT.TYPE 0-10) write bare numbers that overlap, so without a system hint a bare number
# allows the union of what both systems mean by it.
SAGE_TYPES: dict[int, tuple[str, ...]] = {
    1: (ASSET,), 2: (ASSET,), 3: (ASSET,), 4: (ASSET,), 5: (ASSET,), 6: (ASSET,), 7: (LIABILITY,),
    8: (LIABILITY,), 9: (EQUITY,), 10: (EQUITY,), 11: (INCOME,), 12: (COST_OF_SALES,), 13: (EXPENSE,),
    14: (EXPENSE,), 15: (), 16: (INCOME, EXPENSE), 17: (EXPENSE,), 18: (EXPENSE,),
}
KASHFLOW_TYPES: dict[int, tuple[str, ...]] = {
    1: (INCOME,), 2: (COST_OF_SALES,), 3: (EXPENSE, COST_OF_SALES), 4: (ASSET,), 5: (ASSET, LIABILITY),
    6: (EQUITY,),
}
AX_TYPES: dict[int, tuple[str, ...]] = {
    0: (EXPENSE, INCOME, COST_OF_SALES), 1: (INCOME,), 2: (EXPENSE, COST_OF_SALES), 3: (ASSET, LIABILITY, EQUITY),
    4: (ASSET,), 5: (LIABILITY,), 6: (EQUITY,), 8: (), 9: (), 10: (), 100: (),
}
NUMERIC_TYPES: dict[str, dict[int, tuple[str, ...]]] = {"sage100": SAGE_TYPES, "kashflow": KASHFLOW_TYPES,
                                                        "ax": AX_TYPES}

# Name evidence: concept tokens (``ai_copilot.text``) or plain words, each voting for a class with a weight.
# Stronger words win ties: "accumulated depreciation" is an asset although "depreciation" alone is an expense.
NAME_KEYWORDS: dict[str, tuple[tuple[str, float], ...]] = {
    ASSET: (("receivable", 2), ("inventory", 2), ("bank", 2), ("pettycash", 3), ("prepayment", 2), ("asset", 1.5),
            ("goodwill", 2), ("accumulated", 3), ("cash", 1), ("deposit", 1), ("investment", 1.5),
            ("securities", 1.5), ("bond", 1), ("equipment", 1), ("furniture", 1), ("property", 1),
            ("vehicle", 0.5), ("machinery", 1), ("allowance", 1), ("recoverable", 2), ("input", 1), ("inputtax", 2.5)),
    LIABILITY: (("payable", 2.5), ("accrual", 2), ("loan", 2), ("liability", 2), ("vat", 1.2), ("paye", 2),
                ("creditor", 2), ("owed", 1.5), ("deferred", 1), ("overdraft", 2), ("clearing", 0.5),
                ("output", 1), ("outputtax", 2.5)),
    EQUITY: (("sharecapital", 3), ("retainedearnings", 3), ("dividend", 2), ("reserve", 1.5), ("equity", 2),
             ("stock", 0.5), ("drawings", 2)),
    INCOME: (("revenue", 1.5), ("received", 1.5), ("earned", 1.5), ("gain", 1), ("recharged", 1.5),
             ("charged", 1)),
    COST_OF_SALES: (("cogs", 2.5), ("subcontract", 1.5), ("freight", 0.5), ("duty", 1), ("direct", 1.5),
                    ("materials", 1.5), ("purchase", 1)),
    EXPENSE: (("depreciation", 1.5), ("utilities", 2), ("rent", 1.5), ("telephone", 2), ("travel", 2),
              ("entertainment", 2), ("postage", 2), ("supplies", 1.5), ("printing", 1), ("legal", 1.5),
              ("professional", 1.5), ("accounting", 1.5), ("subscription", 2), ("training", 2), ("repairs", 2),
              ("clothing", 2), ("cleaning", 2), ("fuel", 2), ("advertising", 2), ("payroll", 1.5),
              ("insurance", 1.5), ("interest", 0.5), ("baddebt", 2), ("expense", 1), ("expenses", 1.5),
              ("fee", 1), ("charge", 1), ("cost", 1), ("propertytax", 2), ("refreshment", 2), ("welfare", 2),
              ("loss", 0.5), ("commission", 0.5), ("incometax", 1), ("payrolltax", 1), ("pension", 0.5),
              ("hire", 1), ("book", 1), ("miscellaneous", 0.5), ("paid", 1)),
}
_KEYWORD_VOTES: dict[str, list[tuple[str, float]]] = defaultdict(list)
for _cls, _pairs in NAME_KEYWORDS.items():
    for _word, _weight in _pairs:
        _KEYWORD_VOTES[_word].append((_cls, _weight))

CODE_VOTE = 1.0  # a code range counts like one ordinary keyword: it breaks ties, it does not overrule names


def statement(cls: str | None) -> str | None:
    """"balance_sheet" or "profit_and_loss" for a class (None when unknown)."""
    if cls in BALANCE_SHEET:
        return "balance_sheet"
    if cls in PROFIT_AND_LOSS:
        return "profit_and_loss"
    return None


def _label_key(label: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", label.lower().replace("&", " and ")).split())


def allowed_classes(type_label: str, system: str | None = None) -> frozenset[str] | None:
    """Classes a type label allows; None when the label is empty or unknown (then anything is possible)."""
    label = str(type_label or "").strip()
    if not label:
        return None
    if label.isdigit():
        number = int(label)
        if system in NUMERIC_TYPES:
            classes = NUMERIC_TYPES[system].get(number)
        elif len(label) == 2 and label.startswith("0") or number > 10:
            classes = SAGE_TYPES.get(number)
        else:
            found = [table[number] for table in (KASHFLOW_TYPES, AX_TYPES) if number in table]
            classes = tuple(dict.fromkeys(c for classes in found for c in classes)) if found else None
        return None if classes is None else frozenset(classes)
    classes = TYPE_LABELS.get(_label_key(label))
    return None if classes is None else frozenset(classes)


def code_class(code: str, system: str | None = None) -> str | None:
    """The class a code's range suggests. Four-digit-or-shorter codes follow the UK structure (0-999 fixed
    assets, 1xxx current assets, 2xxx liabilities, 3xxx capital, 4xxx sales, 5-6xxx cost of sales, 7-9xxx
    overheads); longer codes and Sage ``###-##-##`` go by their first digit (AX USMF, Sage 100 ABC: 1 asset,
    2 liability, 3 equity, 4 revenue, 5 cost of goods, 6-9 expense)."""
    text = str(code or "").strip()
    head = re.split(r"[^0-9]", text, maxsplit=1)[0] if "-" in text or "." in text else text
    if not head.isdigit():
        return None
    if len(head) <= 4 and "-" not in text:
        value = int(head)
        if value < 2000:
            return ASSET
        return {2: LIABILITY, 3: EQUITY, 4: INCOME, 5: COST_OF_SALES,
                6: COST_OF_SALES if system != "ax" else EXPENSE}.get(value // 1000, EXPENSE)
    first = int(head[0])
    if first == 6 and system == "kashflow":
        return COST_OF_SALES
    return {0: ASSET, 1: ASSET, 2: LIABILITY, 3: EQUITY, 4: INCOME, 5: COST_OF_SALES}.get(first, EXPENSE)


def _name_votes(name: str) -> Counter[str]:
    votes: Counter[str] = Counter()
    for token in {*concept_tokens(name), *words(name)}:
        for cls, weight in _KEYWORD_VOTES.get(token, ()):
            votes[cls] += weight
    return votes


@lru_cache(maxsize=65536)
def infer_class(code: str, name: str, type_label: str = "", system: str | None = None) -> ClassGuess:
    """The account's class from its type label, then name keywords, then code range (see the module doc)."""
    allowed = allowed_classes(type_label, system)
    if allowed is not None and len(allowed) == 1:
        return ClassGuess(next(iter(allowed)), allowed, "type")
    candidates = allowed if allowed else _ALL
    votes = _name_votes(name)
    by_code = code_class(code, system)
    scores = {cls: votes.get(cls, 0.0) + (CODE_VOTE if cls == by_code else 0.0) for cls in candidates}
    best = max(scores.values(), default=0.0)
    if best <= 0:
        return ClassGuess(None, candidates, "none")
    leaders = [cls for cls in CLASSES if scores.get(cls) == best]
    if len(leaders) > 1 and allowed:  # a tie: the label lists its likeliest class first
        leaders = [cls for cls in _label_order(type_label, system) if cls in leaders] or leaders
    winner = leaders[0]
    from_name = votes.get(winner, 0.0) > 0
    basis = ("type+" if allowed else "") + ("name" if from_name else "code")
    return ClassGuess(winner, candidates, basis)


def _label_order(type_label: str, system: str | None) -> tuple[str, ...]:
    label = str(type_label or "").strip()
    if label.isdigit():
        table = NUMERIC_TYPES.get(system or "") or (SAGE_TYPES if len(label) == 2 and label[0] == "0"
                                                    else KASHFLOW_TYPES)
        return table.get(int(label), ())
    return TYPE_LABELS.get(_label_key(label), ())


def class_of(account: Account, system: str | None = None) -> ClassGuess:
    """:func:`infer_class` for an :class:`Account`."""
    return infer_class(account.code, account.name, account.type, system)


def guess_system(accounts: Sequence[Account]) -> str | None:
    """Which system's numbering a chart uses ("sage100", "ax", "kashflow" or None), from its codes and numeric
    types: only needed to read bare type numbers, which mean different things in Kashflow and AX."""
    codes = [a.code for a in accounts if a.code]
    types = [a.type.strip() for a in accounts if a.type and a.type.strip().isdigit()]
    if not codes:
        return None
    if sum(bool(re.fullmatch(r"\d{3}-\d{2}-\d{2}.*", c)) for c in codes) > len(codes) / 2 or any(
            len(t) == 2 and t.startswith("0") or int(t) > 10 for t in types):
        return "sage100"
    digits = [c for c in codes if c.isdigit()]
    if digits and sum(len(c) >= 6 for c in digits) > len(digits) / 2:
        return "ax"
    if digits and sum(len(c) <= 5 for c in digits) > len(digits) / 2:
        return "kashflow"
    return None


# Class compatibility: 1 for the same class; soft values where a bookkeeper might reasonably cross (cost of
# sales and overheads, the two sides of a control account, a director's loan that is really capital); 0 where
# a mapping is plainly wrong (income to an asset, anything across the balance sheet / P&L divide).
_SOFT: dict[tuple[str, str], float] = {
    (COST_OF_SALES, EXPENSE): 0.7, (EXPENSE, COST_OF_SALES): 0.6,
    (ASSET, LIABILITY): 0.25, (LIABILITY, ASSET): 0.25,
    (LIABILITY, EQUITY): 0.2, (EQUITY, LIABILITY): 0.2,
    (INCOME, EXPENSE): 0.05, (EXPENSE, INCOME): 0.05,
}
UNKNOWN_COMPATIBILITY = 0.5


def compatibility(source: str | None, target: str | None) -> float:
    """How acceptable mapping a ``source``-class account to a ``target``-class account is, 0..1."""
    if source is None or target is None:
        return UNKNOWN_COMPATIBILITY
    if source == target:
        return 1.0
    return _SOFT.get((source, target), 0.0)


# ---------------------------------------------------------------------------------------------- code structure

def code_sort_key(code: str) -> tuple[int, int, str]:
    """Order codes by their digits as a number ("30" < "1001"; "100-00-00" < "110-00-00"), others after."""
    digits = re.sub(r"\D", "", str(code))
    return (0, int(digits), str(code)) if digits else (1, 0, str(code))


def code_pattern(code: str, keep: int) -> str:
    """The code with every digit after the first ``keep`` digits written "x": ("7100", 1) -> "7xxx"."""
    out, seen = [], 0
    for char in str(code):
        if char.isdigit():
            seen += 1
            out.append(char if seen <= keep else "x")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class RangeRule:
    """"7xxx -> 6xxxxx in 14 of 15 confirmed mappings" for one source range and target range."""

    source_pattern: str
    target_pattern: str
    count: int
    total: int

    def describe(self) -> str:
        plural = "s" if self.count != 1 else ""
        return f"code range {self.source_pattern} -> {self.target_pattern} as in {self.count} confirmed mapping{plural}"


class CodeMap:
    """What a tenant's confirmed mappings say about codes.

    * Range rules: at one and two leading digits, how often a source range went to a target range.
    * Order: both charts tend to run assets -> liabilities -> equity -> income -> costs, so a source between
      two confirmed sources usually maps between their targets (a monotone, piecewise relation).
    * Neighbours: accounts next to each other in the source chart often share a target (gas next to
      electricity), so closeness to a source confirmed to a target counts for that target.
    """

    LEVELS = (1, 2)

    def __init__(self, confirmed: Mapping[str, str], target_codes: Sequence[str],
                 source_codes: Sequence[str] = ()) -> None:
        self.target_codes = list(target_codes)
        self.target_rank = {code: rank for rank, code in enumerate(sorted(self.target_codes, key=code_sort_key))}
        pairs = sorted(((s, t) for s, t in confirmed.items() if t in self.target_rank),
                       key=lambda pair: code_sort_key(pair[0]))
        self.pairs = pairs
        self.keys = [code_sort_key(s) for s, _t in pairs]
        self.counts: dict[int, dict[str, Counter[str]]] = {
            level: defaultdict(Counter) for level in self.LEVELS}
        for source, target in pairs:
            for level in self.LEVELS:
                self.counts[level][code_pattern(source, level)][code_pattern(target, level)] += 1
        self.source_rank = {code: rank for rank, code in
                            enumerate(sorted(set(source_codes) | set(confirmed), key=code_sort_key))}
        self.confirmed_by_rank = [(self.source_rank[s], t) for s, t in pairs if s in self.source_rank]

    def __len__(self) -> int:
        return len(self.pairs)

    def rule(self, source_code: str, target_code: str, level: int = 1) -> RangeRule | None:
        """The range rule confirmed pairs give for this pair at ``level`` digits (None when none backs it)."""
        source_pattern, target_pattern = code_pattern(source_code, level), code_pattern(target_code, level)
        seen = self.counts[level].get(source_pattern)
        if not seen or not seen.get(target_pattern):
            return None
        return RangeRule(source_pattern, target_pattern, seen[target_pattern], sum(seen.values()))

    def support(self, source_code: str, level: int) -> dict[str, float]:
        """target pattern -> share of this source range's confirmed mappings that went there (shrunk towards 0
        when few mappings back it)."""
        seen = self.counts[level].get(code_pattern(source_code, level))
        if not seen:
            return {}
        total = sum(seen.values()) + 1.0
        return {pattern: count / total for pattern, count in seen.items()}

    def bracket(self, source_code: str) -> tuple[int, int] | None:
        """Target ranks between which an order-preserving mapping would put this source (None: no pairs)."""
        if not self.pairs:
            return None
        key = code_sort_key(source_code)
        low = bisect.bisect_left(self.keys, key)
        high = bisect.bisect_right(self.keys, key)
        below = self.target_rank[self.pairs[low - 1][1]] if low > 0 else None
        above = self.target_rank[self.pairs[high][1]] if high < len(self.pairs) else None
        if below is None:
            below = 0 if above is None else min(above, 0)
        if above is None:
            above = len(self.target_rank) - 1
        return (min(below, above), max(below, above))

    def neighbour_strength(self, source_code: str, scale: float = 1.5) -> dict[str, float]:
        """target code -> closeness (1 = adjacent in the source chart) of the nearest source confirmed to it."""
        rank = self.source_rank.get(source_code)
        if rank is None:
            return {}
        out: dict[str, float] = {}
        for other_rank, target in self.confirmed_by_rank:
            distance = abs(other_rank - rank)
            if distance == 0:
                continue
            strength = math.exp(-(distance - 1) / scale)
            if strength > out.get(target, 0.0):
                out[target] = strength
        return out
