"""What a person should do about a failed record: concrete, actionable text from the error kind, code and message.

The engine calls ``suggest_fix(record)`` when it marks a record failed and stores the answer in
``suggested_fix``. Rules are data (pattern -> advice), most specific first; a message naming several problems
(AX lists every infolog line) gets one line of advice per problem. It never raises: a failure to suggest must not
stop a run from recording the failure itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from integrations.core.errors import AUTH, CONFIGURATION, DUPLICATE, INTEGRITY, TRANSIENT

log = logging.getLogger("ledgerbridge.sync.suggestions")

REPLAY_CURRENT = "then replay the record with the current mapping"
REPLAY = "then replay the record"
MAX_LINES = 5


@dataclass(frozen=True)
class Context:
    kind: str
    code: str
    message: str
    system: str  # "Dynamics AX", "Kashflow", "Sage 100", "Mapping", "Ledgerbridge" or ""
    source_name: str
    target_name: str
    entity: str
    unreadable: bool

    source_system_label: str = ""
    target_system_label: str = ""
    gl_accounts: tuple[tuple[str, str], ...] = ()  # (source code, target account) of the mapping that ran

    def mapped_to(self, account: str) -> list[str]:
        return sorted(source for source, target in self.gl_accounts if target == account)

    def connection_for(self, system: str = "") -> str:
        """The name of the connection a system's message is about ("" when unknown)."""
        system = system or self.system
        if system and system == self.source_system_label:
            return self.source_name
        if system and system == self.target_system_label:
            return self.target_name
        return self.target_name if system in ("", "Mapping", "Ledgerbridge") else ""


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    advise: Callable[[re.Match[str], Context], str]
    systems: tuple[str, ...] = ()  # only for messages from these systems (empty: any)


def _rx(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE)


# -- specific message patterns, most specific first. Each match adds one line of advice. -----------------------

_AX_MENU_ACCOUNTS = "General ledger > Common > Main accounts"
_AX_MENU_DIMENSIONS = "General ledger > Setup > Financial dimensions > Financial dimensions"
_AX_MENU_CUSTOMERS = "Accounts receivable > Common > Customers > All customers"

def _ax_main_account(value: str, c: Context) -> str:
    sources = c.mapped_to(value)
    if sources:
        codes = ", ".join(sources)
        system = f"{c.source_system_label} " if c.source_system_label else ""
        what = f"{system}nominal code{'s' if len(sources) > 1 else ''}"
        return (f"AX has no main account {value}, and the flow's GL account mapping sends {what} {codes} to it. "
                f"Correct that mapping row to an existing AX main account (or create {value} in AX: "
                f"{_AX_MENU_ACCOUNTS}), publish the mapping, {REPLAY_CURRENT}.")
    return (f"AX has no main account {value}. Create it in AX ({_AX_MENU_ACCOUNTS}), or map the source GL code to an "
            f"existing main account in the flow's GL account mapping, {REPLAY_CURRENT}.")


_AX_RELATED_TABLE_ADVICE = {
    "main account": _ax_main_account,
    "customer account": lambda v, c: (f"Customer {v} does not exist in AX. Create it in AX ({_AX_MENU_CUSTOMERS}) or "
                                      f"sync customers first, or map the {c.source_name or 'source'} customer code to "
                                      f"an existing AX customer account (customer accounts mapping), "
                                      f"{REPLAY_CURRENT}."),
    "account": None,  # decided by the table name below
    "currency": lambda v, c: (f"Currency {v} is not set up in AX. Add it (General ledger > Setup > Currencies > "
                              f"Currencies) or correct the currency code on the source record, {REPLAY}."),
    "terms of payment": lambda v, c: (f"Terms of payment {v} do not exist in AX. Create them (Accounts receivable > "
                                      f"Setup > Payment > Terms of payment) or map the terms to an existing code, "
                                      f"{REPLAY_CURRENT}."),
    "name": lambda v, c: (f"Journal name {v} does not exist in AX. Create it (General ledger > Setup > Journals > "
                          f"Journal names) or choose an existing journal name in the flow's settings, {REPLAY}."),
}


def _ax_not_in_related_table(m: re.Match[str], c: Context) -> str:
    value, field, table = m.group("value"), m.group("field"), m.group("table")
    key = field.lower()
    if key == "account" and "customer" in table.lower():
        key = "customer account"
    if key == "account" and "main" in table.lower():
        key = "main account"
    advice = _AX_RELATED_TABLE_ADVICE.get(key)
    if advice is not None:
        return advice(value, c)
    return (f"AX has no '{table}' record '{value}' for the field '{field}'. Create it in AX, or correct the value "
            f"(on the source record or in the flow's mapping for '{field}'), {REPLAY_CURRENT}.")


