"""The mapping expression language: small, sandboxed, compiled once and evaluated many times.

Tenants write expressions in their mapping rules (``if(invoice.total > 5000, 'HOLD', 'POST')``,
``upper(left(invoice.customer_code, 3)) & '-' & text(line.nominal)``). They run on the hot path of every
transform, for every record, so three things matter more than expressiveness:

* **Safety.** The text is tokenised and parsed by hand into a small AST; nothing reaches ``eval``, ``getattr``
  or the Python object model. Variables are dotted names resolved through dicts (``Mapping``) only, never
  attributes, so a rule cannot walk from a record to its class, its module or the settings. Functions come
  from a fixed whitelist. ``matches`` accepts only literal patterns, checked for the shapes that make a
  backtracking regex explode.
* **Bounded cost.** The language has no loops, no recursion and no user functions, so evaluation visits each
  AST node at most once; the AST is capped at 500 nodes, nesting at 50 levels, the source at 1,000 characters
  and every text an expression builds at 10,000 characters (``replace`` checks the size *before* it builds).
  Numbers are ``Decimal`` under a fixed 28-digit context, so no operation can grow without limit.
* **Speed.** ``compile_expression`` turns the AST into nested closures, folds constant sub-trees and
  pre-compiles literal lists and regexes, so ``Expression.evaluate`` is a handful of Python calls
  (a few microseconds for a typical rule): the transform target is ≥ 20,000 records/s per core.

Every problem raises ``ExpressionError`` with a message and the 0-based character ``position`` it is about
(str: "<message> at column <position+1>"), so the editor can reject a rule on save and point at the spot:
syntax errors, unknown functions or variables, wrong arity at compile time; type errors ("cannot add text and
number") at evaluation, at the position of the operator or argument involved.

The language reference, with examples, is ``docs/mapping-expressions.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_RESULT_TEXT",
    "MAX_SOURCE_LENGTH",
    "FUNCTIONS",
    "Expression",
    "ExpressionError",
    "as_variables",
    "compile_expression",
    "literal",
    "validate_expression",
]

MAX_SOURCE_LENGTH = 1000  # characters of expression text
MAX_DEPTH = 50  # nesting of parentheses, calls, lists and operands
MAX_NODES = 500  # AST nodes (literals, names, operators, calls)
MAX_RESULT_TEXT = 10_000  # characters of any text an expression builds
MAX_REGEX_LENGTH = 100  # characters of a matches() pattern
MAX_REGEX_SUBJECT = 1000  # characters of the text matches() searches
MAX_WIDE_REPEATS = 2  # unbounded repetitions (*, +, {n,}, {n,m} with m > 10) in one pattern

# All arithmetic runs in this context, whatever the thread's decimal context is: 28 significant digits,
# banker's rounding of inexact results (Python's default), and exponent limits that make overflow an error.
_CTX = Context(prec=28, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
               traps=[InvalidOperation, DivisionByZero, Overflow])


class ExpressionError(Exception):
    """A syntax, name, arity, type or limit error, with the 0-based character offset it concerns."""

    def __init__(self, message: str, position: int = 0):
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} at column {self.position + 1}"


# --------------------------------------------------------------------------------------------------- tokens

_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_OPERATORS = ("==", "!=", "<>", "<=", ">=", "<", ">", "=", "+", "-", "*", "/", "%", "&", "(", ")", "[", "]", ",")
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


class _Tok:
    __slots__ = ("kind", "value", "pos", "end")

    def __init__(self, kind: str, value: Any, pos: int, end: int):
        self.kind = kind  # "num" | "str" | "name" | "kw" | "op" | "end"
        self.value = value
        self.pos = pos
        self.end = end

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the expression"
        if self.kind == "str":
            return "a text literal"
        if self.kind == "num":
            return f"the number {self.value}"
        return f"'{self.value}'"


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        start = i
        if c in _DIGITS:
            while i < n and text[i] in _DIGITS:
                i += 1
            if i < n and text[i] == ".":
                i += 1
                if i >= n or text[i] not in _DIGITS:
                    raise ExpressionError("expected digits after the decimal point", i)
                while i < n and text[i] in _DIGITS:
                    i += 1
            if i < n and text[i] in _IDENT_CHARS:
                end = i
                while end < n and text[end] in _IDENT_CHARS:
                    end += 1
                raise ExpressionError(f"invalid number '{text[start:end]}'", start)
            tokens.append(_Tok("num", Decimal(text[start:i]), start, i))
            continue
        if c in _IDENT_START:
            while True:
                while i < n and text[i] in _IDENT_CHARS:
                    i += 1
                if i + 1 < n and text[i] == "." and text[i + 1] in _IDENT_START:
                    i += 1
                    continue
                break
            if i < n and text[i] == ".":
                raise ExpressionError("expected a field name after '.'", i + 1)
            word = text[start:i]
            if word.lower() in _KEYWORDS:
                tokens.append(_Tok("kw", word.lower(), start, i))
            else:
                tokens.append(_Tok("name", word, start, i))
            continue
        if c == "'" or c == '"':
            i += 1
            parts: list[str] = []
            while True:
                if i >= n:
                    raise ExpressionError("unterminated text literal", start)
                ch = text[i]
                if ch == c:
                    i += 1
                    break
                if ch == "\\":
                    esc = text[i + 1] if i + 1 < n else ""
                    if esc in _ESCAPES:
                        parts.append(_ESCAPES[esc])
                        i += 2
                    else:  # kept as written, so regexes read naturally: '^\d+$'
                        parts.append(ch)
                        i += 1
                    continue
                parts.append(ch)
                i += 1
            tokens.append(_Tok("str", "".join(parts), start, i))
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(_Tok("op", op, i, i + len(op)))
                i += len(op)
                break
        else:
            hint = {"!": " (use 'not' or '!=')", "|": " (use 'or')", "^": " (there is no power operator)"}.get(c, "")
            raise ExpressionError(f"unexpected character '{c}'{hint}", i)
    tokens.append(_Tok("end", None, n, n))
    return tokens


# ------------------------------------------------------------------------------------------------------ AST

@dataclasses.dataclass(slots=True)
class _Node:
    kind: str  # "lit" | "name" | "list" | "neg" | "pos" | "not" | "bin" | "cmp" | "and" | "or" | "in" | "call"
    pos: int  # where errors about this node point (the operator, the function name, the literal)
    start: int  # where the node's text begins
    value: Any = None  # literal value, name, operator or function name
    args: tuple[_Node, ...] = ()


# binding powers: or < and < not < comparison/in < & < + - < * / % < unary
_BP_OR, _BP_AND, _BP_NOT, _BP_CMP, _BP_CONCAT, _BP_ADD, _BP_MUL, _BP_UNARY = 10, 20, 30, 40, 50, 60, 70, 80
_INFIX = {
    "or": _BP_OR, "and": _BP_AND,
    "==": _BP_CMP, "=": _BP_CMP, "!=": _BP_CMP, "<>": _BP_CMP, "<": _BP_CMP, "<=": _BP_CMP, ">": _BP_CMP,
    ">=": _BP_CMP, "in": _BP_CMP, "not": _BP_CMP,  # "not in"
    "&": _BP_CONCAT, "+": _BP_ADD, "-": _BP_ADD, "*": _BP_MUL, "/": _BP_MUL, "%": _BP_MUL,
}
_CMP_CANON = {"==": "==", "=": "==", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.nodes = 0

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def node(self, kind: str, pos: int, start: int, value: Any = None, args: tuple[_Node, ...] = ()) -> _Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"expression too large (more than {MAX_NODES} parts)", pos)
        return _Node(kind, pos, start, value, args)

    def expect(self, op: str, opener: _Tok | None = None) -> _Tok:
        tok = self.peek()
        if tok.kind == "op" and tok.value == op:
            return self.take()
        where = f" to close '{opener.value}' at column {opener.pos + 1}" if opener else ""
        raise ExpressionError(f"expected '{op}'{where}, found {tok.describe()}", tok.pos)

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise ExpressionError("empty expression", 0)
        tree = self.expression(0)
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"{tok.describe()} cannot follow a complete expression (missing an operator?)",
                                  tok.pos)
        return tree

    def expression(self, min_bp: int) -> _Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested too deeply (more than {MAX_DEPTH} levels)", self.peek().pos)
        left = self.prefix()
        chained = False  # the left operand is a comparison built in this loop (not parenthesised)
        while True:
            tok = self.peek()
            if tok.kind not in ("op", "kw") or tok.value not in _INFIX:
                break
            bp = _INFIX[tok.value]
            if bp <= min_bp:
                break
            if tok.value == "not":  # only "not in" is an infix use of 'not'
                nxt = self.tokens[self.i + 1]
                if not (nxt.kind == "kw" and nxt.value == "in"):
                    raise ExpressionError("unexpected 'not' (did you mean 'not in'?)", tok.pos)
            if bp == _BP_CMP and chained:
                raise ExpressionError("comparisons cannot be chained; join them with 'and'", tok.pos)
            self.take()
            if tok.value == "not":
                self.take()  # "in"
            right = self.expression(bp)
            chained = bp == _BP_CMP
            if tok.value in ("and", "or"):
                left = self.node(tok.value, tok.pos, left.start, None, (left, right))
            elif tok.value in ("in", "not"):
                left = self.node("in", tok.pos, left.start, tok.value == "not", (left, right))
            elif tok.value in _CMP_CANON:
                left = self.node("cmp", tok.pos, left.start, _CMP_CANON[tok.value], (left, right))
            else:
                left = self.node("bin", tok.pos, left.start, tok.value, (left, right))
        self.depth -= 1
        return left

    def prefix(self) -> _Node:
        tok = self.take()
        if tok.kind == "num":
            return self.node("lit", tok.pos, tok.pos, tok.value)
        if tok.kind == "str":
            return self.node("lit", tok.pos, tok.pos, tok.value)
        if tok.kind == "kw":
            if tok.value in ("true", "false"):
                return self.node("lit", tok.pos, tok.pos, tok.value == "true")
            if tok.value == "null":
                return self.node("lit", tok.pos, tok.pos, None)
            if tok.value == "not":
                operand = self.expression(_BP_NOT)
                return self.node("not", tok.pos, tok.pos, None, (operand,))
            raise ExpressionError(f"expected a value, found '{tok.value}'", tok.pos)
        if tok.kind == "name":
            nxt = self.peek()
            if nxt.kind == "op" and nxt.value == "(":
                return self.call(tok)
            if tok.value.lower() == "if":
                raise ExpressionError("'if' needs arguments: if(condition, then, else)", tok.pos)
            return self.node("name", tok.pos, tok.pos, tok.value)
        if tok.kind == "op":
            if tok.value in ("-", "+"):
                operand = self.expression(_BP_UNARY)
                return self.node("neg" if tok.value == "-" else "pos", tok.pos, tok.pos, None, (operand,))
            if tok.value == "(":
                inner = self.expression(0)
                self.expect(")", tok)
                inner.start = tok.pos
                return inner
            if tok.value == "[":
                items = self.sequence("]", tok)
                return self.node("list", tok.pos, tok.pos, None, tuple(items))
        raise ExpressionError(f"expected a value, found {tok.describe()}", tok.pos)

    def sequence(self, closer: str, opener: _Tok) -> list[_Node]:
        items: list[_Node] = []
        if self.peek().kind == "op" and self.peek().value == closer:
            self.take()
            return items
        while True:
            items.append(self.expression(0))
            tok = self.peek()
            if tok.kind == "op" and tok.value == ",":
                self.take()
                continue
            self.expect(closer, opener)
            return items

    def call(self, name_tok: _Tok) -> _Node:
        opener = self.take()  # "("
        fname = name_tok.value.lower()
        if "." in fname:
            raise ExpressionError(f"'{name_tok.value}' is not a function", name_tok.pos)
        if fname != "if" and fname not in FUNCTIONS:
            close = difflib.get_close_matches(fname, [*FUNCTIONS, "if"], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ExpressionError(f"unknown function '{name_tok.value}'{hint}", name_tok.pos)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested too deeply (more than {MAX_DEPTH} levels)", opener.pos)
        args = self.sequence(")", opener)
        self.depth -= 1
        lo, hi = (3, 3) if fname == "if" else FUNCTIONS[fname][0:2]
        if not lo <= len(args) <= (hi if hi is not None else len(args)):
            raise ExpressionError(f"{fname}() takes {_arity_text(lo, hi)}, got {len(args)}", name_tok.pos)
        return self.node("call", name_tok.pos, name_tok.pos, fname, tuple(args))


def _arity_text(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"at least {lo} argument{'s' if lo != 1 else ''}"
    if lo == hi:
        return f"{lo} argument{'s' if lo != 1 else ''}"
    return f"{lo} to {hi} arguments"


# ----------------------------------------------------------------------------------------------- values

def _typename(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, date):
        return "date"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "record"
    return type(value).__name__


def _normalize(value: Any, name: str, pos: int) -> Any:
    """Bring a variable's Python value into the language's types (number, text, boolean, null, date, list,
    record). Ints and floats become Decimal (floats through their repr, so 0.1 stays 0.1); datetimes become
    their date; tuples become lists."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ExpressionError(f"variable '{name}' is not a finite number", pos)
        return Decimal(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError(f"variable '{name}' is not a finite number", pos)
        return Decimal(repr(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return value
    raise ExpressionError(f"variable '{name}' holds a {type(value).__name__}, which expressions cannot use", pos)


def _elem(value: Any) -> Any:
    """Normalise a list element (lists from variables are normalised lazily, when used)."""
    cls = value.__class__
    if cls is str or cls is Decimal or value is None or cls is bool:
        return value
    return _normalize(value, "list element", 0)


def _to_text(value: Any, pos: int) -> str:
    cls = value.__class__
    if cls is str:
        return value
    if value is None:
        return ""
    if cls is Decimal:
        return format(value, "f")
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, date):
        return value.isoformat()
    raise ExpressionError(f"cannot turn a {_typename(value)} into text", pos)


def _eq(a: Any, b: Any) -> bool:
    if a.__class__ is b.__class__:
        if a.__class__ is list:
            return len(a) == len(b) and all(_eq(_elem(x), _elem(y)) for x, y in zip(a, b, strict=True))
        return a == b
    ka, kb = _typename(a), _typename(b)
    if ka != kb:
        return False
    if ka == "list":
        return len(a) == len(b) and all(_eq(_elem(x), _elem(y)) for x, y in zip(a, b, strict=True))
    return a == b


# ----------------------------------------------------------------------------------------------- functions

class _ArgError(Exception):
    """Raised by a function implementation about one of its arguments (index), mapped to its position."""

    def __init__(self, index: int, message: str):
        self.index = index
        self.message = message


def _text_arg(fname: str, value: Any, index: int) -> str:
    if value.__class__ is str:
        return value
    hint = " (use text(x))" if isinstance(value, Decimal) or isinstance(value, date) else ""
    raise _ArgError(index, f"{fname}() expects text, got {_typename(value)}{hint}")


def _num_arg(fname: str, value: Any, index: int) -> Decimal:
    if value.__class__ is Decimal:
        return value
    hint = " (use number(x))" if isinstance(value, str) else " (use coalesce(x, 0))" if value is None else ""
    raise _ArgError(index, f"{fname}() expects a number, got {_typename(value)}{hint}")


def _int_arg(fname: str, value: Any, index: int, lo: int, hi: int) -> int:
    number = _num_arg(fname, value, index)
    if number != number.to_integral_value() or not lo <= number <= hi:
        raise _ArgError(index, f"{fname}() expects a whole number from {lo} to {hi}, got {_to_text(number, 0)}")
    return int(number)


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.+\-Z]*)?")


