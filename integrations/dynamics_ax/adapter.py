"""Pure conversion from canonical records to AX 2012 AIF documents (the dicts zeep serialises).

Why pure: mapping lookups (customer account, main account, dimensions, tax groups) are injected as
values/callables so this module has no Django, database or network dependency and can be unit-tested in
isolation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from integrations.core.canonical import InvoiceLine, Party, Product, SalesInvoice, StockLevel, StructuredAddress
from integrations.core.countries import ISO3_TO_ISO2

# Namespace for deterministic AIF MessageIds: the same idempotency key always yields the same MessageId, so
# a retry
# of a write that AX already committed is answered with DuplicateMessage instead of creating a second invoice.
MESSAGE_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ledgerbridge.app/dynamics-ax/aif-message-id")

# Field lengths of the FreeTextInvoice schema (AX EDTs, see wsdl/documents/FreeTextInvoice.xsd).
DESCRIPTION_LENGTH = 60  # EDT Description
CUSTOMER_REF_LENGTH = 60  # EDT CustRef
ACCOUNT_LENGTH = 20  # EDT CustAccount

# Segment order of the account structure after the main account (USMF demo "Manufacturing P&L"; order
# inferred).
ACCOUNT_STRUCTURE: tuple[str, ...] = ("BusinessUnit", "Department", "CostCenter")

TaxGroupFor = Callable[[InvoiceLine], "tuple[str, str] | str | None"]


def message_id_for(idempotency_key: str) -> str:
    """Deterministic AIF MessageId (UUIDv5, upper-case GUID without braces) for an idempotency key."""
    if not idempotency_key:
        raise ValueError("idempotency_key must not be empty")
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, idempotency_key)).upper()


def dimension_values(
    dimensions: Mapping[str, str] | None, structure: Sequence[str] = ACCOUNT_STRUCTURE
) -> dict:
    """``{"Value": [{"Name", "Value"}, ...]}`` in account-structure order
    (AxdType_DimensionAttributeValues)."""
    dims = {name: value for name, value in (dimensions or {}).items() if value}
    unknown = [name for name in dims if name not in structure]
    if unknown:
        raise ValueError(f"dimension(s) not in the account structure {list(structure)}: {', '.join(unknown)}")
    return {"Value": [{"Name": name, "Value": dims[name]} for name in structure if name in dims]}


def ledger_display_value(
    main_account: str, dimensions: Mapping[str, str] | None, structure: Sequence[str] = ACCOUNT_STRUCTURE
) -> str:
    """``401100-001-022``: main account then values in structure order; trailing empty segments omitted,
    inner empty segments kept as ``--`` (AX 2012 behaviour for inner gaps inferred)."""
    dims = dimensions or {}
    segments = [main_account, *[dims.get(name) or "" for name in structure]]
    while len(segments) > 1 and not segments[-1]:
        segments.pop()
    return "-".join(segments)


def ledger_account(
    main_account: str, dimensions: Mapping[str, str] | None, structure: Sequence[str] = ACCOUNT_STRUCTURE
) -> dict[str, Any]:
    """AxdType_LedgerAccount dict: DisplayValue, MainAccount and (if any) Values."""
    account: dict[str, Any] = {
        "DisplayValue": ledger_display_value(main_account, dimensions, structure),
        "MainAccount": main_account,
    }
    values = dimension_values(dimensions, structure)
    if values["Value"]:
        account["Values"] = values
    return account


def _truncate(text: str, length: int, what: str, warnings: list[str]) -> str:
    if len(text) <= length:
        return text
    warnings.append(f"{what} was longer than {length} characters and was shortened to {text[:length]!r}.")
    return text[:length]


def free_text_invoice_document_with_warnings(
    invoice: SalesInvoice,
    *,
    customer_account: str,
    main_account_for: Callable[[str], str],
    dimensions: Mapping[str, str] | None = None,
    tax_group_for: TaxGroupFor | None = None,
    structure: Sequence[str] = ACCOUNT_STRUCTURE,
) -> tuple[dict[str, Any], list[str]]:
    """Like :func:`free_text_invoice_document` but also returns human-readable warnings (truncations,
    rounding)."""
    warnings: list[str] = []
    if not customer_account:
        raise ValueError("customer_account is required")
    if len(customer_account) > ACCOUNT_LENGTH:
        raise ValueError(f"customer account {customer_account!r} is longer than {ACCOUNT_LENGTH} characters")
    header: dict[str, Any] = {
        "class": "entity",
        "CurrencyCode": invoice.currency.upper(),
        "CustomerRef": _truncate(
            invoice.number, CUSTOMER_REF_LENGTH, "Invoice number (CustomerRef)", warnings
        ),
    }
    if dimensions:
        header["DefaultDimension"] = {"Values": dimension_values(dimensions, structure)}
    header["DocumentDate"] = invoice.issue_date
    if invoice.due_date:
        header["DueDate"] = invoice.due_date
    header["InvoiceDate"] = invoice.issue_date
    header["OrderAccount"] = customer_account
    lines = []
    for position, line in enumerate(invoice.lines, start=1):
        label = f"Line {line.number or position} description"
        entry: dict[str, Any] = {
            "class": "entity",
            "AmountCur": line.net_amount,
            "Description": _truncate(line.description or "", DESCRIPTION_LENGTH, label, warnings),
            "LedgerDimension": ledger_account(main_account_for(line.account_code), dimensions, structure),
            "LineNum": Decimal(line.number or position),
            "Quantity": line.quantity,
        }
        taxes = tax_group_for(line) if tax_group_for else None
        if isinstance(taxes, str):
            taxes = (taxes, "")
        if taxes:
            tax_group, item_tax_group = taxes
            if tax_group:
                entry["TaxGroup"] = tax_group
            if item_tax_group:
                entry["TaxItemGroup"] = item_tax_group
        entry["UnitPrice"] = line.unit_price
        if (line.quantity * line.unit_price).quantize(Decimal("0.01")) != line.net_amount.quantize(
            Decimal("0.01")
        ):
            warnings.append(
                f"Line {line.number or position}: quantity x unit price "
                f"({line.quantity} x {line.unit_price}) differs from the net amount {line.net_amount}; "
                "AX keeps the net amount."
            )
        lines.append(entry)
    header["CustInvoiceLine"] = lines
    return {"CustInvoiceTable": [header]}, warnings


def free_text_invoice_document(
    invoice: SalesInvoice,
    *,
    customer_account: str,
    main_account_for: Callable[[str], str],
    dimensions: Mapping[str, str] | None = None,
    tax_group_for: TaxGroupFor | None = None,
) -> dict[str, Any]:
    """The ``FreeTextInvoice`` document dict for ``AifClient.create_free_text_invoice``.

    ``main_account_for(kashflow_nominal_code) -> AX main account id``; ``dimensions`` such as
    ``{"BusinessUnit": "001", "Department": "022"}`` go to the header DefaultDimension and every line's
    LedgerDimension; ``tax_group_for(line) -> (TaxGroup, TaxItemGroup) | TaxGroup | None``. CustomerRef
    carries the Kashflow invoice number so the invoice can be found again in CUSTINVOICETABLE.CUSTOMERREF.
    """
    document, _warnings = free_text_invoice_document_with_warnings(
        invoice,
        customer_account=customer_account,
        main_account_for=main_account_for,
        dimensions=dimensions,
        tax_group_for=tax_group_for,
    )
    return document


# ---------------------------------------------------------------------- master data (SQL rows <-> canonical)

SOURCE_SYSTEM = "dynamics_ax"
# AX 2012 keys countries by ISO 3166-1 alpha-3 (LOGISTICSADDRESSCOUNTRYREGION, reference §3.1); canonical
# addresses carry alpha-2 (integrations.core.countries). Ids outside the table stay as AX has them.
# Field lengths of the AX address book (EDTs behind LogisticsPostalAddress / DirPartyTable). AIF silently
# truncates longer inbound strings (reference §3), so writers check them first.
PARTY_NAME_LENGTH = 100
STREET_LENGTH = 250
CITY_LENGTH = 60
STATE_LENGTH = 10
ZIP_LENGTH = 10


def _text(row: Mapping[str, Any], name: str) -> str:
    return str(row.get(name) or "").strip()


def party_from_row(row: Mapping[str, Any], kind: str) -> Party:
    """A row of ``AxSqlReader.customers()`` / ``vendors()`` as a canonical Party (``kind`` customer|supplier).

    The structured address is AX's primary postal address; its country is alpha-2 where the id is a known
    alpha-3, else AX's own id."""
    country = _text(row, "COUNTRYREGIONID").upper()
    return Party(
        source_system=SOURCE_SYSTEM, source_id=_text(row, "ACCOUNTNUM"), kind=kind, code=_text(row, "ACCOUNTNUM"),
        name=_text(row, "NAME"),
        address=StructuredAddress(street=str(row.get("STREET") or "").strip(), city=_text(row, "CITY"),
                                  county=_text(row, "STATE"), zip_code=_text(row, "ZIPCODE"),
                                  country_code=ISO3_TO_ISO2.get(country, country)),
        email=_text(row, "EMAIL"), phone=_text(row, "PHONE"), currency=_text(row, "CURRENCY").upper(),
        group=_text(row, "GROUPID"), tax_number=_text(row, "VATNUM"), payment_terms=_text(row, "PAYMTERMID"),
        blocked=bool(int(row.get("BLOCKED") or 0)),
    )