def _ax_dimension_value(m: re.Match[str], c: Context) -> str:
    return (f"The financial dimension '{m.group('dimension')}' has no value '{m.group('value')}' in AX. Add the value "
            f"in AX ({_AX_MENU_DIMENSIONS}, Financial dimension values) or correct the dimension mapping of the flow, "
            f"{REPLAY_CURRENT}.")


def _ax_dimension_attribute(m: re.Match[str], c: Context) -> str:
    return (f"AX has no financial dimension '{m.group('dimension')}'. Remove it from the flow's dimension mapping or "
            f"create it in AX ({_AX_MENU_DIMENSIONS}), {REPLAY_CURRENT}.")


def _ax_unbalanced(m: re.Match[str], c: Context) -> str:
    return ("The journal does not balance: debits and credits differ. Check the amounts and VAT lines of the source "
            "record (rounding, a missing tax line, a line on a wrong sign); correct it in the source system or use "
            f"'Edit and retry' to fix the payload, {REPLAY}.")


def _ax_closed_period(m: re.Match[str], c: Context) -> str:
    return ("The posting date falls in an AX ledger period that is closed or on hold. Ask your accountant to open the "
            "period for the General ledger and Accounts receivable modules (General ledger > Setup > Fiscal calendars "
            "> Ledger calendar, period status 'Open'), or change the date on the source record if it is wrong, "
            f"{REPLAY}.")


def _ax_not_open_transaction(m: re.Match[str], c: Context) -> str:
    return (f"Invoice {m.group('invoice')} is not an open transaction of customer {m.group('customer')} in AX: it is "
            "already settled or belongs to another customer. Check the settlement in AX (Accounts receivable > "
            "Customers > Transactions); if the payment is already applied, ignore this record.")


def _ax_unknown_company(m: re.Match[str], c: Context) -> str:
    return (f"AX does not know the company (legal entity) set on the connection. Correct the company on the "
            f"connection page of '{c.target_name or 'the AX connection'}', test the connection, {REPLAY}.")


def _ax_field_missing(m: re.Match[str], c: Context) -> str:
    return (f"AX does not accept the field '{m.group('field')}' in '{m.group('source')}'. The mapping writes a field "
            f"this AX service does not have: remove it from the mapping, {REPLAY_CURRENT}.")


def _kf_party_missing(m: re.Match[str], c: Context) -> str:
    return (f"{m.group('party')} '{m.group('code')}' does not exist in Kashflow. Create the {m.group('party').lower()} "
            "in Kashflow (or sync parties first), or map the code to an existing one, "
            f"{REPLAY_CURRENT}.")


def _kf_nominal_missing(m: re.Match[str], c: Context) -> str:
    return (f"Kashflow has no nominal code {m.group('code')}. Add it in Kashflow (Settings > Chart of accounts) or map "
            f"the GL account to an existing Kashflow nominal code, {REPLAY_CURRENT}.")


def _kf_nominal_required(m: re.Match[str], c: Context) -> str:
    return ("Kashflow needs a nominal code on every line. Map the GL account of each line to a Kashflow nominal code "
            f"in the flow's mapping, {REPLAY_CURRENT}.")


def _kf_currency(m: re.Match[str], c: Context) -> str:
    return (f"Currency {m.group('code')} is not set up in the Kashflow account. Add it in Kashflow (Settings > "
            f"Currencies) or correct the currency on the source record, {REPLAY}.")


def _kf_number_exists(m: re.Match[str], c: Context) -> str:
    return (f"Kashflow already has {m.group('what').lower()} number {m.group('number')}. If it is this record (created "
            "earlier or by hand), ignore this one; otherwise renumber it in the source system, then replay.")


def _kf_not_valid_for(m: re.Match[str], c: Context) -> str:
    return (f"Kashflow does not accept '{m.group('value')}' for {m.group('field')}. Correct the value on the source "
            f"record or in the flow's value mapping, {REPLAY_CURRENT}.")


def _kf_amount(m: re.Match[str], c: Context) -> str:
    return ("Kashflow rejects zero or negative amounts here. Remove the empty line or turn it into a credit note on "
            f"the source record (or 'Edit and retry'), {REPLAY}.")


def _kf_overpaid(m: re.Match[str], c: Context) -> str:
    return ("The payments exceed the invoice total in Kashflow. Check for a payment entered twice or an invoice "
            "amount changed after payment; correct it in the source system, then replay.")


