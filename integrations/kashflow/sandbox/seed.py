"""Deterministic demo data: a small UK design & print studio's Kashflow account.

The chart of accounts is Kashflow's published list of suggested codes plus the conventional UK structure
(control accounts, bank, capital); VAT at 20 / 5 / 0 % (and exempt postage); customers, suppliers, a
product catalogue with stock, sales invoices spread over months with full, part and no payments, purchases
(overheads, materials, stock), and monthly journals. The same ``rng_seed`` and ``today`` give the same
account, so demos and tests can assert on it. Everything goes through ``Store.load`` in one transaction.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from integrations.core.sandbox import SharedParty

from .documents import INVOICE
from .parties import suggest_code
from .store import Store

COMPANY_NAME = "Inkwell & Grain Design Studio Ltd"
DEFAULT_USERNAME = "inkwell.admin"
DEFAULT_PASSWORD = "sandbox-Pa55word"  # sandbox demo credential, not a real secret
DEFAULT_MEMORABLE_WORD = "letterpress"

# (code, name, classification, area, special): 1 Turnover, 2 Cost of Sale, 3 Expense, 4 Fixed Asset,
# 5 Current Asset/Liability, 6 Capital and Reserves; areas 1 Sales, 2 Outgoing, 3 Bank transaction.
CHART: tuple[tuple[int, str, int, int, int], ...] = (
    (30, "Office Equipment", 4, 2, 0), (31, "Office Equipment Depreciation", 4, 3, 0),
    (50, "Motor Vehicles", 4, 2, 0), (51, "Motor Vehicles Depreciation", 4, 3, 0),
    (1001, "Stock", 5, 3, 0), (1100, "Debtors Control Account", 5, 3, 1), (1103, "Prepayments", 5, 3, 0),
    (2100, "Creditors Control Account", 5, 3, 1), (2109, "Accruals", 5, 3, 0), (2200, "VAT on Sales", 5, 3, 1),
    (2201, "VAT on Purchases", 5, 3, 1), (2202, "VAT Liability", 5, 3, 1), (2210, "PAYE", 5, 3, 0),
    (2211, "National Insurance", 5, 3, 0), (2230, "Pension Contributions", 5, 3, 0), (2300, "Loans", 5, 3, 0),
    (2310, "Directors Loan Account", 5, 3, 0), (3000, "Share Capital", 6, 3, 0), (3200, "Retained Profit", 6, 3, 1),
    (3260, "Dividends", 6, 3, 0),
    (4000, "Sales", 1, 1, 0), (4001, "Sales - Design services", 1, 1, 0), (4002, "Sales - Print", 1, 1, 0),
    (4009, "Discounts", 1, 1, 0), (4200, "Sale of Assets", 1, 1, 0), (4900, "Other Income", 1, 1, 0),
    (4902, "Commissions Received", 1, 1, 0), (4905, "Distribution and Carriage", 1, 1, 0),
    (5000, "Materials Purchased", 2, 2, 0), (5100, "Carriage", 2, 2, 0), (5101, "Import Duty", 2, 2, 0),
    (6002, "Sub contractors", 2, 2, 0), (6100, "Sales Commissions", 2, 2, 0), (6201, "Advertising", 2, 2, 0),
    (7000, "Gross Wages", 3, 2, 0), (7006, "Employers NI", 3, 2, 0), (7100, "Rent", 3, 2, 0),
    (7102, "Water Rates", 3, 2, 0), (7103, "General Rates", 3, 2, 0), (7104, "Premises Insurance", 3, 2, 0),
    (7200, "Electricity", 3, 2, 0), (7201, "Gas", 3, 2, 0), (7300, "Fuel", 3, 2, 0),
    (7303, "Vehicle Insurance", 3, 2, 0), (7304, "Miscellaneous Motor Expenses", 3, 2, 0), (7400, "Travel", 3, 2, 0),
    (7401, "Car Hire", 3, 2, 0), (7402, "Hotels", 3, 2, 0), (7403, "Entertainment", 3, 2, 0),
    (7500, "Printing", 3, 2, 0), (7501, "Postage", 3, 2, 0), (7502, "Telephone", 3, 2, 0),
    (7504, "Office Stationery", 3, 2, 0), (7505, "Books", 3, 2, 0), (7600, "Legal Fees", 3, 2, 0),
    (7601, "Accounting Fees", 3, 2, 0), (7603, "Professional Fees", 3, 2, 0), (7801, "Cleaning", 3, 2, 0),
    (7803, "Premises Expenses", 3, 2, 0), (7900, "Bank Charges", 3, 2, 0), (8000, "Depreciation", 3, 2, 0),
    (8201, "Subscriptions", 3, 2, 0), (8202, "Clothing", 3, 2, 0), (8203, "Training", 3, 2, 0),
    (8204, "Insurance", 3, 2, 0), (8205, "Refreshments", 3, 2, 0), (9999, "Suspense", 5, 3, 0),
)
BANK_ACCOUNTS = ((1200, "Current Account"), (1210, "Business Deposit Account"), (1230, "Petty Cash"))
SEED_NOMINAL_CODES: dict[int, str] = {code: name for code, name, *_ in CHART} | dict(BANK_ACCOUNTS)

VAT_RATES = ((Decimal(20), "20%"), (Decimal(5), "5%"), (Decimal(0), "0%"))
CURRENCIES = ({"Code": "GBP"}, {"Code": "EUR", "ExchangeRate": "1.1650"}, {"Code": "USD", "ExchangeRate": "1.2700"})
PAYMENT_METHODS = (
    (1, "invoice", "Cash"), (2, "invoice", "Cheque"), (3, "invoice", "BACS"), (4, "invoice", "Credit/Debit Card"),
    (5, "invoice", "Direct Debit"), (6, "invoice", "PayPal"), (11, "purchase", "Cash"), (12, "purchase", "Cheque"),
    (13, "purchase", "BACS"), (14, "purchase", "Credit/Debit Card"), (15, "purchase", "Direct Debit"),
)

# code, name, sales nominal, price, VAT ("20", "5", "0", "exempt"), stock managed, quantity choices
CATALOGUE: tuple[tuple[str, str, int, str, str, bool, tuple[int, ...]], ...] = (
    ("DES-LOGO", "Logo design and brand mark", 4001, "650.00", "20", False, (1,)),
    ("DES-BRAND", "Brand guidelines document", 4001, "850.00", "20", False, (1,)),
    ("DES-LAYOUT", "Brochure layout and typesetting (per page)", 4001, "75.00", "20", False, (4, 8, 12, 16)),
    ("DES-HOUR", "Artwork amendments (hourly)", 4001, "55.00", "20", False, (1, 2, 3, 5)),
    ("DES-SOCIAL", "Social media graphics pack", 4001, "280.00", "20", False, (1,)),
    ("PRT-BC500", "Business cards, 400gsm, x500", 4002, "48.00", "20", False, (1, 2, 4)),
    ("PRT-A5-2K", "A5 leaflets, 170gsm silk, x2000", 4002, "128.00", "0", False, (1, 2)),
    ("PRT-BK16", "A4 booklet 16pp saddle-stitched", 4002, "2.85", "0", False, (100, 250, 500)),
    ("PRT-BANNER", "Roller banner 850x2000 with stand", 4002, "115.00", "20", True, (1, 2)),
    ("PRT-MENU", "Printed menus, laminated", 4002, "4.20", "20", False, (25, 50, 100)),
    ("PRT-POSTER", "A2 posters, 200gsm gloss", 4002, "6.50", "20", False, (10, 25, 50)),
    ("PRT-LABEL", "Children's car-seat safety labels", 4002, "1.40", "5", False, (200, 500)),
    ("RET-FRAME-A3", "Oak frame A3", 4000, "32.00", "20", True, (1, 2, 4)),
    ("RET-FRAME-A4", "Oak frame A4", 4000, "24.00", "20", True, (1, 2, 4)),
    ("RET-PRINT", "Giclee art print A3", 4000, "45.00", "20", True, (1, 2, 3)),
    ("RET-TOTE", "Branded tote bag", 4000, "5.50", "20", True, (50, 100, 200)),
    ("RET-NOTEBK", "Letterpress notebook A5", 4000, "12.00", "20", True, (5, 10, 20)),
    ("SVC-RETAIN", "Monthly studio retainer", 4000, "750.00", "20", False, (1,)),
    ("SVC-PACK", "Design and print package", 4000, "495.00", "20", False, (1,)),
    ("CAR-NEXTDAY", "Next-day courier delivery", 4905, "12.50", "20", False, (1,)),
    ("CAR-POST", "Royal Mail postage", 4905, "4.85", "exempt", False, (1, 2)),
)
_FLYER_SIZES, _FLYER_STOCK, _FLYER_RUNS = ("A6", "A5", "A4", "DL"), ("130", "170", "250", "350"), (500, 1000, 2500)

_CUSTOMERS = (
    ("Brighton Bakehouse Co", "12 Gloucester Road", "North Laine", "Brighton", "BN1 4AD"),
    ("Harbourside Dental Practice", "3 Quay Street", "", "Bristol", "BS1 4DB"),
    ("Pennine Outdoor Gear Ltd", "Unit 7 Mill Lane Industrial Estate", "Hebden Bridge", "West Yorkshire", "HX7 8AP"),
    ("The Copper Kettle Tearoom", "45 High Street", "", "Stamford", "PE9 2AL"),
    ("Greenway Lettings", "Suite 2, 88 Deansgate", "", "Manchester", "M3 2ER"),
    ("St Aidan's Primary School PTA", "Church Walk", "Heaton", "Newcastle upon Tyne", "NE6 5DX"),
    ("Thistle & Thorn Florists", "9 Rose Street", "", "Edinburgh", "EH2 2PR"),
    ("Morgan Hughes Architects", "Cathedral Chambers", "21 Cathedral Road", "Cardiff", "CF11 9HA"),
    ("Riverside Physio Clinic", "2 Mill Wharf", "", "Nottingham", "NG1 7HW"),
    ("Blackthorn Cider Company", "Orchard Farm", "Long Ashton", "Somerset", "BS41 9LN"),
    ("Kestrel Events Ltd", "Studio 5, The Old Brewery", "Brick Lane", "London", "E1 6QL"),
    ("Oakridge Veterinary Surgery", "110 London Road", "", "Oxford", "OX3 9AS"),
)
_PREFIX = (
    "Ashford", "Bramley", "Cotswold", "Dunmore", "Elmstead", "Fernhill", "Granby", "Hollins", "Ingleby", "Juniper",
    "Kingsway", "Larkhill", "Meadowbank", "Northgate", "Orchard", "Priory", "Quarry", "Redbrook", "Saxon", "Thornbury",
    "Upton", "Vale", "Westcliff", "Yew Tree", "Abbey", "Beacon", "Castle", "Dovecote", "Eastwood", "Foxglove",
)
_SUFFIX = (
    "Joinery", "Dental Care", "Coffee Roasters", "Estate Agents", "Garden Centre", "Motors", "Fitness",
    "Wine Merchants", "Bookshop", "Builders Ltd", "Yoga Studio", "Pharmacy", "Bakery", "Brewery", "Interiors",
    "Solicitors", "Opticians", "Kitchens", "Nursery", "Cycles", "Deli", "Hair Studio", "Vets", "Distillery", "Gallery",
)
_TOWNS = (
    ("Leeds", "LS1 4AP"), ("York", "YO1 7HH"), ("Bath", "BA1 1LT"), ("Norwich", "NR2 1QA"), ("Exeter", "EX1 1JJ"),
    ("Chester", "CH1 2DY"), ("Leicester", "LE1 5YA"), ("Derby", "DE1 3AF"), ("Durham", "DH1 3NJ"),
    ("Lincoln", "LN1 1HE"), ("Worcester", "WR1 2LG"), ("Canterbury", "CT1 2EH"), ("Cambridge", "CB2 3QZ"),
    ("Winchester", "SO23 9BE"), ("Harrogate", "HG1 1DT"), ("Shrewsbury", "SY1 1HH"),
)
_ABROAD = (("Dublin", "D02 XY45", "IE", "EUR"), ("Lyon", "69002", "FR", "EUR"), ("Utrecht", "3511 LN", "NL", "EUR"))
_FIRST = ("Sarah", "James", "Priya", "Tom", "Aisha", "Gareth", "Fiona", "Daniel", "Chloe", "Rhys", "Emma", "Owen")
_LAST = ("Patel", "Jones", "Campbell", "O'Neill", "Hughes", "Clarke", "Fraser", "Singh", "Evans", "Baker")

# name, town, postcode, country, currency, what they bill: (nominal, description, low, high, VAT, product or "")
_SUPPLIERS: tuple[tuple[str, str, str, str, str, tuple[int, str, int, int, str, str]], ...] = (
    ("Fenwick Paper Merchants Ltd", "Leeds", "LS11 5QR", "GB", "GBP",
     (5000, "Paper and board stock", 180, 900, "20", "")),
    ("Calder Print Finishing", "Halifax", "HX1 1XX", "GB", "GBP",
     (6002, "Finishing and binding", 90, 600, "20", "")),
    ("Swiftline Couriers", "Wakefield", "WF1 2SD", "GB", "GBP",
     (5100, "Courier account", 40, 220, "20", "")),
    ("Harbourside Estates", "Bristol", "BS1 5TR", "GB", "GBP",
     (7100, "Studio rent", 1450, 1450, "20", "")),
    ("BrightSpark Energy", "Reading", "RG1 3JH", "GB", "GBP",
     (7200, "Electricity", 90, 260, "5", "")),
    ("Cloudline Broadband", "Swindon", "SN1 1AA", "GB", "GBP",
     (7502, "Broadband and phone", 65, 65, "20", "")),
    ("Pixelform Software Ltd", "Cambridge", "CB1 2LA", "GB", "GBP",
     (8201, "Design software licences", 120, 120, "20", "")),
    ("Ledger & Quill Accountants", "Bath", "BA1 2QH", "GB", "GBP",
     (7601, "Bookkeeping and VAT return", 180, 180, "20", "")),
    ("Officeworks Direct", "Milton Keynes", "MK9 2FP", "GB", "GBP",
     (7504, "Office stationery", 15, 120, "20", "")),
    ("Oakline Frames Ltd", "High Wycombe", "HP11 2JZ", "GB", "GBP",
     (5000, "Oak frames", 200, 800, "20", "RET-FRAME-A3")),
    ("Tote & Co Wholesale", "Leicester", "LE1 1RD", "GB", "GBP",
     (5000, "Blank tote bags", 150, 500, "20", "RET-TOTE")),
    ("Greenleaf Cleaning", "Bristol", "BS2 0JA", "GB", "GBP",
     (7801, "Studio cleaning", 80, 80, "20", "")),
    ("Sentinel Insurance Brokers", "Norwich", "NR1 3NG", "GB", "GBP",
     (8204, "Business insurance", 95, 95, "exempt", "")),
    ("Atelier Papier SARL", "Lyon", "69002", "FR", "EUR",
     (5000, "Fine art paper", 250, 1200, "0", "RET-PRINT")),
    ("Rollup Display Supplies", "Coventry", "CV1 2GT", "GB", "GBP",
     (5000, "Banner stands", 300, 900, "20", "PRT-BANNER")),
)
_MONTHLY = ("Harbourside Estates", "BrightSpark Energy", "Cloudline Broadband", "Pixelform Software Ltd",
            "Ledger & Quill Accountants", "Greenleaf Cleaning", "Sentinel Insurance Brokers")
_TRADES = (("Paper Supplies", 5000, "Paper stock"), ("Print Services", 6002, "Outsourced print run"),
           ("Packaging", 5000, "Packaging"), ("IT Services", 7603, "IT support"), ("Signs", 6002, "Sign making"),
           ("Couriers", 5100, "Deliveries"), ("Office Supplies", 7504, "Office supplies"),
           ("Marketing", 6201, "Advertising"), ("Travel", 7400, "Travel"))
_MONTH_END = ((3, "Depreciation - office equipment", 8000, 31, "125.00"),
              (2, "Accrued accountancy fees", 7601, 2109, "150.00"))
_CODE_FITS = re.compile(r"[A-Za-z0-9._-]{1,20}")


def scale(invoices: int) -> dict[str, int]:
    """How big the rest of the account is for a number of sales invoices."""
    months = 6 if invoices <= 500 else 12 if invoices <= 20_000 else 24
    return {
        "months": months,
        "customers": max(12, min(invoices // 12, 4000)),
        "suppliers": max(len(_SUPPLIERS), min(invoices // 200, 300)),
        "purchases": max(months * 8, invoices // 5),
        "products": len(CATALOGUE) + min(48, invoices // 1500),
    }


def seed(
    store: Store,
    *,
    customers: int = 12,
    invoices: int = 60,
    months: int = 6,
    rng_seed: int = 1,
    username: str = DEFAULT_USERNAME,
    password: str = DEFAULT_PASSWORD,
    memorable_word: str = DEFAULT_MEMORABLE_WORD,
    today: date | None = None,
    company_name: str = COMPANY_NAME,
    suppliers: int | None = None,
    purchases: int | None = None,
    products: int | None = None,
    parties: Sequence[SharedParty] | None = None,
) -> dict[str, Any]:
    """Fill an empty store with a realistic account; returns record counts and a few facts about it."""
    rng = random.Random(rng_seed)
    today = today or store.today()
    sizes = scale(invoices)
    start = today - timedelta(days=months * 30)
    store.set_credentials(username, password, memorable_word)

    def new_uuid() -> str:  # a version-4 GUID from the seeded generator (cheaper than building uuid.UUID)
        h = f"{rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    shared = list(parties or [])
    customer_rows = _shared_parties(shared, "customer", rng, start) or _customers(rng, customers, start)
    supplier_rows = _shared_parties(shared, "supplier", rng, start) or _suppliers(
        rng, suppliers or sizes["suppliers"], start)
    catalogue = _catalogue(products or sizes["products"])
    invoice_rows = _invoices(rng, customer_rows, catalogue, invoices, start, today)
    purchase_rows = _purchases(rng, supplier_rows, purchases or sizes["purchases"], start, today)
    currencies = list(CURRENCIES) + [{"Code": c, "ExchangeRate": "1"} for c in sorted(
        {p["Currency"]["Code"] for p in customer_rows + supplier_rows} - {c["Code"] for c in CURRENCIES})]
    first_number = store.next_number(INVOICE)
    counts = store.load(
        new_uuid=new_uuid,
        settings={"company_name": company_name, "first_invoice_number": 1, "first_purchase_number": 1},
        vat_rates=VAT_RATES, currencies=currencies, payment_methods=PAYMENT_METHODS,
        nominals=[{"Code": c, "Name": n, "Classification": k, "NomType": a, "Special": s} for c, n, k, a, s in CHART],
        bank_accounts=_bank_accounts(start), products=[p["product"] for p in catalogue],
        customers=customer_rows, suppliers=supplier_rows, invoices=invoice_rows, purchases=purchase_rows,
        journals=_journals(start, today),
    )
    return counts | store.status_counts(INVOICE) | {
        "company_name": company_name, "username": username,
        "eur_invoices": sum(1 for i in invoice_rows if i["Currency"]["Code"] == "EUR"),
        "first_number": first_number if invoice_rows else None,
        "last_number": first_number + len(invoice_rows) - 1 if invoice_rows else None,
    }


# --------------------------------------------------------------------------- master data


def _bank_accounts(start: date) -> list[dict[str, Any]]:
    opening = {1200: "12500.00", 1210: "25000.00", 1230: "150.00"}
    return [{"Code": code, "AccountName": name, "IsDefaultAccount": code == 1200, "StartingAmount": opening[code],
             "StartingDate": start.isoformat(), "DefaultInvoicePaymentType": {"Id": 3},
             "DefaultPurchasePaymentType": {"Id": 13}} for code, name in BANK_ACCOUNTS]


def _catalogue(count: int) -> list[dict[str, Any]]:
    """The products: the studio's catalogue, then flyer variants (size x paper x run) up to ``count``."""
    items = list(CATALOGUE)
    variants = [(f"PRT-FLY-{s}-{g}-{r}", f"{s} flyers, {g}gsm, x{r}", 4002, f"{18 + r * (0.02 + int(g) / 20000):.2f}",
                 "0", False, (1, 2)) for s in _FLYER_SIZES for g in _FLYER_STOCK for r in _FLYER_RUNS]
    items += variants[: max(0, count - len(items))]
    out = []
    for n, (code, name, nominal, price, vat, stocked, quantities) in enumerate(items[:max(count, 1)]):
        exempt = vat == "exempt"
        out.append({
            "code": code, "nominal": nominal, "price": Decimal(price), "vat": 0 if exempt else int(vat),
            "exempt": exempt, "quantities": quantities,
            "product": {
                "Code": code, "Name": name, "NominalCode": nominal, "Price": price, "VATRate": 0 if exempt else vat,
                "VATExempt": exempt, "ManageStockLevel": stocked,
                "QuantityInStock": 40 + (n * 37) % 260 if stocked else 0,
                "StockWarningQuantity": 10 if stocked else 0, "AutoFillLineItem": True, "InUse": True,
                "IsDefault": code == "SVC-RETAIN", "Description": name,
            },
        })
    return out


