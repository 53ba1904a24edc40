"""Unit tests for the mapping expression language (mapping/expressions.py): every feature, every error with
its position."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from mapping.expressions import (
    MAX_RESULT_TEXT,
    Expression,
    ExpressionError,
    as_variables,
    compile_expression,
    literal,
    validate_expression,
)

D = Decimal

VARS = {
    "invoice": {
        "number": "INV-0042",
        "customer_code": " abc01 ",
        "customer": {"code": "ABC01", "group": "Trade", "address": None},
        "currency": "GBP",
        "total": D("6000.50"),
        "paid": 0,
        "rate": 1.25,
        "issue_date": date(2024, 3, 5),
        "created": datetime(2024, 3, 5, 14, 30),
        "due_text": "2024-04-04",
        "tags": ["export", "vip"],
        "codes": (1, 2, 3),
        "custom": {"Region": "North"},
        "discount": None,
        "approved": True,
    },
    "line": {"net_amount": D("100.00"), "tax_rate": D("20"), "nominal": "4000", "qty": 3},
}


def ev(text: str, variables: dict | None = None):
    return compile_expression(text).evaluate(VARS if variables is None else variables)


def err(text: str, variables: dict | None = None, **kwargs) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, **kwargs).evaluate(VARS if variables is None else variables)
    return info.value


# --------------------------------------------------------------------------------------------- literals

@pytest.mark.parametrize(("text", "value"), [
    ("42", D("42")), ("3.14", D("3.14")), ("0.10", D("0.10")), ("-7", D("-7")), ("+7", D("7")),
    ("'single'", "single"), ('"double"', "double"), ("'a\\'b'", "a'b"), ('"a\\"b"', 'a"b'),
    ("'line\\nbreak\\ttab'", "line\nbreak\ttab"), ("'back\\\\slash'", "back\\slash"), ("'\\d+'", "\\d+"),
    ("true", True), ("false", False), ("null", None), ("TRUE", True), ("Null", None),
    ("[1, 'a', null]", [D(1), "a", None]), ("[]", []),
])
def test_literals(text, value):
    result = ev(text, {})
    assert result == value
    assert type(result) is type(value)


def test_number_literal_keeps_its_scale_exactly():
    assert str(ev("117.500", {})) == "117.500"
    assert ev("123456789012345678901234567890.123456789", {}) == D("123456789012345678901234567890.123456789")


# ------------------------------------------------------------------------------------------- variables

def test_variables_resolve_through_dicts_and_normalise_python_types():
    assert ev("invoice.number") == "INV-0042"
    assert ev("invoice.customer.code") == "ABC01"
    assert ev("invoice.paid") == D(0) and type(ev("invoice.paid")) is Decimal
    assert ev("invoice.rate") == D("1.25")  # floats through repr: no binary noise
    assert ev("invoice.created") == date(2024, 3, 5)  # datetimes become their date
    assert ev("invoice.codes") == [1, 2, 3]
    assert ev("invoice.custom") == {"Region": "North"}
    assert ev("invoice.approved") is True


def test_missing_field_is_null_and_null_records_propagate():
    assert ev("invoice.custom.Colour") is None
    assert ev("invoice.customer.address.city") is None
    assert ev("invoice.discount") is None


def test_unknown_top_level_variable_is_an_error_at_its_position():
    e = err("1 + invoce.total")
    assert e.message == "unknown variable 'invoce'" and e.position == 4
    assert str(e) == "unknown variable 'invoce' at column 5"


def test_field_of_a_non_record_is_an_error():
    e = err("upper(invoice.number.x)")
    assert e.message == "'invoice.number' is a text, not a record: it has no field 'x'"
    assert e.position == 6


def test_attribute_access_on_objects_is_impossible():
    class Secret:
        password = "hunter2"  # noqa: S105

    e = err("invoice.obj.password", {"invoice": {"obj": Secret()}})
    assert e.message == "variable 'invoice.obj' holds a Secret, which expressions cannot use"
    assert "hunter2" not in str(e)
    e = err("x", {"x": Secret()})
    assert e.message == "variable 'x' holds a Secret, which expressions cannot use"
    # dunder names are just dict keys that are not there
    assert ev("invoice.__class__") is None


def test_non_finite_numbers_are_rejected():
    assert err("x", {"x": float("nan")}).message == "variable 'x' is not a finite number"
    assert err("x + 1", {"x": D("Infinity")}).message == "variable 'x' is not a finite number"


def test_known_names_rejects_unknown_variables_at_compile_time():
    known = {"invoice", "line.net_amount", "line.tax_rate"}
    compile_expression("invoice.customer.code & line.net_amount", known_names=known)
    with pytest.raises(ExpressionError) as info:
        compile_expression("round(line.net_amont * 2, 2)", known_names=known)
    assert info.value.message == "unknown variable 'line.net_amont' (did you mean 'line.net_amount'?)"
    assert info.value.position == 6
    assert validate_expression("line.nominal", known_names=known).position == 0
    assert validate_expression("line.tax_rate > 0", known_names=known) is None


def test_names_lists_the_variables_read():
    expr = compile_expression("if(invoice.total > 5000, invoice.number, line.nominal & invoice.number)")
    assert expr.names == frozenset({"invoice.total", "invoice.number", "line.nominal"})
    assert compile_expression("1 + 2").names == frozenset()
    assert isinstance(expr, Expression) and expr.text.startswith("if(")


# ------------------------------------------------------------------------------------------ arithmetic

@pytest.mark.parametrize(("text", "value"), [
    ("1 + 2 * 3", D(7)), ("(1 + 2) * 3", D(9)), ("10 - 4 - 3", D(3)), ("2 * 3 % 4", D(2)),
    ("1 / 3", D("0.3333333333333333333333333333")), ("7 % 3", D(1)), ("-7 % 3", D(-1)),
    ("0.1 + 0.2", D("0.3")), ("line.net_amount * line.tax_rate / 100", D("20")), ("--2", D(2)),
    ("-line.qty", D(-3)), ("2 - -2", D(4)),
])
def test_arithmetic(text, value):
    assert ev(text) == value


def test_arithmetic_type_errors_point_at_the_operator():
    e = err("invoice.number + 1")
    assert e.message == "cannot add text and number (use & to join text)" and e.position == 15
    e = err("line.qty * invoice.discount")
    assert e.message == "cannot multiply number and null (use coalesce(x, 0) for missing values)"
    assert e.position == 9
    e = err("1 - line.nominal")
    assert e.message == "cannot subtract number and text (use number(x) to read text as a number)"
    assert err("true / 2").message == "cannot divide boolean and number"
    assert err("-'a'").message == "cannot negate text"
    assert err("+'a'").message == "unary '+' needs a number, got text"


def test_division_by_zero():
    e = err("line.qty / (line.qty - 3)")
    assert e.message == "division by zero" and e.position == 9
    assert err("line.qty % 0").message == "division by zero"
    # constant: reported when compiling, i.e. when the rule is saved
    with pytest.raises(ExpressionError, match="division by zero at column 3"):
        compile_expression("1 / 0")
    # but not in a branch that is never taken
    assert ev("if(false, 1 / 0, 2)", {}) == 2


def test_number_overflow_is_an_error():
    e = err("x * x", {"x": D("1E+600000")})
    assert e.message == "number out of range in '*'" and e.position == 2


def test_date_arithmetic():
    assert ev("invoice.issue_date + 30") == date(2024, 4, 4)
    assert ev("30 + invoice.issue_date") == date(2024, 4, 4)
    assert ev("invoice.issue_date - 5") == date(2024, 2, 29)
    assert ev("date(invoice.due_text) - invoice.issue_date") == D(30)
    assert err("invoice.issue_date + 1.5").message == "cannot add date and number"
    assert err("date('9999-12-31') + 1", {}).message == "date out of range"


# ------------------------------------------------------------------------------------------------ text

def test_concatenation_with_ampersand_converts_values_to_text():
    assert ev("invoice.number & '/' & line.qty") == "INV-0042/3"
    assert ev("'a' & null & true & 1.50 & invoice.issue_date") == "atrue1.502024-03-05"
    e = err("'tags: ' & invoice.tags")
    assert e.message == "cannot turn a list into text" and e.position == 9


def test_text_results_are_capped():
    long = "x" * 6000
    e = err("a & a", {"a": long})
    assert e.message == f"text result longer than {MAX_RESULT_TEXT} characters" and e.position == 2
    e = err("replace(a, 'x', 'yy')", {"a": long})
    assert e.message.startswith("replace() result would be longer") and e.position == 8
    e = err("concat(a, a)", {"a": long})
    assert e.position == 10
    # doubling through nesting stops at the cap instead of growing exponentially
    text = "'ab'"
    for _ in range(14):
        text = f"replace({text}, 'a', 'aa')"
    with pytest.raises(ExpressionError, match="longer than 10000"):
        compile_expression(text)


@pytest.mark.parametrize(("text", "value"), [
    ("upper('abc')", "ABC"), ("lower('ABC')", "abc"), ("trim(invoice.customer_code)", "abc01"),
    ("left('ABCDEF', 2)", "AB"), ("right('ABCDEF', 2)", "EF"), ("right('ABC', 0)", ""), ("left('AB', 5)", "AB"),
    ("substr('ABCDEF', 2, 3)", "BCD"), ("substr('ABCDEF', 4)", "DEF"), ("substr('AB', 5, 1)", ""),
    ("len('abc')", D(3)), ("len(invoice.tags)", D(2)), ("len(null)", D(0)),
    ("replace('a-b-c', '-', '/')", "a/b/c"), ("concat('a', 1, null, false)", "a1false"),
    ("coalesce(invoice.discount, '', 'x')", "x"), ("coalesce(null, null)", None), ("coalesce('', '')", ""),
    ("coalesce(invoice.discount, 0)", D(0)),
    ("startswith(invoice.number, 'INV')", True), ("endswith(invoice.number, '42')", True),
    ("contains(invoice.number, '-00')", True), ("contains(null, 'a')", False),
    ("upper(null)", None), ("left(null, 2)", None), ("replace(null, 'a', 'b')", None),
    ("upper('straße')", "STRASSE"),
])
def test_text_functions(text, value):
    assert ev(text) == value


def test_text_function_type_errors_point_at_the_argument():
    e = err("upper(line.qty)")
    assert e.message == "upper() expects text, got number (use text(x))" and e.position == 6
    e = err("left('abc', '2')")
    assert e.message == "left() expects a number, got text (use number(x))" and e.position == 12
    e = err("left('abc', -1)")
    assert e.message == "left() expects a whole number from 0 to 10000, got -1" and e.position == 12
    e = err("substr('abc', 0)")
    assert e.message == "substr() expects a whole number from 1 to 10000, got 0" and e.position == 14
    assert err("replace('abc', '', 'x')").message == "replace() cannot replace empty text"
    assert err("len(5)").message == "len() expects text or a list, got number"
    assert err("startswith('abc', null)").message == "startswith() expects text, got null"


# --------------------------------------------------------------------------------------------- numbers

@pytest.mark.parametrize(("text", "value"), [
    ("round(2.5)", D(3)), ("round(-2.5)", D(-3)), ("round(2.345, 2)", D("2.35")), ("round(2.344, 2)", D("2.34")),
    ("round(1234.5, -2)", D(1200)), ("round(7, 2)", D("7.00")), ("abs(-3.2)", D("3.2")), ("abs(null)", None),
    ("min(3, 1, 2)", D(1)), ("max(3, 1, 2)", D(3)), ("min('b', 'a')", "a"), ("max(null, 2)", D(2)),
    ("min(null)", None), ("max(invoice.issue_date, date('2020-01-01'))", date(2024, 3, 5)),
    ("number('12.50')", D("12.50")), ("number(' -3 ')", D(-3)), ("number('1,234.50')", D("1234.50")),
    ("number('')", None), ("number(null)", None), ("number(4)", D(4)), ("number('.5')", D("0.5")),
    ("text(1.50)", "1.50"), ("text(true)", "true"), ("text(null)", ""), ("text(invoice.issue_date)", "2024-03-05"),
    ("text(round(1234.5, -2))", "1200"),
])
def test_number_functions(text, value):
    assert ev(text) == value
    assert str(ev(text)) == str(value)


def test_round_is_half_up_not_bankers():
    assert [ev(f"round({x})", {}) for x in ("0.5", "1.5", "2.5", "-0.5")] == [D(1), D(2), D(3), D(-1)]


def test_number_function_errors():
    e = err("number('12abc')")
    assert e.message == "number() cannot read '12abc' as a number" and e.position == 7
    assert err("number('1,23')").message == "number() cannot read '1,23' as a number"
    assert err("round('1')").message == "round() expects a number, got text (use number(x))"
    assert err("round(1, 0.5)").message == "round() expects a whole number from -20 to 20, got 0.5"
    assert err("round(1, null)").message == "round() expects a number, got null (use coalesce(x, 0))"
    assert err("min(1, 'a')").message == "min() cannot compare number and text"
    assert err("min(1, 'a')").position == 7
    assert err("max(true)").message == "max() expects numbers, texts or dates, got boolean"
    e = err("round(x, 2)", {"x": D("1E+30")})
    assert e.message == "round() cannot round 1000000000000000000000000000000 to 2 places"


# ----------------------------------------------------------------------------------------------- dates

def test_date_functions():
    assert ev("date('2024-02-29')") == date(2024, 2, 29)
    assert ev("date('2024-02-29T10:11:12Z')") == date(2024, 2, 29)
    assert ev("date(2024, 2, 29)") == date(2024, 2, 29)
    assert ev("date(invoice.issue_date)") == date(2024, 3, 5)
    assert ev("date('')") is None and ev("date(null)") is None
    assert [ev(f"{f}(invoice.issue_date)") for f in ("year", "month", "day")] == [D(2024), D(3), D(5)]
    assert ev("month(invoice.due_text)") == D(4)  # ISO text is read as a date
    assert ev("year(null)") is None
    e = err("date('05/03/2024')")
    assert e.message == "date() cannot read '05/03/2024' as a date (expected YYYY-MM-DD)" and e.position == 5
    assert err("date('2023-02-29')").message.startswith("date() cannot read '2023-02-29'")
    assert err("date(2023, 2, 29)").message == "date() has no day 29 in 2023-02"
    assert err("year(5)").message == "year() expects a date, got number"


# ----------------------------------------------------------------------------------- comparison, logic

@pytest.mark.parametrize(("text", "value"), [
    ("invoice.total > 5000", True), ("invoice.total >= 6000.5", True), ("invoice.total < 1", False),
    ("invoice.total <= 6000.50", True), ("1.0 == 1", True), ("1 = 1", True), ("1 != 2", True), ("1 <> 1", False),
    ("'a' < 'b'", True), ("invoice.issue_date < date('2025-01-01')", True), ("'1' == 1", False),
    ("true == 1", False), ("null == null", True), ("invoice.discount == null", True), ("invoice.discount != 0", True),
    ("[1, 'a'] == [1.0, 'a']", True), ("invoice.codes == [1, 2, 3]", True),
    ("true and false", False), ("true or false", True), ("not true", False), ("not null", True),
    ("null or true", True), ("null and true", False), ("not 1 > 2", True),
    ("1 < 2 and 2 < 3 or false", True), ("false and 1 / 0 == 1", False), ("true or 1 / 0 == 1", True),
    ("invoice.currency in ['GBP', 'EUR']", True), ("invoice.currency not in ['GBP', 'EUR']", False),
    ("line.qty in [1, 2, 3.0]", True), ("'vip' in invoice.tags", True), ("2 in invoice.codes", True),
    ("'x' in null", False), ("'x' not in null", True), ("3 in ['3']", False),
    ("if(invoice.total > 5000, 'HOLD', 'POST')", "HOLD"), ("if(null, 1, 2)", D(2)), ("IF(true, 1, 2)", D(1)),
])
def test_comparison_and_logic(text, value):
    assert ev(text) == value


def test_comparison_and_logic_errors():
    e = err("invoice.total > '5000'")
    assert e.message == "cannot compare number and text" and e.position == 14
    e = err("invoice.discount < 5")
    assert e.message == "cannot compare null and number (use coalesce(x, ...) for missing values)"
    assert err("true < false", {}).message == "cannot order boolean values with '<'"
    e = err("invoice.total and true")
    assert e.message == "'and' needs true or false, got number" and e.position == 14
    assert err("false or 'x'", {}).message == "'or' needs true or false, got text"
    assert err("not 'x'", {}).message == "'not' needs true or false, got text"
    e = err("if(invoice.number, 1, 2)")
    assert e.message == "if() needs true or false as its condition, got text" and e.position == 3
    e = err("'a' in 'abc'", {})
    assert e.message == "'in' needs a list on its right, got text (use contains(text, part) for text)"
    assert e.position == 4


# ----------------------------------------------------------------------------------------------- regex

def test_matches():
    assert ev("matches(invoice.number, '^INV-\\d{4}$')") is True
    assert ev("matches(line.nominal, '^5')") is False
    assert ev("matches(null, 'a')") is False
    assert ev("matches(invoice.custom.Region, '(?i)^north$')") is True
    e = err("matches(line.qty, 'a')")
    assert e.message == "matches() expects text, got number" and e.position == 8
    e = err("matches(a, 'x')", {"a": "a" * 1001})
    assert e.message == "matches() text longer than 1000 characters"


@pytest.mark.parametrize(("pattern", "message"), [
    ("(a+)+$", "regex repeats a group that itself repeats or alternates; this can take too long"),
    ("(a|aa)*", "regex repeats a group that itself repeats or alternates; this can take too long"),
    ("((ab)*c){2,}", "regex repeats a group that itself repeats or alternates; this can take too long"),
    ("a*a*a*b", "regex has more than 2 unbounded repetitions; this can take too long"),
    ("(a)\\1", "regex backreferences are not allowed"),
    ("(?P<x>a)(?P=x)", "regex backreferences are not allowed"),
    ("x" * 101, "regex longer than 100 characters"),
    ("[a-", "invalid regex: unterminated character set"),
])
def test_dangerous_or_invalid_regexes_are_rejected_at_compile_time(pattern, message):
    with pytest.raises(ExpressionError) as info:
        compile_expression(f"matches(x, {literal(pattern)})")
    assert info.value.message == message
    assert info.value.position == 11


@pytest.mark.parametrize("pattern", [
    "^[A-Z]{2}\\d+$", "(ab)?c+", "(?:GB|XI)\\d{9}", "[+*(]+x", "^\\(\\d+\\)$", "a{2,5}b*", "(?=x)x.*",
])
def test_safe_regexes_are_accepted(pattern):
    compile_expression(f"matches(x, {literal(pattern)})")


def test_matches_needs_a_literal_pattern():
    e = err("matches(invoice.number, invoice.currency)")
    assert e.message == "matches() needs a literal text pattern" and e.position == 24


# --------------------------------------------------------------------------------------- syntax errors

@pytest.mark.parametrize(("text", "message", "position"), [
    ("", "empty expression", 0),
    ("   ", "empty expression", 0),
    ("1 +", "expected a value, found the end of the expression", 3),
    ("(1 + 2", "expected ')' to close '(' at column 1, found the end of the expression", 6),
    ("upper('a'", "expected ')' to close '(' at column 6, found the end of the expression", 9),
    ("[1, 2", "expected ']' to close '[' at column 1, found the end of the expression", 5),
    ("f(1,)", "unknown function 'f' (did you mean 'if'?)", 0),
    ("upper('a',)", "expected a value, found ')'", 10),
    ("1 2", "the number 2 cannot follow a complete expression (missing an operator?)", 2),
    ("'it''s'", "a text literal cannot follow a complete expression (missing an operator?)", 4),  # no SQL quoting
    ("'abc", "unterminated text literal", 0),
    ("x = 'a", "unterminated text literal", 4),
    ("1 $ 2", "unexpected character '$'", 2),
    ("a ! b", "unexpected character '!' (use 'not' or '!=')", 2),
    ("a || b", "unexpected character '|' (use 'or')", 2),
    ("2 ^ 3", "unexpected character '^' (there is no power operator)", 2),
    ("12ab", "invalid number '12ab'", 0),
    ("1.", "expected digits after the decimal point", 2),
    ("a.", "expected a field name after '.'", 2),
    ("a..b", "expected a field name after '.'", 2),
    ("1 < 2 < 3", "comparisons cannot be chained; join them with 'and'", 6),
    ("a == b in [1]", "comparisons cannot be chained; join them with 'and'", 7),
    ("a not b", "unexpected 'not' (did you mean 'not in'?)", 2),
    ("and", "expected a value, found 'and'", 0),
    ("1 + in", "expected a value, found 'in'", 4),
    ("uper(x)", "unknown function 'uper' (did you mean 'upper'?)", 0),
    ("eval('1')", "unknown function 'eval'", 0),
    ("__import__('os')", "unknown function '__import__'", 0),
    ("invoice.total(1)", "'invoice.total' is not a function", 0),
    ("if", "'if' needs arguments: if(condition, then, else)", 0),
    ("1 + if(true, 1)", "if() takes 3 arguments, got 2", 4),
    ("left('a')", "left() takes 2 arguments, got 1", 0),
    ("substr('a', 1, 2, 3)", "substr() takes 2 to 3 arguments, got 4", 0),
    ("concat()", "concat() takes at least 1 argument, got 0", 0),
    ("upper()", "upper() takes 1 argument, got 0", 0),
    ("1 + ()", "expected a value, found ')'", 5),
])
def test_syntax_errors_have_message_and_position(text, message, position):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert info.value.message == message
    assert info.value.position == position
    assert str(info.value) == f"{message} at column {position + 1}"


def test_parenthesised_comparisons_may_be_compared():
    assert ev("(1 < 2) == (3 < 4)", {}) is True


def test_functions_and_keywords_are_case_insensitive_variables_are_not():
    assert ev("UPPER('a') & Lower('B')", {}) == "Ab"
    assert ev("NOT FALSE AND TRUE", {}) is True
    assert err("Invoice.number").message == "unknown variable 'Invoice'"


# ---------------------------------------------------------------------------------------------- limits

def test_source_length_limit():
    compile_expression("1" + " " * 998 + "1"[:0])
    e = pytest.raises(ExpressionError, compile_expression, "1" + " " * 1000).value
    assert e.message == "expression longer than 1000 characters" and e.position == 1000


def test_nesting_limit():
    compile_expression("(" * 49 + "1" + ")" * 49)
    e = pytest.raises(ExpressionError, compile_expression, "(" * 50 + "1" + ")" * 50).value
    assert e.message == "expression nested too deeply (more than 50 levels)" and e.position == 50
    e = pytest.raises(ExpressionError, compile_expression, "-" * 60 + "1").value
    assert e.message.startswith("expression nested too deeply")
    e = pytest.raises(ExpressionError, compile_expression, "abs(" * 60 + "1" + ")" * 60).value
    assert e.message.startswith("expression nested too deeply")


def test_node_limit():
    compile_expression("+".join(["1"] * 250))  # 499 nodes
    e = pytest.raises(ExpressionError, compile_expression, "+".join(["1"] * 251)).value
    assert e.message == "expression too large (more than 500 parts)"
    assert e.position == 499  # the 251st '+': the 501st node


# ------------------------------------------------------------------------------------------- helpers

@pytest.mark.parametrize("value", [
    D("0"), D("-12.340"), D("1E+5"), D("123456789.000000001"), 7, -3, 2.5, "", "it's \\ \"q\"\n\t\r", True, False, None,
    date(2024, 1, 31), [D(1), "a", None, [True]],
])
def test_literal_round_trips(value):
    result = compile_expression(literal(value)).evaluate({})
    expected = as_variables(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        expected = D(repr(value)) if isinstance(value, float) else D(value)
    assert result == expected


def test_literal_refuses_what_it_cannot_render():
    with pytest.raises(ValueError):
        literal(D("NaN"))
    with pytest.raises(ValueError):
        literal(object())


def test_as_variables_keeps_native_types_of_canonical_records():
    from integrations.core.canonical import InvoiceLine

    line = InvoiceLine(number=1, description="Design", quantity=D("2"), unit_price=D("50"), net_amount=D("100"),
                       tax_amount=D("20"), tax_rate=D("20"), account_code="4001")
    variables = {"line": as_variables(line)}
    assert compile_expression("line.net_amount + line.tax_amount").evaluate(variables) == D("120")
    assert compile_expression("line.account_code & '/' & line.number").evaluate(variables) == "4001/1"


def test_compiled_expression_is_reusable_and_has_no_state():
    expr = compile_expression("if(x > 10, 'big', 'small') & '-' & text(x)")
    assert [expr.evaluate({"x": n}) for n in (5, 50, 5)] == ["small-5", "big-50", "small-5"]
    assert repr(expr) == "Expression(\"if(x > 10, 'big', 'small') & '-' & text(x)\")"


def test_non_text_source_is_an_expression_error():
    with pytest.raises(ExpressionError, match="must be text"):
        compile_expression(42)  # type: ignore[arg-type]
