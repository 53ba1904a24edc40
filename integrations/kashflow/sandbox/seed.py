"""Deterministic demo data: a small UK design & print studio's Kashflow account.

Same ``rng_seed`` and ``today`` give the same customers, invoices, numbers and amounts, so demos and tests
can assert on them. Everything goes through ``Store.bulk_load`` (one transaction), so 100,000 invoices
load in seconds.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .store import Store

SEED_NOMINAL_CODES: dict[int, str] = {
    4000: "Sales",
    4001: "Sales - Design services",
    4002: "Sales - Print",
    4905: "Distribution and Carriage",
}

COMPANY_NAME = "Inkwell & Grain Design Studio Ltd"
DEFAULT_USERNAME = "inkwell.admin"
DEFAULT_PASSWORD = "sandbox-Pa55word"  # sandbox demo credential, not a real secret
DEFAULT_MEMORABLE_WORD = "letterpress"

_CUSTOMERS = [
    ("Brighton Bakehouse Co", "12 Gloucester Road", "North Laine", "Brighton", "East Sussex", "BN1 4AD"),
    ("Harbourside Dental Practice", "3 Quay Street", "", "Bristol", "", "BS1 4DB"),
    (
        "Pennine Outdoor Gear Ltd",
        "Unit 7 Mill Lane Industrial Estate",
        "Hebden Bridge",
        "West Yorkshire",
        "",
        "HX7 8AP",
    ),
    ("The Copper Kettle Tearoom", "45 High Street", "", "Stamford", "Lincolnshire", "PE9 2AL"),
    ("Greenway Lettings", "Suite 2, 88 Deansgate", "", "Manchester", "", "M3 2ER"),
    ("St Aidan's Primary School PTA", "Church Walk", "Heaton", "Newcastle upon Tyne", "", "NE6 5DX"),
    ("Thistle & Thorn Florists", "9 Rose Street", "", "Edinburgh", "", "EH2 2PR"),
    ("Morgan Hughes Architects", "Cathedral Chambers", "21 Cathedral Road", "Cardiff", "", "CF11 9HA"),
    ("Riverside Physio Clinic", "2 Mill Wharf", "", "Nottingham", "", "NG1 7HW"),
    ("Blackthorn Cider Company", "Orchard Farm", "Long Ashton", "Somerset", "", "BS41 9LN"),
    ("Kestrel Events Ltd", "Studio 5, The Old Brewery", "Brick Lane", "London", "", "E1 6QL"),
    ("Oakridge Veterinary Surgery", "110 London Road", "", "Oxford", "", "OX3 9AS"),
]
_EXTRA_PREFIX = [
    "Ashford",
    "Bramley",
    "Cotswold",
    "Dunmore",
    "Elmstead",
    "Fernhill",
    "Granby",
    "Hollins",
    "Ingleby",
    "Juniper",
    "Kingsway",
    "Larkhill",
    "Meadowbank",
    "Northgate",
    "Orchard",
    "Priory",
]
_EXTRA_SUFFIX = [
    "Joinery",
    "Dental Care",
    "Coffee Roasters",
    "Estate Agents",
    "Garden Centre",
    "Motors",
    "Fitness",
    "Wine Merchants",
    "Bookshop",
    "Builders Ltd",
    "Yoga Studio",
    "Pharmacy",
]
_TOWNS = [
    ("Leeds", "LS1 4AP"),
    ("York", "YO1 7HH"),
    ("Bath", "BA1 1LT"),
    ("Norwich", "NR2 1QA"),
    ("Exeter", "EX1 1JJ"),
    ("Chester", "CH1 2DY"),
    ("Leicester", "LE1 5YA"),
    ("Derby", "DE1 3AF"),
]
_FIRST = [
    "Sarah",
    "James",
    "Priya",
    "Tom",
    "Aisha",
    "Gareth",
    "Fiona",
    "Daniel",
    "Chloe",
    "Rhys",
    "Emma",
    "Owen",
]
_LAST = ["Patel", "Jones", "Campbell", "O'Neill", "Hughes", "Clarke", "Fraser", "Singh", "Evans", "Baker"]

# (nominal, description, unit price range, quantity choices, VAT treatment)
_ITEMS: list[tuple[int, str, tuple[int, int], tuple[int, ...], str]] = [
    (4001, "Logo design and brand mark", (350, 900), (1,), "20"),
    (4001, "Brand guidelines document", (450, 1200), (1,), "20"),
    (4001, "Brochure layout and typesetting", (60, 95), (4, 8, 12, 16), "20"),
    (4001, "Artwork amendments (hourly)", (45, 65), (1, 2, 3, 5), "20"),
    (4001, "Social media graphics pack", (180, 420), (1,), "20"),
    (4002, "Business cards, 400gsm, x500", (38, 65), (1, 2, 4), "20"),
    (4002, "A5 leaflets, 170gsm silk, x2000", (95, 160), (1, 2), "0"),
    (4002, "A4 booklets 16pp saddle-stitched", (2, 4), (100, 250, 500), "0"),
    (4002, "Roller banner 850x2000 with stand", (85, 140), (1, 2), "20"),
    (4002, "Printed menus, laminated", (3, 6), (25, 50, 100), "20"),
    (4002, "Children's car-seat safety labels", (1, 2), (200, 500), "5"),
    (4000, "Monthly studio retainer", (400, 1200), (1,), "20"),
    (4000, "Design and print package", (250, 900), (1,), "20"),
    (4000, "Stationery bundle (cards, letterheads, compliment slips)", (120, 260), (1,), "20"),
    (4000, "Framed giclee prints", (45, 120), (1, 2, 3), "20"),
    (4000, "Branded tote bags", (4, 7), (50, 100, 200), "20"),
    (4905, "Next-day courier delivery", (9, 18), (1,), "20"),
    (4905, "Royal Mail postage (exempt)", (3, 25), (1, 2), "exempt"),
]

_PAYMENT_METHODS = (1, 2, 3)  # 1 BACS, 2 Card, 3 Cheque (see settings "payment_methods")
_BANK_ACCOUNT_ID = 1


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _customers(rng: random.Random, count: int, today: date, months: int) -> list[dict[str, Any]]:
    rows = list(_CUSTOMERS)
    n = 0
    while len(rows) < count:
        prefix = _EXTRA_PREFIX[n % len(_EXTRA_PREFIX)]
        suffix = _EXTRA_SUFFIX[(n // len(_EXTRA_PREFIX) + n) % len(_EXTRA_SUFFIX)]
        town, postcode = _TOWNS[n % len(_TOWNS)]
        rows.append((f"{prefix} {suffix}", f"{10 + n % 180} Station Road", "", town, "", postcode))
        n += 1
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    for name, line1, line2, line3, line4, postcode in rows[:count]:
        stem = ("".join(ch for ch in name.upper() if ch.isalpha()) + "XXXX")[:4]
        k = 1
        while f"{stem}{k:02d}" in used:
            k += 1
        code = f"{stem}{k:02d}"
        used.add(code)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        domain = "".join(ch for ch in name.lower() if ch.isalnum())[:18] + ".co.uk"
        created = today - timedelta(days=months * 31 + rng.randint(30, 700))
        out.append(
            {
                "Code": code,
                "Name": name,
                "Email": f"accounts@{domain}",
                "TelephoneNumber": f"0{rng.randint(1130, 1999)} {rng.randint(100000, 999999)}",
                "Contacts": [
                    {
                        "Name": f"{first} {last}",
                        "Firstname": first,
                        "LastName": last,
                        "IsPrimary": True,
                        "Email": f"{first.lower()}@{domain}",
                        "Telephone": "",
                        "ReceiveEmails": True,
                    }
                ],
                "Addresses": [
                    {
                        "Line1": line1,
                        "Line2": line2 or None,
                        "Line3": line3 or None,
                        "Line4": line4 or None,
                        "PostCode": postcode,
                        "CountryCode": "GB",
                    }
                ],
                "PaymentTerms": {"Days": rng.choice((14, 30, 30, 30)), "Type": "AfterIssuedDate"},
                "DefaultNominalCode": 4000,
                "VATNumber": f"GB{rng.randint(100000000, 999999999)}" if rng.random() < 0.5 else "",
                "CreatedDate": f"{created.isoformat()} 12:00:00",
            }
        )
    return out


def _line(rng: random.Random) -> dict[str, Any]:
    nominal, description, (low, high), quantities, vat = rng.choice(_ITEMS)
    rate = Decimal(rng.randint(low * 100, high * 100)) / 100
    if rate >= 100:
        rate = Decimal(int(rate / 5) * 5)  # studio quotes round prices for bigger jobs
    line: dict[str, Any] = {
        "Description": description,
        "Quantity": Decimal(rng.choice(quantities)),
        "Rate": rate,
        "NominalCode": nominal,
    }
    if vat == "exempt":
        line.update(VATExempt=True, VATLevel=0)
    else:
        line.update(VATExempt=False, VATLevel=int(vat))
    return line


def _gross(lines: list[dict[str, Any]]) -> Decimal:
    total = Decimal(0)
    for line in lines:
        net = _money(line["Quantity"] * line["Rate"])
        vat = (
            Decimal(0)
            if line["VATExempt"]
            else _money(line["Quantity"] * line["Rate"] * line["VATLevel"] / 100)
        )
        total += net + vat
    return total


def _invoices(
    rng: random.Random,
    customers: list[dict[str, Any]],
    count: int,
    months: int,
    today: date,
    first_number: int,
) -> list[dict[str, Any]]:
    span = max(1, months * 30)
    start = today - timedelta(days=span)
    days = sorted(rng.randint(0, span - 1) for _ in range(count))
    out = []
    for index, offset in enumerate(days):
        issued = start + timedelta(days=offset)
        customer = rng.choice(customers)
        lines = [_line(rng) for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]
        for n, line in enumerate(lines, start=1):
            line["Number"] = n
        invoice: dict[str, Any] = {
            "Number": first_number + index,
            "CustomerCode": customer["Code"],
            "CustomerReference": f"PO-{rng.randint(1000, 9999)}" if rng.random() < 0.4 else "",
            "IssuedDate": f"{issued.isoformat()} 12:00:00",
            "DueDate": f"{(issued + timedelta(days=customer['PaymentTerms']['Days'])).isoformat()} 12:00:00",
            "LineItems": lines,
        }
        rate = Decimal(1)
        if rng.random() < 0.06:
            rate = Decimal(rng.choice(("1.1425", "1.1580", "1.1650", "1.1720")))
            invoice["Currency"] = {"Code": "EUR", "ExchangeRate": rate}
        else:
            invoice["Currency"] = {"Code": "GBP", "ExchangeRate": 1}
        gross = _gross(lines)
        roll = rng.random()
        age = (today - issued).days
        payments: list[dict[str, Any]] = []
        if roll < 0.55 and age > 3:  # fully paid, sometimes in two instalments
            parts = [gross] if rng.random() < 0.8 or gross < 50 else [_money(gross * Decimal("0.5")), None]
            if parts[-1] is None:
                parts[-1] = gross - parts[0]
            for n, amount in enumerate(parts):
                paid_on = min(today, issued + timedelta(days=rng.randint(1, 40) + 10 * n))
                payments.append(_payment(rng, amount, paid_on))
        elif roll < 0.70 and age > 3:  # part paid
            share = Decimal(rng.choice((20, 25, 30, 40, 50, 60, 75))) / 100
            payments.append(
                _payment(rng, _money(gross * share), min(today, issued + timedelta(days=rng.randint(1, 30))))
            )
        invoice["PaymentLines"] = payments
        out.append(invoice)
    return out


def _payment(rng: random.Random, amount: Decimal, paid_on: date) -> dict[str, Any]:
    return {
        "Amount": amount,
        "Date": f"{paid_on.isoformat()} 12:00:00",
        "Method": rng.choice(_PAYMENT_METHODS),
        "AccountId": _BANK_ACCOUNT_ID,
        "Note": "",
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
) -> dict[str, Any]:
    """Fill an empty store with a realistic account; returns counts and the login user name."""
    rng = random.Random(rng_seed)
    today = today or store.today()

    def new_uuid() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    store.set_credentials(username, password, memorable_word)
    store.set_setting("company_name", company_name)
    store.set_setting("nominal_codes", {str(k): v for k, v in SEED_NOMINAL_CODES.items()})
    store.set_setting(
        "payment_methods",
        {"invoice": [{"Id": 1, "Name": "BACS"}, {"Id": 2, "Name": "Card"}, {"Id": 3, "Name": "Cheque"}]},
    )
    store.set_setting(
        "bank_accounts", [{"Id": _BANK_ACCOUNT_ID, "Code": 1200, "AccountName": "Current Account"}]
    )
    customer_rows = _customers(rng, customers, today, months)
    first_number = int(store.get_setting("first_invoice_number") or 1)
    existing = store.counts()["invoices"]
    if existing:
        top = store.list_invoices(page=1, perpage=1, sortby="0", order="desc").items
        first_number = int(top[0]["Number"]) + 1 if top else first_number
    invoice_rows = _invoices(rng, customer_rows, invoices, months, today, first_number)
    store.bulk_load(customers=customer_rows, invoices=invoice_rows, new_uuid=new_uuid)
    paid = sum(
        1
        for i in invoice_rows
        if i["PaymentLines"] and sum(p["Amount"] for p in i["PaymentLines"]) >= _gross(i["LineItems"])
    )
    part = sum(1 for i in invoice_rows if i["PaymentLines"]) - paid
    return {
        "company_name": company_name,
        "username": username,
        "customers": len(customer_rows),
        "invoices": len(invoice_rows),
        "paid": paid,
        "part_paid": part,
        "unpaid": len(invoice_rows) - paid - part,
        "eur_invoices": sum(1 for i in invoice_rows if i["Currency"]["Code"] == "EUR"),
        "first_number": first_number if invoice_rows else None,
        "last_number": invoice_rows[-1]["Number"] if invoice_rows else None,
    }