def _date_arg(fname: str, value: Any, index: int) -> date:
    if isinstance(value, date):
        return value
    if value.__class__ is str:
        found = _ISO_DATE.fullmatch(value.strip())
        if found:
            try:
                return date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                pass
        raise _ArgError(index, f"{fname}() cannot read '{value[:40]}' as a date (expected YYYY-MM-DD)")
    raise _ArgError(index, f"{fname}() expects a date, got {_typename(value)}")


def _text_fn(fname: str, op: Callable[..., Any]) -> Callable[..., Any]:
    """A function whose first argument is text; null in -> null out."""

    def fn(value: Any, *rest: Any) -> Any:
        if value is None:
            return None
        return op(_text_arg(fname, value, 0), *rest)

    return fn


def _f_left(text: Any, count: Any) -> Any:
    n = _int_arg("left", count, 1, 0, MAX_RESULT_TEXT)
    return None if text is None else _text_arg("left", text, 0)[:n]


def _f_right(text: Any, count: Any) -> Any:
    n = _int_arg("right", count, 1, 0, MAX_RESULT_TEXT)
    return None if text is None else (_text_arg("right", text, 0)[-n:] if n else "")


def _f_substr(text: Any, start: Any, length: Any = None) -> Any:
    first = _int_arg("substr", start, 1, 1, MAX_RESULT_TEXT)
    count = MAX_RESULT_TEXT if length is None else _int_arg("substr", length, 2, 0, MAX_RESULT_TEXT)
    return None if text is None else _text_arg("substr", text, 0)[first - 1:first - 1 + count]