def product_from_row(row: Mapping[str, Any]) -> Product:
    """A row of ``AxSqlReader.items()`` (released item, product translation, sales price) as a Product.

    ``sales_account`` carries the item group: the flow maps it (or the item) to a target account."""
    price = row.get("SALESPRICE")
    return Product(
        source_system=SOURCE_SYSTEM, source_id=_text(row, "ITEMID"), code=_text(row, "ITEMID"),
        name=_text(row, "NAME") or _text(row, "NAMEALIAS"), description=_text(row, "DESCRIPTION"),
        sales_price=Decimal(str(price)) if price is not None else None, sales_account=_text(row, "ITEMGROUPID"),
        stock_managed=int(row.get("ITEMTYPE") or 0) == 0, unit=_text(row, "SALESUNIT"),
    )


def stock_level_from_row(row: Mapping[str, Any], *, measure: str = "PHYSICALINVENT") -> StockLevel:
    """A row of ``AxSqlReader.on_hand()`` (one item over all inventory dimensions) as a StockLevel.

    ``measure``: PHYSICALINVENT (physical on hand) or AVAILPHYSICAL (on hand less reservations)."""
    modified = row.get("MODIFIEDDATETIME")
    return StockLevel(
        source_system=SOURCE_SYSTEM, source_id=_text(row, "ITEMID"), product_code=_text(row, "ITEMID"),
        warehouse="", quantity_on_hand=Decimal(str(row.get(measure) or 0)),
        as_of=modified.isoformat() if hasattr(modified, "isoformat") else str(modified or ""),
    )