def _kf_required(m: re.Match[str], c: Context) -> str:
    return (f"Kashflow requires {m.group('field')}. Map a value for it in the flow's mapping (or fill it on the source "
            f"record), {REPLAY_CURRENT}.")


def _sage_required(m: re.Match[str], c: Context) -> str:
    return (f"Sage 100 requires {m.group('field')}. Map a value for it in the flow's mapping (or fill it on the source "
            f"record), {REPLAY_CURRENT}.")


def _sage_not_on_file(m: re.Match[str], c: Context) -> str:
    what = m.group("what").strip()
    return (f"{what} is not on file in Sage 100. Create it in Sage 100 (or sync it first), or map the code to one "
            f"that exists, {REPLAY_CURRENT}.")


_SYSTEM_WORD = re.compile(r"^(?:Kashflow|Sage 100|Dynamics AX|AX)\s+", re.IGNORECASE)


def _mapping_missing(m: re.Match[str], c: Context) -> str:
    target, source, value = m.group("target"), m.group("source").strip(), m.group("value")
    article = "an" if target[:1].lower() in "aeiou" else "a"
    what = _SYSTEM_WORD.sub("", source) or source
    return (f"{source} {value} has no {target} in the flow's mapping. Open the mapping, map {what} {value} to "
            f"{article} {target}, publish the new mapping version, {REPLAY_CURRENT} (the inbox's grouped view "
            "replays every record with this error at once).")


_RULES: tuple[Rule, ...] = (
    Rule(_rx(r"No (?P<target>.+?) is mapped for (?P<source>[^;()\n]+) (?P<value>[^\s;()]+?)\.?(?=$|[\s;()])"),
         _mapping_missing),
    # Dynamics AX infolog lines (integrations/dynamics_ax/aif_client.py _business_fault; the sandbox's texts)
    Rule(_rx(r"company '?[^']*'? does not exist"), _ax_unknown_company, ("Dynamics AX",)),
    Rule(_rx(r"The value '(?P<value>[^']*)' of the dimension '(?P<dimension>[^']*)' does not exist"),
         _ax_dimension_value),
    Rule(_rx(r"The dimension attribute '(?P<dimension>[^']*)' does not exist"), _ax_dimension_attribute),
    Rule(_rx(r"The value '(?P<value>[^']*)' in field '(?P<field>[^']*)' is not found in the relat(?:ing|ed) table "
             r"'(?P<table>[^']*)'"), _ax_not_in_related_table),
    Rule(_rx(r"Invoice (?P<invoice>\S+) is not an open transaction of customer (?P<customer>[^.;)\s]+)"),
         _ax_not_open_transaction),
    Rule(_rx(r"do(?:es)? not balance"), _ax_unbalanced),
    Rule(_rx(r"\bperiod\b.{0,60}?\b(?:closed|on hold|not open)\b|\b(?:closed|on hold)\b.{0,40}?\bperiod\b|"
             r"not in an? (?:open|valid) (?:ledger |fiscal )?period"), _ax_closed_period),
    Rule(_rx(r"Field '(?P<field>[^']*)' does not exist in data source '(?P<source>[^']*)'"), _ax_field_missing),
    # Kashflow validation texts (integrations/kashflow/client.py ERROR_TABLE: "Kashflow rejected the request: ...")
    Rule(_rx(r"(?P<party>Customer|Supplier) with code '(?P<code>[^']*)' does not exist"), _kf_party_missing),
    Rule(_rx(r"Nominal code (?P<code>\d+) not found"), _kf_nominal_missing),
    Rule(_rx(r"NominalCode is required"), _kf_nominal_required),
    Rule(_rx(r"Currency (?P<code>[A-Z]{3}) is not set up for this account"), _kf_currency),
    Rule(_rx(r"(?P<what>Invoice|Quote|Purchase|Credit note|Receipt|Bulk payment) number (?P<number>\S+) already "
             r"exists"), _kf_number_exists),
    Rule(_rx(r"The value '(?P<value>[^']*)' is not valid for (?P<field>[^.;)]+)"), _kf_not_valid_for, ("Kashflow",)),
    Rule(_rx(r"Amount must be greater than zero"), _kf_amount),
    Rule(_rx(r"Payments of [\d.]+ exceed the gross amount"), _kf_overpaid),
    Rule(_rx(r"\b(?P<field>(?!NominalCode\b)[A-Z]\w+) is required\b"), _kf_required, ("Kashflow",)),
    # Sage 100 business-object texts (agent results: "Sage 100 refused the record: <LastErrorMsg> (...)")
    Rule(_rx(r"\b(?P<field>[A-Z]\w+) is required\b"), _sage_required, ("Sage 100",)),
    Rule(_rx(r"(?:^|: )(?P<what>(?:The )?[A-Z][\w\- ]*? [\w\-]+) is not on file"), _sage_not_on_file, ("Sage 100",)),
)


