"""The rule kinds of a mapping set: their schema, their validation, and applying them to canonical documents.

A flow's rules dict (``MappingVersion.rules``) is a set of *sections*, one per rule kind. The oldest sections
(flat ``gl_accounts``, ``dimensions``, ``customer_accounts``, ``routing`` with ``total_above``, ``tax_groups``,
``payment_methods``, ``bank_accounts``, and the flows' scalar options) keep their meaning; the generic kinds added
with the mapping layer extend them:

* ``gl_rules`` — multi-level GL mapping: ``{"nominal", "department"?, "customer_group"?, "account"}``; the most
  specific matching rule wins, the flat ``gl_accounts`` is the first level (nominal only);
* ``dimensions_by_account`` — per Kashflow nominal code, dimensions over the ``dimensions`` defaults (``""`` removes
  one);
* ``dimension_rules`` — ``{"when": <expression>, "set": {dimension: value}}``, per line, first match per dimension
  wins, over the defaults;
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

One engine applies the rules to every *document with lines*: sales invoices, purchase invoices and journals. What
differs between them (their variables, their party, how a line is split, merged and numbered, what "total" means)
is a :class:`DocumentKind`; everything else — enrichment, routing, dimensions, GL accounts, line handling, field
mappings — is the same code for all three, so a rule behaves the same in every flow that offers it.

Expressions are :mod:`mapping.expressions` (sandboxed, Decimal numbers, dotted variables through dicts). The
variables a rule sees are documented in docs/mapping.md ("Rule kinds"): the header (``invoice.*``,
``purchase.*`` or ``journal.*``), ``line.*``, the party (``customer.*`` / ``supplier.*``, with enrichment),
``custom.*``, ``transaction_type`` and ``anomaly_score``.

Rules are compiled once per rules dict (expressions parsed, tables normalised) and cached, so applying a mapping
to a record does no parsing: the transform stays far below the cost of the I/O around it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from integrations.core.canonical import InvoiceLine, Journal, JournalLine, PurchaseInvoice, SalesInvoice
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
    RuleKind("dimensions_by_account", "Dimensions by nominal", "object",
             "Kashflow nominal code -> dimensions its lines carry over the defaults (\"\" removes one)."),
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
PURCHASE_SOURCE_FIELDS = ("number", "supplier_code", "supplier_name", "issue_date", "due_date", "currency",
                          "exchange_rate", "net_amount", "tax_amount", "gross_amount", "paid_amount", "status",
                          "supplier_reference")
JOURNAL_SOURCE_FIELDS = ("number", "date", "currency", "exchange_rate", "description", "total", "debit_total",
                         "credit_total")
# A field mapping's bare source (``"number"``) is a field of the document's header; these are all the headers'.
SOURCE_FIELDS = frozenset(INVOICE_SOURCE_FIELDS + PURCHASE_SOURCE_FIELDS + JOURNAL_SOURCE_FIELDS)
# The variables' top-level names a dotted source may start with (every kind of document, see DocumentKind).
VARIABLE_ROOTS = frozenset({"invoice", "purchase", "journal", "customer", "supplier", "party", "custom"})


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
    relative: bool = False  # a bare source names a field of the document's header
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

    @property
    def percents(self) -> list[Decimal]:
        return [percent for percent, _dims in self.parts]


@dataclass
class _Enrichment:
    name: str
    entity: str
    key: str
    field: str
    default: Any
    relative: bool  # a bare key names a field of the document's header (``customer_code``, ``supplier_code``)


@dataclass
class CompiledRules:
    gl_accounts: dict[str, str]
    gl_rules: dict[str, list[_GlRule]]
    dimensions: dict[str, str]
    dimensions_by_account: dict[str, dict[str, str]]
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
    dimensions_by_account = _dimensions_by_account(rules.get("dimensions_by_account"), errors)

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
            if source.split(".")[0] not in VARIABLE_ROOTS and source not in SOURCE_FIELDS:
                errors.append(RuleError(f"{path}.source", f"{source!r} is not a source field; use a field of the "
                                                          f"document ({', '.join(INVOICE_SOURCE_FIELDS)}, ...) or "
                                                          "a variable"))
            mapping.source, mapping.relative = source, "." not in source
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
            enrichment.append(_Enrichment(name, entity, key, fld, rule.get("default"), relative="." not in key))

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
        gl_accounts=gl_accounts, gl_rules=gl_rules, dimensions=dimensions,
        dimensions_by_account=dimensions_by_account, dimension_rules=dimension_rules,
        custom_fields=custom_fields, lookups=lookups, field_mappings=field_mappings, aggregate=aggregate,
        splits=splits, routing=routing, enrichment=enrichment, customer_accounts=customer_accounts,
        needs_line_variables=needs_line)


def _dimensions_by_account(value: Any, errors: list[RuleError]) -> dict[str, dict[str, str]]:
    """``{nominal: {dimension: value}}``; an empty value removes that dimension from the nominal's lines."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(RuleError("dimensions_by_account", "must be an object of nominal code -> dimensions"))
        return {}
    return {str(nominal).strip(): _table(dims, f"dimensions_by_account.{nominal}", errors, allow_empty=True)
            for nominal, dims in value.items()}


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
                   chart: Callable[[], Mapping[str, str] | None] | None = None,
                   dimensions: Callable[[], Mapping[str, Collection[str]] | None] | None = None) -> list[RuleError]:
    """Every problem of ``rules`` for ``flow_key``, with paths (and expression positions); [] when valid.

    ``chart`` (see :func:`live_chart`) returns the target's chart of accounts ``{account: name}``; when given and
    it answers, every GL account the rules name must be in it. ``dimensions`` (see :func:`live_dimensions`)
    returns the target's dimension values ``{dimension: values}``; when given and it answers, every dimension value
    the rules write as a constant must be one of them (values computed by expressions cannot be known before a
    run). Each is only called when the rules have something for it to check.
    """
    errors: list[RuleError] = []
    if isinstance(rules, Mapping):
        known = KNOWN_SECTIONS | set(_flow_defaults(flow_key))
        for key in rules:
            if key not in known:
                errors.append(RuleError(str(key), f"unknown section {key!r}; known sections: "
                                                  f"{', '.join(sorted(known))}"))
    compiled = _compile_rules(rules, errors)
    if not isinstance(rules, Mapping):
        return errors
    kind = _flow_document_kind(flow_key)
    if kind is not None:
        errors += _check_variables(compiled, kind)
    if chart is not None:
        errors += _check_accounts(rules, compiled, chart)
    if dimensions is not None:
        errors += _check_dimension_values(rules, dimensions)
    return errors


