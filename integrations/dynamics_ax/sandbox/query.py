"""QueryCriteria (find / findKeys) translated to SQL over the sandbox tables.

AX applies each CriteriaElement as a range on the document query's data source: ranges on the same field are
OR-ed, ranges on different fields AND-ed (X++ query semantics); ``*`` and ``?`` are wildcards in a value.
Operators are the QueryCriteria enumeration: Equal, NotEqual, Greater, GreaterOrEqual, Less, LessOrEqual,
Range (reference §1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .aif import AifError, Criterion
from .enums import AxEnum

_OPERATORS = {"Equal": "=", "NotEqual": "<>", "Greater": ">", "GreaterOrEqual": ">=", "Less": "<",
              "LessOrEqual": "<="}


@dataclass(frozen=True)
class Column:
    """A queryable document field: its SQL expression and how to convert the criteria value."""

    sql: str
    kind: str = "str"  # str | int | decimal | date | enum
    enum: AxEnum | None = None


def where(criteria: list[Criterion], sources: dict[str, dict[str, Column]], document: str) -> tuple[str, list[Any]]:
    """SQL condition (``(...) AND (...)``) and parameters for the criteria; AifError for unknown names."""
    lookup = {name.lower(): (name, fields) for name, fields in sources.items()}
    groups: dict[tuple[str, str], list[tuple[str, list[Any]]]] = {}
    for criterion in criteria:
        found = lookup.get(criterion.data_source.lower())
        if found is None:
            raise AifError([f"The data source '{criterion.data_source}' is not part of the query of document "
                            f"'{document}'. Use one of: {', '.join(sources)}."])
        source, fields = found
        column = next((col for name, col in fields.items() if name.lower() == criterion.field.lower()), None)
        if column is None:
            raise AifError([f"Field '{criterion.field}' does not exist in data source '{source}'."])
        groups.setdefault((source, criterion.field.lower()), []).append(_condition(criterion, column))
    clauses, params = [], []
    for conditions in groups.values():
        clauses.append("(" + " OR ".join(sql for sql, _p in conditions) + ")")
        for _sql, values in conditions:
            params.extend(values)
    return " AND ".join(clauses) or "1=1", params


def _condition(criterion: Criterion, column: Column) -> tuple[str, list[Any]]:
    operator = criterion.operator
    if operator == "Range":
        if criterion.value2 is None:
            raise AifError([f"The Range criterion on '{criterion.field}' needs Value2."])
        return (f"{column.sql} BETWEEN ? AND ?",
                [_value(criterion.value1, column, criterion), _value(criterion.value2, column, criterion)])
    if operator not in _OPERATORS:
        raise AifError([f"The operator '{operator}' is not valid; use Equal, NotEqual, Greater, GreaterOrEqual, "
                        "Less, LessOrEqual or Range."])
    value = criterion.value1
    if column.kind == "str" and operator in ("Equal", "NotEqual") and ("*" in value or "?" in value):
        pattern = value.replace("%", r"\%").replace("_", r"\_").replace("*", "%").replace("?", "_")
        negate = "NOT " if operator == "NotEqual" else ""
        return f"{column.sql} {negate}LIKE ? ESCAPE '\\'", [pattern]
    return f"{column.sql} {_OPERATORS[operator]} ?", [_value(value, column, criterion)]


def _value(text: str, column: Column, criterion: Criterion) -> Any:
    text = text.strip()
    try:
        if column.kind == "enum" and column.enum is not None:
            return column.enum.value(text)
        if column.kind == "int":
            return int(text)
        if column.kind == "decimal":
            return float(Decimal(text))
    except (ValueError, InvalidOperation):
        raise AifError([f"The value '{text}' is not valid for field '{criterion.field}'."]) from None
    return text