def party_create_document(party: Party, *, account: str, group: str, currency: str = "",
                          country_region_id: str = "", roles: str = "Business") -> dict[str, Any]:
    """The CustTable / VendTable values for ``AifClient.create_customer`` / ``create_vendor``: the account, its
    group, currency and a DirParty (organisation) with the name, one primary structured postal address and
    the primary e-mail and phone (reference §3.1; element order is the client's business)."""
    group_field = "CustGroup" if party.kind == "customer" else "VendGroup"
    values: dict[str, Any] = {"AccountNum": account}
    if currency:
        values["Currency"] = currency
    values[group_field] = group
    if party.tax_number:
        values["VATNum"] = party.tax_number
    address = party.address
    postal: dict[str, Any] = {}
    for name, value in (("City", address.city), ("CountryRegionId", country_region_id), ("IsPrimary", "Yes"),
                        ("Roles", roles), ("State", address.county), ("Street", address.street),
                        ("ZipCode", address.zip_code)):
        if value:
            postal[name] = value
    dir_party: dict[str, Any] = {"Name": party.name}
    if set(postal) - {"IsPrimary", "Roles"}:
        dir_party["DirPartyPostalAddressView"] = [postal]
    contacts = [{"IsPrimary": "Yes", "LocationName": label, "Locator": locator, "Type": kind}
                for label, locator, kind in (("Email", party.email, "Email"), ("Phone", party.phone, "Phone"))
                if locator]
    if contacts:
        dir_party["DirPartyContactInfoView"] = contacts
    values["DirParty"] = dir_party
    return values