def _person(rng: random.Random, domain: str) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {"Name": f"{first} {last}", "Firstname": first, "LastName": last, "IsPrimary": True,
            "Email": f"{first.lower()}@{domain}", "Telephone": "", "ReceiveEmails": True}


def _domain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:18] + ".co.uk"


def _customers(rng: random.Random, count: int, start: date) -> list[dict[str, Any]]:
    rows: list[tuple[str, str, str, str, str, str, str]] = [(*c, "GB", "GBP") for c in _CUSTOMERS]
    seen, n = {r[0] for r in rows}, 0
    while len(rows) < count:
        prefix, suffix = _PREFIX[n % len(_PREFIX)], _SUFFIX[(n // len(_PREFIX) + n) % len(_SUFFIX)]
        town, postcode = _TOWNS[n % len(_TOWNS)]
        country, currency = "GB", "GBP"
        if n % 23 == 7:  # a few customers abroad, invoiced in euros
            town, postcode, country, currency = _ABROAD[n % len(_ABROAD)]
        name = f"{prefix} {suffix}"
        if name in seen:
            name = f"{name} ({town})" if f"{name} ({town})" not in seen else f"{name} {n}"
        seen.add(name)
        rows.append((name, f"{10 + n % 180} Station Road", "", town, postcode, country, currency))
        n += 1
    used: set[str] = set()
    out = []
    for name, line1, line2, town, postcode, country, currency in rows[:count]:
        code = suggest_code(name, used.__contains__)
        used.add(code)
        domain = _domain(name)
        created = start - timedelta(days=rng.randint(30, 900))
        out.append({
            "Code": code, "Name": name, "Email": f"accounts@{domain}",
            "TelephoneNumber": f"0{rng.randint(1130, 1999)} {rng.randint(100000, 999999)}",
            "Contacts": [_person(rng, domain)],
            "Addresses": [{"Line1": line1, "Line2": line2 or None, "Line3": town, "Line4": None, "PostCode": postcode,
                           "CountryCode": country}],
            "PaymentTerms": {"Days": rng.choice((14, 30, 30, 30)), "Type": "AfterIssuedDate"},
            "Currency": {"Code": currency}, "DefaultNominalCode": 4000,
            "VATNumber": f"GB{rng.randint(100000000, 999999999)}" if country == "GB" and rng.random() < 0.5 else "",
            "IsRegisteredInEC": country != "GB", "CreatedDate": f"{created.isoformat()} 10:{rng.randint(10, 59)}:00",
        })
    return out


def _suppliers(rng: random.Random, count: int, start: date) -> list[dict[str, Any]]:
    rows = [(name, town, postcode, country, currency, bills) for name, town, postcode, country, currency, bills
            in _SUPPLIERS]
    n = 0
    while len(rows) < count:
        trade, nominal, what = _TRADES[n % len(_TRADES)]
        town, postcode = _TOWNS[(n * 5) % len(_TOWNS)]
        rows.append((f"{_PREFIX[(n * 7) % len(_PREFIX)]} {trade}", town, postcode, "GB", "GBP",
                     (nominal, what, 40, 600, "20", "")))
        n += 1
    used: set[str] = set()
    out = []
    for name, town, postcode, country, currency, bills in rows[:count]:
        code = suggest_code(name, used.__contains__)
        used.add(code)
        created = start - timedelta(days=rng.randint(60, 1200))
        out.append({
            "Code": code, "Name": name, "Contacts": [_person(rng, _domain(name))],
            "Address": {"Line1": f"{rng.randint(1, 120)} Commercial Street", "Line2": None, "Line3": town,
                        "Line4": None, "PostCode": postcode, "CountryCode": country},
            "Currency": {"Code": currency}, "DefaultNominalCode": bills[0], "PaymentMethod": 13,
            "PaymentTerms": {"Days": 30, "Type": "AfterIssuedDate" if rng.random() < 0.8 else "AfterMonthEnd"},
            "VatNumber": f"GB{rng.randint(100000000, 999999999)}" if country == "GB" else "",
            "CreatedDate": f"{created.isoformat()} 11:{rng.randint(10, 59)}:00", "_bills": bills,
        })
    return out


def _shared_parties(parties: list[SharedParty], kind: str, rng: random.Random, start: date) -> list[dict[str, Any]]:
    """Customers/suppliers the ERP holds, with its codes where they fit Kashflow's (else a generated one)."""
    chosen = [p for p in parties if p.kind == kind]
    used: set[str] = set()
    out = []
    for party in chosen:
        code = party.code if _CODE_FITS.fullmatch(party.code or "") and party.code.upper() not in used else ""
        code = code or suggest_code(party.name, lambda c: c.upper() in used)
        used.add(code.upper())
        lines = [line for line in party.address_lines if line] or [""]
        lines = lines[:3] + [", ".join(lines[3:])] if len(lines) > 4 else lines
        where = {f"Line{i}": (lines[i - 1] if i <= len(lines) else None) or None for i in range(1, 5)}
        where |= {"PostCode": party.postcode, "CountryCode": party.country or "GB"}
        currency = party.currency if party.currency in ("GBP", "EUR", "USD") else "GBP"
        row: dict[str, Any] = {
            "Code": code, "Name": party.name, "Currency": {"Code": currency},
            "Contacts": [{"Name": party.name, "Email": party.email, "Telephone": party.phone, "IsPrimary": True}],
            "PaymentTerms": {"Days": 30, "Type": "AfterIssuedDate"},
            "CreatedDate": f"{(start - timedelta(days=rng.randint(30, 900))).isoformat()} 10:00:00",
        }
        if kind == "customer":
            row |= {"Addresses": [where], "Email": party.email, "TelephoneNumber": party.phone,
                    "DefaultNominalCode": 4000, "IsRegisteredInEC": party.country != "GB"}
        else:
            bills = _SUPPLIERS[len(out) % len(_SUPPLIERS)][5]
            row |= {"Address": where, "DefaultNominalCode": bills[0], "PaymentMethod": 13, "_bills": (*bills[:5], "")}
        out.append(row)
    return out


# --------------------------------------------------------------------------- transactions


def _vat_pence(net_pence: int, level: int) -> int:
    return (net_pence * level * 2 + 100) // 200  # half-up, as the server rounds


def _pay_plan(rng: random.Random, age: int) -> str:
    """Older invoices are mostly settled; recent ones mostly open."""
    full, part = (0.88, 0.05) if age > 60 else (0.7, 0.1) if age > 30 else (0.4, 0.15) if age > 7 else (0.1, 0.05)
    roll = rng.random()
    return "paid" if roll < full else "part" if roll < full + part else "open"


def _invoices(rng: random.Random, customers: list[dict[str, Any]], catalogue: list[dict[str, Any]], count: int,
              start: date, today: date) -> list[dict[str, Any]]:
    span = max(1, (today - start).days)
    days = sorted(rng.randrange(span) for _ in range(count))
    weights = [1.0 / (1 + (n % 40)) ** 0.6 for n in range(len(customers))]  # a few customers buy most
    buyers = rng.choices(customers, weights=weights, k=count)
    out = []
    for offset, customer in zip(days, buyers, strict=True):
        issued = start + timedelta(days=offset)
        lines, gross_pence = [], 0
        for n in range(1, rng.choice((1, 1, 2, 2, 3, 4)) + 1):
            item = rng.choice(catalogue)
            qty = rng.choice(item["quantities"])
            rate = item["price"]
            if item["nominal"] == 4001 and rng.random() < 0.3:  # design work is often quoted per job
                rate = Decimal(rng.randrange(int(rate) // 2, int(rate) * 2, 5))
            net_pence = qty * int(rate * 100)
            gross_pence += net_pence + (0 if item["exempt"] else _vat_pence(net_pence, item["vat"]))
            lines.append({"Number": n, "ProductCode": item["code"], "NominalCode": item["nominal"],
                          "Description": item["product"]["Name"], "Quantity": qty, "Rate": rate,
                          "VATLevel": item["vat"], "VATExempt": item["exempt"]})
        currency = customer["Currency"]["Code"]
        invoice: dict[str, Any] = {
            "CustomerCode": customer["Code"], "IssuedDate": issued.isoformat(),
            "CustomerReference": f"PO-{rng.randint(1000, 9999)}" if rng.random() < 0.4 else "",
            "Currency": {"Code": currency, "ExchangeRate": f"{1.14 + (offset % 9) / 200:.4f}"}
            if currency == "EUR" else {"Code": currency}, "LineItems": lines,
        }
        state = _pay_plan(rng, (today - issued).days)
        invoice["PaymentLines"] = _payments(rng, state, gross_pence, issued, today, method=3)
        out.append(invoice)
    return out


def _payments(rng: random.Random, state: str, gross_pence: int, issued: date, today: date,
              method: int) -> list[dict[str, Any]]:
    if state == "open" or gross_pence <= 0 or (today - issued).days < 1:
        return []
    parts = [gross_pence]
    if state == "part":
        parts = [gross_pence * rng.choice((20, 25, 30, 40, 50, 60, 75)) // 100]
    elif gross_pence > 20_000 and rng.random() < 0.2:  # bigger bills sometimes settled in two instalments
        parts = [gross_pence // 2, gross_pence - gross_pence // 2]
    out = []
    for n, pence in enumerate(parts):
        paid_on = min(today, issued + timedelta(days=rng.randint(3, 40) + 14 * n))
        out.append({"Amount": Decimal(pence) / 100, "Date": paid_on.isoformat(),
                    "Method": method if rng.random() < 0.8 else rng.choice((2, 4)) if method == 3 else 14,
                    "AccountId": 1, "Note": "", "Reference": f"BACS{rng.randint(100000, 999999)}"})
    return out


def _purchases(rng: random.Random, suppliers: list[dict[str, Any]], count: int, start: date,
               today: date) -> list[dict[str, Any]]:
    span = max(1, (today - start).days)
    by_name = {s["Name"]: s for s in suppliers}
    plan: list[tuple[int, dict[str, Any]]] = []
    day = 0
    while day < span and len(plan) < count:  # overheads: the same bills every month
        for name in _MONTHLY:
            if name in by_name and len(plan) < count:
                plan.append((min(span - 1, day + rng.randint(0, 3)), by_name[name]))
        day += 30
    others = [s for s in suppliers if s["Name"] not in _MONTHLY] or suppliers
    plan += [(rng.randrange(span), rng.choice(others)) for _ in range(count - len(plan))]
    plan.sort(key=lambda p: p[0])
    out = []
    for offset, supplier in plan:
        issued = start + timedelta(days=offset)
        nominal, what, low, high, vat, product = supplier["_bills"]
        exempt = vat == "exempt"
        qty = rng.choice((10, 20, 25, 50)) if product else 1
        unit_pence = rng.randint(low * 100, high * 100) // (qty if product else 1) or 1
        line: dict[str, Any] = {"Number": 1, "Description": what, "NominalCode": nominal, "Quantity": qty,
                                "Rate": Decimal(unit_pence) / 100, "VATLevel": 0 if exempt else int(vat),
                                "VATExempt": exempt}
        if product:
            line |= {"ProductCode": product, "StockInfo": {"Received": True, "StockReceivedOn": issued.isoformat()}}
        net = qty * unit_pence
        gross = net + (0 if exempt else _vat_pence(net, int(vat)))
        age = (today - issued).days
        state = "paid" if age > 35 or (age > 10 and rng.random() < 0.5) else "open"
        out.append({
            "SupplierCode": supplier["Code"], "IssuedDate": issued.isoformat(),
            "SupplierReference": f"INV-{rng.randint(10000, 99999)}", "Type": "Purchase", "LineItems": [line],
            "Currency": {"Code": supplier["Currency"]["Code"], "ExchangeRate": "1.1650"}
            if supplier["Currency"]["Code"] == "EUR" else {"Code": supplier["Currency"]["Code"]},
            "PaymentLines": _payments(rng, state, gross, issued, today, method=13),
        })
    return out


def _journals(start: date, today: date) -> list[dict[str, Any]]:
    out = []
    month = date(start.year, start.month, 1)
    while month <= today:
        end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        if end <= today:
            for category, comment, debit, credit, amount in _MONTH_END:
                out.append({"JournalDate": end.isoformat(), "Category": category, "Comment": comment,
                            "LineItems": [{"NominalCode": debit, "Debit": amount},
                                          {"NominalCode": credit, "Credit": amount}]})
        month = end + timedelta(days=1)
    return out
