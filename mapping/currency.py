"""Currency: amounts in the document currency and in the accounting currency, with the tenant's rounding.

The rules section (``currency`` in a flow's mapping set)::

    {"accounting_currency": "GBP",          # the ERP company's currency (AX MST / Sage's company currency)
     "source": "document" | "table",        # where the rate comes from (default "document")
     "rates": {"EUR": "0.85"},              # tenant rate table: accounting units per 1 unit of the currency
     "home_currency": "GBP",                # Kashflow's home currency (default: accounting_currency)
     "rounding": "half_up" | "half_even"}   # default half_up (what UK VAT and AX's default round to)

Why two rate conventions: Kashflow's ``Currency.ExchangeRate`` on a document is *document units per one home
unit* (reference kashflow.md: an AUD purchase with rate 2.0 shows ``HomeCurrencyGrossAmount`` 97.54 = 195.08 /
2), whereas a rate table is naturally written as "1 EUR = 0.85 GBP". Both are turned into one multiplier
(accounting per document unit) here, so flows never divide by the wrong one.

``source: "document"`` uses the rate Kashflow stored on the document (what the customer was invoiced at, so the
ERP's accounting amount matches Kashflow's home amount); a document without a usable rate falls back to the
table. ``source: "table"`` always uses the table (a tenant whose books use month-end rates). When Kashflow's
home currency is not the accounting currency, the document's home amount is converted again with the table's
rate for the home currency.

A currency without a rate is a ``TargetValidationError`` of code ``mapping_missing`` naming the currency (an
inbox item the tenant fixes by adding the rate); a rate that is not a positive number is ``invalid_value``.
Amounts are rounded to the currency's minor units (ISO 4217: JPY 0, BHD 3, most 2). Line amounts converted
one by one can disagree with the converted total by a minor unit; :func:`convert_lines` hands that difference to
the largest line so a posting still balances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from integrations.core.errors import TargetValidationError

__all__ = [
    "Conversion", "CurrencyRules", "convert", "convert_lines", "minor_units", "rate_for", "round_money",
]

# ISO 4217 minor units that are not 2.
MINOR_UNITS = {
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "PYG": 0, "UGX": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "RWF": 0, "KMF": 0, "GNF": 0, "DJF": 0, "VUV": 0, "BIF": 0,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3,
    "CLF": 4, "UYW": 4,
}
ROUNDINGS = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "bankers": ROUND_HALF_EVEN}
SOURCES = ("document", "table")
ONE = Decimal(1)


def minor_units(currency: str) -> int:
    """Decimal places of ``currency`` (ISO 4217; 2 for any code not listed as different)."""
    return MINOR_UNITS.get(str(currency or "").strip().upper(), 2)


def round_money(amount: Any, currency: str, rounding: str = "half_up") -> Decimal:
    """``amount`` rounded to ``currency``'s minor units: ``half_up`` (0.125 -> 0.13) or ``half_even`` /
    ``bankers`` (0.125 -> 0.12)."""
    mode = ROUNDINGS.get(rounding)
    if mode is None:
        raise ValueError(f"Unknown rounding {rounding!r}; expected one of {', '.join(ROUNDINGS)}.")
    return _decimal(amount, "amount").quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=mode)


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None or str(value).strip() == "":
        raise TargetValidationError(f"The {what} is missing.", system="Mapping", code="invalid_value",
                                    payload={what: value})
    try:
        # floats through str: Decimal(0.1) would carry the binary error into the books
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise TargetValidationError(f"The {what} {value!r} is not a number.", system="Mapping",
                                    code="invalid_value", payload={what: str(value)}) from None


def _code(value: Any) -> str:
    return str(value or "").strip().upper()


@dataclass(frozen=True)
class CurrencyRules:
    """The ``currency`` rules section, checked."""

    accounting_currency: str
    source: str = "document"
    rates: Mapping[str, Decimal] | None = None
    home_currency: str = ""
    rounding: str = "half_up"

    @classmethod
    def from_rules(cls, rules: Mapping[str, Any] | None, *, default_currency: str = "GBP") -> CurrencyRules:
        """The section (or a flow's whole rules dict holding it under ``currency``), with defaults. Raises
        TargetValidationError (``invalid_value``) naming a bad source, rounding or rate."""
        section = dict(rules or {})
        if isinstance(section.get("currency"), Mapping):
            section = dict(section["currency"])
        accounting = _code(section.get("accounting_currency")) or _code(default_currency)
        source = str(section.get("source") or "document").strip().lower()
        if source not in SOURCES:
            raise TargetValidationError(f"Currency source {source!r} is not one of {', '.join(SOURCES)}.",
                                        system="Mapping", code="invalid_value", payload={"source": source})
        rounding = str(section.get("rounding") or "half_up").strip().lower()
        if rounding not in ROUNDINGS:
            raise TargetValidationError(f"Rounding {rounding!r} is not one of {', '.join(ROUNDINGS)}.",
                                        system="Mapping", code="invalid_value", payload={"rounding": rounding})
        rates = {}
        for code, value in (section.get("rates") or {}).items():
            rate = _decimal(value, f"rate for {_code(code)}")
            if not rate.is_finite() or rate <= 0:
                raise TargetValidationError(f"The rate for {_code(code)} ({value!r}) must be a positive number.",
                                            system="Mapping", code="invalid_value", payload={"currency": code})
            rates[_code(code)] = rate
        return cls(accounting_currency=accounting, source=source, rates=rates,
                   home_currency=_code(section.get("home_currency")) or accounting, rounding=rounding)


@dataclass(frozen=True)
class Conversion:
    """One amount in both currencies. ``rate``: accounting units per document unit; ``rate_source``:
    "same" | "document" | "table" | "document+table"."""

    document_currency: str
    document_amount: Decimal
    accounting_currency: str
    accounting_amount: Decimal
    rate: Decimal
    rate_source: str


def _table_rate(currency: str, rules: CurrencyRules, *, why: str) -> Decimal:
    if currency == rules.accounting_currency:
        return ONE
    rate = (rules.rates or {}).get(currency)
    if rate is None:
        raise TargetValidationError(
            f"No exchange rate from {currency} to {rules.accounting_currency} is set{why}; add {currency} to the "
            "currency rates.", system="Mapping", code="mapping_missing",
            payload={"currency": currency, "accounting_currency": rules.accounting_currency})
    return rate


def rate_for(currency: str, rules: CurrencyRules, *, document_rate: Any = None) -> tuple[Decimal, str]:
    """(accounting units per unit of ``currency``, where it came from). ``document_rate`` is Kashflow's
    ``Currency.ExchangeRate`` (document units per home unit); empty or zero counts as not set (the table is
    used), a negative or non-numeric rate is ``invalid_value``."""
    currency = _code(currency) or rules.accounting_currency
    if currency == rules.accounting_currency:
        return ONE, "same"
    home = f" (Kashflow's home currency {rules.home_currency})"
    if currency == rules.home_currency:  # a home-currency document's rate (1) says nothing about accounting
        return _table_rate(currency, rules, why=home), "table"
    usable = None
    if rules.source == "document" and document_rate not in (None, ""):
        usable = _decimal(document_rate, f"exchange rate of the {currency} document")
        if not usable.is_finite() or usable < 0:
            raise TargetValidationError(
                f"The {currency} document's exchange rate {document_rate!r} is not a positive number.",
                system="Mapping", code="invalid_value", payload={"currency": currency, "rate": str(document_rate)})
        usable = usable or None
    if usable is None:
        why = " and the document carries none" if rules.source == "document" else ""
        return _table_rate(currency, rules, why=why), "table"
    to_home = ONE / usable
    if rules.home_currency == rules.accounting_currency:
        return to_home, "document"
    return to_home * _table_rate(rules.home_currency, rules, why=home), "document+table"


def convert(amount: Any, currency: str, rules: CurrencyRules, *, document_rate: Any = None) -> Conversion:
    """``amount`` of ``currency`` in the document and the accounting currency, each rounded to its minor units
    with the rules' rounding (the rate itself is not rounded)."""
    code = _code(currency) or rules.accounting_currency
    rate, source = rate_for(code, rules, document_rate=document_rate)
    value = _decimal(amount, "amount")
    return Conversion(document_currency=code, document_amount=round_money(value, code, rules.rounding),
                      accounting_currency=rules.accounting_currency,
                      accounting_amount=round_money(value * rate, rules.accounting_currency, rules.rounding),
                      rate=rate, rate_source=source)


def convert_lines(amounts: Sequence[Any], currency: str, rules: CurrencyRules, *,
                  document_rate: Any = None) -> tuple[list[Decimal], Decimal]:
    """(accounting amount per line, accounting total) where the lines add up to the converted total exactly:
    the rounding difference (a minor unit or so) goes to the line of the largest absolute amount, the way
    ERPs post a penny difference, so a journal built from them balances."""
    code = _code(currency) or rules.accounting_currency
    rate, _source = rate_for(code, rules, document_rate=document_rate)
    values = [_decimal(amount, "amount") for amount in amounts]
    total = round_money(sum(values, Decimal(0)) * rate, rules.accounting_currency, rules.rounding)
    lines = [round_money(value * rate, rules.accounting_currency, rules.rounding) for value in values]
    difference = total - sum(lines, Decimal(0))
    if difference and lines:
        largest = max(range(len(values)), key=lambda n: abs(values[n]))
        lines[largest] += difference
    return lines, total
