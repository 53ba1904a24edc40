"""Pure helpers that shape AIF request arguments and results for zeep (no I/O).

Why separate from the client: they are the protocol's data conventions — entity keys, query criteria, the
``class="entity"`` attribute every entity carries, ``action="update"`` for partial updates — and are easier to
test and reuse without a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zeep.helpers import serialize_object

OPERATORS = ("Equal", "NotEqual", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Range")


@dataclass(frozen=True)
class Criterion:
    """One ``QueryCriteria/CriteriaElement``: a range on a field of the document's query (reference §1.2).

    Criteria on the same field are OR-ed by AX, on different fields AND-ed; ``*`` is a wildcard in values.
    """

    data_source: str
    field: str
    value1: str
    operator: str = "Equal"
    value2: str | None = None

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise ValueError(f"operator must be one of {', '.join(OPERATORS)}")
        if self.operator == "Range" and self.value2 is None:
            raise ValueError("a Range criterion needs value2")


def query_criteria(criteria: Sequence[Criterion]) -> dict[str, Any]:
    """The QueryCriteria argument as zeep expects it (the XSD repeats a sequence, hence ``_value_1``)."""
    if not criteria:
        raise ValueError("find needs at least one criterion")
    elements = []
    for criterion in criteria:
        element = {"DataSourceName": criterion.data_source, "FieldName": criterion.field,
                   "Operator": criterion.operator, "Value1": str(criterion.value1)}
        if criterion.value2 is not None:
            element["Value2"] = str(criterion.value2)
        elements.append({"CriteriaElement": element})
    return {"_value_1": elements}


def entity_key_list(field: str, values: Iterable[str]) -> dict[str, Any]:
    """``EntityKeyList`` with one single-field key per value."""
    return {"EntityKey": [{"KeyData": {"KeyField": [{"Field": field, "Value": str(value)}]}} for value in values]}


def entity_keys(result: Any) -> list[dict[str, str]]:
    """``EntityKeyList`` (zeep object or None) -> ``[{"AccountNum": "GB-0001"}, ...]``."""
    if result is None:
        return []
    if isinstance(result, list):  # zeep unwraps EntityKeyList (single repeated child) into a list of EntityKey
        entity_list = result
    else:
        entity_list = getattr(result, "EntityKey", None)
        if entity_list is None and hasattr(result, "EntityKeyList"):
            entity_list = getattr(result.EntityKeyList, "EntityKey", None)
    keys = []
    for entity in entity_list or []:
        fields = entity.KeyData.KeyField if entity.KeyData is not None else []
        keys.append({str(f.Field): str(f.Value) for f in fields})
    return keys


def as_entity(values: Mapping[str, Any], *, children: Iterable[str] = (), action: str | None = None) -> dict:
    """A copy of ``values`` marked ``class="entity"`` (required by every Axd entity) and, for partial updates,
    ``action``; the named child entity lists get the same treatment."""
    entity = dict(values)
    entity["class"] = "entity"
    if action:
        entity["action"] = action
    for name in children:
        if name in entity and entity[name] is not None:
            items = entity[name] if isinstance(entity[name], list | tuple) else [entity[name]]
            entity[name] = [as_entity(item, action=None) for item in items]
    return entity


def plain(value: Any) -> Any:
    """zeep objects -> plain dicts/lists without empty members and entity attributes (results for callers)."""
    data = serialize_object(value, dict)
    return _prune(data)


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _prune(item) for key, item in value.items()
                if item is not None and key not in ("class", "action") and item != []}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def dimension_values(dimensions: Mapping[str, str] | None) -> dict[str, Any] | None:
    """``{"BusinessUnit": "001"}`` -> AxdType_DimensionAttributeValueSet content (None when empty)."""
    pairs = [{"Name": name, "Value": value} for name, value in (dimensions or {}).items() if value]
    return {"Values": {"Value": pairs}} if pairs else None
