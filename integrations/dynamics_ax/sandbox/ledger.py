"""Financial dimensions and accounts as AX validates them on inbound documents (reference §4).

Errors are collected into a list (X++ reports every failed check in the infolog before cancelling), each
check returns what the caller stores: DIMENSIONATTRIBUTEVALUESET RecIds for default dimensions and
DIMENSIONATTRIBUTEVALUECOMBINATION RecIds for ledger dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from integrations.dynamics_ax import wsdl as axwsdl

from .enums import LEDGER_DIMENSION_NON_LEDGER, LEDGER_JOURNAL_AC_TYPE
from .store import AxStore
from .xmlkit import dimension_pairs, q

ST = axwsdl.SHAREDTYPES_NS


@dataclass
class Account:
    """A resolved account of a journal line or invoice line."""

    account_type: str  # LedgerJournalACType name
    account: str
    display: str
    main: dict[str, Any] | None = None  # MAINACCOUNT row for ledger accounts
    pairs: list[tuple[dict, dict]] = field(default_factory=list)  # (DIMENSIONATTRIBUTE, DIMENSIONATTRIBUTEVALUE)
    party: dict[str, Any] | None = None  # CUSTTABLE / VENDTABLE / BANKACCOUNTTABLE row
    currency: str = ""


class Ledger:
    """Validation and storage of dimensions and accounts for one request (one company)."""

    def __init__(self, store: AxStore, dataareaid: str) -> None:
        self.store = store
        self.dataareaid = dataareaid
        self.hierarchy, self.structure = store.account_structure()

    # -- dimension values ------------------------------------------------------------------------------------
    def values(self, values_node: etree._Element | None, errors: list[str], *, main_account: str = ""
               ) -> list[tuple[dict, dict]]:
        pairs = []
        for name, code in dimension_pairs(values_node):
            attribute, row = self.store.dimension_value(name, code)
            if attribute is None:
                errors.append(f"The dimension attribute '{name}' does not exist.")
            elif main_account and name not in self.structure:
                errors.append(f"The dimension '{name}' is not part of the account structure for main account "
                              f"{main_account}.")
            elif row is None:
                errors.append(f"The value '{code}' of the dimension '{name}' does not exist.")
            else:
                pairs.append((attribute, row))
        return pairs

    def default_dimension(self, node: etree._Element | None, errors: list[str]) -> list[tuple[dict, dict]]:
        """AxdType_DimensionAttributeValueSet -> validated pairs (store them with :meth:`value_set`)."""
        if node is None:
            return []
        return self.values(node.find(q(ST, "Values")), errors)

    def value_set(self, pairs: list[tuple[dict, dict]]) -> int:
        return self.store.value_set(pairs)

    def display_value(self, main_account: str, pairs: list[tuple[dict, dict]]) -> str:
        """Main account then values in account-structure order; trailing empty segments omitted."""
        by_name = {attribute["NAME"]: row["DISPLAYVALUE"] for attribute, row in pairs}
        segments = [main_account, *[by_name.get(name, "") for name in self.structure]]
        while len(segments) > 1 and segments[-1] == "":
            segments.pop()
        return "-".join(segments)

    # -- accounts --------------------------------------------------------------------------------------------
    def ledger_account(self, node: etree._Element | None, errors: list[str], *, account_field: str = "MainAccount",
                       label: str = "Main account") -> Account | None:
        """AxdType_LedgerAccount (``MainAccount``) or the Ledger case of AxdType_MultiTypeAccount (``Account``)."""
        if node is None:
            errors.append(f"Field '{label}' must be filled in.")
            return None
        main_id = (node.findtext(q(ST, account_field)) or "").strip()
        display = (node.findtext(q(ST, "DisplayValue")) or "").strip()
        if not main_id:
            errors.append(f"Field '{label}' must be filled in.")
            return None
        main = self.store.main_account(main_id)
        if main is None:
            errors.append(f"The value '{main_id}' in field 'Main account' is not found in the relating table "
                          "'Main accounts'.")
            return None
        values_node = node.find(q(ST, "Values"))
        pairs = self.values(values_node, errors, main_account=main_id)
        expected = self.display_value(main_id, pairs)
        if display != expected and len(pairs) == len(dimension_pairs(values_node)):
            errors.append(f"The display value '{display}' does not match main account '{main_id}' and the dimension "
                          f"values given ('{expected}').")
        return Account("Ledger", main_id, expected, main=main, pairs=pairs)

    def journal_account(self, node: etree._Element | None, account_type: str, errors: list[str], *,
                        label: str = "Account") -> Account | None:
        """AxdType_MultiTypeAccount of a journal line, resolved for its LedgerJournalACType."""
        if account_type == "Ledger":
            return self.ledger_account(node, errors, account_field="Account", label=label)
        if node is None:
            errors.append(f"Field '{label}' must be filled in.")
            return None
        account = (node.findtext(q(ST, "Account")) or "").strip()
        display = (node.findtext(q(ST, "DisplayValue")) or "").strip()
        if not account:
            errors.append(f"Field '{label}' must be filled in.")
            return None
        lookups = {
            "Cust": (self.store.customer, "Customers"),
            "Vend": (self.store.vendor, "Vendors"),
            "Bank": (self._bank_account, "Bank accounts"),
        }
        if account_type not in lookups:
            errors.append(f"Account type {account_type} is not supported by this integration port.")
            return None
        lookup, table_label = lookups[account_type]
        party = lookup(self.dataareaid, account)
        if party is None:
            errors.append(f"The value '{account}' in field '{label}' is not found in the relating table "
                          f"'{table_label}'.")
            return None
        if display and display != account:
            errors.append(f"The display value '{display}' does not match account '{account}'.")
        currency = party.get("CURRENCY") or party.get("CURRENCYCODE") or ""
        return Account(account_type, account, account, party=party, currency=currency)

    def _bank_account(self, dataareaid: str, account: str) -> dict[str, Any] | None:
        return self.store.one("SELECT * FROM BANKACCOUNTTABLE WHERE DATAAREAID = ? AND ACCOUNTID = ?",
                              (dataareaid, account))

    def combination(self, account: Account) -> int:
        """DIMENSIONATTRIBUTEVALUECOMBINATION RecId storing the account (ledger account with its dimensions, or
        the customer/vendor/bank account of a journal line)."""
        if account.account_type == "Ledger" and account.main is not None:
            return self.store.ledger_combination(account.display, account.main["RECID"], self.hierarchy)
        return self.store.ledger_combination(account.account, 0, 0, dimension_type=LEDGER_DIMENSION_NON_LEDGER)

    def describe(self, recid: int, account_type: int) -> tuple[str, str, list[tuple[str, str]]]:
        """(display value, account, dimension pairs) of a stored combination, for outbound documents."""
        row = self.store.combination(recid)
        if row is None:
            return "", "", []
        if LEDGER_JOURNAL_AC_TYPE.label(account_type) != "Ledger" or not row.get("MAINACCOUNTID"):
            return row["DISPLAYVALUE"], row["DISPLAYVALUE"], []
        segments = row["DISPLAYVALUE"].split("-")
        pairs = [(name, value) for name, value in zip(self.structure, segments[1:], strict=False) if value]
        return row["DISPLAYVALUE"], row["MAINACCOUNTID"], pairs
