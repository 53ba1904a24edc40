"""Kashflow's vocabulary for the sandbox: errors, field names, enums, and value helpers.

Everything here is pure (no database): the store and the app import it, and so can tests. Field names and
enum numbers follow the Kashflow REST v2 reference (``/work/shared/reference/kashflow.md``); where the
reference is silent the choice is listed in ``docs/sandbox/kashflow.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
FOUR_DP = Decimal("0.0001")
NEVER = "1900-01-01 12:00:00"  # Kashflow's sentinel for "no invoice yet" dates


class StoreError(Exception):
    """A request the sandbox refuses; rendered by the app as ``{"Message", "Error"}`` with ``status``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def invalid(message: str, error: str = "InvalidParameter") -> StoreError:
    return StoreError(400, error, message)


def not_found(message: str) -> StoreError:
    return StoreError(404, "NotFound", message)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    total_amount: Decimal = Decimal(0)


# --------------------------------------------------------------------------- values


def money(value: Any, places: Decimal = CENT, field: str = "value") -> Decimal:
    """Decimal rounded half-up (the UK VAT convention); a StoreError on anything that is not a number."""
    kind = type(value)
    if kind is int:
        return Decimal(value).quantize(places)
    if kind is Decimal and value.is_finite():
        return value.quantize(places, rounding=ROUND_HALF_UP)
    if value is None or value == "":
        return Decimal(0).quantize(places)
    if isinstance(value, bool):
        raise invalid(f"'{value}' is not a valid number for {field}.")
    try:
        dec = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise invalid(f"'{value}' is not a valid number for {field}.") from None
    if not dec.is_finite():
        raise invalid(f"'{value}' is not a valid number for {field}.")
    return dec.quantize(places, rounding=ROUND_HALF_UP)


def whole(value: Any, field: str, default: int = 0) -> int:
    """An integer field (ids, codes, quantities in stock); '12', 12 and 12.0 are fine, 12.5 is not."""
    if type(value) is int:
        return value
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(f"'{value}' is not a valid whole number for {field}.")
    try:
        dec = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise invalid(f"'{value}' is not a valid whole number for {field}.") from None
    if not dec.is_finite() or dec != dec.to_integral_value():
        raise invalid(f"'{value}' is not a valid whole number for {field}.")
    return int(dec)


def positive(value: Any, field: str) -> int:
    number = whole(value, field)
    if number <= 0:
        raise invalid(f"{field} must be greater than zero.")
    return number


def flag(value: Any) -> bool:
    """Booleans as clients send them: true/false, 1/0, "true"/"1" (the invoice sample has VATExempt: 0)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def text(value: Any, field: str, limit: int | None = None) -> str:
    out = "" if value is None else str(value)
    if limit is not None and len(out) > limit:
        raise invalid(f"{field} must be at most {limit} characters.")
    return out


def parse_date(value: Any, field: str) -> date:
    """The forms clients send: date, 'YYYY-MM-DD', '... HH:mm:ss', '... +05:30', ISO 'T' forms."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value or "").strip()
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise invalid(f"'{raw}' is not a valid date for {field}.") from None


def optional_date(value: Any, field: str) -> date | None:
    return None if value in (None, "") else parse_date(value, field)


def kf_date(value: date | None) -> str | None:
    """Kashflow renders document dates at noon without an offset."""
    return None if value is None else f"{value.isoformat()} 12:00:00"


def stamp(epoch: float) -> str:
    """A timestamp as Kashflow prints CreatedDate / LastUpdatedDate (UTC, no offset)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def f4(value: Decimal) -> float:
    """Storage form of an amount already rounded by ``money`` (4 dp or fewer): a JSON number that reads back as
    the same Decimal, because float repr is the shortest round-trip form."""
    return float(value)


@functools.lru_cache(maxsize=128)
def _key_lookup(names: tuple[str, ...]) -> tuple[frozenset[str], dict[str, str]]:
    return frozenset(names), {name.lower(): name for name in names}


def canonical_keys(data: Any, names: tuple[str, ...], what: str = "The request body") -> dict[str, Any]:
    """Rename keys to Kashflow's casing (ASP.NET binds JSON case-insensitively); unknown keys are kept."""
    if not isinstance(data, dict):
        raise invalid(f"{what} must be a JSON object.")
    exact, lookup = _key_lookup(names)
    if exact.issuperset(data):  # already in Kashflow's casing (the usual case): no copy needed
        return data
    return {lookup.get(str(key).lower(), key): value for key, value in data.items()}


