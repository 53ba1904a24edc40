"""Seeded generator of the labelled anomaly benchmark: small-business ledgers with injected anomalies.

Each synthetic tenant follows a trade template (wholesaler, deli-café, joinery, consultancy, online shop, dental
practice): customers and suppliers with their own typical amounts, schedules (daily takings, standing orders,
monthly bills, annual renewals, ad-hoc orders), VAT rates of 20/5/0 % on the accounts that carry them,
payments that settle invoices (sometimes in parts, sometimes late or never) and journals (payroll, depreciation,
accruals and their reversals, prepayments, VAT). History is calendar 2025; the records to score are January to
June 2026, where anomalies of every kind are injected as extra rows (nothing normal is altered) and labelled.
Hard negatives - legitimate rows that look odd - are listed separately so a scorer's false alarms on them show.

    .venv/bin/python -m ai_copilot.anomaly_data          # rewrites ai_copilot/data/anomaly/{dev,test}/
"""

from __future__ import annotations

import csv
import gzip
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from ai_copilot.anomaly import holidays

T = TypeVar("T")

COLUMNS = ("id", "kind", "date", "party", "account", "amount", "currency", "tax_rate", "reference", "description")
DATA_DIR = Path(__file__).resolve().parent / "data" / "anomaly"
HISTORY = (date(2025, 1, 1), date(2025, 12, 31))
RECORDS = (date(2026, 1, 1), date(2026, 6, 30))
APPROVAL_LIMIT = Decimal(5000)
SPLITS = {  # split -> (seed, (trade, size)...); tuning happens on dev only, test is for reporting
    "dev": (1101, (("online", 1.5), ("dental", 1.5), ("wholesale", 0.7), ("shop", 1.0), ("trades", 1.5),
                   ("consultancy", 1.0))),
    "test": (2029, (("wholesale", 1.6), ("shop", 1.0), ("trades", 2.0), ("consultancy", 1.5))),
}
EVENTS_PER_KIND = 11  # injected anomaly events of each kind per split (a split or a journal is several rows)
ANOMALY_KINDS = (
    "duplicate", "amount_outlier", "new_party_large", "new_account_for_party", "unusual_tax_rate", "round_amount",
    "non_business_day", "split_under_limit", "payment_without_invoice", "overpayment", "unpaired_journal_accounts",
)
CENT = Decimal("0.01")
R20, R5, R0 = Decimal(20), Decimal(5), Decimal(0)
FLAT = (1.0,) * 12
BUSINESS_WEEK = (1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)


# ---------------------------------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Spec:
    """A group of similar parties: how often they post, how much, to which accounts at which VAT rates."""

    kind: str  # sales_invoice | purchase_invoice
    count: int
    accounts: tuple[tuple[str, Decimal, float], ...]  # (account, VAT rate, share of the party's invoices)
    net: float  # typical net amount across the group
    what: str  # description
    spread: float = 0.5  # log-sd of party medians around ``net``
    sigma: float = 0.3  # log-sd of one party's amounts
    per_month: float = 1.0  # for the "random" schedule
    schedule: str = "random"  # random | daily | weekly | twice_weekly | monthly | quarterly | annual
    days: str = "business"  # business | trading (the tenant's trading days) | any
    round_to: int = 0  # net amounts rounded to this (a round-amount habit)
    fixed: bool = False  # the same amount every time
    pay: tuple[float, float] = (30.0, 10.0)  # days to pay: mean, sd; (0, 0) = paid the same day
    part: float = 0.05  # share of invoices paid in two parts
    unpaid: float = 0.02
    mixed: bool = True  # each party mixes the accounts with its own shares (else one account per party)
    new_per_month: float = 0.0  # new parties of this group appearing per month
    pattern: str = ""  # hard-negative tag for this group's rows in the scored period


@dataclass(frozen=True)
class Trade:
    key: str
    names: tuple[str, ...]
    week: tuple[float, ...]  # trading-day weights Mon..Sun (0 = closed)
    open_on_holidays: bool
    season: tuple[float, ...]  # monthly volume multipliers Jan..Dec
    specs: tuple[Spec, ...]
    payroll: float  # monthly gross wages
    depreciation: tuple[float, float]  # monthly: equipment, vehicles


_OVERHEADS = (
    Spec("purchase_invoice", 1, (("7200", R20, 1),), 650, "Electricity and gas", schedule="monthly", sigma=0.2,
         pay=(20, 3)),
    Spec("purchase_invoice", 1, (("7502", R20, 1),), 95, "Telephone and broadband", schedule="monthly", sigma=0.05,
         pay=(10, 2)),
    Spec("purchase_invoice", 1, (("7504", R20, 1),), 60, "Software subscription", schedule="monthly", fixed=True,
         pay=(0, 0)),
    Spec("purchase_invoice", 1, (("7504", R20, 1),), 1450, "Annual software licence", schedule="annual",
         fixed=True, pay=(14, 3), pattern="annual_invoice"),
    Spec("purchase_invoice", 1, (("7700", R0, 1),), 5200, "Annual insurance premium", schedule="annual",
         sigma=0.05, pay=(10, 3), pattern="annual_invoice"),
    Spec("purchase_invoice", 1, (("7600", R20, 1),), 1250, "Accountancy fees", schedule="quarterly",
         round_to=250, pay=(25, 5), pattern="round_habit"),
    Spec("purchase_invoice", 1, (("7900", R0, 1),), 38, "Bank charges", schedule="monthly", sigma=0.3, pay=(0, 0)),
    Spec("purchase_invoice", 1, (("7500", R20, 0.6), ("7800", R20, 0.25), ("0030", R20, 0.15)), 70,
         "Online order", per_month=3, days="any", sigma=0.9, pay=(0, 0), pattern="any_day_supplier"),
)

