"""The rule kinds of mapping.rules: pure tests on canonical invoices (no database, no sandboxes)."""

from __future__ import annotations

import ast
import sys
import types
from datetime import date
from decimal import Decimal

import pytest

from integrations.core.canonical import InvoiceLine, SalesInvoice
from integrations.core.errors import TargetValidationError
from mapping.enrichment import DictEnrichment
from mapping.rules import RULE_KINDS, apply_mapping, gl_account, lookup, validate_rules

# --------------------------------------------------------------------------- expressions
# mapping.expressions is engineer A's; until it lands these tests use a small local stand-in with the same contract
# (compile_expression / Expression.evaluate / .names / ExpressionError with .message and .position).


def _stub_expressions() -> types.ModuleType:
    module = types.ModuleType("mapping.expressions")

    class ExpressionError(Exception):
        def __init__(self, message: str, position: int) -> None:
            super().__init__(f"{message} at column {position + 1}")
            self.message, self.position = message, position

    class Expression:
        def __init__(self, text: str) -> None:
            try:
                self.tree = ast.parse(text, mode="eval").body
            except SyntaxError as error:
                raise ExpressionError("invalid syntax", max(0, (error.offset or 1) - 1)) from None
            self.names = frozenset(self._names(self.tree))

        def _names(self, node):
            dotted = self._dotted(node)
            if dotted:
                yield dotted
                return
            for child in ast.iter_child_nodes(node):
                yield from self._names(child)

        @staticmethod
        def _dotted(node) -> str:
            parts = []
            while isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name):
                return ".".join([node.id, *reversed(parts)])
            return ""

        def evaluate(self, variables):
            return self._eval(self.tree, variables)

        def _eval(self, node, variables):
            dotted = self._dotted(node)
            if dotted:
                value = variables
                for part in dotted.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                return value
            if isinstance(node, ast.Constant):
                return Decimal(str(node.value)) if isinstance(node.value, (int, float)) else node.value
            if isinstance(node, ast.BoolOp):
                values = [self._eval(v, variables) for v in node.values]
                return all(values) if isinstance(node.op, ast.And) else any(values)
            if isinstance(node, ast.Compare):
                left = self._eval(node.left, variables)
                right = self._eval(node.comparators[0], variables)
                op = type(node.ops[0])
                try:
                    return {ast.Eq: lambda: left == right, ast.NotEq: lambda: left != right,
                            ast.Gt: lambda: left > right, ast.Lt: lambda: left < right,
                            ast.GtE: lambda: left >= right, ast.In: lambda: left in right}[op]()
                except TypeError:
                    raise ExpressionError("cannot compare", node.col_offset) from None
            if isinstance(node, ast.Tuple):
                return tuple(self._eval(e, variables) for e in node.elts)
            raise ExpressionError("unsupported", node.col_offset)

    module.ExpressionError = ExpressionError
    module.Expression = Expression
    module.compile_expression = Expression
    return module


@pytest.fixture(autouse=True)
def expressions(monkeypatch):
    try:
        import mapping.expressions as real  # noqa: F401
    except Exception:  # not there yet (or mid-edit by its owner)
        monkeypatch.setitem(sys.modules, "mapping.expressions", _stub_expressions())


# --------------------------------------------------------------------------- helpers


def line(number, nominal, net, *, rate="20", description="", product=""):
    net = Decimal(net)
    tax = Decimal(0) if rate is None else (net * Decimal(rate) / 100).quantize(Decimal("0.01"))
    return InvoiceLine(number=number, description=description or f"line {number}", quantity=Decimal(1),
                       unit_price=net, net_amount=net, tax_amount=tax,
                       tax_rate=None if rate is None else Decimal(rate), account_code=nominal, product_code=product)


def invoice(*lines, customer="ABF001", number="101"):
    net = sum((x.net_amount for x in lines), Decimal(0))
    tax = sum((x.tax_amount for x in lines), Decimal(0))
    return SalesInvoice(source_system="kashflow", source_id=number, number=number, customer_code=customer,
                        customer_name="A B Framing", issue_date=date(2026, 3, 1), due_date=None, currency="GBP",
                        exchange_rate=Decimal(1), net_amount=net, tax_amount=tax, gross_amount=net + tax,
                        paid_amount=net + tax, status="paid", lines=tuple(lines))


GL = {"4000": "401100", "4001": "401200"}


# --------------------------------------------------------------------------- GL accounts