# -- advice by code, then by kind, when no message pattern matched -------------------------------------------------

def _by_code(c: Context) -> str:
    code = c.code
    if code == "unreadable" or c.unreadable:
        return (f"Ledgerbridge could not read this {c.entity.replace('_', ' ') or 'record'} from "
                f"{c.source_name or 'the source system'}: the source data is incomplete or malformed (see the "
                "message). Correct it in the source system: the next run reads it again and posts it, which resolves "
                "this entry. Replaying it as it is would fail the same way.")
    if code == "invalid_payload":
        return ("The stored record is not a valid canonical record (a field is missing or has the wrong type). Fix "
                f"the named field with 'Edit and retry', or correct the record in {c.source_name or 'the source'} and "
                "let the next run read it again.")
    if code == "invalid_value":
        return ("The mapping produced a value the target cannot take (see the message: too long, unknown dimension). "
                f"Correct the mapping or the source value, {REPLAY_CURRENT}.")
    if code == "mapping_missing":
        return ("A source value has no target in the flow's mapping. Add it to the mapping, publish the new version, "
                f"{REPLAY_CURRENT}.")
    if code == "Unbalanced":
        return _ax_unbalanced(None, c)
    if code == "UnknownCompany":
        return _ax_unknown_company(None, c)
    if code == "UpdateConflict":
        return ("The record changed in AX while Ledgerbridge was updating it. Replay it: the replay reads the current "
                "version from AX first.")
    if code == "RecordExists":
        return ("AX already has a record with this key (created by hand or by an earlier import). If it is the same "
                "record, ignore this entry; if not, change the number on the source record and let the next run "
                "post it.")
    if code == "InvalidDocumentSchema":
        return ("AX rejected the document's structure: a mapped field is missing, too long or of the wrong type for "
                f"this AX service (see the message). Correct the mapping, {REPLAY_CURRENT}.")
    if code == "RequestFailed":
        return ("AX rejected the document without saying why. Ask the AX administrator to tick 'Include exceptions in "
                "fault' on the inbound port (System administration > Setup > Services and AIF > Inbound ports > "
                "Troubleshooting) and look in System administration > Periodic > Services and AIF > Exceptions; "
                f"fix what it says, {REPLAY}.")
    if code in {"accountlocked", "AccountLocked"}:
        return ("Kashflow has locked the API user after repeated failed logins. An administrator must unlock it in "
                f"Kashflow; then re-enter the password on {_page(c, 'Kashflow')}, test the connection, "
                f"{REPLAY}.")
    if code in {"passwordexpired", "PasswordExpired"}:
        return ("The Kashflow password has expired. Set a new one in Kashflow, enter it on "
                f"{_page(c, 'Kashflow')}, test the connection, {REPLAY}.")
    if code == "key_reused":
        return ("Sage 100's agent has already applied a different write under this record's idempotency key. Check in "
                "Sage 100 which document holds it; if this record is already there, ignore this entry, otherwise "
                "contact support with the record id.")
    if code == "unknown_outcome":
        return ("Sage 100 did not confirm whether an earlier attempt created this record. Look for it in Sage 100: if "
                "it is there, ignore this entry; if it is not, replay it.")
    if code in {"NotFound", "not_found", "404"}:
        return _by_kind("not_found", c)
    return ""


def _page(c: Context, system: str = "") -> str:
    conn = c.connection_for(system)
    return f"the connection page of '{conn}'" if conn else "its connection page"