def _flow_document_kind(flow_key: str) -> DocumentKind | None:
    """The kind of document the flow's rules are applied to (by the flow's entity), if it is one."""
    from integrations.sync.flows import FLOWS

    definition = FLOWS.get(flow_key)
    return DOCUMENT_KINDS_BY_ENTITY.get(definition.entity) if definition is not None else None


def _check_variables(compiled: CompiledRules, kind: DocumentKind) -> list[RuleError]:
    """Variables the flow's documents do not have, refused on save with their position: a rule written for sales
    invoices (``customer.customer_group``) on a purchase flow would otherwise fail every record at run time.
    ``line.*`` exists only while a line's dimensions are derived."""
    from mapping.expressions import validate_expression

    roots = kind.roots
    expressions = [(rule.path + ".when", rule.expression, roots | {"line"}) for rule in compiled.dimension_rules]
    expressions += [(rule.path + ".when", rule.expression, roots) for rule in compiled.routing
                    if rule.expression is not None]
    expressions += [(rule.path + ".expression", rule.expression, roots) for rule in compiled.field_mappings
                    if rule.expression is not None]
    errors = []
    for path, expression, known in expressions:
        if all(name.split(".")[0] in known for name in expression.names):
            continue
        error = validate_expression(expression.text, known_names=known)
        if error is not None:
            errors.append(RuleError(path, f"{error.message}; a {kind.label} has {kind.described}", error.position))
    sources = [(rule.path + ".source", rule.source) for rule in compiled.field_mappings
               if rule.source is not None and not rule.relative]
    sources += [(rule.path + ".source", rule.source) for rule in compiled.custom_fields if "." in rule.source]
    sources += [(f"enrichment[{i}].key", rule.key) for i, rule in enumerate(compiled.enrichment) if not rule.relative]
    errors += [RuleError(path, f"{source.split('.')[0]!r} is not a variable of a {kind.label}; it has "
                               f"{kind.described}")
               for path, source in sources if source.split(".")[0] not in roots]
    return errors


