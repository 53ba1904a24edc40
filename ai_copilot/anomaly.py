"""Anomaly scores for ledger records before they are posted (issue 8).

A tenant's scorer is fitted on its own history and then scores new records one by one, in date order, against
that history plus the records before them. Four layers, each producing a :class:`Reason` with its numbers so a
person can judge the flag:

* deterministic checks: duplicates, invoices split under the approval limit, payments against their invoices;
* robust statistics per party and per account: median/MAD of log amounts;
* rarity of values and combinations: party->account, account->tax rate, journal account pairs, posting days,
  the party's habit of round amounts (rates are smoothed so thin history speaks softly);
* an IsolationForest over a few numeric features as a catch-all, evaluated by a compiled copy of its trees so one
  record costs microseconds, not sklearn's per-call overhead.

A reason's ``weight`` is the evidence it carries (0-1); weights combine as a noisy-OR into the record's score.
People's dismissals, keyed by :attr:`Reason.key`, damp exactly the pattern they dismissed.
"""

from __future__ import annotations

import bisect
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np

KINDS = ("sales_invoice", "payment", "purchase_invoice", "journal")
INVOICE_KINDS = ("sales_invoice", "purchase_invoice")
REASON_CODES = (
    "duplicate", "amount_outlier", "new_party_large", "new_account_for_party", "unusual_tax_rate", "round_amount",
    "non_business_day", "split_under_limit", "payment_without_invoice", "overpayment", "unpaired_journal_accounts",
    "isolation",
)
EVIDENCE_FLOOR = 0.5  # flag() never flags a record scoring below this, whatever the budget allows

FIRST_POSTINGS_MIN = 30  # new parties seen after the warm-up before their first amounts become the yardstick
DUPLICATE_WINDOW_DAYS = 7
INDEX_DAYS = 60  # duplicate/split lookups kept after fit: the window plus room for records dated a little back
SPLIT_LOW = Decimal("0.8")  # a split part is an invoice between 80 % and 100 % of the approval limit
OVERPAY_TOLERANCE = Decimal("0.50")  # pence-level rounding between payment and invoice is not an overpayment
ROUND_MIN = Decimal(100)
HOLIDAY_CLASS = 7
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DISMISSAL_DAMPING = 2.0  # a pattern dismissed n times keeps 1 / (1 + 2n) of its weight
CALIBRATION_PRIOR = 0.001  # a reason that fired as strongly on r of the history's rows keeps prior / (prior + r)
OUTLIER_Z = 3.0  # robust z from which an amount starts to count as an outlier
ISOLATION_MAX = 0.3  # the forest alone never reaches the evidence floor: it tips rows other checks found odd
SHRINK_ROWS = 6  # a group's spread counts as this many rows of the tenant's typical spread
MIN_SPREAD = 0.1  # log units: a party with one fixed amount still allows ~10 % drift per robust z


# ---------------------------------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Txn:
    """One ledger row. ``amount`` is gross; journal lines are signed (+debit, -credit) and share ``reference``;
    a payment's ``reference`` is the number of the invoice it settles."""

    id: str
    kind: str
    date: date
    party: str
    account: str
    amount: Decimal
    currency: str
    tax_rate: Decimal | None
    reference: str
    description: str


@dataclass(frozen=True)
class Reason:
    """Why a record looks unusual. ``key`` names what the reason is about, so a dismissal can target it:
    the party code (``duplicate``, ``amount_outlier``, ``new_party_large``, ``round_amount``, ``non_business_day``,
    ``split_under_limit``, ``payment_without_invoice``, ``overpayment``, ``isolation``; the account for journals),
    ``party|account`` (``new_account_for_party``), ``account|rate`` (``unusual_tax_rate``, e.g. ``4000|5``) and
    ``accountA|accountB`` sorted (``unpaired_journal_accounts``)."""

    code: str
    text: str
    weight: float
    key: str = ""


@dataclass(frozen=True)
class Score:
    id: str
    score: float
    reasons: tuple[Reason, ...] = field(default=())


def dismissal_key(reason: Reason) -> tuple[str, str]:
    """The label to store when a person dismisses ``reason``; pass such pairs to ``fit(dismissed=...)``."""
    return reason.code, reason.key


# ---------------------------------------------------------------------------------------------------- calendar

_ONE_OFF = {  # royal occasions: moved or extra bank holidays (UK-wide) -> (removed, added)
    2011: ((), (date(2011, 4, 29),)),
    2012: ((date(2012, 5, 28),), (date(2012, 6, 4), date(2012, 6, 5))),
    2020: ((date(2020, 5, 4),), (date(2020, 5, 8),)),
    2022: ((date(2022, 5, 30),), (date(2022, 6, 2), date(2022, 6, 3), date(2022, 9, 19))),
    2023: ((), (date(2023, 5, 8),)),
}
_REGIONS = {"GB": "EAW", "UK": "EAW", "GB-ENG": "EAW", "GB-WLS": "EAW", "GB-EAW": "EAW", "GB-SCT": "SCT",
            "GB-NIR": "NIR"}


def easter_sunday(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_monday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7 + 7 * (n - 1))


def _last_monday(year: int, month: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=last.weekday())


