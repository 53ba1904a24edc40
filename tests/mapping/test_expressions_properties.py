"""Property-based tests (hypothesis) for the mapping expression language: literals round-trip, arithmetic
agrees with Decimal, garbage never raises anything but ExpressionError, random valid expressions evaluate
within the language's bounds."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, DecimalException

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapping.expressions import (
    FUNCTIONS,
    MAX_RESULT_TEXT,
    ExpressionError,
    compile_expression,
    literal,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e30"), max_value=Decimal("1e30"),
                       places=None).filter(lambda d: -30 <= d.as_tuple().exponent <= 30)
texts = st.text(max_size=120)


@SETTINGS
@given(decimals)
def test_number_literals_round_trip(number):
    assert compile_expression(literal(number)).evaluate({}) == number


@SETTINGS
@given(texts)
def test_text_literals_round_trip(text):
    assert compile_expression(literal(text)).evaluate({}) == text


@SETTINGS
@given(st.lists(st.one_of(decimals, texts.filter(lambda t: len(t) < 20), st.booleans(), st.none(),
                          st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))), max_size=8))
def test_list_literals_round_trip(values):
    assert compile_expression(literal(values)).evaluate({}) == values


_REFERENCE = Context(prec=28, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)
_OPS = {"+": _REFERENCE.add, "-": _REFERENCE.subtract, "*": _REFERENCE.multiply, "/": _REFERENCE.divide,
        "%": _REFERENCE.remainder}


@SETTINGS
@given(decimals, decimals, st.sampled_from(sorted(_OPS)))
def test_arithmetic_agrees_with_decimal(a, b, op):
    expr = compile_expression(f"a {op} b")
    try:
        expected = _OPS[op](a, b)
    except DecimalException:
        try:
            expr.evaluate({"a": a, "b": b})
        except ExpressionError as exc:
            assert exc.position == 2
            return
        raise AssertionError("the expression accepted what Decimal refused") from None
    assert expr.evaluate({"a": a, "b": b}) == expected
    # the same with literals (constant-folded at compile time)
    folded = compile_expression(f"({literal(a)}) {op} ({literal(b)})")
    assert folded.evaluate({}) == expected


@SETTINGS
@given(decimals, decimals)
def test_comparisons_agree_with_decimal(a, b):
    variables = {"a": a, "b": b}
    assert compile_expression("a < b").evaluate(variables) == (a < b)
    assert compile_expression("a >= b").evaluate(variables) == (a >= b)
    assert compile_expression("a == b").evaluate(variables) == (a == b)


_ALPHABET = st.sampled_from(list("abcxyz0123456789 .,()[]'\"+-*/%&<>=!_\\\n")
                            + ["and", "or", "not", "in", "if", "true", "null", "upper", "round", "matches"])


@SETTINGS
@given(st.one_of(st.text(max_size=200), st.lists(_ALPHABET, max_size=60).map(" ".join),
                 st.lists(_ALPHABET, max_size=60).map("".join)))
def test_garbage_never_raises_anything_but_expression_error(text):
    try:
        expr = compile_expression(text)
    except ExpressionError as exc:
        assert 0 <= exc.position <= len(text)
        assert str(exc).endswith(f" at column {exc.position + 1}")
        return
    try:
        expr.evaluate({"a": Decimal(1), "b": "x", "x": None, "abc": {"x": [1]}})
    except ExpressionError as exc:
        assert 0 <= exc.position <= len(text)


# Random *valid* expressions: built from a grammar, so they compile; evaluation may fail with a type error
# (ExpressionError), but must end quickly with a value of the language's types and bounded size.
_VARIABLES = {"n": Decimal("12.5"), "m": Decimal(-3), "s": "Hello", "t": "wörld", "d": date(2024, 2, 29),
              "flag": True, "nothing": None, "rec": {"a": Decimal(1), "b": "x", "c": {"d": "deep"}},
              "items": ["a", Decimal(2)]}
_LEAVES = st.one_of(
    decimals.map(literal), texts.filter(lambda t: len(t) < 12).map(literal), st.sampled_from(
        ["true", "false", "null", "n", "m", "s", "t", "d", "flag", "nothing", "rec.a", "rec.b", "rec.c.d",
         "rec.missing", "items"]),
)
_BINARY = ["+", "-", "*", "/", "%", "&", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in", "not in"]
_CALLABLE = sorted((name, lo) for name, (lo, _hi, _fn) in FUNCTIONS.items() if name != "matches")


def _extend(children):
    binary = st.tuples(children, st.sampled_from(_BINARY), children).map(lambda p: f"({p[0]} {p[1]} {p[2]})")
    unary = st.tuples(st.sampled_from(["-", "not "]), children).map(lambda p: f"{p[0]}({p[1]})")
    call = st.sampled_from(_CALLABLE).flatmap(
        lambda spec: st.lists(children, min_size=spec[1], max_size=spec[1]).map(
            lambda args: f"{spec[0]}({', '.join(args)})"))
    cond = st.tuples(children, children, children).map(lambda p: f"if({p[0]}, {p[1]}, {p[2]})")
    listing = st.lists(children, max_size=3).map(lambda items: f"[{', '.join(items)}]")
    return st.one_of(binary, unary, call, cond, listing)


expressions = st.recursive(_LEAVES, _extend, max_leaves=25).filter(lambda text: len(text) <= 1000)


def _bounded(value) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_RESULT_TEXT
    if isinstance(value, list):
        return all(_bounded(item) for item in value)
    return value is None or isinstance(value, bool | Decimal | date | dict)


@SETTINGS
@given(expressions)
def test_random_valid_expressions_evaluate_within_bounds(text):
    try:
        expr = compile_expression(text)
    except ExpressionError as exc:  # a constant sub-expression that always fails is reported on compile
        assert 0 <= exc.position < len(text)
        return
    for _ in range(2):  # compiled once, evaluated many times: same answer
        try:
            result = expr.evaluate(_VARIABLES)
        except ExpressionError as exc:
            assert 0 <= exc.position < len(text)
            continue
        assert _bounded(result)
        if isinstance(result, Decimal):
            assert result.is_finite()
