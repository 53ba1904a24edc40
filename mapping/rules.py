"""The rule kinds of a mapping set: their schema, their validation, and applying them to canonical records.

A flow's rules dict (``MappingVersion.rules``) is a set of *sections*, one per rule kind. The oldest sections
(flat ``gl_accounts``, ``dimensions``, ``customer_accounts``, ``routing`` with ``total_above``, ``tax_groups``,
``payment_methods``, ``bank_accounts``, and the flows' scalar options) keep their meaning; the generic kinds added
with the mapping layer extend them:

* ``gl_rules`` — multi-level GL mapping: ``{"nominal", "department"?, "customer_group"?, "account"}``; the most
  specific matching rule wins, the flat ``gl_accounts`` is the first level (nominal only);
* ``dimension_rules`` — ``{"when": <expression>, "set": {dimension: value}}``, per line, first match per dimension
  wins, over the ``dimensions`` defaults;
* ``custom_fields`` — a custom value (``custom.<name>`` or an enrichment value) to a dimension or a target field,
  optionally through a value table;
* ``lookups`` — named tables ``{"values", "default", "fail_if_missing"}`` (``currency`` is applied to the invoice
  currency; flows read others with :func:`lookup`);
* ``field_mappings`` — target field <- source field / constant / expression, with required checks;
* ``line_handling`` — ``{"aggregate": bool, "splits": [{"nominal", "parts": [{"percent", "dimensions"}]}]}``;
* ``routing`` — ``{"when": <expression>, "action": "hold"|"skip", "reason"}`` (the old ``total_above`` form too);
* ``enrichment`` — values from data already synced (:mod:`mapping.enrichment`), as expression variables;
* ``address``, ``normalise``, ``currency``, ``status`` — configuration of engineer B's functions
  (:mod:`mapping.addresses`, ``normalise``, ``currency``, ``status``); validated here, applied by those modules.

Expressions are :mod:`mapping.expressions` (sandboxed, Decimal numbers, dotted variables through dicts). The
variables a rule sees are documented in docs/mapping.md ("Rule kinds"): ``invoice.*``, ``line.*``,
``customer.*`` (enrichment), ``custom.*``, ``transaction_type``.

Rules are compiled once per rules dict (expressions parsed, tables normalised) and cached, so applying a mapping
to a record does no parsing: the transform stays far below the cost of the I/O around it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from integrations.core.canonical import InvoiceLine, SalesInvoice
from integrations.core.errors import TargetValidationError
from mapping.expressions import ExpressionError

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


# ---------------------------------------------------------------------------------------------------------------
# Errors and the rule kinds the editor shows
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleError:
    """One problem of a rules dict: where (``gl_rules[3].account``), what, and for expressions the 0-based
    character offset in the expression text."""

    path: str
    message: str
    position: int | None = None

    def __str__(self) -> str:
        where = f" at column {self.position + 1}" if self.position is not None else ""
        return f"{self.path}: {self.message}{where}"


@dataclass(frozen=True)
class RuleKind:
    key: str
    label: str
    kind: str  # "table" | "list" | "object" | "scalar"
    description: str
    required_first: bool = False  # the editor lists it first (unmapped values live here)


RULE_KINDS: tuple[RuleKind, ...] = (
    RuleKind("gl_accounts", "GL accounts", "table",
             "Kashflow nominal code -> target GL account (the first level of GL mapping).", True),
    RuleKind("gl_rules", "GL accounts by department / customer group", "list",
             "Nominal + department and/or customer group -> account; the most specific matching rule wins.", True),
    RuleKind("tax_groups", "VAT rates", "table", "Kashflow VAT rate (or 'exempt') -> target tax group / code.", True),
    RuleKind("customer_accounts", "Customer accounts", "table", "Kashflow customer code -> target customer."),
    RuleKind("dimensions", "Default dimensions", "table", "Financial dimensions every line carries by default."),
    RuleKind("dimension_rules", "Dimension derivation", "list",
             "When <expression>, set dimensions on the line; first match per dimension wins."),
    RuleKind("custom_fields", "Custom fields", "list",
             "A Kashflow custom field (or enrichment value) -> a dimension or a target field."),
    RuleKind("lookups", "Lookup tables", "object",
             "Named value -> value tables with a default and 'fail if missing' (payment methods, currencies...)."),
    RuleKind("payment_methods", "Payment methods", "table", "Kashflow payment method -> target method."),
    RuleKind("bank_accounts", "Bank accounts", "table", "Kashflow bank account -> target bank account."),
    RuleKind("field_mappings", "Field mapping", "list",
             "Target field <- source field, constant or expression; optionally required."),
    RuleKind("line_handling", "Line handling", "object",
             "Aggregate lines by account + dimensions + tax, or split a nominal's lines across dimensions."),
    RuleKind("routing", "Routing", "list",
             "When <expression> (or total above an amount): hold or skip, with a reason."),
    RuleKind("enrichment", "Enrichment", "list", "Values from data already synced (e.g. the AX customer group)."),
    RuleKind("address", "Addresses", "object", "Address harmonisation (shape: 'uk' / 'us')."),
    RuleKind("normalise", "Normalisation", "object", "Dates, phones, names, case, trimming to field lengths."),
    RuleKind("currency", "Currency", "object", "Exchange rate source and rounding."),
    RuleKind("status", "Status translation", "object", "Kashflow status <-> target settlement state."),
)
_KIND_BY_KEY = {kind.key: kind for kind in RULE_KINDS}

# Scalar options flows keep in their rules (kept valid; documented with each flow).
SCALAR_SECTIONS = {"default_division", "line_item", "invoice_prefix", "journal_name", "default_payment_type",
                   "default_bank_code", "bank_account", "tax_account", "purchase_tax_account"}
KNOWN_SECTIONS = set(_KIND_BY_KEY) | SCALAR_SECTIONS

ROUTING_ACTIONS = ("hold", "skip")
GL_QUALIFIERS = ("department", "customer_group")
INVOICE_SOURCE_FIELDS = ("number", "customer_code", "customer_name", "issue_date", "due_date", "currency",
                         "exchange_rate", "net_amount", "tax_amount", "gross_amount", "paid_amount", "status",
                         "customer_reference")


# ---------------------------------------------------------------------------------------------------------------
# Expressions (engineer A's mapping.expressions)
# ---------------------------------------------------------------------------------------------------------------


def _compile(text: Any, path: str, errors: list[RuleError]):
    if not isinstance(text, str) or not text.strip():
        errors.append(RuleError(path, "an expression is required"))
        return None
    from mapping.expressions import compile_expression

    try:
        return compile_expression(text)
    except ExpressionError as error:
        errors.append(RuleError(path, error.message, error.position))
        return None


# ---------------------------------------------------------------------------------------------------------------
# Compiled rules
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _GlRule:
    nominal: str
    qualifiers: dict[str, str]
    account: str


@dataclass
class _Conditional:
    path: str
    expression: Any
    values: dict[str, str] = field(default_factory=dict)
    action: str = ""
    reason: str = ""
    amount: Decimal | None = None  # the old ``total_above`` form
    text: str = ""  # the expression as written (routing reasons quote it)
    per_line: bool = False  # reads ``line.*``: evaluated for each line, else once per invoice


@dataclass
class _Lookup:
    values: dict[str, str]
    default: str | None
    fail_if_missing: bool


@dataclass
class _FieldMapping:
    path: str
    target: str
    source: str | None = None
    constant: Any = None
    expression: Any = None
    required: bool = False
    max_length: int | None = None


@dataclass
class _CustomField:
    path: str
    source: str
    target: str
    kind: str  # "dimension" | "field"
    values: dict[str, str] | None


@dataclass
class _Split:
    nominal: str
    parts: list[tuple[Decimal, dict[str, str]]]


@dataclass
class _Enrichment:
    name: str
    entity: str
    key: str
    field: str
    default: Any


@dataclass
class CompiledRules:
    gl_accounts: dict[str, str]
    gl_rules: dict[str, list[_GlRule]]
    dimensions: dict[str, str]
    dimension_rules: list[_Conditional]
    custom_fields: list[_CustomField]
    lookups: dict[str, _Lookup]
    field_mappings: list[_FieldMapping]
    aggregate: bool
    splits: dict[str, _Split]
    routing: list[_Conditional]
    enrichment: list[_Enrichment]
    customer_accounts: dict[str, str]
    needs_line_variables: bool


def compile_rules(rules: Mapping[str, Any]) -> CompiledRules:
    """The rules dict compiled for applying; TargetValidationError (``invalid_value``) naming the first problem
    when the set is invalid (a published set was validated on save; this guards sets written around it)."""
    errors: list[RuleError] = []
    compiled = _compile_rules(rules, errors)
    if errors:
        first = errors[0]
        raise TargetValidationError(f"The mapping is invalid: {first}", system="Mapping", code="invalid_value",
                                    payload={"rule": first.path})
    return compiled


_CACHE: dict[int, tuple[Mapping[str, Any], tuple, CompiledRules]] = {}
_CACHE_LOCK = threading.Lock()


def compiled_for(rules: Mapping[str, Any]) -> CompiledRules:
    """:func:`compile_rules`, cached on the rules object (the pipeline hands a run's records one dict per mapping
    version, frozen once published). The cache holds the dict itself, so an id is never reused while its entry
    lives, and notices a section added, removed or replaced; a dict changed *inside* a section after use is not
    noticed — pass a new dict (editors work on copies)."""
    shape = tuple(map(id, rules.values())) if isinstance(rules, Mapping) else ()
    entry = _CACHE.get(id(rules))
    if entry is not None and entry[0] is rules and entry[1] == shape:
        return entry[2]
    compiled = compile_rules(rules)
    with _CACHE_LOCK:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[id(rules)] = (rules, shape, compiled)
    return compiled


def _compile_rules(rules: Mapping[str, Any], errors: list[RuleError]) -> CompiledRules:
    if not isinstance(rules, Mapping):
        errors.append(RuleError("", "the mapping must be a JSON object"))
        rules = {}
    needs_line = False

    gl_accounts = _table(rules.get("gl_accounts"), "gl_accounts", errors)

    gl_rules: dict[str, list[_GlRule]] = {}
    for i, rule in enumerate(_list(rules.get("gl_rules"), "gl_rules", errors)):
        path = f"gl_rules[{i}]"
        if not _object(rule, path, errors):
            continue
        nominal, account = _text(rule.get("nominal")), _text(rule.get("account"))
        if not nominal:
            errors.append(RuleError(f"{path}.nominal", "a Kashflow nominal code is required"))
        if not account:
            errors.append(RuleError(f"{path}.account", "a target account is required"))
        extra = set(rule) - {"nominal", "account", *GL_QUALIFIERS}
        if extra:
            errors.append(RuleError(path, f"unknown key(s) {', '.join(sorted(extra))}; a GL rule matches on "
                                          f"nominal, {', '.join(GL_QUALIFIERS)}"))
        qualifiers = {q: _text(rule[q]) for q in GL_QUALIFIERS if _text(rule.get(q))}
        if nominal and account:
            gl_rules.setdefault(nominal, []).append(_GlRule(nominal, qualifiers, account))
    for candidates in gl_rules.values():  # most specific first; stable, so the earlier of equals wins
        candidates.sort(key=lambda r: -len(r.qualifiers))

    dimensions = _table(rules.get("dimensions"), "dimensions", errors)

    dimension_rules = []
    for i, rule in enumerate(_list(rules.get("dimension_rules"), "dimension_rules", errors)):
        path = f"dimension_rules[{i}]"
        if not _object(rule, path, errors):
            continue
        expression = _compile(rule.get("when"), f"{path}.when", errors)
        values = _table(rule.get("set"), f"{path}.set", errors)
        if not values:
            errors.append(RuleError(f"{path}.set", "set at least one dimension"))
        if expression is not None:
            per_line = any(n.split(".")[0] == "line" for n in expression.names)
            needs_line = needs_line or per_line
            dimension_rules.append(_Conditional(path, expression, values, per_line=per_line))

    custom_fields = []
    for i, rule in enumerate(_list(rules.get("custom_fields"), "custom_fields", errors)):
        path = f"custom_fields[{i}]"
        if not _object(rule, path, errors):
            continue
        source, target, kind = _text(rule.get("source")), _text(rule.get("target")), rule.get("kind", "dimension")
        if not source:
            errors.append(RuleError(f"{path}.source", "the custom field (custom.<name>) or variable is required"))
        if not target:
            errors.append(RuleError(f"{path}.target", "the target dimension or field is required"))
        if kind not in ("dimension", "field"):
            errors.append(RuleError(f"{path}.kind", f"{kind!r} is not 'dimension' or 'field'"))
        values = _table(rule["values"], f"{path}.values", errors) if "values" in rule else None
        if source and target:
            custom_fields.append(_CustomField(path, source, target, kind, values))

    lookups = {}
    raw_lookups = rules.get("lookups") or {}
    if not isinstance(raw_lookups, Mapping):
        errors.append(RuleError("lookups", "must be an object of named tables"))
        raw_lookups = {}
    for name, table in raw_lookups.items():
        path = f"lookups.{name}"
        if not _object(table, path, errors):
            continue
        values = _table(table.get("values"), f"{path}.values", errors)
        default = table.get("default")
        fail = table.get("fail_if_missing", False)
        if not isinstance(fail, bool):
            errors.append(RuleError(f"{path}.fail_if_missing", "must be true or false"))
        if fail and default not in (None, ""):
            errors.append(RuleError(path, "a table that fails if missing has no default"))
        lookups[str(name)] = _Lookup(values, None if default in (None, "") else str(default), bool(fail))

    field_mappings = []
    for i, rule in enumerate(_list(rules.get("field_mappings"), "field_mappings", errors)):
        path = f"field_mappings[{i}]"
        if not _object(rule, path, errors):
            continue
        target = _text(rule.get("target"))
        if not target:
            errors.append(RuleError(f"{path}.target", "the target field is required"))
        given = [k for k in ("source", "constant", "expression") if k in rule]
        if len(given) != 1:
            errors.append(RuleError(path, "give exactly one of source, constant, expression"))
            continue
        mapping = _FieldMapping(path, target, required=bool(rule.get("required", False)))
        if "max_length" in rule:
            if not isinstance(rule["max_length"], int) or rule["max_length"] < 1:
                errors.append(RuleError(f"{path}.max_length", "must be a positive whole number"))
            else:
                mapping.max_length = rule["max_length"]
        if given[0] == "source":
            source = _text(rule["source"])
            if source.split(".")[0] not in ("invoice", "customer", "custom") and source not in INVOICE_SOURCE_FIELDS:
                errors.append(RuleError(f"{path}.source", f"{source!r} is not a source field; use one of "
                                                          f"{', '.join(INVOICE_SOURCE_FIELDS)} or a variable"))
            mapping.source = source if "." in source else f"invoice.{source}"
        elif given[0] == "constant":
            mapping.constant = rule["constant"]
        else:
            mapping.expression = _compile(rule["expression"], f"{path}.expression", errors)
        if target:
            field_mappings.append(mapping)

    aggregate, splits = False, {}
    handling = rules.get("line_handling") or {}
    if not isinstance(handling, Mapping):
        errors.append(RuleError("line_handling", "must be an object"))
        handling = {}
    if not isinstance(handling.get("aggregate", False), bool):
        errors.append(RuleError("line_handling.aggregate", "must be true or false"))
    aggregate = handling.get("aggregate") is True
    for i, split in enumerate(_list(handling.get("splits"), "line_handling.splits", errors)):
        path = f"line_handling.splits[{i}]"
        if not _object(split, path, errors):
            continue
        nominal = _text(split.get("nominal"))
        if not nominal:
            errors.append(RuleError(f"{path}.nominal", "the nominal code whose lines are split is required"))
        parts, total = [], Decimal(0)
        for j, part in enumerate(_list(split.get("parts"), f"{path}.parts", errors)):
            ppath = f"{path}.parts[{j}]"
            if not _object(part, ppath, errors):
                continue
            percent = _decimal(part.get("percent"))
            if percent is None or percent <= 0:
                errors.append(RuleError(f"{ppath}.percent", f"{part.get('percent')!r} is not a positive percentage"))
                continue
            total += percent
            parts.append((percent, _table(part.get("dimensions"), f"{ppath}.dimensions", errors)))
        if len(parts) < 2:
            errors.append(RuleError(f"{path}.parts", "a split needs at least two parts"))
        elif total != HUNDRED:
            errors.append(RuleError(f"{path}.parts", f"the percentages add up to {total}, not 100"))
        elif nominal:
            if nominal in splits:
                errors.append(RuleError(f"{path}.nominal", f"nominal {nominal} is already split"))
            splits[nominal] = _Split(nominal, parts)

    routing = []
    for i, rule in enumerate(_list(rules.get("routing"), "routing", errors)):
        path = f"routing[{i}]"
        if not _object(rule, path, errors):
            continue
        action = rule.get("action", "hold")
        if action not in ROUTING_ACTIONS:
            errors.append(RuleError(f"{path}.action", f"{action!r} is not one of {', '.join(ROUTING_ACTIONS)}"))
            continue
        if rule.get("when") == "total_above" and "amount" in rule:  # the original form
            amount = _decimal(rule.get("amount"))
            if amount is None:
                errors.append(RuleError(f"{path}.amount", f"{rule.get('amount')!r} is not an amount"))
                continue
            routing.append(_Conditional(path, None, action=action, reason=_text(rule.get("reason")), amount=amount))
            continue
        expression = _compile(rule.get("when"), f"{path}.when", errors)
        if expression is not None:
            routing.append(_Conditional(path, expression, action=action, reason=_text(rule.get("reason")),
                                        text=str(rule.get("when"))))

    enrichment = []
    for i, rule in enumerate(_list(rules.get("enrichment"), "enrichment", errors)):
        path = f"enrichment[{i}]"
        if not _object(rule, path, errors):
            continue
        name, entity, key, fld = (_text(rule.get(k)) for k in ("name", "entity", "key", "field"))
        for label, value in (("name", name), ("entity", entity), ("key", key), ("field", fld)):
            if not value:
                errors.append(RuleError(f"{path}.{label}", f"{label} is required"))
        if name and "." in name:
            errors.append(RuleError(f"{path}.name", "a name is one word (it becomes customer.<name>)"))
        if name and entity and key and fld:
            enrichment.append(_Enrichment(name, entity, key if "." in key else f"invoice.{key}", fld,
                                          rule.get("default")))

    for section in ("address", "normalise", "currency", "status"):
        if section in rules:
            if section == "currency" and isinstance(rules[section], str):
                continue  # flows that take a plain currency code (kashflow_summary_to_sage: "USD"; "" = default)
            errors.extend(_validate_delegated(section, rules[section]))

    for section in ("customer_accounts", "payment_methods", "bank_accounts"):
        if section in rules:  # the older tables: "" means "the flow's default"
            _table(rules[section], section, errors, allow_empty=True)
    if "tax_groups" in rules:
        tax_groups = rules["tax_groups"]
        if not isinstance(tax_groups, Mapping):
            errors.append(RuleError("tax_groups", "must be an object of VAT rate -> tax group"))
    customer_accounts = _table(rules.get("customer_accounts"), "customer_accounts", [], allow_empty=True)

    return CompiledRules(
        gl_accounts=gl_accounts, gl_rules=gl_rules, dimensions=dimensions, dimension_rules=dimension_rules,
        custom_fields=custom_fields, lookups=lookups, field_mappings=field_mappings, aggregate=aggregate,
        splits=splits, routing=routing, enrichment=enrichment, customer_accounts=customer_accounts,
        needs_line_variables=needs_line)


def _validate_delegated(section: str, config: Any) -> list[RuleError]:
    """Configuration of engineer B's modules, checked by those modules themselves (their TargetValidationError
    becomes a RuleError on the section), so the rule kind and its function never disagree."""
    if not isinstance(config, Mapping):
        return [RuleError(section, "must be an object")]
    try:
        if section == "address":
            from mapping.addresses import SHAPES

            shape = config.get("shape")
            if shape is not None and shape not in SHAPES:
                return [RuleError("address.shape", f"{shape!r} is not an address shape ({', '.join(SHAPES)})")]
        elif section == "currency":
            from mapping.currency import CurrencyRules

            CurrencyRules.from_rules(config)
        elif section == "status":
            from mapping.status import status_tables

            status_tables(config)
        elif section == "normalise":
            limits = config.get("max_lengths") or {}
            if not isinstance(limits, Mapping) or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in limits.values()):
                return [RuleError("normalise.max_lengths", "must map field names to positive whole numbers")]
    except TargetValidationError as error:
        payload = error.payload if isinstance(getattr(error, "payload", None), Mapping) else {}
        detail = next(iter(payload), "")
        return [RuleError(f"{section}.{detail}" if detail else section, str(error))]
    return []


# ---------------------------------------------------------------------------------------------------------------
# Validation (the editor, the API, import)
# ---------------------------------------------------------------------------------------------------------------


def validate_rules(flow_key: str, rules: dict[str, Any], *,
                   chart: Callable[[], Mapping[str, str] | None] | None = None) -> list[RuleError]:
    """Every problem of ``rules`` for ``flow_key``, with paths (and expression positions); [] when valid.

    ``chart`` (see :func:`live_chart`) returns the target's chart of accounts ``{account: name}``; when given and
    it answers, every GL account the rules name must be in it.
    """
    errors: list[RuleError] = []
    if isinstance(rules, Mapping):
        known = KNOWN_SECTIONS | set(_flow_defaults(flow_key))
        for key in rules:
            if key not in known:
                errors.append(RuleError(str(key), f"unknown section {key!r}; known sections: "
                                                  f"{', '.join(sorted(known))}"))
    compiled = _compile_rules(rules, errors)
    if chart is not None:
        accounts = chart()
        if accounts is not None:
            for nominal, account in compiled.gl_accounts.items():
                if account not in accounts:
                    errors.append(RuleError(f"gl_accounts.{nominal}", f"account {account} is not in the target's "
                                                                       "chart of accounts"))
            for i, rule in enumerate((rules or {}).get("gl_rules") or []):
                account = _text(rule.get("account")) if isinstance(rule, Mapping) else ""
                if account and account not in accounts:
                    errors.append(RuleError(f"gl_rules[{i}].account", f"account {account} is not in the target's "
                                                                      "chart of accounts"))
    return errors


def _flow_defaults(flow_key: str) -> dict[str, Any]:
    """The flow's code defaults (their sections are the flow's own, always valid)."""
    from integrations.sync.flows import FLOWS

    definition = FLOWS.get(flow_key)
    return dict(definition.default_rules()) if definition is not None else {}


def live_chart(flow) -> dict[str, str] | None:
    """The target's chart of accounts ``{account: name}`` for the editor (AX MAINACCOUNT over ODBC, Sage
    GL_Account), or None when the flow's target has no ODBC settings or is neither system."""
    target = getattr(flow, "target", None)
    settings = getattr(target, "settings", None) or {}
    system = str(getattr(target, "system", "") or "")
    if not (settings.get("odbc") or settings.get("dsn")):
        return None
    if system == "sage100":
        from integrations.sage100.odbc import SageOdbcReader

        with SageOdbcReader.from_settings(settings) as reader:
            rows = reader.read("GL_Account", ["Account", "AccountDesc", "Status"])
        return {str(r["Account"]): str(r.get("AccountDesc") or "") for r in rows if str(r.get("Status") or "A") == "A"}
    if system == "dynamics_ax":
        from integrations.dynamics_ax.sql import AxSqlReader

        with AxSqlReader.from_settings(settings) as reader:
            return {str(r["MAINACCOUNTID"]): str(r.get("NAME") or "") for r in reader.main_accounts()}
    return None