@lru_cache(maxsize=256)
def _holidays(region: str, year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    movable = {easter - timedelta(days=2), _nth_monday(year, 5, 1), _last_monday(year, 5)}
    fixed = [date(year, 1, 1)]
    if region == "SCT":
        fixed.append(date(year, 1, 2))
        movable.add(_nth_monday(year, 8, 1))
    else:
        movable |= {easter + timedelta(days=1), _last_monday(year, 8)}
    if region == "NIR":
        fixed += [date(year, 3, 17), date(year, 7, 12)]
    if region == "SCT":
        fixed.append(date(year, 11, 30))
    fixed += [date(year, 12, 25), date(year, 12, 26)]
    removed, added = _ONE_OFF.get(year, ((), ()))
    days = (movable - set(removed)) | set(added)
    # Fixed days that fall on a weekday stand; those on a weekend move, in calendar order, to the next free weekday.
    days |= {d for d in fixed if d.weekday() < 5}
    for d in fixed:
        if d.weekday() >= 5:
            substitute = d
            while substitute.weekday() >= 5 or substitute in days:
                substitute += timedelta(days=1)
            days.add(substitute)
    return frozenset(days)


def holidays(country: str, year: int) -> set[date]:
    """Bank holidays: ``GB`` (= England & Wales), ``GB-SCT`` (Scotland: 2 Jan, St Andrew's Day, August's first
    Monday, no Easter Monday) and ``GB-NIR`` (adds St Patrick's Day and 12 July), with substitute days and the
    royal one-offs since 2011. The statutory St Andrew's/12 July substitutes follow the same next-weekday rule."""
    region = _REGIONS.get(country.upper())
    if region is None:
        raise ValueError(f"no bank-holiday calendar for {country!r}; use one of {', '.join(sorted(_REGIONS))}")
    return set(_holidays(region, year))


def _month_end(d: date) -> bool:
    return (d + timedelta(days=1)).day == 1


# ---------------------------------------------------------------------------------------------------- formatting

_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def _money(amount: Decimal, currency: str = "GBP") -> str:
    symbol = _SYMBOLS.get(currency.upper())
    sign, text = ("-" if amount < 0 else ""), f"{abs(amount):,.2f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b %Y}"


def _rate_key(rate: Decimal) -> str:
    return f"{rate:.2f}".rstrip("0").rstrip(".")


def _round_level(amount: Decimal) -> int:
    """The largest of 1000/500/100/50 that divides a whole-pound amount of at least £100 (0 if none)."""
    amount = abs(amount)
    if amount < ROUND_MIN or amount % 1:
        return 0
    return next((step for step in (1000, 500, 100, 50) if amount % step == 0), 0)


def _clip(x: float, low: float = 0.0, high: float = 1.0) -> float:
    return low if x < low else high if x > high else x


def _confidence(n: int, half: float) -> float:
    """How far to trust a rate estimated from ``n`` rows: 0.5 at ``half`` rows, tending to 1."""
    return n / (n + half)


# ---------------------------------------------------------------------------------------------------- profiles


class _Group:
    """What the history says about one party (per kind) or one account (per kind)."""

    __slots__ = ("n", "logs", "round_n", "repeat_n", "split_n", "unmatched_n", "off_n", "users", "accounts",
                 "rates", "last", "_mad", "_mad_n")

    def __init__(self) -> None:
        self.n = 0
        self.logs: list[float] = []  # sorted log amounts
        self.round_n = 0
        self.repeat_n = 0  # rows repeating an amount of the same party within the duplicate window
        self.split_n = 0  # rows that looked like a split part
        self.unmatched_n = 0  # payments that matched no invoice
        self.off_n = 0  # rows dated on a weekend or bank holiday
        self.users = 0  # (accounts) distinct parties that posted to it
        self.accounts: dict[str, int] = {}
        self.rates: dict[str, int] = {}
        self.last: date | None = None
        self._mad, self._mad_n = 0.0, -1

    def copy(self) -> _Group:
        twin = _Group()
        for name in self.__slots__:
            value = getattr(self, name)
            setattr(twin, name, value.copy() if isinstance(value, list | dict) else value)
        return twin

    def add_amount(self, amount: Decimal) -> None:
        if amount:
            bisect.insort(self.logs, math.log(abs(float(amount))))

    def stats(self) -> tuple[float, float]:
        """Median and MAD of the log amounts. The median is exact; the MAD (a pass over every amount) is
        refreshed once the group has grown by 5 % or 8 amounts, so a busy account costs O(1) per row."""
        logs = self.logs
        median = _median_sorted(logs)
        if abs(len(logs) - self._mad_n) > max(8, len(logs) // 20) or len(logs) < 64:
            self._mad, self._mad_n = _median_sorted(sorted(abs(x - median) for x in logs)), len(logs)
        return median, self._mad

    def nearest(self, log: float) -> float:
        """Distance in log units to the closest earlier amount."""
        i = bisect.bisect_left(self.logs, log)
        near = [abs(self.logs[j] - log) for j in (i - 1, i) if 0 <= j < len(self.logs)]
        return min(near) if near else math.inf


def _median_sorted(values: Sequence[float]) -> float:
    n = len(values)
    if not n:
        return 0.0
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2


class _Invoice:
    """An invoice a later payment may settle: party, gross and what was paid so far, kept in pence (and the
    party string shared) so a tenant's fitted state pickles small."""

    __slots__ = ("party", "gross_p", "paid_p", "payments")

    def __init__(self, party: str, gross_p: int, paid_p: int = 0, payments: int = 0) -> None:
        self.party, self.gross_p, self.paid_p, self.payments = party, gross_p, paid_p, payments

    def __reduce__(self) -> tuple[Any, ...]:
        return _Invoice, (self.party, self.gross_p, self.paid_p, self.payments)

    def copy(self) -> _Invoice:
        return _Invoice(self.party, self.gross_p, self.paid_p, self.payments)

    @property
    def gross(self) -> Decimal:
        return Decimal(self.gross_p) / 100

    @property
    def paid(self) -> Decimal:
        return Decimal(self.paid_p) / 100


class _Tables:
    """The fitted, picklable state: plain dicts the scoring layer reads through and never writes."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str, str], _Group] = {}  # ("p"|"a", party|account, kind)
        self.parties: dict[str, int] = {}
        self.kind_parties: dict[str, int] = {}  # distinct parties per kind
        self.repeats: dict[tuple[str, str, int], list[tuple[int, str, str]]] = {}  # (party, kind, cents)
        self.near_limit: dict[tuple[str, str, int], list[tuple[str, Decimal]]] = {}  # (party, kind, day ordinal)
        self.invoices: dict[str, list[_Invoice]] = {}  # by reference
        self.pairs: dict[tuple[str, str], int] = {}  # journal (debit, credit) account pairs, sorted
        self.journals = 0
        self.new_pair_journals = 0  # journals that brought at least one pair never seen before them

    def prune(self, horizon: int) -> None:
        """Drop lookup entries dated before ``horizon`` (a day ordinal): a duplicate or a split is judged within
        days, so older entries only weigh on the stored model."""
        self.repeats = {key: kept for key, rows in self.repeats.items()
                        if (kept := [row for row in rows if row[0] >= horizon])}
        self.near_limit = {key: rows for key, rows in self.near_limit.items() if key[2] >= horizon}


class _Layer:
    """A table seen through a private write layer: reads fall through to the fitted dict, writes stay on top."""

    __slots__ = ("base", "top", "_make", "_copy")

    def __init__(self, base: dict, make: Callable[[], Any], copy: Callable[[Any], Any], private: bool) -> None:
        self.base, self.top, self._make, self._copy = base, ({} if private else base), make, copy

    def get(self, key: Any) -> Any:
        value = self.top.get(key)
        return self.base.get(key) if value is None else value

    def mut(self, key: Any) -> Any:
        value = self.top.get(key)
        if value is None:
            found = self.base.get(key)
            value = self._make() if found is None else self._copy(found)
            self.top[key] = value
        return value

    def set(self, key: Any, value: Any) -> None:
        self.top[key] = value


class _Ledger:
    """History plus what was observed since: the view every check reads. Over fitted tables it is private, so
    scoring a batch never changes the scorer; during fit it writes straight into the tables.

    Habit counters (how often a party repeats amounts, splits, pays without an invoice) learn from the fitted
    history only: rows of a batch being scored are not yet vetted, and an anomaly earlier in the batch must not
    excuse the same anomaly later in it."""

    def __init__(self, tables: _Tables, *, private: bool, off_day: Callable[[date], bool]) -> None:
        self.tables, self.off_day, self.habits = tables, off_day, not private
        self.groups = _Layer(tables.groups, _Group, _Group.copy, private)
        self.parties = _Layer(tables.parties, int, int, private)
        self.kind_parties = _Layer(tables.kind_parties, int, int, private)
        self.repeats = _Layer(tables.repeats, list, list.copy, private)
        self.near_limit = _Layer(tables.near_limit, list, list.copy, private)
        self.invoices = _Layer(tables.invoices, list, lambda found: [i.copy() for i in found], private)
        self.pairs = _Layer(tables.pairs, int, int, private)
        self.journals, self.new_pair_journals = tables.journals, tables.new_pair_journals

    def commit(self) -> None:
        self.tables.journals, self.tables.new_pair_journals = self.journals, self.new_pair_journals

    def party(self, txn: Txn) -> _Group | None:
        return self.groups.get(("p", txn.party, txn.kind)) if txn.party else None

    def account(self, txn: Txn) -> _Group | None:
        return self.groups.get(("a", txn.account, txn.kind))

    # ------------------------------------------------------------------------------------------ lookups

    def repeats_of(self, txn: Txn) -> list[tuple[int, str, str]]:
        """Earlier rows of the same party, kind and amount within the duplicate window."""
        found = self.repeats.get((txn.party, txn.kind, _cents(txn.amount))) or ()
        day = txn.date.toordinal()
        return [r for r in found if abs(day - r[0]) <= DUPLICATE_WINDOW_DAYS]

    def same_day_near_limit(self, txn: Txn) -> list[tuple[str, Decimal]]:
        return self.near_limit.get((txn.party, txn.kind, txn.date.toordinal())) or []

    def invoice_for(self, txn: Txn) -> tuple[_Invoice | None, list[_Invoice]]:
        """The invoice a payment settles (same reference and party), and every invoice carrying that reference."""
        found = self.invoices.get(txn.reference) or []
        match = next((i for i in found if i.party == txn.party), None)
        return match, found

    # ------------------------------------------------------------------------------------------ learning

    def observe(self, txn: Txn, limit: Decimal) -> None:
        """Remember a row as posted (journal pairs are learnt per journal, by :meth:`observe_journal`)."""
        if txn.party:
            self.parties.set(txn.party, (self.parties.get(txn.party) or 0) + 1)
            party = self.groups.mut(("p", txn.party, txn.kind))
            if not party.n:
                self.kind_parties.set(txn.kind, (self.kind_parties.get(txn.kind) or 0) + 1)
            if txn.account not in party.accounts:
                self.groups.mut(("a", txn.account, txn.kind)).users += 1
            self._learn_party(party, txn, limit)
        account = self.groups.mut(("a", txn.account, txn.kind))
        account.n += 1
        account.add_amount(txn.amount)
        account.last = txn.date
        if txn.tax_rate is not None:
            key = _rate_key(txn.tax_rate)
            account.rates[key] = account.rates.get(key, 0) + 1

    def _learn_party(self, party: _Group, txn: Txn, limit: Decimal) -> None:
        if self.habits and txn.kind in INVOICE_KINDS and any(r[1] != txn.reference for r in self.repeats_of(txn)):
            party.repeat_n += 1
        if txn.kind == "purchase_invoice" and SPLIT_LOW * limit <= txn.amount < limit:
            if self.habits and self.same_day_near_limit(txn):
                party.split_n += 1
            self.near_limit.mut((txn.party, txn.kind, txn.date.toordinal())).append((txn.id, txn.amount))
        if txn.kind == "payment":
            self._learn_payment(party, txn)
        elif txn.kind in INVOICE_KINDS:
            self.invoices.mut(txn.reference).append(_Invoice(sys.intern(txn.party), _cents(txn.amount)))
        party.n += 1
        party.add_amount(txn.amount)
        party.round_n += _round_level(txn.amount) > 0
        party.off_n += self.off_day(txn.date)
        party.accounts[txn.account] = party.accounts.get(txn.account, 0) + 1
        party.last = txn.date
        self.repeats.mut((txn.party, txn.kind, _cents(txn.amount))).append(
            (txn.date.toordinal(), txn.reference, txn.id))

    def _learn_payment(self, party: _Group, txn: Txn) -> None:
        match, found = self.invoice_for(txn)
        if match is None:
            party.unmatched_n += self.habits
            return
        invoice = self.invoices.mut(txn.reference)[found.index(match)]  # the private copy of that invoice
        invoice.paid_p += _cents(txn.amount)
        invoice.payments += 1

    def observe_journal(self, lines: Sequence[Txn]) -> None:
        """Learn a whole journal's account pairs (each debit account with each credit account)."""
        pairs = _journal_pairs(lines)
        if any(not self.pairs.get(p) for p in pairs):
            self.new_pair_journals += 1
        for pair in pairs:
            self.pairs.set(pair, (self.pairs.get(pair) or 0) + 1)
        self.journals += 1


def _typical_spread(rows: Sequence[Txn]) -> dict[tuple[bool, str], float]:
    """Median robust spread (log units) of the amounts of established parties, and of accounts, per kind."""
    amounts: dict[tuple[bool, str, str], list[float]] = defaultdict(list)
    for txn in rows:
        if txn.amount:
            log = math.log(abs(float(txn.amount)))
            amounts[False, txn.account, txn.kind].append(log)
            if txn.party:
                amounts[True, txn.party, txn.kind].append(log)
    spreads: dict[tuple[bool, str], list[float]] = defaultdict(list)
    for (is_party, _, kind), logs in amounts.items():
        if len(logs) >= 8:
            logs.sort()
            median = _median_sorted(logs)
            spreads[is_party, kind].append(1.4826 * _median_sorted(sorted(abs(x - median) for x in logs)))
    return {key: max(_median_sorted(sorted(values)), MIN_SPREAD) for key, values in spreads.items()}


def _order(txn: Txn) -> tuple[date, int]:
    """Date order; on one day invoices come before payments and journals."""
    return txn.date, 0 if txn.kind in INVOICE_KINDS else 1


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _journal_pairs(lines: Sequence[Txn]) -> set[tuple[str, str]]:
    debits = {line.account for line in lines if line.amount > 0}
    credits = {line.account for line in lines if line.amount < 0}
    return {(min(d, c), max(d, c)) for d in debits for c in credits if d != c}


# ---------------------------------------------------------------------------------------------------- forest


def _average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n): the mean depth of an unsuccessful search in a binary tree of n points (Liu et al. 2008)."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


class _Forest:
    """A fitted IsolationForest flattened into arrays: every tree walked at once with numpy, giving exactly
    sklearn's ``-score_samples`` at a fraction of its per-call cost."""

    def __init__(self, model: Any) -> None:
        trees = [est.tree_ for est in model.estimators_]
        width = max(t.node_count for t in trees)
        shape = (len(trees), width)
        index = np.int16 if width < 2**15 else np.int32  # compact: the forest is pickled with the tenant's model
        self.left = np.zeros(shape, dtype=index)
        self.right = np.zeros(shape, dtype=index)
        self.feature = np.zeros(shape, dtype=np.int16)
        self.threshold = np.full(shape, np.inf)
        self.path = np.zeros(shape)
        subset = model._max_features != model.n_features_in_
        depth_max = 0
        for t, (tree, features) in enumerate(zip(trees, model.estimators_features_, strict=True)):
            n = tree.node_count
            nodes = np.arange(n)
            leaf = tree.children_left == -1
            self.left[t, :n] = np.where(leaf, nodes, tree.children_left)
            self.right[t, :n] = np.where(leaf, nodes, tree.children_right)
            local = np.where(leaf, 0, tree.feature)
            self.feature[t, :n] = np.asarray(features)[local] if subset else local
            self.threshold[t, :n] = np.where(leaf, np.inf, tree.threshold)
            depth = _node_depths(tree.children_left, tree.children_right)
            self.path[t, :n] = depth + _average_path_length(tree.n_node_samples)
            depth_max = max(depth_max, int(depth.max()))
        self.steps = depth_max
        self.norm = len(trees) * float(_average_path_length(np.array([model.max_samples_]))[0])
        self._rows = np.arange(len(trees))[:, None]

    def score(self, x: np.ndarray) -> np.ndarray:
        """Anomaly scores in (0, 1] for rows of ``x`` (higher = more isolated)."""
        x = np.asarray(x, dtype=np.float32).astype(float)
        node = np.zeros((self.left.shape[0], x.shape[0]), dtype=np.intp)
        cols = np.arange(x.shape[0])[None, :]
        for _ in range(self.steps):
            value = x[cols, self.feature[self._rows, node]]
            node = np.where(value <= self.threshold[self._rows, node], self.left[self._rows, node],
                            self.right[self._rows, node])
        return 2.0 ** (-self.path[self._rows, node].sum(axis=0) / self.norm)


def _node_depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(left), dtype=float)
    for node in range(len(left)):  # sklearn numbers children after their parent
        if left[node] != -1:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    return depth