def _f_len(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if value.__class__ is str or value.__class__ is list:
        return Decimal(len(value))
    raise _ArgError(0, f"len() expects text or a list, got {_typename(value)}")


def _f_replace(text: Any, old: Any, new: Any) -> Any:
    old_t = _text_arg("replace", old, 1)
    new_t = _text_arg("replace", new, 2)
    if text is None:
        return None
    source = _text_arg("replace", text, 0)
    if not old_t:
        raise _ArgError(1, "replace() cannot replace empty text")
    grown = len(source) + source.count(old_t) * (len(new_t) - len(old_t))
    if grown > MAX_RESULT_TEXT:
        raise _ArgError(0, f"replace() result would be longer than {MAX_RESULT_TEXT} characters")
    return source.replace(old_t, new_t)


def _f_concat(*values: Any) -> str:
    parts = []
    size = 0
    for index, value in enumerate(values):
        try:
            part = _to_text(value, 0)
        except ExpressionError as exc:
            raise _ArgError(index, f"concat(): {exc.message}") from None
        size += len(part)
        if size > MAX_RESULT_TEXT:
            raise _ArgError(index, f"concat() result longer than {MAX_RESULT_TEXT} characters")
        parts.append(part)
    return "".join(parts)


_ZERO = Decimal(0)
_QUANTUMS = {Decimal(n): Decimal(1).scaleb(-n) for n in range(-20, 21)}  # places -> quantize exponent


def _f_round(value: Any, places: Any = _ZERO) -> Any:
    quantum = _QUANTUMS.get(places) if places.__class__ is Decimal else None
    if quantum is None:
        _int_arg("round", places, 1, -20, 20)  # raises the argument error
    if value is None:
        return None
    number = _num_arg("round", value, 0)
    try:
        rounded = number.quantize(quantum, rounding=ROUND_HALF_UP, context=_CTX)
        return rounded.quantize(_ZERO, context=_CTX) if rounded.as_tuple().exponent > 0 else rounded  # 1200, not 1.2E+3
    except DecimalException:
        raise _ArgError(0, f"round() cannot round {_to_text(number, 0)} to {_to_text(places, 0)} places") from None


def _f_abs(value: Any) -> Any:
    return None if value is None else _num_arg("abs", value, 0).copy_abs()


def _minmax(fname: str, pick: Callable[..., Any]) -> Callable[..., Any]:
    def fn(*values: Any) -> Any:
        present = [(i, v) for i, v in enumerate(values) if v is not None]
        if not present:
            return None
        kind = _typename(present[0][1])
        if kind not in ("number", "text", "date"):
            raise _ArgError(present[0][0], f"{fname}() expects numbers, texts or dates, got {kind}")
        for index, value in present:
            if _typename(value) != kind:
                raise _ArgError(index, f"{fname}() cannot compare {kind} and {_typename(value)}")
        return pick(v for _, v in present)

    return fn


_NUMBER_TEXT = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")


def _f_number(value: Any) -> Any:
    if value is None or value.__class__ is Decimal:
        return value
    if value.__class__ is str:
        cleaned = value.strip()
        if cleaned == "":
            return None
        if len(cleaned) <= 100 and _NUMBER_TEXT.fullmatch(cleaned):
            return Decimal(cleaned.replace(",", ""))
        raise _ArgError(0, f"number() cannot read '{value[:40]}' as a number")
    raise _ArgError(0, f"number() expects text or a number, got {_typename(value)}")


def _f_text(value: Any) -> str:
    try:
        return _to_text(value, 0)
    except ExpressionError as exc:
        raise _ArgError(0, f"text(): {exc.message}") from None


def _f_date(first: Any, month: Any = None, day: Any = None) -> Any:
    if month is None and day is None:
        if first is None:
            return None
        if first.__class__ is str and first.strip() == "":
            return None
        return _date_arg("date", first, 0)
    y = _int_arg("date", first, 0, 1, 9999)
    m = _int_arg("date", month, 1, 1, 12)
    d = _int_arg("date", day, 2, 1, 31)
    try:
        return date(y, m, d)
    except ValueError:
        raise _ArgError(2, f"date() has no day {d} in {y}-{m:02d}") from None


def _date_part(fname: str, attr: str) -> Callable[[Any], Any]:
    def fn(value: Any) -> Any:
        return None if value is None else Decimal(getattr(_date_arg(fname, value, 0), attr))

    return fn


def _text_test(fname: str, test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    def fn(text: Any, part: Any) -> bool:
        part_t = _text_arg(fname, part, 1)
        if text is None:
            return False
        return test(_text_arg(fname, text, 0), part_t)

    return fn


def _f_coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    return values[-1] if values and values[-1] == "" else None


def _f_matches(text: Any, pattern: Any) -> bool:  # compiled specially: see _Compiler.c_call
    raise AssertionError("matches() is compiled specially")


# name -> (min args, max args or None for any, implementation)
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "upper": (1, 1, _text_fn("upper", lambda t: t.upper())),
    "lower": (1, 1, _text_fn("lower", lambda t: t.lower())),
    "trim": (1, 1, _text_fn("trim", lambda t: t.strip())),
    "left": (2, 2, _f_left),
    "right": (2, 2, _f_right),
    "substr": (2, 3, _f_substr),
    "len": (1, 1, _f_len),
    "replace": (3, 3, _f_replace),
    "concat": (1, None, _f_concat),
    "coalesce": (1, None, _f_coalesce),
    "round": (1, 2, _f_round),
    "abs": (1, 1, _f_abs),
    "min": (1, None, _minmax("min", min)),
    "max": (1, None, _minmax("max", max)),
    "number": (1, 1, _f_number),
    "text": (1, 1, _f_text),
    "date": (1, 3, _f_date),
    "year": (1, 1, _date_part("year", "year")),
    "month": (1, 1, _date_part("month", "month")),
    "day": (1, 1, _date_part("day", "day")),
    "startswith": (2, 2, _text_test("startswith", lambda t, p: t.startswith(p))),
    "endswith": (2, 2, _text_test("endswith", lambda t, p: t.endswith(p))),
    "contains": (2, 2, _text_test("contains", lambda t, p: p in t)),
    "matches": (2, 2, _f_matches),
}
_GROWS_TEXT = {"upper", "lower"}  # unicode case mapping can lengthen text ('ß' -> 'SS')


# ------------------------------------------------------------------------------------------------ regexes

def _check_regex(pattern: str, pos: int) -> re.Pattern[str]:
    """Accept only patterns whose backtracking is bounded on short texts.

    Python's ``re`` has no timeout, so the shapes that explode are refused instead: backreferences,
    a repeated group that itself contains a repetition or an alternation (``(a+)+``, ``(a|aa)*``), and more
    than two unbounded repetitions (``a*a*a*b`` is already O(n³)). With the subject capped at 1,000
    characters, what is left runs in at most about n² steps.
    """
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ExpressionError(f"regex longer than {MAX_REGEX_LENGTH} characters", pos)
    stack: list[list[bool]] = [[False, False]]  # per open group: [contains a repetition, contains '|']
    closed: list[bool] | None = None  # the group that ended just before the current character
    wide = 0
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1] if i + 1 < n else ""
            if (nxt.isdigit() and nxt != "0") or nxt == "g":
                raise ExpressionError("regex backreferences are not allowed", pos)
            i += 2
            closed = None
            continue
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            closed = None
            continue
        if c == "(":
            if pattern.startswith("(?P=", i) or pattern.startswith("(?(", i):
                raise ExpressionError("regex backreferences are not allowed", pos)
            stack.append([False, False])
            i += 1
            if i < n and pattern[i] == "?":  # (?:  (?=  (?!  (?<=  (?<!  (?P<name>  (?i)
                i += 1
                if pattern.startswith("P<", i):
                    end = pattern.find(">", i)
                    i = n if end < 0 else end + 1
                elif pattern.startswith("<=", i) or pattern.startswith("<!", i):
                    i += 2
                else:
                    while i < n and pattern[i] in "aiLmsux-":
                        i += 1
                    if i < n and pattern[i] in ":=!":
                        i += 1
            closed = None
            continue
        if c == ")":
            if len(stack) > 1:
                closed = stack.pop()
                stack[-1][0] |= closed[0]
                stack[-1][1] |= closed[1]
            i += 1
            continue
        if c == "|":
            stack[-1][1] = True
        elif c in "*+?" or (c == "{" and re.match(r"\{\d*(,\d*)?\}", pattern[i:])):
            if c == "{":
                spec = re.match(r"\{(\d*)(,?)(\d*)\}", pattern[i:])
                assert spec is not None
                upper = spec[3] if spec[2] else spec[1]
                unbounded = upper == "" or int(upper) > 10
                i += len(spec[0]) - 1
            else:
                unbounded = c != "?"
            if unbounded:
                wide += 1
                if closed is not None and (closed[0] or closed[1]):
                    raise ExpressionError("regex repeats a group that itself repeats or alternates; "
                                          "this can take too long", pos)
            stack[-1][0] = True
            if i + 1 < n and pattern[i + 1] in "?+":  # lazy / possessive suffix
                i += 1
        closed = None
        i += 1
    if wide > MAX_WIDE_REPEATS:
        raise ExpressionError(f"regex has more than {MAX_WIDE_REPEATS} unbounded repetitions; "
                              "this can take too long", pos)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ExpressionError(f"invalid regex: {exc.msg}", pos) from None


