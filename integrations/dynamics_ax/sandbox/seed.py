"""Demo data for the AX sandbox: USMF-style shared chart of accounts, dimensions, customer groups, customers.

Why these values: they are the Contoso AX 2012 R2/R3 demo data the reference documents (§7.2–7.4), so fixtures
and docs look like a real AX demo environment. Account names are as third-party lists give them (may be
paraphrased). Constants are exported so tests and the lead can refer to account ids instead of repeating
literals.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from .store import AxStore

# MAINACCOUNT.TYPE = enum DimensionLedgerAccountType (reference §4.2).
PROFIT_AND_LOSS, REVENUE, EXPENSE, BALANCE_SHEET, ASSET, LIABILITY, EQUITY, TOTAL, REPORTING = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    9,
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

CUSTOMER_GROUPS: list[tuple[str, str]] = [
    ("10", "Wholesales customers"),
    ("20", "Major customers"),
    ("30", "Retail customers"),
    ("40", "Internet customers"),
    ("80", "Other customers"),
    ("90", "Intercompany customers"),
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
COMPANIES: dict[str, tuple[str, str]] = {
    "USMF": ("Contoso Entertainment System USA", "USD"),
    "GBSI": ("Contoso Entertainment System UK", "GBP"),
    "DEMF": ("Contoso Entertainment System Germany", "EUR"),
    "USRT": ("Contoso Retail USA", "USD"),
}
DEFAULT_CUSTOMER_COMPANY = "GBSI"


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
        chart = store.insert(
            "LEDGERCHARTOFACCOUNTS", {"NAME": "Shared", "DESCRIPTION": "Shared chart of accounts"}
        )
        for code, text in CURRENCIES:
            store.insert("CURRENCY", {"CURRENCYCODE": code, "TXT": text})
        for account, name, kind in MAIN_ACCOUNTS:
            store.insert(
                "MAINACCOUNT",
                {"MAINACCOUNTID": account, "NAME": name, "TYPE": kind, "LEDGERCHARTOFACCOUNTS": chart},
            )
        hierarchy = store.insert("DIMENSIONHIERARCHY", {"NAME": ACCOUNT_STRUCTURE_NAME, "STRUCTURETYPE": 1})
        for level, name in enumerate(ACCOUNT_STRUCTURE, start=1):
            attribute = store.insert(
                "DIMENSIONATTRIBUTE", {"NAME": name, "TYPE": 0, "VIEWNAME": f"DimAttribute{name}"}
            )
            store.insert(
                "DIMENSIONHIERARCHYLEVEL",
                {"DIMENSIONHIERARCHY": hierarchy, "LEVEL_": level, "DIMENSIONATTRIBUTE": attribute},
            )
            for value in DIMENSION_VALUES[name]:
                store.insert(
                    "DIMENSIONATTRIBUTEVALUE",
                    {
                        "DIMENSIONATTRIBUTE": attribute,
                        "DISPLAYVALUE": value,
                        "DESCRIPTION": f"{name} {value}",
                        "ENTITYINSTANCE": rng.randint(5637144576, 5637199999),
                    },
                )
        for company in companies:
            add_company(store, company, chart=chart)
        for customer in customers:
            add_customer(store, customer, rng=rng)
    return store


def add_company(
    store: AxStore, company: str, *, chart: int | None = None, name: str = "", currency: str = ""
) -> int:
    """DATAAREA + LEDGER + per-company customer groups and payment terms; returns the DATAAREA RECID."""
    default_name, default_currency = COMPANIES.get(company.upper(), (company.upper(), "USD"))
    dataareaid = company.lower()
    if chart is None:
        row = store.one("SELECT RECID FROM LEDGERCHARTOFACCOUNTS ORDER BY RECID LIMIT 1")
        chart = row["RECID"] if row else 0
    with store.transaction():
        recid = store.insert("DATAAREA", {"ID": dataareaid, "NAME": name or default_name})
        store.insert(
            "LEDGER",
            {
                "NAME": company.upper(),
                "DESCRIPTION": name or default_name,
                "ACCOUNTINGCURRENCY": currency or default_currency,
                "REPORTINGCURRENCY": "USD",
                "CHARTOFACCOUNTS": chart,
                "PRIMARYFORLEGALENTITY": recid,
            },
        )
        for group, group_name in CUSTOMER_GROUPS:
            store.insert(
                "CUSTGROUP",
                {"DATAAREAID": dataareaid, "CUSTGROUP": group, "NAME": group_name, "PAYMTERMID": "Net30"},
            )
        for term, description, days in PAYMENT_TERMS:
            store.insert(
                "PAYMTERM",
                {"DATAAREAID": dataareaid, "PAYMTERMID": term, "DESCRIPTION": description, "NUMOFDAYS": days},
            )
    return recid


def add_customer(store: AxStore, customer: Mapping[str, Any], *, rng: random.Random | None = None) -> int:
    """DIRPARTYTABLE (+ postal address) and CUSTTABLE rows for one customer; returns the CUSTTABLE RECID."""
    rng = rng or random.Random()  # noqa: S311
    company = str(customer.get("company") or DEFAULT_CUSTOMER_COMPANY).lower()
    if store.company(company) is None:
        add_company(store, company)
    with store.transaction():
        party_number = f"{rng.randint(0, 999999):06d}"
        while store.one("SELECT 1 FROM DIRPARTYTABLE WHERE PARTYNUMBER = ?", (party_number,)):
            party_number = f"{rng.randint(0, 999999):06d}"
        party = store.insert(
            "DIRPARTYTABLE",
            {
                "NAME": customer["name"],
                "NAMEALIAS": str(customer["name"])[:20],
                "PARTYNUMBER": party_number,
                "LANGUAGEID": customer.get("language", "en-gb" if company == "gbsi" else "en-us"),
            },
        )
        address = customer.get("address")
        if address:
            location = store.insert(
                "LOGISTICSLOCATION",
                {"DESCRIPTION": customer["name"], "LOCATIONID": f"{party_number}-1", "ISPOSTALADDRESS": 1},
            )
            formatted = "\n".join(
                str(p)
                for p in (
                    address.get("street"),
                    address.get("city"),
                    address.get("zip"),
                    address.get("country"),
                )
                if p
            )
            store.insert(
                "LOGISTICSPOSTALADDRESS",
                {
                    "LOCATION": location,
                    "STREET": address.get("street", ""),
                    "CITY": address.get("city", ""),
                    "ZIPCODE": address.get("zip", ""),
                    "COUNTRYREGIONID": address.get("country", ""),
                    "ADDRESS": formatted,
                    "VALIDFROM": "1900-01-01 00:00:00",
                    "VALIDTO": "2154-12-31 23:59:59",
                },
            )
            store.insert("DIRPARTYLOCATION", {"PARTY": party, "LOCATION": location, "ISPRIMARY": 1})
            store.update("DIRPARTYTABLE", party, {"PRIMARYADDRESSLOCATION": location})
        currency = (
            customer.get("currency") or (store.company(company) or {}).get("ACCOUNTINGCURRENCY") or "USD"
        )
        return store.insert(
            "CUSTTABLE",
            {
                "DATAAREAID": company,
                "ACCOUNTNUM": customer["account"],
                "PARTY": party,
                "CUSTGROUP": str(customer.get("group", "30")),
                "CURRENCY": currency,
                "PAYMTERMID": customer.get("payment_terms", "Net30"),
                "INVOICEACCOUNT": customer.get("invoice_account", ""),
                "BLOCKED": 0,
            },
        )