def test_flat_gl_accounts_still_map_and_an_unmapped_nominal_is_mapping_missing_naming_it():
    result = apply_mapping(invoice(line(1, "4000", "10"), line(2, "4001", "5")), {"gl_accounts": GL})
    assert [(m.line.account_code, m.account) for m in result.lines] == [("4000", "401100"), ("4001", "401200")]
    with pytest.raises(TargetValidationError) as caught:
        apply_mapping(invoice(line(1, "4905", "10")), {"gl_accounts": GL}, account_label="AX main account")
    assert caught.value.code == "mapping_missing"
    assert caught.value.payload == {"nominal_code": "4905"}
    assert "No AX main account is mapped for Kashflow nominal code 4905" in str(caught.value)


def test_multi_level_gl_most_specific_rule_wins():
    rules = {"gl_accounts": GL, "dimensions": {"Department": "022"}, "gl_rules": [
        {"nominal": "4000", "department": "022", "account": "401110"},
        {"nominal": "4000", "customer_group": "WHOLESALE", "account": "401120"},
        {"nominal": "4000", "department": "022", "customer_group": "WHOLESALE", "account": "401130"},
        {"nominal": "4000", "department": "030", "account": "401140"},
    ]}
    assert gl_account(rules, "4000") == "401100"  # no qualifier matches: the flat first level
    assert gl_account(rules, "4000", dimensions={"Department": "022"}) == "401110"
    assert gl_account(rules, "4000", customer_group="WHOLESALE") == "401120"
    assert gl_account(rules, "4000", dimensions={"Department": "022"}, customer_group="WHOLESALE") == "401130"
    assert gl_account(rules, "4001", dimensions={"Department": "022"}) == "401200"  # other nominal untouched

    rules["enrichment"] = [{"name": "customer_group", "entity": "customer", "key": "customer_code",
                            "field": "group", "default": "RETAIL"}]
    source = DictEnrichment({"customer": {"ABF001": {"group": "WHOLESALE"}}})
    result = apply_mapping(invoice(line(1, "4000", "10")), rules, enrichment=source)
    assert result.lines[0].account == "401130"
    other = apply_mapping(invoice(line(1, "4000", "10"), customer="ZZZ"), rules, enrichment=source)
    assert other.lines[0].account == "401110"  # default group RETAIL: department rule only


# --------------------------------------------------------------------------- dimensions, custom fields


def test_dimension_rules_derive_per_line_first_match_per_dimension_wins():
    rules = {"gl_accounts": GL, "dimensions": {"BusinessUnit": "001", "Department": "022"}, "dimension_rules": [
        {"when": 'line.nominal == "4001"', "set": {"Department": "030", "CostCenter": "007"}},
        {"when": "invoice.total > 100", "set": {"Department": "040", "BusinessUnit": "002"}},
    ]}
    result = apply_mapping(invoice(line(1, "4000", "50"), line(2, "4001", "100")), rules)
    assert result.lines[0].dimensions == {"BusinessUnit": "002", "Department": "040"}
    assert result.lines[1].dimensions == {"BusinessUnit": "002", "Department": "030", "CostCenter": "007"}
    assert result.dimensions == {"BusinessUnit": "001", "Department": "022"}  # header: defaults


def test_custom_fields_become_dimensions_or_fields_through_their_value_table():
    rules = {"gl_accounts": GL, "custom_fields": [
        {"source": "Region", "target": "CostCenter", "kind": "dimension", "values": {"North": "010", "South": "020"}},
        {"source": "custom.Export", "target": "UDF_EXPORT", "kind": "field"},
    ]}
    result = apply_mapping(invoice(line(1, "4000", "10")), rules, custom={"Region": "South", "Export": True})
    assert result.lines[0].dimensions == {"CostCenter": "020"}
    assert result.fields == {"UDF_EXPORT": "Yes"}
    with pytest.raises(TargetValidationError) as caught:
        apply_mapping(invoice(line(1, "4000", "10")), rules, custom={"Region": "West"})
    assert caught.value.code == "mapping_missing" and caught.value.payload == {"custom_field": "Region",
                                                                                "value": "West"}


# --------------------------------------------------------------------------- lookups, field mapping