# ----------------------------------------------------------------------------------------------- compiler

_NOT_CONST = object()
_Fn = Callable[[Mapping[str, Any]], Any]


def _const_fn(value: Any) -> _Fn:
    return lambda _vars: value


class _Compiler:
    def __init__(self, known_names: Iterable[str] | None):
        self.known = None if known_names is None else frozenset(known_names)
        self.names: set[str] = set()

    def compile_all(self, node: _Node) -> _Fn:
        self._consts: dict[int, Any] = {}
        return self._compile(node)

    def _compile(self, node: _Node) -> _Fn:
        """Compile a node to a closure. A node whose operands are all constants is evaluated once, now
        (constant folding); if that fails, the error is left for evaluation time, because the branch may never
        be taken: if(false, 1/0, 2)."""
        fn, const = getattr(self, "c_" + node.kind)(node)
        if const is not _NOT_CONST:
            self._consts[id(node)] = const
            return fn
        if node.kind != "list":  # a folded list would be one shared, mutable object
            if node.args and all(id(arg) in self._consts for arg in node.args):
                try:
                    value = fn({})
                except ExpressionError:
                    return fn
                self._consts[id(node)] = value
                return _const_fn(value)
        return fn

    # -- leaves
    def c_lit(self, node: _Node) -> tuple[_Fn, Any]:
        return _const_fn(node.value), node.value

    def c_name(self, node: _Node) -> tuple[_Fn, Any]:
        full, pos = node.value, node.pos
        if self.known is not None:
            parts = full.split(".")
            prefixes = {".".join(parts[:k]) for k in range(1, len(parts) + 1)}
            if not prefixes & self.known:
                close = difflib.get_close_matches(full, sorted(self.known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ExpressionError(f"unknown variable '{full}'{hint}", pos)
        self.names.add(full)
        first, *rest = full.split(".")

        if not rest:
            def name(variables: Mapping[str, Any]) -> Any:
                try:
                    value = variables[first]
                except KeyError:
                    raise ExpressionError(f"unknown variable '{full}'", pos) from None
                cls = value.__class__
                if cls is str or value is None or cls is bool or (cls is Decimal and value.is_finite()):
                    return value
                return _normalize(value, full, pos)

            return name, _NOT_CONST

        path = tuple(rest)

        def dotted(variables: Mapping[str, Any]) -> Any:
            try:
                value = variables[first]
            except KeyError:
                raise ExpressionError(f"unknown variable '{first}'", pos) from None
            walked = first
            for part in path:
                if value is None:
                    return None
                if value.__class__ is dict or isinstance(value, Mapping):
                    value = value.get(part)
                else:
                    kind = _typename(_normalize(value, walked, pos))
                    raise ExpressionError(f"'{walked}' is a {kind}, not a record: it has no field '{part}'", pos)
                walked = walked + "." + part
            cls = value.__class__
            if cls is str or value is None or cls is bool or (cls is Decimal and value.is_finite()):
                return value
            return _normalize(value, full, pos)

        return dotted, _NOT_CONST

    def c_list(self, node: _Node) -> tuple[_Fn, Any]:
        items = [self._compile(arg) for arg in node.args]
        return (lambda variables: [item(variables) for item in items]), _NOT_CONST

    # -- unary
    def c_neg(self, node: _Node) -> tuple[_Fn, Any]:
        operand, pos = self._compile(node.args[0]), node.pos

        def neg(variables: Mapping[str, Any]) -> Any:
            value = operand(variables)
            if value.__class__ is Decimal:
                return value.copy_negate()
            raise ExpressionError(f"cannot negate {_typename(value)}", pos)

        return neg, _NOT_CONST

    def c_pos(self, node: _Node) -> tuple[_Fn, Any]:
        operand, pos = self._compile(node.args[0]), node.pos

        def plus(variables: Mapping[str, Any]) -> Any:
            value = operand(variables)
            if value.__class__ is Decimal:
                return value
            raise ExpressionError(f"unary '+' needs a number, got {_typename(value)}", pos)

        return plus, _NOT_CONST

    def c_not(self, node: _Node) -> tuple[_Fn, Any]:
        operand, pos = self._compile(node.args[0]), node.pos

        def negate(variables: Mapping[str, Any]) -> bool:
            value = operand(variables)
            if value is True:
                return False
            if value is False or value is None:
                return True
            raise ExpressionError(f"'not' needs true or false, got {_typename(value)}", pos)

        return negate, _NOT_CONST

    # -- logic (short-circuit; null counts as false)
    def c_and(self, node: _Node) -> tuple[_Fn, Any]:
        left, right, pos = self._compile(node.args[0]), self._compile(node.args[1]), node.pos

        def both(variables: Mapping[str, Any]) -> bool:
            a = left(variables)
            if a is False or a is None:
                return False
            if a is not True:
                raise ExpressionError(f"'and' needs true or false, got {_typename(a)}", pos)
            b = right(variables)
            if b is True:
                return True
            if b is False or b is None:
                return False
            raise ExpressionError(f"'and' needs true or false, got {_typename(b)}", pos)

        return both, _NOT_CONST

    def c_or(self, node: _Node) -> tuple[_Fn, Any]:
        left, right, pos = self._compile(node.args[0]), self._compile(node.args[1]), node.pos

        def either(variables: Mapping[str, Any]) -> bool:
            a = left(variables)
            if a is True:
                return True
            if a is not False and a is not None:
                raise ExpressionError(f"'or' needs true or false, got {_typename(a)}", pos)
            b = right(variables)
            if b is True:
                return True
            if b is False or b is None:
                return False
            raise ExpressionError(f"'or' needs true or false, got {_typename(b)}", pos)

        return either, _NOT_CONST

    # -- arithmetic and text
    def c_bin(self, node: _Node) -> tuple[_Fn, Any]:
        left, right, pos, op = self._compile(node.args[0]), self._compile(node.args[1]), node.pos, node.value
        if op == "&":
            def join(variables: Mapping[str, Any]) -> str:
                a, b = left(variables), right(variables)
                if a.__class__ is not str or b.__class__ is not str:
                    a, b = _to_text(a, pos), _to_text(b, pos)
                if len(a) + len(b) > MAX_RESULT_TEXT:
                    raise ExpressionError(f"text result longer than {MAX_RESULT_TEXT} characters", pos)
                return a + b

            return join, _NOT_CONST
        method = {"+": _CTX.add, "-": _CTX.subtract, "*": _CTX.multiply, "/": _CTX.divide, "%": _CTX.remainder}[op]

        def arith(variables: Mapping[str, Any]) -> Any:
            a, b = left(variables), right(variables)
            if a.__class__ is Decimal and b.__class__ is Decimal:
                try:
                    return method(a, b)
                except DecimalException:
                    raise _decimal_error(op, b, pos) from None
            return _arith_other(op, a, b, pos)

        return arith, _NOT_CONST

    # -- comparison and membership
    def c_cmp(self, node: _Node) -> tuple[_Fn, Any]:
        left, right, pos, op = self._compile(node.args[0]), self._compile(node.args[1]), node.pos, node.value
        if op == "==":
            return (lambda variables: _eq(left(variables), right(variables))), _NOT_CONST
        if op == "!=":
            return (lambda variables: not _eq(left(variables), right(variables))), _NOT_CONST
        test = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op]

        def order(variables: Mapping[str, Any]) -> bool:
            a, b = left(variables), right(variables)
            if a.__class__ is b.__class__ and (a.__class__ is Decimal or a.__class__ is str or a.__class__ is date):
                return test(a, b)
            ka, kb = _typename(a), _typename(b)
            if ka == kb and ka in ("number", "text", "date"):
                return test(a, b)
            if ka == kb:
                raise ExpressionError(f"cannot order {ka} values with '{op}'", pos)
            hint = " (use coalesce(x, ...) for missing values)" if "null" in (ka, kb) else ""
            raise ExpressionError(f"cannot compare {ka} and {kb}{hint}", pos)

        return order, _NOT_CONST

    def c_in(self, node: _Node) -> tuple[_Fn, Any]:
        left, pos, negate = self._compile(node.args[0]), node.pos, bool(node.value)
        target = node.args[1]
        if target.kind == "list" and all(arg.kind == "lit" and arg.value.__class__ is str for arg in target.args):
            choices = frozenset(arg.value for arg in target.args)  # the common case: code in ['A', 'B']

            def in_texts(variables: Mapping[str, Any]) -> bool:
                value = left(variables)
                return (value.__class__ is str and value in choices) is not negate

            return in_texts, _NOT_CONST
        right = self._compile(target)

        def member(variables: Mapping[str, Any]) -> bool:
            value, items = left(variables), right(variables)
            if items is None:
                return negate
            if items.__class__ is not list:
                raise ExpressionError(f"'in' needs a list on its right, got {_typename(items)} "
                                      "(use contains(text, part) for text)", pos)
            return any(_eq(value, _elem(item)) for item in items) is not negate

        return member, _NOT_CONST

    # -- calls
    def c_call(self, node: _Node) -> tuple[_Fn, Any]:
        fname, pos = node.value, node.pos
        if fname == "if":
            cond, then, other = (self._compile(arg) for arg in node.args)

            def choose(variables: Mapping[str, Any]) -> Any:
                flag = cond(variables)
                if flag is True:
                    return then(variables)
                if flag is False or flag is None:
                    return other(variables)
                raise ExpressionError(f"if() needs true or false as its condition, got {_typename(flag)}",
                                      node.args[0].start)

            return choose, _NOT_CONST
        if fname == "matches":
            pattern_node = node.args[1]
            if pattern_node.kind != "lit" or pattern_node.value.__class__ is not str:
                raise ExpressionError("matches() needs a literal text pattern", pattern_node.start)
            regex = _check_regex(pattern_node.value, pattern_node.pos)
            subject, subject_pos = self._compile(node.args[0]), node.args[0].start

            def matches(variables: Mapping[str, Any]) -> bool:
                text = subject(variables)
                if text is None:
                    return False
                if text.__class__ is not str:
                    raise ExpressionError(f"matches() expects text, got {_typename(text)}", subject_pos)
                if len(text) > MAX_REGEX_SUBJECT:
                    raise ExpressionError(f"matches() text longer than {MAX_REGEX_SUBJECT} characters", subject_pos)
                return regex.search(text) is not None

            return matches, _NOT_CONST
        impl = FUNCTIONS[fname][2]
        args = [self._compile(arg) for arg in node.args]
        starts = [arg.start for arg in node.args]
        grows = fname in _GROWS_TEXT

        def fail(exc: _ArgError) -> ExpressionError:
            return ExpressionError(exc.message, starts[exc.index] if exc.index < len(starts) else pos)

        if len(args) == 1:
            (a0,) = args

            def call1(variables: Mapping[str, Any]) -> Any:
                try:
                    result = impl(a0(variables))
                except _ArgError as exc:
                    raise fail(exc) from None
                if grows and result is not None and len(result) > MAX_RESULT_TEXT:
                    raise ExpressionError(f"text result longer than {MAX_RESULT_TEXT} characters", pos)
                return result

            return call1, _NOT_CONST
        if len(args) == 2:
            a0, a1 = args

            def call2(variables: Mapping[str, Any]) -> Any:
                try:
                    return impl(a0(variables), a1(variables))
                except _ArgError as exc:
                    raise fail(exc) from None

            return call2, _NOT_CONST

        def call(variables: Mapping[str, Any]) -> Any:
            try:
                return impl(*[arg(variables) for arg in args])
            except _ArgError as exc:
                raise fail(exc) from None

        return call, _NOT_CONST


_VERBS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "take the remainder of"}