# ---------------------------------------------------------------------------------------------------------------
# Applying
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class MappedLine:
    """A target line: the (possibly aggregated or split) canonical line, its target account and dimensions."""

    line: InvoiceLine
    account: str
    dimensions: dict[str, str]


@dataclass
class MappedInvoice:
    invoice: SalesInvoice
    lines: list[MappedLine]
    dimensions: dict[str, str]  # the header's (defaults + invoice-level rules)
    fields: dict[str, Any]  # field mappings and custom fields of kind "field"
    hold: str = ""
    skip: str = ""
    warnings: list[str] = field(default_factory=list)
    currency: str = ""


def invoice_variables(invoice: SalesInvoice, *, custom: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The expression variables of an invoice (``line`` is added per line)."""
    return {
        "transaction_type": invoice.entity,
        "invoice": {
            "number": invoice.number, "customer_code": invoice.customer_code, "customer_name": invoice.customer_name,
            "issue_date": invoice.issue_date, "due_date": invoice.due_date,
            "currency": invoice.currency, "exchange_rate": invoice.exchange_rate, "net_amount": invoice.net_amount,
            "tax_amount": invoice.tax_amount, "gross_amount": invoice.gross_amount, "total": invoice.gross_amount,
            "paid_amount": invoice.paid_amount, "status": invoice.status,
            "customer_reference": invoice.customer_reference, "line_count": Decimal(len(invoice.lines)),
        },
        "customer": {"code": invoice.customer_code, "name": invoice.customer_name},
        "custom": dict(custom or {}),
    }


def _line_variables(line: InvoiceLine) -> dict[str, Any]:
    return {"nominal": line.account_code, "description": line.description, "quantity": line.quantity,
            "unit_price": line.unit_price, "net_amount": line.net_amount, "tax_amount": line.tax_amount,
            "tax_rate": line.tax_rate if line.tax_rate is not None else "exempt", "product_code": line.product_code}


def apply_mapping(invoice: SalesInvoice, rules: Mapping[str, Any], *, account_label: str = "target account",
                  enrichment=None, custom: Mapping[str, Any] | None = None,
                  require_accounts: bool = True) -> MappedInvoice:
    """Apply the rules to a canonical sales invoice: enrichment, routing, dimensions, GL accounts, line handling,
    field mappings. Pure (the enrichment source is the only outside read, and is cached by its owner).

    An unmapped nominal code raises TargetValidationError ``mapping_missing`` with ``{"nominal_code": ...}``
    (the inbox groups on it), worded "No <account_label> is mapped for Kashflow nominal code <code>".
    """
    compiled = compiled_for(rules)
    variables = invoice_variables(invoice, custom=custom)
    warnings: list[str] = []

    for rule in compiled.enrichment:
        key = _resolve(variables, rule.key)
        value = enrichment.lookup(rule.entity, str(key), rule.field) if enrichment is not None and key else None
        variables["customer"][rule.name] = rule.default if value in (None, "") else value

    hold = skip = ""
    for rule in compiled.routing:
        matched = invoice.gross_amount > rule.amount if rule.amount is not None else _evaluate(rule, variables)
        if matched:
            reason = rule.reason or (
                f"Total {invoice.gross_amount} {invoice.currency} is above the approval limit of {rule.amount} "
                f"{invoice.currency}." if rule.amount is not None else f"Routing rule {rule.path} matched: {rule.text}")
            if rule.action == "skip":
                skip = reason
                break
            if not hold:
                hold = reason
    if skip:
        return MappedInvoice(invoice, [], {}, {}, hold="", skip=skip, warnings=warnings)

    header_dimensions = dict(compiled.dimensions)
    fields: dict[str, Any] = {}
    for rule in compiled.custom_fields:
        value = _resolve(variables, rule.source if "." in rule.source else f"custom.{rule.source}")
        if value in (None, ""):
            continue
        if isinstance(value, bool):
            value = "Yes" if value else "No"
        value = str(value)
        if rule.values is not None:
            if value not in rule.values:
                raise TargetValidationError(
                    f"No value is mapped for custom field {rule.source} value {value!r} ({rule.path})",
                    system="Mapping", code="mapping_missing", payload={"custom_field": rule.source, "value": value})
            value = rule.values[value]
        if rule.kind == "dimension":
            header_dimensions[rule.target] = value
        else:
            fields[rule.target] = value

    currency = invoice.currency
    if "currency" in compiled.lookups:
        currency = _lookup(compiled.lookups["currency"], "currency", invoice.currency, "currency code") or currency

    # Dimensions and accounts per source line, then splits and aggregation.
    customer_group = str(variables["customer"].get("customer_group") or variables["customer"].get("group") or "")
    mapped: list[MappedLine] = []
    # Rules that do not read the line are decided once per invoice; per line only the others are evaluated.
    invoice_level = {id(rule): _evaluate(rule, variables) for rule in compiled.dimension_rules if not rule.per_line}
    for line in invoice.lines:
        dims = header_dimensions
        if compiled.dimension_rules:
            if compiled.needs_line_variables:
                variables["line"] = _line_variables(line)
            dims = dict(header_dimensions)
            decided: set[str] = set()
            for rule in compiled.dimension_rules:
                if decided.issuperset(rule.values):  # every dimension it sets is decided: no need to ask
                    continue
                matched = _evaluate(rule, variables) if rule.per_line else invoice_level[id(rule)]
                if matched:
                    for name, value in rule.values.items():
                        if name not in decided:
                            dims[name] = value
                            decided.add(name)
        split = compiled.splits.get(line.account_code)
        if split is not None:
            for part_line, part_dims in _split_line(line, split, dims):
                account = _account(compiled, part_line.account_code, part_dims, customer_group, account_label,
                                    require_accounts)
                mapped.append(MappedLine(part_line, account, part_dims))
        else:
            account = _account(compiled, line.account_code, dims, customer_group, account_label, require_accounts)
            mapped.append(MappedLine(line, account, dims))
    variables.pop("line", None)
    if compiled.aggregate and len(mapped) > 1:
        mapped = _aggregate(mapped)
    if compiled.splits or compiled.aggregate:  # target line numbers stay unique after splitting / merging
        mapped = [item if item.line.number == number else
                  MappedLine(replace(item.line, number=number), item.account, item.dimensions)
                  for number, item in enumerate(mapped, start=1)]

    for rule in compiled.field_mappings:
        if rule.expression is not None:
            value = _evaluate_expression(rule.expression, variables, rule.path)
        elif rule.source is not None:
            value = _resolve(variables, rule.source)
        else:
            value = rule.constant
        if value in (None, ""):
            if rule.required:
                raise TargetValidationError(
                    f"Required field {rule.target} is empty ({rule.path}) on Kashflow invoice {invoice.number}",
                    system="Mapping", code="mapping_missing", payload={"field": rule.target})
            continue
        if isinstance(value, Decimal):
            value = format(value, "f")
        if rule.max_length is not None and isinstance(value, str) and len(value) > rule.max_length:
            warnings.append(f"{rule.target} cut to {rule.max_length} characters (was {value!r}).")
            value = value[:rule.max_length]
        fields[rule.target] = value

    return MappedInvoice(invoice, mapped, header_dimensions, fields, hold=hold, warnings=warnings, currency=currency)


def route_invoice(invoice: SalesInvoice, routing: list[dict[str, Any]], *, enrichment=None) -> tuple[str, str]:
    """(hold reason, skip reason) of the ``routing`` rules alone (flows that map nothing else through rules)."""
    result = apply_mapping(invoice, {"routing": routing}, enrichment=enrichment, require_accounts=False)
    return result.hold, result.skip


def lookup(rules: Mapping[str, Any], name: str, value: Any, *, what: str = "") -> str | None:
    """A value through the named lookup table: its mapping, else the default, else None — or
    TargetValidationError ``mapping_missing`` (payload ``{name: value}``) when the table fails if missing."""
    table = compiled_for(rules).lookups.get(name)
    return None if table is None else _lookup(table, name, value, what)


def _lookup(table: _Lookup, name: str, value: Any, what: str) -> str | None:
    key = str(value)
    if key in table.values:
        return table.values[key]
    if table.fail_if_missing:
        raise TargetValidationError(f"No {what or name} is mapped for {key!r} (lookup table {name})",
                                    system="Mapping", code="mapping_missing", payload={name: key})
    return table.default


def gl_account(rules: Mapping[str, Any], nominal: str, *, dimensions: Mapping[str, str] | None = None,
               customer_group: str = "", account_label: str = "target account") -> str:
    """The account of one nominal code (most specific ``gl_rules`` entry, else ``gl_accounts``)."""
    return _account(compiled_for(rules), str(nominal), dimensions or {}, customer_group, account_label, True)


def _account(compiled: CompiledRules, nominal: str, dims: Mapping[str, str], customer_group: str,
             account_label: str, required: bool) -> str:
    for rule in compiled.gl_rules.get(nominal, ()):
        department = rule.qualifiers.get("department")
        if department is not None and department != dims.get("Department", dims.get("department")):
            continue
        group = rule.qualifiers.get("customer_group")
        if group is not None and group != customer_group:
            continue
        return rule.account
    account = compiled.gl_accounts.get(nominal)
    if account is None:
        if not required:
            return ""
        raise TargetValidationError(f"No {account_label} is mapped for Kashflow nominal code {nominal}",
                                    system="Mapping", code="mapping_missing", payload={"nominal_code": nominal})
    return account


def _split_line(line: InvoiceLine, split: _Split, dims: Mapping[str, str]
                ) -> list[tuple[InvoiceLine, dict[str, str]]]:
    """One line as several, by percentage: each part's net and VAT rounded to the cent, the remainder on the
    last part, so the parts add up to the line exactly."""
    parts = []
    net_left, tax_left = line.net_amount, line.tax_amount
    for index, (percent, part_dims) in enumerate(split.parts):
        last = index == len(split.parts) - 1
        net = net_left if last else (line.net_amount * percent / HUNDRED).quantize(CENT, ROUND_HALF_UP)
        tax = tax_left if last else (line.tax_amount * percent / HUNDRED).quantize(CENT, ROUND_HALF_UP)
        net_left -= net
        tax_left -= tax
        parts.append((replace(line, quantity=Decimal(1), unit_price=net, net_amount=net, tax_amount=tax,
                              description=f"{line.description} ({percent.normalize():f}%)"),
                      {**dims, **part_dims}))
    return parts


def _aggregate(lines: list[MappedLine]) -> list[MappedLine]:
    """Lines with the same account, dimensions and VAT rate as one line (amounts summed exactly)."""
    groups: dict[tuple, list[MappedLine]] = {}
    for item in lines:
        key = (item.account, tuple(sorted(item.dimensions.items())), item.line.tax_rate)
        groups.setdefault(key, []).append(item)
    result = []
    for number, members in enumerate(groups.values(), start=1):
        if len(members) == 1:
            result.append(members[0])
            continue
        first = members[0].line
        net = sum((m.line.net_amount for m in members), Decimal(0))
        tax = sum((m.line.tax_amount for m in members), Decimal(0))
        line = replace(first, number=number, quantity=Decimal(1), unit_price=net, net_amount=net, tax_amount=tax,
                       description=f"{first.description} (+{len(members) - 1} more)", product_code="")
        result.append(MappedLine(line, members[0].account, members[0].dimensions))
    return result


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------


def _evaluate(rule: _Conditional, variables: Mapping[str, Any]) -> bool:
    """A condition's truth (any value: empty text, zero, None and false are false)."""
    try:
        return bool(rule.expression.evaluate(variables))
    except ExpressionError as error:
        raise TargetValidationError(f"Mapping rule {rule.path} failed: {error}", system="Mapping",
                                    code="invalid_value", payload={"rule": rule.path}) from None


def _evaluate_expression(expression, variables: Mapping[str, Any], path: str) -> Any:
    try:
        return expression.evaluate(variables)
    except ExpressionError as error:
        raise TargetValidationError(f"Mapping rule {path} failed: {error}", system="Mapping",
                                    code="invalid_value", payload={"rule": path}) from None


def _resolve(variables: Mapping[str, Any], dotted: str) -> Any:
    value: Any = variables
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _list(value: Any, path: str, errors: list[RuleError]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(RuleError(path, "must be a list"))
        return []
    return value


def _object(value: Any, path: str, errors: list[RuleError]) -> bool:
    if not isinstance(value, Mapping):
        errors.append(RuleError(path, "must be an object"))
        return False
    return True


def _table(value: Any, path: str, errors: list[RuleError], *, allow_empty: bool = False) -> dict[str, str]:
    """A value -> value table; keys and values as strings (JSON numbers accepted)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(RuleError(path, "must be an object of value -> value"))
        return {}
    table = {}
    for key, item in value.items():
        if item is None or isinstance(item, (list, dict)) or (str(item).strip() == "" and not allow_empty):
            errors.append(RuleError(f"{path}.{key}", f"{item!r} is not a value"))
            continue
        table[str(key).strip()] = str(item).strip()
    return table