# ---------------------------------------------------------------------------------------------------- scorer


class AnomalyScorer:
    """One tenant's anomaly model. ``fit`` on posted history, then ``score`` pending records (a batch) or
    ``score_one`` (the pipeline, one at a time with what was posted since). Picklable; records the scikit-learn
    version it was fitted with."""

    evidence_floor = EVIDENCE_FLOOR

    def __init__(self, *, approval_limit: Decimal = Decimal(5000), country: str = "GB") -> None:
        self.region = _REGIONS.get(country.upper())
        if self.region is None:
            holidays(country, 2000)  # raises the explanatory ValueError
        self.approval_limit = Decimal(approval_limit)
        self.country = country
        self.sklearn_version: str | None = None
        self._tables = _Tables()
        self._dismissed: dict[tuple[str, str], int] = {}
        self._fired: dict[tuple[str, str], list[float]] = {}  # weights each reason fired with on history
        self._rows = 0  # history rows those firings were counted on
        self._spread: dict[tuple[bool, str], float] = {}  # (party level?, kind) -> typical log spread
        self._kind_logs: dict[str, list[float]] = {}  # sorted log amounts per kind
        self._first_logs: dict[str, list[float]] = {}  # sorted log amounts of new parties' first postings
        self._day_rows: dict[tuple[str, int], int] = {}
        self._day_count: dict[int, int] = {}
        self._rarity: dict[int, tuple[int, float]] = {}  # day class -> (rows posted, rows expected)
        self._forest: _Forest | None = None
        self._forest_cut = (math.inf, math.inf)
        self._context: tuple[set[str], _Ledger] | None = None  # score_one's last context, see there

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_context"] = None
        return state

    # ------------------------------------------------------------------------------------------ fit

    def fit(self, history: Sequence[Txn], *, dismissed: Iterable[tuple[str, str]] = ()) -> AnomalyScorer:
        """Learn the tenant's habits from posted ``history``; ``dismissed`` holds (reason code, key) labels of
        flags people dismissed: each damps that exact pattern, never other codes or keys.

        History is replayed in date order through the same checks that score records, which tells how often each
        reason fires, and how strongly, in this tenant's normal business: a reason is discounted by the share of
        history rows on which it fired at least as strongly (customers who mix accounts, payments on account),
        while one that never fired that strongly keeps its full weight."""
        import sklearn

        rows = sorted(history, key=_order)
        self._tables, self._fired, self._rows = _Tables(), {}, 0
        self._spread = _typical_spread(rows)
        self._fit_calendar(rows)
        self._kind_logs = {kind: sorted(math.log(abs(float(t.amount))) for t in rows if t.kind == kind and t.amount)
                           for kind in KINDS}
        ledger = self._ledger(private=False)
        warm_up = rows[0].date + timedelta(days=min(90, (rows[-1].date - rows[0].date).days // 2)) if rows else None
        fired: dict[tuple[str, str], list[float]] = defaultdict(list)
        first: dict[str, list[float]] = defaultdict(list)
        for _, txn, lines in self._walk(ledger, rows):
            if txn.date >= warm_up:
                self._rows += 1
                if txn.party and txn.amount and not ledger.parties.get(txn.party):
                    first[txn.kind].append(math.log(abs(float(txn.amount))))
                for reason in self._reasons(ledger, txn, lines, calibrating=True):
                    fired[reason.code, txn.kind].append(reason.weight)
        ledger.commit()
        if rows:
            self._tables.prune(rows[-1].date.toordinal() - INDEX_DAYS)
        self._fired = {key: sorted(weights) for key, weights in fired.items()}
        self._first_logs = {kind: sorted(logs) for kind, logs in first.items()}
        self._fit_forest(rows, ledger)
        self._dismissed = dict(Counter((str(code), str(key)) for code, key in dismissed))
        self._context = None
        self.sklearn_version = sklearn.__version__
        return self

    def _ledger(self, *, private: bool) -> _Ledger:
        return _Ledger(self._tables, private=private, off_day=lambda d: self._day_class(d) >= 5)

    def _walk(self, ledger: _Ledger, rows: Sequence[Txn]) -> Iterable[tuple[int, Txn, Sequence[Txn] | None]]:
        """Yield each row (with its index, rows being in date order) and its whole journal when it is a journal
        line, then learn it; a journal's account pairs are learnt once its last line has passed."""
        journals: dict[str, list[Txn]] = defaultdict(list)
        for txn in rows:
            if txn.kind == "journal":
                journals[txn.reference].append(txn)
        left = {ref: len(lines) for ref, lines in journals.items()}
        for i, txn in enumerate(rows):
            yield i, txn, (journals[txn.reference] if txn.kind == "journal" else None)
            ledger.observe(txn, self.approval_limit)
            if txn.kind == "journal":
                left[txn.reference] -= 1
                if not left[txn.reference]:
                    ledger.observe_journal(journals[txn.reference])

    def _fit_calendar(self, rows: Sequence[Txn]) -> None:
        """Rows per (kind, day class) and calendar days per class over the history's span."""
        self._day_rows = dict(Counter((t.kind, self._day_class(t.date)) for t in rows))
        self._day_count = {}
        if rows:
            day = rows[0].date
            while day <= rows[-1].date:
                cls = self._day_class(day)
                self._day_count[cls] = self._day_count.get(cls, 0) + 1
                day += timedelta(days=1)
        weekday_rows = sum(n for (_, cls), n in self._day_rows.items() if cls < 5)
        weekdays = sum(self._day_count.get(cls, 0) for cls in range(5))
        rate = weekday_rows / weekdays if weekdays else 0.0
        self._rarity = {cls: (sum(n for (_, c), n in self._day_rows.items() if c == cls), rate * days)
                        for cls, days in self._day_count.items()}

    def _fit_forest(self, rows: Sequence[Txn], ledger: _Ledger) -> None:
        from sklearn.ensemble import IsolationForest

        self._forest, self._forest_cut = None, (math.inf, math.inf)
        if len(rows) < 200:  # too little history for a forest to say anything a rule does not
            return
        last: dict[tuple[str, str], date] = {}
        features = []
        for txn in rows:
            subject = (txn.kind, txn.party or txn.account)
            features.append(self._features(ledger, txn, last.get(subject)))
            last[subject] = txn.date
        x = np.array(features)
        model = IsolationForest(n_estimators=100, max_samples=min(256, len(rows)), random_state=0).fit(x)
        self._forest = _Forest(model)
        scores = np.sort(self._forest.score(x))
        self._forest_cut = (float(np.quantile(scores, 0.995)), float(scores[-1]))

    # ------------------------------------------------------------------------------------------ score

    def score(self, records: Sequence[Txn]) -> list[Score]:
        """Scores in the order of ``records``. Records are taken in date order (on one day, invoices before the
        payments and journals: a same-day payment settles an invoice of that day) and each is scored against
        the history plus the records before it; a journal is judged as a whole (all its lines in this batch).
        The earlier parts of an invoice split found later in the batch also get the split reason: the batch is
        pending as a whole, so the first part can still be held."""
        ledger = self._ledger(private=True)
        index = {txn.id: i for i, txn in reversed(list(enumerate(records)))}
        order = sorted(range(len(records)), key=lambda i: _order(records[i]))
        found: list[list[Reason]] = [[] for _ in records]
        for step, txn, lines in self._walk(ledger, [records[i] for i in order]):
            reasons = found[order[step]]
            reasons += self._reasons(ledger, txn, lines)
            self._mark_split_parts(found, index, reasons, ledger, txn)
        return [self._combine(txn.id, reasons) for txn, reasons in zip(records, found, strict=True)]

    def _mark_split_parts(self, found: list[list[Reason]], index: dict[str, int], reasons: list[Reason],
                          ledger: _Ledger, txn: Txn) -> None:
        split = next((r for r in reasons if r.code == "split_under_limit"), None)
        if split is None:
            return
        for part_id, _ in ledger.same_day_near_limit(txn):
            earlier = index.get(part_id)
            if earlier is not None and not any(r.code == "split_under_limit" for r in found[earlier]):
                found[earlier].append(Reason(split.code, f"{split.text} (this is the first part)", split.weight,
                                             split.key))

    def score_one(self, record: Txn, recent: Sequence[Txn] = ()) -> Score:
        """Score one record against the history plus ``recent`` (rows posted since the fit, oldest first).

        A pipeline passes a growing window of recent rows on every call; when ``recent`` continues the previous
        call's (its first row was seen then), only its new rows are learnt, so the cost stays per record."""
        ledger = self._ledger_for(recent, record)
        lines = None
        if record.kind == "journal":
            lines = [t for t in recent if t.kind == "journal" and t.reference == record.reference] + [record]
        return self._combine(record.id, self._reasons(ledger, record, lines))

    def _ledger_for(self, recent: Sequence[Txn], record: Txn) -> _Ledger:
        if not recent:
            return self._ledger(private=True)
        context = self._context
        if context is None or recent[0].id not in context[0]:
            context = (set(), self._ledger(private=True))
        seen, ledger = context
        fresh = sorted((t for t in recent if t.id not in seen), key=_order)
        journals: dict[str, list[Txn]] = defaultdict(list)
        for txn in fresh:
            ledger.observe(txn, self.approval_limit)
            seen.add(txn.id)
            if txn.kind == "journal":
                journals[txn.reference].append(txn)
        pending = record.reference if record.kind == "journal" else None
        for ref in journals:
            if ref != pending:
                ledger.observe_journal([t for t in recent if t.kind == "journal" and t.reference == ref])
        self._context = context
        return ledger

    def _combine(self, txn_id: str, reasons: list[Reason]) -> Score:
        damped = []
        for reason in reasons:
            times = self._dismissed.get((reason.code, reason.key), 0)
            if times:
                reason = Reason(reason.code, f"{reason.text} (dismissed {times}x before)",
                                reason.weight / (1 + DISMISSAL_DAMPING * times), reason.key)
            damped.append(reason)
        damped.sort(key=lambda r: (-r.weight, r.code))
        keep = 1.0
        for reason in damped:
            keep *= 1.0 - reason.weight
        return Score(txn_id, round(1.0 - keep, 6), tuple(damped))

    # ------------------------------------------------------------------------------------------ checks

    def _reasons(self, ledger: _Ledger, txn: Txn, lines: Sequence[Txn] | None, *,
                 calibrating: bool = False) -> list[Reason]:
        """Every check's reason for one row. While calibrating (fit) the calendar and the forest stay out: they
        are rarity measures of the history already."""
        party = ledger.party(txn)
        checks: list[Reason | None] = [] if calibrating else [self._non_business_day(txn, party)]
        if txn.kind in INVOICE_KINDS:
            checks += [self._duplicate(ledger, txn, party), self._split(ledger, txn, party),
                       self._new_party_large(ledger, txn), self._new_account(ledger, txn, party),
                       self._tax_rate(ledger, txn), self._round_amount(txn, party),
                       self._outlier(txn, party, ledger.account(txn))]
        elif txn.kind == "payment":
            checks.append(self._payment(ledger, txn, party))  # round part payments are normal: no round check
        else:
            checks += [self._unpaired(ledger, txn, lines or [txn]), self._outlier(txn, None, ledger.account(txn))]
        if calibrating:
            return [reason for reason in checks if reason is not None]
        checks.append(self._isolation(ledger, txn, party))
        return [self._calibrated(reason, txn.kind) for reason in checks
                if reason is not None and reason.weight > 0.005]

    def _calibrated(self, reason: Reason, kind: str) -> Reason:
        """Discount a reason by the share of history rows on which it fired at least as strongly (see
        :meth:`fit`): that share is what it would cost the alert budget on normal business."""
        fired = self._fired.get((reason.code, kind))
        if not fired:
            return reason
        rate = (len(fired) - bisect.bisect_left(fired, reason.weight - 1e-9)) / self._rows
        if not rate:
            return reason
        factor = CALIBRATION_PRIOR / (CALIBRATION_PRIOR + rate)
        text = f"{reason.text}; as strong on {rate:.2%} of past postings, so weighed down"
        return Reason(reason.code, text, reason.weight * factor, reason.key)

    def _who(self, txn: Txn) -> str:
        return txn.party or txn.account

    def _duplicate(self, ledger: _Ledger, txn: Txn, party: _Group | None) -> Reason | None:
        earlier = ledger.repeats_of(txn)
        if not earlier:
            return None
        day, reference, _ = earlier[-1]
        gap = txn.date.toordinal() - day
        side = "earlier" if gap > 0 else "later"
        when = "the same day" if gap == 0 else f"{abs(gap)} day{'s' * (abs(gap) > 1)} {side}"
        if any(r[1] == txn.reference for r in earlier):
            text = f"{txn.reference} for {_money(txn.amount, txn.currency)} from {txn.party} was already posted"
            return Reason("duplicate", text, 0.95, txn.party)
        habit = party.repeat_n / (party.n + 5) if party else 0.0
        weight = 0.92 * (1 - habit) ** 6
        text = (f"same party {txn.party} and amount {_money(txn.amount, txn.currency)} as {reference} {when}, "
                f"different reference {txn.reference}")
        if party and party.repeat_n:
            text += f" (the party repeats an amount within a week in {party.repeat_n} of {party.n} postings)"
        return Reason("duplicate", text, weight, txn.party)

    def _split(self, ledger: _Ledger, txn: Txn, party: _Group | None) -> Reason | None:
        """Purchase invoices only: the approval limit is a spending control."""
        limit = self.approval_limit
        if txn.kind != "purchase_invoice" or not SPLIT_LOW * limit <= txn.amount < limit:
            return None
        parts = ledger.same_day_near_limit(txn)
        total = txn.amount + sum(amount for _, amount in parts)
        if not parts or total <= limit:
            return None
        weight = (0.9 if len(parts) == 1 else 0.97) / (1 + (party.split_n if party else 0))
        amounts = ", ".join(_money(a, txn.currency) for a in [a for _, a in parts] + [txn.amount])
        text = (f"{len(parts) + 1} invoices from {txn.party} on {_day(txn.date)}, each just under the "
                f"{_money(limit, txn.currency)} approval limit ({amounts}; total {_money(total, txn.currency)})")
        return Reason("split_under_limit", text, weight, txn.party)

    def _new_party_large(self, ledger: _Ledger, txn: Txn) -> Reason | None:
        """A party never seen before, with an amount large for the business. Where new parties are common
        (patients, one-off customers) the yardstick is what new parties usually start with."""
        logs, whose = self._first_logs.get(txn.kind) or [], "first postings of new parties"
        if len(logs) < FIRST_POSTINGS_MIN:
            logs, whose = self._kind_logs.get(txn.kind) or [], f"{txn.kind.replace('_', ' ')}s"
        if not txn.party or ledger.parties.get(txn.party) or len(logs) < 20 or not txn.amount:
            return None
        share = bisect.bisect_left(logs, math.log(abs(float(txn.amount)))) / len(logs)
        weight = 0.45 + 0.5 * _clip((share - 0.85) / 0.15) if share >= 0.85 else 0.0
        if txn.amount >= self.approval_limit:
            weight = max(weight, 0.8)
        if not weight:
            return None
        text = (f"first posting from new party {txn.party} is {_money(txn.amount, txn.currency)}, larger than "
                f"{share:.0%} of this business's {whose}")
        return Reason("new_party_large", text, min(weight, 0.95), txn.party)

    def _new_account(self, ledger: _Ledger, txn: Txn, party: _Group | None) -> Reason | None:
        """A party on an account it never used; softer when the party spreads over many accounts, and when many
        of the tenant's parties share that account (customers drifting between standard and zero-rated sales)."""
        if party is None or party.n < 3 or txn.account in party.accounts:
            return None
        distinct = len(party.accounts)
        account = ledger.account(txn)
        users, peers = (account.users if account else 0), max(ledger.kind_parties.get(txn.kind) or 1, 1)
        share = min(users / peers, 1.0)
        weight = 0.9 * (1 - (distinct + 0.5) / (party.n + 1)) * _confidence(party.n, 3) * (1 - share) ** 2
        usual = ", ".join(f"{a} x{c}" for a, c in sorted(party.accounts.items(), key=lambda kv: -kv[1])[:3])
        text = (f"{txn.party} has never posted to account {txn.account} before ({party.n} earlier postings: "
                f"{usual}; {users} of {peers} parties use {txn.account})")
        return Reason("new_account_for_party", text, weight, f"{txn.party}|{txn.account}")

    def _tax_rate(self, ledger: _Ledger, txn: Txn) -> Reason | None:
        account = ledger.account(txn)
        if txn.tax_rate is None or account is None:
            return None
        carried = sum(account.rates.values())
        rate = _rate_key(txn.tax_rate)
        seen = account.rates.get(rate, 0)
        if carried < 5 or seen > 1:
            return None
        distinct = len(account.rates)
        weight = 0.9 * (1 - (distinct + 0.5) / (carried + 1)) * _confidence(carried, 3) * (0.3 if seen else 1.0)
        usual = ", ".join(f"{r}% x{c}" for r, c in sorted(account.rates.items(), key=lambda kv: -kv[1])[:3])
        text = (f"account {txn.account} carried a {rate}% tax rate {'only once' if seen else 'never'} in "
                f"{carried} earlier postings ({usual})")
        return Reason("unusual_tax_rate", text, weight, f"{txn.account}|{rate}")

    def _round_amount(self, txn: Txn, party: _Group | None) -> Reason | None:
        level = _round_level(txn.amount)
        if not level or party is None or party.n < 5:
            return None
        share = party.round_n / party.n
        strength = {50: 0.8, 100: 0.9}.get(level, 1.0)
        weight = 0.75 * _confidence(party.n, 4) * _clip(1 - 10 * share) * strength
        text = (f"{_money(txn.amount, txn.currency)} is a round amount; {txn.party} had "
                f"{party.round_n or 'none'} in {party.n} earlier {txn.kind.replace('_', ' ')}s")
        return Reason("round_amount", text, weight, txn.party)

    def _day_class(self, d: date) -> int:
        return HOLIDAY_CLASS if d in _holidays(self.region, d.year) else d.weekday()

    def _day_rarity(self, cls: int) -> tuple[int, float]:
        """Rows posted on days of class ``cls``, and the number expected at the usual weekday rate."""
        return self._rarity.get(cls, (0, 0.0))

    def _non_business_day(self, txn: Txn, party: _Group | None) -> Reason | None:
        cls = self._day_class(txn.date)
        if cls < 5 or (txn.kind == "journal" and (txn.date.day == 1 or _month_end(txn.date))):
            return None  # period-end journals and their reversals are dated at the period edge, whatever the day
        rows, expected = self._day_rarity(cls)
        if expected < 5:
            return None
        weight = 0.9 * _clip(1 - rows / expected / 0.3)
        if party is not None and party.n:
            weight *= _clip(1 - party.off_n / party.n / 0.05)  # a party that posts on such days (web orders)
        what = "a bank holiday" if cls == HOLIDAY_CLASS else f"a {WEEKDAYS[cls]}"
        total = sum(self._day_rows.values())
        text = (f"dated {_day(txn.date)}, {what}: this business posted {rows} of {total} records on such days "
                f"(about {expected:.0f} expected at its weekday rate)")
        return Reason("non_business_day", text, weight, self._who(txn))

    def _payment(self, ledger: _Ledger, txn: Txn, party: _Group | None) -> Reason | None:
        match, others = ledger.invoice_for(txn)
        if match is None:
            habit = party.unmatched_n / (party.n + 3) if party else 0.0
            weight = 0.9 * (1 - habit) ** 4
            if not txn.reference:
                text = f"payment of {_money(txn.amount, txn.currency)} from/to {txn.party} names no invoice"
            elif others:
                text = (f"invoice {txn.reference} belongs to {others[0].party}, not {txn.party}")
            else:
                text = f"no invoice {txn.reference} for {txn.party} to match this {_money(txn.amount, txn.currency)}"
            return Reason("payment_without_invoice", text, weight, txn.party)
        outstanding = match.gross - match.paid
        excess = txn.amount - outstanding
        if excess <= OVERPAY_TOLERANCE:
            return None
        if outstanding <= OVERPAY_TOLERANCE:
            text = (f"invoice {txn.reference} ({_money(match.gross, txn.currency)}) was already paid in full "
                    f"({_money(match.paid, txn.currency)} in {match.payments} payment{'s' * (match.payments > 1)})")
            return Reason("overpayment", text, 0.93, txn.party)
        share = float(excess / match.gross) if match.gross else 1.0
        text = (f"{_money(txn.amount, txn.currency)} exceeds the {_money(outstanding, txn.currency)} outstanding on "
                f"{txn.reference} (gross {_money(match.gross, txn.currency)}) by {_money(excess, txn.currency)}")
        return Reason("overpayment", text, 0.55 + 0.4 * _clip(share / 0.05), txn.party)

    def _unpaired(self, ledger: _Ledger, txn: Txn, lines: Sequence[Txn]) -> Reason | None:
        mine = [p for p in _journal_pairs(lines) if txn.account in p]
        new = [p for p in mine if not ledger.pairs.get(p)]
        if not new or ledger.journals < 5:
            return None
        novelty = (ledger.new_pair_journals + 0.5) / (ledger.journals + 1)
        weight = 0.9 * (1 - novelty) * _confidence(ledger.journals, 5)
        others = ", ".join(b if a == txn.account else a for a, b in sorted(new))
        text = (f"journal {txn.reference} pairs account {txn.account} with {others}: never paired in "
                f"{ledger.journals} earlier journals")
        pair = min(new)
        return Reason("unpaired_journal_accounts", text, weight, f"{pair[0]}|{pair[1]}")

    def _outlier(self, txn: Txn, party: _Group | None, account: _Group | None) -> Reason | None:
        group, whose, scale_weight = party, "this party's", 1.0
        if group is None or group.n < 3:
            group, whose, scale_weight = account, f"account {txn.account}'s", 0.6
        if group is None or group.n < (1 if whose == "this party's" else 5) or not txn.amount:
            return None
        log = math.log(abs(float(txn.amount)))
        median, mad = group.stats()
        # Shrink the group's spread towards the tenant's typical spread for this kind: a MAD from a handful of
        # amounts says little, and a party of four postings should not be judged by it alone.
        typical = self._spread.get((whose == "this party's", txn.kind), 0.4)
        scale = math.sqrt((group.n * (1.4826 * mad) ** 2 + SHRINK_ROWS * typical ** 2) / (group.n + SHRINK_ROWS))
        scale = max(scale, MIN_SPREAD)
        z = (log - median) / scale
        if abs(z) < OUTLIER_Z or (z < 0 and whose != "this party's"):
            return None  # against the account's other parties only a large amount says anything
        weight = 0.9 * _clip((abs(z) - OUTLIER_Z) / 2.5) * _confidence(group.n, 2) * scale_weight
        similar = group.nearest(log) <= math.log(1.25)
        if similar:
            weight *= 0.15
        ratio = math.exp(log - median)
        times = f"{ratio:.1f}x" if ratio >= 0.1 else f"1/{1 / ratio:.0f} of"
        text = (f"{_money(abs(txn.amount), txn.currency)} is {times} {whose} median "
                f"{_money(Decimal(math.exp(median)).quantize(Decimal('0.01')), txn.currency)} "
                f"(robust z {z:+.1f} over {group.n} postings{'; a similar amount was seen before' * similar})")
        return Reason("amount_outlier", text, weight, self._who(txn))

    # ------------------------------------------------------------------------------------------ forest

    def _features(self, ledger: _Ledger, txn: Txn, last: date | None) -> list[float]:
        """Numbers the forest looks at: size, size against the party (or account), how established the party
        is, how usual the day is, the kind, and how long since the party last posted."""
        group = ledger.party(txn) if txn.party else ledger.account(txn)
        amount = abs(float(txn.amount))
        z, n = 0.0, 0
        if group is not None and group.n:
            median, mad = group.stats()
            z = _clip((math.log(amount) - median) / max(1.4826 * mad, 0.12) if amount else 0.0, -8.0, 8.0)
            n = group.n
        rows, expected = self._day_rarity(self._day_class(txn.date))
        day_ratio = _clip(rows / expected, 0.0, 3.0) if expected else 1.0
        gap = (txn.date - last).days if last else 400
        return [math.log10(amount + 1), z, math.log1p(n), day_ratio, float(KINDS.index(txn.kind)),
                math.log1p(max(gap, 0))]

    def _isolation(self, ledger: _Ledger, txn: Txn, party: _Group | None) -> Reason | None:
        if self._forest is None:
            return None
        subject = party if txn.party else ledger.account(txn)
        features = self._features(ledger, txn, subject.last if subject is not None else None)
        value = float(self._forest.score(np.array([features]))[0])
        cut, top = self._forest_cut
        if value <= cut:
            return None
        weight = ISOLATION_MAX * _clip((value - cut) / max(top - cut, 1e-6), 0.0, 1.2)
        text = (f"unusual combination of amount, party history and day (isolation score {value:.2f}; "
                f"99.5% of history scores at most {cut:.2f})")
        return Reason("isolation", text, weight, self._who(txn))


# ---------------------------------------------------------------------------------------------------- budget


def flag(scores: Sequence[Score], alert_rate: float) -> set[str]:
    """Ids to flag: the highest scores, at most ``floor(alert_rate * len(scores))`` of them (so 1 % of 150 records
    flags one, of 99 none), and only those reaching :data:`EVIDENCE_FLOOR`. Equal scores are taken in id order."""
    if not 0 <= alert_rate <= 1:
        raise ValueError(f"alert_rate must be between 0 and 1, not {alert_rate}")
    budget = math.floor(alert_rate * len(scores) + 1e-9)
    ranked = sorted((s for s in scores if s.score >= EVIDENCE_FLOOR), key=lambda s: (-s.score, s.id))
    return {s.id for s in ranked[:budget]}