def _decimal_error(op: str, divisor: Decimal, pos: int) -> ExpressionError:
    if op in "/%" and divisor.is_zero():
        return ExpressionError("division by zero", pos)
    return ExpressionError(f"number out of range in '{op}'", pos)


def _arith_other(op: str, a: Any, b: Any, pos: int) -> Any:
    """Arithmetic beyond number op number: date ± whole days, date - date (days); everything else is an error."""
    if op in "+-" and isinstance(a, date) and b.__class__ is Decimal and b == b.to_integral_value():
        try:
            return a + timedelta(days=int(b) if op == "+" else -int(b))
        except (OverflowError, ValueError):
            raise ExpressionError("date out of range", pos) from None
    if op == "+" and a.__class__ is Decimal and isinstance(b, date) and a == a.to_integral_value():
        try:
            return b + timedelta(days=int(a))
        except (OverflowError, ValueError):
            raise ExpressionError("date out of range", pos) from None
    if op == "-" and isinstance(a, date) and isinstance(b, date):
        return Decimal((a - b).days)
    ka, kb = _typename(a), _typename(b)
    hint = ""
    if op == "+" and "text" in (ka, kb):
        hint = " (use & to join text)"
    elif "null" in (ka, kb):
        hint = " (use coalesce(x, 0) for missing values)"
    elif "text" in (ka, kb):
        hint = " (use number(x) to read text as a number)"
    raise ExpressionError(f"cannot {_VERBS[op]} {ka} and {kb}{hint}", pos)


