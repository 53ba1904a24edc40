"""Demo data for the AX sandbox: a Contoso-style AX 2012 installation with the UK company GBSI and USMF.

Why these values: they are the Contoso AX 2012 R2/R3 demo data the reference documents (§7.2–7.4): the USMF
shared chart of accounts, dimensions BusinessUnit / Department / CostCenter with USMF codes, customer groups
10–90, vendor groups 10–50, payment terms Net10…COD, journal name GenJrn. Account names are as third-party lists
give them (may be paraphrased). Constants are exported so tests and the lead can refer to ids instead of
repeating literals.

:func:`seed` fills a store with the reference data plus explicit customers (the legacy demo and tests use it);
``generate.py`` builds a whole scaled installation with history on the same building blocks (``seed_shared``,
``add_company``, ``add_parties``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .enums import (
    ELECTRONIC_ADDRESS_TYPE,
    LEDGER_JOURNAL_TYPE,
    PARTY_COMPANY,
    PARTY_ORGANIZATION,
)
from .store import EMPTY_DATE, AxStore, timestamp

# MAINACCOUNT.TYPE = enum DimensionLedgerAccountType (reference §4.2).
PROFIT_AND_LOSS, REVENUE, EXPENSE, BALANCE_SHEET, ASSET, LIABILITY, EQUITY, TOTAL, REPORTING = (
    0, 1, 2, 3, 4, 5, 6, 8, 9,
)

# (MAINACCOUNTID, NAME, TYPE) — reference §7.2; TYPE per account is inferred from the account range/name.
MAIN_ACCOUNTS: list[tuple[str, str, int]] = [
    ("110110", "Bank Account - USD", ASSET),
    ("110115", "Bank Account - CAD", ASSET),
    ("110120", "Bank Account - CNY", ASSET),
    ("110130", "Bank Account - EUR", ASSET),
    ("110140", "Bank Account - DKK", ASSET),
    ("110150", "Bank Account - GBP", ASSET),
    ("110160", "Bank Account - Payroll", ASSET),
    ("110180", "Petty Cash", ASSET),
    ("112000", "Safe drop", ASSET),
    ("112010", "Bank drop", ASSET),
    ("120100", "Bonds", ASSET),
    ("120200", "Other Marketable Securities", ASSET),
    ("130100", "Accounts Receivable - Domestic", ASSET),
    ("130110", "Accounts Receivable - Foreign", ASSET),
    ("130300", "Accounts Receivable - Not Invoiced", ASSET),
    ("130400", "Credit Card Receivable", ASSET),
    ("130500", "Interest Receivable", ASSET),
    ("130600", "Notes Receivable", ASSET),
    ("130700", "Other Receivables", ASSET),
    ("130800", "VAT Tax Receivable", ASSET),
    ("132100", "Prepaid Insurance", ASSET),
    ("132190", "Prepaid Expenses", ASSET),
    ("133300", "Intercompany Receivable - USMF/DEMF", ASSET),
    ("140100", "Raw Materials Inventory", ASSET),
    ("140200", "Finished Goods Inventory", ASSET),
    ("150100", "Production WIP - Clearing", ASSET),
    ("170150", "Goodwill", ASSET),
    ("180100", "Tangible Fixed Assets", ASSET),
    ("180200", "Accumulated Depreciation - Tangible FA", ASSET),
    ("200100", "Accounts Payable - Domestic", LIABILITY),
    ("200110", "Accounts Payable - Other", LIABILITY),
    ("200130", "Invoice Pending Approval", LIABILITY),
    ("200140", "Accrued Purchases - Received Not Invoiced", LIABILITY),
    ("201100", "Salaries and Wages Payable", LIABILITY),
    ("202900", "Sales Tax Clearing", LIABILITY),
    ("221240", "Income Taxes Payable", LIABILITY),
    ("222200", "VAT Tax Payable", LIABILITY),
    ("231300", "Intercompany Payable - USMF/DEMF", LIABILITY),
    ("250100", "Long-term Bank Loans", LIABILITY),
    ("300110", "Capital Stock", EQUITY),
    ("300160", "Retained Earnings", EQUITY),
    ("401100", "Product Sales", REVENUE),
    ("401200", "Service Revenue", REVENUE),
    ("401400", "Accrued Sales", REVENUE),
    ("403150", "Miscellaneous Charges", REVENUE),
    ("403300", "Customer Cash Discounts", REVENUE),
    ("411100", "Revenue - Labor", REVENUE),
    ("500100", "COGS - Finished Goods", EXPENSE),
    ("601200", "Selling Expense", EXPENSE),
    ("601300", "Advertising Expense", EXPENSE),
    ("601500", "Travel Expense", EXPENSE),
    ("602100", "Salaries & Wages", EXPENSE),
    ("602210", "Employee Relocation Expense", EXPENSE),
    ("605150", "Rent Expense", EXPENSE),
    ("606300", "Office Expense", EXPENSE),
    ("607200", "Depreciation - Tangible", EXPENSE),
    ("618900", "Miscellaneous Expense", EXPENSE),
    ("801400", "Currency Loss - Realized", EXPENSE),
    ("801500", "Currency Gain - Realized", REVENUE),
    ("802100", "Federal Income Tax", EXPENSE),
]
MAIN_ACCOUNT_IDS: list[str] = [account for account, _name, _type in MAIN_ACCOUNTS]
REVENUE_ACCOUNT_IDS: list[str] = [account for account, _name, kind in MAIN_ACCOUNTS if kind == REVENUE]
PRODUCT_SALES, SERVICE_REVENUE, MISC_CHARGES = "401100", "401200", "403150"
AR_DOMESTIC, AR_FOREIGN = "130100", "130110"
BANK_ACCOUNTS = {"GBP": "110150", "USD": "110110", "EUR": "110130", "CAD": "110115"}
EXPENSE_ACCOUNTS = ["601200", "601300", "601500", "605150", "606300", "618900"]

# Account structure segment order after the main account (reference §7.3, order inferred).
ACCOUNT_STRUCTURE: list[str] = ["BusinessUnit", "Department", "CostCenter"]
ACCOUNT_STRUCTURE_NAME = "Manufacturing P&L"
BUSINESS_UNITS: list[str] = ["001", "002", "003", "004"]
DEPARTMENTS: list[str] = [f"{n:03d}" for n in (*range(22, 29), *range(31, 35))]
COST_CENTERS: list[str] = [f"{n:03d}" for n in range(7, 19)]
DIMENSION_VALUES: dict[str, list[str]] = {
    "BusinessUnit": BUSINESS_UNITS,
    "Department": DEPARTMENTS,
    "CostCenter": COST_CENTERS,
}
DIMENSION_VIEW_NAMES = {"BusinessUnit": "DimAttributeOMBusinessUnit", "Department": "DimAttributeOMDepartment",
                        "CostCenter": "DimAttributeOMCostCenter"}
DEPARTMENT_NAMES = {"022": "Sales and Marketing", "023": "Operations", "024": "Finance", "025": "Human Resources",
                    "026": "Information Technology", "027": "Purchasing", "028": "Customer Service"}

CUSTOMER_GROUPS: list[tuple[str, str]] = [
    ("10", "Wholesales customers"),
    ("20", "Major customers"),
    ("30", "Retail customers"),
    ("40", "Internet customers"),
    ("80", "Other customers"),
    ("90", "Intercompany customers"),
]
VENDOR_GROUPS: list[tuple[str, str]] = [
    ("10", "Parts vendors"),
    ("20", "Services vendors"),
    ("30", "Other vendors"),
    ("40", "Intercompany vendors"),
    ("50", "Freight vendors"),
]
PAYMENT_TERMS: list[tuple[str, str, int]] = [
    ("Net10", "Net 10 days", 10),
    ("Net15", "Net 15 days", 15),
    ("Net30", "Net 30 days", 30),
    ("Net45", "Net 45 days", 45),
    ("Cash", "Cash", 0),
    ("COD", "Cash on delivery", 0),
]
CURRENCIES: list[tuple[str, str]] = [
    ("USD", "US Dollar"),
    ("GBP", "Pound sterling"),
    ("EUR", "Euro"),
    ("CAD", "Canadian dollar"),
    ("DKK", "Danish krone"),
    ("CNY", "Chinese yuan"),
]
# Fixed demo rates: units of accounting currency per unit of foreign currency (the sandbox has no rate tables).
EXCHANGE_RATES: dict[tuple[str, str], Decimal] = {
    ("EUR", "GBP"): Decimal("0.85"), ("USD", "GBP"): Decimal("0.79"), ("GBP", "USD"): Decimal("1.27"),
    ("EUR", "USD"): Decimal("1.08"), ("CAD", "USD"): Decimal("0.74"),
}
COMPANIES: dict[str, tuple[str, str]] = {
    "USMF": ("Contoso Entertainment System USA", "USD"),
    "GBSI": ("Contoso Entertainment System UK", "GBP"),
    "DEMF": ("Contoso Entertainment System Germany", "EUR"),
    "USRT": ("Contoso Retail USA", "USD"),
}
DEFAULT_CUSTOMER_COMPANY = "GBSI"
# Number sequence formats per company (reference §10.5: keys from number sequences; formats inferred).
NUMBER_FORMATS: dict[str, dict[str, str]] = {
    "gbsi": {"Cust": "GB-####", "Vend": "GBV-####"},
    "usmf": {"Cust": "US-###", "Vend": "US-1##"},
}
COMMON_SEQUENCES: dict[str, tuple[str, str]] = {
    "LedgerJournal": ("#####", "Journal batch numbers"),
    "GenJrnVoucher": ("GNJL######", "General journal vouchers"),
    "CustPayVoucher": ("ARPM######", "Customer payment vouchers"),
    "APInvoiceVoucher": ("APIN######", "Vendor invoice journal vouchers"),
    "FreeTextInvoice": ("FTI-######", "Free text invoice ids"),
    "FreeTextVoucher": ("FTIV######", "Free text invoice vouchers"),
    "SalesInvoice": ("CIV-######", "Sales invoice ids"),
    "SalesOrder": ("SO-######", "Sales orders"),
    "Product": ("P#####", "Product numbers"),
}
# (JOURNALNAME, NAME, JOURNALTYPE name, voucher sequence, offset account type)
JOURNAL_NAMES: list[tuple[str, str, str, str]] = [
    ("GenJrn", "General journal", "Daily", "GenJrnVoucher"),
    ("CustPay", "Customer payments", "CustPayment", "CustPayVoucher"),
    ("APInvoice", "Vendor invoices", "PurchaseLedger", "APInvoiceVoucher"),
]
# Sales tax setup (UK VAT; codes and group names are sandbox inventions in AX's shape, not USMF demo data):
# (TAXCODE, TAXNAME, rate %), the sales tax group every code belongs to (EXEMPTTAX marks the exempt code), and
# item sales tax groups, each selecting one code. A line is taxed by the codes in both its TaxGroup and its
# TaxItemGroup (AX 2012 behaviour).
TAX_CODES: list[tuple[str, str, Decimal]] = [
    ("VAT20", "UK VAT standard rate", Decimal(20)), ("VAT5", "UK VAT reduced rate", Decimal(5)),
    ("VAT0", "UK VAT zero rate", Decimal(0)), ("VATEX", "UK VAT exempt", Decimal(0)),
]
TAX_GROUPS: dict[str, tuple[str, list[tuple[str, int]]]] = {
    "GB": ("UK domestic sales", [("VAT20", 0), ("VAT5", 0), ("VAT0", 0), ("VATEX", 1)]),
}
TAX_ITEM_GROUPS: dict[str, tuple[str, list[str]]] = {
    "STD": ("Standard rated", ["VAT20"]), "RED": ("Reduced rated", ["VAT5"]), "ZERO": ("Zero rated", ["VAT0"]),
    "EXEMPT": ("Exempt", ["VATEX"]),
}
ITEM_GROUPS: list[tuple[str, str]] = [
    ("Audio", "Audio systems"), ("TV&Video", "TV and video"), ("Speakers", "Speakers"),
    ("Cables", "Cables and accessories"), ("Services", "Installation and services"),
]
WAREHOUSES: dict[str, list[tuple[str, str, str]]] = {  # INVENTDIMID, site, warehouse
    "gbsi": [("00001", "1", "11"), ("00002", "1", "12")],
    "usmf": [("00001", "1", "11"), ("00002", "1", "12"), ("00003", "2", "21")],
}

# LOGISTICSADDRESSCOUNTRYREGION: AX 2012 keys countries by ISO 3166-1 alpha-3 (reference §3.1).
COUNTRIES: list[tuple[str, str, str]] = [
    ("GBR", "GB", "United Kingdom"), ("USA", "US", "United States"), ("IRL", "IE", "Ireland"),
    ("FRA", "FR", "France"), ("DEU", "DE", "Germany"), ("NLD", "NL", "Netherlands"), ("BEL", "BE", "Belgium"),
    ("ESP", "ES", "Spain"), ("ITA", "IT", "Italy"), ("PRT", "PT", "Portugal"), ("DNK", "DK", "Denmark"),
    ("SWE", "SE", "Sweden"), ("NOR", "NO", "Norway"), ("FIN", "FI", "Finland"), ("POL", "PL", "Poland"),
    ("AUT", "AT", "Austria"), ("CHE", "CH", "Switzerland"), ("LUX", "LU", "Luxembourg"), ("CZE", "CZ", "Czechia"),
    ("CAN", "CA", "Canada"), ("MEX", "MX", "Mexico"), ("AUS", "AU", "Australia"), ("NZL", "NZ", "New Zealand"),
    ("JPN", "JP", "Japan"), ("CHN", "CN", "China"), ("IND", "IN", "India"), ("SGP", "SG", "Singapore"),
    ("ZAF", "ZA", "South Africa"), ("BRA", "BR", "Brazil"), ("ARE", "AE", "United Arab Emirates"),
]
ISO2 = {iso3: iso2 for iso3, iso2, _name in COUNTRIES}
ISO3 = {iso2: iso3 for iso3, iso2, _name in COUNTRIES}
CENT = Decimal("0.01")


def seed(
    store: AxStore,
    *,
    companies: Iterable[str] = ("USMF", "GBSI"),
    customers: Iterable[Mapping[str, Any]] = (),
    rng_seed: int = 1,
) -> AxStore:
    """Fill an empty store with reference data; ``customers`` dicts go to ``company`` (default GBSI).

    Customer dict: ``{"account", "name", "group", "currency", "company"?, "payment_terms"?, "address"?:
    {"street", "city", "zip", "country"}}``. ``rng_seed`` makes generated party numbers reproducible.
    """
    rng = random.Random(rng_seed)  # noqa: S311 - deterministic demo data
    with store.transaction():
        chart = seed_shared(store, rng)
        for company in companies:
            add_company(store, company, chart=chart)
        for customer in customers:
            add_customer(store, customer, rng=rng)
    return store


def seed_shared(store: AxStore, rng: random.Random, *, stamp: str | None = None) -> int:
    """Shared reference data: currencies, chart of accounts, dimensions and the account structure."""
    with store.transaction():
        chart = store.insert("LEDGERCHARTOFACCOUNTS", {"NAME": "Shared", "DESCRIPTION": "Shared chart of accounts"},
                             stamp=stamp)
        store.bulk_insert("CURRENCY", ["CURRENCYCODE", "TXT"], CURRENCIES, stamps=stamp)
        store.bulk_insert("MAINACCOUNT", ["MAINACCOUNTID", "NAME", "TYPE", "LEDGERCHARTOFACCOUNTS"],
                          [(account, name, kind, chart) for account, name, kind in MAIN_ACCOUNTS], stamps=stamp)
        hierarchy = store.insert("DIMENSIONHIERARCHY", {"NAME": ACCOUNT_STRUCTURE_NAME, "STRUCTURETYPE": 1},
                                 stamp=stamp)
        for level, name in enumerate(ACCOUNT_STRUCTURE, start=1):
            attribute = store.insert(
                "DIMENSIONATTRIBUTE", {"NAME": name, "TYPE": 0, "VIEWNAME": DIMENSION_VIEW_NAMES[name]}, stamp=stamp
            )
            store.insert("DIMENSIONHIERARCHYLEVEL",
                         {"DIMENSIONHIERARCHY": hierarchy, "LEVEL_": level, "DIMENSIONATTRIBUTE": attribute},
                         stamp=stamp)
            store.bulk_insert(
                "DIMENSIONATTRIBUTEVALUE", ["DIMENSIONATTRIBUTE", "DISPLAYVALUE", "DESCRIPTION", "ENTITYINSTANCE"],
                [(attribute, value, _dimension_description(name, value), rng.randint(5637144576, 5637199999))
                 for value in DIMENSION_VALUES[name]], stamps=stamp,
            )
        store.bulk_insert("LOGISTICSADDRESSCOUNTRYREGION", ["COUNTRYREGIONID", "ISOCODE", "SHORTNAME"], COUNTRIES,
                          stamps=stamp)
        store.bulk_insert("LOGISTICSLOCATIONROLE", ["NAME", "TYPE", "ISPOSTALADDRESS", "ISCONTACTINFO"],
                          [("Business", 1, 1, 1), ("Invoice", 2, 1, 0), ("Delivery", 3, 1, 0)], stamps=stamp)
    return chart


def _dimension_description(name: str, value: str) -> str:
    if name == "Department":
        return DEPARTMENT_NAMES.get(value, f"Department {value}")
    if name == "BusinessUnit":
        return {"001": "Consumer", "002": "Commercial", "003": "Retail", "004": "Services"}.get(value, value)
    return f"Cost center {value}"


def add_company(
    store: AxStore, company: str, *, chart: int | None = None, name: str = "", currency: str = "",
    stamp: str | None = None,
) -> int:
    """DATAAREA + LEDGER + per-company setup (groups, terms, number sequences, journal names, item groups,
    warehouses); returns the DATAAREA RECID."""
    default_name, default_currency = COMPANIES.get(company.upper(), (company.upper(), "USD"))
    dataareaid = company.lower()
    if chart is None:
        row = store.one("SELECT RECID FROM LEDGERCHARTOFACCOUNTS ORDER BY RECID LIMIT 1")
        chart = row["RECID"] if row else 0
    with store.transaction():
        recid = store.insert("DATAAREA", {"ID": dataareaid, "NAME": name or default_name}, stamp=stamp)
        legal_entity = store.insert("DIRPARTYTABLE", {  # CompanyInfo: a party of the DirPartyTable hierarchy
            "NAME": name or default_name, "NAMEALIAS": name_alias(name or default_name),
            "PARTYNUMBER": f"{company.upper()}-LE", "INSTANCERELATIONTYPE": PARTY_COMPANY, "DATAAREA": dataareaid,
            "LANGUAGEID": "en-gb" if dataareaid == "gbsi" else "en-us",
        }, stamp=stamp)
        store.insert("LEDGER", {
            "NAME": company.upper(), "DESCRIPTION": name or default_name,
            "ACCOUNTINGCURRENCY": currency or default_currency, "REPORTINGCURRENCY": "USD",
            "CHARTOFACCOUNTS": chart, "PRIMARYFORLEGALENTITY": legal_entity,
        }, stamp=stamp)
        per_company = [
            ("CUSTGROUP", ["CUSTGROUP", "NAME", "PAYMTERMID"], [(g, n, "Net30") for g, n in CUSTOMER_GROUPS]),
            ("VENDGROUP", ["VENDGROUP", "NAME", "PAYMTERMID"], [(g, n, "Net30") for g, n in VENDOR_GROUPS]),
            ("PAYMTERM", ["PAYMTERMID", "DESCRIPTION", "NUMOFDAYS"], PAYMENT_TERMS),
            ("INVENTITEMGROUP", ["ITEMGROUPID", "NAME"], ITEM_GROUPS),
        ]
        for table, columns, rows in per_company:
            store.bulk_insert(table, ["DATAAREAID", *columns], [(dataareaid, *row) for row in rows], stamps=stamp)
        prefix = dataareaid[:2].upper()
        formats = NUMBER_FORMATS.get(dataareaid, {"Cust": f"{prefix}-####", "Vend": f"{prefix}V-####"})
        sequences = {**COMMON_SEQUENCES,
                     "Cust": (formats["Cust"], "Customer accounts"), "Vend": (formats["Vend"], "Vendor accounts")}
        sequence_ids = {}
        for code, (fmt, text) in sequences.items():
            sequence_ids[code] = store.add_number_sequence(dataareaid, code, fmt, text)
        store.bulk_insert(
            "LEDGERJOURNALNAME", ["DATAAREAID", "JOURNALNAME", "NAME", "JOURNALTYPE", "NUMBERSEQUENCETABLE"],
            [(dataareaid, journal, text, LEDGER_JOURNAL_TYPE[kind], sequence_ids[voucher])
             for journal, text, kind, voucher in JOURNAL_NAMES], stamps=stamp,
        )
        add_tax_setup(store, dataareaid, stamp=stamp)
        accounting = currency or default_currency
        bank_main = store.main_account(BANK_ACCOUNTS.get(accounting, "110110"))
        if bank_main is not None:
            hierarchy, _structure = store.account_structure()
            store.insert("BANKACCOUNTTABLE", {
                "DATAAREAID": dataareaid, "ACCOUNTID": f"{company.upper()} OPER", "NAME": "Operating account",
                "CURRENCYCODE": accounting, "LEDGERDIMENSION": store.ledger_combination(
                    bank_main["MAINACCOUNTID"], bank_main["RECID"], hierarchy)}, stamp=stamp)
        dims = [("AllBlank", "", "")] + WAREHOUSES.get(dataareaid, [("00001", "1", "11")])
        store.bulk_insert("INVENTDIM", ["DATAAREAID", "INVENTDIMID", "INVENTSITEID", "INVENTLOCATIONID"],
                          [(dataareaid, *dim) for dim in dims], stamps=stamp)
    return recid


def add_tax_setup(store: AxStore, dataareaid: str, *, stamp: str | None = None) -> None:
    """TAXTABLE / TAXDATA (rates valid without end date) / sales tax groups / item sales tax groups."""
    with store.transaction():
        store.bulk_insert("TAXTABLE", ["DATAAREAID", "TAXCODE", "TAXNAME"],
                          [(dataareaid, code, name) for code, name, _rate in TAX_CODES], stamps=stamp)
        store.bulk_insert("TAXDATA", ["DATAAREAID", "TAXCODE", "TAXFROMDATE", "TAXTODATE", "TAXVALUE"],
                          [(dataareaid, code, EMPTY_DATE, EMPTY_DATE, float(rate)) for code, _name, rate in TAX_CODES],
                          stamps=stamp)
        store.bulk_insert("TAXGROUPHEADING", ["DATAAREAID", "TAXGROUP", "TAXGROUPNAME"],
                          [(dataareaid, group, name) for group, (name, _codes) in TAX_GROUPS.items()], stamps=stamp)
        store.bulk_insert("TAXGROUPDATA", ["DATAAREAID", "TAXGROUP", "TAXCODE", "EXEMPTTAX"],
                          [(dataareaid, group, code, exempt) for group, (_name, codes) in TAX_GROUPS.items()
                           for code, exempt in codes], stamps=stamp)
        store.bulk_insert("TAXITEMGROUPHEADING", ["DATAAREAID", "TAXITEMGROUP", "NAME"],
                          [(dataareaid, group, name) for group, (name, _codes) in TAX_ITEM_GROUPS.items()],
                          stamps=stamp)
        store.bulk_insert("TAXONITEM", ["DATAAREAID", "TAXITEMGROUP", "TAXCODE"],
                          [(dataareaid, group, code) for group, (_name, codes) in TAX_ITEM_GROUPS.items()
                           for code in codes], stamps=stamp)


# ---------------------------------------------------------------------------------------------------- parties


@dataclass
class PartySpec:
    """A customer or vendor to create (organisation party with one postal address and optional contacts)."""

    account: str
    name: str
    group: str
    currency: str
    street: str = ""
    city: str = ""
    zip: str = ""
    state: str = ""
    country: str = "GBR"  # ISO 3166-1 alpha-3, as AX 2012 stores it
    email: str = ""
    phone: str = ""
    payment_terms: str = "Net30"
    language: str = "en-gb"
    vat: str = ""
    invoice_account: str = ""
    default_dimension: int = 0
    created: str = ""
    kind: str = "customer"  # or "vendor"


def add_parties(store: AxStore, company: str, parties: Sequence[PartySpec], *, kind: str = "customer",
                rng: random.Random | None = None) -> range:
    """DIRPARTYTABLE, addresses, contacts and CUSTTABLE/VENDTABLE rows for many parties; returns table RECIDs."""
    if not parties:
        return range(0)
    rng = rng or random.Random()  # noqa: S311
    dataareaid = company.lower()
    with store.transaction():
        used = {row["PARTYNUMBER"] for row in store.query("SELECT PARTYNUMBER FROM DIRPARTYTABLE")}
        numbers = []
        for _party in parties:
            number = f"{rng.randint(0, 999999):06d}"
            while number in used:
                number = f"{rng.randint(0, 999999):06d}"
            used.add(number)
            numbers.append(number)
        stamps = [p.created or timestamp() for p in parties]
        postal = store.bulk_insert("LOGISTICSLOCATION", ["DESCRIPTION", "LOCATIONID", "ISPOSTALADDRESS"],
                                   [(p.name[:60], f"{n}-1", 1) for p, n in zip(parties, numbers, strict=True)],
                                   stamps=stamps)
        contact_parties = [i for i, p in enumerate(parties) if p.email or p.phone]
        contact = store.bulk_insert("LOGISTICSLOCATION", ["DESCRIPTION", "LOCATIONID", "ISPOSTALADDRESS"],
                                    [(parties[i].name[:60], f"{numbers[i]}-2", 0) for i in contact_parties],
                                    stamps=[stamps[i] for i in contact_parties])
        contact_of = dict(zip(contact_parties, contact, strict=True))
        store.bulk_insert(
            "LOGISTICSPOSTALADDRESS",
            ["LOCATION", "STREET", "CITY", "STATE", "ZIPCODE", "COUNTRYREGIONID", "ADDRESS", "VALIDFROM", "VALIDTO"],
            [(loc, p.street, p.city, p.state, p.zip, p.country, format_address(p.street, p.city, p.state, p.zip,
                                                                                  p.country),
              p.created or timestamp(), "2154-12-31 23:59:59.000") for p, loc in zip(parties, postal, strict=True)],
            stamps=stamps,
        )
        email_rows, phone_rows, email_owner, phone_owner = [], [], [], []
        for i, location in contact_of.items():
            if parties[i].email:
                email_rows.append((location, ELECTRONIC_ADDRESS_TYPE["Email"], parties[i].email, "Accounts", 1))
                email_owner.append(i)
            if parties[i].phone:
                phone_rows.append((location, ELECTRONIC_ADDRESS_TYPE["Phone"], parties[i].phone, "Office", 1))
                phone_owner.append(i)
        columns = ["LOCATION", "TYPE", "LOCATOR", "DESCRIPTION", "ISPRIMARY"]
        emails = dict(zip(email_owner, store.bulk_insert("LOGISTICSELECTRONICADDRESS", columns, email_rows,
                                                         stamps=[stamps[i] for i in email_owner]), strict=True))
        phones = dict(zip(phone_owner, store.bulk_insert("LOGISTICSELECTRONICADDRESS", columns, phone_rows,
                                                         stamps=[stamps[i] for i in phone_owner]), strict=True))
        party_ids = store.bulk_insert(
            "DIRPARTYTABLE",
            ["NAME", "NAMEALIAS", "PARTYNUMBER", "LANGUAGEID", "INSTANCERELATIONTYPE", "PRIMARYADDRESSLOCATION",
             "PRIMARYCONTACTEMAIL", "PRIMARYCONTACTPHONE"],
            [(p.name, name_alias(p.name), n, p.language, PARTY_ORGANIZATION, loc, emails.get(i, 0), phones.get(i, 0))
             for i, (p, n, loc) in enumerate(zip(parties, numbers, postal, strict=True))],
            stamps=stamps,
        )
        links = store.bulk_insert(
            "DIRPARTYLOCATION", ["PARTY", "LOCATION", "ISPRIMARY", "ISPOSTALADDRESS", "ISLOCATIONOWNER"],
            [(party, loc, 1, 1, 1) for party, loc in zip(party_ids, postal, strict=True)], stamps=stamps,
        )
        store.bulk_insert(
            "DIRPARTYLOCATION", ["PARTY", "LOCATION", "ISPRIMARY", "ISPOSTALADDRESS", "ISLOCATIONOWNER"],
            [(party_ids[i], loc, 1, 0, 1) for i, loc in contact_of.items()],
            stamps=[stamps[i] for i in contact_of],
        )
        role = store.scalar("SELECT RECID FROM LOGISTICSLOCATIONROLE WHERE NAME='Business'") or 0
        store.bulk_insert("DIRPARTYLOCATIONROLE", ["PARTYLOCATION", "LOCATIONROLE"],
                          [(link, role) for link in links], stamps=stamps)
        if kind == "customer":
            return store.bulk_insert(
                "CUSTTABLE",
                ["DATAAREAID", "ACCOUNTNUM", "PARTY", "CUSTGROUP", "CURRENCY", "PAYMTERMID", "INVOICEACCOUNT",
                 "DEFAULTDIMENSION", "VATNUM", "CREDITMAX"],
                [(dataareaid, p.account, party, p.group, p.currency, p.payment_terms, p.invoice_account,
                  p.default_dimension, p.vat, 0) for p, party in zip(parties, party_ids, strict=True)],
                stamps=stamps,
            )
        return store.bulk_insert(
            "VENDTABLE",
            ["DATAAREAID", "ACCOUNTNUM", "PARTY", "VENDGROUP", "CURRENCY", "PAYMTERMID", "INVOICEACCOUNT",
             "DEFAULTDIMENSION", "VATNUM"],
            [(dataareaid, p.account, party, p.group, p.currency, p.payment_terms, p.invoice_account,
              p.default_dimension, p.vat) for p, party in zip(parties, party_ids, strict=True)],
            stamps=stamps,
        )


def add_customer(store: AxStore, customer: Mapping[str, Any], *, rng: random.Random | None = None) -> int:
    """DIRPARTYTABLE (+ postal address) and CUSTTABLE rows for one customer; returns the CUSTTABLE RECID."""
    company = str(customer.get("company") or DEFAULT_CUSTOMER_COMPANY).lower()
    if store.company(company) is None:
        add_company(store, company)
    address = customer.get("address") or {}
    currency = customer.get("currency") or (store.company(company) or {}).get("ACCOUNTINGCURRENCY") or "USD"
    spec = PartySpec(
        account=customer["account"], name=customer["name"], group=str(customer.get("group", "30")),
        currency=currency, street=address.get("street", ""), city=address.get("city", ""),
        zip=address.get("zip", ""), country=address.get("country", ""),
        payment_terms=customer.get("payment_terms", "Net30"), invoice_account=customer.get("invoice_account", ""),
        language=customer.get("language", "en-gb" if company == "gbsi" else "en-us"),
        email=customer.get("email", ""), phone=customer.get("phone", ""),
    )
    return add_parties(store, company, [spec], rng=rng)[0]


def format_address(street: str, city: str, state: str, zip_code: str, country: str) -> str:
    """The formatted address AX keeps in LOGISTICSPOSTALADDRESS.ADDRESS (UK and US layouts)."""
    if country == "USA":
        last = " ".join(part for part in (f"{city}," if city else "", state, zip_code) if part)
        lines = [street, last, country]
    else:
        lines = [street, city, zip_code, country]
    return "\n".join(line for line in lines if line)


def name_alias(name: str) -> str:
    """AX's search name: the name upper-cased, at most 20 characters."""
    return name.upper()[:20]


def exchange_rate(currency: str, accounting: str) -> Decimal:
    """Units of accounting currency per unit of ``currency`` (1 for the same currency)."""
    if currency == accounting:
        return Decimal(1)
    return EXCHANGE_RATES.get((currency, accounting)) or (1 / EXCHANGE_RATES.get((accounting, currency), Decimal(1)))


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