def _check_accounts(rules: Mapping[str, Any], compiled: CompiledRules,
                    chart: Callable[[], Mapping[str, str] | None]) -> list[RuleError]:
    named = [(f"gl_accounts.{nominal}", account) for nominal, account in compiled.gl_accounts.items()]
    named += [(f"gl_rules[{i}].account", _text(rule.get("account"))) for i, rule in _indexed(rules.get("gl_rules"))]
    named = [(path, account) for path, account in named if account]
    accounts = chart() if named else None
    if accounts is None:
        return []
    return [RuleError(path, f"account {account} is not in the target's chart of accounts")
            for path, account in named if account not in accounts]


def _check_dimension_values(rules: Mapping[str, Any],
                            dimensions: Callable[[], Mapping[str, Collection[str]] | None]) -> list[RuleError]:
    written = list(constant_dimension_values(rules))
    live = dimensions() if written else None
    if live is None:
        return []
    errors = []
    for path, name, value in written:
        if name not in live:
            errors.append(RuleError(path, f"{name} is not a dimension of the target (it has "
                                          f"{', '.join(sorted(live)) or 'none'})"))
        elif value not in live[name]:
            errors.append(RuleError(path, f"{value} is not a value of the target's {name} dimension"))
    return errors


def constant_dimension_values(rules: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """``(path, dimension, value)`` of every dimension value the rules write as a constant: the defaults, the
    values by nominal, what dimension rules set, split parts, and custom fields' value tables of kind dimension.
    Empty values (which remove a dimension) are not values."""
    yield from _dimension_table("dimensions", rules.get("dimensions"))
    by_account = rules.get("dimensions_by_account")
    for nominal, dims in (by_account.items() if isinstance(by_account, Mapping) else ()):
        yield from _dimension_table(f"dimensions_by_account.{nominal}", dims)
    for i, rule in _indexed(rules.get("dimension_rules")):
        yield from _dimension_table(f"dimension_rules[{i}].set", rule.get("set"))
    handling = rules.get("line_handling")
    for i, split in _indexed(handling.get("splits") if isinstance(handling, Mapping) else None):
        for j, part in _indexed(split.get("parts")):
            yield from _dimension_table(f"line_handling.splits[{i}].parts[{j}].dimensions", part.get("dimensions"))
    for i, rule in _indexed(rules.get("custom_fields")):
        values, target = rule.get("values"), _text(rule.get("target"))
        if rule.get("kind", "dimension") == "dimension" and target and isinstance(values, Mapping):
            for key, value in values.items():
                if _text(value):
                    yield f"custom_fields[{i}].values.{key}", target, _text(value)


def _dimension_table(path: str, table: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(table, Mapping):
        for name, value in table.items():
            if not isinstance(value, (Mapping, list)) and _text(value):
                yield f"{path}.{name}", str(name).strip(), _text(value)


def _indexed(items: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, item) of the objects of a list section (anything else has its own error already)."""
    for i, item in enumerate(items if isinstance(items, list) else ()):
        if isinstance(item, Mapping):
            yield i, item


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


def live_dimensions(flow) -> dict[str, set[str]] | None:
    """The target's dimension values ``{dimension: values}``, or None when the flow's target has no ODBC settings
    or is neither system.

    AX: the financial dimensions of the company's account structures, each read from its backing view
    (DIMENSIONATTRIBUTE.VIEWNAME over DIMENSIONATTRIBUTEVALUE / the operating units). Sage 100 keeps divisions and
    departments as segments of the G/L account (see ``kashflow_invoices_to_sage.segmented_account``): ``Division``
    is the second segment's codes and ``Department`` the third's (GL_SubAccount, or the active accounts'
    segments when the company has no sub-account table)."""
    target = getattr(flow, "target", None)
    settings = getattr(target, "settings", None) or {}
    system = str(getattr(target, "system", "") or "")
    if not (settings.get("odbc") or settings.get("dsn")):
        return None
    if system == "sage100":
        from integrations.sage100.odbc import SageOdbcReader

        with SageOdbcReader.from_settings(settings) as reader:
            return reader.segment_codes()
    if system == "dynamics_ax":
        from integrations.dynamics_ax.sql import AxSqlReader

        with AxSqlReader.from_settings(settings) as reader:
            return {name: set(values) for name, values in reader.account_structure_dimensions().items()}
    return None


# ---------------------------------------------------------------------------------------------------------------
# Applying
# ---------------------------------------------------------------------------------------------------------------


Document = SalesInvoice | PurchaseInvoice | Journal
Line = InvoiceLine | JournalLine


@dataclass
class MappedLine:
    """A target line: the (possibly aggregated or split) canonical line, its target account and dimensions."""

    line: Line
    account: str
    dimensions: dict[str, str]


@dataclass
class MappedDocument:
    """What the rules made of a document: its target lines, header dimensions and fields, and the routing verdict."""

    document: Document
    lines: list[MappedLine]
    dimensions: dict[str, str]  # the header's (defaults + document-level custom fields)
    fields: dict[str, Any]  # field mappings and custom fields of kind "field"
    hold: str = ""
    skip: str = ""
    warnings: list[str] = field(default_factory=list)
    currency: str = ""

    @property
    def invoice(self) -> Document:  # the name the invoice flows knew
        return self.document


MappedInvoice = MappedDocument


# ----------------------------------------------------------------------------------------- kinds of documents


@dataclass(frozen=True)
class DocumentKind:
    """What the shared engine needs to know about one kind of canonical document; the rest is common.

    ``header`` and ``party`` name the variables of the document and of its party (enrichment values join the
    party); ``aliases`` are other names of the header (a purchase is also ``invoice``, so a routing rule written
    for sales invoices reads the same on purchases). ``total`` is what the old ``total_above`` routing compares.
    """

    label: str  # "invoice", "purchase", "journal" (in messages: "on Kashflow purchase 12")
    header: str
    party: str
    aliases: tuple[str, ...]
    header_variables: Callable[[Any], dict[str, Any]]
    party_variables: Callable[[Any], dict[str, Any]]
    line_variables: Callable[[Any], dict[str, Any]]
    total: Callable[[Any], Decimal]
    split: Callable[[Any, _Split, dict[str, str]], list[tuple[Any, dict[str, str]]]]
    aggregate_key: Callable[[MappedLine], tuple]
    merge: Callable[[list[MappedLine]], Any]
    renumber: Callable[[Any, int], Any]

    @property
    def roots(self) -> frozenset[str]:
        """The top-level variables of this kind of document (``line`` is added while lines are mapped)."""
        return frozenset({self.header, *self.aliases, self.party, "custom", "transaction_type", "anomaly_score"})

    @property
    def described(self) -> str:
        return ", ".join(f"{name}.*" for name in (self.header, *self.aliases, self.party, "custom")) + \
            ", transaction_type, anomaly_score"

    def variables(self, document: Any, custom: Mapping[str, Any] | None, anomaly_score: float | None
                  ) -> dict[str, Any]:
        """The expression variables of a document (``line`` is added per line)."""
        header = self.header_variables(document)
        variables = {"transaction_type": document.entity, self.header: header, self.party: self.party_variables(
            document), "custom": dict(custom) if custom else {},
            "anomaly_score": _UNSCORED if anomaly_score is None else _score(anomaly_score)}
        if self.aliases:
            variables.update(dict.fromkeys(self.aliases, header))
        return variables


_UNSCORED = Decimal(0)  # a record the co-pilot did not score reads as 0: no rule on the score matches it


def _score(anomaly_score: float) -> Decimal:
    """The co-pilot's anomaly score as an expression number (through its repr, so 0.8 stays 0.8)."""
    score = Decimal(repr(float(anomaly_score)))
    return score if score.is_finite() else _UNSCORED


def _sales_header(invoice: SalesInvoice) -> dict[str, Any]:
    return {"number": invoice.number, "customer_code": invoice.customer_code, "customer_name": invoice.customer_name,
            "issue_date": invoice.issue_date, "due_date": invoice.due_date, "currency": invoice.currency,
            "exchange_rate": invoice.exchange_rate, "net_amount": invoice.net_amount,
            "tax_amount": invoice.tax_amount, "gross_amount": invoice.gross_amount, "total": invoice.gross_amount,
            "paid_amount": invoice.paid_amount, "status": invoice.status,
            "customer_reference": invoice.customer_reference, "line_count": Decimal(len(invoice.lines))}


def _purchase_header(purchase: PurchaseInvoice) -> dict[str, Any]:
    return {"number": purchase.number, "supplier_code": purchase.supplier_code,
            "supplier_name": purchase.supplier_name, "issue_date": purchase.issue_date, "due_date": purchase.due_date,
            "currency": purchase.currency, "exchange_rate": purchase.exchange_rate, "net_amount": purchase.net_amount,
            "tax_amount": purchase.tax_amount, "gross_amount": purchase.gross_amount, "total": purchase.gross_amount,
            "paid_amount": purchase.paid_amount, "status": purchase.status,
            "supplier_reference": purchase.supplier_reference, "line_count": Decimal(len(purchase.lines))}


def _journal_header(journal: Journal) -> dict[str, Any]:
    debits = _journal_total(journal)
    credits = sum((line.credit for line in journal.lines), Decimal(0))
    return {"number": journal.number, "date": journal.journal_date, "currency": journal.currency,
            "exchange_rate": journal.exchange_rate, "description": journal.description, "total": debits,
            "debit_total": debits, "credit_total": credits, "line_count": Decimal(len(journal.lines))}


def _journal_total(journal: Journal) -> Decimal:
    """A journal's size: what it moves, the sum of its debits."""
    return sum((line.debit for line in journal.lines), Decimal(0))


def _invoice_line_variables(line: InvoiceLine) -> dict[str, Any]:
    return {"nominal": line.account_code, "description": line.description, "quantity": line.quantity,
            "unit_price": line.unit_price, "net_amount": line.net_amount, "tax_amount": line.tax_amount,
            "tax_rate": line.tax_rate if line.tax_rate is not None else "exempt", "product_code": line.product_code}


def _journal_line_variables(line: JournalLine) -> dict[str, Any]:
    return {"nominal": line.account_code, "description": line.description, "amount": line.amount,
            "debit": line.debit, "credit": line.credit, "tax_code": line.tax_code, "tax_amount": line.tax_amount,
            "dimensions": dict(line.dimensions)}


def _portions(amount: Decimal, percents: Sequence[Decimal]) -> list[Decimal]:
    """``amount`` by percentages, each part rounded to the cent and the remainder on the last, so the parts add up
    to ``amount`` exactly (a split never loses or invents a penny, and a journal stays balanced).

    When the earlier parts' rounding up leaves the last, small share less than nothing (1.90 at 3.95 / 0.79 / 95 /
    0.26 % would end on -0.01), the parts are taken from the rounded running total instead: they still add up
    exactly, and none takes the opposite sign of the amount (a debit never gains a credit part)."""
    parts = [(amount * percent / HUNDRED).quantize(CENT, ROUND_HALF_UP) for percent in percents[:-1]]
    last = amount - sum(parts, Decimal(0))
    if last * amount >= 0:
        return [*parts, last]
    running, previous, parts = Decimal(0), Decimal(0), []
    for percent in percents[:-1]:
        running += percent
        total = (amount * running / HUNDRED).quantize(CENT, ROUND_HALF_UP)
        parts.append(total - previous)
        previous = total
    return [*parts, amount - previous]


def _part_description(description: str, percent: Decimal) -> str:
    return f"{description} ({percent.normalize():f}%)"


def _split_invoice_line(line: InvoiceLine, split: _Split, dims: Mapping[str, str]
                        ) -> list[tuple[InvoiceLine, dict[str, str]]]:
    nets, taxes = _portions(line.net_amount, split.percents), _portions(line.tax_amount, split.percents)
    return [(replace(line, quantity=Decimal(1), unit_price=net, net_amount=net, tax_amount=tax,
                     description=_part_description(line.description, percent)), {**dims, **part_dims})
            for (percent, part_dims), net, tax in zip(split.parts, nets, taxes, strict=True)]


def _split_journal_line(line: JournalLine, split: _Split, dims: Mapping[str, str]
                        ) -> list[tuple[JournalLine, dict[str, str]]]:
    """Journal lines often have no comment (the target then shows the journal's): a part of one keeps none."""
    amounts, taxes = _portions(line.amount, split.percents), _portions(line.tax_amount, split.percents)
    return [(replace(line, amount=amount, tax_amount=tax,
                     description=_part_description(line.description, percent) if line.description else ""),
             {**dims, **part_dims})
            for (percent, part_dims), amount, tax in zip(split.parts, amounts, taxes, strict=True)]


def _invoice_line_key(item: MappedLine) -> tuple:
    return item.account, tuple(sorted(item.dimensions.items())), item.line.tax_rate


def _journal_line_key(item: MappedLine) -> tuple:
    """Debits and credits are merged apart: aggregating keeps both sides of the journal visible (and balanced)."""
    return item.account, tuple(sorted(item.dimensions.items())), item.line.amount > 0, item.line.tax_code


def _more(description: str, members: int) -> str:
    return f"{description} (+{members - 1} more)"


def _merge_invoice_lines(members: list[MappedLine]) -> InvoiceLine:
    first = members[0].line
    net = sum((m.line.net_amount for m in members), Decimal(0))
    tax = sum((m.line.tax_amount for m in members), Decimal(0))
    return replace(first, quantity=Decimal(1), unit_price=net, net_amount=net, tax_amount=tax,
                   description=_more(first.description, len(members)), product_code="")


def _merge_journal_lines(members: list[MappedLine]) -> JournalLine:
    first = members[0].line
    return replace(first, amount=sum((m.line.amount for m in members), Decimal(0)),
                   tax_amount=sum((m.line.tax_amount for m in members), Decimal(0)),
                   description=_more(first.description, len(members)),
                   source_ids=tuple(sid for m in members for sid in m.line.source_ids))


def _renumber_invoice_line(line: InvoiceLine, number: int) -> InvoiceLine:
    return line if line.number == number else replace(line, number=number)


SALES_INVOICE = DocumentKind(
    label="invoice", header="invoice", party="customer", aliases=(), header_variables=_sales_header,
    party_variables=lambda invoice: {"code": invoice.customer_code, "name": invoice.customer_name},
    line_variables=_invoice_line_variables, total=lambda invoice: invoice.gross_amount, split=_split_invoice_line,
    aggregate_key=_invoice_line_key, merge=_merge_invoice_lines, renumber=_renumber_invoice_line)
PURCHASE_INVOICE = DocumentKind(
    label="purchase", header="purchase", party="supplier", aliases=("invoice",), header_variables=_purchase_header,
    party_variables=lambda purchase: {"code": purchase.supplier_code, "name": purchase.supplier_name},
    line_variables=_invoice_line_variables, total=lambda purchase: purchase.gross_amount, split=_split_invoice_line,
    aggregate_key=_invoice_line_key, merge=_merge_invoice_lines, renumber=_renumber_invoice_line)
JOURNAL = DocumentKind(  # journals have no party: enrichment values are party.<name>
    label="journal", header="journal", party="party", aliases=(), header_variables=_journal_header,
    party_variables=lambda journal: {}, line_variables=_journal_line_variables, total=_journal_total,
    split=_split_journal_line, aggregate_key=_journal_line_key, merge=_merge_journal_lines,
    renumber=lambda line, number: line)  # journal lines keep their order and have no number
DOCUMENT_KINDS: dict[type, DocumentKind] = {SalesInvoice: SALES_INVOICE, PurchaseInvoice: PURCHASE_INVOICE,
                                            Journal: JOURNAL}
DOCUMENT_KINDS_BY_ENTITY: dict[str, DocumentKind] = {"sales_invoice": SALES_INVOICE,
                                                     "purchase_invoice": PURCHASE_INVOICE, "journal": JOURNAL}


def document_kind(document: Any) -> DocumentKind:
    try:
        return DOCUMENT_KINDS[type(document)]
    except KeyError:
        raise TypeError(f"mapping rules apply to {', '.join(k.__name__ for k in DOCUMENT_KINDS)}, "
                        f"not {type(document).__name__}") from None


def invoice_variables(invoice: SalesInvoice, *, custom: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The expression variables of an invoice (``line`` is added per line)."""
    return SALES_INVOICE.variables(invoice, custom, None)


def document_variables(document: Document, *, custom: Mapping[str, Any] | None = None,
                       anomaly_score: float | None = None) -> dict[str, Any]:
    """The expression variables of any document the rules apply to (``line`` is added per line)."""
    return document_kind(document).variables(document, custom, anomaly_score)


# ----------------------------------------------------------------------------------------- the engine


def apply_mapping(document: Document, rules: Mapping[str, Any], *, account_label: str = "target account",
                  enrichment=None, custom: Mapping[str, Any] | None = None, require_accounts: bool = True,
                  anomaly_score: float | None = None) -> MappedDocument:
    """Apply the rules to a canonical sales invoice, purchase invoice or journal: enrichment, routing, dimensions,
    GL accounts, line handling, field mappings. Pure (the enrichment source is the only outside read, and is
    cached by its owner). ``anomaly_score`` is the co-pilot's score of the record (0..1) for routing rules; None
    (not scored) reads as 0.

    An unmapped nominal code raises TargetValidationError ``mapping_missing`` with ``{"nominal_code": ...}``
    (the inbox groups on it), worded "No <account_label> is mapped for Kashflow nominal code <code>".
    """
    kind = document_kind(document)
    compiled = compiled_for(rules)
    variables = kind.variables(document, custom, anomaly_score)
    warnings: list[str] = []
    _enrich(compiled, kind, variables, enrichment)
    hold, skip = _route(compiled, kind, document, variables)
    if skip:
        return MappedDocument(document, [], {}, {}, hold="", skip=skip, warnings=warnings)
    header_dimensions, fields = _custom_fields(compiled, variables)
    currency = document.currency
    if "currency" in compiled.lookups:
        currency = _lookup(compiled.lookups["currency"], "currency", document.currency, "currency code") or currency
    party = variables[kind.party]
    group = str(party.get(f"{kind.party}_group") or party.get("group") or "")
    mapped = _map_lines(compiled, kind, document.lines, variables, header_dimensions, group, account_label,
                        require_accounts)
    fields.update(_field_values(compiled, kind, document, variables, warnings))
    return MappedDocument(document, mapped, header_dimensions, fields, hold=hold, warnings=warnings,
                          currency=currency)


def _enrich(compiled: CompiledRules, kind: DocumentKind, variables: dict[str, Any], enrichment) -> None:
    """Enrichment values join the party's variables (``customer.customer_group``)."""
    for rule in compiled.enrichment:
        key = _resolve(variables[kind.header], rule.key) if rule.relative else _resolve(variables, rule.key)
        value = enrichment.lookup(rule.entity, str(key), rule.field) if enrichment is not None and key else None
        variables[kind.party][rule.name] = rule.default if value in (None, "") else value


def _route(compiled: CompiledRules, kind: DocumentKind, document: Document, variables: Mapping[str, Any]
           ) -> tuple[str, str]:
    """(hold reason, skip reason): every matching hold rule is a reason to hold (the first is given), the first
    matching skip rule skips."""
    hold = ""
    for rule in compiled.routing:
        if rule.amount is not None:
            total = kind.total(document)
            if total <= rule.amount:
                continue
            reason = rule.reason or (f"Total {total} {document.currency} is above the approval limit of "
                                     f"{rule.amount} {document.currency}.")
        elif _evaluate(rule, variables):
            reason = rule.reason or f"Routing rule {rule.path} matched: {rule.text}"
        else:
            continue
        if rule.action == "skip":
            return "", reason
        hold = hold or reason
    return hold, ""


def _custom_fields(compiled: CompiledRules, variables: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The header's dimensions (the defaults, then custom fields of kind dimension) and custom target fields."""
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
    return header_dimensions, fields


def _map_lines(compiled: CompiledRules, kind: DocumentKind, lines: Sequence[Line], variables: dict[str, Any],
               header_dimensions: dict[str, str], group: str, account_label: str, required: bool
               ) -> list[MappedLine]:
    """Dimensions and accounts per source line, then splits and aggregation, then target line numbers.

    The hot loop of a run (every line of every record): what it needs is read into locals once per document."""
    dimension_rules, by_account, splits = compiled.dimension_rules, compiled.dimensions_by_account, compiled.splits
    line_variables = kind.line_variables if compiled.needs_line_variables else None
    # Rules that do not read the line are decided once per document; per line only the others are evaluated.
    document_level = {id(rule): _evaluate(rule, variables) for rule in dimension_rules if not rule.per_line}
    mapped: list[MappedLine] = []
    for line in lines:
        dims = header_dimensions
        if by_account and line.account_code in by_account:  # "" removes a default
            dims = {name: value for name, value in {**dims, **by_account[line.account_code]}.items() if value}
        if dimension_rules:
            if line_variables is not None:
                variables["line"] = line_variables(line)
            dims = _derived_dimensions(dimension_rules, variables, dims, document_level)
        split = splits.get(line.account_code)
        if split is None:
            mapped.append(MappedLine(line, _account(compiled, line.account_code, dims, group, account_label,
                                                    required), dims))
            continue
        for part_line, part_dims in kind.split(line, split, dims):
            mapped.append(MappedLine(part_line, _account(compiled, part_line.account_code, part_dims, group,
                                                         account_label, required), part_dims))
    variables.pop("line", None)
    if compiled.aggregate and len(mapped) > 1:
        mapped = _aggregate(kind, mapped)
    if splits or compiled.aggregate:  # target line numbers stay unique after splitting / merging
        mapped = [MappedLine(kind.renumber(item.line, number), item.account, item.dimensions)
                  for number, item in enumerate(mapped, start=1)]
    return mapped


def _derived_dimensions(rules: list[_Conditional], variables: Mapping[str, Any], dims: Mapping[str, str],
                        document_level: Mapping[int, bool]) -> dict[str, str]:
    """``dims`` with each dimension set by the first matching rule that sets it."""
    derived = dict(dims)
    decided: set[str] = set()
    for rule in rules:
        if decided.issuperset(rule.values):  # every dimension it sets is decided: no need to ask
            continue
        if _evaluate(rule, variables) if rule.per_line else document_level[id(rule)]:
            for name, value in rule.values.items():
                if name not in decided:
                    derived[name] = value
                    decided.add(name)
    return derived


def _field_values(compiled: CompiledRules, kind: DocumentKind, document: Document, variables: Mapping[str, Any],
                  warnings: list[str]) -> dict[str, Any]:
    """Target header fields from the field mappings; an empty required one is ``mapping_missing``, a value cut to
    its maximum length is a warning naming the field."""
    fields: dict[str, Any] = {}
    for rule in compiled.field_mappings:
        if rule.expression is not None:
            value = _evaluate_expression(rule.expression, variables, rule.path)
        elif rule.source is not None:
            value = _resolve(variables[kind.header], rule.source) if rule.relative else _resolve(variables,
                                                                                                 rule.source)
        else:
            value = rule.constant
        if value in (None, ""):
            if rule.required:
                raise TargetValidationError(
                    f"Required field {rule.target} is empty ({rule.path}) on Kashflow {kind.label} "
                    f"{document.number}", system="Mapping", code="mapping_missing", payload={"field": rule.target})
            continue
        if isinstance(value, Decimal):
            value = format(value, "f")
        if rule.max_length is not None and isinstance(value, str) and len(value) > rule.max_length:
            warnings.append(f"{rule.target} cut to {rule.max_length} characters (was {value!r}).")
            value = value[:rule.max_length]
        fields[rule.target] = value
    return fields


def route_invoice(invoice: Document, routing: list[dict[str, Any]], *, enrichment=None) -> tuple[str, str]:
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


def _aggregate(kind: DocumentKind, lines: list[MappedLine]) -> list[MappedLine]:
    """Lines with the same account, dimensions and VAT rate (journals: tax code and side) as one line, amounts
    summed exactly."""
    groups: dict[tuple, list[MappedLine]] = {}
    for item in lines:
        groups.setdefault(kind.aggregate_key(item), []).append(item)
    return [members[0] if len(members) == 1 else MappedLine(kind.merge(members), members[0].account,
                                                            members[0].dimensions)
            for members in groups.values()]


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
