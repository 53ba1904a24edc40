"""Sage 100 items (CI_Item) -> Kashflow products, record by record (Sage is master for products).

Change detection: CI_Item polled over ODBC on DateUpdated/TimeUpdated (see
:mod:`integrations.sync.flows.sage_master_to_kashflow`). The item's sales account (``SalesAcctKey``, Sage's
AccountKey surrogate) is read as the formatted G/L account (``400-00-00``) through GL_Account, read once per run,
so the canonical product names the account a person recognises.

What an item becomes: a Kashflow product with Code = ItemCode (``code_map`` overrides; Kashflow refuses codes
with "/", such as Sage's miscellaneous ``/FREIGHT``), Name and Description = ItemCodeDesc, Price =
StandardUnitPrice (Kashflow keeps 4 decimals), NominalCode = the Kashflow sales nominal mapped from the item's
sales account (``sales_nominals``, else ``default_nominal``, with a warning), InUse = not InactiveItem, and VATRate
from the item's TaxClass when ``vat_rates`` maps it (else Kashflow's own rate stands). A new product manages its
stock level when the item is a regular (inventory) item; stock quantities are not this flow's business.

Writes: Kashflow keys a product by (nominal code, code) and lets the same code exist under several nominals, so
the natural-key look-up is ``GET /products/{nominal}/{code}`` under the mapped nominal first, then under the
nominals the account's product list shows the code under (listed once per run, only when needed). A product found
under another nominal is moved (``PUT`` with the new NominalCode), one found in place is updated (full
replacement: Kashflow's record with Sage's fields laid over it; stock fields kept), and otherwise it is created.
A repeat after a lost answer finds what the first attempt created. The target id is ``<nominal>/<code>``.

Options: ``item_types`` (Sage ItemTypes carried, default ``["1"]``: regular items; ``"3"`` charge and ``"5"``
miscellaneous items need a ``code_map`` entry when their code has a "/"), plus those of
:class:`~integrations.sync.flows.sage_master_to_kashflow.SageMasterSource`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.core.canonical import Product
from integrations.core.errors import ConnectorError, NotFoundError, TargetValidationError
from integrations.sage100.adapter import sage_product
from integrations.sync.flows.kashflow_parties import is_duplicate
from integrations.sync.flows.sage_master_to_kashflow import SageMasterSource
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import KASHFLOW_DEFAULT_SALES_NOMINAL, SAGE_TO_KASHFLOW_NOMINAL

CODE_LIMIT = 30  # Kashflow product codes (Sage ItemCode is 30 too)
NAME_LIMIT = 100
FOUR_DP = Decimal("0.0001")
COLUMNS = ("ItemCode", "ItemType", "ItemCodeDesc", "SalesAcctKey", "TaxClass", "StandardUnitPrice",
           "SalesUnitOfMeasure", "InactiveItem")
CREATE_ONLY = ("ManageStockLevel",)  # set when the product is made; afterwards Kashflow's (or the stock flow's)
ITEM_TYPES = {"1": "regular", "3": "charge", "4": "comment", "5": "miscellaneous"}


def default_rules() -> dict[str, Any]:
    """``sales_nominals``: Sage sales G/L account (formatted, or its AccountKey) -> Kashflow nominal code;
    ``default_nominal``: for unmapped accounts; ``vat_rates``: Sage TaxClass -> Kashflow VAT rate (percent);
    ``code_map``: ItemCode -> Kashflow product code; ``routing``: unused."""
    return {"routing": [], "sales_nominals": dict(SAGE_TO_KASHFLOW_NOMINAL),
            "default_nominal": KASHFLOW_DEFAULT_SALES_NOMINAL, "vat_rates": {}, "code_map": {}}


class SageProductsToKashflow(SageMasterSource):
    entity = "product"
    stream = "ci_item"
    table = "CI_Item"
    columns = COLUMNS

    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.item_types = {str(t) for t in self.options.get("item_types", ["1"])}
        self._chart: dict[str, str] | None = None  # AccountKey -> Account

    def open(self) -> None:
        super().open()
        self.index = ProductIndex()

    # ------------------------------------------------------------------ source

    def payload(self, row: dict[str, Any]) -> dict[str, Any]:
        key = str(row.get("SalesAcctKey") or "").strip()
        account = self.chart().get(key, key) if key else ""
        return sage_product(row, account)

    def chart(self) -> dict[str, str]:
        """GL_Account, once per run: AccountKey -> formatted Account."""
        if self._chart is None:
            rows = self.source_gate.call(lambda: self.reader.read("GL_Account", ["AccountKey", "Account"]),
                                         metered=False)
            self._chart = {str(r["AccountKey"]): str(r["Account"]) for r in rows}
        return self._chart

    def unwanted(self, payload: dict[str, Any]) -> str:
        item_type = str((payload.get("sage") or {}).get("item_type") or "")
        if item_type not in self.item_types:
            return f"Sage item type {item_type} ({ITEM_TYPES.get(item_type, 'unknown')}) is not carried"
        return ""

    # ------------------------------------------------------------------ mapping

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        warnings: list[str] = []
        document = kashflow_product(payload, rules, warnings)
        existing, _at = self.target_gate.call(lambda: locate(self.lookup, document, self.index), metered=False)
        if existing is not None:
            warnings += [f"Kashflow product {document['Code']}: {name} {old!r} overwritten with Sage's {new!r} "
                         f"(Sage is master for products)." for name, old, new in differences(existing, document)]
        return Transformed(document=document, warnings=warnings)

    # ------------------------------------------------------------------ writing

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str | ConnectorError]:
        return [upsert_product(self.kashflow, document, self.index) for document in documents]

    def find_existing(self, record: SyncRecord) -> str | None:
        document = record.target_payload or {}
        if not document.get("Code"):
            return None
        existing, at = locate(self.kashflow, document, self.index)
        return f"{at}/{document['Code']}" if existing is not None else None


# ---------------------------------------------------------------------- conversions


def kashflow_product(payload: dict[str, Any], rules: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """The Kashflow product document for a canonical Sage item."""
    product = Product.from_dict(payload)
    code = str((rules.get("code_map") or {}).get(product.code) or product.code).strip()
    if not code or len(code) > CODE_LIMIT or "/" in code:
        raise TargetValidationError(
            f"Sage item {product.code} cannot be Kashflow product code {code!r} (1-{CODE_LIMIT} characters, no "
            "'/'); map it in code_map.", system="Mapping", code="invalid_value", payload={"item": product.code})
    name = product.name.strip() or code
    nominal = _nominal(product, rules, warnings)
    document: dict[str, Any] = {
        "Code": code, "Name": name[:NAME_LIMIT], "Description": product.description, "NominalCode": nominal,
        "Price": float((product.sales_price or Decimal(0)).quantize(FOUR_DP)),
        "InUse": not bool((payload.get("sage") or {}).get("inactive")),
        "ManageStockLevel": product.stock_managed,
    }
    vat_rates = {str(k): v for k, v in (rules.get("vat_rates") or {}).items()}
    if product.tax_code and product.tax_code in vat_rates:
        try:
            document["VATRate"] = float(Decimal(str(vat_rates[product.tax_code])))
        except InvalidOperation:
            raise TargetValidationError(
                f"The VAT rate {vat_rates[product.tax_code]!r} mapped for Sage tax class {product.tax_code} is not a "
                "number.", system="Mapping", code="invalid_value", payload={"tax_class": product.tax_code}) from None
    return document


def _nominal(product: Product, rules: dict[str, Any], warnings: list[str]) -> int:
    mapped = {str(k): v for k, v in (rules.get("sales_nominals") or {}).items()}
    account = product.sales_account
    value = mapped.get(account)
    if value is None:
        value = rules.get("default_nominal") or KASHFLOW_DEFAULT_SALES_NOMINAL
        warnings.append(f"No Kashflow nominal code is mapped for Sage sales account {account or '(none)'} of item "
                        f"{product.code}; the default {value} was used (map it in sales_nominals).")
    try:
        nominal = int(str(value).strip())
    except ValueError:
        raise TargetValidationError(
            f"The Kashflow nominal code {value!r} mapped for Sage sales account {account} is not a number.",
            system="Mapping", code="invalid_value", payload={"account": account}) from None
    if nominal <= 0:
        raise TargetValidationError(f"The Kashflow nominal code {nominal} mapped for Sage sales account {account} is "
                                    "not valid.", system="Mapping", code="invalid_value", payload={"account": account})
    return nominal


def differences(existing: dict[str, Any], document: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, Kashflow value, Sage value) for each carried field Kashflow holds differently."""
    out = []
    for name in ("Name", "Description"):
        if str(existing.get(name) or "").strip() != str(document.get(name) or "").strip():
            out.append((name, existing.get(name), document.get(name)))
    if _int(existing.get("NominalCode")) != document["NominalCode"]:
        out.append(("NominalCode", existing.get("NominalCode"), document["NominalCode"]))
    for name in ("Price", "VATRate"):
        if name in document and _dec(existing.get(name)) != _dec(document[name]):
            out.append((name, existing.get(name), document[name]))
    if bool(existing.get("InUse", True)) != bool(document["InUse"]):
        out.append(("InUse", existing.get("InUse"), document["InUse"]))
    return out