TRADES = {
    "wholesale": Trade(
        "wholesale", ("Meadow Wholesale Foods Ltd", "Eastgate Catering Supplies Ltd", "Pennine Fine Foods Ltd"),
        BUSINESS_WEEK, False, (0.9, 0.9, 1.0, 1.0, 1.05, 1.1, 1.15, 1.1, 1.0, 1.0, 1.05, 1.3),
        (
            Spec("sales_invoice", 230, (("4010", R0, 0.6), ("4000", R20, 0.4)), 380, "Goods per delivery note",
                 spread=0.7, sigma=0.35, per_month=4.2, pay=(32, 12), part=0.06, new_per_month=3),
            Spec("sales_invoice", 6, (("4010", R0, 1),), 240, "Standing order", schedule="twice_weekly",
                 fixed=True, pay=(14, 3), part=0.0, mixed=False, pattern="standing_order"),
            Spec("purchase_invoice", 8, (("5010", R0, 1),), 1600, "Produce and dry goods", spread=0.5, sigma=0.4,
                 per_month=4.5, pay=(35, 7)),
            Spec("purchase_invoice", 4, (("5000", R20, 1),), 1100, "Drinks and confectionery", per_month=3,
                 pay=(30, 5)),
            Spec("purchase_invoice", 1, (("5010", R0, 1),), 4300, "Weekly chilled stock", schedule="weekly",
                 sigma=0.08, pay=(28, 3), pattern="regular_large"),
            Spec("purchase_invoice", 2, (("5300", R20, 1),), 420, "Packaging", per_month=1.5),
            Spec("purchase_invoice", 1, (("5100", R20, 1),), 640, "Haulage", schedule="weekly", sigma=0.2),
            Spec("purchase_invoice", 1, (("7300", R20, 1),), 310, "Fuel card", schedule="weekly", sigma=0.25,
                 pay=(7, 2)),
            Spec("purchase_invoice", 1, (("7100", R20, 1),), 4000, "Warehouse rent", schedule="monthly",
                 fixed=True, pay=(3, 1), pattern="round_habit"),
            Spec("purchase_invoice", 2, (("7800", R20, 1),), 380, "Repairs and maintenance", per_month=0.7,
                 sigma=0.6),
            *_OVERHEADS,
        ),
        payroll=30000, depreciation=(420, 1150)),
    "shop": Trade(
        "shop", ("Harbour Street Deli & Café", "The Old Forge Café", "Larder & Loaf"),
        (0.8, 0.8, 0.9, 0.9, 1.1, 1.6, 0.0), True, (0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.4, 1.1, 1.0, 0.9, 1.2),
        (
            Spec("sales_invoice", 1, (("4000", R20, 1),), 640, "Card takings (Z report)", schedule="daily",
                 days="trading", sigma=0.2, pay=(1, 0), part=0, unpaid=0, pattern="till"),
            Spec("sales_invoice", 1, (("4000", R20, 1),), 160, "Cash takings (Z report)", schedule="daily",
                 days="trading", sigma=0.3, pay=(1, 0), part=0, unpaid=0, pattern="till"),
            Spec("sales_invoice", 1, (("4010", R0, 1),), 210, "Cold food takings (Z report)", schedule="daily",
                 days="trading", sigma=0.25, pay=(1, 0), part=0, unpaid=0, pattern="till"),
            Spec("sales_invoice", 14, (("4000", R20, 1),), 420, "Event catering", per_month=0.8, sigma=0.4,
                 pay=(21, 7), new_per_month=1),
            Spec("purchase_invoice", 1, (("5010", R0, 1),), 610, "Weekly food order", schedule="weekly",
                 sigma=0.2, pay=(14, 2)),
            Spec("purchase_invoice", 1, (("5010", R0, 1),), 84.6, "Bread standing order", schedule="twice_weekly",
                 fixed=True, pay=(7, 1), pattern="standing_order"),
            Spec("purchase_invoice", 1, (("5010", R0, 1),), 125, "Dairy", schedule="weekly", sigma=0.15),
            Spec("purchase_invoice", 2, (("5000", R20, 1),), 330, "Coffee and soft drinks", per_month=2),
            Spec("purchase_invoice", 1, (("5300", R20, 1),), 180, "Takeaway packaging", per_month=1.5),
            Spec("purchase_invoice", 1, (("7100", R0, 1),), 2500, "Shop rent", schedule="monthly", fixed=True,
                 pay=(2, 1), pattern="round_habit"),
            Spec("purchase_invoice", 1, (("7103", R0, 1),), 410, "Business rates", schedule="monthly", fixed=True,
                 pay=(5, 1)),
            Spec("purchase_invoice", 1, (("7900", R0, 1),), 175, "Card processing fees", schedule="monthly",
                 sigma=0.2, pay=(0, 0)),
            *_OVERHEADS,
        ),
        payroll=11500, depreciation=(260, 0)),
    "trades": Trade(
        "trades", ("Northgate Joinery Ltd", "Fenwick & Daughters Builders Ltd", "Oakline Kitchens Ltd"),
        BUSINESS_WEEK, False, (0.7, 0.8, 1.0, 1.1, 1.1, 1.1, 1.0, 0.9, 1.1, 1.1, 1.0, 0.8),
        (
            Spec("sales_invoice", 40, (("4000", R20, 0.8), ("4020", R5, 0.2)), 1900, "Joinery works", spread=0.5,
                 sigma=0.6, per_month=1.4, pay=(28, 10), part=0.2, new_per_month=2),
            Spec("sales_invoice", 25, (("4000", R20, 1),), 2600, "Kitchen fitting", spread=0.4, sigma=0.5,
                 per_month=0.15, pay=(14, 7), part=0.5, new_per_month=12, pattern="new_customer"),
            Spec("sales_invoice", 3, (("4010", R0, 1),), 3600, "New-build joinery (zero-rated)", sigma=0.4,
                 per_month=1.2, pay=(45, 10), part=0.3, mixed=False),
            Spec("purchase_invoice", 2, (("5000", R20, 1),), 820, "Timber and sheet materials", per_month=7,
                 sigma=0.5, pay=(30, 5)),
            Spec("purchase_invoice", 2, (("5000", R20, 1),), 140, "Ironmongery", per_month=5, sigma=0.5),
            Spec("purchase_invoice", 1, (("5000", R20, 0.85), ("0030", R20, 0.15)), 160, "Tools and fixings",
                 per_month=6, days="any", sigma=0.8, pay=(0, 0), pattern="any_day_supplier"),
            Spec("purchase_invoice", 3, (("6000", R20, 1),), 2300, "Subcontract electrician", per_month=1.2,
                 sigma=0.4, pay=(14, 3)),
            Spec("purchase_invoice", 1, (("5000", R5, 1),), 900, "Insulation materials", per_month=1.5, sigma=0.5),
            Spec("purchase_invoice", 1, (("7300", R20, 1),), 545, "Van lease", schedule="monthly", fixed=True,
                 pay=(1, 0)),
            Spec("purchase_invoice", 1, (("7300", R20, 1),), 140, "Fuel", schedule="weekly", sigma=0.3,
                 pay=(3, 1)),
            Spec("purchase_invoice", 1, (("7800", R20, 1),), 260, "Skip hire", per_month=1.5, sigma=0.2),
            Spec("purchase_invoice", 1, (("7100", R20, 1),), 1500, "Workshop rent", schedule="monthly",
                 fixed=True, pay=(3, 1), pattern="round_habit"),
            *_OVERHEADS,
        ),
        payroll=17000, depreciation=(300, 690)),
    "consultancy": Trade(
        "consultancy", ("Brightwave Consulting Ltd", "Calder Analytics Ltd", "Northstar Advisory LLP"),
        BUSINESS_WEEK, False, (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 1.0, 1.0, 1.0, 0.8),
        (
            Spec("sales_invoice", 12, (("4100", R20, 1),), 3000, "Monthly retainer", schedule="monthly",
                 fixed=True, round_to=500, spread=0.6, pay=(30, 8), part=0.02, pattern="round_habit"),
            Spec("sales_invoice", 30, (("4100", R20, 0.9), ("4900", R20, 0.1)), 3900, "Consulting days",
                 round_to=650, spread=0.3, sigma=0.6, per_month=0.9, pay=(35, 12), new_per_month=1.5),
            Spec("purchase_invoice", 4, (("6000", R0, 1),), 3800, "Associate consultant", per_month=1,
                 spread=0.2, sigma=0.25, pay=(21, 4), mixed=False),
            Spec("purchase_invoice", 2, (("7400", R0, 1),), 85, "Rail travel", per_month=6, sigma=0.7, pay=(0, 0)),
            Spec("purchase_invoice", 2, (("7401", R20, 1),), 140, "Hotels", per_month=3, sigma=0.4, pay=(0, 0)),
            Spec("purchase_invoice", 1, (("7100", R20, 1),), 1850, "Serviced office", schedule="monthly",
                 fixed=True, pay=(3, 1)),
            Spec("purchase_invoice", 2, (("6100", R20, 1),), 600, "Marketing and events", per_month=0.8,
                 sigma=0.6),
            *_OVERHEADS,
        ),
        payroll=42000, depreciation=(380, 0)),
    "online": Trade(
        "online", ("Kiln & Clay Online Ltd", "Northern Thread Co Ltd", "Little Fern Homeware Ltd"),
        (1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.3), True, (0.8, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.1, 1.4, 1.8),
        (
            Spec("sales_invoice", 1, (("4000", R20, 1),), 520, "Marketplace settlement", schedule="daily",
                 days="trading", sigma=0.3, pay=(7, 0), part=0, unpaid=0, pattern="seven_day_trading"),
            Spec("sales_invoice", 1, (("4000", R20, 1),), 310, "Web shop takings", schedule="daily",
                 days="trading", sigma=0.35, pay=(2, 0), part=0, unpaid=0, pattern="seven_day_trading"),
            Spec("sales_invoice", 45, (("4000", R20, 0.9), ("4010", R0, 0.1)), 460, "Wholesale to stockist",
                 spread=0.6, sigma=0.35, per_month=1.6, pay=(30, 10), part=0.05, new_per_month=1.5),
            Spec("purchase_invoice", 3, (("5000", R20, 1),), 900, "Clay, glaze and materials", per_month=2.5,
                 sigma=0.4, pay=(30, 5)),
            Spec("purchase_invoice", 1, (("5100", R20, 1),), 380, "Courier collections", schedule="weekly",
                 sigma=0.25, pay=(14, 2)),
            Spec("purchase_invoice", 1, (("5100", R0, 1),), 210, "Postage", schedule="weekly", sigma=0.25,
                 pay=(7, 2)),
            Spec("purchase_invoice", 1, (("5300", R20, 1),), 260, "Packaging", per_month=2, sigma=0.3),
            Spec("purchase_invoice", 1, (("7900", R0, 1),), 240, "Marketplace fees", schedule="monthly",
                 sigma=0.25, pay=(0, 0)),
            Spec("purchase_invoice", 1, (("6100", R20, 1),), 450, "Online advertising", schedule="monthly",
                 sigma=0.3, pay=(0, 0)),
            Spec("purchase_invoice", 1, (("7100", R20, 1),), 1200, "Studio rent", schedule="monthly", fixed=True,
                 pay=(3, 1), pattern="round_habit"),
            *_OVERHEADS,
        ),
        payroll=9000, depreciation=(520, 0)),
    "dental": Trade(
        "dental", ("Riverside Dental Practice", "Abbey Road Dental Care", "Southfield Dental Studio"),
        (1.0, 1.0, 1.0, 1.0, 0.9, 0.4, 0.0), False, FLAT,
        (
            Spec("sales_invoice", 600, (("4000", R0, 1),), 95, "Treatment (exempt)", spread=0.6, sigma=0.7,
                 per_month=0.35, days="trading", pay=(0, 0), part=0.03, unpaid=0.01, new_per_month=40,
                 pattern="patient"),
            Spec("sales_invoice", 30, (("4020", R20, 1),), 340, "Cosmetic whitening", per_month=0.1,
                 days="trading", pay=(0, 0), part=0, new_per_month=2, mixed=False),
            Spec("sales_invoice", 1, (("4100", R0, 1),), 18500, "NHS contract payment", schedule="monthly",
                 sigma=0.03, pay=(0, 0), part=0, unpaid=0, pattern="regular_large"),
            Spec("purchase_invoice", 1, (("5200", R0, 1),), 880, "Dental laboratory work", schedule="weekly",
                 sigma=0.3, pay=(30, 3)),
            Spec("purchase_invoice", 2, (("5000", R20, 1),), 390, "Clinical consumables", per_month=4, sigma=0.4),
            Spec("purchase_invoice", 1, (("7800", R20, 1),), 140, "Clinical waste collection",
                 schedule="monthly", fixed=True),
            Spec("purchase_invoice", 1, (("7100", R0, 1),), 3250, "Surgery rent", schedule="monthly",
                 fixed=True, pay=(1, 0), pattern="round_habit"),
            *_OVERHEADS,
        ),
        payroll=38000, depreciation=(900, 0)),
}