def test_lookup_tables_default_and_fail_if_missing():
    rules = {"lookups": {"payment_methods": {"values": {"1": "CHECK", "2": "CARD"}, "default": "CHECK"},
                         "currency": {"values": {"GBP": "GBP", "EUR": "EUR"}, "fail_if_missing": True}}}
    assert lookup(rules, "payment_methods", 2) == "CARD"
    assert lookup(rules, "payment_methods", 9) == "CHECK"
    assert lookup(rules, "nothing", 9) is None
    with pytest.raises(TargetValidationError) as caught:
        lookup(rules, "currency", "USD", what="currency code")
    assert caught.value.code == "mapping_missing" and caught.value.payload == {"currency": "USD"}
    assert "USD" in str(caught.value)


def test_field_mappings_source_constant_expression_required_and_cut_with_a_warning():
    rules = {"gl_accounts": GL, "field_mappings": [
        {"target": "CustomerPONo", "source": "customer_reference", "required": False},
        {"target": "Comment", "source": "invoice.customer_name", "max_length": 5},
        {"target": "SalesPerson", "constant": "0100"},
        {"target": "Big", "expression": "invoice.total > 10"},
    ]}
    result = apply_mapping(invoice(line(1, "4000", "10")), rules)
    assert result.fields == {"Comment": "A B F", "SalesPerson": "0100", "Big": True}
    assert result.warnings == ["Comment cut to 5 characters (was 'A B Framing')."]
    rules = {**rules, "field_mappings": [{"target": "CustomerPONo", "source": "customer_reference",
                                          "required": True}]}
    with pytest.raises(TargetValidationError) as caught:
        apply_mapping(invoice(line(1, "4000", "10")), rules)
    assert caught.value.code == "mapping_missing" and caught.value.payload == {"field": "CustomerPONo"}


# --------------------------------------------------------------------------- line handling


def test_split_puts_the_rounding_remainder_on_the_last_part_and_totals_stay_exact():
    rules = {"gl_accounts": GL, "dimensions": {"BusinessUnit": "001"}, "line_handling": {"splits": [
        {"nominal": "4001", "parts": [{"percent": "33.33", "dimensions": {"Department": "010"}},
                                      {"percent": "33.33", "dimensions": {"Department": "020"}},
                                      {"percent": "33.34", "dimensions": {"Department": "030"}}]}]}}
    source = invoice(line(1, "4000", "7.00"), line(2, "4001", "100.01"))
    result = apply_mapping(source, rules)
    assert [m.line.number for m in result.lines] == [1, 2, 3, 4]
    parts = result.lines[1:]
    assert [p.line.net_amount for p in parts] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.35")]
    assert [p.line.tax_amount for p in parts] == [Decimal("6.67"), Decimal("6.67"), Decimal("6.66")]
    assert sum(p.line.net_amount for p in parts) == Decimal("100.01")
    assert sum(p.line.tax_amount for p in parts) == source.lines[1].tax_amount
    assert [p.dimensions for p in parts] == [{"BusinessUnit": "001", "Department": d} for d in ("010", "020", "030")]
    assert {p.account for p in parts} == {"401200"}


def test_aggregate_merges_lines_with_the_same_account_dimensions_and_tax():
    rules = {"gl_accounts": {"4000": "401100", "4002": "401100", "4001": "401200"},
             "line_handling": {"aggregate": True}}
    source = invoice(line(1, "4000", "10.10"), line(2, "4002", "5.05"), line(3, "4001", "1"),
                     line(4, "4000", "2", rate="5"), line(5, "4000", "3.33"))
    result = apply_mapping(source, rules)
    summary = [(m.account, m.line.tax_rate, m.line.net_amount, m.line.tax_amount) for m in result.lines]
    assert summary == [("401100", Decimal(20), Decimal("18.48"), Decimal("3.70")),
                       ("401200", Decimal(20), Decimal("1"), Decimal("0.20")),
                       ("401100", Decimal(5), Decimal("2"), Decimal("0.10"))]
    assert sum(m.line.net_amount for m in result.lines) == source.net_amount
    assert sum(m.line.tax_amount for m in result.lines) == source.tax_amount


# --------------------------------------------------------------------------- routing


def test_routing_old_total_above_form_expression_hold_and_skip():
    big = invoice(line(1, "4000", "6000"))
    old = apply_mapping(big, {"gl_accounts": GL, "routing": [{"when": "total_above", "amount": 5000}]})
    assert old.hold == "Total 7200.00 GBP is above the approval limit of 5000 GBP." and not old.skip
    rules = {"gl_accounts": GL, "routing": [
        {"when": 'invoice.customer_code == "INTERNAL"', "action": "skip", "reason": "Intercompany"},
        {"when": "invoice.total > 1000", "action": "hold"},
    ]}
    held = apply_mapping(big, rules)
    assert held.hold == "Routing rule routing[1] matched: invoice.total > 1000" and not held.skip
    skipped = apply_mapping(invoice(line(1, "4000", "6000"), customer="INTERNAL"), rules)
    assert skipped.skip == "Intercompany" and not skipped.hold and skipped.lines == []
    assert apply_mapping(invoice(line(1, "4000", "10")), rules).hold == ""


