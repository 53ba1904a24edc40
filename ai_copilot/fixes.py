"""Fix suggestions for inbox records: the nearest valid values, with reasons, and a one-click fix where one exists.

* "Mapping missing" for a nominal code: the GL suggester's ranking for that nominal (``gl_service``); applying it
  publishes ``nominal -> account`` and replays the records (``portal.web.mapping_views.mapping_fix``).
* The ERP refused an account the mapping sent (AX "value 'X' in field 'MainAccount' is not found", Sage "G/L
  account X is not on file"): the accounts nearest to what the mapped nominal means, and the one-click fix
  corrects that mapping row.
* An unknown customer, vendor, item or dimension value: the nearest codes from the ERP's own master data (by
  code similarity, shown with their names), as advice — those are fixed in the ERP or in the editor.

Reading the ERP may fail (it is down, or has no ODBC settings): then there are simply no suggestions and the
page says why. Nothing here writes.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from ai_copilot import charts, gl_service
from integrations.core.errors import ConnectorError
from integrations.sync.models import Flow, SyncRecord, System

log = logging.getLogger("ledgerbridge.copilot.fixes")

TOP = 3

_AX_NOT_FOUND = re.compile(r"The value '(?P<value>[^']*)' in field '(?P<field>[^']*)' is not found", re.I)
_AX_DIMENSION = re.compile(r"The value '(?P<value>[^']*)' of the dimension '(?P<dimension>[^']*)' does not exist",
                           re.I)
_AX_MAIN_ACCOUNT = re.compile(r"(?:has no main account|main account) '?(?P<value>\d{4,})'?(?: does not exist)?", re.I)
_SAGE_NOT_ON_FILE = re.compile(r"(?P<what>G/L account|GL account|Account|Customer|Vendor|Item)(?: (?:number|code))?"
                               r" '?(?P<value>[\w\-]+)'? is not on file", re.I)

_FIELD_KIND = {"mainaccount": "account", "ledgerdimension": "account", "mainaccountid": "account",
               "custaccount": "customer", "accountnum": "customer", "orderaccount": "customer",
               "invoiceaccount": "customer", "vendaccount": "vendor", "itemid": "item"}


@dataclass(frozen=True)
class Fix:
    target: str
    score: float
    reason: str
    name: str = ""


@dataclass
class FixSet:
    """What is wrong, the nearest valid values, and — when the mapping can be corrected in one click — which
    mapping row (``section``/``value``) the chosen target goes into."""

    problem: str
    fixes: list[Fix] = field(default_factory=list)
    section: str = ""
    value: str = ""
    note: str = ""

    @property
    def applicable(self) -> bool:
        return bool(self.section and self.value and self.fixes)


def for_record(record: SyncRecord) -> FixSet | None:
    """Suggestions for one failed record, or None when the co-pilot has nothing to say about its error."""
    flow: Flow = record.flow
    message = record.last_error or ""
    try:
        if record.error_code == "mapping_missing":
            return _mapping_missing(flow, message)
        return _refused_value(flow, record, message)
    except charts.ChartUnavailable as error:
        return FixSet(problem="", note=f"No suggestions: {error.message}")
    except (ConnectorError, OSError) as error:
        return FixSet(problem="", note=f"No suggestions: {flow.target.name} could not be read ({error}).")


def _mapping_missing(flow: Flow, message: str) -> FixSet | None:
    from portal.web.mapping_views import missing_value

    missing = missing_value(message)
    if missing is None or missing["section"] != gl_service.SECTION or not gl_service.supports(flow):
        return None
    row = gl_service.suggest_for(flow, missing["value"], top=TOP)
    names = {a.code: a.name for a in charts.target_accounts(flow)}
    what = f"{missing['value']} {row.account.name}".strip()
    return FixSet(problem=f"Nominal {what} has no {missing['target']}.", section=gl_service.SECTION,
                  value=missing["value"],
                  fixes=[Fix(s.target_code, s.score, s.reason, names.get(s.target_code, "")) for s in row.suggestions])


def _refused_value(flow: Flow, record: SyncRecord, message: str) -> FixSet | None:
    dimension = _AX_DIMENSION.search(message)
    if dimension and flow.target.system == System.DYNAMICS_AX:
        name, value = dimension.group("dimension"), dimension.group("value")
        candidates = {str(r["VALUE"]): str(r.get("NAME") or "") for r in _ax(flow, "dimension_values", name)}
        return FixSet(problem=f"{name} has no value {value} in AX.", fixes=nearest(value, candidates),
                      note="Correct the dimension rules in the flow's mapping, or add the value in AX.")
    kind, value = _refused(flow, message)
    if not kind:
        return None
    if kind == "account":
        return _refused_account(flow, record, value)
    candidates = _master(flow, kind)
    return FixSet(problem=f"{flow.target.name} has no {kind} {value}.", fixes=nearest(value, candidates),
                  note=f"Sync the {kind} first, or correct the source record or the mapping that chose {value}.")


def _refused(flow: Flow, message: str) -> tuple[str, str]:
    """(what kind of value the ERP refused, the value), or ("", "")."""
    if flow.target.system == System.DYNAMICS_AX:
        found = _AX_NOT_FOUND.search(message)
        if found:
            kind = _FIELD_KIND.get(found.group("field").replace(" ", "").lower(), "")
            return kind, found.group("value").split("-")[0] if kind == "account" else found.group("value")
        found = _AX_MAIN_ACCOUNT.search(message)
        if found:
            return "account", found.group("value")
    if flow.target.system == System.SAGE100:
        found = _SAGE_NOT_ON_FILE.search(message)
        if found:
            what = found.group("what").lower()
            kind = "account" if "account" in what else what
            return kind, found.group("value")
    return "", ""


def _refused_account(flow: Flow, record: SyncRecord, value: str) -> FixSet:
    """The mapping sent an account the ERP does not have: rank accounts for the nominal that was mapped to it."""
    version = record.mapping_version
    table = (version.rules if version is not None else {}).get(gl_service.SECTION) or {}
    nominals = sorted(str(n) for n, account in table.items() if str(account) == value)
    targets = {a.code: a.name for a in charts.target_accounts(flow)}
    if nominals and gl_service.supports(flow):
        row = gl_service.suggest_for(flow, nominals[0], top=TOP)
        fixes = [Fix(s.target_code, s.score, s.reason, targets.get(s.target_code, "")) for s in row.suggestions]
        return FixSet(problem=f"{flow.target.name} has no account {value}; the mapping sends nominal {nominals[0]} "
                              "to it.", fixes=fixes, section=gl_service.SECTION, value=nominals[0])
    return FixSet(problem=f"{flow.target.name} has no account {value}.", fixes=nearest(value, targets))


def _ax(flow: Flow, method: str, *args: Any) -> list[dict[str, Any]]:
    from integrations.dynamics_ax.sql import AxSqlReader

    settings = flow.target.settings or {}
    if not (settings.get("odbc") or settings.get("dsn")):
        raise charts.ChartUnavailable(f"{flow.target.name} has no ODBC/SQL settings to read master data from.")
    with AxSqlReader.from_settings(settings) as reader:
        return getattr(reader, method)(*args)


def _master(flow: Flow, kind: str) -> dict[str, str]:
    """code -> name of the ERP's customers, vendors or items."""
    if flow.target.system == System.DYNAMICS_AX:
        if kind == "item":
            return {str(r["ITEMID"]): str(r.get("NAME") or "") for r in _ax(flow, "items")}
        rows = _ax(flow, "customers" if kind == "customer" else "vendors")
        return {str(r.get("ACCOUNTNUM")): str(r.get("NAME") or "") for r in rows}
    from integrations.sage100.odbc import SageOdbcReader

    settings = flow.target.settings or {}
    if not (settings.get("odbc") or settings.get("dsn")):
        raise charts.ChartUnavailable(f"{flow.target.name} has no ODBC settings to read master data from.")
    table, code, name = {"customer": ("AR_Customer", "CustomerNo", "CustomerName"),
                         "vendor": ("AP_Vendor", "VendorNo", "VendorName"),
                         "item": ("CI_Item", "ItemCode", "ItemCodeDesc")}[kind]
    with SageOdbcReader.from_settings(settings) as reader:
        return {str(r[code]): str(r.get(name) or "") for r in reader.read(table, [code, name])}


def nearest(value: str, candidates: dict[str, str], *, top: int = TOP) -> list[Fix]:
    """Candidates ranked by how close their code is to ``value`` (edit similarity and a shared prefix), with the
    numbers as the reason."""
    value = str(value or "").strip().lower()
    scored = []
    for code, label in candidates.items():
        code_sim = difflib.SequenceMatcher(None, value, code.lower()).ratio()
        prefix = len(_common_prefix(value, code.lower()))
        score = (6 * code_sim + min(prefix / max(len(value), 1), 1.0)) / 7
        reason = f"code similarity {code_sim:.2f}" + (f", shares the prefix {code[:prefix]}" if prefix else "")
        scored.append(Fix(code, round(score, 4), reason, label))
    scored.sort(key=lambda f: (-f.score, f.target))
    return scored[:top]


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]