def merged(existing: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Kashflow's product with Sage's fields laid over it (PUT replaces it all; stock fields are Kashflow's)."""
    return {**existing, **{k: v for k, v in document.items() if k not in CREATE_ONLY}}


class ProductIndex:
    """Code -> the nominal codes Kashflow has the code under; listed once (lazily) per run and kept current
    with this run's own writes. Shared by the look-up and sender threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._where: dict[str, set[int]] | None = None

    def nominals(self, client, code: str) -> set[int]:
        with self._lock:
            if self._where is None:
                where: dict[str, set[int]] = {}
                for item in client.products.list(perpage=100, filterbyinuseonly="false"):
                    where.setdefault(str(item.get("Code") or ""), set()).add(_int(item.get("NominalCode")))
                self._where = where
            return set(self._where.get(code, ()))

    def moved(self, code: str, old: int | None, new: int) -> None:
        with self._lock:
            if self._where is not None:
                nominals = self._where.setdefault(code, set())
                nominals.discard(old)
                nominals.add(new)


def _get(client, nominal: int, code: str) -> dict[str, Any] | None:
    try:
        return client.products.get((nominal, code))
    except NotFoundError:
        return None


def locate(client, document: dict[str, Any], index: ProductIndex) -> tuple[dict[str, Any] | None, int | None]:
    """(the Kashflow product with this code, its nominal): under the mapped nominal first, then elsewhere."""
    code, nominal = document["Code"], document["NominalCode"]
    found = _get(client, nominal, code)
    if found is not None:
        return found, nominal
    for other in sorted(index.nominals(client, code) - {nominal}):
        found = _get(client, other, code)
        if found is not None:
            return found, other
    return None, None


def upsert_product(client, document: dict[str, Any], index: ProductIndex) -> str:
    """Create, update or move the product; safe to repeat. Returns ``<nominal>/<code>``."""
    code, nominal = document["Code"], document["NominalCode"]
    existing, at = locate(client, document, index)
    if existing is None:
        try:
            client.products.create(document)
            index.moved(code, None, nominal)
            return f"{nominal}/{code}"
        except TargetValidationError as error:
            if not is_duplicate(error):
                raise
            existing, at = _get(client, nominal, code), nominal  # created meanwhile: update it instead
            if existing is None:
                raise
    if differences(existing, document):
        client.products.update((at, code), merged(existing, document))
        index.moved(code, at, nominal)
    return f"{nominal}/{code}"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _dec(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(FOUR_DP) if value not in (None, "") else None
    except InvalidOperation:
        return None