def test_kashflow_source_route_keeps_its_contract():
    from integrations.sync.flows.kashflow_source import route

    big = invoice(line(1, "4000", "6000"))
    assert "approval limit of 5000" in route(big, [{"when": "total_above", "amount": "5000"}])
    assert route(big, [{"when": "total_above", "amount": "5000", "action": "skip"}]) == ""
    assert route(big, []) == ""


# --------------------------------------------------------------------------- validation


def test_validation_reports_paths_and_expression_positions():
    errors = validate_rules("kashflow_invoices_to_ax", {
        "gl_accounts": {"4000": "401100", "4001": ""},
        "gl_rules": [{"nominal": "4000", "account": "1", "colour": "red"}],
        "dimension_rules": [{"when": "invoice.total >", "set": {"Department": "022"}}],
        "line_handling": {"splits": [{"nominal": "4001", "parts": [{"percent": 60}, {"percent": 30}]}]},
        "routing": [{"when": "total_above", "amount": "lots"}, {"when": "x", "action": "explode"}],
        "lookups": {"currency": {"values": {}, "default": "GBP", "fail_if_missing": True}},
        "gl_acounts": {},
    })
    by_path = {e.path: e for e in errors}
    assert set(by_path) == {"gl_accounts.4001", "gl_rules[0]", "dimension_rules[0].when",
                            "line_handling.splits[0].parts", "routing[0].amount", "routing[1].action",
                            "lookups.currency", "gl_acounts"}
    assert by_path["dimension_rules[0].when"].position is not None
    assert "add up to 90" in by_path["line_handling.splits[0].parts"].message
    assert "unknown section 'gl_acounts'" in by_path["gl_acounts"].message


def test_gl_accounts_are_checked_against_the_live_chart_when_given():
    chart = {"401100": "Product sales", "401200": "Service revenue"}
    rules = {"gl_accounts": {"4000": "401100", "4001": "999999"},
             "gl_rules": [{"nominal": "4000", "department": "022", "account": "888888"}]}
    errors = validate_rules("kashflow_invoices_to_ax", rules, chart=lambda: chart)
    assert [(e.path, e.message) for e in errors] == [
        ("gl_accounts.4001", "account 999999 is not in the target's chart of accounts"),
        ("gl_rules[0].account", "account 888888 is not in the target's chart of accounts")]
    assert validate_rules("kashflow_invoices_to_ax", rules, chart=lambda: None) == []


def test_every_catalogue_flows_defaults_are_valid():
    from integrations.sync.flows import FLOWS

    assert {key: [str(e) for e in validate_rules(key, d.default_rules())] for key, d in FLOWS.items()
            if validate_rules(key, d.default_rules())} == {}


def test_rule_kinds_describe_every_generic_section_once():
    keys = [kind.key for kind in RULE_KINDS]
    assert len(keys) == len(set(keys))
    assert {"gl_accounts", "gl_rules", "dimension_rules", "custom_fields", "lookups", "field_mappings",
            "line_handling", "routing", "enrichment", "address", "normalise", "currency", "status"} <= set(keys)
    assert [k.key for k in RULE_KINDS if k.required_first] == ["gl_accounts", "gl_rules", "tax_groups"]


def test_address_currency_status_and_normalise_sections_are_checked_by_their_own_modules():
    errors = validate_rules("kashflow_invoices_to_ax", {
        "address": {"shape": "mars"}, "currency": {"source": "moon"}, "status": {"nope": {}},
        "normalise": {"max_lengths": {"Description": 0}}})
    assert [e.path for e in errors] == ["address.shape", "normalise.max_lengths", "currency.source", "status.table"]
    assert "'moon'" in errors[2].message and "'nope'" in errors[3].message
    good = {"address": {"shape": "uk"}, "currency": {"source": "document", "rounding": "half_up"},
            "status": {"kashflow_to_ax": {}}, "normalise": {"max_lengths": {"Description": 60}}}
    assert validate_rules("kashflow_invoices_to_ax", good) == []
