"""Generated history for the AX sandbox: customers, vendors, items, stock, posted invoices, payments, journals.

Scaled by a number of invoices, built in memory and written with bulk inserts in the caller's transaction, so
100,000 invoices seed in well under a minute. The same ``rng_seed`` and ``today`` give the same data. Reference
data (chart of accounts, dimensions, groups, number sequences) comes from ``seed.py``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .enums import (
    ITEM_TYPE,
    LEDGER_DIMENSION_NON_LEDGER,
    LEDGER_JOURNAL_AC_TYPE,
    LEDGER_JOURNAL_TYPE,
    LEDGER_TRANS_TYPE,
    MODULE_INVENT_PURCH_SALES,
    PRODUCT_TYPE,
    SETTLEMENT_TYPE,
)
from .seed import (
    BANK_ACCOUNTS,
    CENT,
    CUSTOMER_GROUPS,
    DEFAULT_CUSTOMER_COMPANY,
    EXPENSE_ACCOUNTS,
    ISO3,
    MAIN_ACCOUNTS,
    PAYMENT_TERMS,
    PRODUCT_SALES,
    SERVICE_REVENUE,
    VENDOR_GROUPS,
    WAREHOUSES,
    PartySpec,
    add_company,
    add_parties,
    exchange_rate,
    money,
    name_alias,
    seed_shared,
)
from .store import EMPTY_DATE, AxStore, format_number, timestamp

_UK = {
    "first": ["Albion", "Anchor", "Apex", "Avon", "Beacon", "Birch", "Bramble", "Bridge", "Castle", "Cedar",
              "Chalk", "Channel", "Clover", "Coastal", "Copper", "Crown", "Dale", "Elm", "Fern", "Forge",
              "Granite", "Harbour", "Heath", "Highland", "Ivy", "Kestrel", "Lantern", "Linden", "Maple", "Meadow",
              "Mill", "Moor", "North Star", "Oak", "Orchard", "Pennine", "Quay", "Riverside", "Rowan", "Saxon",
              "Severn", "Thames", "Tudor", "Valley", "Weald", "Willow", "Windmill", "Yew"],
    "second": ["Audio", "Cinema", "Sound", "Vision", "Electronics", "Media", "Hi-Fi", "Acoustics", "Home Theatre",
               "Retail", "Leisure", "Hotels", "Studios", "Events", "Systems", "Installations", "Broadcast",
               "Technology", "Trading", "Interiors"],
    "suffix": ["Ltd", "Limited", "plc", "& Co", "Group Ltd"],
    "streets": ["High Street", "Station Road", "Church Lane", "Mill Lane", "Victoria Road", "Park Road",
                "London Road", "Market Street", "King Street", "Queen Street", "Bridge Street", "North Road",
                "The Green", "Castle Street", "Chapel Road", "Albert Road", "Manor Way", "Harbour Walk"],
    "towns": [("Brighton", "BN"), ("Bristol", "BS"), ("Leeds", "LS"), ("Manchester", "M"), ("Norwich", "NR"),
              ("Oxford", "OX"), ("Reading", "RG"), ("Sheffield", "S"), ("York", "YO"), ("Exeter", "EX"),
              ("Cardiff", "CF"), ("Glasgow", "G"), ("Edinburgh", "EH"), ("Bath", "BA"), ("Cambridge", "CB"),
              ("Nottingham", "NG"), ("Leicester", "LE"), ("Southampton", "SO"), ("London", "EC"), ("Derby", "DE")],
    "eu_towns": [("Dublin", "D02", "IRL"), ("Paris", "75002", "FRA"), ("Amsterdam", "1012", "NLD"),
                 ("Berlin", "10115", "DEU"), ("Brussels", "1000", "BEL")],
}
_US = {
    "first": ["Adventure", "Alpine", "Blue Yonder", "Cascade", "Coho", "Contoso", "Desert", "Fabrikam", "Fourth",
              "Golden", "Lakeshore", "Liberty", "Litware", "Lucerne", "Northwind", "Pacific", "Prairie", "Proseware",
              "Redwood", "Summit", "Tailspin", "Trey", "Wingtip", "Woodgrove"],
    "second": ["Audio", "Electronics", "Retail", "Stores", "Sound", "Media", "Entertainment", "Systems",
               "Outlet", "Supply", "Distributors", "Wholesale"],
    "suffix": ["Inc.", "LLC", "Corp.", "Co."],
    "streets": ["Main Street", "1st Avenue", "Oak Street", "Pine Street", "Maple Avenue", "Cedar Lane",
                "Elm Street", "Washington Avenue", "Lake Street", "Hill Road"],
    "towns": [("Seattle", "WA", "981"), ("Redmond", "WA", "980"), ("Portland", "OR", "972"),
              ("San Francisco", "CA", "941"), ("Chicago", "IL", "606"), ("Dallas", "TX", "752"),
              ("Denver", "CO", "802"), ("Atlanta", "GA", "303"), ("Boston", "MA", "021"), ("New York", "NY", "100")],
}
_SUPPLIER_WORDS = ["Components", "Supplies", "Logistics", "Freight", "Wholesale", "Manufacturing", "Parts",
                   "Cables", "Packaging", "Services"]
_ITEMS = [  # (prefix, item group, name template, base price, item type)
    ("D", "Audio", "{} stereo amplifier", Decimal("249.00"), "Item"),
    ("D", "Audio", "{} DAB radio", Decimal("89.00"), "Item"),
    ("T", "TV&Video", "{} 55in television", Decimal("699.00"), "Item"),
    ("T", "TV&Video", "{} Blu-ray player", Decimal("129.00"), "Item"),
    ("L", "Speakers", "{} bookshelf speakers", Decimal("179.00"), "Item"),
    ("L", "Speakers", "{} soundbar", Decimal("299.00"), "Item"),
    ("C", "Cables", "{} speaker cable 10m", Decimal("19.99"), "Item"),
    ("C", "Cables", "{} HDMI cable 2m", Decimal("12.50"), "Item"),
    ("S", "Services", "{} installation", Decimal("120.00"), "Service"),
    ("S", "Services", "{} extended warranty", Decimal("59.00"), "Service"),
]
_MODELS = ["Classic", "Studio", "Pro", "Compact", "Elite", "Home", "Max", "Mini", "Prime", "Series 5", "Series 7",
           "Nova", "Aria", "Pulse", "Vertex"]


@dataclass
class Plan:
    """How much to generate for one company."""

    company: str
    invoices: int
    customers: int
    vendors: int
    items: int
    journals: int
    months: int = 6
    currency: str = "GBP"
    foreign_share: float = 0.1
    vat_rate: Decimal = Decimal("0.20")
    extra_parties: list[PartySpec] = field(default_factory=list)


def plan_for(size: int, company: str) -> Plan:
    """Volumes for a seeding size (number of sales invoices in GBSI); USMF gets a tenth, at least 20."""
    if company.lower() == "usmf":
        invoices = max(20, size // 10)
        return Plan("usmf", invoices, customers=max(6, invoices // 20), vendors=max(4, invoices // 50),
                    items=max(10, min(500, invoices // 50)), journals=max(2, invoices // 50), currency="USD",
                    foreign_share=0.05, vat_rate=Decimal(0))
    return Plan(company.lower(), size, max(6, size // 20), max(4, size // 50), max(10, min(2000, size // 50)),
                max(2, size // 50))


def generate(store: AxStore, *, size: int, rng_seed: int = 0, today: date | None = None,
             parties: Sequence[Any] | None = None, companies: Sequence[str] = ("GBSI", "USMF")) -> dict[str, int]:
    """Seed a whole installation scaled by ``size`` (GBSI sales invoices); returns record counts.

    ``parties`` (SharedParty-like objects with code, name, kind, address_lines, postcode, country, currency,
    email, phone) are added to GBSI as customers/vendors with their own codes, before the generated ones.
    """
    today = today or date.today()
    base = random.Random(f"ax:{rng_seed}")  # noqa: S311 - deterministic demo data
    installed = timestamp(datetime.combine(today - timedelta(days=400), time(8, 0)))
    with store.transaction():
        chart = seed_shared(store, base, stamp=installed)
        for company in companies:
            add_company(store, company, chart=chart, stamp=installed)
        for company in companies:
            rng = random.Random(f"ax:{rng_seed}:{company.lower()}")  # noqa: S311
            plan = plan_for(size, company)
            if company.upper() == DEFAULT_CUSTOMER_COMPANY and parties:
                plan.extra_parties = [_party_spec(p) for p in parties]
            _generate_company(store, plan, rng, today)
    return summary(store)


def summary(store: AxStore) -> dict[str, int]:
    counts = store.counts()
    keep = ("DATAAREA", "MAINACCOUNT", "DIMENSIONATTRIBUTEVALUE", "CUSTTABLE", "VENDTABLE", "DIRPARTYTABLE",
            "INVENTTABLE", "INVENTSUM", "CUSTINVOICEJOUR", "CUSTINVOICETRANS", "CUSTTRANS", "CUSTTRANSOPEN",
            "CUSTSETTLEMENT", "LEDGERJOURNALTABLE", "LEDGERJOURNALTRANS", "CUSTINVOICETABLE")
    return {name.lower(): counts[name] for name in keep}


def _party_spec(party: Any) -> PartySpec:
    lines = [line for line in (getattr(party, "address_lines", None) or []) if line]
    country = ISO3.get((getattr(party, "country", "") or "GB").upper(), "GBR")
    kind = "customer" if party.kind == "customer" else "vendor"
    return PartySpec(
        account=party.code, name=party.name, group="30" if kind == "customer" else "10", kind=kind,
        currency=(getattr(party, "currency", "") or "GBP").upper(), street=", ".join(lines[:-1]) if len(lines) > 1
        else (lines[0] if lines else ""), city=lines[-1] if len(lines) > 1 else "",
        zip=getattr(party, "postcode", "") or "", country=country, email=getattr(party, "email", "") or "",
        phone=getattr(party, "phone", "") or "",
    )


def _generate_company(store: AxStore, plan: Plan, rng: random.Random, today: date) -> None:
    us = plan.company == "usmf"
    words = _US if us else _UK
    sets = _default_dimension_sets(store)
    start = today - timedelta(days=plan.months * 31)
    customers = [p for p in plan.extra_parties if p.kind == "customer"]
    vendors = [p for p in plan.extra_parties if p.kind == "vendor"]
    names = _unique_names(rng, words["first"], words["second"], words["suffix"], plan.customers)
    for name in names:
        customers.append(_random_party(store, plan, rng, words, name, "Cust", today, sets, kind="customer"))
    for name in _unique_names(rng, words["first"], _SUPPLIER_WORDS, words["suffix"], plan.vendors):
        vendors.append(_random_party(store, plan, rng, words, name, "Vend", today, sets, kind="vendor"))
    add_parties(store, plan.company, customers, kind="customer", rng=rng)
    add_parties(store, plan.company, vendors, kind="vendor", rng=rng)
    items = _generate_items(store, plan, rng, vendors, today)
    _generate_invoices(store, plan, rng, customers, items, start, today, sets)
    _generate_general_journals(store, plan, rng, start, today)


def _unique_names(rng: random.Random, first: list[str], second: list[str], suffixes: list[str],
                  count: int) -> list[str]:
    """``count`` different company names ("Harbour Acoustics Ltd"); numbered once the combinations run out."""
    combos = [f"{a} {b}" for a in first for b in second]
    rng.shuffle(combos)
    names = []
    for n in range(count):
        rounds = n // len(combos)
        names.append(f"{combos[n % len(combos)]} {rng.choice(suffixes)}" + (f" {rounds + 1}" if rounds else ""))
    return names


def _random_party(store: AxStore, plan: Plan, rng: random.Random, words: dict[str, Any], name: str, sequence: str,
                  today: date, sets: list[int], *, kind: str) -> PartySpec:
    created = datetime.combine(today - timedelta(days=rng.randint(plan.months * 31 + 30, 900)),
                               time(rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59)))
    street = f"{rng.randint(1, 240)} {rng.choice(words['streets'])}"
    domain = "".join(ch for ch in name.lower().split(" ")[0] if ch.isalnum()) or "example"
    if plan.company == "usmf":
        city, state, zip3 = rng.choice(words["towns"])
        country, zip_code, currency = "USA", f"{zip3}{rng.randint(10, 99)}", "USD"
        if rng.random() < plan.foreign_share:
            currency = "CAD"
        phone = f"+1 {rng.randint(200, 989)} 555 {rng.randint(1000, 9999)}"
    else:
        state = ""
        if rng.random() < plan.foreign_share:
            city, zip_code, country = rng.choice(words["eu_towns"])
            currency = "EUR"
        else:
            city, area = rng.choice(words["towns"])
            zip_code = f"{area}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
                       f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            country, currency = "GBR", "GBP"
        phone = f"+44 {rng.randint(1000, 1999)} {rng.randint(100000, 999999)}"
    groups = [g for g, _n in (CUSTOMER_GROUPS[:5] if kind == "customer" else VENDOR_GROUPS[:4])]
    return PartySpec(
        account=store.next_number(plan.company, sequence), name=name, group=rng.choice(groups), currency=currency,
        street=street, city=city, zip=zip_code, state=state, country=country,
        email=f"accounts@{domain}.example", phone=phone, payment_terms=rng.choice(["Net10", "Net30", "Net30", "Net45"]),
        language="en-us" if plan.company == "usmf" else "en-gb",
        vat="" if plan.company == "usmf" else f"GB{rng.randint(100000000, 999999999)}",
        default_dimension=rng.choice(sets) if sets and kind == "customer" else 0, created=timestamp(created),
        kind=kind,
    )


def _default_dimension_sets(store: AxStore) -> list[int]:
    sets = []
    for business_unit, department in (("001", "022"), ("002", "022"), ("001", "023"), ("003", "024")):
        pairs = [store.dimension_value("BusinessUnit", business_unit), store.dimension_value("Department", department)]
        if all(attribute and value for attribute, value in pairs):
            sets.append(store.value_set(pairs))
    return sets


def _generate_items(store: AxStore, plan: Plan, rng: random.Random, vendors: list[PartySpec],
                    today: date) -> list[tuple[str, str, Decimal, str]]:
    """Products, released items, prices, item groups and on-hand stock; returns (item id, name, price, type)."""
    company = plan.company
    specs = []
    for n in range(plan.items):
        prefix, group, template, price, item_type = _ITEMS[n % len(_ITEMS)]
        model = _MODELS[(n // len(_ITEMS)) % len(_MODELS)]
        series = n // (len(_ITEMS) * len(_MODELS))
        name = template.format(model + (f" {series + 1}" if series else ""))
        specs.append((f"{prefix}{n + 1:04d}", name, group, (price * Decimal(rng.randint(90, 110)) / 100).quantize(CENT),
                      item_type))
    stamp = timestamp(datetime.combine(today - timedelta(days=380), time(9, 0)))
    existing = {row["DISPLAYPRODUCTNUMBER"] for row in store.query("SELECT DISPLAYPRODUCTNUMBER FROM ECORESPRODUCT")}
    new = [s for s in specs if s[0] not in existing]
    products = store.bulk_insert("ECORESPRODUCT", ["DISPLAYPRODUCTNUMBER", "PRODUCTTYPE", "SEARCHNAME"],
                                 [(s[0], PRODUCT_TYPE[s[4]], name_alias(s[1])) for s in new], stamps=stamp)
    product_of = {s[0]: recid for s, recid in zip(new, products, strict=True)}
    product_of.update({row["DISPLAYPRODUCTNUMBER"]: row["RECID"]
                       for row in store.query("SELECT RECID, DISPLAYPRODUCTNUMBER FROM ECORESPRODUCT")})
    store.bulk_insert("ECORESPRODUCTTRANSLATION", ["PRODUCT", "LANGUAGEID", "NAME", "DESCRIPTION"],
                      [(product_of[s[0]], "en-us", s[1], f"{s[1]} ({s[2]})") for s in new], stamps=stamp)
    store.bulk_insert("INVENTTABLE", ["DATAAREAID", "ITEMID", "PRODUCT", "NAMEALIAS", "ITEMTYPE", "PRIMARYVENDORID"],
                      [(company, s[0], product_of[s[0]], name_alias(s[1]), ITEM_TYPE[s[4]],
                        rng.choice(vendors).account if vendors else "") for s in specs], stamps=stamp)
    store.bulk_insert("INVENTITEMGROUPITEM", ["ITEMID", "ITEMDATAAREAID", "ITEMGROUPID", "ITEMGROUPDATAAREAID"],
                      [(s[0], company, s[2], company) for s in specs], stamps=stamp)
    modules = []
    for s in specs:
        unit = "hr" if s[4] == "Service" else "ea"
        cost = (s[3] * Decimal("0.6")).quantize(CENT)
        modules += [(company, s[0], MODULE_INVENT_PURCH_SALES["Invent"], float(cost), unit),
                    (company, s[0], MODULE_INVENT_PURCH_SALES["Purch"], float(cost), unit),
                    (company, s[0], MODULE_INVENT_PURCH_SALES["Sales"], float(s[3]), unit)]
    store.bulk_insert("INVENTTABLEMODULE", ["DATAAREAID", "ITEMID", "MODULETYPE", "PRICE", "UNITID"], modules,
                      stamps=stamp)
    sums = []
    for s in specs:
        if s[4] == "Service":
            continue
        for dim_id, _site, _warehouse in WAREHOUSES.get(company, [("00001", "1", "11")]):
            physical = rng.randint(0, 400)
            reserved = min(physical, rng.randint(0, 30))
            cost = (s[3] * Decimal("0.6")).quantize(CENT)
            sums.append((company, s[0], dim_id, physical, float(cost * physical), physical, reserved,
                         physical - reserved, rng.randint(0, 50), rng.randint(0, 80)))
    store.bulk_insert(
        "INVENTSUM", ["DATAAREAID", "ITEMID", "INVENTDIMID", "POSTEDQTY", "POSTEDVALUE", "PHYSICALINVENT",
                      "RESERVPHYSICAL", "AVAILPHYSICAL", "ONORDER", "ORDERED"],
        sums, stamps=timestamp(datetime.combine(today - timedelta(days=1), time(22, 0))),
    )
    return [(s[0], s[1], s[3], s[4]) for s in specs]


class _Numbers:
    """Fast local number sequence for seeding (written back to NUMBERSEQUENCETABLE when done)."""

    def __init__(self, store: AxStore, company: str, code: str) -> None:
        self.store, self.company, self.code = store, company, code
        row = store.one("SELECT RECID, FORMAT, NEXTREC FROM NUMBERSEQUENCETABLE WHERE DATAAREAID=? AND "
                        "NUMBERSEQUENCE=?", (company, code))
        self.recid, self.format, self.next = row["RECID"], row["FORMAT"], row["NEXTREC"]

    def __call__(self) -> str:
        value = format_number(self.format, self.next)
        self.next += 1
        return value

    def save(self) -> None:
        self.store.execute("UPDATE NUMBERSEQUENCETABLE SET NEXTREC=? WHERE RECID=?", (self.next, self.recid))


def _customer_combinations(store: AxStore, accounts: Iterable[str]) -> dict[str, int]:
    """DIMENSIONATTRIBUTEVALUECOMBINATION rows for customer accounts used on journal lines."""
    return {account: store.ledger_combination(account, 0, 0, dimension_type=LEDGER_DIMENSION_NON_LEDGER)
            for account in sorted(set(accounts))}


def _ledger_combinations(store: AxStore, displays: Iterable[str]) -> dict[str, int]:
    hierarchy, _structure = store.account_structure()
    out = {}
    for display in sorted(set(displays)):
        main = store.main_account(display.split("-")[0])
        out[display] = store.ledger_combination(display, main["RECID"], hierarchy)
    return out


def _generate_invoices(store: AxStore, plan: Plan, rng: random.Random, customers: list[PartySpec],
                       items: list[tuple[str, str, Decimal, str]], start: date, today: date, sets: list[int]) -> None:
    """Posted sales invoices with customer transactions; paid ones settled by posted payment journals."""
    if not customers or plan.invoices <= 0:
        return
    company = plan.company
    span = max(1, (today - start).days)
    invoice_ids = _Numbers(store, company, "SalesInvoice")
    sales_ids = _Numbers(store, company, "SalesOrder")
    pay_vouchers = _Numbers(store, company, "CustPayVoucher")
    journal_nums = _Numbers(store, company, "LedgerJournal")
    terms = {t: days for t, _d, days in PAYMENT_TERMS}
    revenue_displays = {"Item": f"{PRODUCT_SALES}-001-022", "Service": f"{SERVICE_REVENUE}-001-022"}
    combos = _ledger_combinations(store, [*revenue_displays.values(), BANK_ACCOUNTS.get(plan.currency, "110110")])
    jours, lines, trans, stamps, line_stamps = [], [], [], [], []
    payments: list[tuple[int, date, Decimal, PartySpec, str, Decimal]] = []
    for n in range(plan.invoices):
        customer = customers[rng.randrange(len(customers))]
        issued = start + timedelta(days=int(span * n / plan.invoices))
        due = issued + timedelta(days=terms.get(customer.payment_terms, 30))
        invoice_id = invoice_ids()
        voucher = invoice_id  # the sales invoice voucher shares the invoice number series (inferred)
        rate = exchange_rate(customer.currency, plan.currency)
        net = Decimal(0)
        for line_num in range(1, rng.randint(1, 3) + 1):
            item_id, item_name, price, item_type = items[rng.randrange(len(items))]
            qty = Decimal(rng.randint(1, 6))
            amount = money(qty * price)
            net += amount
            lines.append((company, n, invoice_id, issued.isoformat(), line_num, item_id, item_name[:60], float(qty),
                          float(price), float(amount), float(money(amount * rate)), customer.currency,
                          combos[revenue_displays[item_type]], customer.default_dimension))
        tax = money(net * plan.vat_rate)
        gross = net + tax
        moment = datetime.combine(issued, time(rng.randint(8, 18), rng.randint(0, 59), rng.randint(0, 59)))
        stamps.append(timestamp(moment))
        line_stamps.extend([stamps[-1]] * (len(lines) - len(line_stamps)))
        jours.append((company, invoice_id, customer.account, customer.account, customer.name, issued.isoformat(),
                      due.isoformat(), customer.currency, float(gross), float(money(gross * rate)), float(net),
                      float(tax), sales_ids(), voucher, customer.payment_terms, customer.default_dimension))
        trans.append((company, customer.account, voucher, issued.isoformat(), invoice_id, due.isoformat(),
                      LEDGER_TRANS_TYPE["Sales"], float(gross), float(money(gross * rate)), customer.currency,
                      float(rate * 100), f"Invoice {invoice_id}", customer.default_dimension))
        paid_on, paid = _payment_for(rng, issued, due, today, gross)
        if paid:
            payments.append((n, paid_on, paid, customer, invoice_id, rate))
    jour_ids = store.bulk_insert(
        "CUSTINVOICEJOUR", ["DATAAREAID", "INVOICEID", "INVOICEACCOUNT", "ORDERACCOUNT", "INVOICINGNAME",
                            "INVOICEDATE", "DUEDATE", "CURRENCYCODE", "INVOICEAMOUNT", "INVOICEAMOUNTMST",
                            "SALESBALANCE", "SUMTAX", "SALESID", "LEDGERVOUCHER", "PAYMENT", "DEFAULTDIMENSION"],
        jours, stamps=stamps)
    store.bulk_insert(
        "CUSTINVOICETRANS", ["DATAAREAID", "PARENTRECID", "INVOICEID", "INVOICEDATE", "LINENUM", "ITEMID", "NAME",
                             "QTY", "SALESPRICE", "LINEAMOUNT", "LINEAMOUNTMST", "CURRENCYCODE", "LEDGERDIMENSION",
                             "DEFAULTDIMENSION"],
        [(row[0], jour_ids[row[1]], *row[2:]) for row in lines], stamps=line_stamps)
    trans_ids = store.bulk_insert(
        "CUSTTRANS", ["DATAAREAID", "ACCOUNTNUM", "VOUCHER", "TRANSDATE", "INVOICE", "DUEDATE", "TRANSTYPE",
                      "AMOUNTCUR", "AMOUNTMST", "CURRENCYCODE", "EXCHRATE", "TXT", "DEFAULTDIMENSION"],
        trans, stamps=stamps)
    _generate_payments(store, plan, rng, payments, trans, trans_ids, stamps, pay_vouchers, journal_nums, combos)
    for numbers in (invoice_ids, sales_ids, pay_vouchers, journal_nums):
        numbers.save()


def _payment_for(rng: random.Random, issued: date, due: date, today: date, gross: Decimal) -> tuple[date, Decimal]:
    """When and how much a customer paid: most invoices older than their terms are paid in full, some in part."""
    roll = rng.random()
    age = (today - issued).days
    if age < 5 or roll < 0.25:
        return today, Decimal(0)
    paid_on = min(today, issued + timedelta(days=rng.randint(3, max(4, (due - issued).days + 20))))
    if paid_on >= today:
        return today, Decimal(0)
    if roll < 0.35:
        return paid_on, money(gross * Decimal(rng.randint(20, 80)) / 100)
    return paid_on, gross


def _generate_payments(store: AxStore, plan: Plan, rng: random.Random, payments: list, trans: list,
                       trans_ids: range, stamps: list[str], vouchers: _Numbers, journal_nums: _Numbers,
                       combos: dict[str, int]) -> None:
    """Posted customer payment journals (one per week), payment CustTrans, settlements, open amounts."""
    company = plan.company
    payments.sort(key=lambda p: (p[1], p[0]))
    customer_combo = _customer_combinations(store, [p[3].account for p in payments])
    bank = combos[BANK_ACCOUNTS.get(plan.currency, "110110")]
    journals, journal_lines, pay_trans, pay_stamps, settled, order = [], [], [], [], {}, []
    current_week, journal_num, line_num = None, "", 0
    for n, paid_on, amount, customer, invoice_id, rate in payments:
        week = paid_on.isocalendar()[:2]
        if week != current_week:
            current_week, journal_num, line_num = week, journal_nums(), 0
            journals.append([company, journal_num, "CustPay", f"Customer payments week {week[1]}/{week[0]}",
                             LEDGER_JOURNAL_TYPE["CustPayment"], 1, paid_on.isoformat(), plan.currency, 0.0, 0])
        line_num += 1
        voucher = vouchers()
        moment = timestamp(datetime.combine(paid_on, time(rng.randint(9, 17), rng.randint(0, 59))))
        journals[-1][8] += float(amount * rate)
        journals[-1][9] += 1
        journal_lines.append((company, journal_num, line_num, LEDGER_JOURNAL_AC_TYPE["Cust"],
                              customer_combo[customer.account], LEDGER_JOURNAL_AC_TYPE["Ledger"], bank,
                              float(amount), customer.currency, float(rate * 100), paid_on.isoformat(),
                              f"Payment {invoice_id}", voucher, invoice_id, "BACS", f"PAY{n + 1:07d}",
                              LEDGER_TRANS_TYPE["Payment"], moment))
        # a payment that settles an invoice is used up by it: settled in full and closed on the payment date
        pay_trans.append((company, customer.account, voucher, paid_on.isoformat(), "", paid_on.isoformat(),
                          LEDGER_TRANS_TYPE["Payment"], float(-amount), float(-money(amount * rate)),
                          float(-amount), float(-money(amount * rate)), customer.currency, float(rate * 100), "BACS",
                          f"PAY{n + 1:07d}", f"Payment {invoice_id}", paid_on.isoformat(), paid_on.isoformat(),
                          voucher))
        pay_stamps.append(moment)
        settled[n] = (amount, rate, paid_on, voucher)
        order.append(n)
    store.bulk_insert(
        "LEDGERJOURNALTABLE", ["DATAAREAID", "JOURNALNUM", "JOURNALNAME", "NAME", "JOURNALTYPE", "POSTED",
                               "POSTEDDATETIME", "CURRENCYCODE", "JOURNALTOTALCREDIT", "NUMOFLINES"],
        [tuple(j) for j in journals],
        stamps=[timestamp(datetime.combine(date.fromisoformat(j[6]), time(18, 0))) for j in journals])
    store.bulk_insert(
        "LEDGERJOURNALTRANS", ["DATAAREAID", "JOURNALNUM", "LINENUM", "ACCOUNTTYPE", "LEDGERDIMENSION",
                               "OFFSETACCOUNTTYPE", "OFFSETLEDGERDIMENSION", "AMOUNTCURCREDIT", "CURRENCYCODE",
                               "EXCHRATE", "TRANSDATE", "TXT", "VOUCHER", "MARKEDINVOICE", "PAYMMODE", "PAYMREFERENCE",
                               "TRANSACTIONTYPE", "SETTLEVOUCHER"],
        [(*row[:-1], SETTLEMENT_TYPE["SelectedTransact"]) for row in journal_lines],
        stamps=[row[-1] for row in journal_lines])
    pay_ids = store.bulk_insert(
        "CUSTTRANS", ["DATAAREAID", "ACCOUNTNUM", "VOUCHER", "TRANSDATE", "INVOICE", "DUEDATE", "TRANSTYPE",
                      "AMOUNTCUR", "AMOUNTMST", "SETTLEAMOUNTCUR", "SETTLEAMOUNTMST", "CURRENCYCODE", "EXCHRATE",
                      "PAYMMODE", "PAYMREFERENCE", "TXT", "CLOSED", "LASTSETTLEDATE", "LASTSETTLEVOUCHER"],
        pay_trans, stamps=pay_stamps)
    pay_of = dict(zip(order, pay_ids, strict=True))
    _settle_seeded(store, company, trans, trans_ids, stamps, settled, pay_of)


def _settle_seeded(store: AxStore, company: str, trans: list, trans_ids: range, stamps: list[str],
                   settled: dict[int, tuple[Decimal, Decimal, date, str]], pay_of: dict[int, int]) -> None:
    """Mark invoice CustTrans settled (amounts, CLOSED), write CUSTSETTLEMENT pairs and CUSTTRANSOPEN rows."""
    updates, settlements, settle_stamps, opens, open_stamps = [], [], [], [], []
    for n, row in enumerate(trans):
        recid, account, voucher = trans_ids[n], row[1], row[2]
        gross, gross_mst = Decimal(str(row[7])), Decimal(str(row[8]))
        if n in settled:
            amount, rate, paid_on, pay_voucher = settled[n]
            amount_mst = money(amount * rate)
            closed = paid_on.isoformat() if amount >= gross else EMPTY_DATE
            moment = timestamp(datetime.combine(paid_on, time(18, 5)))
            updates.append((float(amount), float(amount_mst), closed, paid_on.isoformat(), pay_voucher, moment,
                            recid))
            for trans_recid, offset_recid, sign, offset_voucher in ((recid, pay_of[n], 1, pay_voucher),
                                                                    (pay_of[n], recid, -1, voucher)):
                settlements.append((company, trans_recid, offset_recid, account, company, company, account,
                                    offset_voucher, float(sign * amount), float(sign * amount_mst),
                                    paid_on.isoformat(), row[5]))
                settle_stamps.append(moment)
            remaining, remaining_mst = gross - amount, gross_mst - amount_mst
        else:
            remaining, remaining_mst = gross, gross_mst
        if remaining > 0:
            opens.append((company, recid, account, float(remaining), float(remaining_mst), row[3], row[5]))
            open_stamps.append(stamps[n])
    store.execute_many(
        "UPDATE CUSTTRANS SET SETTLEAMOUNTCUR=?, SETTLEAMOUNTMST=?, CLOSED=?, LASTSETTLEDATE=?, LASTSETTLEVOUCHER=?, "
        "MODIFIEDDATETIME=?, RECVERSION=RECVERSION+1 WHERE RECID=?", updates)
    store.bulk_insert("CUSTSETTLEMENT", ["DATAAREAID", "TRANSRECID", "OFFSETRECID", "ACCOUNTNUM", "TRANSCOMPANY",
                                         "OFFSETCOMPANY", "OFFSETACCOUNTNUM", "OFFSETTRANSVOUCHER", "SETTLEAMOUNTCUR",
                                         "SETTLEAMOUNTMST", "TRANSDATE", "DUEDATE"], settlements, stamps=settle_stamps)
    store.bulk_insert("CUSTTRANSOPEN", ["DATAAREAID", "REFRECID", "ACCOUNTNUM", "AMOUNTCUR", "AMOUNTMST", "TRANSDATE",
                                        "DUEDATE"], opens, stamps=open_stamps)


def _generate_general_journals(store: AxStore, plan: Plan, rng: random.Random, start: date, today: date) -> None:
    """Posted general journals: expenses paid from the bank, one balanced line (with offset) per voucher."""
    if plan.journals <= 0:
        return
    company = plan.company
    journal_nums = _Numbers(store, company, "LedgerJournal")
    vouchers = _Numbers(store, company, "GenJrnVoucher")
    bank = BANK_ACCOUNTS.get(plan.currency, "110110")
    displays = [f"{account}-{bu}-{dept}" for account in EXPENSE_ACCOUNTS for bu, dept in (("001", "022"),
                                                                                          ("002", "023"))]
    combos = _ledger_combinations(store, [*displays, bank])
    span = max(1, (today - start).days)
    journals, lines, journal_stamps, line_stamps = [], [], [], []
    for n in range(plan.journals):
        day = start + timedelta(days=int(span * n / plan.journals))
        journal_num = journal_nums()
        count, total = rng.randint(2, 4), Decimal(0)
        moment = timestamp(datetime.combine(day, time(rng.randint(9, 17), rng.randint(0, 59))))
        for line_num in range(1, count + 1):
            amount = money(Decimal(rng.randint(2000, 250000)) / 100)
            total += amount
            display = rng.choice(displays)
            lines.append((company, journal_num, line_num, LEDGER_JOURNAL_AC_TYPE["Ledger"], combos[display],
                          LEDGER_JOURNAL_AC_TYPE["Ledger"], combos[bank], float(amount), plan.currency, 100.0,
                          day.isoformat(), f"{_expense_text(display)} {day:%b %Y}", vouchers(),
                          LEDGER_TRANS_TYPE["GeneralJournal"]))
            line_stamps.append(moment)
        journals.append((company, journal_num, "GenJrn", f"Expenses {day:%d %b %Y}", LEDGER_JOURNAL_TYPE["Daily"], 1,
                         moment, plan.currency, float(total), float(total), count))
        journal_stamps.append(moment)
    store.bulk_insert("LEDGERJOURNALTABLE", ["DATAAREAID", "JOURNALNUM", "JOURNALNAME", "NAME", "JOURNALTYPE",
                                             "POSTED", "POSTEDDATETIME", "CURRENCYCODE", "JOURNALTOTALDEBIT",
                                             "JOURNALTOTALCREDIT", "NUMOFLINES"], journals, stamps=journal_stamps)
    store.bulk_insert("LEDGERJOURNALTRANS", ["DATAAREAID", "JOURNALNUM", "LINENUM", "ACCOUNTTYPE", "LEDGERDIMENSION",
                                             "OFFSETACCOUNTTYPE", "OFFSETLEDGERDIMENSION", "AMOUNTCURDEBIT",
                                             "CURRENCYCODE", "EXCHRATE", "TRANSDATE", "TXT", "VOUCHER",
                                             "TRANSACTIONTYPE"], lines, stamps=line_stamps)
    journal_nums.save()
    vouchers.save()


def _expense_text(display: str) -> str:
    names = {account: name for account, name, _kind in MAIN_ACCOUNTS}
    return names.get(display.split("-")[0], "Expense")