def _by_kind(kind: str, c: Context) -> str:
    conn = c.connection_for()
    if kind == AUTH:
        page = _page(c)
        secrets = "user name, password and memorable word" if c.system == "Kashflow" else "user name and password"
        return (f"{c.system or 'The system'} refused the credentials. Re-enter the {secrets} on {page} "
                f"(Connections > Edit), use 'Test connection', {REPLAY}.")
    if kind == CONFIGURATION:
        return (f"The connection{f' {conn!r}' if conn else ''} is misconfigured (address, company or service "
                "settings; see the message). Correct it on its connection page, use 'Test connection', "
                f"{REPLAY}.")
    if kind == "not_found":
        return (f"A record this one refers to no longer exists in {c.system or 'the other system'} (deleted or never "
                "synced). Re-create or re-sync it, or correct the reference on the source record, then replay; if the "
                "record should not be synced any more, ignore it.")
    if kind == INTEGRITY:
        return (f"A record this one depends on is missing in {c.target_name or 'the target'} (a customer, account or "
                f"code it refers to). Create or sync that record first, or map the reference to one that exists, "
                f"{REPLAY_CURRENT}.")
    if kind == DUPLICATE:
        return (f"{c.target_name or 'The target'} says it already has this record. Check it there: if it is the same "
                "record, ignore this entry (the next run links it); otherwise change the number on the source record.")
    if kind == TRANSIENT:
        return ("A temporary failure (timeout, busy system or network). Replay the record; if it keeps failing, check "
                f"that {conn or 'the system'} is reachable and the connection's rate limits.")
    if kind in {"validation", "target_validation"}:
        return (f"{c.target_name or 'The target'} rejected the record's data (see the message). Correct the value in "
                "the source system or in the flow's mapping and replay, or use 'Edit and retry' for a one-off fix.")
    return ("Read the message above, correct the data in the source system or the flow's mapping, then replay the "
            "record (or use 'Edit and retry' for a one-off fix).")


_SYSTEM_PREFIX = re.compile(r"^(?P<system>Dynamics AX|Kashflow|Sage 100|Mapping|Ledgerbridge): ")
_SYSTEM_LABELS = {"kashflow": "Kashflow", "dynamics_ax": "Dynamics AX", "sage100": "Sage 100"}


def _context(record) -> Context:
    message = record.last_error or ""
    match = _SYSTEM_PREFIX.match(message)
    source_name = target_name = source_label = target_label = ""
    try:
        flow = record.flow
        source_name, target_name = flow.source.name, flow.target.name
        source_label = _SYSTEM_LABELS.get(flow.source.system, "")
        target_label = _SYSTEM_LABELS.get(flow.target.system, "")
    except Exception:  # a record without a flow in memory (tests, a deleted connection): advise without names
        log.debug("no flow for suggestion on record %s", getattr(record, "pk", None))
    payload = record.payload if isinstance(record.payload, dict) else {}
    gl_accounts: tuple[tuple[str, str], ...] = ()
    try:
        version = record.mapping_version if record.mapping_version_id else None
        rules = version.rules if version is not None and isinstance(version.rules, dict) else {}
        mapping = rules.get("gl_accounts") or {}
        if isinstance(mapping, dict):
            gl_accounts = tuple((str(k), str(v)) for k, v in mapping.items())
    except Exception:  # advice without the mapping is still advice
        log.debug("no mapping for suggestion on record %s", getattr(record, "pk", None))
    return Context(kind=record.error_kind or "", code=record.error_code or "", message=message,
                   system=match.group("system") if match else "", source_name=source_name, target_name=target_name,
                   entity=record.entity or "", unreadable=bool(payload.get("unreadable")),
                   source_system_label=source_label, target_system_label=target_label, gl_accounts=gl_accounts)


def suggest_fix(record) -> str:
    """Concrete advice for a failed record ("" never: a generic line at worst)."""
    try:
        return _suggest(_context(record))
    except Exception:  # advice is best effort; recording the failure matters more
        log.exception("could not suggest a fix for record %s", getattr(record, "pk", None))
        return _by_kind("", Context("", "", "", "", "", "", "", False))


def suggest_for(*, kind: str = "", code: str = "", message: str = "", entity: str = "", source_name: str = "",
                target_name: str = "", source_system: str = "", target_system: str = "",
                unreadable: bool = False) -> str:
    """The same advice without a record (previews, tests); systems are keys such as "kashflow"."""
    match = _SYSTEM_PREFIX.match(message)
    return _suggest(Context(kind, code, message, match.group("system") if match else "", source_name, target_name,
                            entity, unreadable, _SYSTEM_LABELS.get(source_system, ""),
                            _SYSTEM_LABELS.get(target_system, "")))


def _suggest(c: Context) -> str:
    if c.unreadable or c.code == "unreadable":
        return _by_code(c)
    lines: list[str] = []
    for rule in _RULES:
        if rule.systems and c.system not in rule.systems:
            continue
        for match in rule.pattern.finditer(c.message):
            advice = rule.advise(match, c)
            if advice and advice not in lines:
                lines.append(advice)
    if not lines:
        advice = _by_code(c) or _by_kind(c.kind, c)
        lines.append(advice)
    return "\n".join(lines[:MAX_LINES])