# ----------------------------------------------------------------------------------------------- public API

class Expression:
    """A compiled expression: immutable, thread-safe, cheap to evaluate many times."""

    __slots__ = ("text", "names", "_fn")

    def __init__(self, text: str, names: frozenset[str], fn: _Fn):
        self.text = text
        self.names = names  # the dotted variable names the expression reads
        self._fn = fn

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate against ``variables`` (a dict of top-level names; nested values are dicts).

        Returns a Decimal, str, bool, None, date, list or the record (dict) a name points at. Raises
        ExpressionError for type errors, unknown top-level variables and limits."""
        return self._fn(variables)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def compile_expression(text: str, *, known_names: Iterable[str] | None = None) -> Expression:
    """Parse, check and compile ``text``.

    ``known_names``: when given, every variable must be one of these dotted names or lie below one of them
    (``invoice`` admits ``invoice.customer.code``); anything else is an "unknown variable" error at compile
    time, so a rule is rejected on save rather than failing on the first record."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}", 0)
    if len(text) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_SOURCE_LENGTH} characters", MAX_SOURCE_LENGTH)
    tree = _Parser(text).parse()
    compiler = _Compiler(known_names)
    fn = compiler.compile_all(tree)
    if not compiler.names:
        fn({})  # reads no variable, so an error here would happen on every record: report it on save
    return Expression(text, frozenset(compiler.names), fn)


def validate_expression(text: str, *, known_names: Iterable[str] | None = None) -> ExpressionError | None:
    """The compile-time error of ``text``, or None when it compiles (for rule validation on save)."""
    try:
        compile_expression(text, known_names=known_names)
    except ExpressionError as exc:
        return exc
    return None


def literal(value: Any) -> str:
    """Render a value as expression text that evaluates back to it (for generated rules and suggestions)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        body = format(number.copy_abs(), "f")
        return f"-{body}" if number.is_signed() else body
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
        return "'" + escaped.replace("\t", "\\t") + "'"
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"date('{value.isoformat()}')"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    raise ValueError(f"no literal for {type(value).__name__}")


def as_variables(value: Any) -> Any:
    """Turn canonical records (dataclasses) into the nested dicts expressions read, keeping Decimal and date
    values native (unlike ``to_dict``, which renders them as strings for JSON)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_variables(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: as_variables(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_variables(item) for item in value]
    return value