# ---------------------------------------------------------------------------------------------------- documents


@dataclass(eq=False)
class Doc:
    """One generated row before ids and references are assigned."""

    kind: str
    date: date
    party: str
    account: str
    amount: Decimal
    rate: Decimal | None
    description: str
    settles: Doc | None = None  # a payment's invoice
    after: Doc | None = None  # the row this one must follow on the same day (a duplicate's original)
    journal: int = 0  # journal number for journal lines
    reference: str = ""
    label: str = ""
    pattern: str = ""
    id: str = ""
    order: float = 0.0


@dataclass(eq=False)
class Party:
    code: str
    spec: Spec
    median: float
    accounts: list[tuple[str, Decimal, float]]
    weekdays: tuple[int, ...] = ()  # for weekly / twice-weekly schedules
    day_of_month: int = 1
    month: int = 1  # for annual / quarterly schedules
    since: date = HISTORY[0]
    next_number: int = 0
    docs: list[Doc] = field(default_factory=list)


def _gross(net: float, rate: Decimal) -> Decimal:
    net_d = Decimal(str(round(net, 2)))
    return (net_d * (1 + rate / 100)).quantize(CENT)


# ---------------------------------------------------------------------------------------------------- simulation


class Tenant:
    """One synthetic business: its parties, its normal ledger, then injected anomalies and labels."""

    def __init__(self, trade: Trade, rng: random.Random, slug: str, name: str, size: float = 1.0) -> None:
        self.trade, self.rng, self.slug, self.name, self.size = trade, rng, slug, name, size
        self.docs: list[Doc] = []
        self.parties: list[Party] = []
        self.codes: set[str] = set()
        self.journal_no = 0
        start, end = HISTORY[0], RECORDS[1]
        self.days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        self.bank_holidays = set().union(*(holidays("GB", y) for y in (2025, 2026)))

    # ------------------------------------------------------------------------------------------ calendar

    def business_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self.bank_holidays

    def trading_day(self, d: date) -> bool:
        if self.trade.week[d.weekday()] == 0:
            return False
        if d in self.bank_holidays:
            return self.trade.open_on_holidays and (d.month, d.day) not in ((12, 25), (12, 26), (1, 1))
        return True

    def next_business_day(self, d: date) -> date:
        while not self.business_day(d):
            d += timedelta(days=1)
        return d

    def can_post(self, spec: Spec, d: date) -> bool:
        return {"business": self.business_day, "trading": self.trading_day}.get(spec.days, lambda _: True)(d)

    # ------------------------------------------------------------------------------------------ parties

    def new_code(self) -> str:
        while True:
            letters = "".join(self.rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
            code = f"{letters}{self.rng.randint(1, 99):02d}"
            if code not in self.codes:
                self.codes.add(code)
                return code

    def new_party(self, spec: Spec, since: date) -> Party:
        rng = self.rng
        median = spec.net * math.exp(rng.gauss(0, spec.spread)) if spec.count > 1 or spec.new_per_month else spec.net
        if spec.mixed:
            accounts = [(a, r, w * math.exp(rng.gauss(0, 0.5))) for a, r, w in spec.accounts]
        else:
            accounts = [rng.choices(spec.accounts, weights=[w for _, _, w in spec.accounts])[0]]
        party = Party(self.new_code(), spec, median, accounts, since=since,
                      weekdays=tuple(sorted(rng.sample(range(5), 2 if spec.schedule == "twice_weekly" else 1))),
                      day_of_month=rng.randint(1, 28), month=rng.randint(1, 12),
                      next_number=rng.randint(1000, 90000))
        self.parties.append(party)
        return party

    def build_parties(self) -> None:
        for spec in self.trade.specs:
            count = max(1, round(spec.count * self.size)) if spec.count > 1 else spec.count
            for _ in range(count):
                self.new_party(spec, HISTORY[0])

    # ------------------------------------------------------------------------------------------ normal ledger

    def simulate(self) -> None:
        self.build_parties()
        week_total = sum(self.trade.week) or 1.0
        for d in self.days:
            self._arrivals(d)
            for party in list(self.parties):
                if party.since <= d:
                    for _ in range(self._count(party, d, week_total)):
                        self.invoice(party, d)
        self.journals()

    def _arrivals(self, d: date) -> None:
        """New customers join over time, each with a first invoice the day they arrive."""
        for spec in self.trade.specs:
            chance = spec.new_per_month * self.size / 30.4
            if chance and self.can_post(spec, d) and self.rng.random() < chance:
                party = self.new_party(spec, d + timedelta(days=1))
                self.invoice(party, d).pattern = spec.pattern or "new_customer"

    def _count(self, party: Party, d: date, week_total: float) -> int:
        spec, rng = party.spec, self.rng
        schedule = spec.schedule
        if schedule == "daily":
            return int(self.can_post(spec, d))
        if schedule in ("weekly", "twice_weekly"):
            return int(d.weekday() in party.weekdays and self.business_day(d))
        if schedule in ("monthly", "quarterly", "annual"):
            due = self._due(party, d.year, d.month)
            return int(due == d)
        if not self.can_post(spec, d):
            return 0
        weight = self.trade.week[d.weekday()] if spec.days == "trading" else 1.0
        days_per_month = 30.4 * (week_total / 7 if spec.days == "trading" else 5 / 7 if spec.days == "business"
                                 else 1.0)
        lam = spec.per_month / days_per_month * weight * self.trade.season[d.month - 1]
        return _poisson(rng, lam)

    def _due(self, party: Party, year: int, month: int) -> date | None:
        schedule = party.spec.schedule
        if schedule == "annual" and month != party.month:
            return None
        if schedule == "quarterly" and (month - party.month) % 3:
            return None
        day = 1 if party.spec.pattern == "round_habit" and party.spec.kind == "sales_invoice" else party.day_of_month
        return self.next_business_day(date(year, month, day))

    def amount(self, party: Party, d: date, rate: Decimal) -> Decimal:
        spec = party.spec
        if spec.fixed:
            net = party.median * (1.03 if d >= RECORDS[0] and spec.kind == "purchase_invoice" else 1.0)
        else:
            net = party.median * math.exp(self.rng.gauss(0, spec.sigma))
            if spec.schedule == "daily":
                net *= self.trade.week[d.weekday()] * self.trade.season[d.month - 1]
        if spec.round_to:
            net = max(spec.round_to, round(net / spec.round_to) * spec.round_to)
        return _gross(net, rate)

    def invoice(self, party: Party, d: date, *, account: str | None = None, rate: Decimal | None = None,
                amount: Decimal | None = None, label: str = "", paid: bool = True) -> Doc:
        if account is None:
            account, rate, _ = self.rng.choices(party.accounts, weights=[w for _, _, w in party.accounts])[0]
        assert rate is not None
        value = amount if amount is not None else self.amount(party, d, rate)
        doc = Doc(party.spec.kind, d, party.code, account, value, rate, party.spec.what, label=label,
                  pattern=party.spec.pattern)
        party.docs.append(doc)
        self.docs.append(doc)
        if paid and not label:
            self.payments(party, doc)
        return doc

    def payments(self, party: Party, invoice: Doc) -> None:
        spec, rng = party.spec, self.rng
        if rng.random() < spec.unpaid:
            return
        mean, sd = spec.pay
        first = invoice.date + timedelta(days=max(0, round(rng.gauss(mean, sd))))
        first = first if mean == 0 else self.next_business_day(first)
        if rng.random() < spec.part and invoice.amount >= 100:
            part = Decimal(int(float(invoice.amount) * rng.uniform(0.3, 0.7)))
            self.pay(invoice, first, part, "part_payment")
            if rng.random() < 0.9:
                later = self.next_business_day(first + timedelta(days=rng.randint(10, 40)))
                self.pay(invoice, later, invoice.amount - part, "part_payment")
        else:
            self.pay(invoice, first, invoice.amount, "")

    def pay(self, invoice: Doc, d: date, amount: Decimal, pattern: str, label: str = "") -> Doc | None:
        if d > RECORDS[1]:
            return None
        method = "Card settlement" if invoice.pattern in ("till", "patient", "seven_day_trading") else "BACS"
        doc = Doc("payment", d, invoice.party, "1200", amount, None, method, settles=invoice, label=label,
                  pattern=pattern)
        self.docs.append(doc)
        return doc

    # ------------------------------------------------------------------------------------------ journals

    def journal(self, d: date, what: str, lines: Sequence[tuple[str, float]], label: str = "",
                pattern: str = "") -> list[Doc]:
        self.journal_no += 1
        total = sum(round(v, 2) for _, v in lines)
        assert abs(total) < 0.005, f"journal {what} does not balance: {total}"
        docs = [Doc("journal", d, "", account, Decimal(str(round(value, 2))), None, what, journal=self.journal_no,
                    label=label, pattern=pattern or ("period_end_journal" if not self.business_day(d) else ""))
                for account, value in lines]
        self.docs += docs
        return docs

    def journals(self) -> None:
        """Payroll, its payments, depreciation, an accrual and its reversal, prepaid insurance, quarterly VAT."""
        rng, trade = self.rng, self.trade
        insurance = [doc for doc in self.docs if doc.account == "7700" and doc.kind == "purchase_invoice"]
        for month_start in sorted({date(d.year, d.month, 1) for d in self.days}):
            end = _month_end(month_start)
            pay_day = end
            while not self.business_day(pay_day):
                pay_day -= timedelta(days=1)
            gross = round(trade.payroll * rng.uniform(0.97, 1.05) * (1.25 if month_start.month == 12 else 1), 2)
            er_ni, er_pen, deductions, ee_pen = (round(gross * f, 2) for f in (0.11, 0.03, 0.2, 0.05))
            net = round(gross - deductions - ee_pen, 2)
            label = f"Payroll {month_start:%b %Y}"
            self.journal(pay_day, label, [("7000", gross), ("7006", er_ni), ("7007", er_pen),
                                          ("2210", -(er_ni + deductions)), ("2230", -(er_pen + ee_pen)),
                                          ("2220", -net)])
            self.journal(pay_day, f"Net wages paid {month_start:%b %Y}", [("2220", net), ("1200", -net)])
            hmrc = self.next_business_day(month_start + timedelta(days=21))
            self.journal(hmrc, "PAYE/NI to HMRC", [("2210", round(er_ni + deductions, 2)),
                                                   ("1200", -round(er_ni + deductions, 2))])
            equipment, vehicles = trade.depreciation
            lines = [("8000", equipment + vehicles), ("0031", -equipment)] + ([("0051", -vehicles)] if vehicles else [])
            self.journal(end, "Depreciation", lines)
            accrual = round(trade.payroll * 0.02 * rng.uniform(0.8, 1.2), 2)
            self.journal(end, "Electricity accrual", [("7200", accrual), ("2109", -accrual)])
            if end < RECORDS[1]:
                self.journal(end + timedelta(days=1), "Reversal of electricity accrual",
                             [("2109", accrual), ("7200", -accrual)])
            for premium in insurance:
                months_in = (end.year - premium.date.year) * 12 + end.month - premium.date.month
                if 0 <= months_in < 12:
                    release = round(float(premium.amount) / 12, 2)
                    self.journal(end, "Insurance prepayment release", [("7700", release), ("1103", -release)])
                if months_in == 0:
                    self.journal(premium.date, "Insurance to prepayments", [("1103", float(premium.amount)),
                                                                           ("7700", -float(premium.amount))])
            if month_start.month in (2, 5, 8, 11):
                vat = round(trade.payroll * rng.uniform(0.5, 0.9), 2)
                self.journal(self.next_business_day(month_start + timedelta(days=6)), "VAT return payment",
                             [("2200", vat), ("1200", -vat)])


def _month_end(d: date) -> date:
    return (date(d.year + d.month // 12, d.month % 12 + 1, 1)) - timedelta(days=1)


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: fine for the small rates used here."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# ---------------------------------------------------------------------------------------------------- anomalies


class NoCandidate(Exception):
    """A tenant has nothing to build an anomaly of some kind from (no party without round amounts left...)."""


class Injector:
    """Adds labelled anomalies to a tenant's scored period. Every injected row is extra; the rest of the row
    (party, account, rate, amount, day) is as normal as the kind allows, so each kind is tested on its own."""

    def __init__(self, tenant: Tenant) -> None:
        self.t = tenant
        self.rng = tenant.rng
        self.record_days = [d for d in tenant.days if d >= RECORDS[0] and tenant.business_day(d)]
        self.unissued: list[Doc] = []

    def established(self, kind: str | None = None, *, min_docs: int = 10, plain: bool = True) -> list[Party]:
        """Parties with enough history to have habits (and, if ``plain``, without the odd ones)."""
        out = []
        for p in self.t.parties:
            history = [d for d in p.docs if d.date <= HISTORY[1] and not d.label]
            if len(history) < min_docs or (kind and p.spec.kind != kind):
                continue
            if plain and (p.spec.fixed or p.spec.days != "business" or p.spec.schedule == "daily"):
                continue
            out.append(p)
        return out

    def typical(self, party: Party) -> Decimal:
        history = sorted(d.amount for d in party.docs if d.date <= HISTORY[1] and not d.label)
        return history[len(history) // 2]

    def day(self) -> date:
        return self.rng.choice(self.record_days)

    def inject(self, kind: str) -> list[Doc]:
        """The rows of one injected anomaly, or none when this tenant has no candidate for that kind."""
        try:
            return getattr(self, kind)()
        except NoCandidate:
            return []

    def pick(self, pool: Sequence[T]) -> T:
        if not pool:
            raise NoCandidate
        return self.rng.choice(pool)

    # ------------------------------------------------------------------------------------------ kinds

    def duplicate(self) -> list[Doc]:
        parties = {p.code for p in self.established()}
        pool = [d for d in self.t.docs if d.kind != "payment" and d.kind != "journal" and d.party in parties
                and RECORDS[0] <= d.date <= RECORDS[1] - timedelta(days=7) and not d.label]
        original = self.pick(pool)
        when = original.date + timedelta(days=self.rng.choice((0, 1, 1, 2, 3, 4)))
        when = self.t.next_business_day(when)
        party = next(p for p in self.t.parties if p.code == original.party)
        copy = self.t.invoice(party, when, account=original.account, rate=original.rate, amount=original.amount,
                              label="duplicate")
        copy.after = original
        return [copy]

    def amount_outlier(self) -> list[Doc]:
        party = self.pick(self.established())
        account, rate, _ = max(party.accounts, key=lambda a: a[2])
        factor = self.rng.uniform(6, 20) if self.rng.random() < 0.8 else 1 / self.rng.uniform(10, 40)
        amount = (self.typical(party) * Decimal(str(round(factor, 3)))).quantize(CENT)
        if _is_round(amount):
            amount += Decimal("0.37")
        return [self.t.invoice(party, self.day(), account=account, rate=rate, amount=amount,
                               label="amount_outlier")]

    def new_party_large(self) -> list[Doc]:
        kind = "purchase_invoice" if self.rng.random() < 0.7 else "sales_invoice"
        amounts = sorted(d.amount for d in self.t.docs if d.kind == kind and d.date <= HISTORY[1])
        pick = amounts[int(len(amounts) * self.rng.uniform(0.97, 0.999))]
        amount = (pick * Decimal(str(round(self.rng.uniform(1.0, 2.5), 3)))).quantize(CENT)
        if _is_round(amount):
            amount += Decimal("0.61")
        spec = next(s for s in self.t.trade.specs if s.kind == kind and s.schedule == "random")
        account, rate, _ = max(spec.accounts, key=lambda a: a[2])
        party = self.t.new_party(replace(spec, per_month=0.0, new_per_month=0.0), self.day())
        return [self.t.invoice(party, party.since, account=account, rate=rate, amount=amount,
                               label="new_party_large")]

    def new_account_for_party(self) -> list[Doc]:
        charts = {kind: self.rare_accounts(kind) for kind in ("sales_invoice", "purchase_invoice")}
        pool = [p for p in self.established() if len({d.account for d in p.docs}) <= 2
                and set(charts[p.spec.kind]) - {d.account for d in p.docs}]
        party = self.pick(pool)
        used = {d.account for d in party.docs}
        chart = charts[party.spec.kind]
        account = self.rng.choice([a for a in chart if a not in used])
        rate = chart[account]
        amount = self.typical(party)
        return [self.t.invoice(party, self.day(), account=account, rate=rate, amount=amount,
                               label="new_account_for_party")]

    def unusual_tax_rate(self) -> list[Doc]:
        carried: dict[tuple[str, str], set[Decimal | None]] = defaultdict(set)
        for doc in self.t.docs:
            carried[doc.account, doc.kind].add(doc.rate)
        pool = [p for p in self.established() if {R0, R5, R20} - carried[max(p.accounts, key=lambda a: a[2])[0],
                                                                            p.spec.kind]]
        party = self.pick(pool)
        account, usual, _ = max(party.accounts, key=lambda a: a[2])
        rate = self.rng.choice([r for r in (R0, R5, R20) if r not in carried[account, party.spec.kind]])
        net = float(self.typical(party)) / (1 + float(usual) / 100)
        return [self.t.invoice(party, self.day(), account=account, rate=rate, amount=_gross(net, rate),
                               label="unusual_tax_rate")]

    def round_amount(self) -> list[Doc]:
        pool = [p for p in self.established() if not any(_is_round(d.amount) for d in p.docs)
                and self.typical(p) >= 150]
        party = self.pick(pool)
        account, rate, _ = max(party.accounts, key=lambda a: a[2])
        typical = float(self.typical(party)) * self.rng.uniform(0.7, 1.4)
        step = max(s for s in (50, 100, 500, 1000) if s <= max(50.0, typical / 2))
        amount = Decimal(max(step, round(typical / step) * step))
        return [self.t.invoice(party, self.day(), account=account, rate=rate, amount=amount.quantize(CENT),
                               label="round_amount")]

    def non_business_day(self) -> list[Doc]:
        closed = [d for d in self.t.days if d >= RECORDS[0] and not self.t.trading_day(d)
                  and (d.weekday() >= 5 or d in self.t.bank_holidays)]
        party = self.pick(self.established())
        account, rate, _ = max(party.accounts, key=lambda a: a[2])
        amount = self.t.amount(party, RECORDS[0], rate)
        return [self.t.invoice(party, self.pick(closed), account=account, rate=rate, amount=amount,
                               label="non_business_day")]

    def split_under_limit(self) -> list[Doc]:
        party = self.pick(self.established("purchase_invoice", min_docs=6))
        account, rate, _ = max(party.accounts, key=lambda a: a[2])
        when = self.day()
        parts = 2 if self.rng.random() < 0.6 else 3
        return [self.t.invoice(party, when, account=account, rate=rate,
                               amount=(APPROVAL_LIMIT * Decimal(str(round(self.rng.uniform(0.86, 0.995), 4))))
                               .quantize(CENT), label="split_under_limit") for _ in range(parts)]

    def payment_without_invoice(self) -> list[Doc]:
        party = self.pick(self.established(min_docs=6))
        amount = self.typical(party)
        doc = Doc("payment", self.day(), party.code, "1200", amount, None, "BACS", label="payment_without_invoice")
        others = [d for d in self.t.docs if d.kind == party.spec.kind and d.party != party.code and not d.label]
        if self.rng.random() < 0.5 and others:
            doc.settles = self.rng.choice(others)  # the number of another party's invoice
        else:
            self.unissued.append(doc)  # a number that was never issued (a typo or a made-up invoice)
        self.t.docs.append(doc)
        return [doc]

    def overpayment(self) -> list[Doc]:
        paid: dict[int, list[Doc]] = defaultdict(list)
        for d in self.t.docs:
            if d.kind == "payment" and d.settles is not None and not d.label:
                paid[id(d.settles)].append(d)
        pool = [ps[0] for ps in paid.values() if len(ps) == 1 and ps[0].amount == ps[0].settles.amount
                and RECORDS[0] - timedelta(days=30) <= ps[0].date <= RECORDS[1] - timedelta(days=40)
                and ps[0].settles.pattern not in ("till", "patient", "seven_day_trading")]
        first = self.pick(pool)
        invoice = first.settles
        assert invoice is not None
        when = self.t.next_business_day(max(first.date, RECORDS[0]) + timedelta(days=self.rng.randint(1, 30)))
        share = Decimal(1) if self.rng.random() < 0.7 else Decimal(str(round(self.rng.uniform(0.2, 0.9), 3)))
        return [self.t.pay(invoice, when, (invoice.amount * share).quantize(CENT), "", label="overpayment")]

    def unpaired_journal_accounts(self) -> list[Doc]:
        journals: dict[int, list[Doc]] = defaultdict(list)
        for d in self.t.docs:
            if d.kind == "journal":
                journals[d.journal].append(d)
        pairs = set()
        for lines in journals.values():
            pairs |= {frozenset((a.account, b.account)) for a in lines for b in lines
                      if a.amount > 0 > b.amount}
        accounts = sorted({d.account for d in self.t.docs if d.kind == "journal"} | {"4000", "5000", "7100"})
        while True:
            debit, credit = self.rng.sample(accounts, 2)
            if frozenset((debit, credit)) not in pairs:
                break
        value = round(self.rng.uniform(150, 4000), 2)
        return self.t.journal(self.day(), self.rng.choice(("Reclassification", "Correction", "Adjustment",
                                                           "Transfer")),
                              [(debit, value), (credit, -value)], label="unpaired_journal_accounts")

    def rare_accounts(self, kind: str) -> dict[str, Decimal]:
        """The tenant's accounts of one side (sales or purchases) that at most a quarter of that side's parties
        use, with their usual VAT rate: a party landing on one of those is a miscoding, not a drift between
        standard and zero-rated sales that half the customers share."""
        rates: dict[str, list[Decimal]] = defaultdict(list)
        users: dict[str, set[str]] = defaultdict(set)
        for doc in self.t.docs:
            if doc.kind == kind and doc.rate is not None and not doc.label:
                rates[doc.account].append(doc.rate)
                users[doc.account].add(doc.party)
        parties = len({doc.party for doc in self.t.docs if doc.kind == kind})
        return {a: max(set(r), key=r.count) for a, r in sorted(rates.items()) if len(users[a]) <= parties / 4}


def _is_round(amount: Decimal) -> bool:
    return amount >= 100 and amount % 50 == 0


# ---------------------------------------------------------------------------------------------------- output


def _finish(tenant: Tenant, unissued: Sequence[Doc]) -> None:
    """Numbers invoices and journals in date order, points payments at their invoices, orders rows by date (the
    order within a day is random, so an injected row's position says nothing) and assigns ids."""
    rng = tenant.rng
    for doc in tenant.docs:
        doc.order = rng.random()
    for doc in tenant.docs:  # a same-day payment comes after the invoice it settles, a duplicate after its original
        first = doc.settles or doc.after
        if first is not None and first.date == doc.date and doc.order < first.order:
            doc.order = first.order + (1 - first.order) * rng.random()
    tenant.docs.sort(key=lambda d: (d.date, d.order))
    prefix = tenant.slug[:2].upper()
    sales = 10000 + rng.randint(0, 5000)
    party_numbers = {p.code: p.next_number for p in tenant.parties}
    journal_numbers: dict[int, str] = {}
    for doc in tenant.docs:
        if doc.kind == "sales_invoice":
            sales += 1
            doc.reference = f"INV-{sales}"
        elif doc.kind == "purchase_invoice":
            party_numbers[doc.party] += rng.randint(1, 40)
            doc.reference = f"{doc.party[:3]}-{party_numbers[doc.party]}"
        elif doc.kind == "journal":
            doc.reference = journal_numbers.setdefault(doc.journal, f"JNL-{len(journal_numbers) + 1:05d}")
    for doc in tenant.docs:
        if doc.kind == "payment" and doc.settles is not None:
            doc.reference = doc.settles.reference
    for doc in unissued:
        sample = next(d for d in tenant.docs if d.party == doc.party and d.kind != "payment")
        head, _, number = sample.reference.rpartition("-")
        doc.reference = f"{head}-{int(number) + rng.randint(50000, 90000)}"
    for i, doc in enumerate(tenant.docs, start=1):
        doc.id = f"{prefix}{i:06d}"


def _row(doc: Doc) -> dict[str, str]:
    return {"id": doc.id, "kind": doc.kind, "date": doc.date.isoformat(), "party": doc.party,
            "account": doc.account, "amount": f"{doc.amount:.2f}", "currency": "GBP",
            "tax_rate": "" if doc.rate is None else _rate_text(doc.rate), "reference": doc.reference,
            "description": doc.description}


def _rate_text(rate: Decimal) -> str:
    return f"{rate:.2f}".rstrip("0").rstrip(".")


@dataclass
class TenantData:
    slug: str
    name: str
    trade: str
    history: list[dict[str, str]]
    records: list[dict[str, str]]
    labels: list[dict[str, str]]
    hard_negatives: list[dict[str, str]]


def generate_tenants(seed: int, trades: Sequence[tuple[str, float]] | None = None) -> list[TenantData]:
    """The ledgers of one split: a tenant per (trade, size) (four trades drawn by the seed when None)."""
    rng = random.Random(seed)
    chosen = list(trades) if trades is not None else [(key, 1.0) for key in rng.sample(sorted(TRADES), 4)]
    tenants = []
    for trade_key, size in chosen:
        trade = TRADES[trade_key]
        name = rng.choice(trade.names)
        slug = "-".join(name.lower().replace("&", "and").split()[:2])
        tenant = Tenant(trade, random.Random(rng.getrandbits(64)), slug, name, size)
        tenant.simulate()
        tenants.append(tenant)
    unissued = _inject(tenants, rng)
    out = []
    for tenant in tenants:
        _finish(tenant, unissued[tenant.slug])
        scored = [d for d in tenant.docs if d.date >= RECORDS[0]]
        out.append(TenantData(
            tenant.slug, tenant.name, tenant.trade.key,
            history=[_row(d) for d in tenant.docs if d.date <= HISTORY[1]],
            records=[_row(d) for d in scored],
            labels=[{"id": d.id, "anomaly_kind": d.label} for d in scored if d.label],
            hard_negatives=[{"id": d.id, "pattern": d.pattern} for d in scored if d.pattern and not d.label],
        ))
    return out


def _inject(tenants: Sequence[Tenant], rng: random.Random) -> dict[str, list[Doc]]:
    """EVENTS_PER_KIND events of each kind, each given to the tenant whose injected rows are the smallest share
    of its scored rows so far (a split is several rows, a journal two), so every tenant ends with a similar,
    small anomaly share; kinds a tenant cannot show (no closed days) go to the others."""
    sizes = {t.slug: sum(1 for d in t.docs if d.date >= RECORDS[0]) for t in tenants}
    injected = {t.slug: 0 for t in tenants}
    injectors = {t.slug: Injector(t) for t in tenants}
    for kind in ANOMALY_KINDS:
        able = [t for t in tenants
                if kind != "non_business_day" or t.trade.week[6] == 0 or not t.trade.open_on_holidays]
        for _ in range(EVENTS_PER_KIND):
            for tenant in sorted(able, key=lambda t: ((injected[t.slug] + 1) / sizes[t.slug], t.slug)):
                rows = injectors[tenant.slug].inject(kind)
                if rows:
                    injected[tenant.slug] += len(rows)
                    break
            else:
                raise RuntimeError(f"no tenant can take another {kind} anomaly")
    return {slug: injector.unissued for slug, injector in injectors.items()}


def generate(seed: int, trades: Sequence[tuple[str, float]] | None = None,
             ) -> tuple[list[dict], list[dict], list[dict]]:
    """(history rows, record rows, labels) of every tenant of one split; each row carries its ``tenant`` slug
    next to the CSV columns (ids are unique across tenants: they start with the tenant's prefix)."""
    history, records, labels = [], [], []
    for t in generate_tenants(seed, trades):
        history += [{"tenant": t.slug, **row} for row in t.history]
        records += [{"tenant": t.slug, **row} for row in t.records]
        labels += [{"tenant": t.slug, **row} for row in t.labels]
    return history, records, labels


def write_split(split: str, directory: Path = DATA_DIR, *, seed: int | None = None,
                trades: Sequence[tuple[str, float]] | None = None) -> list[TenantData]:
    """Write ``directory/split/<tenant>/{history,records}.csv.gz, labels.csv, hard_negatives.csv`` (the split's
    own seed and trades unless given)."""
    if seed is None:
        seed, trades = SPLITS[split]
    tenants = generate_tenants(seed, trades)
    for t in tenants:
        folder = directory / split / t.slug
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / "history.csv.gz", COLUMNS, t.history)
        _write(folder / "records.csv.gz", COLUMNS, t.records)
        _write(folder / "labels.csv", ("id", "anomaly_kind"), t.labels)
        _write(folder / "hard_negatives.csv", ("id", "pattern"), t.hard_negatives)
    return tenants


def _write(path: Path, columns: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    if path.suffix == ".gz":
        # mtime=0 keeps the bytes identical between runs, so a regenerated file shows no diff.
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
            handle.write(_csv_text(columns, rows).encode())
    else:
        path.write_text(_csv_text(columns, rows))


def _csv_text(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> str:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main() -> None:
    for split in SPLITS:
        for t in write_split(split):
            kinds = defaultdict(int)
            for label in t.labels:
                kinds[label["anomaly_kind"]] += 1
            share = len(t.labels) / len(t.records)
            print(f"{split:4} {t.slug:22} {t.trade:11} history {len(t.history):6} records {len(t.records):6} "
                  f"anomalies {len(t.labels):3} ({share:.2%}) hard negatives {len(t.hard_negatives):5}")


if __name__ == "__main__":
    main()