def objects(value: Any, names: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    """A list of JSON objects (LineItems, PaymentLines, Contacts...), keys canonicalised; null -> []."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"{what} must be a list.")
    return [canonical_keys(item, names, f"Each item of {what}") for item in value]


def like(pattern: str) -> str:
    return pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def direction(order: str | None) -> str:
    value = (order or "asc").strip().lower()
    if value not in ("asc", "desc", "ascending", "descending", "0", "1"):
        raise invalid(f"The value '{order}' is not valid for order.")
    return "DESC" if value in ("desc", "descending", "1") else "ASC"


def resolve_sort(value: str | None, table: dict[int, str], names: dict[str, int], default: int) -> str:
    """``sortby`` as enum int or enum name -> SQL; unknown values are a 400 like ASP.NET enum binding."""
    if value is None or value.strip() == "":
        return table[default]
    key = value.strip()
    number = int(key) if key.lstrip("-").isdigit() else names.get(key.lower(), -1)
    if number not in table:
        raise invalid(f"The value '{value}' is not valid for sortby.")
    return table[number]


# --------------------------------------------------------------------------- reference data


COUNTRIES = {
    "GB": "United Kingdom", "IE": "Ireland", "FR": "France", "DE": "Germany", "NL": "Netherlands",
    "BE": "Belgium", "ES": "Spain", "IT": "Italy", "US": "United States", "AU": "Australia", "BR": "Brazil",
    "IN": "India", "CA": "Canada", "CH": "Switzerland", "DK": "Denmark", "SE": "Sweden", "NO": "Norway",
    "PL": "Poland", "PT": "Portugal", "EL": "Greece", "GR": "Greece",
}
EU_COUNTRIES = {"IE", "FR", "DE", "NL", "BE", "ES", "IT", "DK", "SE", "PL", "PT", "EL", "GR"}

# Currencies Kashflow offers ("available"); an account configures some of them (GET /currencies/list).
AVAILABLE_CURRENCIES: dict[str, tuple[str, str]] = {
    "GBP": ("British Pounds", "£"), "EUR": ("Euros", "€"), "USD": ("US Dollars", "$"),
    "AUD": ("Australian Dollars", "$"), "CAD": ("Canadian Dollars", "$"), "CHF": ("Swiss Francs", "CHF"),
    "DKK": ("Danish Krone", "kr"), "SEK": ("Swedish Krona", "kr"), "NOK": ("Norwegian Krone", "kr"),
    "PLN": ("Polish Zloty", "zł"), "JPY": ("Japanese Yen", "¥"), "INR": ("Indian Rupees", "Rs"),
    "NZD": ("New Zealand Dollars", "$"), "ZAR": ("South African Rand", "R"), "HKD": ("Hong Kong Dollars", "$"),
}

# Nominal classifications (SOAP InsertNominalCode numbering) and areas ("NomType").
CLASSIFICATIONS = {
    1: "Turnover", 2: "Cost of Sale", 3: "Expense", 4: "Fixed Asset", 5: "Current Asset/Liability",
    6: "Capital and Reserves",
}
CLASSIFICATION_NAMES = {
    "turnover": 1, "sales": 1, "costofsale": 2, "costofsales": 2, "expense": 3, "expenses": 3,
    "expenditure": 3, "fixedasset": 4, "fixedassets": 4, "currentasset/liability": 5, "currentassetliability": 5,
    "currentassetsliabilities": 5, "capitalandreserves": 6, "capital&reserves": 6, "capital": 6,
}
AREAS = {1: "Sales Type", 2: "Outgoing Type", 3: "Bank Transaction Type"}
AREA_NAMES = {
    "salestype": 1, "sales": 1, "outgoingtype": 2, "outgoing": 2, "purchase": 2, "purchases": 2,
    "banktransactiontype": 3, "bank": 3, "banktransaction": 3,
}
CODE_RANGES = {4: (10, 999), 5: (1000, 2999), 6: (3000, 3999), 1: (4000, 4999), 2: (5000, 6999), 3: (7000, 9998)}

JOURNAL_CATEGORIES = {
    0: "Standard Journals", 1: "Year End Journals", 2: "Prepayments and Accruals", 3: "Depreciation",
    4: "Wages", 5: "VAT", 6: "VAT MOSS", 7: "FRS Adjustment Journal",
}


@dataclass
class RefData:
    """Lookups a document write needs (nominals, products, VAT rates...), loaded once per transaction."""

    home_currency: str = "GBP"
    standard_rate: Decimal = Decimal(20)
    nominals: dict[int, dict[str, Any]] = field(default_factory=dict)  # code -> {Id, Name}
    products: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)  # (nominal, CODE)
    products_by_code: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    vat_rates: set[Decimal] = field(default_factory=set)
    currencies: dict[str, dict[str, Any]] = field(default_factory=dict)  # configured, by code
    bank_accounts: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> account doc
    default_account: int = 0
    payment_methods: dict[str, dict[int, str]] = field(default_factory=dict)  # kind -> id -> name

    def nominal(self, code: Any, where: str) -> tuple[int, dict[str, Any]]:
        number = positive(code, f"{where} NominalCode")
        found = self.nominals.get(number)
        if found is None:
            raise invalid(f"Nominal code {number} does not exist ({where}).")
        return number, found

    def product(self, nominal: int | None, code: str) -> dict[str, Any] | None:
        """The product under ``nominal``, else the only product with that code (purchase lines name the
        purchase nominal, not the product's sales nominal)."""
        key = code.strip().upper()
        found = self.products.get((nominal, key)) if nominal is not None else None
        if found is None:
            keys = self.products_by_code.get(key) or []
            found = self.products[keys[0]] if len(keys) == 1 else None
        return found

    def currency(self, raw: Any) -> dict[str, Any]:
        """Resolve a currency by Code; only Code and ExchangeRate are read on write (as in Kashflow)."""
        data = canonical_keys(raw or {}, CURRENCY_FIELDS, "Currency")
        code = str(data.get("Code") or self.home_currency).strip().upper()
        known = self.currencies.get(code)
        if known is None:
            raise invalid(f"Currency '{code}' is not set up for this account.")
        if code == self.home_currency:
            rate = Decimal(1)
        else:
            rate = money(data.get("ExchangeRate") or known.get("ExchangeRate") or 1, FOUR_DP, "ExchangeRate")
        if rate <= 0:
            raise invalid("ExchangeRate must be greater than zero.")
        return {
            "Code": code, "ExchangeRate": f4(rate), "Id": known["Id"], "Name": known["Name"],
            "Symbol": known["Symbol"], "DisplaySymbolOnRight": known["DisplaySymbolOnRight"], "AutoUpdate": False,
        }

    def vat_level(self, value: Any, where: str) -> Decimal:
        level = self.standard_rate if value in (None, "") else money(value, FOUR_DP, f"{where} VATLevel")
        if level not in self.vat_rates:
            rates = ", ".join(f"{r.normalize():f}" for r in sorted(self.vat_rates))
            raise invalid(f"VATLevel {level.normalize():f} is not a VAT rate of this account ({where}); "
                          f"configured: {rates}.")
        return level

    def account(self, value: Any, where: str) -> dict[str, Any]:
        account_id = whole(value, f"{where} AccountId") or self.default_account
        found = self.bank_accounts.get(account_id)
        if found is None:
            raise invalid(f"Bank account {account_id} does not exist ({where}).")
        return found

    def method(self, value: Any, kind: str, account: dict[str, Any], where: str) -> int:
        method = whole(value, f"{where} Method")
        if not method:
            default = account.get("DefaultInvoicePaymentType" if kind == "invoice" else "DefaultPurchasePaymentType")
            method = int((default or {}).get("Id") or 0)
        if method not in self.payment_methods.get(kind, {}):
            raise invalid(f"Payment method {method} is not a {kind} payment method ({where}).")
        return method


# --------------------------------------------------------------------------- field vocabularies

CURRENCY_FIELDS = ("Code", "ExchangeRate", "Id", "Name", "Symbol", "DisplaySymbolOnRight", "AutoUpdate")
ADDRESS_FIELDS = ("Name", "Line1", "Line2", "Line3", "Line4", "PostCode", "CountryCode", "CountryName")
CONTACT_FIELDS = (
    "Id", "IsPrimary", "ReceiveEmails", "Name", "Title", "Firstname", "LastName", "Telephone", "Fax", "Mobile",
    "Website", "Email",
)
TERMS_FIELDS = ("Days", "Type")
NAME_VALUE_FIELDS = ("Name", "Value")
CUSTOMER_FIELDS = (
    "Id", "Code", "Name", "DisplayName", "Email", "TelephoneNumber", "MobileNumber", "FaxNumber", "Website",
    "Contacts", "Addresses", "DeliveryAddresses", "UseCustomDeliveryAddress", "VATNumber", "IsRegisteredInEC",
    "IsRegisteredOutsideEC", "AutoIncludeVATNumber", "Currency", "PaymentTerms", "DiscountRate", "ShowDiscount",
    "ReceivesWholesalePricing", "DefaultNominalCode", "DefaultCustomerReference", "Note", "IsArchived",
    "CustomTextBoxes", "CustomCheckBoxes", "CreateCustomerCodeIfDuplicate", "CreateCustomerNameIfEmptyOrNull",
    "Source", "EmailTemplateNumber", "PDFThemeId", "InvoiceFileFormat", "OverrideInvoiceFileFormat",
    "AutomaticCreditControlEnabled", "EnableCreditLimit", "CreditLimit", "TradeBorderType", "IsCISReverseCharge",
    "ApplyWHT", "WHTRate", "WHTReferences", "UniqueEntityNumber", "CreatedDate",
)
SUPPLIER_FIELDS = (
    "Id", "Code", "Name", "Address", "Contacts", "BankAccount", "VatNumber", "PaymentMethod", "DefaultNominalCode",
    "PaymentTerms", "Currency", "WithholdingTaxRate", "ApplyWithholdingTax", "WithholdingTaxReferences",
    "UniqueEntityNumber", "Note", "DefaultPdfTheme", "TradeBorderType", "IsArchived", "IsCISReverseCharge",
    "IsRegisteredInEC", "IsVatRateEnabled", "DefaultVatRate", "VatExempt", "CreateSupplierCodeIfDuplicate",
    "CreateSupplierNameIfEmptyOrNull", "CreatedDate",
)
LINE_FIELDS = (
    "Number", "Description", "Quantity", "Rate", "VATLevel", "VATExempt", "VATAmount", "NominalCode",
    "ProductCode", "ProductName", "TaxCode", "Disallowed", "ProjectNumber", "HomeCurrencyRate",
    "HomeCurrencyVATAmount", "ImportDuty", "StockInfo",
)
STOCK_INFO_FIELDS = ("QuantityInStock", "Received", "StockReceivedOn", "Type")
PAYMENT_FIELDS = (
    "Id", "Date", "Amount", "Method", "AccountId", "Reference", "Note", "BulkId", "BFSTransactionId",
    "PaymentProcessor", "IsExternalRefund",
)
INVOICE_FIELDS = (
    "Id", "Number", "CustomerCode", "CustomerReference", "IssuedDate", "DueDate", "PaidDate", "ProjectNumber",
    "Currency", "Address", "DeliveryAddress", "UseCustomDeliveryAddress", "UpdateCustomerAddress",
    "UpdateCustomerDeliveryAddress", "AutomaticCreditControlEnabled", "IsCISReverseCharge", "CustomerKey",
    "LineItems", "PaymentLines", "SuppressNumber", "InvoiceInECMemberState", "InvoiceOutsideECMemberState",
    "PayOnlinePaymentProcessor", "IsWhtDeductionToBeApplied",
)
PURCHASE_FIELDS = (
    "Id", "Number", "SupplierCode", "SupplierReference", "IssuedDate", "DueDate", "PaidDate", "ProjectNumber",
    "Currency", "AdditionalFieldValue", "IsCISReverseCharge", "Type", "LineItems", "PaymentLines",
    "IsWhtDeductionToBeApplied",
)
PRODUCT_FIELDS = (
    "Id", "NominalId", "Code", "Name", "NominalCode", "IsDefault", "AutoFillLineItem", "Price", "WholeSalePrice",
    "VATRate", "VATExempt", "Description", "ManageStockLevel", "QuantityInStock", "StockWarningQuantity", "InUse",
    "PurchaseNominalId", "PurchaseSubNominalId",
)
NOMINAL_FIELDS = (
    "Id", "Code", "Name", "Type", "NomType", "Classification", "Sa103Code", "Disallowed", "ComplianceCode",
    "Archived", "DigitalService", "IsProduct", "AutoFillLineItem", "Price", "WholeSalePrice", "VATRate",
    "VATExempt", "Description", "ManageStockLevel", "QuantityInStock", "StockWarningQuantity",
    "IncrementStockLevelsOnPurchase", "IncludeInECSalesList", "CreateWhenNotPresent", "PlOption", "BsOption",
)
BANK_ACCOUNT_FIELDS = (
    "Id", "AccountName", "Code", "IsDefaultAccount", "TransactionLockEnabled", "TransactionLockDate",
    "ReconcileDate", "IsArchived", "Order", "IconId", "DefaultInvoicePaymentType", "DefaultPurchasePaymentType",
    "StartingDate", "StartingAmount", "ShowPaidInFirst", "IncludeOnDashBoard", "Note", "OverrideTransactionLock",
)
JOURNAL_FIELDS = (
    "Id", "Number", "JournalDate", "Comment", "Note", "Category", "ExcludedFromProfitAndLoss", "LineItems",
)
JOURNAL_LINE_FIELDS = ("Id", "NominalCode", "Comment", "Debit", "Credit", "ProjectNumber", "Disallowed")
BULK_FIELDS = (
    "Number", "Date", "Comment", "AccountId", "Method", "Reconciled", "BFSTransactionId", "PaymentItems",
)
BULK_ITEM_FIELDS = ("Id", "Amount", "PaidDate", "ObjectNumber")
NOTE_FIELDS = ("Number", "Text", "Date")


def address(raw: Any, what: str = "Address") -> dict[str, Any]:
    """An address as Kashflow returns it: CountryName resolved from CountryCode (GB when lines are given)."""
    data = canonical_keys(raw or {}, ADDRESS_FIELDS, what)
    out: dict[str, Any] = {f: data.get(f) for f in ("Line1", "Line2", "Line3", "Line4", "PostCode")}
    code = data.get("CountryCode") or ("GB" if any(out.values()) else None)
    out["CountryCode"] = str(code).upper() if code else None
    out["CountryName"] = COUNTRIES.get(out["CountryCode"] or "", data.get("CountryName")) if code else None
    if "Name" in data:
        out = {"Name": data["Name"], **out}
    return out


def contacts(raw: Any) -> list[dict[str, Any]]:
    out = []
    for n, item in enumerate(objects(raw, CONTACT_FIELDS, "Contacts"), start=1):
        out.append({
            "Id": n, "IsPrimary": flag(item.get("IsPrimary")) or n == 1,
            "ReceiveEmails": flag(item.get("ReceiveEmails", True)), "Name": item.get("Name"),
            "Title": item.get("Title"), "Firstname": item.get("Firstname"), "LastName": item.get("LastName"),
            "Telephone": item.get("Telephone"), "Fax": item.get("Fax"), "Mobile": item.get("Mobile"),
            "Website": item.get("Website") or "", "Email": item.get("Email"),
        })
    return out


def payment_terms(raw: Any, default_days: int) -> dict[str, Any]:
    data = canonical_keys(raw or {}, TERMS_FIELDS, "PaymentTerms")
    kind = str(data.get("Type") or "AfterIssuedDate")
    if kind not in ("AfterIssuedDate", "AfterMonthEnd", "OnIssuedDate"):
        raise invalid(f"PaymentTerms.Type '{kind}' is not valid; use AfterIssuedDate or AfterMonthEnd.")
    return {"Days": whole(data.get("Days"), "PaymentTerms.Days", default_days), "Type": kind}


def name_values(raw: Any, what: str) -> list[dict[str, Any]]:
    return [{"Name": i.get("Name"), "Value": i.get("Value")} for i in objects(raw, NAME_VALUE_FIELDS, what)]


def sum_money(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))
