"""Generate ``tenants.csv``: perturbed tenant variants of the Kashflow UK chart, with their gold targets.

Run ``.venv/bin/python -m ai_copilot.data.make_tenants`` (deterministic: the same file every time).

Why perturb: real tenants never use the default chart verbatim. Each tenant here starts from
``kashflow_uk.csv``, keeps a random 85 % of it, and is then renamed, abbreviated, mistyped, re-coded,
merged/split or stripped of types according to its variant. Gold targets follow the base accounts
(``gold_kashflow_ax.csv``, ``gold_kashflow_sage.csv``): a renamed or re-coded account keeps its base account's
targets, a split child inherits its parent's (unless the split changes the meaning, e.g. a EUR bank account),
and a merged account takes the targets common to its members, or all of their targets when they share none.

Split by tenant: of the five tenants per variant the first three are train, the last two test. Name material
that a learnt part could memorise (alternative names, abbreviation forms, merge and split groups) is divided
too: train tenants draw from the even-numbered entries of each list, test tenants from the odd-numbered ones,
so test tenants carry names no train tenant has.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

from ai_copilot.data.dataset import DATA_DIR, PAIRS, SOURCE_CHART, TENANTS_FILE, load_chart, load_gold

KINDS = ("clean", "renamed", "abbreviated", "typos", "recoded", "merged_split", "untyped", "mixed")
TENANTS_PER_KIND, TRAIN_PER_KIND = 5, 3
KEEP_SHARE = 0.85
SEED = "ledgerbridge-gl-v1"

# Kashflow classification label and SOAP number per base type (tenants carry one or the other).
TYPE_NUMBERS = {"Turnover": "1", "Cost of Sale": "2", "Expenditure": "3", "Fixed Asset": "4",
                "Current Asset/Liability": "5", "Capital & Reserves": "6"}

# Other names UK bookkeepers give these accounts. Even positions feed train tenants, odd positions test tenants.
RENAMES: dict[str, tuple[str, ...]] = {
    "10": ("Land and Buildings", "Property - Freehold", "Office Building"),
    "20": ("Machinery", "Plant & Equipment", "Production Equipment"),
    "21": ("Accumulated Depreciation - Plant", "Plant & Machinery Dep'n Provision", "P&M Depreciation"),
    "30": ("Computer Equipment", "Office Equipment and IT", "IT Hardware"),
    "31": ("Accumulated Depreciation - Office Equipment", "Office Equipment Depn Provision",
           "Computer Equipment Depreciation"),
    "40": ("Fixtures and Fittings", "Furniture & Fittings", "Office Furniture"),
    "41": ("Fixtures and Fittings Depreciation", "Accumulated Depreciation - Furniture"),
    "50": ("Vehicles", "Company Cars", "Motor Vans"),
    "51": ("Accumulated Depreciation - Vehicles", "Vehicle Depreciation Provision", "Motor Vans Depreciation"),
    "80": ("Goodwill at Cost", "Intangible Assets - Goodwill"),
    "1001": ("Inventory", "Stock on Hand", "Closing Stock", "Goods for Resale"),
    "1100": ("Trade Debtors", "Accounts Receivable", "Sales Ledger Control", "Debtors"),
    "1102": ("Sundry Debtors", "Other Receivables", "Staff Loans and Advances"),
    "1103": ("Prepaid Expenses", "Prepayments and Accrued Income", "Payments in Advance"),
    "1200": ("Bank Current Account", "Barclays Business Account", "Cash at Bank", "Lloyds Current A/c"),
    "1210": ("Deposit Account", "Savings Account", "Business Reserve Account"),
    "1230": ("Cash in Hand", "Petty Cash Float", "Cash Box"),
    "2100": ("Trade Creditors", "Accounts Payable", "Purchase Ledger Control", "Creditors"),
    "2109": ("Accrued Expenses", "Accrued Charges", "Accruals and Deferred Income"),
    "2200": ("Output VAT", "VAT - Sales", "Sales Tax"),
    "2201": ("Input VAT", "VAT - Purchases", "VAT Recoverable"),
    "2202": ("VAT Control", "VAT Payable", "HMRC VAT"),
    "2210": ("PAYE Payable", "Income Tax Deductions", "HMRC PAYE"),
    "2211": ("NIC Payable", "National Insurance Creditor", "Social Security Payable"),
    "2220": ("Wages Payable", "Net Pay Control", "Salaries Payable"),
    "2230": ("Pensions Payable", "Pension Creditor", "Workplace Pension"),
    "2300": ("Bank Loan", "Long Term Loans", "Loans Payable", "Business Loan"),
    "2310": ("Director's Current Account", "Loan from Directors", "Directors Loan"),
    "2320": ("Corporation Tax Payable", "Tax on Profits Payable", "CT Liability"),
    "3000": ("Ordinary Shares", "Called Up Share Capital", "Capital"),
    "3200": ("Retained Earnings", "Profit and Loss Reserve", "P&L Account"),
    "3260": ("Dividends Paid", "Equity Dividends", "Distributions to Shareholders"),
    "4000": ("Turnover", "Sales Income", "Revenue", "Product Sales"),
    "4001": ("Design Fees", "Service Income - Design", "Design Revenue"),
    "4002": ("Print Sales", "Printing Income", "Sales of Print"),
    "4009": ("Discounts Allowed", "Sales Discounts", "Customer Discounts"),
    "4200": ("Proceeds from Asset Disposals", "Disposal of Fixed Assets", "Asset Sales"),
    "4900": ("Miscellaneous Income", "Sundry Income", "Other Revenue"),
    "4902": ("Commission Income", "Commissions Earned", "Referral Commissions"),
    "4905": ("Carriage Charged", "Delivery Charges Income", "Postage and Packing Recharged"),
    "4906": ("Interest Received", "Interest Income", "Bank Interest"),
    "5000": ("Purchases", "Cost of Materials", "Raw Materials", "Cost of Sales - Materials"),
    "5100": ("Carriage Inwards", "Freight In", "Delivery Costs"),
    "5101": ("Customs Duty", "Import Duties and Levies", "Duty"),
    "6002": ("Subcontractor Costs", "Outside Services", "Freelancers"),
    "6100": ("Commissions Paid", "Agents' Commission", "Sales Agent Fees"),
    "6201": ("Marketing", "Advertising and Promotion", "Marketing Costs"),
    "7000": ("Salaries", "Staff Wages", "Wages and Salaries", "Payroll Costs"),
    "7001": ("Directors' Remuneration", "Directors Fees", "Officers Salaries"),
    "7006": ("Employer's National Insurance", "Employers NIC", "Payroll Taxes"),
    "7007": ("Pension Costs", "Employer Pension Contributions", "Staff Pensions"),
    "7100": ("Office Rent", "Rent Payable", "Premises Rent"),
    "7102": ("Water", "Water and Sewerage", "Water Charges"),
    "7103": ("Business Rates", "Rates", "Council Rates"),
    "7104": ("Buildings Insurance", "Property Insurance", "Insurance - Premises"),
    "7200": ("Light and Heat", "Power", "Electricity Costs"),
    "7201": ("Heating", "Gas Supply", "Heating Fuel"),
    "7300": ("Motor Fuel", "Petrol", "Fuel and Oil"),
    "7303": ("Motor Insurance", "Car Insurance", "Insurance - Vehicles"),
    "7304": ("Motor Expenses", "Vehicle Running Costs", "Motor Repairs"),
    "7400": ("Travel and Subsistence", "Travelling Expenses", "Business Travel"),
    "7401": ("Vehicle Hire", "Car Rental", "Hire Cars"),
    "7402": ("Accommodation", "Hotel Costs", "Lodging"),
    "7403": ("Client Entertaining", "Business Entertainment", "Hospitality"),
    "7500": ("Printing Costs", "Print and Reproduction", "Printing and Copying"),
    "7501": ("Postage and Courier", "Royal Mail", "Mailing Costs"),
    "7502": ("Telephone and Internet", "Phone", "Telecoms", "Mobile Phones"),
    "7504": ("Stationery", "Office Supplies", "Stationery and Office Sundries"),
    "7505": ("Books and Publications", "Reference Books", "Magazines and Books"),
    "7600": ("Solicitors Fees", "Legal Costs", "Legal Expenses"),
    "7601": ("Accountancy Fees", "Audit and Accountancy", "Bookkeeping Fees"),
    "7603": ("Consultancy Fees", "Professional Services", "Consulting Fees"),
    "7800": ("Repairs and Maintenance", "Maintenance", "Building Repairs"),
    "7801": ("Cleaning Costs", "Office Cleaning", "Cleaning and Hygiene"),
    "7803": ("Property Expenses", "Building Costs", "Premises Costs"),
    "7900": ("Bank Fees", "Bank Charges and Interest", "Merchant Fees"),
    "7903": ("Interest Paid", "Loan Interest", "Finance Costs"),
    "7906": ("Foreign Exchange Gains/Losses", "Currency Differences", "FX Variance"),
    "8000": ("Depreciation Charge", "Depreciation Expense", "Amortisation and Depreciation"),
    "8100": ("Bad Debts", "Bad and Doubtful Debts", "Debts Written Off"),
    "8201": ("Memberships", "Subscriptions and Dues", "Professional Subscriptions"),
    "8202": ("Uniforms", "Workwear", "Protective Clothing"),
    "8203": ("Staff Training", "Courses and Training", "Education"),
    "8204": ("General Insurance", "Business Insurance", "Insurance Premiums"),
    "8205": ("Staff Refreshments", "Tea and Coffee", "Staff Welfare"),
    "9999": ("Suspense Account", "Mispostings", "Clearing"),
}

# Word (or phrase) -> short forms seen in charts. Even positions feed train tenants, odd positions test tenants.
ABBREVIATE: dict[str, tuple[str, ...]] = {
    "depreciation": ("Dep'n", "Depn", "Depr", "Deprec"), "accountancy": ("Acc'y", "Accy"),
    "accounting": ("Acctg", "Acc"), "account": ("A/c", "Acct", "Acc"), "and": ("&", "+"),
    "expenses": ("Exps", "Exp", "Expns"), "insurance": ("Ins", "Insce", "Insur"),
    "telephone": ("Tel", "Tele"), "national insurance": ("NI", "NIC"), "miscellaneous": ("Misc", "Misc."),
    "professional": ("Prof", "Prof'l"), "subscriptions": ("Subs", "Subscr"), "equipment": ("Equip", "Eqpt"),
    "entertainment": ("Ent", "Ent'mt"), "commissions": ("Comms", "Commns"), "salaries": ("Sals", "Sal"),
    "stationery": ("Stat", "Sty"), "advertising": ("Advert", "Advtg"), "electricity": ("Elec", "Elect"),
    "vehicles": ("Vehs", "Veh"), "motor": ("Mtr", "Mot"), "directors": ("Dirs", "Dir's"),
    "retained": ("Ret'd", "Retd"), "premises": ("Prem", "Prems"), "maintenance": ("Maint", "Mtce"),
    "charges": ("Chgs", "Chg"), "contributions": ("Contribs", "Contrib"), "interest": ("Int", "Int."),
    "received": ("Rec'd", "Recd"), "purchases": ("Purch", "Purchs"), "creditors": ("Creds", "Cred"),
    "debtors": ("Drs", "Debs"), "control": ("Ctrl", "Cntrl"), "accumulated": ("Accum", "Acc"),
    "provision": ("Prov", "Provn"), "materials": ("Mat'ls", "Mats"), "repairs": ("Reprs", "Rprs"),
    "property": ("Prop", "Ppty"), "machinery": ("Mach", "Machy"), "furniture": ("Furn", "Furn."),
    "fixtures": ("Fixt", "Fix"), "wages": ("Wgs", "Wges"), "travel": ("Trav", "Trvl"),
    "employers": ("Ers", "Empl'rs"), "pensions": ("Pens", "Pens."), "administration": ("Admin", "Adm"),
    "subcontractors": ("Subcons", "Sub-cons"), "refreshments": ("Refresh", "Refrshmnts"),
}

# (base codes merged, names for the merged account). Even entries train, odd entries test.
MERGES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("7200", "7201"), ("Light and Heat", "Gas and Electricity")),
    (("7102", "7103"), ("Rates and Water", "Water and General Rates")),
    (("7500", "7501", "7504"), ("Printing, Postage and Stationery", "Office Costs")),
    (("7600", "7603"), ("Legal and Professional Fees", "Professional and Legal Costs")),
    (("7400", "7402"), ("Travel and Hotels", "Travel & Accommodation")),
    (("1200", "1210"), ("Bank Accounts", "Bank")),
    (("2200", "2201", "2202"), ("VAT Control Account", "VAT")),
    (("7300", "7303", "7304"), ("Motor Expenses", "Motor Running Costs")),
    (("2210", "2211"), ("PAYE and NI", "PAYE/NIC Control")),
    (("7104", "8204"), ("Insurance", "Insurance - General and Premises")),
    (("4001", "4002"), ("Sales - Design and Print", "Fee Income")),
    (("7006", "7007"), ("Employer Payroll Costs", "Employer NI and Pension")),
)

# (parent code, children: (name, gold override per pair or None)). Even entries train, odd entries test.
SPLITS_: tuple[tuple[str, tuple[tuple[str, dict[str, tuple[str, ...]] | None], ...]], ...] = (
    ("4000", (("Sales - UK", None), ("Sales - EU", None), ("Sales - Export", None))),
    ("7502", (("Telephone - Landline", None), ("Telephone - Mobiles", None))),
    ("7100", (("Rent - Office", None), ("Rent - Warehouse", None))),
    ("7000", (("Wages - Production", None), ("Wages - Office", None), ("Salaries - Sales Staff", None))),
    ("5000", (("Materials Purchased - Paper", None), ("Materials Purchased - Ink", None))),
    ("6201", (("Advertising - Online", None), ("Advertising - Print Media", None))),
    ("7400", (("Travel - UK", None), ("Travel - Overseas", None))),
    ("1200", (("Current Account - GBP", None),
              ("Current Account - EUR", {"ax": ("110130",), "sage": ("100-00-00",)}))),
    ("8000", (("Depreciation - Equipment", None), ("Depreciation - Vehicles", None))),
    ("7801", (("Cleaning - Office", None), ("Window Cleaning", None))),
)

_KEYBOARD_NEIGHBOURS = {
    "a": "sqwz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb",
    "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol",
    "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc",
    "y": "tghu", "z": "asx",
}


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    kind: str  # Kashflow classification label
    base: tuple[str, ...]
    gold: dict[str, tuple[str, ...]]
    derived: bool = False  # made by a merge or split: its name is part of its meaning, never renamed


def half(items: tuple, split: str) -> tuple:
    """The share of a list a split may draw from: even positions for train, odd for test."""
    return items[0::2] if split == "train" else items[1::2]


def _merged_gold(members: list[Row]) -> dict[str, tuple[str, ...]]:
    out = {}
    for pair in PAIRS:
        sets = [m.gold[pair] for m in members]
        common = [code for code in sets[0] if all(code in s for s in sets[1:])]
        out[pair] = tuple(common) if common else tuple(dict.fromkeys(c for s in sets for c in s))
    return out


def _merge(rows: list[Row], rng: random.Random, split: str, count: int) -> list[Row]:
    by_base = {r.base[0]: r for r in rows if len(r.base) == 1}
    options = [m for m in half(MERGES, split) if sum(code in by_base for code in m[0]) >= 2]
    for codes, names in rng.sample(options, min(count, len(options))):
        members = [by_base[c] for c in codes if c in by_base and by_base[c] in rows]
        if len(members) < 2:
            continue
        merged = Row(members[0].code, rng.choice(names), members[0].kind,
                     tuple(c for m in members for c in m.base), _merged_gold(members), derived=True)
        position = rows.index(members[0])
        rows = [r for r in rows if r not in members]
        rows.insert(position, merged)
    return rows


def _free_code(code: str, used: set[str]) -> str:
    value = int(code)
    while str(value) in used:
        value += 1
    return str(value)


def _split(rows: list[Row], rng: random.Random, split: str, count: int) -> list[Row]:
    present = {r.base[0]: r for r in rows if len(r.base) == 1}
    options = [s for s in half(SPLITS_, split) if s[0] in present]
    for parent_code, children in rng.sample(options, min(count, len(options))):
        parent = present[parent_code]
        used = {r.code for r in rows}
        new_rows = []
        for n, (name, override) in enumerate(children):
            code = parent.code if n == 0 else _free_code(parent.code, used)
            used.add(code)
            gold = {**parent.gold, **(override or {})}
            new_rows.append(Row(code, name, parent.kind, parent.base, gold, derived=True))
        position = rows.index(parent)
        rows = rows[:position] + new_rows + rows[position + 1:]
    return rows


def _rename(rows: list[Row], rng: random.Random, split: str, share: float) -> list[Row]:
    out = []
    for row in rows:
        options = () if row.derived else half(RENAMES.get(row.base[0], ()), split)
        out.append(replace(row, name=rng.choice(options)) if options and rng.random() < share else row)
    return out


def _abbreviate(rows: list[Row], rng: random.Random, split: str, share: float) -> list[Row]:
    out = []
    for row in rows:
        name = row.name
        for phrase in sorted(ABBREVIATE, key=len, reverse=True):
            forms = half(ABBREVIATE[phrase], split) or ABBREVIATE[phrase]
            pattern = re.compile(rf"\b{re.escape(phrase)}\b", re.IGNORECASE)
            if pattern.search(name) and rng.random() < share:
                name = pattern.sub(rng.choice(forms), name, count=1)
        out.append(replace(row, name=name))
    return out


def _typo(word: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(word) - 1)
    operation = rng.choice(("delete", "swap", "double", "neighbour"))
    if operation == "delete":
        return word[:position] + word[position + 1:]
    if operation == "swap":
        return word[:position] + word[position + 1] + word[position] + word[position + 2:]
    if operation == "double":
        return word[:position] + word[position] + word[position:]
    char = word[position]
    near = _KEYBOARD_NEIGHBOURS.get(char.lower())
    if not near:
        return word[:position] + word[position + 1:]
    swap = rng.choice(near)
    return word[:position] + (swap.upper() if char.isupper() else swap) + word[position + 1:]


def _typos(rows: list[Row], rng: random.Random, share: float) -> list[Row]:
    out = []
    for row in rows:
        words = row.name.split(" ")
        candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if candidates and rng.random() < share:
            i = rng.choice(candidates)
            words[i] = _typo(words[i], rng)
        out.append(replace(row, name=" ".join(words)))
    return out


_CLASS_BLOCK = {"Fixed Asset": 1, "Current Asset/Liability": 1, "Capital & Reserves": 3, "Turnover": 4,
                "Cost of Sale": 5, "Expenditure": 6}


def _recode(rows: list[Row], rng: random.Random, scheme: str) -> list[Row]:
    """Re-number the chart: x10 (4 -> 5 digits), shift (every code moved inside its thousand), ax-like (six
    digits in class blocks), sequential (0001, 0002, ... in chart order: the code says nothing)."""
    if scheme == "x10":
        return [replace(r, code=str(int(r.code) * 10)) for r in rows]
    if scheme == "shift":
        offset = rng.choice((100, 200, 300, 400))
        return [replace(r, code=str(int(r.code) // 1000 * 1000 + (int(r.code) % 1000 + offset) % 1000))
                for r in rows]
    if scheme == "ax-like":
        out, counters = [], {}
        for r in rows:
            block = _CLASS_BLOCK[r.kind]
            if r.kind == "Current Asset/Liability" and int(r.code) >= 2000:
                block = 2
            counters[block] = counters.get(block, 0) + 1
            out.append(replace(r, code=f"{block}{counters[block] * 100:05d}"))
        return out
    return [replace(r, code=f"{n:04d}") for n, r in enumerate(rows, 1)]


def _types(rows: list[Row], rng: random.Random, untyped: bool) -> list[tuple[Row, str]]:
    if untyped:
        return [(r, "") for r in rows]
    numeric = rng.random() < 0.5
    return [(r, TYPE_NUMBERS[r.kind] if numeric else r.kind) for r in rows]


def _case(name: str, style: str) -> str:
    return name.upper() if style == "upper" else name.lower() if style == "lower" else name


def tenant_rows(kind: str, index: int) -> list[dict[str, str]]:
    """One tenant's chart rows (deterministic in ``kind`` and ``index``)."""
    tenant = f"{kind}-{index}"
    split = "train" if index < TRAIN_PER_KIND else "test"
    rng = random.Random(f"{SEED}:{tenant}")
    gold = {pair: load_gold(pair) for pair in PAIRS}
    rows = [Row(a.code, a.name, a.type, (a.code,), {pair: gold[pair][a.code] for pair in PAIRS})
            for a in load_chart(SOURCE_CHART) if rng.random() < KEEP_SHARE]
    mixed = kind == "mixed"
    if kind == "merged_split" or mixed:
        rows = _merge(rows, rng, split, 1 if mixed else rng.choice((2, 3)))
        rows = _split(rows, rng, split, 1 if mixed else rng.choice((2, 3)))
    if kind == "renamed" or mixed:
        rows = _rename(rows, rng, split, 0.25 if mixed else 0.6)
    if kind == "abbreviated" or mixed:
        rows = _abbreviate(rows, rng, split, 0.3 if mixed else 0.75)
    if kind == "typos" or mixed:
        rows = _typos(rows, rng, 0.12 if mixed else 0.5)
    if kind == "recoded" or (mixed and rng.random() < 0.5):
        rows = _recode(rows, rng, rng.choice(("x10", "shift", "ax-like") if mixed else
                                             ("x10", "shift", "ax-like", "sequential")))
    typed = _types(rows, rng, untyped=kind == "untyped" or (mixed and rng.random() < 0.5))
    style = rng.choices(("as-is", "upper", "lower"), weights=(6, 2, 2))[0]
    return [{"tenant": tenant, "split": split, "variant": kind, "code": r.code, "name": _case(r.name, style),
             "type": kind_label, "base_codes": "|".join(r.base),
             **{f"gold_{pair}": "|".join(r.gold[pair]) for pair in PAIRS}}
            for r, kind_label in typed]


def generate(path: Path = TENANTS_FILE) -> int:
    """Write every tenant to ``path``; returns the number of rows."""
    rows = [row for kind in KINDS for index in range(TENANTS_PER_KIND) for row in tenant_rows(kind, index)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    count = generate()
    print(f"wrote {count} rows to {TENANTS_FILE.relative_to(DATA_DIR.parent.parent)}")
